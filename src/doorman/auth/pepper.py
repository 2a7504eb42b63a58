"""The server pepper: the key of every keyed hash (API keys) and signing-secret derivation.

Order: ``DOORMAN_PEPPER`` (env, ``DOORMAN_PEPPER_FILE`` or ``.env``); otherwise a file
``./.doorman/pepper`` created on first use with mode 0600 — zero configuration for one machine.
Losing or changing the pepper invalidates every API key and signing secret.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from doorman.secrets import read_secret

PEPPER_ENV = "DOORMAN_PEPPER"
DEFAULT_PEPPER_FILE = Path(".doorman") / "pepper"


def load_pepper(path: Path | None = None) -> bytes:
    value = read_secret(PEPPER_ENV)
    if value:
        return value.encode("utf-8")
    return _file_pepper(path or DEFAULT_PEPPER_FILE)


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
