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


# What a header says about one spec and never changes: its limit, and the start of its
# ``RateLimit`` item. Specs are reused objects, so this is worked out once per spec.
_SPEC_TEXT: dict[int, tuple[LimitSpec, str, str]] = {}
_RESET_MS: dict[int, str] = {}  # ``format_reset`` of the sub-second resets, by milliseconds


def _spec_text(spec: LimitSpec) -> tuple[LimitSpec, str, str]:
    cached = _SPEC_TEXT.get(id(spec))
    if cached is None or cached[0] is not spec:
        if len(_SPEC_TEXT) >= 10_000:
            _SPEC_TEXT.clear()
        cached = _SPEC_TEXT[id(spec)] = (spec, str(int(spec.capacity)), f'"{spec.label}";r=')
    return cached


def _reset_text(seconds: float) -> str:
    if 0 < seconds < 1:
        ms = math.ceil(seconds * 1000)
        text = _RESET_MS.get(ms)
        if text is None:
            text = _RESET_MS[ms] = format_reset(seconds)
        return text
    return format_reset(seconds)


def headers_for(statuses: list[LimitStatus]) -> dict[str, str]:
    """Per unit (requests, tokens) the limit closest to refusing: the smallest share left,
    then the fewest left."""
    headers: dict[str, str] = {}
    tightest: dict[str, tuple[float, float, LimitStatus]] = {}
    shown: list[LimitStatus] = []
    for st in statuses:
        unit = st.spec.unit
        if unit != "requests" and unit != "tokens":
            continue
        shown.append(st)
        cap = st.spec.capacity
        share = st.remaining / cap if cap else 0.0
        best = tightest.get(unit)
        if best is None or share < best[0] or (share == best[0] and st.remaining < best[1]):
            tightest[unit] = (share, st.remaining, st)
    for unit in ("requests", "tokens"):
        found = tightest.get(unit)
        if found is None:
            continue
        top = found[2]
        headers[_LIMIT[unit]] = _spec_text(top.spec)[1]
        headers[_REMAINING[unit]] = str(max(0, int(top.remaining)))
        headers[_RESET[unit]] = _reset_text(top.reset)
    if shown:
        headers["ratelimit-policy"] = _policy(shown)
        headers["ratelimit"] = ", ".join(
            f"{_spec_text(st.spec)[2]}{max(0, int(st.remaining))};t={math.ceil(max(0.0, st.reset))}"
            for st in shown
        )
    return headers


_LIMIT = {u: f"x-ratelimit-limit-{u}" for u in ("requests", "tokens")}
_REMAINING = {u: f"x-ratelimit-remaining-{u}" for u in ("requests", "tokens")}
_RESET = {u: f"x-ratelimit-reset-{u}" for u in ("requests", "tokens")}


def rate_limit_headers(source: HasStatuses | list[LimitStatus]) -> dict[str, str]:
    """Headers for a :class:`Reservation` or a :class:`LimitRefused` (or raw statuses)."""
    statuses = source if isinstance(source, list) else source.statuses
    return headers_for(statuses)
