"""Caller-controlled text made inert before it reaches a spreadsheet or a terminal.

Task labels, user ids and model names in the ledger come from callers. Written verbatim, a cell
such as ``=HYPERLINK(...)`` runs as a formula when an operator opens the CSV export, and a label
such as ``[red]...`` or an escape sequence rewrites what ``doorman usage`` shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from rich.text import Text

# OWASP's list: these open a formula (or smuggle one after a tab / carriage return).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def csv_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_cell(v) for v in values]


def terminal_text(value: str) -> Text:
    """A rich ``Text`` shown literally: no markup parsed, control characters made visible."""
    return Text(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value))
