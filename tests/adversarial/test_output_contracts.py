"""Answers that try to slip past an output contract: what a program downstream would
misread must never be called valid, and bad contracts never load."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from doorman.answer.contract import MAX_PROBLEM_CHARS, Contract
from doorman.answer.settings import AnswerSettings

SCHEMA = {
    "type": "object",
    "required": ["action"],
    "properties": {"action": {"type": "string"}, "speed": {"type": "number"}},
    "additionalProperties": False,
}
ROBOT = Contract(SCHEMA, {"action": ["stop", "forward"]})


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ('{"action": "fly", "action": "stop"}', "appears twice"),  # first-wins parsers see fly
        ('{"action": "stop", "speed": NaN}', "NaN"),
        ('{"action": "stop", "speed": Infinity}', "Infinity"),
        ('```json\n{"action": "stop"}\n``` ok', "not valid JSON"),  # more than one fenced block
        ('{"action": "stop"} {"action": "forward"}', "not valid JSON"),  # two values
        ('{"action": "stop", "extra": 1}', "extra"),
        ('{"action": "STOP"}', "not one of"),
        ('{"speed": 1}', "action"),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON"),  # deep nesting: no crash
        ("", "not valid JSON"),
    ],
)
def test_answers_a_program_could_misread_are_invalid(answer: str, why: str) -> None:
    problem = ROBOT.violation(answer)
    assert problem is not None and why in problem
    assert len(problem) <= MAX_PROBLEM_CHARS


def test_json_true_is_not_one() -> None:
    flags = Contract(None, {"armed": [1]})
    assert flags.violation('{"armed": 1}') is None
    assert flags.violation('{"armed": true}') is not None
    assert Contract(None, {"armed": [False]}).violation('{"armed": 0}') is not None


def test_paths_reach_into_lists_and_missing_fields_are_violations() -> None:
    plan = Contract(None, {"steps.0.op": ["move"], "arm.mode": ["idle"]})
    assert plan.violation('{"steps": [{"op": "move"}], "arm": {"mode": "idle"}}') is None
    assert "steps.0.op" in (plan.violation('{"steps": [], "arm": {"mode": "idle"}}') or "")
    assert "arm.mode" in (plan.violation('{"steps": [{"op": "move"}], "arm": {}}') or "")


@pytest.mark.parametrize(
    ("output", "where"),
    [
        ({"json_schema": {"type": "objekt"}}, "json_schema.type"),
        ({"json_schema": {"properties": {"a": {"minimum": "3"}}}}, "json_schema.properties.a.minimum"),
        ({"json_schema": SCHEMA, "safe_answer": {"action": 1}}, "safe_answer"),
        ({"allowed_values": {"action": ["stop"]}, "safe_answer": "halt"}, "safe_answer"),
        ({"allowed_values": {"action": []}}, "allowed_values.action"),
        ({"allowed_values": {"a..b": [1]}}, "allowed_values"),
        ({"safe_answer": {"action": "stop"}}, "safe_answer"),  # nothing to stand in for
        ({"json_schema": SCHEMA, "json_schema_file": "x.json"}, "one, not both"),
        ({"retry": 9}, "retry"),
    ],
)
def test_bad_contracts_never_load(output: dict[str, object], where: str) -> None:
    with pytest.raises(ValidationError) as info:
        AnswerSettings.model_validate(output)
    assert where in str(info.value)
