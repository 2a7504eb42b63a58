"""Rate-limit response headers: OpenAI's ``x-ratelimit-*`` and the IETF ``RateLimit`` fields.

OpenAI-style headers describe, per unit (requests, tokens), the limit closest to refusing;
``RateLimit-Policy`` lists every request/token limit and ``RateLimit`` where each stands
(draft-ietf-httpapi-ratelimit-headers: ``"name";q=quota;w=window`` and ``"name";r=left;t=reset``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
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


@dataclass(slots=True)
class _Plan:
    """What the headers of one list of limits say whatever their state: which limits are
    shown (request and token limits), their limit texts, ``RateLimit`` item prefixes and the
    ``RateLimit-Policy`` value. Specs are reused objects, so this is worked out once per list."""

    specs: list[LimitSpec]
    shown: list[tuple[int, str, float, str, str]]  # index, unit, capacity, limit text, prefix
    policy: str


_PLANS: dict[tuple[int, ...], _Plan] = {}
_RESET_MS: dict[int, str] = {}  # ``format_reset`` of the sub-second resets, by milliseconds


def _plan(statuses: list[LimitStatus]) -> _Plan:
    key = tuple([id(st.spec) for st in statuses])
    plan = _PLANS.get(key)
    if plan is not None and all(a is b.spec for a, b in zip(plan.specs, statuses, strict=True)):
        return plan
    shown: list[tuple[int, str, float, str, str]] = [
        (i, st.spec.unit, st.spec.capacity, str(int(st.spec.capacity)), f'"{st.spec.label}";r=')
        for i, st in enumerate(statuses)
        if st.spec.unit in ("requests", "tokens")
    ]
    policy = ", ".join(
        f'"{statuses[i].spec.label}";q={limit};w={_window_seconds(statuses[i])}'
        for i, _, _, limit, _ in shown
    )
    if len(_PLANS) >= 10_000:
        _PLANS.clear()
    plan = _PLANS[key] = _Plan([st.spec for st in statuses], shown, policy)
    return plan


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
    then the fewest left; and where every request and token limit stands."""
    plan = _plan(statuses)
    if not plan.shown:
        return {}
    tightest: dict[str, tuple[float, float, LimitStatus, str]] = {}
    items: list[str] = []
    for i, unit, cap, limit, prefix in plan.shown:
        st = statuses[i]
        remaining = st.remaining
        share = remaining / cap if cap else 0.0
        best = tightest.get(unit)
        if best is None or share < best[0] or (share == best[0] and remaining < best[1]):
            tightest[unit] = (share, remaining, st, limit)
        items.append(f"{prefix}{max(0, int(remaining))};t={math.ceil(max(0.0, st.reset))}")
    headers: dict[str, str] = {}
    for unit in ("requests", "tokens"):
        found = tightest.get(unit)
        if found is None:
            continue
        top = found[2]
        headers[_LIMIT[unit]] = found[3]
        headers[_REMAINING[unit]] = str(max(0, int(top.remaining)))
        headers[_RESET[unit]] = _reset_text(top.reset)
    headers["ratelimit-policy"] = plan.policy
    headers["ratelimit"] = ", ".join(items)
    return headers


_LIMIT = {u: f"x-ratelimit-limit-{u}" for u in ("requests", "tokens")}
_REMAINING = {u: f"x-ratelimit-remaining-{u}" for u in ("requests", "tokens")}
_RESET = {u: f"x-ratelimit-reset-{u}" for u in ("requests", "tokens")}


def rate_limit_headers(source: HasStatuses | list[LimitStatus]) -> dict[str, str]:
    """Headers for a :class:`Reservation` or a :class:`LimitRefused` (or raw statuses)."""
    statuses = source if isinstance(source, list) else source.statuses
    return headers_for(statuses)
