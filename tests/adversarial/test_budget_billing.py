"""The reviewer's attacks on the budget, against a provider that bills every field.

Each request kind of the reviewer's mix (tool-, image-, name- and schema-heavy, on both
endpoints) is sent until the budget refuses; the provider's own bill must stay within the
budget, every reservation must cover what the provider billed, and the ledger must equal the
provider's bill.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from billing_provider import BillingProvider, serve
from budget_setup import (
    ANTHROPIC_MODEL,
    OPENAI_MODEL,
    adversarial_body,
    bill_usd,
    gateway_config,
    ledger_rows,
    provider_bills,
    tool_heavy,
)

from harness import Gateway, serving

BUDGET = 0.05
REVIEWER_TIER = {"daily_budget_usd": BUDGET, "tokens_per_day": 20_000, "max_input_tokens": 1000,
                 "requests_per_minute": 10_000, "max_output_tokens": 256}  # fmt: skip
BUDGET_TIER = {"daily_budget_usd": BUDGET, "requests_per_minute": 10_000,
               "tokens_per_minute": 100_000_000, "max_output_tokens": 400}  # fmt: skip
PATHS = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages"}


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    with serve(BillingProvider(token_s=0.001)) as url:
        yield url


@pytest.fixture(scope="module")
def gateway(provider: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    config = gateway_config(provider, reviewer=REVIEWER_TIER, budget=BUDGET_TIER)
    yield from serving(tmp_path_factory, config)


def _send(gw: Gateway, key: str, wire: str, body: dict[str, Any]) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}", "x-api-key": key}
    return httpx.post(gw.url + PATHS[wire], json=body, headers=headers, timeout=60)


def _user_rows(gw: Gateway, user: str) -> list[dict[str, Any]]:
    return [r for r in ledger_rows(gw.workdir / "doorman.db") if r["user_id"] == user]


def test_twenty_concurrent_huge_tool_descriptions_are_refused(
    gateway: Gateway, provider: str
) -> None:
    """The review: 20 x ~200 KB tool descriptions on a $0.05 tier with max_input_tokens 1000
    were all admitted and cost $2.00. Now the tool description counts: none reaches the provider."""
    key = str(gateway.create_key("reviewer-tools", "reviewer")["key"])
    before = len(provider_bills(provider))
    huge = "Describe the weather in detail. " * 6500  # ~200 KB
    bodies = []
    for i in range(20):
        wire = "anthropic" if i % 2 else "openai"
        body = adversarial_body(wire, "tool", 200)
        tools = body["tools"]
        if wire == "anthropic":
            tools[0]["description"] = huge
        else:
            tools[0]["function"]["description"] = huge
        bodies.append((wire, body))
    with ThreadPoolExecutor(20) as pool:
        replies = list(pool.map(lambda wb: _send(gateway, key, *wb), bodies))
    assert {r.status_code for r in replies} == {400}
    assert all("input_tokens_exceeded" in r.text for r in replies), {r.text[:300] for r in replies}
    assert len(provider_bills(provider)) == before  # the provider never saw one of them


@pytest.mark.parametrize("wire", ["openai", "anthropic"])
def test_one_tool_request_cannot_spend_past_the_budget(
    gateway: Gateway, provider: str, wire: str
) -> None:
    """The review's single Anthropic request with tools charged $0.12 against $0.05."""
    key = str(gateway.create_key(f"single-{wire}", "budget")["key"])
    body = adversarial_body(wire, "tool", 400)
    body.update(tool_heavy(wire, size_words=12_000))  # ~25k tokens of schema: > $0.05 alone
    resp = _send(gateway, key, wire, body)
    assert resp.status_code == 429, resp.text  # the budget cannot cover the worst case
    assert not [r for r in _user_rows(gateway, f"single-{wire}") if r["cost_usd"] > 0]


def test_the_reviewers_mix_never_overspends_and_the_ledger_matches_the_bill(
    gateway: Gateway, provider: str
) -> None:
    """Tool-, image-, name- and schema-heavy requests on both endpoints, 8 at a time, until the
    $0.05 budget refuses: the provider's bill stays within it and equals the ledger."""
    user = "mix"
    key = str(gateway.create_key(user, "budget")["key"])
    httpx.post(f"{provider}/_reset", timeout=10)
    jobs = [(wire, kind) for kind in ("tool", "image", "name", "schema")
            for wire in ("openai", "anthropic")] * 4  # fmt: skip
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(
            lambda job: _send(gateway, key, job[0], adversarial_body(job[0], job[1], 300)), jobs))  # fmt: skip
    statuses = [r.status_code for r in replies]
    assert statuses.count(200) >= 4, statuses
    assert set(statuses) <= {200, 429}, [r.text for r in replies if r.status_code not in (200, 429)]
    bills = provider_bills(provider)
    provider_usd = sum(bill_usd(b) for b in bills)
    assert provider_usd <= BUDGET  # zero overspend, by the provider's own count
    rows = [r for r in _user_rows(gateway, user) if r["status"] == 200]
    ledger_usd = sum(r["cost_usd"] for r in rows)
    assert ledger_usd == pytest.approx(provider_usd, rel=0.01)
    for row in rows:  # every reservation covered what the provider billed for that request
        assert row["reserved_usd"] >= row["cost_usd"], row


# The audit of every field a provider bills, beyond the reviewer's mix above: each request
# carries ~1,200 tokens in one field only; the reservation must cover what the provider billed.
_TEXT = " ".join(f"ledger{i} invoice{i % 13}" for i in range(400))
_OPENAI_FIELDS: dict[str, dict[str, Any]] = {
    "legacy-functions": {"functions": [{"name": "lookup", "description": _TEXT}]},
    "legacy-function-call": {"messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": None,
         "function_call": {"name": "lookup", "arguments": _TEXT}},
        {"role": "function", "name": "lookup", "content": "ok"}]},
    "function-role": {"messages": [{"role": "user", "content": "hi"},
                                   {"role": "function", "name": "lookup", "content": _TEXT}]},
    "developer-role": {"messages": [{"role": "developer", "content": _TEXT},
                                    {"role": "user", "content": "hi"}]},
    "system-parts": {"messages": [{"role": "system", "content": [{"type": "text", "text": _TEXT}]},
                                  {"role": "user", "content": "hi"}]},
    "refusal-part": {"messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "refusal", "refusal": _TEXT}]},
        {"role": "user", "content": "go on"}]},
    "custom-tool": {"tools": [{"type": "custom", "custom": {"name": "grep", "description": _TEXT}}]},
    "custom-tool-call": {"messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "tool_calls": [
            {"id": "c1", "type": "custom", "custom": {"name": "grep", "input": _TEXT}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok"}]},
    "tool-result-parts": {"messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": _TEXT}]}]},
}  # fmt: skip
_ANTHROPIC_FIELDS: dict[str, dict[str, Any]] = {
    "system-string": {"system": _TEXT},
    "assistant-turn": {"messages": [{"role": "user", "content": "hi"},
                                    {"role": "assistant", "content": _TEXT},
                                    {"role": "user", "content": "go on"}]},
    "server-tool-use": {"messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [
            {"type": "server_tool_use", "id": "s1", "name": "web_search", "input": {"q": _TEXT}}]},
        {"role": "user", "content": "go on"}]},
    "search-result": {"messages": [{"role": "user", "content": [
        {"type": "search_result", "source": "https://a.test", "title": "t",
         "content": [{"type": "text", "text": _TEXT}]},
        {"type": "text", "text": "go on"}]}]},
    "document-blocks": {"messages": [{"role": "user", "content": [
        {"type": "document", "source": {"type": "content",
                                        "content": [{"type": "text", "text": _TEXT}]}},
        {"type": "text", "text": "go on"}]}]},
    "document-context": {"messages": [{"role": "user", "content": [
        {"type": "document", "title": "notes", "context": _TEXT,
         "source": {"type": "text", "media_type": "text/plain", "data": "x"}},
        {"type": "text", "text": "go on"}]}]},
    "tool-result-image": {"messages": [{"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "t1", "content": [
            {"type": "image", "source": {"type": "url", "url": "https://img.test/2000x1500.png"}}]},
        {"type": "text", "text": "go on"}]}]},
}  # fmt: skip


@pytest.mark.parametrize(
    ("wire", "field"),
    [("openai", f) for f in _OPENAI_FIELDS] + [("anthropic", f) for f in _ANTHROPIC_FIELDS],
)
def test_every_billed_field_is_reserved(
    gateway: Gateway, provider: str, wire: str, field: str
) -> None:
    key = str(gateway.create_key(f"audit-{wire}-{field}", "budget")["key"])
    model = ANTHROPIC_MODEL if wire == "anthropic" else OPENAI_MODEL
    body: dict[str, Any] = {"model": model, "max_tokens": 20,
                            "messages": [{"role": "user", "content": "Tell me about ledgers."}]}  # fmt: skip
    body.update((_OPENAI_FIELDS if wire == "openai" else _ANTHROPIC_FIELDS)[field])
    before = len(provider_bills(provider))
    resp = _send(gateway, key, wire, body)
    assert resp.status_code == 200, resp.text
    (bill,) = provider_bills(provider)[before:]
    assert bill["input_tokens"] > 500  # the field was billed: the probe carries weight
    (row,) = _user_rows(gateway, f"audit-{wire}-{field}")
    assert row["cost_usd"] == pytest.approx(bill_usd(bill), rel=1e-6)
    assert row["reserved_usd"] >= row["cost_usd"], (field, row, bill)
