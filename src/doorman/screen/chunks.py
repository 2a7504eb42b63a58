"""Cut long texts into overlapping chunks so the detector sees all of them at bounded cost.

The detector's layers are built for prompt-sized text; on one long string some of their work
grows faster than the text (rules re-scanning it, decoded copies, ...). Screening a long text
as a sequence of chunks makes the total linear in its length and leaves no unscreened tail:
padding in front of an attack moves it to a later chunk, it does not hide it.

Consecutive chunks share ``OVERLAP_CHARS``, so any span up to that long lies wholly inside one
chunk; cuts fall on whitespace when there is some near the edge, so words stay whole.
"""

from __future__ import annotations

from collections.abc import Iterator

CHUNK_CHARS = 16_384
OVERLAP_CHARS = 1_024
_SNAP = 256  # look this far back from a cut for whitespace


def _cut(text: str, at: int, floor: int) -> int:
    """``at`` moved back to just after the nearest whitespace within ``_SNAP`` (not below
    ``floor``), so a cut does not split a word."""
    low = max(floor, at - _SNAP)
    for i in range(at, low, -1):
        if text[i - 1].isspace():
            return i
    return at


def chunks(text: str, size: int = CHUNK_CHARS, overlap: int = OVERLAP_CHARS) -> Iterator[str]:
    """Overlapping pieces of at most ``size`` characters that together cover ``text``."""
    if len(text) <= size:
        yield text
        return
    start = 0
    while True:
        end = start + size
        if end >= len(text):
            yield text[start:]
            return
        end = _cut(text, end, start + size // 2)
        yield text[start:end]
        start = _cut(text, end - overlap, start + 1)
