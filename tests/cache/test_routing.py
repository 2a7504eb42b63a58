"""Model routing: a virtual model picks the served model by task, size, tools, images, tier."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from cachekit import ledger, new_key
from typer.testing import CliRunner

import doorman
from doorman.cli import app
from doorman.config import ConfigError, parse_settings
from harness import Proc, sim_config

ROUTES = {
    "auto": [
        {"when": {"task": ["summarize", "classify"]}, "model": "sim-small"},
        {"when": {"min_input_tokens": 200}, "model": "sim-large"},
        {"when": {"tools": True}, "model": "sim-large"},
        {"when": {"images": True}, "model": "sim-large"},
        {"when": {"tier": ["vip"]}, "model": "sim-large"},
        {"model": "sim-small"},
    ]
}


def routed_config(sim: Proc, tmp_path: Path) -> dict[str, Any]:
    config = sim_config(sim, pro={"requests_per_minute": 1000},
                        vip={"requests_per_minute": 1000})  # fmt: skip
    config["routes"] = ROUTES
    config["database_url"] = f"sqlite+aiosqlite:///{tmp_path}/doorman.db"
    return config


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOORMAN_PEPPER", "cache-test-pepper-0123456789abcdef")
    monkeypatch.setenv("DOORMAN_MASTER_KEY", "dm-master-cache-test-" + "x" * 24)


async def test_rules_pick_the_served_model_and_the_ledger_keeps_both(
    sim: Proc, tmp_path: Path, upstream_calls: Callable[[], int]
) -> None:
    settings = parse_settings(routed_config(sim, tmp_path))
    key = await new_key(settings, "router", "pro")
    vip = await new_key(settings, "vip-user", "vip")
    short = [{"role": "user", "content": "Hello there."}]
    long = [{"role": "user", "content": " ".join(f"Row {i} of the table lists a city." for i in range(40))}]
    image = [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]}]  # fmt: skip
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    async with doorman.Client(api_key=key, config=settings) as dm:
        async def served(messages: list[dict[str, Any]], **params: Any) -> str:
            reply = await dm.chat(model="auto", messages=messages, max_tokens=3, **params)
            assert reply.served_by == reply.headers["x-doorman-routed-to"]
            return reply.headers["x-doorman-routed-to"]

        assert await served(long, task="summarize") == "sim-small"  # first rule wins
        assert await served(long) == "sim-large"
        assert await served(short, tools=tools) == "sim-large"
        assert await served(image) == "sim-large"
        assert await served(short, metadata={"task": "classify"}) == "sim-small"
        assert await served(short) == "sim-small"  # the default
        plain = await dm.chat(model="sim-large", messages=short, max_tokens=3)
        assert "x-doorman-routed-to" not in plain.headers
    async with doorman.Client(api_key=vip, config=settings) as dm:
        reply = await dm.chat(model="auto", messages=short, max_tokens=3)
        assert reply.headers["x-doorman-routed-to"] == "sim-large"
    rows = await ledger(settings)
    routed = [(r["requested_model"], r["served_model"]) for r in rows if r["requested_model"] == "auto"]
    assert routed.count(("auto", "sim-large")) == 4 and routed.count(("auto", "sim-small")) == 3


def test_check_config_rejects_unknown_targets_and_unreachable_rules(sim: Proc, tmp_path: Path) -> None:
    config = routed_config(sim, tmp_path)
    config["routes"] = {
        "auto": [{"when": {"tools": True}, "model": "gpt-nope"}, {"model": "sim-small"},
                 {"when": {"task": ["x"]}, "model": "sim-large"}],
        "cheap": [{"when": {"task": ["y"]}, "model": "sim-small"}],
        "sim-small": [{"model": "sim-large"}],
    }  # fmt: skip
    with pytest.raises(ConfigError) as exc:
        parse_settings(config)
    problems = "\n".join(exc.value.problems)
    assert "routes.auto.0.model: unknown model 'gpt-nope'" in problems
    assert "routes.auto.2: can never match" in problems
    assert "routes.cheap: the last rule must be a default" in problems
    assert "routes.sim-small: 'sim-small' is already a model or alias" in problems
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(app, ["check-config", str(path)])
    assert result.exit_code == 2
    assert "unknown model 'gpt-nope'" in result.output and "can never match" in result.output
