"""Rate-limit response headers: OpenAI's ``x-ratelimit-*`` and the IETF ``RateLimit`` fields.

OpenAI-style headers describe, per unit (requests, tokens), the limit closest to refusing;
``RateLimit-Policy`` lists every request/token limit and ``RateLimit`` where each stands
(draft-ietf-httpapi-ratelimit-headers: ``"name";q=quota;w=window`` and ``"name";r=left;t=reset``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Protocol

from doorman.limits.spec import LimitStatus


class HasStatuses(Protocol):
    @property
    def statuses(self) -> list[LimitStatus]: ...


def format_reset(seconds: float) -> str:
    """OpenAI's duration format: ``20ms``, ``1s``, ``7.66s``, ``6m0s``, ``1h2m3s``."""
    seconds = max(0.0, seconds)
    if seconds < 1:
        return f"{math.ceil(seconds * 1000)}ms"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{round(secs, 3):g}s"
    if hours:
        return f"{int(hours)}h{int(minutes)}m{text}"
    if minutes:
        return f"{int(minutes)}m{text}"
    return text


def _window_seconds(status: LimitStatus) -> int:
    window = status.spec.window
    if window.kind == "rolling":
        return math.ceil(window.seconds)
    return 86400 if window.kind == "day" else 86400 * 30


def _tightest(statuses: Iterable[LimitStatus]) -> LimitStatus | None:
    best: LimitStatus | None = None
    for st in statuses:
        share = st.remaining / st.spec.capacity if st.spec.capacity else 0.0
        if best is None:
            best = st
            continue
        best_share = best.remaining / best.spec.capacity if best.spec.capacity else 0.0
        if (share, st.remaining) < (best_share, best.remaining):
            best = st
    return best


def headers_for(statuses: list[LimitStatus]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for unit in ("requests", "tokens"):
        st = _tightest(s for s in statuses if s.spec.unit == unit)
        if st is None:
            continue
        headers[f"x-ratelimit-limit-{unit}"] = str(int(st.spec.capacity))
        headers[f"x-ratelimit-remaining-{unit}"] = str(max(0, int(st.remaining)))
        headers[f"x-ratelimit-reset-{unit}"] = format_reset(st.reset)
    policy: list[str] = []
    state: list[str] = []
    for st in statuses:
        if st.spec.unit not in ("requests", "tokens"):
            continue
        name = st.spec.label
        policy.append(f'"{name}";q={int(st.spec.capacity)};w={_window_seconds(st)}')
        state.append(f'"{name}";r={max(0, int(st.remaining))};t={math.ceil(max(0.0, st.reset))}')
    if policy:
        headers["ratelimit-policy"] = ", ".join(policy)
        headers["ratelimit"] = ", ".join(state)
    return headers


def rate_limit_headers(source: HasStatuses | list[LimitStatus]) -> dict[str, str]:
    """Headers for a :class:`Reservation` or a :class:`LimitRefused` (or raw statuses)."""
    statuses = source if isinstance(source, list) else source.statuses
    return headers_for(statuses)
