"""Prometheus metrics: one ``Metrics`` object, one call per request, one ``render`` for /metrics.

Several workers: when ``PROMETHEUS_MULTIPROC_DIR`` is set (before prometheus_client is first
imported, i.e. before the server starts its workers) every process writes its samples to files
in that directory and ``render`` merges them, so a scrape that lands on any worker sees the
whole server. Label values come from configuration (served model, tier, HTTP status), never
from caller input, so a client cannot explode the series count.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

if TYPE_CHECKING:
    from doorman.ledger.row import LedgerRow

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
UPSTREAM_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
BATCH_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)

BREAKER_STATES = {"closed": 0.0, "half_open": 1.0, "open": 2.0}


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower()) or None


class Metrics:
    """The gateway's metrics. Each instance owns its registry (tests may build several)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self._series: dict[tuple[int, str, str, str | None], tuple[Any, ...]] = {}
        r = self.registry
        self.requests = Counter(
            "doorman_requests", "Requests answered, by HTTP status, served model and tier.",
            ["status", "model", "tier"], registry=r,
        )  # fmt: skip
        self.tokens = Counter(
            "doorman_tokens", "Tokens by direction (input, output, cached) and served model.",
            ["direction", "model"], registry=r,
        )  # fmt: skip
        self.cost = Counter(
            "doorman_cost_usd", "Cost in USD by served model and tier.",
            ["model", "tier"], registry=r,
        )  # fmt: skip
        self.gateway_latency = Histogram(
            "doorman_gateway_latency_seconds",
            "Latency the gateway adds (total minus upstream time).",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.upstream_latency = Histogram(
            "doorman_upstream_latency_seconds", "Time spent waiting on the provider.",
            ["provider"], buckets=UPSTREAM_BUCKETS, registry=r,
        )  # fmt: skip
        self.ttft = Histogram(
            "doorman_time_to_first_token_seconds", "Time to the first streamed token.",
            ["model"], buckets=UPSTREAM_BUCKETS, registry=r,
        )  # fmt: skip
        self.rejections = Counter(
            "doorman_rejections", "Requests answered with an error, by error code.",
            ["reason"], registry=r,
        )  # fmt: skip
        self.reservation_shortfall = Counter(
            "doorman_reservation_shortfall",
            "Provider-reported usage beyond the admission's reservation (charged anyway), "
            "by served model and unit (tokens, usd).",
            ["model", "unit"], registry=r,
        )  # fmt: skip
        self.breaker_state = Gauge(
            "doorman_breaker_state", "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
            ["deployment"], registry=r, multiprocess_mode="livemax",
        )  # fmt: skip
        self.queue_depth = Gauge(
            "doorman_queue_depth", "Requests waiting in a limits queue (limits.queue_max_wait_s).",
            registry=r, multiprocess_mode="livesum",
        )  # fmt: skip
        self.ledger_batch = Histogram(
            "doorman_ledger_batch_seconds", "Time to commit one ledger batch.",
            buckets=BATCH_BUCKETS, registry=r,
        )  # fmt: skip
        self.ledger_rows = Counter(
            "doorman_ledger_rows", "Ledger rows committed.", registry=r,
        )  # fmt: skip
        self.alerts = Counter(
            "doorman_alerts", "Alert events emitted, by kind and severity.",
            ["kind", "severity"], registry=r,
        )  # fmt: skip
        self.audio_seconds = Counter(
            "doorman_audio_seconds",
            "Transcription audio by direction: received (as uploaded), sent (after trimming).",
            ["direction", "model"], registry=r,
        )  # fmt: skip
        self.audio_saved = Counter(
            "doorman_audio_trim_saved_usd", "Dollars silence trimming kept from the provider.",
            ["model"], registry=r,
        )  # fmt: skip
        self.tool_approvals = Counter(
            "doorman_tool_approvals",
            "Tool calls withheld for a person's approval (requested) and approved calls handed "
            "to their caller (collected). No tool label: a model can invent names.",
            ["event"], registry=r,
        )  # fmt: skip

        self.side_calls = Counter(
            "doorman_side_calls",
            "Extra upstream calls made for a request (judges, output-contract retries).",
            ["purpose", "model"], registry=r,
        )  # fmt: skip
        self.side_call_cost = Counter(
            "doorman_side_call_cost_usd", "What those extra calls cost (on the request's bill).",
            ["purpose", "model"], registry=r,
        )  # fmt: skip
        self.judge_verdicts = Counter(
            "doorman_judge_verdicts",
            "Judge answers by purpose (injection_judge, topic_check) and verdict (or error).",
            ["purpose", "verdict"], registry=r,
        )  # fmt: skip
        self.output_contract = Counter(
            "doorman_output_contract",
            "Answers checked against an output contract, by tier and outcome "
            "(valid, retried, invalid).",
            ["tier", "outcome"], registry=r,
        )  # fmt: skip

    # --- one call per request -------------------------------------------------------------
    def observe_request(self, row: LedgerRow, gateway_ms: float | None = None) -> None:
        """Count a finished request from its ledger row.

        ``gateway_ms`` is the latency the gateway added; by default total minus upstream time.
        """
        model = row.served_model or "none"
        tier = row.tier or "none"
        series = self._series.get((row.status, model, tier, row.provider))
        if series is None:
            series = self._new_series(row.status, model, tier, row.provider)
        requests, tokens_in, tokens_out, tokens_cached, cost, upstream, ttft = series
        requests.inc()
        if row.input_tokens:
            tokens_in.inc(row.input_tokens)
        if row.output_tokens:
            tokens_out.inc(row.output_tokens)
        if row.cached_tokens:
            tokens_cached.inc(row.cached_tokens)
        if row.cost_usd:
            cost.inc(row.cost_usd)
        if gateway_ms is None:
            gateway_ms = row.latency_ms - (row.upstream_ms or 0.0)
        self.gateway_latency.observe(max(0.0, gateway_ms) / 1000.0)
        if row.upstream_ms is not None:
            upstream.observe(row.upstream_ms / 1000.0)
        if row.ttft_ms is not None:
            ttft.observe(row.ttft_ms / 1000.0)
        if row.audio_seconds_received is not None:
            self._observe_audio(row, row.requested_model or model)

    def _observe_audio(self, row: LedgerRow, model: str) -> None:
        self.audio_seconds.labels("received", model).inc(row.audio_seconds_received or 0.0)
        self.audio_seconds.labels("sent", model).inc(row.audio_seconds_sent or 0.0)
        if row.audio_saved_usd:
            self.audio_saved.labels(model).inc(row.audio_saved_usd)

    def _new_series(self, status: int, model: str, tier: str, provider: str | None) -> tuple[Any, ...]:
        """The labelled children one request touches, looked up once per label combination.

        ``labels()`` takes a lock and builds tuples on every call; label values come from
        configuration, so this cache stays as small as the series count.
        """
        series = (
            self.requests.labels(str(status), model, tier),
            self.tokens.labels("input", model),
            self.tokens.labels("output", model),
            self.tokens.labels("cached", model),
            self.cost.labels(model, tier),
            self.upstream_latency.labels(provider or "none"),
            self.ttft.labels(model),
        )
        self._series[(status, model, tier, provider)] = series
        return series

    def observe_rejection(self, reason: str) -> None:
        """A request refused by the gateway (auth, rate_limit, budget, screening, ...)."""
        self.rejections.labels(reason).inc()

    def observe_shortfall(self, model: str, tokens: int, usd: float) -> None:
        """A request used more than it reserved: the excess was charged, and is counted here."""
        if tokens > 0:
            self.reservation_shortfall.labels(model, "tokens").inc(tokens)
        if usd > 0:
            self.reservation_shortfall.labels(model, "usd").inc(usd)

    def set_breaker_state(self, deployment: str, state: str) -> None:
        """``state`` is closed, half_open or open."""
        self.breaker_state.labels(deployment).set(BREAKER_STATES.get(state, 0.0))

    def set_queue_depth(self, depth: int) -> None:
        self.queue_depth.set(depth)

    def observe_ledger_batch(self, rows: int, seconds: float) -> None:
        """Plug into ``Ledger(on_batch=metrics.observe_ledger_batch)``."""
        self.ledger_batch.observe(seconds)
        self.ledger_rows.inc(rows)

    def observe_side_call(self, purpose: str, model: str, usd: float) -> None:
        self.side_calls.labels(purpose, model).inc()
        if usd > 0:
            self.side_call_cost.labels(purpose, model).inc(usd)

    def observe_judge(self, purpose: str, verdict: str) -> None:
        self.judge_verdicts.labels(purpose, verdict).inc()

    def observe_contract(self, tier: str, outcome: str) -> None:
        self.output_contract.labels(tier, outcome).inc()

    def observe_alert(self, kind: str, severity: str) -> None:
        self.alerts.labels(kind, severity).inc()

    def render(self) -> tuple[bytes, str]:
        return render_metrics(self)


def render_metrics(metrics: Metrics | None = None) -> tuple[bytes, str]:
    """(body, content type) for ``GET /metrics``.

    In multiprocess mode the samples of every worker are merged from the shared directory;
    otherwise ``metrics``' own registry is rendered (the global default one when None).
    """
    path = multiprocess_dir()
    if path:
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry, path=path)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    if metrics is None:
        from prometheus_client import REGISTRY

        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    return generate_latest(metrics.registry), CONTENT_TYPE_LATEST


def mark_worker_dead(pid: int) -> None:
    """Call from the process manager when a worker exits (drops its live gauges)."""
    path = multiprocess_dir()
    if path:
        _multiprocess.mark_process_dead(pid, path)
