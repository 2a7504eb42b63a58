"""``doorman redteam``: attack a running gateway and report what it stopped.

Sends the probes of :mod:`doorman.screen.attacks` (direct injections, system-prompt extraction,
role-play jailbreaks, indirect injections in tool results and wrapped documents, obfuscated
variants) plus benign look-alikes to an OpenAI-compatible ``/v1/chat/completions`` and prints
the block rate per family and every false positive. A 400 whose error code is
``prompt_injection_detected`` counts as blocked; a screening header on a 2xx counts as flagged.

Wire-up (done in ``doorman.cli``): ``app.command("redteam")(redteam)``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from doorman.progress import progress
from doorman.screen.attacks import BENIGN, Probe, probes

BLOCK_CODE = "prompt_injection_detected"


@dataclass(slots=True)
class Outcome:
    probe: Probe
    status: int | None
    blocked: bool
    flagged: bool
    error: str | None = None


@dataclass(slots=True)
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def families(self) -> list[str]:
        seen: list[str] = []
        for outcome in self.outcomes:
            if outcome.probe.family not in seen:
                seen.append(outcome.probe.family)
        return seen

    def rows(self, family: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.probe.family == family]

    def failed(self) -> list[Outcome]:
        """Probes that got no verdict: unreachable target, refused key, upstream errors."""
        return [o for o in self.outcomes if o.error is not None]

    def false_positives(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.probe.is_attack and o.blocked]


def _error_code(response: httpx.Response) -> str | None:
    try:
        payload: Any = response.json()
    except ValueError:
        return None
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        code = payload["error"].get("code")
        return str(code) if code is not None else None
    return None


def _flagged(response: httpx.Response) -> bool:
    return any(
        name.startswith("x-doorman") and "injection" in value
        for name, value in response.headers.items()
    )


async def run_redteam(
    target: str,
    key: str,
    model: str = "sim-small",
    *,
    concurrency: int = 4,
    request_timeout: float = 30.0,
    transport: httpx.AsyncBaseTransport | None = None,
    on_result: Callable[[], None] | None = None,
) -> Report:
    """Send every probe; never raises for HTTP errors (they are reported per probe)."""
    url = target.rstrip("/")
    if not url.endswith("/chat/completions"):
        url += "/chat/completions" if url.endswith("/v1") else "/v1/chat/completions"
    limit = asyncio.Semaphore(max(1, concurrency))
    headers = {"authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(
        timeout=request_timeout, transport=transport, headers=headers
    ) as client:

        async def send(probe: Probe) -> Outcome:
            body = {"model": model, "messages": probe.messages, "max_tokens": 32}
            async with limit:
                try:
                    response = await client.post(url, json=body)
                except httpx.HTTPError as exc:
                    return Outcome(probe, None, False, False, type(exc).__name__)
            blocked = response.status_code == 400 and _error_code(response) == BLOCK_CODE
            error = None
            if not blocked and response.status_code >= 400:
                error = f"HTTP {response.status_code} {_error_code(response) or ''}".strip()
            return Outcome(probe, response.status_code, blocked, _flagged(response), error)

        async def send_and_count(probe: Probe) -> Outcome:
            outcome = await send(probe)
            if on_result is not None:
                on_result()
            return outcome

        outcomes = await asyncio.gather(*(send_and_count(p) for p in probes()))
    return Report(list(outcomes))


def render(report: Report, console: Console) -> None:
    table = Table(title="Doorman red team: prompt-injection screening")
    table.add_column("family")
    table.add_column("sent", justify="right")
    table.add_column("blocked", justify="right")
    table.add_column("flagged", justify="right")
    table.add_column("errors", justify="right")
    table.add_column("block rate", justify="right")
    for family in report.families():
        rows = report.rows(family)
        ran = [o for o in rows if o.error is None]
        blocked = sum(o.blocked for o in ran)
        label = "false-positive rate" if family == BENIGN else "block rate"
        # A rate over probes that never ran would be a made-up 0%.
        rate = f"{blocked / len(ran):.0%}" if ran else "n/a"
        table.add_row(
            family,
            str(len(rows)),
            str(blocked),
            str(sum(o.flagged for o in ran)),
            str(len(rows) - len(ran)),
            f"{rate} ({label})" if family == BENIGN else rate,
        )
    console.print(table)
    false_positives = report.false_positives()
    benign_ran = [o for o in report.rows(BENIGN) if o.error is None]
    if false_positives:
        console.print("[bold red]False positives (benign prompts that were blocked):[/bold red]")
        for outcome in false_positives:
            console.print(f"  - {outcome.probe.label}", markup=False)
    elif benign_ran:
        console.print(f"[green]No false positives[/green] in {len(benign_ran)} benign prompts.")
    failed = report.failed()
    if failed:
        console.print(f"[bold red]{failure_summary(report)}[/bold red]", highlight=False)


def failure_summary(report: Report) -> str:
    """Why the run is not a result: how many probes did not run, and the likely cause."""
    failed = report.failed()
    total = len(report.outcomes)
    refused = [o for o in failed if o.status in (401, 403)]
    first = (refused or failed)[0]
    head = (
        f"{len(failed)} of {total} probes did not run"
        if len(failed) < total
        else f"No probe ran: all {total} failed"
    )
    if refused:
        cause = f"the gateway refused the key ({first.error}); pass a valid --key"
    elif first.status is None:
        cause = f"the target could not be reached ({first.error}); check --target"
    else:
        cause = f"e.g. {first.error} on '{first.probe.label}'"
    return f"{head}: {cause}. The rates above do not count them."


def redteam(
    target: Annotated[
        str, typer.Option("--target", help="gateway base URL, e.g. http://127.0.0.1:8080")
    ],
    key: Annotated[str, typer.Option("--key", help="a Doorman API key to send as Bearer token")],
    model: Annotated[str, typer.Option("--model", help="model name to request")] = "sim-small",
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=64)] = 4,
    timeout: Annotated[float, typer.Option("--timeout", help="seconds per request")] = 30.0,
) -> None:
    """Send attack families and benign look-alikes; print block rate per family and false positives."""
    with progress("sending red-team probes", len(probes())) as advance:
        report = asyncio.run(
            run_redteam(
                target,
                key,
                model,
                concurrency=concurrency,
                request_timeout=timeout,
                on_result=advance,
            )
        )
    render(report, Console())
    if report.failed():
        raise typer.Exit(1)  # an incomplete run is not a result a script may trust
