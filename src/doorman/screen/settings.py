"""Configuration of input screening (owned by the screen package).

YAML shape (every key optional)::

    screening:
      enabled: true
      injection:          {action: block, threshold: null}   # block | flag | shadow | off
                          # judge: {model: m, band: [0.3, 0.7]}: see doorman.judge
      indirect_injection: {action: flag,  threshold: null}   # tool results and documents
      secrets:            {action: redact}                   # redact | block | flag | shadow | off
      pii:                {action: flag}
      pii_kinds: [email, phone, credit_card]
      untrusted_tags: [untrusted, document]                  # see wrap_untrusted()
      trust: {system: false, assistant: false}               # roles screened for injection
      system_injection: {action: flag, threshold: 0.95}      # untrusted system/assistant text
      unscreenable: {action: flag}                           # PDFs and other binary documents
      max_request_chars: 1000000                             # above: 413, nothing forwarded
      offload: {mode: auto, min_bytes: 65536, workers: 1, max_waiting: 16}

A tier overrides any part with the same shape under ``tiers.<name>.screening``; the raw dict is
merged over the global section by :func:`effective_settings`.

``threshold`` is the fused-score cut-off; ``null`` means the value calibrated at training time
(1% false positives on benign sources the classifier never saw). Lower is stricter.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from doorman.judge import InjectionJudge
from doorman.screen.output import OutputSettings

InjectionAction = Literal["block", "flag", "shadow", "off"]
DataAction = Literal["redact", "block", "flag", "shadow", "off"]
PiiKind = Literal["email", "phone", "credit_card"]
DEFAULT_PII_KINDS: tuple[PiiKind, ...] = ("email", "phone", "credit_card")


class InjectionPolicy(BaseModel):
    """What to do when a message looks like a prompt injection."""

    model_config = ConfigDict(extra="forbid")

    action: InjectionAction = "block"
    threshold: float | None = Field(default=None, gt=0.0, lt=1.0)
    judge: InjectionJudge | None = Field(
        None, description="a model decides gray-band scores (doorman.judge); off by default"
    )


class IndirectInjectionPolicy(InjectionPolicy):
    """Same as :class:`InjectionPolicy` for untrusted content (tool results, documents).

    Defaults to ``flag``: retrieved pages and tool output contain imperative text far more
    often than user turns do, so blocking them by default would break agents.
    """

    action: InjectionAction = "flag"


class SystemInjectionPolicy(InjectionPolicy):
    """Injection policy for system/developer and assistant text a tier does not trust.

    Scored by the rules layer alone, at a high threshold: the classifier learned that text
    telling a model who to be and what to do is suspicious, which is what every system prompt
    does (it scores most ordinary system prompts above the user-turn threshold). Flag by
    default: applications quote attack phrases in their own prompts ("refuse if the user says
    'ignore previous instructions'"), so blocking them is the operator's call.
    """

    action: InjectionAction = "flag"
    threshold: float | None = Field(default=0.95, gt=0.0, lt=1.0)


class Trust(BaseModel):
    """Which caller-written roles skip injection screening (secrets are always redacted)."""

    model_config = ConfigDict(extra="forbid")

    system: bool = Field(
        False,
        description="trust system/developer messages, Anthropic system, tool definitions and "
        "response_format schemas",
    )
    assistant: bool = Field(
        False,
        description="trust assistant turns, tool-call arguments, tool_use input and prefill",
    )


class UnscreenablePolicy(BaseModel):
    """What to do with caller content the screen cannot read (PDF and other binary documents)."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["block", "flag", "off"] = "flag"


class OffloadSettings(BaseModel):
    """Where large bodies are screened (see :mod:`doorman.screen.offload`). Process-wide: read
    from the global ``screening`` section only."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["auto", "process", "thread", "inline"] = Field(
        "auto",
        description="auto: process when running as the doorman command (serve), thread when "
        "doorman is used as a library (a spawned worker would re-import the caller's script)",
    )
    min_bytes: int = Field(
        65_536, ge=0, description="bodies this large or larger are screened off the event loop"
    )
    workers: int = Field(1, ge=1, le=64, description="screening workers (processes or threads)")
    max_waiting: int = Field(
        16, ge=1, description="large bodies waiting for a worker; more get 503 screening_busy"
    )


class DataPolicy(BaseModel):
    """What to do when a prompt carries a secret or personal data."""

    model_config = ConfigDict(extra="forbid")

    action: DataAction = "redact"


class PiiPolicy(DataPolicy):
    action: DataAction = "flag"


class ScreeningSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    injection: InjectionPolicy = Field(default_factory=lambda: InjectionPolicy())
    indirect_injection: IndirectInjectionPolicy = Field(
        default_factory=lambda: IndirectInjectionPolicy()
    )
    secrets: DataPolicy = Field(default_factory=lambda: DataPolicy())
    pii: PiiPolicy = Field(default_factory=lambda: PiiPolicy())
    pii_kinds: list[PiiKind] = Field(default_factory=lambda: list(DEFAULT_PII_KINDS))
    untrusted_tags: list[str] = Field(
        default_factory=lambda: ["untrusted", "document"],
        description="text inside these tags in a user message is screened as indirect",
    )
    trust: Trust = Field(default_factory=lambda: Trust())
    output: OutputSettings = Field(default_factory=lambda: OutputSettings())
    system_injection: SystemInjectionPolicy = Field(default_factory=lambda: SystemInjectionPolicy())
    unscreenable: UnscreenablePolicy = Field(default_factory=lambda: UnscreenablePolicy())
    offload: OffloadSettings = Field(default_factory=lambda: OffloadSettings())
    max_request_chars: int = Field(
        default=1_000_000,
        ge=1000,
        description="characters of text screened per request (every field, every message); a "
        "request with more is refused with 413 rather than screened in part",
    )


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def effective_settings(
    base: ScreeningSettings, overrides: dict[str, Any] | None
) -> ScreeningSettings:
    """The global section with a tier's raw ``screening`` dict merged over it.

    Raises ``pydantic.ValidationError`` for a malformed override, so ``check-config`` can call
    it for every tier and report the path.
    """
    if not overrides:
        return base
    merged = _deep_merge(base.model_dump(), overrides)
    return ScreeningSettings.model_validate(merged)
