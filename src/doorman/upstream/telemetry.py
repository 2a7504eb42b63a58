"""Counters of the reliability layer: retries, breaker transitions, fallbacks, degraded answers.

They live on the Gateway's metrics registry (so ``GET /metrics`` shows them) but are declared
here, beside the code that moves them. Labels are deployment keys and model names from the
configuration, never caller input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

if TYPE_CHECKING:
    from doorman.observe.metrics import Metrics

PACING_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ReliabilityMetrics:
    def __init__(self, metrics: Metrics | None = None) -> None:
        self.metrics = metrics
        r = metrics.registry if metrics is not None else CollectorRegistry()
        self.retries = Counter(
            "doorman_upstream_retries", "Upstream tries repeated, by deployment and cause.",
            ["deployment", "reason"], registry=r,
        )  # fmt: skip
        self.breaker_transitions = Counter(
            "doorman_breaker_transitions", "Circuit breaker state changes, by deployment.",
            ["deployment", "state"], registry=r,
        )  # fmt: skip
        self.skips = Counter(
            "doorman_upstream_skips",
            "Deployments passed over without a call (breaker_open, busy, paced, wire).",
            ["deployment", "reason"], registry=r,
        )  # fmt: skip
        self.fallbacks = Counter(
            "doorman_fallbacks", "Requests served by a fallback, by requested and served model.",
            ["model", "served"], registry=r,
        )  # fmt: skip
        self.degraded = Counter(
            "doorman_degraded_answers",
            "Safe degraded answers given instead of an error, by model and the error's code.",
            ["model", "cause"], registry=r,
        )  # fmt: skip
        self.queue_depth = Gauge(
            "doorman_upstream_queue_depth", "Requests waiting for a provider concurrency slot.",
            ["provider"], registry=r, multiprocess_mode="livesum",
        )  # fmt: skip
        self.pacing_delay = Histogram(
            "doorman_upstream_pacing_delay_seconds",
            "Waits imposed by proactive pacing from provider rate-limit headers.",
            ["deployment"], buckets=PACING_BUCKETS, registry=r,
        )  # fmt: skip

    def breaker_state(self, deployment: str, state: str) -> None:
        self.breaker_transitions.labels(deployment, state).inc()
        if self.metrics is not None:
            self.metrics.set_breaker_state(deployment, state)
