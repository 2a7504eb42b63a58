"""Issue 19 item 4: ``doorman redteam`` does not report success when nothing ran.

Against a dead target or with a key the gateway refuses, every probe fails: the command says
so, prints no "No false positives.", and exits 1. Real sockets and a real gateway on a port.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from typer.testing import CliRunner

from doorman.cli import app
from doorman.config import parse_settings
from doorman.server.app import create_app
from services import free_port, wait_port

runner = CliRunner()


@pytest.fixture
def gateway_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A real gateway on a real port, served in-process (a CLI start is slow on a busy host)."""
    monkeypatch.setenv("DOORMAN_PEPPER", "redteam-test-pepper-0123456789abcdef")
    monkeypatch.setenv("DOORMAN_MASTER_KEY", "dm-master-redteam-test-" + "x" * 24)
    settings = parse_settings({"database_url": f"sqlite+aiosqlite:///{tmp_path}/d.db"})
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        assert wait_port("127.0.0.1", port, 60), "in-process gateway did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def _text(output: str) -> str:
    return " ".join(output.split())


def test_dead_target_exits_1_and_says_nothing_ran() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    result = runner.invoke(app, ["redteam", "--target", dead, "--key", "dm-x", "--timeout", "5"])
    assert result.exit_code == 1
    text = _text(result.output)
    assert "No probe ran" in text and "could not be reached" in text
    assert "No false positives" not in text
    assert "n/a" in text  # no made-up 0% rates


def test_refused_key_exits_1_and_names_the_cause(gateway_url: str) -> None:
    result = runner.invoke(app, ["redteam", "--target", gateway_url, "--key", "dm-not-a-real-key"])
    assert result.exit_code == 1
    text = _text(result.output)
    assert "No probe ran" in text and "the gateway refused the key (HTTP 401" in text
    assert "No false positives" not in text
