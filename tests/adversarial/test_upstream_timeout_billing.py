"""A model call the gateway stopped waiting for is still on the caller's bill.

A provider bills a call it started whether or not anyone reads the answer. The gateway used to
refund the whole reservation when its call timed out (the provider's ``read_timeout_s``), so a
caller whose requests outlast that timeout -- a long prompt, a large ``max_tokens`` -- was served
by the provider (once per retry), billed to the operator, and charged nothing. Now a try that was sent and got no
answer is billed at its worst case (the counted prompt and the ``max_tokens`` sent) under the
request, whether the request then fails or a fallback answers it. Measured against a provider
that bills like a real one and answers too late.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from billing_provider import BillingProvider, serve
from budget_setup import OPENAI_MODEL, PRICES, bill_usd, gateway_config, provider_bills

from harness import Gateway, serving

BACKUP_MODEL = "gpt-4o-backup"
PROMPT = "Summarise the water cycle in one paragraph for a school pamphlet."


@pytest.fixture(scope="module")
def providers() -> Iterator[tuple[str, str]]:
    with serve(BillingProvider(answer_delay_s=3.0)) as slow, serve(BillingProvider()) as fast:
        yield slow, fast


@pytest.fixture(scope="module")
def gateway(providers: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Gateway]:  # fmt: skip
    slow, fast = providers
    config = gateway_config(slow, open={}, with_backup={})
    config["providers"]["billopenai"]["read_timeout_s"] = 0.5
    config["providers"]["fastbill"] = {"kind": "openai", "base_url": f"{fast}/v1"}
    pin, pout = PRICES[OPENAI_MODEL]
    config["models"][BACKUP_MODEL] = {
        "provider": "fastbill", "upstream_model": OPENAI_MODEL,
        "price": {"input": pin, "output": pout},
    }  # fmt: skip
    config["models"]["gpt-4o-with-backup"] = {
        "provider": "billopenai", "upstream_model": OPENAI_MODEL,
        "price": {"input": pin, "output": pout}, "fallbacks": [BACKUP_MODEL],
    }  # fmt: skip
    yield from serving(tmp_path_factory, config)


def _ask(gateway: Gateway, providers: tuple[str, str], model: str, user: str,
         timeout: float = 30) -> tuple[httpx.Response | None, list[dict[str, Any]], str]:  # fmt: skip
    """One request (None if the client gave up), every bill the providers wrote, its id."""
    for url in providers:
        httpx.post(f"{url}/_reset", timeout=10)
    key = gateway.create_key(user, "open")["key"]
    request_id = f"req-{user}"
    body = {"model": model, "max_tokens": 300, "messages": [{"role": "user", "content": PROMPT}]}
    try:
        resp: httpx.Response | None = httpx.post(
            f"{gateway.url}/v1/chat/completions", json=body, timeout=timeout,
            headers={"authorization": f"Bearer {key}", "x-request-id": request_id},
        )  # fmt: skip
    except httpx.TimeoutException:
        resp = None
    bills: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10  # a client that hung up may be ahead of the provider
    while not bills and time.monotonic() < deadline:
        bills = [b for url in providers for b in provider_bills(url)]
        time.sleep(0 if bills else 0.1)
    return resp, bills, request_id


def _covers(row: dict[str, Any], bills: list[dict[str, Any]],
            resp: httpx.Response | None = None) -> None:  # fmt: skip
    """The request's ledger row (and the cost header the caller saw) cover every bill."""
    assert bills, "the provider received no call"
    assert row["input_tokens"] >= sum(b["input_tokens"] for b in bills)
    assert row["output_tokens"] >= sum(b["output_tokens"] for b in bills)
    assert row["cost_usd"] >= sum(bill_usd(b) for b in bills) > 0
    if resp is not None:
        assert float(resp.headers["x-doorman-cost-usd"]) == pytest.approx(row["cost_usd"], abs=1e-8)


def test_a_timed_out_call_is_billed_though_the_caller_gets_an_error(
    gateway: Gateway, providers: tuple[str, str]
) -> None:
    resp, bills, request_id = _ask(gateway, providers, OPENAI_MODEL, "u-timeout")
    assert resp is not None and resp.status_code == 504, resp and resp.text
    # The provider got the call (and the dispatcher's retries of it) and billed each in full.
    assert len(bills) >= 1
    _covers(gateway.ledger_row(request_id), bills, resp)


def test_a_fallback_answer_carries_the_bill_of_the_try_that_timed_out(
    gateway: Gateway, providers: tuple[str, str]
) -> None:
    resp, bills, request_id = _ask(gateway, providers, "gpt-4o-with-backup", "u-fallback")
    assert resp is not None and resp.status_code == 200, resp and resp.text
    slow, fast = providers
    assert len(provider_bills(fast)) == 1  # the backup answered
    assert len(provider_bills(slow)) >= 1  # after the slow deployment billed its tries
    _covers(gateway.ledger_row(request_id), bills, resp)


def test_a_client_that_hangs_up_while_the_provider_works_is_billed(
    gateway: Gateway, providers: tuple[str, str]
) -> None:
    """The caller gives up before the provider answers (and before the gateway's own timeout):
    the provider still billed the call, so the request's row must carry it."""
    resp, bills, request_id = _ask(gateway, providers, OPENAI_MODEL, "u-hangup", timeout=0.25)
    assert resp is None
    _covers(gateway.ledger_row(request_id), bills)
