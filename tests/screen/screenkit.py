"""Helpers shared by the screening tests."""

from __future__ import annotations

from typing import Any


def user(text: str) -> dict[str, Any]:
    """An OpenAI chat body with one user message."""
    return {"model": "sim-small", "messages": [{"role": "user", "content": text}]}
