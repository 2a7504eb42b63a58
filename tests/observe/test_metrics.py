"""Prometheus exposition: names, labels, and merging across worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from doorman.ledger.row import LedgerRow
from doorman.observe.metrics import Metrics, render_metrics

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def value(s: Samples, name: str, **labels: str) -> float:
    return s[(name, tuple(sorted(labels.items())))]


def samples(body: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_one_call_per_request_fills_the_standard_series() -> None:
    m = Metrics()
    row = LedgerRow(
        request_id="r1", tier="pro", served_model="sim-small", provider="sim",
        input_tokens=100, output_tokens=40, cached_tokens=10, cost_usd=0.25,
        latency_ms=130.0, upstream_ms=120.0, ttft_ms=45.0, status=200,
    )  # fmt: skip
    m.observe_request(row)
    m.observe_request(LedgerRow(request_id="r2", tier="pro", status=429, latency_ms=1.0))
    m.observe_rejection("rate_limit")
    m.set_breaker_state("sim/sim-small", "open")
    m.set_queue_depth(3)
    m.observe_ledger_batch(50, 0.004)
    body, ctype = m.render()
    assert ctype.startswith("text/plain")
    s = samples(body)
    assert value(s, "doorman_requests_total", model="sim-small", status="200", tier="pro") == 1
    assert value(s, "doorman_requests_total", model="none", status="429", tier="pro") == 1
    assert s[("doorman_tokens_total", (("direction", "input"), ("model", "sim-small")))] == 100
    assert s[("doorman_tokens_total", (("direction", "output"), ("model", "sim-small")))] == 40
    assert s[("doorman_cost_usd_total", (("model", "sim-small"), ("tier", "pro")))] == 0.25
    assert s[("doorman_gateway_latency_seconds_count", ())] == 2
    # 10 ms added by the gateway to the first, 1 ms to the second (buckets are cumulative)
    assert s[("doorman_gateway_latency_seconds_bucket", (("le", "0.005"),))] == 1
    assert s[("doorman_gateway_latency_seconds_bucket", (("le", "0.01"),))] == 2
    assert s[("doorman_upstream_latency_seconds_sum", (("provider", "sim"),))] == 0.12
    assert s[("doorman_time_to_first_token_seconds_count", (("model", "sim-small"),))] == 1
    assert s[("doorman_rejections_total", (("reason", "rate_limit"),))] == 1
    assert s[("doorman_breaker_state", (("deployment", "sim/sim-small"),))] == 2
    assert s[("doorman_queue_depth", ())] == 3
    assert s[("doorman_ledger_batch_seconds_count", ())] == 1
    assert s[("doorman_ledger_rows_total", ())] == 50


def test_two_instances_do_not_collide() -> None:
    a, b = Metrics(), Metrics()
    a.observe_rejection("auth")
    assert b"doorman_rejections_total" not in b.render()[0].split(b"# TYPE")[0]
    assert samples(b.render()[0]).get(("doorman_rejections_total", (("reason", "auth"),))) is None


WORKER = textwrap.dedent(
    """
    from doorman.ledger.row import LedgerRow
    from doorman.observe.metrics import Metrics
    m = Metrics()
    for _ in range(3):
        m.observe_request(LedgerRow(request_id="x", tier="free", served_model="sim-small",
                                    input_tokens=5, cost_usd=0.5, latency_ms=2.0))
    m.set_queue_depth(2)
    """
)


def test_several_workers_are_summed_in_multiprocess_mode(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):  # two worker processes
        subprocess.run([sys.executable, "-c", WORKER], env=env, check=True, timeout=60)
    render = "from doorman.observe.metrics import render_metrics; import sys; " \
        "sys.stdout.buffer.write(render_metrics()[0])"  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", render], env=env, check=True, capture_output=True, timeout=60
    ).stdout
    s = samples(out)
    assert value(s, "doorman_requests_total", model="sim-small", status="200", tier="free") == 6
    assert s[("doorman_cost_usd_total", (("model", "sim-small"), ("tier", "free")))] == 3.0
    assert s[("doorman_gateway_latency_seconds_count", ())] == 6


def test_render_without_multiprocess_uses_given_registry() -> None:
    m = Metrics()
    m.observe_rejection("budget")
    body, _ = render_metrics(m)
    assert b'doorman_rejections_total{reason="budget"} 1.0' in body


def test_transcriptions_count_audio_seconds_received_and_sent() -> None:
    m = Metrics()
    m.observe_request(LedgerRow(
        request_id="a1", tier="free", requested_model="whisper", served_model="whisper",
        status=200, audio_seconds_received=20.0, audio_seconds_sent=5.2, audio_saved_usd=0.00148,
    ))  # fmt: skip
    m.observe_request(LedgerRow(request_id="c1", tier="free", served_model="sim-small", status=200))
    body, _ = m.render()
    s = samples(body)
    assert value(s, "doorman_audio_seconds_total", direction="received", model="whisper") == 20.0
    assert value(s, "doorman_audio_seconds_total", direction="sent", model="whisper") == 5.2
    assert value(s, "doorman_audio_trim_saved_usd_total", model="whisper") == 0.00148
    assert not any(k[0].startswith("doorman_audio") and ("model", "sim-small") in k[1] for k in s)
