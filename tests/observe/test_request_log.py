"""The request line written by RequestLog is the line structlog wrote before, in batches."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from doorman.observe.logging import configure_logging
from doorman.observe.request_log import REQUEST_LOG, RequestLog

FIELDS: dict[str, Any] = {"request_id": "req_1", "key_id": "key_a", "status": 200,
                          "cost_usd": 0.00012, "flags": None, "cache": "hit"}  # fmt: skip


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """configure_logging is process-wide: put back what the other tests log through."""
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.configure(**saved)
    root.handlers[:] = handlers
    root.setLevel(level)
    REQUEST_LOG.configure(None)


def _structlog_line(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    configure_logging("info")
    REQUEST_LOG.configure(None)  # this once, through structlog's own chain
    structlog.get_logger("doorman.request").info("request", **FIELDS)
    return dict(json.loads(capsys.readouterr().err.strip().splitlines()[-1]))


async def test_same_keys_order_and_values_as_structlog(capsys: pytest.CaptureFixture[str]) -> None:
    expected = _structlog_line(capsys)
    out = io.StringIO()
    log = RequestLog()
    log.configure(out)
    with structlog.contextvars.bound_contextvars(request_id="req_1"):
        log.emit(dict(FIELDS))
    assert out.getvalue() == ""  # queued until the end of this turn of the loop
    await asyncio.sleep(0)
    line = json.loads(out.getvalue())
    assert list(line) == list(expected)
    stamp = line.pop("timestamp")
    expected.pop("timestamp")
    assert line == expected
    assert len(stamp) == len("2026-12-01T14:21:11.710829Z") and stamp.endswith("Z")


async def test_one_write_per_loop_turn_and_nothing_lost() -> None:
    writes: list[str] = []

    class Stream(io.StringIO):
        def write(self, text: str) -> int:
            writes.append(text)
            return len(text)

    log = RequestLog()
    log.configure(Stream())
    for i in range(50):
        log.emit({"request_id": f"r{i}"})
    await asyncio.sleep(0)
    log.emit({"request_id": "late"})
    log.flush()  # as at exit
    assert len(writes) == 2
    ids = [json.loads(x)["request_id"] for w in writes for x in w.splitlines()]
    assert ids == [f"r{i}" for i in range(50)] + ["late"]


def test_console_logs_or_a_higher_level_keep_structlog(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        configure_logging("warning")
        assert REQUEST_LOG.stream is None
        configure_logging("info", json=False)
        assert REQUEST_LOG.stream is None
        configure_logging("info")
        assert REQUEST_LOG.stream is not None
    finally:
        REQUEST_LOG.configure(None)
