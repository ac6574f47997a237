"""``postloan alerts``: list early-warning alerts and work on them.

``list [--state S] [--owner O] [--rule R] [--loan L] [--json]``; ``ack ID --user U``,
``action ID --user U [--note T]``, ``close ID --user U [--note T]``: moves along
new → acknowledged → actioned → closed (closing from new/acknowledged records a
false alarm). ``--version V`` makes the move fail (exit 5) if someone changed
the alert since the person saw version V. Every move is written to the audit log.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from postloan.cli import app
from postloan.domain.errors import PermissionDenied

alerts_app = typer.Typer(
    help="Early-warning alerts: list, acknowledge, action, close / 预警：查看与处理",
    no_args_is_help=True,
)
app.add_typer(alerts_app, name="alerts")

UserOpt = Annotated[str, typer.Option("--user", help="Who acts (a postloan user)")]
NoteOpt = Annotated[str | None, typer.Option("--note", help="Why (no personal data)")]
VersionOpt = Annotated[
    int | None, typer.Option("--version", help="The version you saw (optimistic lock)")
]


@alerts_app.command("list")
def list_command(
    state: Annotated[str | None, typer.Option("--state", help="new, acknowledged, …")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="User, team or role")] = None,
    rule: Annotated[str | None, typer.Option("--rule", help="Rule id")] = None,
    loan: Annotated[str | None, typer.Option("--loan", help="Loan id")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Alerts, newest first."""
    from postloan.risk.alerts import list_alerts
    from postloan.store.db import open_store

    store = open_store()
    try:
        with store.begin() as conn:
            found = list_alerts(
                conn, state=state, owner=owner, rule=rule, loan_id=loan, limit=limit
            )
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps([a.as_json() for a in found], ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "date", "rule", "loan", "severity", "owner", "state", "SLA due")
    for a in found:
        owner_text = " / ".join(x for x in (a.owner_role, a.owner_team, a.owner_user) if x)
        due = a.as_json()["sla_due_at"][:16]
        table.add_row(
            str(a.id),
            a.business_date.isoformat(),
            a.rule_id,
            a.loan_id,
            a.severity,
            owner_text,
            a.state,
            due,
        )
    Console().print(table)


def _move(alert_id: int, target: str, user: str, version: int | None, note: str | None) -> None:
    from postloan.risk.alerts import get_alert, move_alert
    from postloan.security.permissions import has_permission
    from postloan.security.users import active_user
    from postloan.store.db import open_store

    store = open_store()
    try:
        with store.begin() as conn:
            person = active_user(conn, user)
            alert = get_alert(conn, alert_id)
            role = str(person.role)
            if not (has_permission(role, "alert.update") or role == alert.owner_role):
                raise PermissionDenied(
                    f"user {user!r} ({role}) may not work on alerts; ask a supervisor"
                )
            moved = move_alert(
                conn,
                alert_id,
                target,
                user=user,
                role=role,
                now=datetime.now(UTC),
                expected_version=version,
                note=note,
            )
    finally:
        store.close()
    typer.echo(json.dumps(moved.as_json(), ensure_ascii=False))


@alerts_app.command("ack")
def ack_command(
    alert_id: int, user: UserOpt, version: VersionOpt = None, note: NoteOpt = None
) -> None:
    """Acknowledge an alert (new → acknowledged)."""
    _move(alert_id, "acknowledged", user, version, note)


@alerts_app.command("action")
def action_command(
    alert_id: int, user: UserOpt, version: VersionOpt = None, note: NoteOpt = None
) -> None:
    """Record that an acknowledged alert was acted on (→ actioned)."""
    _move(alert_id, "actioned", user, version, note)


@alerts_app.command("close")
def close_command(
    alert_id: int, user: UserOpt, version: VersionOpt = None, note: NoteOpt = None
) -> None:
    """Close an alert (from any open state)."""
    _move(alert_id, "closed", user, version, note)
