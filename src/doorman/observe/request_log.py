"""The one ``request`` log line per request: rendered directly and written in batches.

Why not through structlog like every other line: its processor chain (context variables,
level, ISO timestamp, exception formatting, the JSON renderer, a ``print``) cost 20-35 us per
request -- a tenth of a cache hit -- and every line was its own ``write(2)``. The line written
here is the same JSON object, with the same keys in the same order (bound context variables,
the fields, then ``event``, ``level`` and ``timestamp``), so anything reading the log sees no
difference; lines queued during one turn of the event loop go out in one write at its end.

It only takes over once :func:`doorman.observe.logging.configure_logging` set JSON logs to
stderr at ``info`` or below (``doorman serve``); otherwise (a library embedding
``doorman.Client`` with its own structlog set-up, console logs, a higher level) the line goes
through structlog as before.
"""

from __future__ import annotations

import asyncio
import atexit
import sys
import time
from typing import IO, Any

import orjson
import structlog

_log = structlog.get_logger("doorman.request")


class RequestLog:
    """Renders request lines as JSON and writes each event-loop turn's lines at once."""

    def __init__(self) -> None:
        self.stream: IO[str] | None = None  # None: hand the line to structlog
        self._pending: list[bytes] = []
        self._scheduled = False
        self._second = -1
        self._stamp = ""

    def configure(self, stream: IO[str] | None) -> None:
        self.flush()
        self.stream = stream

    def emit(self, fields: dict[str, Any]) -> None:
        stream = self.stream
        if stream is None:
            _log.info("request", **fields)
            return
        context = structlog.contextvars.get_contextvars()
        event = {**context, **fields} if context else fields
        event["event"] = "request"
        event["level"] = "info"
        event["timestamp"] = self._timestamp()
        self._pending.append(orjson.dumps(event, default=str))
        if self._scheduled:
            return
        try:
            asyncio.get_running_loop().call_soon(self.flush)
            self._scheduled = True
        except RuntimeError:  # no event loop: write now
            self.flush()

    def flush(self) -> None:
        self._scheduled = False
        pending, self._pending = self._pending, []
        if pending and self.stream is not None:
            pending.append(b"")
            try:
                self.stream.write(b"\n".join(pending).decode())
                self.stream.flush()
            except (OSError, ValueError):  # stderr closed under us: nothing to report it to
                pass

    def _timestamp(self) -> str:
        """``TimeStamper(fmt="iso", utc=True)``'s format, with the seconds part reused."""
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._stamp}.{int((now - second) * 1_000_000):06d}Z"


REQUEST_LOG = RequestLog()
atexit.register(REQUEST_LOG.flush)


def use_fast_request_log(enabled: bool) -> None:
    """Called by ``configure_logging``: JSON at info or below goes through :data:`REQUEST_LOG`."""
    REQUEST_LOG.configure(sys.stderr if enabled else None)
