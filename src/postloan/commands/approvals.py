"""``postloan approvals``: list, approve and reject maker-checker proposals.

An operator tool (see ``postloan user``): ``--user`` names the checker, who must
be an active user, differ from the maker and hold the approve permission and limit.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from postloan.cli import app

approvals_app = typer.Typer(help="Maker-checker approvals (审批)", no_args_is_help=True)
app.add_typer(approvals_app, name="approvals")


@approvals_app.command("list")
def list_command(
    state: Annotated[
        str | None, typer.Option("--state", help="pending|approved|rejected|applied")
    ] = "pending",
    mine: Annotated[bool, typer.Option("--mine", help="Only proposals made by --user")] = False,
    user: Annotated[str | None, typer.Option("--user")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    all_states: Annotated[bool, typer.Option("--all", help="Every state")] = False,
) -> None:
    """List proposals (pending ones by default)."""
    from postloan.domain.errors import ValidationError
    from postloan.security.approvals import list_approvals
    from postloan.security.users import active_user
    from postloan.store.db import open_store

    if mine and not user:
        raise ValidationError("--mine needs --user NAME")
    if state and state not in ("pending", "approved", "rejected", "applied"):
        raise ValidationError(f"unknown state {state!r}; use pending|approved|rejected|applied")
    store = open_store()
    try:
        with store.begin() as conn:
            if user:
                active_user(conn, user)
            found = list_approvals(
                conn, state=None if all_states else state, maker=user if mine else None
            )
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps([a.public() for a in found], ensure_ascii=False, indent=2))
        return
    for a in found:
        amount = "" if a.amount_minor is None else f" amount={a.amount_minor}"
        typer.echo(
            f"{a.id:>6} {a.state:<9} {a.action:<22} {a.object_type}:{a.object_id} "
            f"by {a.maker}{amount}"
        )


def _decide(approval_id: int, user: str, approve: bool, reason: str | None) -> None:
    from postloan.security.approvals import decide
    from postloan.store.db import open_store

    store = open_store()
    try:
        with store.begin() as conn:
            done = decide(conn, approval_id, checker=user, approve=approve, reason=reason)
    finally:
        store.close()
    typer.echo(f"approval {done.id} {done.state}")


@approvals_app.command("approve")
def approve(
    approval_id: Annotated[int, typer.Argument()],
    user: Annotated[str, typer.Option("--user", help="The checker")],
    reason: Annotated[str | None, typer.Option("--reason")] = None,
) -> None:
    """Approve a proposal and apply it."""
    _decide(approval_id, user, True, reason)


@approvals_app.command("reject")
def reject(
    approval_id: Annotated[int, typer.Argument()],
    user: Annotated[str, typer.Option("--user", help="The checker")],
    reason: Annotated[str, typer.Option("--reason", help="Why (told to the maker)")],
) -> None:
    """Reject a proposal."""
    _decide(approval_id, user, False, reason)
