"""An external sim process shared by the cache tests, so /sim/stats counts upstream calls."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from harness import Proc, start_sim


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    proc = start_sim(tmp_path_factory.mktemp("sim"))
    yield proc
    proc.stop()


@pytest.fixture
def upstream_calls(sim: Proc) -> Iterator[callable]:  # type: ignore[valid-type]
    """Resets the sim's counters; call the returned function for requests it has served."""
    httpx.post(f"{sim.url}/sim/reset")

    def calls() -> int:
        return int(httpx.get(f"{sim.url}/sim/stats").json()["requests"])

    yield calls
