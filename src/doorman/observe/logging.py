"""Structured JSON logs via structlog: one line per request, never a body or a secret."""

from __future__ import annotations

import logging
import sys

import orjson
import structlog

from doorman.observe.request_log import use_fast_request_log


def configure_logging(level: str = "info", *, json: bool = True) -> None:
    """Route structlog (and stdlib logging) to stderr as JSON lines."""
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    logging.basicConfig(stream=sys.stderr, level=numeric, format="%(message)s", force=True)
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(
            serializer=lambda o, **kw: orjson.dumps(o, default=str).decode()
        )
        if json
        else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    # The per-request line skips the processor chain (same JSON, written in batches).
    use_fast_request_log(json and numeric <= logging.INFO)
