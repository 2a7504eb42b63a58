"""Issue 19 item 8: replicas that migrate a fresh PostgreSQL database at the same moment all
come up.

The lock that serialises them must be held until the migration's transaction commits; with a
pause injected between the last migration and the commit, a lock released too early lets the
next replica run migration 0001 again ("relation users already exists").
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from sqlalchemy.engine import Connection

import doorman.db.migrate as migrate
from doorman.db.migrate import current_revision_async, head_revision, upgrade_async

REPLICAS = 4


def test_replicas_migrating_at_once_all_come_up(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_upgrade = migrate._upgrade_sync

    def slow_upgrade(connection: Connection, revision: str) -> None:
        real_upgrade(connection, revision)
        time.sleep(0.5)  # after the migration, before its transaction commits

    monkeypatch.setattr(migrate, "_upgrade_sync", slow_upgrade)
    start = threading.Barrier(REPLICAS)
    errors: list[BaseException] = []

    def replica() -> None:
        start.wait()
        try:
            asyncio.run(upgrade_async(postgres_url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=replica) for _ in range(REPLICAS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert asyncio.run(current_revision_async(postgres_url)) == head_revision()
