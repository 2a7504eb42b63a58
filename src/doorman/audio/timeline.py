"""Timestamps of a transcript of trimmed audio, moved back onto the uploaded clip's timeline.

The provider hears the trimmed clip, so its segment and word times skip every cut. A robot
that lines words up with its own recording needs them where they were said: each time is
mapped through the kept ranges (in order, as seconds of the original clip).
"""

from __future__ import annotations

from typing import Any

import orjson

Ranges = list[tuple[float, float]]


def to_original(t: float, kept: Ranges, *, start: bool) -> float:
    """Where time ``t`` of the trimmed audio lies in the original. A time on a cut is the
    next range's beginning for a ``start`` and the previous range's end otherwise."""
    offset = 0.0
    for begin, end in kept:
        length = end - begin
        if t < offset + length or (not start and t <= offset + length):
            return round(begin + max(0.0, t - offset), 3)
        offset += length
    return round(kept[-1][1], 3) if kept else t


def remap_verbose(body: bytes, kept: Ranges) -> bytes:
    """A ``verbose_json`` transcript with its segment and word times on the original clip;
    the body unchanged when it is not what we expect."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    if not isinstance(data, dict) or not kept:
        return body
    for key in ("segments", "words"):
        items = data.get(key)
        if isinstance(items, list):
            for item in items:
                _remap(item, kept)
    return orjson.dumps(data)


def _remap(item: Any, kept: Ranges) -> None:
    if not isinstance(item, dict):
        return
    for name, is_start in (("start", True), ("end", False)):
        value = item.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            item[name] = to_original(float(value), kept, start=is_start)
