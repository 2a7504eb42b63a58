"""``output:`` of a tier or a model: the answer's contract and the optional topic check.

    tiers:
      robot:
        output:
          json_schema: {type: object, required: [action], properties: {action: {type: string}}}
          allowed_values: {action: [stop, forward, turn_left, turn_right]}
          retry: 1                      # ask again once, with the problem (0: never)
          safe_answer: {action: stop}   # what the caller gets when the answer stays invalid
          topic_check: {model: sim-small, domain: "driving a warehouse robot"}

Everything is checked when the config is loaded (``doorman check-config``): the schema itself
(its bad path named), a ``json_schema_file`` that must exist and hold JSON, and the safe
answer, which must satisfy the contract it stands in for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from doorman.answer.contract import Contract, schema_problem
from doorman.judge import JudgeSettings


class TopicCheck(JudgeSettings):
    """Ask a cheap model whether the answer stays in ``domain`` (off by default)."""

    domain: str = Field(min_length=1, max_length=2000, description="what answers must be about")
    action: Literal["block", "flag"] = Field(
        "block", description="off topic: block (422 output_blocked) or flag (recorded only)"
    )


class AnswerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    json_schema: dict[str, Any] | bool | None = Field(
        None, description="JSON Schema the answer's text (parsed as JSON) must satisfy"
    )
    json_schema_file: str | None = Field(
        None, description="the schema in a JSON file (relative to the config file)"
    )
    allowed_values: dict[str, list[Any]] = Field(
        default_factory=dict, description="dotted field path -> the values it may take"
    )
    retry: int = Field(1, ge=0, le=3, description="ask again this often with the problem")
    safe_answer: Any = Field(
        None,
        description="answered instead when the answer stays invalid (JSON value or text); "
        "unset: 422 output_invalid",
    )
    topic_check: TopicCheck | None = None

    _contract: Contract | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _compile(self) -> AnswerSettings:
        if self.json_schema is not None and self.json_schema_file is not None:
            raise ValueError("json_schema and json_schema_file: give one, not both")
        if self.json_schema_file is not None:
            self.json_schema = _read_schema(self.json_schema_file)
        if self.json_schema is not None:
            problem = schema_problem(self.json_schema)
            if problem is not None:
                raise ValueError(f"json_schema.{problem}")
        for path, values in self.allowed_values.items():
            if not path or any(not part for part in path.split(".")):
                raise ValueError(f"allowed_values: '{path}' is not a dotted field path")
            if not values:
                raise ValueError(f"allowed_values.{path}: list at least one value")
        if self.json_schema is not None or self.allowed_values:
            self._contract = Contract(self.json_schema, self.allowed_values)
            if self.safe_answer is not None:
                problem = self._contract.violation(self.safe_text or "")
                if problem is not None:
                    raise ValueError(f"safe_answer: breaks the contract it stands in for ({problem})")
        elif self.safe_answer is not None:
            raise ValueError("safe_answer: only used with json_schema or allowed_values")
        return self

    @property
    def contract(self) -> Contract | None:
        return self._contract

    @property
    def safe_text(self) -> str | None:
        """The safe answer as the answer's text: a string as is, anything else as JSON."""
        if self.safe_answer is None:
            return None
        if isinstance(self.safe_answer, str):
            return self.safe_answer
        return orjson.dumps(self.safe_answer).decode()

    @property
    def active(self) -> bool:
        return self._contract is not None or self.topic_check is not None


def _read_schema(path: str) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"json_schema_file: cannot read '{path}' ({exc.strerror})") from None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"json_schema_file: '{path}' is not JSON ({exc})") from None


def anchor_schema_files(data: dict[str, Any], base_dir: Path) -> None:
    """Make ``json_schema_file`` paths relative to the config file, like its other paths."""
    for section in ("tiers", "models"):
        entries = data.get(section)
        if not isinstance(entries, dict):
            continue
        for entry in entries.values():
            output = entry.get("output") if isinstance(entry, dict) else None
            if not isinstance(output, dict):
                continue
            given = output.get("json_schema_file")
            if isinstance(given, str) and given and not Path(given).expanduser().is_absolute():
                output["json_schema_file"] = str((base_dir / given).resolve())
