"""One cached answer and its byte form (what the stores keep).

The answer is kept as the complete, non-streamed body in the client's wire format, whatever
way it arrived: a stream is assembled once it ended cleanly, and a later streaming caller gets
it replayed as SSE. The metadata says what the original call cost, so a hit can record the
dollars it saved.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import orjson

_SEPARATOR = b"\n"


class CorruptEntry(ValueError):
    """Bytes in the store that are not an entry (another version, truncation)."""


@dataclass(slots=True)
class CachedAnswer:
    body: bytes  # complete JSON answer in the client's wire format
    served_model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    created: float = field(default_factory=time.time)

    def age_seconds(self, now: float | None = None) -> int:
        return max(0, int((time.time() if now is None else now) - self.created))

    def encode(self) -> bytes:
        meta = asdict(self)
        del meta["body"]
        return orjson.dumps(meta) + _SEPARATOR + self.body

    @classmethod
    def decode(cls, blob: bytes) -> CachedAnswer:
        head, sep, body = blob.partition(_SEPARATOR)
        if not sep or not body:
            raise CorruptEntry("no body")
        try:
            meta = orjson.loads(head)
            return cls(
                body=body,
                served_model=str(meta["served_model"]),
                input_tokens=int(meta["input_tokens"]),
                output_tokens=int(meta["output_tokens"]),
                cached_tokens=int(meta["cached_tokens"]),
                cost_usd=float(meta["cost_usd"]),
                created=float(meta["created"]),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise CorruptEntry(str(exc)) from None
