"""Judges end to end: the topic check on answers and the injection judge on gray-band prompts.

The judge is a configured model on the simulator, reached through the gateway's own dispatcher.
The simulator answers ``<word>`` to a judge prompt whose judged text holds ``SIM:VERDICT
<word>``; with no marker it answers ordinary words, which no judge accepts (a failed judgement,
so ``on_error`` decides). Each judge call is a real upstream call billed under the request.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import pytest
import yaml

from harness import Gateway, Proc, run_cli, serving, sim_config, start_sim

DOMAIN = "driving warehouse robots"
JUDGE = {"model": "sim-small", "band": [0.0, 1.0], "timeout_ms": 10_000}  # every prompt is gray


@pytest.fixture(scope="module")
def slow_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    """A provider that takes 5 s to answer: a judge on it must give up at its own timeout."""
    proc = start_sim(tmp_path_factory.mktemp("slow-sim"), "--ttft-ms", "5000")
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def gateway(
    sim: Proc, slow_sim: Proc, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    topic = {"model": "sim-small", "domain": DOMAIN, "timeout_ms": 10_000}
    slow = {"model": "sim-slow", "timeout_ms": 300}
    config = sim_config(
        sim,
        judged_slow={
            "screening": {"injection": {"action": "block", "judge": {**slow, "band": [0.0, 1.0]}}}
        },
        topical_slow={"output": {"topic_check": {**slow, "domain": DOMAIN, "on_error": "block"}}},
        topical={"output": {"topic_check": topic}},
        topical_strict={"output": {"topic_check": {**topic, "on_error": "block"}}},
        topical_flag={"output": {"topic_check": {**topic, "action": "flag"}}},
        judged={
            "screening": {"injection": {"action": "block", "judge": {**JUDGE, "on_error": "block"}}}
        },
        judged_open={"screening": {"injection": {"action": "block", "judge": JUDGE}}},
        judged_cached={
            "screening": {"injection": {"action": "block", "judge": JUDGE}},
            "cache": {"mode": "exact"},
        },
    )
    config["screening"] = {"injection": {"action": "off"}}  # other tiers: scripts not screened
    config["providers"]["slowsim"] = {"kind": "openai", "base_url": f"{slow_sim.url}/v1"}
    config["models"]["sim-slow"] = {"provider": "slowsim", "price": {"input": 0.1, "output": 0.4}}
    yield from serving(tmp_path_factory, config)


@pytest.fixture(scope="module")
def keys(gateway: Gateway) -> dict[str, str]:
    tiers = (
        "topical",
        "topical_strict",
        "topical_flag",
        "judged",
        "judged_open",
        "judged_slow",
        "topical_slow",
        "judged_cached",
    )
    return {t: gateway.create_key(f"u-{t}", t)["key"] for t in tiers}


def client(gateway: Gateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)


def say(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"SIM:SAY {text}"}]


# ----------------------------------------------------------------------------- topic check
def test_an_off_topic_answer_is_blocked_and_the_judge_is_billed(
    gateway: Gateway, keys: dict[str, str], sim: Proc
) -> None:
    before = sim.sim_requests()
    with pytest.raises(openai.UnprocessableEntityError) as info:
        client(gateway, keys["topical"]).chat.completions.create(
            model="sim-small", messages=say("Paris has lovely cafes. SIM:VERDICT OFF_TOPIC")
        )
    assert info.value.code == "output_blocked" and "topic" in str(info.value)
    assert sim.sim_requests() - before == 2  # the answer, then the judge
    row = gateway.ledger_row(info.value.response.headers["x-request-id"])
    assert "output_off_topic" in row["flags"] and row["status"] == 422


def test_an_on_topic_answer_passes_with_the_judge_on_its_bill(
    gateway: Gateway, keys: dict[str, str]
) -> None:
    text = "Lower the forks before turning. SIM:VERDICT ON_TOPIC"
    raw = client(gateway, keys["topical"]).chat.completions.with_raw_response.create(
        model="sim-small", messages=say(text)
    )
    reply = raw.parse()
    assert reply.choices[0].message.content == text
    row = gateway.ledger_row(raw.headers["x-request-id"])
    # The judge's tokens are on the row, beyond what the answer itself used.
    assert row["input_tokens"] > reply.usage.prompt_tokens
    assert row["output_tokens"] > reply.usage.completion_tokens

    # Anthropic format, streamed: the answer is checked whole, then replayed as a stream.
    claude = anthropic.Anthropic(base_url=gateway.url, api_key=keys["topical"], max_retries=0)
    with claude.messages.stream(model="sim-claude", max_tokens=100, messages=say(text)) as stream:
        assert "".join(stream.text_stream) == text
    with (
        pytest.raises(anthropic.UnprocessableEntityError),
        claude.messages.stream(
            model="sim-claude", max_tokens=100, messages=say("Cats purr. SIM:VERDICT OFF_TOPIC")
        ) as stream,
    ):
        "".join(stream.text_stream)


def test_a_failed_topic_check_follows_on_error(gateway: Gateway, keys: dict[str, str]) -> None:
    no_marker = say("Lower the forks before turning.")  # the judge answers nonsense
    with pytest.raises(openai.UnprocessableEntityError) as info:
        client(gateway, keys["topical_strict"]).chat.completions.create(
            model="sim-small", messages=no_marker
        )
    assert info.value.code == "output_blocked"
    raw = client(gateway, keys["topical"]).chat.completions.with_raw_response.create(
        model="sim-small", messages=no_marker
    )
    assert "topic_check_error" in raw.headers["x-doorman-flags"]  # fail open: answered, noted
    raw = client(gateway, keys["topical_flag"]).chat.completions.with_raw_response.create(
        model="sim-small", messages=say("Cats purr. SIM:VERDICT OFF_TOPIC")
    )
    assert raw.parse().choices[0].message.content.startswith("Cats purr")
    assert "output_off_topic" in raw.headers["x-doorman-flags"]


# ----------------------------------------------------------------------------- injection judge
def test_the_injection_judge_decides_gray_prompts(
    gateway: Gateway, keys: dict[str, str], sim: Proc
) -> None:
    before = sim.sim_requests()
    with pytest.raises(openai.BadRequestError) as info:
        client(gateway, keys["judged"]).chat.completions.create(
            model="sim-small",
            messages=[{"role": "user", "content": "what's the weather? SIM:VERDICT INJECTION"}],
        )
    assert info.value.code == "prompt_injection_detected"
    assert sim.sim_requests() - before == 1  # the judge only: the model never saw it
    row = gateway.ledger_row(info.value.response.headers["x-request-id"])
    assert row["cost_usd"] > 0 and "injection_judge_injection" in row["flags"]

    raw = client(gateway, keys["judged"]).chat.completions.with_raw_response.create(
        model="sim-small",
        messages=[{"role": "user", "content": "what's the weather? SIM:VERDICT SAFE"}],
    )
    assert raw.parse().choices[0].message.content
    assert "injection_judge_safe" in raw.headers["x-doorman-flags"]


def test_a_failed_injection_judge_fails_closed_or_open_as_configured(
    gateway: Gateway, keys: dict[str, str]
) -> None:
    prompt = [{"role": "user", "content": "what's the weather?"}]  # the judge answers nonsense
    with pytest.raises(openai.InternalServerError) as info:
        client(gateway, keys["judged"]).chat.completions.create(model="sim-small", messages=prompt)
    assert info.value.status_code == 503 and info.value.code == "judge_unavailable"
    raw = client(gateway, keys["judged_open"]).chat.completions.with_raw_response.create(
        model="sim-small", messages=prompt
    )
    assert raw.parse().choices[0].message.content
    assert "injection_judge_error" in raw.headers["x-doorman-flags"]


def test_a_gray_prompt_is_judged_every_time_never_answered_from_the_cache(
    gateway: Gateway, keys: dict[str, str], sim: Proc
) -> None:
    """The cache sits before admission and the judge after it: a cached answer to a gray prompt
    would skip the judge, so gray prompts bypass the cache."""
    prompt = [{"role": "user", "content": "what's the weather? SIM:VERDICT SAFE"}]
    before = sim.sim_requests()
    for _ in range(2):
        raw = client(gateway, keys["judged_cached"]).chat.completions.with_raw_response.create(
            model="sim-small", messages=prompt, temperature=0
        )
        assert raw.headers["x-doorman-cache"] == "bypass"
        assert "injection_judge_safe" in raw.headers["x-doorman-flags"]
    assert sim.sim_requests() - before == 4  # a judge call and an answer, twice


def test_judges_give_up_at_their_own_timeout(gateway: Gateway, keys: dict[str, str]) -> None:
    """The judge's model takes 5 s; its timeout is 0.3 s: the request goes on (fail open) or is
    refused (fail closed) without waiting for it."""
    raw = client(gateway, keys["judged_slow"]).chat.completions.with_raw_response.create(
        model="sim-small", messages=[{"role": "user", "content": "what's the weather?"}]
    )
    assert raw.parse().choices[0].message.content
    assert "injection_judge_error" in raw.headers["x-doorman-flags"]
    with pytest.raises(openai.UnprocessableEntityError) as info:
        client(gateway, keys["topical_slow"]).chat.completions.create(
            model="sim-small", messages=say("Lower the forks. SIM:VERDICT ON_TOPIC")
        )
    assert info.value.code == "output_blocked" and "timeout" in str(info.value)


def test_judge_calls_and_verdicts_are_metered(gateway: Gateway, keys: dict[str, str]) -> None:
    client(gateway, keys["topical_flag"]).chat.completions.create(
        model="sim-small", messages=say("Cats purr. SIM:VERDICT OFF_TOPIC")
    )
    text = httpx.get(f"{gateway.url}/metrics").text
    assert 'doorman_judge_verdicts_total{purpose="topic_check",verdict="off_topic"}' in text
    assert 'doorman_side_calls_total{model="sim-small",purpose="topic_check"}' in text
    assert 'doorman_side_call_cost_usd_total{model="sim-small",purpose="topic_check"}' in text


def test_check_config_names_an_unknown_judge_model(tmp_path: Path) -> None:
    config = {
        "screening": {"injection": {"judge": {"model": "nope", "band": [0.2, 0.6]}}},
        "tiers": {
            "helpdesk": {"output": {"topic_check": {"model": "nope-2", "domain": "routers"}}},
            "odd": {
                "screening": {"injection": {"judge": {"model": "sim-small", "band": [0.7, 0.2]}}}
            },
        },
    }
    path = tmp_path / "doorman.yaml"
    path.write_text(yaml.safe_dump(config))
    out = run_cli(tmp_path, "check-config", str(path), check=False)
    text = out.stdout + out.stderr
    assert out.returncode == 2
    assert "screening.injection.judge.model: unknown model 'nope'" in text
    assert "tiers.helpdesk.output.topic_check.model: unknown model 'nope-2'" in text
    assert "tiers.odd.screening.injection.judge" in text and "band" in text
