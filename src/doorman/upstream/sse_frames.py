"""Whole SSE frames out of a relayed byte stream, for the wrappers that rewrite events.

The relay yields lines as they arrive, so one event may span several chunks; a wrapper that
parses events needs them whole. Frames come in batches, one per upstream read, so a wrapper can
answer each read with one write (a write per event costs the server a send per token).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator


async def sse_batches(
    stream: AsyncIterator[bytes],
) -> AsyncGenerator[tuple[list[bytes], bool], None]:
    """``(frames, complete)`` per read of ``stream``: the frames it completed, each ending with
    its blank line (maybe none); an unterminated rest comes last, alone, with ``complete=False``.

    ``stream`` is closed however this generator ends (close it with ``contextlib.aclosing``
    when leaving early), so the relay settles in its own ``finally``.
    """
    buffer = b""
    try:
        async for chunk in stream:
            buffer += chunk
            frames: list[bytes] = []
            start = 0
            end = buffer.find(b"\n\n")
            while end >= 0:
                frames.append(buffer[start : end + 2])
                start = end + 2
                end = buffer.find(b"\n\n", start)
            buffer = buffer[start:]
            yield frames, True
        if buffer:
            yield [buffer], False
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
