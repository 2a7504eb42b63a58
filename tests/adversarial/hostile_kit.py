"""Helpers for the hostile-caller tests (test_hostile_*): each test tries to break a
guarantee the way an outside attacker would, against a real ``doorman serve`` process.

``zero_config`` is the gateway a first-time user starts: ``doorman serve`` in an empty directory
(SQLite, in-process limits, the built-in simulator). Modules import the fixture to share one.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from harness import MASTER_KEY, Proc, start_serve
from services import free_port


@pytest.fixture(scope="module")
def zero_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    workdir = tmp_path_factory.mktemp("zero-config")
    port = free_port()
    proc = start_serve(workdir, port, "--port", str(port))
    yield proc
    proc.stop()


def new_key(proc: Proc, user: str = "alice", tier: str = "pro") -> str:
    """A fresh API key, minted through the admin API (faster than a CLI process)."""
    r = httpx.post(
        f"{proc.url}/admin/keys",
        json={"user": user, "tier": tier},
        headers={"authorization": f"Bearer {MASTER_KEY}"},
    )
    r.raise_for_status()
    return str(r.json()["key"])
