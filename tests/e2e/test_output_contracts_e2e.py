"""Output contracts end to end (seed 000: a robot must only ever get an action it understands).

The simulator's ``SIM:SEQ a ||| b`` script answers ``a`` first and ``b`` once it is asked again,
so a model that gets the format right on the retry is one line. Through the official SDKs, in
both wire formats and as streams: invalid then valid on the retry; invalid twice and the safe
answer; a value outside ``allowed_values``; no safe answer configured; ``retry: 0``. Each retry
is a second upstream call the caller pays for, recorded on the same ledger row.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import orjson
import pytest
import yaml

from harness import Gateway, Proc, run_cli, serving, sim_config

SCHEMA = {
    "type": "object",
    "required": ["action"],
    "properties": {"action": {"type": "string"}, "speed": {"type": "number", "maximum": 2}},
    "additionalProperties": False,
}
CONTRACT = {
    "json_schema": SCHEMA,
    "allowed_values": {"action": ["stop", "forward", "left", "right"]},
    "safe_answer": {"action": "stop"},
}
SAFE = {"action": "stop"}


@pytest.fixture(scope="module")
def gateway(sim: Proc, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    config = sim_config(
        sim,
        robot={"output": CONTRACT},
        strict={"output": {"json_schema": SCHEMA}},  # no safe answer: 422
        once={"output": {**CONTRACT, "retry": 0}},
    )
    config["screening"] = {"injection": {"action": "off"}}  # the scripts are not under test
    yield from serving(tmp_path_factory, config)


@pytest.fixture(scope="module")
def keys(gateway: Gateway) -> dict[str, str]:
    return {t: gateway.create_key(f"u-{t}", t)["key"] for t in ("robot", "strict", "once")}



def ask(gateway: Gateway, key: str, script: str, model: str = "sim-small") -> Any:
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)
    return client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": script}]
    )


def test_invalid_json_then_valid_json_on_the_retry(gateway: Gateway, keys: dict[str, str], sim: Proc) -> None:
    before = sim.sim_requests()
    raw = ask(gateway, keys["robot"], 'SIM:SEQ Sure! I will move forward. ||| {"action": "forward"}')
    reply = raw.parse()
    assert orjson.loads(reply.choices[0].message.content) == {"action": "forward"}
    assert raw.headers["x-doorman-output"] == "retried"
    assert sim.sim_requests() - before == 2  # the retry is a real second call
    row = gateway.ledger_row(raw.headers["x-request-id"])
    assert "output_retried" in row["flags"]
    # Both calls are on the caller's bill: the row holds the retry's tokens and dollars too.
    assert row["output_tokens"] > reply.usage.completion_tokens
    assert float(raw.headers["x-doorman-cost-usd"]) == pytest.approx(row["cost_usd"], abs=1e-8)
    single = ask(gateway, keys["robot"], 'SIM:SAY {"action": "forward"}')
    assert single.headers["x-doorman-output"] == "valid"
    assert row["cost_usd"] > float(single.headers["x-doorman-cost-usd"]) * 1.5


def test_both_answers_invalid_gives_the_safe_answer(gateway: Gateway, keys: dict[str, str], sim: Proc) -> None:
    before = sim.sim_requests()
    raw = ask(gateway, keys["robot"], "SIM:SEQ I cannot do that ||| still not JSON, sorry")
    reply = raw.parse()
    assert orjson.loads(reply.choices[0].message.content) == SAFE
    assert reply.choices[0].finish_reason == "stop"
    assert raw.headers["x-doorman-output"] == "invalid"
    assert sim.sim_requests() - before == 2
    row = gateway.ledger_row(raw.headers["x-request-id"])
    assert "output_invalid" in row["flags"] and row["status"] == 200
    metrics = httpx.get(f"{gateway.url}/metrics").text
    assert 'doorman_output_contract_total{outcome="invalid",tier="robot"}' in metrics


def test_a_value_outside_allowed_values_is_not_passed_on(gateway: Gateway, keys: dict[str, str]) -> None:
    raw = ask(gateway, keys["robot"], 'SIM:SEQ {"action": "jump"} ||| {"action": "fly"}')
    assert orjson.loads(raw.parse().choices[0].message.content) == SAFE
    assert raw.headers["x-doorman-output"] == "invalid"
    # The schema holds as well: a number above its maximum is refused the same way.
    raw = ask(gateway, keys["robot"], 'SIM:SEQ {"action": "left", "speed": 9} ||| {"action": "left", "speed": 1}')
    assert orjson.loads(raw.parse().choices[0].message.content) == {"action": "left", "speed": 1}
    assert raw.headers["x-doorman-output"] == "retried"


def test_anthropic_format_and_streams_get_checked_answers(gateway: Gateway, keys: dict[str, str]) -> None:
    claude = anthropic.Anthropic(base_url=gateway.url, api_key=keys["robot"], max_retries=0)
    script = 'SIM:SEQ moving forward now ||| {"action": "right"}'
    message = claude.messages.create(
        model="sim-claude", max_tokens=100, messages=[{"role": "user", "content": script}]
    )
    assert orjson.loads(message.content[0].text) == {"action": "right"}  # type: ignore[union-attr]

    with claude.messages.stream(
        model="sim-claude", max_tokens=100,
        messages=[{"role": "user", "content": "SIM:SEQ nope ||| nope again"}],
    ) as stream:  # fmt: skip
        text = "".join(stream.text_stream)
        assert stream.response.headers["x-doorman-output"] == "invalid"
    assert orjson.loads(text) == SAFE

    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=keys["robot"], max_retries=0)
    text, finish, usage = "", None, None
    for chunk in client.chat.completions.create(
        model="sim-small", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": script}],
    ):  # fmt: skip
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
        usage = chunk.usage or usage
    assert orjson.loads(text) == {"action": "right"} and finish == "stop" and usage is not None


def test_without_a_safe_answer_an_invalid_answer_is_refused(gateway: Gateway, keys: dict[str, str]) -> None:
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=keys["strict"], max_retries=0)
    with pytest.raises(openai.UnprocessableEntityError) as info:
        client.chat.completions.create(
            model="sim-small", messages=[{"role": "user", "content": "SIM:SEQ no ||| {}"}]
        )
    assert info.value.code == "output_invalid" and "action" in str(info.value)


def test_retry_zero_never_asks_again(gateway: Gateway, keys: dict[str, str], sim: Proc) -> None:
    before = sim.sim_requests()
    raw = ask(gateway, keys["once"], 'SIM:SEQ nope ||| {"action": "left"}')
    assert orjson.loads(raw.parse().choices[0].message.content) == SAFE
    assert sim.sim_requests() - before == 1


def test_check_config_names_the_bad_part_of_a_contract(tmp_path: Path) -> None:
    config = {
        "tiers": {
            "robot": {"output": {"json_schema": {"type": "object", "properties": {"a": {"type": "strin"}}}}},
            "arm": {"output": {**CONTRACT, "safe_answer": {"action": "explode"}}},
            "file": {"output": {"json_schema_file": "missing.json"}},
        }
    }
    path = tmp_path / "doorman.yaml"
    path.write_text(yaml.safe_dump(config))
    out = run_cli(tmp_path, "check-config", str(path), check=False)
    assert out.returncode == 2
    text = out.stdout + out.stderr
    assert "tiers.robot.output" in text and "json_schema.properties.a.type" in text
    assert "tiers.arm.output" in text and "safe_answer" in text
    assert "tiers.file.output" in text and "missing.json" in text

    (tmp_path / "robot.json").write_text(orjson.dumps(SCHEMA).decode())
    config = {"tiers": {"robot": {"output": {"json_schema_file": "robot.json", "safe_answer": SAFE}}}}
    path.write_text(yaml.safe_dump(config))
    out = run_cli(tmp_path, "check-config", str(path), check=False)
    assert out.returncode == 0, out.stdout + out.stderr
