"""One screener for the whole package: loading the artifact is the slow part."""

from __future__ import annotations

import pytest

from doorman.screen import InputScreener, ScreeningSettings


@pytest.fixture(scope="session")
def screener() -> InputScreener:
    return InputScreener(ScreeningSettings())
