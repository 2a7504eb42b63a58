"""The injection judge's call is billed even when the gateway stops waiting for it.

A provider bills a call it has started, whether or not anyone reads the answer. When the judge
timed out (``timeout_ms``), its cost was recorded nowhere: not on the request's ledger row, not
against the caller's budget — so a caller whose prompts are always gray, on a slow judge, had
the operator pay for every judge call. Now a judge call that was sent and got no answer is
billed at its worst case (the judge prompt's counted input tokens and the answer's
``max_tokens``), under the request, like an answered one. Measured against a provider that bills
like a real one and answers the judge too late.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from billing_provider import BillingProvider, serve
from budget_setup import OPENAI_MODEL, PRICES, gateway_config, provider_bills

from harness import Gateway, serving

JUDGE_MODEL = "gpt-4-judge"  # counted with cl100k, the billing provider's own tokenizer
JUDGE_PRICE = (30.0, 60.0)
PROMPT = "What is the boiling point of water at sea level? Answer briefly."


@pytest.fixture(scope="module")
def providers() -> Iterator[tuple[str, str]]:
    with serve(BillingProvider()) as main, serve(BillingProvider(answer_delay_s=3.0)) as judge:
        yield main, judge


@pytest.fixture(scope="module")
def gateway(providers: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Gateway]:  # fmt: skip
    main, judge = providers
    slow = {"model": JUDGE_MODEL, "band": [0.0, 1.0], "timeout_ms": 400}  # every prompt is gray
    config = gateway_config(
        main,
        judged_open={"screening": {"injection": {"action": "block", "judge": slow}}},
        judged_closed={"screening": {"injection": {
            "action": "block", "judge": {**slow, "on_error": "block"}}}},
    )  # fmt: skip
    config["providers"]["billjudge"] = {"kind": "openai", "base_url": f"{judge}/v1"}
    config["models"][JUDGE_MODEL] = {
        "provider": "billjudge",
        "price": {"input": JUDGE_PRICE[0], "output": JUDGE_PRICE[1]},
    }
    yield from serving(tmp_path_factory, config)


def _usd(bill: dict[str, Any]) -> float:
    pin, pout = JUDGE_PRICE if bill["model"] == JUDGE_MODEL else PRICES[bill["model"]]
    return (bill["input_tokens"] * pin + bill["output_tokens"] * pout) / 1_000_000


def _ask(gateway: Gateway, providers: tuple[str, str], tier: str) -> tuple[httpx.Response, list[dict[str, Any]]]:
    """One request; the response and every bill the providers wrote for it."""
    for url in providers:
        httpx.post(f"{url}/_reset", timeout=10)
    key = gateway.create_key(f"u-{tier}", tier)["key"]
    body = {"model": OPENAI_MODEL, "max_tokens": 20, "messages": [{"role": "user", "content": PROMPT}]}
    resp = httpx.post(f"{gateway.url}/v1/chat/completions", json=body, timeout=30,
                      headers={"authorization": f"Bearer {key}"})  # fmt: skip
    bills = [b for url in providers for b in provider_bills(url)]
    return resp, bills


def _row(gateway: Gateway, resp: httpx.Response) -> dict[str, Any]:
    return gateway.ledger_row(resp.headers["x-request-id"])


def test_a_timed_out_judge_is_on_the_requests_bill_fail_open(
    gateway: Gateway, providers: tuple[str, str]
) -> None:
    resp, bills = _ask(gateway, providers, "judged_open")
    assert resp.status_code == 200, resp.text
    judge_bills = [b for b in bills if b["model"] == JUDGE_MODEL]
    assert len(judge_bills) == 1  # the provider received the judge's call, and billed it
    row = _row(gateway, resp)
    assert "injection_judge_error" in row["flags"]
    assert row["input_tokens"] >= sum(b["input_tokens"] for b in bills)
    assert row["output_tokens"] >= sum(b["output_tokens"] for b in bills)
    assert row["cost_usd"] >= sum(_usd(b) for b in bills)  # what the caller's budget is charged
    assert float(resp.headers["x-doorman-cost-usd"]) == pytest.approx(row["cost_usd"], abs=1e-8)


def test_a_timed_out_judge_is_billed_when_the_tier_fails_closed(
    gateway: Gateway, providers: tuple[str, str]
) -> None:
    resp, bills = _ask(gateway, providers, "judged_closed")
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "judge_unavailable"
    assert [b["model"] for b in bills] == [JUDGE_MODEL]  # the model itself was never asked
    row = _row(gateway, resp)
    assert row["cost_usd"] >= _usd(bills[0]) > 0
    assert row["input_tokens"] >= bills[0]["input_tokens"]

