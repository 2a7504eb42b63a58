"""A read-only picture of every configured deployment: breaker, pacing and concurrency queue.

What ``GET /admin/providers`` shows. The state is this process's own (breakers share only their
open state through Redis, pacers and queues are per process); a deployment never called since
start-up reads as closed, unpaced and idle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from doorman.config import Settings
    from doorman.upstream.dispatch import Dispatcher


def deployment_health(settings: Settings, dispatcher: Dispatcher) -> list[dict[str, Any]]:
    """One entry per configured model (= deployment), in configuration order."""
    out: list[dict[str, Any]] = []
    for name, model in settings.models.items():
        key = f"{model.provider}/{name}"
        breaker = dispatcher.breakers.known(key)
        pacer = dispatcher.known_pacer(key)
        gate = dispatcher.known_gate(model.provider)
        budgets = {}
        if pacer is not None:
            for budget_name, b in pacer.budgets.items():
                budgets[budget_name] = {"limit": b.limit, "remaining": round(b.remaining, 1)}
        out.append(
            {
                "deployment": key,
                "model": name,
                "provider": model.provider,
                "fallbacks": list(model.fallbacks),
                "breaker": breaker.state if breaker is not None else "closed",
                "breaker_retry_in_s": round(breaker.retry_in(), 3) if breaker else 0.0,
                "pacing": budgets,
                "pacing_tokens_per_request": round(pacer.tokens_per_request, 1)
                if pacer is not None and budgets
                else None,
                "active": gate.active if gate is not None else 0,
                "waiting": gate.waiting if gate is not None else 0,
                "max_concurrent": settings.providers[model.provider].max_concurrent,
            }
        )
    return out
