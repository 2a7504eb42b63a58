"""Issue 19 items 2 and 3: one state location, and a master key that a failed start cannot lose.

The pepper lives next to the database (or in ``state_dir`` / ``DOORMAN_STATE_DIR``), found the
same way by ``serve`` and every CLI command whatever their working directory; the database
records the pepper's fingerprint, so a command with another pepper stops instead of minting
keys nobody accepts. A generated master key goes to a 0600 file whose path is printed, and to
the terminal only when there is one. Real processes throughout.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
from pathlib import Path

import httpx
import yaml

from harness import DOORMAN, run_cli, start_serve
from services import free_port

NO_PEPPER = {"DOORMAN_PEPPER": ""}  # empty = unset: the pepper file is used


def _config(directory: Path, port: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "doorman.yaml"
    # A relative database path: relative to the config file, not to the working directory.
    path.write_text(yaml.safe_dump({"database_url": "sqlite+aiosqlite:///./doorman.db",
                                    "server": {"port": port}}))  # fmt: skip
    return path


def _create_key(cwd: Path, config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cwd.mkdir(parents=True, exist_ok=True)
    return run_cli(cwd, "keys", "create", "--user", "alice", "--tier", "pro", "--json",
                   "--config", str(config), env=env, check=False)  # fmt: skip


def test_cli_and_serve_share_the_pepper_from_any_directory(tmp_path: Path) -> None:
    port = free_port()
    config = _config(tmp_path / "conf", port)
    made = _create_key(tmp_path / "elsewhere", config, NO_PEPPER)
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)["key"]
    pepper = tmp_path / "conf" / ".doorman" / "pepper"
    assert pepper.exists() and stat.S_IMODE(pepper.stat().st_mode) == 0o600
    assert (tmp_path / "conf" / "doorman.db").exists()
    assert not (tmp_path / "elsewhere" / ".doorman").exists()
    assert not (tmp_path / "elsewhere" / "doorman.db").exists()

    # Another pepper, or a state directory without one: a clear error, no key minted.
    wrong = _create_key(tmp_path / "elsewhere", config, {"DOORMAN_PEPPER": "not-the-same-pepper"})
    assert wrong.returncode == 2
    assert "is not the one this database's API keys were made with" in wrong.stderr
    empty = tmp_path / "empty-state"
    missing = _create_key(tmp_path, config, {**NO_PEPPER, "DOORMAN_STATE_DIR": str(empty)})
    assert missing.returncode == 2 and f"no pepper at {empty}" in missing.stderr
    assert not (empty / "pepper").exists()
    listed = run_cli(tmp_path, "keys", "list", "--json", "--config", str(config), env=NO_PEPPER)
    assert len(json.loads(listed.stdout)) == 1

    # serve, started from a third directory, accepts the key made elsewhere.
    third = tmp_path / "third"
    third.mkdir()
    proc = start_serve(third, port, "--config", str(config), env=NO_PEPPER)
    try:
        r = httpx.post(
            f"{proc.url}/v1/chat/completions",
            json={"model": "sim-small", "messages": [{"role": "user", "content": "hi"}]},
            headers={"authorization": f"Bearer {key}"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
    finally:
        proc.stop()


def test_a_failed_start_keeps_the_new_master_key_in_a_private_file(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DOORMAN_MASTER_KEY"}
    env["DOORMAN_PEPPER"] = "master-test-pepper-0123456789abcdef"
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = _config(tmp_path / "conf", port)
        failed = subprocess.run(
            [DOORMAN, "serve", "--config", str(config)],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert "dm-master-" not in output  # not a terminal: the key is never printed
    key_file = tmp_path / "conf" / ".doorman" / "master-key"
    assert f"It is in {key_file} (mode 0600)" in output
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    master = key_file.read_text().strip().split("=", 1)[1]
    assert master.startswith("dm-master-")

    # The next start uses the stored hash: the key from the file opens the admin API.
    port = free_port()
    config = _config(tmp_path / "conf", port)
    log_env = {"DOORMAN_PEPPER": env["DOORMAN_PEPPER"]}
    proc = start_serve(
        tmp_path, port, "--config", str(config), env=log_env | {"DOORMAN_MASTER_KEY": ""}
    )
    try:
        ok = httpx.get(f"{proc.url}/admin/keys", headers={"authorization": f"Bearer {master}"})
        assert ok.status_code == 200, ok.text
        assert "generated a master key" not in proc.log()
    finally:
        proc.stop()
