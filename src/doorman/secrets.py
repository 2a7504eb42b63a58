"""Reading secrets: environment, ``NAME_FILE`` secret files, or ``.env`` — never the YAML.

A module of its own (no imports from the rest of Doorman) so every package can read a secret
without import cycles.
"""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import dotenv_values


def read_secret(name: str) -> str | None:
    """A secret from the environment, a ``NAME_FILE`` secret file, or ``.env`` — in that order."""
    value = os.environ.get(name)
    if value:
        return value
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text(encoding="utf-8").strip() or None
        except OSError:
            return None
    dotenv = _dotenv()
    return dotenv.get(name) or None


_DOTENV_CACHE: dict[str, dict[str, str]] = {}


def _dotenv() -> dict[str, str]:
    cwd = os.getcwd()
    if cwd not in _DOTENV_CACHE:
        path = Path(cwd) / ".env"
        values = dotenv_values(path) if path.is_file() else {}
        _DOTENV_CACHE[cwd] = {k: v for k, v in values.items() if v is not None}
    return _DOTENV_CACHE[cwd]
