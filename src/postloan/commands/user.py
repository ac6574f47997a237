"""``postloan user``: add, list, change the role of (maker-checker) and disable users.

The CLI is an operator tool run on the server by someone who can already read the
database; it does not log in. Changes name their operator with ``--user`` (must be
an active user holding the permission) and are audited under that name; ``user
add`` without ``--user`` is the bootstrap path (audited as ``system``). The API
authenticates every call properly.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from postloan.cli import app

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from postloan.security.users import User

user_app = typer.Typer(help="Users and roles (用户与角色)", no_args_is_help=True)
app.add_typer(user_app, name="user")

OperatorOpt = Annotated[
    str | None, typer.Option("--user", help="The operator (an active admin) making the change")
]


def _operator(conn: Connection, username: str | None, permission: str) -> User | None:
    """The ``--user`` operator, if given: active and holding ``permission``."""
    if username is None:
        return None
    return _required(conn, username, permission)


def _required(conn: Connection, username: str, permission: str) -> User:
    from postloan.security.scope import authorize
    from postloan.security.users import active_user

    operator = active_user(conn, username)
    authorize(operator, permission)
    return operator


@user_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="User name (login)")],
    role: Annotated[str, typer.Option("--role", help="loan_officer|risk_manager|collector|…")],
    password: Annotated[
        str | None, typer.Option("--password", help="Initial password (omit: API-key only)")
    ] = None,
    team: Annotated[str | None, typer.Option("--team")] = None,
    region: Annotated[str | None, typer.Option("--region")] = None,
    display_name: Annotated[str | None, typer.Option("--display-name")] = None,
    skills: Annotated[str | None, typer.Option("--skills", help="Comma-separated tags")] = None,
    capacity: Annotated[
        int | None, typer.Option("--capacity", help="Open cases (collectors)")
    ] = None,
    operator: OperatorOpt = None,
) -> None:
    """Create a user."""
    from postloan.security.config import load_security_policy
    from postloan.security.users import add_user
    from postloan.store.db import open_store

    store = open_store()
    try:
        with store.begin() as conn:
            actor = _operator(conn, operator, "user.manage")
            user = add_user(
                conn,
                username=name,
                role=role,
                password=password,
                display_name=display_name,
                team=team,
                region=region,
                skills=(skills or "").split(","),
                capacity=capacity,
                actor=actor.username if actor else "system",
                actor_role=actor.role if actor else "system",
                policy=load_security_policy(store.settings),
            )
    finally:
        store.close()
    typer.echo(f"user {user.username} added (role {user.role})")


@user_app.command("list")
def list_command(
    role: Annotated[str | None, typer.Option("--role")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List users (no secrets)."""
    from postloan.security.users import list_users
    from postloan.store.db import open_store

    store = open_store()
    try:
        with store.begin() as conn:
            users = list_users(conn, role=role)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps([u.public() for u in users], ensure_ascii=False, indent=2))
        return
    for u in users:
        state = "active" if u.active else "disabled"
        typer.echo(f"{u.username:<20} {u.role:<14} {u.team or '-':<10} {state}")


@user_app.command("set-role")
def set_role(
    name: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Option("--role", help="The new role")],
    operator: Annotated[str, typer.Option("--user", help="The admin proposing the change")],
    reason: Annotated[str | None, typer.Option("--reason")] = None,
) -> None:
    """Propose a role change; another admin approves it (`postloan approvals approve`)."""
    from postloan.security.users import propose_role_change
    from postloan.store.db import open_store

    store = open_store()
    try:
        with store.begin() as conn:
            _required(conn, operator, "user.manage")
            approval_id = propose_role_change(conn, name, role, maker=operator, reason=reason)
    finally:
        store.close()
    typer.echo(f"approval {approval_id} pending: {name} -> {role} (another admin must approve)")


@user_app.command("disable")
def disable(
    name: Annotated[str, typer.Argument()],
    operator: Annotated[str, typer.Option("--user", help="The admin disabling the user")],
    reason: Annotated[str | None, typer.Option("--reason")] = None,
) -> None:
    """Disable a user: no more logins, and their tokens and sessions stop working."""
    from postloan.security.users import set_active
    from postloan.store.db import open_store

    store = open_store()
    try:
        with store.begin() as conn:
            actor = _required(conn, operator, "user.manage")
            set_active(
                conn, name, False, actor=actor.username, actor_role=actor.role, reason=reason
            )
    finally:
        store.close()
    typer.echo(f"user {name} disabled")


@user_app.command("enable")
def enable(
    name: Annotated[str, typer.Argument()],
    operator: Annotated[str, typer.Option("--user", help="The admin re-enabling the user")],
    reason: Annotated[str | None, typer.Option("--reason")] = None,
) -> None:
    """Re-enable a disabled user."""
    from postloan.security.users import set_active
    from postloan.store.db import open_store

    store = open_store()
    try:
        with store.begin() as conn:
            actor = _required(conn, operator, "user.manage")
            set_active(conn, name, True, actor=actor.username, actor_role=actor.role, reason=reason)
    finally:
        store.close()
    typer.echo(f"user {name} enabled")


@user_app.command("set-password")
def set_password_command(
    name: Annotated[str, typer.Argument()],
    password: Annotated[str, typer.Option("--password", help="The new password")],
    operator: Annotated[str, typer.Option("--user", help="The admin resetting it")],
) -> None:
    """Reset a password (also lifts a lockout and ends the user's sessions and tokens)."""
    from postloan.security.config import load_security_policy
    from postloan.security.users import set_password
    from postloan.store.db import open_store

    store = open_store()
    try:
        with store.begin() as conn:
            actor = _required(conn, operator, "user.manage")
            set_password(
                conn,
                name,
                password,
                actor=actor.username,
                actor_role=actor.role,
                policy=load_security_policy(store.settings),
            )
    finally:
        store.close()
    typer.echo(f"password of {name} reset")


@user_app.command("api-key")
def api_key(
    name: Annotated[str, typer.Argument(help="The (system) user the key speaks for")],
    operator: Annotated[str | None, typer.Option("--user", help="The admin issuing it")] = None,
    label: Annotated[str | None, typer.Option("--label")] = None,
) -> None:
    """Issue a long-lived API key (printed once; send it as the X-API-Key header)."""
    from postloan.security.tokens import create_api_key
    from postloan.store.db import open_store

    store = open_store()
    try:
        with store.begin() as conn:
            actor = _operator(conn, operator, "user.manage")
            key = create_api_key(
                conn,
                name,
                actor=actor.username if actor else "system",
                actor_role=actor.role if actor else "system",
                label=label,
                now=datetime.now(UTC),
            )
    finally:
        store.close()
    typer.echo(key)
