"""The caller's task label (``x-doorman-task`` or ``metadata.task``), checked at the gateway.

The label lands in the ledger, spend reports, CSV exports and routing rules, so it is held to a
plain charset: letters, digits, spaces and ``_ . : / - + @ #``, starting with a letter or digit,
at most 64 characters. Anything else is a 400 naming the field, not a silent rewrite.
"""

from __future__ import annotations

import re

from doorman.errors import BadRequest

TASK_HEADER = "x-doorman-task"
MAX_TASK_CHARS = 64
_TASK = re.compile(r"[^\W_][\w .:/+@#-]*")


def checked_task_label(value: object, where: str) -> str | None:
    """The label, or None when absent; BadRequest (param ``where``) when it breaks the rules."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{where} must be a string.", param=where, code="invalid_task_label")
    if len(value) > MAX_TASK_CHARS or not _TASK.fullmatch(value):
        raise BadRequest(
            f"{where}: a task label is 1-{MAX_TASK_CHARS} characters: letters, digits, spaces "
            "and _ . : / - + @ #, starting with a letter or digit.",
            param=where,
            code="invalid_task_label",
        )
    return value
