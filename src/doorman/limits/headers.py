"""Rate-limit response headers: OpenAI's ``x-ratelimit-*`` and the IETF ``RateLimit`` fields.

OpenAI-style headers describe, per unit (requests, tokens), the limit closest to refusing;
``RateLimit-Policy`` lists every request/token limit and ``RateLimit`` where each stands
(draft-ietf-httpapi-ratelimit-headers: ``"name";q=quota;w=window`` and ``"name";r=left;t=reset``).
"""

from __future__ import annotations

import math
from typing import Protocol

from doorman.limits.spec import LimitSpec, LimitStatus


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


def _share(st: LimitStatus) -> tuple[float, float]:
    cap = st.spec.capacity
    return (st.remaining / cap if cap else 0.0, st.remaining)


_POLICY_CACHE: dict[tuple[int, ...], tuple[list[LimitSpec], str]] = {}


def _policy(shown: list[LimitStatus]) -> str:
    """``RateLimit-Policy`` depends only on the specs, which are reused objects: cache it."""
    key = tuple(id(st.spec) for st in shown)
    cached = _POLICY_CACHE.get(key)
    if cached is not None and all(a is b.spec for a, b in zip(cached[0], shown, strict=True)):
        return cached[1]
    text = ", ".join(
        f'"{st.spec.label}";q={int(st.spec.capacity)};w={_window_seconds(st)}' for st in shown
    )
    if len(_POLICY_CACHE) >= 10_000:
        _POLICY_CACHE.clear()
    _POLICY_CACHE[key] = ([st.spec for st in shown], text)
    return text


def headers_for(statuses: list[LimitStatus]) -> dict[str, str]:
    headers: dict[str, str] = {}
    tightest: dict[str, LimitStatus] = {}
    shown: list[LimitStatus] = []
    for st in statuses:
        unit = st.spec.unit
        if unit != "requests" and unit != "tokens":
            continue
        shown.append(st)
        best = tightest.get(unit)
        if best is None or _share(st) < _share(best):
            tightest[unit] = st
    for unit in ("requests", "tokens"):
        top = tightest.get(unit)
        if top is None:
            continue
        headers[f"x-ratelimit-limit-{unit}"] = str(int(top.spec.capacity))
        headers[f"x-ratelimit-remaining-{unit}"] = str(max(0, int(top.remaining)))
        headers[f"x-ratelimit-reset-{unit}"] = format_reset(top.reset)
    if shown:
        headers["ratelimit-policy"] = _policy(shown)
        headers["ratelimit"] = ", ".join(
            f'"{st.spec.label}";r={max(0, int(st.remaining))};t={math.ceil(max(0.0, st.reset))}'
            for st in shown
        )
    return headers


def rate_limit_headers(source: HasStatuses | list[LimitStatus]) -> dict[str, str]:
    """Headers for a :class:`Reservation` or a :class:`LimitRefused` (or raw statuses)."""
    statuses = source if isinstance(source, list) else source.statuses
    return headers_for(statuses)
