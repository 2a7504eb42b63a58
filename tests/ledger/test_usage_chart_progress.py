"""``doorman usage --chart`` and the progress bars of long commands (shown on a terminal only)."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from doorman.ledger.cli import export, ledger_app, prune, usage

sys.path.insert(0, str(Path(__file__).parent))
from seed import seeded_config

DOORMAN = str(Path(sys.executable).parent / "doorman")


def make_app() -> typer.Typer:
    app = typer.Typer()
    app.command("usage")(usage)
    app.add_typer(ledger_app, name="ledger")
    return app


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """SQLite seeded with: today 0.70 USD (4 requests), two days ago 0.40 USD, 40 days ago 5."""
    return seeded_config(f"sqlite+aiosqlite:///{tmp_path}/doorman.db", tmp_path)


def local_day(config: Path, days_ago: int) -> str:
    from doorman.config import load_settings

    zone = load_settings(config).zone
    return (datetime.now(UTC).astimezone(zone) - timedelta(days=days_ago)).date().isoformat()


def test_usage_chart_draws_one_bar_per_day_scaled_to_the_peak(config: Path) -> None:
    result = CliRunner().invoke(
        make_app(), ["usage", "--chart", "--days", "3", "--config", str(config)],
        env={"COLUMNS": "100"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    today, yesterday, before = (local_day(config, n) for n in (0, 1, 2))
    assert "0.7000" in lines[today] and "0.4000" in lines[before]
    assert "0.0000" in lines[yesterday]  # an empty day is drawn too, with no bar
    bar = {day: lines[day].count("█") for day in (today, yesterday, before)}
    assert bar[yesterday] == 0
    assert bar[today] == 40  # the peak fills the width
    assert bar[before] == pytest.approx(40 * 0.4 / 0.7, abs=1)
    assert "total 1.1000 USD over 3 days" in result.stdout
    assert f"peak 0.7000 on {today}" in result.stdout
    assert "Spend by" not in result.stdout  # only the chart


def test_usage_chart_excludes_json_and_csv(config: Path) -> None:
    result = CliRunner().invoke(make_app(), ["usage", "--chart", "--json", "--config", str(config)])
    assert result.exit_code == 2
    assert "choose one of --json, --csv and --chart" in result.output


def on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, command: Callable[[], None]
) -> tuple[str, bytes]:
    """Run a command in-process with stderr on a pseudo-terminal and stdout in a buffer."""
    master, slave = pty.openpty()
    terminal = os.fdopen(slave, "w", encoding="utf-8")
    out = io.StringIO()
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(sys, "stdout", out)
    try:
        command()
        terminal.flush()
    finally:
        monkeypatch.undo()
        terminal.close()
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 0)
        if not ready:
            break
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return out.getvalue(), b"".join(chunks)


def test_export_shows_progress_on_a_terminal_and_nothing_when_piped(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdout, terminal = on_a_terminal(
        monkeypatch, lambda: export(fmt="jsonl", days=None, user=None, config=config)
    )
    assert stdout.count("\n") == 7  # every row, and the data stream is untouched
    assert b"exporting ledger rows" in terminal and b"7/7" in terminal
    piped = subprocess.run(  # a real pipe, through the installed command
        (DOORMAN, "ledger", "export", "--config", str(config)), capture_output=True, check=True
    )
    assert piped.stdout.decode() == stdout
    assert piped.stderr == b""  # no bar, no control sequence in a pipe or a log


def test_prune_shows_progress_on_a_terminal_and_only_its_result_when_piped(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["ledger", "prune", "--older-than", "30d", "--yes", "--config", str(config)]
    piped = CliRunner().invoke(make_app(), args)
    assert piped.exit_code == 0
    lines = piped.output.splitlines()  # stdout and stderr: what goes, then the result
    assert lines[0].startswith("1 ledger row older than 30d, before ")
    assert lines[1:] == ["deleted 1 ledger row older than 30d"]
    _stdout, terminal = on_a_terminal(
        monkeypatch, lambda: prune(older_than="1d", dry_run=False, yes=True, config=config)
    )
    assert b"deleting ledger rows older than 1d" in terminal


async def test_redteam_reports_each_probe_to_its_progress_bar() -> None:
    from doorman.screen.attacks import probes
    from doorman.screen.redteam import run_redteam

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400, json={"error": {"code": "prompt_injection_detected", "message": "no"}}
        )

    done: list[int] = []
    report = await run_redteam(
        "http://gateway.test", "dm-test", transport=httpx.MockTransport(answer),
        on_result=lambda: done.append(1),
    )  # fmt: skip
    assert len(done) == len(report.outcomes) == len(probes())
