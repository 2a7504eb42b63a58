"""The server pepper: the key of every keyed hash (API keys) and signing-secret derivation.

Order: ``DOORMAN_PEPPER`` (env, ``DOORMAN_PEPPER_FILE`` or ``.env``); otherwise the file
``pepper`` in the state directory (:mod:`doorman.state`: next to the SQLite database, or the
config's ``state_dir`` / ``DOORMAN_STATE_DIR``), created on first use with mode 0600.
Losing or changing the pepper invalidates every API key and signing secret, so the database
records a fingerprint of the pepper its keys were made with (:func:`pepper_for`): a process
running with another pepper stops with a clear error instead of minting keys nobody accepts.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from doorman.db.models import ServerSetting
from doorman.secrets import read_secret

PEPPER_ENV = "DOORMAN_PEPPER"
PEPPER_FILE_NAME = "pepper"
DEFAULT_PEPPER_FILE = Path(".doorman") / PEPPER_FILE_NAME
FINGERPRINT_SETTING = "pepper_fingerprint"


class PepperMismatch(Exception):
    """This process's pepper is not the one the database's keys were made with."""


def load_pepper(path: Path | None = None) -> bytes:
    """The pepper from the environment, else from ``path`` (created when missing)."""
    value = read_secret(PEPPER_ENV)
    if value:
        return value.encode("utf-8")
    return _file_pepper(path or DEFAULT_PEPPER_FILE)


def fingerprint(pepper: bytes) -> str:
    """Names a pepper without revealing it (a keyed hash of a fixed label)."""
    return hmac.new(pepper, b"doorman pepper fingerprint", hashlib.sha256).hexdigest()[:16]


async def pepper_for(engine: AsyncEngine, state_dir: Path) -> bytes:
    """The pepper to use with this database, checked against the fingerprint it records.

    A database without a fingerprint records this pepper's. A missing pepper file is created
    only for a database that has none yet: otherwise a command run with the wrong state
    directory would create a second pepper.
    """
    stored = await _stored_fingerprint(engine)
    path = state_dir / PEPPER_FILE_NAME
    from_env = read_secret(PEPPER_ENV)
    if from_env:
        pepper, source = from_env.encode("utf-8"), f"{PEPPER_ENV}"
    elif stored is not None and not path.exists():
        raise PepperMismatch(
            f"no pepper at {path}, but this database's API keys were made with one "
            f"(fingerprint {stored}). Run with the same pepper as `doorman serve`: the same "
            "--config (the pepper lives next to its SQLite file or in its state_dir), "
            "DOORMAN_STATE_DIR, or DOORMAN_PEPPER."
        )
    else:
        pepper, source = _file_pepper(path), str(path)
    mine = fingerprint(pepper)
    if stored is None:
        stored = await _record(engine, mine)
    if stored != mine:
        raise PepperMismatch(
            f"the pepper from {source} (fingerprint {mine}) is not the one this database's API "
            f"keys were made with (fingerprint {stored}); keys made or checked with it would "
            "never work. Use the pepper `doorman serve` uses (same --config / state_dir, "
            "DOORMAN_STATE_DIR or DOORMAN_PEPPER)."
        )
    return pepper


async def _stored_fingerprint(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        value = await conn.scalar(
            select(ServerSetting.value).where(ServerSetting.name == FINGERPRINT_SETTING)
        )
    return str(value) if value is not None else None


async def _record(engine: AsyncEngine, value: str) -> str:
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(ServerSetting).values(
                    name=FINGERPRINT_SETTING, value=value, updated_at=datetime.now(UTC)
                )
            )
    except IntegrityError:  # another process recorded one first: that one counts
        stored = await _stored_fingerprint(engine)
        assert stored is not None
        return stored
    return value


def _file_pepper(path: Path) -> bytes:
    with contextlib.suppress(FileNotFoundError):
        existing = path.read_text(encoding="utf-8").strip()
        if existing:
            return existing.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    candidate = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process won the race; use its pepper.
        return path.read_text(encoding="utf-8").strip().encode("utf-8")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(candidate + "\n")
    return candidate.encode("utf-8")
