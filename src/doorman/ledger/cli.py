"""``doorman usage`` and ``doorman ledger export|prune``: reports from the command line.

The lead mounts them: ``app.command("usage")(usage)`` and
``app.add_typer(ledger_app, name="ledger")``. Every command brings the schema up to date first.
"""

from __future__ import annotations

import asyncio
import csv
import io
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from doorman.config import ConfigError, Settings, load_settings
from doorman.db.engine import create_engine
from doorman.db.migrate import upgrade_async
from doorman.ledger import reports
from doorman.ledger.chart import spend_chart
from doorman.ledger.neutral import csv_row, terminal_text
from doorman.ledger.reports import GROUPS, BudgetStatus, SpendRow
from doorman.ledger.row import COLUMNS
from doorman.progress import interactive, progress

T = TypeVar("T")

ledger_app = typer.Typer(help="Export or prune the usage ledger.", no_args_is_help=True)

ConfigOption = typer.Option(None, "--config", "-c", help="YAML config file.", dir_okay=False)
SPEND_FIELDS = ("group", "requests", "errors", "input_tokens", "output_tokens",
                "cached_tokens", "cost_usd", "cache_hits", "saved_usd")  # fmt: skip


def _settings(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(f"config error: {problem}", err=True)
        raise typer.Exit(2) from None


def _run(settings: Settings, action: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    async def main() -> T:
        await upgrade_async(settings.database_url)
        engine = create_engine(settings.database_url)
        try:
            return await action(engine)
        finally:
            await engine.dispose()

    return asyncio.run(main())


# --- doorman usage ------------------------------------------------------------------------
def usage(
    by: str = typer.Option("user", "--by", help="Group by user, model, task, day or key."),
    days: int = typer.Option(7, "--days", min=1, max=3660, help="Local calendar days, today last."),
    user: str | None = typer.Option(None, "--user", help="Only this user."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
    chart: bool = typer.Option(False, "--chart", help="Only draw spend per day as a bar chart."),
    config: Path | None = ConfigOption,
) -> None:
    """Spend per user, model, task, day or key, with a spend-by-day chart and budgets left."""
    if by not in GROUPS:
        raise typer.BadParameter(f"must be one of {', '.join(GROUPS)}", param_hint="--by")
    if sum((as_json, as_csv, chart)) > 1:
        raise typer.BadParameter("choose one of --json, --csv and --chart")
    settings = _settings(config)
    zone = settings.zone

    async def collect(engine: AsyncEngine) -> tuple[list[SpendRow], list[SpendRow], list[Any]]:
        rows = await reports.spend(engine, by=by, days=days, user=user, zone=zone)
        per_day = rows if by == "day" else await reports.spend(
            engine, by="day", days=days, user=user, zone=zone
        )
        budgets = await reports.budgets(engine, settings.tiers, zone=zone, user=user)
        return rows, per_day, budgets

    rows, per_day, budgets = _run(settings, collect)
    if as_json:
        payload = {
            "by": by,
            "days": days,
            "user": user,
            "timezone": settings.timezone,
            "since": reports.window_start(days, zone).isoformat(),
            "rows": [r.as_dict() for r in rows],
            "total": _total(rows).as_dict(),
            "budgets": [b.as_dict() for b in budgets],
        }
        sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    if as_csv:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([by if f == "group" else f for f in SPEND_FIELDS])
        for r in rows:
            writer.writerow(csv_row(f"{getattr(r, f):.6f}" if f.endswith("_usd") else getattr(r, f)
                                    for f in SPEND_FIELDS))  # fmt: skip
        sys.stdout.write(out.getvalue())
        return
    console = Console()
    if chart:
        start = reports.window_start(days, zone).astimezone(zone)
        title = "Spend per day (USD)" + (f", user {escape(user)}" if user else "")
        console.print(spend_chart(per_day, days, start, title=title))
        return
    console.print(_spend_table(rows, by, days, user))
    console.print(_day_chart(per_day, days, reports.window_start(days, zone).astimezone(zone)))
    if budgets:
        console.print(_budget_table(budgets))


def _total(rows: list[SpendRow]) -> SpendRow:
    total = SpendRow("total")
    for r in rows:
        total.requests += r.requests
        total.errors += r.errors
        total.input_tokens += r.input_tokens
        total.output_tokens += r.output_tokens
        total.cached_tokens += r.cached_tokens
        total.cost_usd += r.cost_usd
        total.cache_hits += r.cache_hits
        total.saved_usd += r.saved_usd
    return total


def _spend_table(rows: list[SpendRow], by: str, days: int, user: str | None) -> Table:
    title = f"Spend by {by}, last {days} day{'s' if days != 1 else ''}"
    if user:
        title += f" (user {escape(user)})"
    table = Table(title=title, show_footer=bool(rows))
    total = _total(rows)
    # Key ids, users and models are what the table is about: never cut them; the counts give
    # way on a narrow terminal.
    widest = max((len(r.group or "-") for r in rows), default=5)
    table.add_column(by, footer="total", no_wrap=True, min_width=min(widest, 48))
    for name, attr in _COUNT_COLUMNS:
        table.add_column(name, justify="right", footer=f"{getattr(total, attr):,}")
    table.add_column("cost (USD)", justify="right", footer=f"{total.cost_usd:,.4f}")
    for r in rows:
        table.add_row(
            terminal_text(r.group if r.group is not None else "-"), f"{r.requests:,}", f"{r.errors:,}",
            f"{r.input_tokens:,}", f"{r.output_tokens:,}", f"{r.cache_hits:,}",
            f"{r.cost_usd:,.4f}",
        )  # fmt: skip
    if total.cache_hits:
        # A line, not more columns: the table must stay readable in 80 columns.
        table.caption = (
            f"cache: {total.cache_hits:,} hits ({total.cache_hit_rate:.0%} of requests), "
            f"${total.saved_usd:,.4f} saved"
        )
    if not rows:
        table.caption = "no requests in this window"
    return table


_COUNT_COLUMNS = (
    ("requests", "requests"),
    ("errors", "errors"),
    ("input tok", "input_tokens"),
    ("output tok", "output_tokens"),
    ("cache hits", "cache_hits"),
)
_EIGHTHS = " ▏▎▍▌▋▊▉█"


def _bar(value: float, top: float, width: int = 40) -> str:
    if top <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / top * width * 8))
    return "█" * (eighths // 8) + (_EIGHTHS[eighths % 8] if eighths % 8 else "")


def _day_chart(per_day: list[SpendRow], days: int, start: datetime) -> Table:
    """One bar per local day, empty days included, so gaps are visible."""
    by_label = {r.group: r for r in per_day}
    first: date = start.date()
    labels = [date.fromordinal(first.toordinal() + i).isoformat() for i in range(days)]
    top = max((r.cost_usd for r in per_day), default=0.0)
    chart = Table(title="Spend by day (USD)", show_header=False, box=None, padding=(0, 1))
    chart.add_column("day", style="dim")
    chart.add_column("bar", style="cyan", no_wrap=True)
    chart.add_column("cost", justify="right")
    for label in labels[-60:]:  # a terminal screen; --by day --json has them all
        cost = by_label[label].cost_usd if label in by_label else 0.0
        chart.add_row(label, _bar(cost, top), f"{cost:,.4f}")
    return chart


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.4f}"


def _budget_table(budgets: list[BudgetStatus]) -> Table:
    table = Table(title="Budget remaining (this local day / month)")
    table.add_column("user")
    table.add_column("tier")
    for name in ("spent today", "daily budget", "left today", "spent month", "monthly budget",
                 "left month"):  # fmt: skip
        table.add_column(name, justify="right")
    for b in budgets:
        table.add_row(
            terminal_text(b.user_id), terminal_text(b.tier or "-"), _money(b.spent_today_usd), _money(b.daily_budget_usd),
            _money(b.daily_remaining_usd), _money(b.spent_month_usd),
            _money(b.monthly_budget_usd), _money(b.monthly_remaining_usd),
        )  # fmt: skip
    return table


# --- doorman ledger export / prune -------------------------------------------------------
@ledger_app.command("export")
def export(
    fmt: str = typer.Option("jsonl", "--format", "-f", help="jsonl or csv."),
    days: int | None = typer.Option(None, "--days", min=1, help="Only the last N local days."),
    user: str | None = typer.Option(None, "--user", help="Only this user."),
    config: Path | None = ConfigOption,
) -> None:
    """Print ledger rows (oldest first), one per request, each with its request_id."""
    if fmt not in ("jsonl", "csv"):
        raise typer.BadParameter("must be jsonl or csv", param_hint="--format")
    settings = _settings(config)
    since = reports.window_start(days, settings.zone) if days else None
    out = sys.stdout
    shown = interactive(sys.stderr)

    async def dump(engine: AsyncEngine) -> int:
        count = 0
        writer = csv.writer(out) if fmt == "csv" else None
        if writer is not None:
            writer.writerow(COLUMNS)
        total = await reports.count_rows(engine, since=since, user=user) if shown else None
        with progress("exporting ledger rows", total) as advance:
            async for row in reports.iter_rows(engine, since=since, user=user):
                advance()
                row["ts"] = row["ts"].astimezone(UTC).isoformat()
                if writer is not None:
                    writer.writerow(csv_row("" if row[c] is None else row[c] for c in COLUMNS))
                else:
                    out.write(orjson.dumps(row).decode() + "\n")
                count += 1
        out.flush()
        return count

    _run(settings, dump)


@ledger_app.command("prune")
def prune(
    older_than: str = typer.Option(
        ..., "--older-than", help="Age with its unit: 90d, 12h, 30min or 2w ('m' is refused)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would go; delete nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Delete without asking (scripts)."),
    config: Path | None = ConfigOption,
) -> None:
    """Delete ledger rows older than the given age: shows what goes, asks first on a terminal."""
    try:
        age = reports.parse_age(older_than)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--older-than") from None
    settings = _settings(config)
    now = datetime.now(UTC)
    cutoff = now - age
    count, oldest = _run(settings, lambda engine: reports.count_older(engine, cutoff))
    rows = f"{count} ledger row{'s' if count != 1 else ''}"
    span = f" (from {oldest:%Y-%m-%d %H:%M} UTC)" if oldest is not None else ""
    typer.echo(f"{rows} older than {older_than}, before {cutoff:%Y-%m-%d %H:%M} UTC{span}")
    if dry_run or count == 0:
        typer.echo("dry run: nothing deleted" if dry_run else "nothing to delete")
        return
    if not yes:
        if not sys.stdin.isatty():
            typer.echo(
                f"refusing to delete {rows} without confirmation: pass --yes "
                "(or run on a terminal to be asked)",
                err=True,
            )
            raise typer.Exit(1)
        if not typer.confirm(f"Delete {rows}?", default=False):
            typer.echo("nothing deleted")
            raise typer.Exit(1)
    with progress(f"deleting ledger rows older than {older_than}"):
        deleted = _run(settings, lambda engine: reports.prune(engine, older_than=age, now=now))
    typer.echo(f"deleted {deleted} ledger row{'s' if deleted != 1 else ''} older than {older_than}")
