"""A gateway with traffic for the console tests, and headless Chromium from Debian's packages.

The browser is the system one (``apt-get install chromium``); Playwright only drives it and
never downloads one. Without /usr/bin/chromium the browser tests skip (fail under
DOORMAN_REQUIRE_SERVICES=1, as in CI).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness import Gateway, start_gateway

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CONSOLE_CONFIG: dict[str, Any] = {
    # "flaky" lives on a port nobody listens on: its breaker opens and sim-small stands in.
    "providers": {
        "sim": {"kind": "sim"},
        "dead": {"kind": "openai", "base_url": "http://127.0.0.1:9/v1", "connect_timeout_s": 1},
    },
    "models": {
        "sim-small": {"provider": "sim", "price": {"input": 0.15, "output": 0.60}},
        "sim-large": {"provider": "sim", "price": {"input": 2.5, "output": 10.0}},
        "flaky": {
            "provider": "dead",
            "price": {"input": 1.0, "output": 1.0},
            "fallbacks": ["sim-small"],
        },
    },
    "reliability": {"breaker": {"consecutive_failures": 2, "cooldown_s": 600}},
    "tiers": {
        "pro": {"requests_per_minute": 1000, "daily_budget_usd": 0.01, "monthly_budget_usd": 1.0},
        "free": {"requests_per_minute": 1000, "daily_budget_usd": 0.001},
        "agents": {"requests_per_minute": 1000, "tools": {"require_approval": ["send_*"]}},
    },
}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gw = start_gateway(Path(tmp_path_factory.mktemp("console-gw")), CONSOLE_CONFIG)
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("DOORMAN_REQUIRE_SERVICES"):
            pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
