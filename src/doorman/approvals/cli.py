"""``doorman approvals list|approve ID|deny ID`` — approvers at the command line.

Same store and rules as ``/admin/approvals`` (and the same database ``serve`` uses, found from
``--config``): a decided or expired approval is refused with a message and exit status 1; every
decision is audit-logged with actor ``cli``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import cast

import typer
from rich.console import Console
from rich.table import Table

from doorman.approvals.store import STATUSES, Approval, ApprovalStore, Status
from doorman.auth.service import CLI_ACTOR
from doorman.errors import DoormanError
from doorman.ledger.cli import _run, _settings
from doorman.ledger.neutral import terminal_text

approvals_app = typer.Typer(
    help="List, approve and deny tool calls withheld for approval.", no_args_is_help=True
)
ConfigOption = typer.Option(None, "--config", "-c", help="YAML config file.", dir_okay=False)
ReasonOption = typer.Option(None, "--reason", help="Recorded with the decision (audit log).")


def _decide(approval_id: str, config: Path | None, *, approve: bool, reason: str | None) -> None:
    settings = _settings(config)
    try:
        approval = _run(
            settings,
            lambda engine: ApprovalStore(engine, settings.approvals).decide(
                approval_id, approve=approve, actor=CLI_ACTOR, reason=reason
            ),
        )
    except DoormanError as exc:
        typer.echo(f"error: {exc.message} ({exc.code})", err=True)
        raise typer.Exit(1) from None
    verb = "approved" if approve else "denied"
    typer.echo(f"{approval.id}: {verb} (tool {approval.tool_name}, user {approval.user_id})")


@approvals_app.command("list")
def list_approvals(
    status: str = typer.Option(
        "pending", "--status", "-s", help=f"One of {', '.join(STATUSES)}, or all."
    ),
    limit: int = typer.Option(100, "--limit", min=1, max=1000),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (with the calls' arguments)."),
    config: Path | None = ConfigOption,
) -> None:
    """Withheld tool calls, newest first (default: those still waiting for a decision)."""
    if status != "all" and status not in STATUSES:
        raise typer.BadParameter(
            f"must be one of {', '.join(STATUSES)}, or all", param_hint="--status"
        )
    settings = _settings(config)
    wanted = None if status == "all" else cast(Status, status)
    rows: list[Approval] = _run(
        settings,
        lambda engine: ApprovalStore(engine, settings.approvals).list(status=wanted, limit=limit),
    )
    if as_json:
        typer.echo(json.dumps([a.for_approver() for a in rows], indent=2))
        return
    table = Table(title=f"Tool-call approvals ({status})")
    table.add_column("id", no_wrap=True)
    for col in ("status", "tool", "user", "expires (UTC)", "arguments"):
        table.add_column(col)
    for a in rows:
        args = json.dumps(a.tool_call.get("input", a.tool_call.get("function", a.tool_call)))
        table.add_row(
            a.id, a.status, terminal_text(a.tool_name), terminal_text(a.user_id),
            a.expires_at.strftime("%m-%d %H:%M"), terminal_text(args[:200]),
        )  # fmt: skip
    Console().print(table)


@approvals_app.command("approve")
def approve(
    approval_id: str, reason: str | None = ReasonOption, config: Path | None = ConfigOption
) -> None:
    """Approve a pending tool call: its caller may now fetch it, once."""
    _decide(approval_id, config, approve=True, reason=reason)


@approvals_app.command("deny")
def deny(
    approval_id: str, reason: str | None = ReasonOption, config: Path | None = ConfigOption
) -> None:
    """Deny a pending tool call: its caller is told, and never gets the call."""
    _decide(approval_id, config, approve=False, reason=reason)
