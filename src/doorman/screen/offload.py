"""Screen large bodies away from the event loop, a bounded number at a time.

Screening is CPU work: about a millisecond for a prompt, but a megabyte of text takes a large
fraction of a second, and on the event loop that time is taken from every other caller. Bodies
of ``min_bytes`` or more go to a worker instead:

- ``auto`` (default): ``process`` under the ``doorman`` command, ``thread`` in a library (a
  spawned worker re-imports the main script, which a library user's script may not survive).
- ``process``: a pool of ``workers`` processes, each with its own screener, at a lower CPU
  priority than the gateway (``WORKER_NICENESS``). The loop is not touched while they work,
  and the CPU they may use is bounded by their number: a caller sending heavy bodies at its
  tier's full rate queues behind itself.
- ``thread``: a thread pool in this process. Simpler (no start-up, nothing to pickle) but the
  GIL is shared, so the loop still waits for it in slices of the switch interval.
- ``inline``: on the event loop, as before (small deployments, tests).

At most ``max_waiting`` large bodies wait for a worker; more are refused with 503
``screening_busy`` and a ``retry-after`` rather than queued without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import sys
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

from doorman.errors import ServiceUnavailable
from doorman.screen.settings import OffloadSettings, ScreeningSettings

if TYPE_CHECKING:
    from doorman.screen.screener import InputScreener, ScreenVerdict, Wire

_worker: InputScreener | None = None


PARENT_POLL_S = 1.0
WORKER_NICENESS = 10  # added to the gateway's: the event loop wins the CPU when both want it


def _exit_with_parent(parent: int) -> None:
    """A worker whose gateway died (SIGKILL, OOM) would wait on its task queue forever: the
    queue's pipe stays open in the worker itself. Poll the parent and leave with it."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os._exit(0)


def _init_worker(settings: dict[str, Any], parent: int) -> None:
    from doorman.screen.screener import InputScreener

    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)
    global _worker
    _worker = InputScreener(ScreeningSettings.model_validate(settings))


def _screen_in_worker(
    body: dict[str, Any], wire: Wire, overrides: dict[str, Any] | None
) -> ScreenVerdict:
    assert _worker is not None
    verdict = _worker.evaluate(body, wire, overrides)
    if verdict.body is body:
        verdict.body = {}  # unchanged: do not ship the body back; the caller has it
    return verdict


def _running_as_doorman() -> bool:
    """True under the ``doorman`` command (or ``python -m doorman``), whose main module is
    safe for a spawned worker to re-import; a library user's script may not be."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and str(spec.name).startswith("doorman"):
        return True
    return os.path.basename(str(getattr(main, "__file__", ""))) == "doorman"


def _noop() -> None:
    """Submitted once per worker by :meth:`Offload.warm` to make it start."""


class Offload:
    """Runs :meth:`InputScreener.evaluate` for large bodies on a bounded worker pool."""

    def __init__(self, screener: InputScreener, settings: OffloadSettings) -> None:
        self.screener = screener
        self.settings = settings
        self.mode = settings.mode
        if self.mode == "auto":
            self.mode = "process" if _running_as_doorman() else "thread"
        self._executor: Executor | None = None
        self._lock = threading.Lock()
        self._waiting = 0

    def wanted(self, size: int) -> bool:
        return self.mode != "inline" and size >= self.settings.min_bytes

    def _pool(self) -> Executor:
        with self._lock:
            if self._executor is None:
                if self.mode == "process":
                    # spawn: a fork would copy the server's event loop, sockets and threads
                    self._executor = ProcessPoolExecutor(
                        max_workers=self.settings.workers,
                        mp_context=multiprocessing.get_context("spawn"),
                        initializer=_init_worker,
                        initargs=(self.screener.settings.model_dump(mode="json"), os.getpid()),
                    )
                else:
                    self._executor = ThreadPoolExecutor(
                        max_workers=self.settings.workers, thread_name_prefix="doorman-screen"
                    )
            return self._executor

    async def evaluate(
        self, body: dict[str, Any], wire: Wire, overrides: dict[str, Any] | None
    ) -> ScreenVerdict:
        if self._waiting >= self.settings.max_waiting:
            raise ServiceUnavailable(
                "Too many large requests are waiting for input screening; retry shortly.",
                code="screening_busy",
                headers={"retry-after": "1"},
            )
        self._waiting += 1
        loop = asyncio.get_running_loop()
        try:
            pool = self._pool()
            if self.mode == "process":
                verdict = await loop.run_in_executor(pool, _screen_in_worker, body, wire, overrides)
                if not verdict.body:
                    verdict.body = body
                return verdict
            return await loop.run_in_executor(pool, self.screener.evaluate, body, wire, overrides)
        except BrokenProcessPool:
            with self._lock:
                self._executor = None  # a worker died: start a fresh pool next time
            raise
        finally:
            self._waiting -= 1

    def warm(self) -> None:
        """Start the worker processes now, so the first large body does not wait for one to
        start and load the classifier (seconds on a busy machine)."""
        if self.mode == "process":
            pool = self._pool()
            for _ in range(self.settings.workers):
                pool.submit(_noop)

    def close(self) -> None:
        """Stop the workers and wait for them (blocking: call it from a thread)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
