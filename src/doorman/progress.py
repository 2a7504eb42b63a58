"""Progress bars for long command-line operations (ledger export and prune, red team).

Drawn with rich on standard error, and only when standard error is a terminal: redirected or
piped output (``doorman ledger export > rows.jsonl``, CI logs, ``2>&1 | less``) never gets a
control sequence or a half-drawn bar. The bar is transient: it disappears when the work ends,
leaving only what the command prints.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

Advance = Callable[..., None]


def _ignore(steps: int = 1) -> None:
    return None


def interactive(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


@contextmanager
def progress(
    description: str, total: int | None = None, *, stream: TextIO | None = None
) -> Iterator[Advance]:
    """Yields ``advance(steps=1)``; ``total=None`` draws a spinner with the elapsed time."""
    out = stream if stream is not None else sys.stderr
    if not interactive(out):
        yield _ignore
        return
    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn()]
    columns.append(TimeElapsedColumn())
    with Progress(*columns, console=Console(file=out), transient=True) as bar:
        task = bar.add_task(description, total=total)

        def advance(steps: int = 1) -> None:
            bar.advance(task, steps)

        yield advance
