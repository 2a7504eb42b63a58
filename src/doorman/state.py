"""Where Doorman keeps the state it generates (the pepper, a new master key's one-time file).

One rule for ``serve`` and every CLI command, whatever the working directory:

1. ``DOORMAN_STATE_DIR`` (environment, ``_FILE`` or ``.env``);
2. ``state_dir`` in the config (relative paths are relative to the config file);
3. next to a SQLite database file: ``<its directory>/.doorman``;
4. otherwise next to the config file: ``<config directory>/.doorman`` (set at load time), or
   ``./.doorman`` when there is no config file.

A module of its own (imports only settings) so the auth, server and CLI packages share it.
"""

from __future__ import annotations

from pathlib import Path

from doorman.config import Settings
from doorman.secrets import read_secret

STATE_DIR_ENV = "DOORMAN_STATE_DIR"
STATE_DIR_NAME = ".doorman"
SQLITE_PREFIX = "sqlite+aiosqlite:///"


def sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    if not database_url.startswith(SQLITE_PREFIX):
        return None
    path = database_url[len(SQLITE_PREFIX) :].split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path)


def state_dir(settings: Settings) -> Path:
    """The directory of the pepper and other generated state (not created here)."""
    from_env = read_secret(STATE_DIR_ENV)
    if from_env:
        return Path(from_env).expanduser()
    if settings.state_dir:
        return Path(settings.state_dir).expanduser()
    db_file = sqlite_file(settings.database_url)
    if db_file is not None:
        return db_file.parent / STATE_DIR_NAME
    return Path(STATE_DIR_NAME)


def anchor_paths(data: dict[str, object], base_dir: Path) -> None:
    """Make the file's relative paths relative to the config file, not the working directory.

    Applies to a SQLite ``database_url`` (also the default ``./doorman.db``) and ``state_dir``;
    with neither a SQLite file nor ``state_dir``, state lives in ``<config dir>/.doorman``.
    """
    base_dir = base_dir.resolve()
    url = data.get("database_url")
    if url is None:
        url = f"{SQLITE_PREFIX}./doorman.db"
        data["database_url"] = url
    if isinstance(url, str):
        db_file = sqlite_file(url)
        if db_file is not None and not db_file.expanduser().is_absolute():
            rest = url[len(SQLITE_PREFIX) :]
            query = "?" + rest.split("?", 1)[1] if "?" in rest else ""
            data["database_url"] = f"{SQLITE_PREFIX}{(base_dir / db_file).resolve()}{query}"
    given = data.get("state_dir")
    if isinstance(given, str) and given and not Path(given).expanduser().is_absolute():
        data["state_dir"] = str((base_dir / given).resolve())
    elif given is None and sqlite_file(str(data["database_url"])) is None:
        data["state_dir"] = str(base_dir / STATE_DIR_NAME)
