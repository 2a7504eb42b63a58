"""Whole SSE frames out of a relayed byte stream, for the wrappers that rewrite events.

The relay yields lines as they arrive, so one event may span several chunks; a wrapper that
parses events needs them whole. Shared by output screening and tool-call approvals.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator


async def sse_frames(stream: AsyncIterator[bytes]) -> AsyncGenerator[tuple[bytes, bool], None]:
    """``(frame, complete)``: each frame ends with its blank line; an unterminated rest comes
    last with ``complete=False``. ``stream`` is closed however this generator ends (close it
    with ``contextlib.aclosing`` when leaving early), so the relay settles in its ``finally``."""
    buffer = b""
    try:
        async for chunk in stream:
            buffer += chunk
            while b"\n\n" in buffer:
                frame, buffer = buffer.split(b"\n\n", 1)
                yield frame + b"\n\n", True
        if buffer:
            yield buffer, False
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
