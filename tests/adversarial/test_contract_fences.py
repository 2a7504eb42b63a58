"""Output contracts and markdown fences: models often wrap the JSON they were asked for in
```json ... ```. The contract counted such an answer invalid (a retry, then the safe answer),
though the value inside was right. Now exactly one fenced block, with nothing but whitespace
around it, is accepted — and the caller gets the bare JSON, so the program downstream parses
exactly the value the contract checked. Anything else that is not the value itself (text around
the fence, two blocks, another language's fence, a fence inside the JSON) stays invalid.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import orjson
import pytest

from doorman.answer.contract import Contract
from harness import Gateway, Proc, serving, sim_config, simulating

SCHEMA = {
    "type": "object",
    "required": ["action"],
    "properties": {"action": {"type": "string"}},
    "additionalProperties": False,
}
ROBOT = Contract(SCHEMA, {"action": ["stop", "forward"]})
FENCED = '```json\n{"action": "forward"}\n```'


@pytest.mark.parametrize(
    "answer",
    [
        FENCED,
        '\n  ```json\n{"action": "forward"}\n```\n\n',  # whitespace around the fence
        '```JSON\r\n{"action": "forward"}\r\n```',
        '```\n{"action": "forward"}\n```',  # no language tag
        '```json\n{\n  "action": "forward"\n}\n  ```',
    ],
)
def test_one_fenced_json_block_is_valid(answer: str) -> None:
    assert ROBOT.violation(answer) is None
    assert orjson.loads(ROBOT.value_text(answer)) == {"action": "forward"}


@pytest.mark.parametrize(
    "answer",
    [
        'Here you go:\n```json\n{"action": "forward"}\n```',  # text before the fence
        '```json\n{"action": "forward"}\n```\nHope that helps!',  # text after it
        '```json\n{"action": "stop"}\n```\n```json\n{"action": "forward"}\n```',  # two blocks
        '```python\n{"action": "forward"}\n```',  # not a JSON fence
        '```json {"action": "forward"}```',  # not a fenced block (no line breaks)
        '```json\n{"action": "forward"}\n',  # never closed
        '```json\n```json\n{"action": "forward"}\n```\n```',  # a fence inside the fence
        '```json\n{"action": "fly"}\n```',  # fenced, but the value breaks the contract
        "```json\n```",  # an empty block
    ],
)
def test_anything_else_around_the_json_stays_invalid(answer: str) -> None:
    assert ROBOT.violation(answer) is not None


# ------------------------------------------------------------------- through the gateway
@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    sims = simulating(tmp_path_factory, "fence-sim")
    sim: Proc = next(sims)
    contract = {"json_schema": SCHEMA, "allowed_values": {"action": ["stop", "forward"]},
                "safe_answer": {"action": "stop"}, "retry": 0}  # fmt: skip
    config = sim_config(sim, robot={"output": contract})
    config["screening"] = {"injection": {"action": "off"}}  # the sim's scripts are not under test
    try:
        yield from serving(tmp_path_factory, config)
    finally:
        sims.close()


@pytest.fixture(scope="module")
def key(gateway: Gateway) -> str:
    return str(gateway.create_key("fenced-robot", "robot")["key"])


def _say(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": f"SIM:SAY {text}"}]


def test_a_fenced_answer_reaches_the_program_as_bare_json(gateway: Gateway, key: str) -> None:
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(model="sim-small", messages=_say(FENCED))
    assert raw.headers["x-doorman-output"] == "valid"
    assert orjson.loads(raw.parse().choices[0].message.content) == {"action": "forward"}

    claude = anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0)
    with claude.messages.stream(model="sim-claude", max_tokens=100, messages=_say(FENCED)) as s:
        assert orjson.loads("".join(s.text_stream)) == {"action": "forward"}


def test_text_around_a_fence_still_gets_the_safe_answer(gateway: Gateway, key: str) -> None:
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="sim-small", messages=_say(f"Sure!\n{FENCED}")
    )
    assert raw.headers["x-doorman-output"] == "invalid"
    assert orjson.loads(raw.parse().choices[0].message.content) == {"action": "stop"}
