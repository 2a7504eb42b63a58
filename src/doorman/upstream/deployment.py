"""A deployment: one model served by one provider — the unit that is retried and broken."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from doorman.config import ModelSettings, ProviderSettings, Settings

Wire = Literal["openai", "anthropic"]


@dataclass(frozen=True, slots=True)
class Deployment:
    model: str  # the configured model name (what the ledger calls "served_model")
    settings: ModelSettings
    provider: str
    provider_settings: ProviderSettings
    upstream_model: str  # the name sent to the provider

    @property
    def key(self) -> str:
        return f"{self.provider}/{self.model}"

    def wire_for(self, client_wire: Wire) -> Wire:
        """The wire format spoken to the provider. The simulator speaks both, so it mirrors the client."""
        kind = self.provider_settings.kind
        if kind == "sim":
            return client_wire
        return "anthropic" if kind == "anthropic" else "openai"


def deployments_for(settings: Settings, model: str) -> list[Deployment]:
    """The model, then its fallbacks followed transitively (depth first, in configured order).

    a -> [b, c], b -> [d] gives a, b, d, c: each fallback's own fallbacks are tried before the
    next sibling. Repeats are skipped (config load rejects cycles; this guards anyway).
    """
    seen: set[str] = set()
    result: list[Deployment] = []
    stack = [model]
    while stack:
        name = stack.pop()
        if name in seen or name not in settings.models:
            continue
        seen.add(name)
        m = settings.models[name]
        result.append(
            Deployment(
                model=name,
                settings=m,
                provider=m.provider,
                provider_settings=settings.providers[m.provider],
                upstream_model=m.upstream_model or name,
            )
        )
        stack.extend(reversed(m.fallbacks))
    return result
