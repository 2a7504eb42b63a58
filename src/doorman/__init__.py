"""Doorman: a gateway for LLM APIs — as a server (``doorman serve``) or in-process (``Client``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from doorman.client.inprocess import Client, Reply, Stream, Transcription

__all__ = ["Client", "Reply", "Stream", "Transcription"]


def __getattr__(name: str) -> Any:
    # Imported on first use: the CLI and the server do not pay for the client's imports.
    if name in __all__:
        from doorman.client import inprocess

        return getattr(inprocess, name)
    raise AttributeError(f"module 'doorman' has no attribute {name!r}")
