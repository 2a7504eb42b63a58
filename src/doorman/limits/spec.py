"""What a limit is (scope, unit, capacity, window) and which limits apply to one request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from doorman.config import ModelSettings, TierSettings
    from doorman.limits.settings import LimitsSettings

ScopeKind = Literal["user", "key", "model", "provider", "global"]
Unit = Literal["requests", "tokens", "usd", "concurrent", "audio_seconds"]
WindowKind = Literal["rolling", "day", "month", "concurrency"]

#: Scopes whose limits protect a shared upstream quota; only these may queue.
SHARED_SCOPES: frozenset[str] = frozenset({"model", "provider", "global"})


@dataclass(frozen=True, slots=True)
class Scope:
    kind: ScopeKind
    id: str = ""

    @property
    def tag(self) -> str:
        """The Redis Cluster hash tag body: every key of one scope lives in one slot."""
        return f"{self.kind}:{_escape(self.id)}" if self.id else self.kind


@dataclass(frozen=True, slots=True)
class Window:
    kind: WindowKind
    seconds: float = 0.0  # rolling windows only

    @classmethod
    def rolling(cls, seconds: float) -> Window:
        if seconds <= 0:
            raise ValueError("a rolling window needs a positive length")
        return cls("rolling", float(seconds))


MINUTE = Window.rolling(60)
DAY = Window("day")
MONTH = Window("month")
CONCURRENCY = Window("concurrency")


@dataclass(frozen=True, slots=True)
class LimitSpec:
    """One limit: ``capacity`` ``unit`` per ``window`` for ``scope``.

    USD capacities are dollars (floats); the engine accounts them in integer nano-dollars.
    Audio-second capacities are seconds (floats), accounted in integer milliseconds.
    """

    scope: Scope
    name: str
    unit: Unit
    capacity: float
    window: Window

    def __post_init__(self) -> None:
        if self.capacity < 0:
            raise ValueError("capacity must not be negative")
        if (self.unit == "concurrent") != (self.window.kind == "concurrency"):
            raise ValueError("the concurrent unit goes with the concurrency window, only")
        if self.unit == "usd" and self.window.kind == "rolling":
            raise ValueError("usd budgets use calendar day/month windows")

    @property
    def label(self) -> str:
        """A stable, id-free name for headers: ``user-requests_per_minute``."""
        return f"{self.scope.kind}-{self.name}"


@dataclass(frozen=True, slots=True)
class Demand:
    """The worst case one request may consume; settlement replaces it with the actual usage."""

    requests: int = 1
    tokens: int = 0
    usd: float = 0.0
    audio_seconds: float = 0.0  # seconds of audio sent to the provider (transcriptions)

    def __post_init__(self) -> None:
        if self.requests < 0 or self.tokens < 0 or self.usd < 0 or self.audio_seconds < 0:
            raise ValueError("demand must not be negative")


def _escape(value: str) -> str:
    # Braces would break the hash tag, so they (and the escape char) are percent-encoded.
    return value.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")


def _tier_specs(tier: TierSettings, scope: Scope, only: set[str] | None) -> list[LimitSpec]:
    table: list[tuple[str, Unit, float | None, Window]] = [
        ("requests_per_minute", "requests", tier.requests_per_minute, MINUTE),
        ("tokens_per_minute", "tokens", tier.tokens_per_minute, MINUTE),
        ("tokens_per_day", "tokens", tier.tokens_per_day, DAY),
        ("daily_budget_usd", "usd", tier.daily_budget_usd, DAY),
        ("monthly_budget_usd", "usd", tier.monthly_budget_usd, MONTH),
        ("max_concurrent", "concurrent", tier.max_concurrent, CONCURRENCY),
    ]
    return [
        LimitSpec(scope, name, unit, cap, window)
        for name, unit, cap, window in table
        if cap is not None and (only is None or name in only)
    ]


def _audio_specs(tier: TierSettings, scope: Scope) -> list[LimitSpec]:
    audio = tier.audio
    table: list[tuple[str, float | None, Window]] = [
        ("audio_seconds_per_minute", audio.seconds_per_minute, MINUTE),
        ("audio_seconds_per_day", audio.seconds_per_day, DAY),
    ]
    return [
        LimitSpec(scope, name, "audio_seconds", cap, window)
        for name, cap, window in table
        if cap is not None
    ]


def _shared_specs(
    scope: Scope, rpm: int | None, tpm: int | None, concurrent: int | None
) -> list[LimitSpec]:
    out: list[LimitSpec] = []
    if rpm is not None:
        out.append(LimitSpec(scope, "requests_per_minute", "requests", rpm, MINUTE))
    if tpm is not None:
        out.append(LimitSpec(scope, "tokens_per_minute", "tokens", tpm, MINUTE))
    if concurrent is not None:
        out.append(LimitSpec(scope, "max_concurrent", "concurrent", concurrent, CONCURRENCY))
    return out


def build_limits(
    tier: TierSettings,
    tier_name: str,
    user_id: str,
    key_id: str,
    model_name: str,
    model: ModelSettings,
    provider_name: str,
    limits_settings: LimitsSettings,
    *,
    audio: bool = False,
) -> list[LimitSpec]:
    """Every limit that applies to one request.

    Tier limits belong to the user (minting keys does not multiply a quota); the names listed
    in ``limits.per_key`` apply per key as well. Model, provider and global limits keep the
    gateway under the providers' own quotas. ``tier_name`` is accepted for symmetry and future
    per-tier pools; limits are not shared across a tier's users. ``audio`` adds the tier's
    audio-seconds limits (transcriptions only, so chat requests do not pay for checking them).
    """
    del tier_name
    specs = _tier_specs(tier, Scope("user", user_id), None)
    if audio:
        specs += _audio_specs(tier, Scope("user", user_id))
    if limits_settings.per_key:
        specs += _tier_specs(tier, Scope("key", key_id), set(limits_settings.per_key))
    specs += _shared_specs(
        Scope("model", model_name),
        model.requests_per_minute,
        model.tokens_per_minute,
        model.max_concurrent,
    )
    prov = limits_settings.providers.get(provider_name)
    prov_concurrent = prov.max_concurrent if prov and prov.max_concurrent else None
    specs += _shared_specs(
        Scope("provider", provider_name),
        prov.requests_per_minute if prov else None,
        prov.tokens_per_minute if prov else None,
        prov_concurrent,
    )
    specs += _shared_specs(
        Scope("global"),
        limits_settings.global_requests_per_minute,
        limits_settings.global_tokens_per_minute,
        limits_settings.global_max_concurrent,
    )
    return specs


def caller_request_limits(
    tier: TierSettings, user_id: str, key_id: str, limits_settings: LimitsSettings
) -> list[LimitSpec]:
    """The caller's own request-rate limits (the user's, and the key's where ``limits.per_key``
    names them): what a request that reaches no provider consumes (an approval poll)."""
    specs = _tier_specs(tier, Scope("user", user_id), None)
    if limits_settings.per_key:
        specs += _tier_specs(tier, Scope("key", key_id), set(limits_settings.per_key))
    return [s for s in specs if s.unit == "requests"]


@dataclass(slots=True)
class LimitStatus:
    """Where one limit stands after a reservation (or at a refusal), for headers and shrinking.

    ``remaining`` is in the spec's unit (dollars for usd); ``reset`` is seconds until the limit
    is back to full (GCRA) or until the calendar window ends.
    """

    spec: LimitSpec
    remaining: float
    reset: float
