"""One ledger row: everything a finished (or refused) request cost and how it went.

A plain slotted dataclass: it is built once per request on the hot path, so it stays cheap,
and it maps one-to-one onto the columns of the ``ledger`` table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Wire = Literal["openai", "anthropic"]

TASK_HEADER = "x-doorman-task"
TASK_MAX_CHARS = 64


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class LedgerRow:
    """What one request cost. Only ``request_id`` is required: refused requests are rows too."""

    request_id: str
    ts: datetime = field(default_factory=utcnow)
    key_id: str | None = None
    user_id: str | None = None
    tier: str | None = None
    task: str | None = None
    requested_model: str | None = None
    served_model: str | None = None
    provider: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    reserved_usd: float = 0.0
    latency_ms: float = 0.0
    upstream_ms: float | None = None
    ttft_ms: float | None = None
    status: int = 200
    error_code: str | None = None
    retries: int = 0
    cache_hit: bool = False
    saved_usd: float = 0.0  # a cache hit: what the answer cost when it was first made
    degraded: bool = False
    flags: str | None = None
    wire: Wire = "openai"
    stream: bool = False
    audio_seconds_received: float | None = None  # transcriptions: the clip as uploaded
    audio_seconds_sent: float | None = None  # after trimming: what the provider billed
    audio_saved_usd: float | None = None  # the seconds trimming kept from the provider, priced

    def as_dict(self) -> dict[str, Any]:
        """Column name -> value, with ``ts`` normalised to UTC (what the table stores)."""
        data = {f.name: getattr(self, f.name) for f in _FIELDS}
        ts = self.ts
        data["ts"] = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
        return data


_FIELDS = dataclasses.fields(LedgerRow)
COLUMNS: tuple[str, ...] = tuple(f.name for f in _FIELDS)


def task_label(
    headers: Mapping[str, str] | None = None, metadata: Mapping[str, Any] | None = None
) -> str | None:
    """The caller's task label: the ``x-doorman-task`` header, else ``metadata.task``.

    Bounded and stripped because it is caller-controlled and lands in reports.
    """
    value: Any = None
    if headers is not None:
        value = headers.get(TASK_HEADER)
    if not value and metadata is not None:
        value = metadata.get("task")
    if not isinstance(value, str):
        return None
    value = "".join(ch for ch in value.strip() if ch.isprintable())[:TASK_MAX_CHARS]
    return value or None
