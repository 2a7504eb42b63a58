"""``doorman usage --chart``: spend per local day as a bar chart in the terminal (rich).

One bar per day of the window, empty days included so gaps show; the peak day's bar fills the
width. Values come from the same report as ``doorman usage --by day``.
"""

from __future__ import annotations

from datetime import date, datetime

from rich.bar import Bar
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from doorman.ledger.reports import SpendRow

BAR_WIDTH = 40  # fits an 80-column terminal with the labels
MAX_DAYS_SHOWN = 92  # about a quarter; --json has them all


def spend_chart(
    per_day: list[SpendRow], days: int, start: datetime, *, title: str = "Spend per day (USD)"
) -> RenderableType:
    """A rich renderable: day label, bar, cost and requests per day, then total/average/peak."""
    by_label = {r.group: r for r in per_day}
    first: date = start.date()
    labels = [date.fromordinal(first.toordinal() + i).isoformat() for i in range(days)]
    shown = labels[-MAX_DAYS_SHOWN:]
    top = max((r.cost_usd for r in per_day if r.group in shown), default=0.0)
    places = 4 if top >= 0.01 else 6  # cents, or micro-dollars for cheap models
    table = Table(title=title, show_header=True, box=None, padding=(0, 1), title_justify="left")
    table.add_column("day", style="dim", no_wrap=True)
    table.add_column("", no_wrap=True, width=BAR_WIDTH)
    table.add_column("USD", justify="right", no_wrap=True)
    table.add_column("requests", justify="right", style="dim", no_wrap=True)
    for label in shown:
        row = by_label.get(label)
        cost = row.cost_usd if row is not None else 0.0
        requests = row.requests if row is not None else 0
        peak = top > 0 and cost == top
        bar = Bar(size=top or 1.0, begin=0.0, end=cost, width=BAR_WIDTH,
                  color="magenta" if peak else "cyan")  # fmt: skip
        table.add_row(label, bar, f"{cost:,.{places}f}", f"{requests:,}")
    total = sum(by_label[d].cost_usd for d in shown if d in by_label)
    busiest = max(shown, key=lambda d: by_label[d].cost_usd if d in by_label else 0.0)
    summary = Text(
        f"total {total:,.{places}f} USD over {len(shown)} day{'s' if len(shown) != 1 else ''}, "
        f"average {total / max(1, len(shown)):,.{places}f} per day"
        + (f", peak {top:,.{places}f} on {busiest}" if top > 0 else ", no spend"),
        style="bold",
    )
    return Group(table, summary)
