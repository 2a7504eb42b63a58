"""An output contract: what a machine-consumed answer must look like.

An application that hands the model's answer to a program or a robot (seed 000: "sanitize
outputs before using them in robot control") states the shape it accepts: a JSON Schema
(``json_schema``, checked with the maintained ``jsonschema`` library) and/or the values named
fields may take (``allowed_values: {"action": ["stop", "go"]}``). :meth:`Contract.violation`
says what is wrong with an answer's text, in words a model can act on when asked again.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from jsonschema import exceptions as schema_errors
from jsonschema import validators

MAX_PROBLEM_CHARS = 400  # the problem is sent back to the model: keep it short

# One markdown code block and nothing else: an opening fence (no tag, or ``json``) on its own
# line, the value, a closing fence on its own line; only whitespace around it.
_FENCED = re.compile(
    r"\A\s*```(?:json)?[ \t]*\r?\n(.*?)\r?\n[ \t]*```\s*\Z", re.DOTALL | re.IGNORECASE
)


def unfenced(text: str) -> str | None:
    """The inside of ``text`` when it is exactly one fenced JSON block, else None.

    Models wrap the JSON they were asked for in ```json fences; the value is right, the
    wrapping is presentation. Strict: text around the fence, a second block or a fence inside
    it (where a program and the contract could read different values) is not unwrapped.
    """
    if "```" not in text:
        return None
    match = _FENCED.match(text)
    if match is None or "```" in match.group(1):
        return None
    return match.group(1)


def json_path(parts: Any) -> str:
    """``a.b.0`` for a jsonschema path deque (``(root)`` when empty)."""
    text = ".".join(str(p) for p in parts)
    return text or "(root)"


def schema_problem(schema: Any) -> str | None:
    """What is wrong with ``schema`` itself, naming the path inside it; None when it is valid."""
    if not isinstance(schema, dict | bool):
        return "must be a JSON Schema object"
    try:
        validators.validator_for(schema).check_schema(schema)
    except schema_errors.SchemaError as exc:
        return f"{json_path(exc.absolute_path)}: {exc.message}"
    return None


def _same(value: Any, allowed: Any) -> bool:
    """JSON equality: ``true`` is not ``1`` (Python says it is)."""
    if isinstance(value, bool) or isinstance(allowed, bool):
        return isinstance(value, bool) and isinstance(allowed, bool) and value == allowed
    return bool(value == allowed)


def _lookup(value: Any, path: str) -> tuple[bool, Any]:
    """The value at a dotted path (list items by index); (False, None) when it is absent."""
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return False, None
    return True, value


class Contract:
    """A compiled contract (built once, when the config is loaded)."""

    def __init__(self, schema: Any | None, allowed_values: dict[str, list[Any]]) -> None:
        self.validator = None
        if schema is not None:
            cls = validators.validator_for(schema)
            self.validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
        self.allowed_values = allowed_values

    @staticmethod
    def value_text(text: str) -> str:
        """The JSON text the contract judges in an answer: the answer, or its one fenced block
        (what the caller is handed when the contract holds)."""
        inner = unfenced(text)
        return text if inner is None else inner

    def violation(self, text: str) -> str | None:
        """What breaks the contract in the answer ``text``; None when it holds."""
        try:
            value = strict_json(self.value_text(text))
        except ValueError as exc:
            return _short(f"the answer is not valid JSON ({exc}); reply with only the JSON value")
        if self.validator is not None:
            error = schema_errors.best_match(self.validator.iter_errors(value))
            if error is not None:
                return _short(f"{json_path(error.absolute_path)}: {error.message}")
        for path, allowed in self.allowed_values.items():
            found, got = _lookup(value, path)
            if not found:
                return _short(f"{path}: is missing; it must be one of {_show(allowed)}")
            if not any(_same(got, a) for a in allowed):
                return _short(f"{path}: {_show(got)} is not one of {_show(allowed)}")
        return None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise ValueError(f"the key {_show(dup)} appears twice in one object")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def strict_json(text: str) -> Any:
    """Parse ``text`` as strict JSON: no duplicate keys (parsers disagree on which one wins, so
    a program could act on the value the contract never saw), no NaN/Infinity, bounded depth."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise ValueError(exc.msg + f" at character {exc.pos}") from None


def _show(value: Any) -> str:
    return orjson.dumps(value).decode()


def _short(text: str) -> str:
    """The problem as at most ``MAX_PROBLEM_CHARS`` ASCII characters. ASCII, because a retry's
    extra input is reserved at admission from this bound (a token is at least one byte): 400
    characters of emoji quoted back from the answer were ~930 tokens, past the reservation."""
    text = text.encode("ascii", "backslashreplace").decode("ascii")
    return text if len(text) <= MAX_PROBLEM_CHARS else text[: MAX_PROBLEM_CHARS - 3] + "..."
