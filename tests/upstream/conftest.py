"""Fixtures for the reliability tests."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from reliability_clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
