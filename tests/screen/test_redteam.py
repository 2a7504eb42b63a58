"""The red-team command against a stand-in gateway that screens with InputScreener."""

from __future__ import annotations

import json

import httpx
import typer
from typer.testing import CliRunner

from doorman.screen import InputScreener
from doorman.screen import redteam as redteam_module
from doorman.screen.attacks import BENIGN, probes
from doorman.screen.redteam import redteam, run_redteam


def gateway(screener: InputScreener) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer k-test"
        assert request.url.path == "/v1/chat/completions"
        verdict = screener.screen_chat(json.loads(request.content), "openai")
        if verdict.blocked and verdict.error is not None:
            return httpx.Response(verdict.error.status_code, json=verdict.error.body("openai"))
        headers = {"x-doorman-screening": verdict.header_value} if verdict.flags else {}
        return httpx.Response(200, json={"choices": []}, headers=headers)

    return httpx.MockTransport(handle)


async def test_block_rate_per_family(screener: InputScreener) -> None:
    report = await run_redteam(
        "http://gw.test", "k-test", transport=gateway(screener), concurrency=8
    )
    assert len(report.outcomes) == len(probes())
    assert {"direct", "obfuscated", "role-play jailbreak", BENIGN} <= set(report.families())
    direct = report.rows("direct")
    assert sum(o.blocked for o in direct) / len(direct) >= 0.9
    # indirect content is flagged (default policy), not blocked
    assert all(o.flagged and not o.blocked for o in report.rows("indirect (tool result)"))
    assert report.false_positives() == []


def test_command_prints_table(screener: InputScreener, monkeypatch: object) -> None:
    real = redteam_module.run_redteam

    async def patched(*args: object, **kwargs: object) -> redteam_module.Report:
        kwargs["transport"] = gateway(screener)
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(redteam_module, "run_redteam", patched)  # type: ignore[attr-defined]
    app = typer.Typer()
    app.command("redteam")(redteam)
    app.command("noop")(lambda: None)
    result = CliRunner().invoke(
        app, ["redteam", "--target", "http://gw.test/v1", "--key", "k-test"]
    )
    assert result.exit_code == 0, result.output
    assert "block rate" in result.output
    assert "No false positives" in result.output
