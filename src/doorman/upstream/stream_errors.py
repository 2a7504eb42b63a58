"""Error events inside an upstream stream, scrubbed before they are relayed.

A provider that fails mid-stream sends an error event (OpenAI ``data: {"error": {...}}``,
Anthropic ``event: error`` + ``data: {"type": "error", "error": {...}}``) after the client already
got its 200. Its message can echo the provider key or a credential from the prompt, like any
upstream error; non-stream errors are scrubbed in dispatch, and these the same way.
"""

from __future__ import annotations

from typing import Any

import orjson

from doorman.upstream.dispatch import UpstreamReply, scrub_secrets


def scrub_error_data(data: bytes, reply: UpstreamReply) -> bytes:
    """The ``data:`` payload of one SSE event, with secrets removed when it is an error."""
    if b'"error"' not in data:  # the hot path: ordinary deltas are left untouched
        return data
    try:
        event: Any = orjson.loads(data)
    except orjson.JSONDecodeError:
        return scrub_secrets(data.decode("utf-8", "replace"), _secrets(reply)).encode()
    err = event.get("error") if isinstance(event, dict) else None
    if not isinstance(err, dict):
        return data
    secrets = _secrets(reply)
    for field in ("message", "param", "code", "type"):
        if isinstance(err.get(field), str):
            err[field] = scrub_secrets(err[field], secrets)
    return orjson.dumps(event)


def _secrets(reply: UpstreamReply) -> tuple[str | None, ...]:
    return (reply.deployment.provider_settings.api_key(),)
