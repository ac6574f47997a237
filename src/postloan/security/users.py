"""Users of postloan: who they are, their role, team and capacity, and login.

Every change is written to the audit log in the caller's transaction. A user's
``version`` goes up on every change of role, password or status, which ends the
bearer tokens and sessions issued before it (see :mod:`postloan.security.tokens`).
Role changes are maker-checker: :func:`propose_role_change` files an approval, and
the handler registered here applies it when a second admin approves.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, RowMapping, Table, insert, select, update

from postloan.domain.errors import ConflictError, NotFound, PermissionDenied, ValidationError
from postloan.security import approvals
from postloan.security.config import SecurityPolicy
from postloan.security.passwords import hash_password, verify_password
from postloan.security.permissions import has_permission
from postloan.security.roles import Role, parse_role
from postloan.store.tables_security import UserRow

SYSTEM = "system"
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$")
USERS = cast(Table, UserRow.__table__)


@dataclass(frozen=True, slots=True)
class User:
    username: str
    display_name: str
    role: str
    team: str | None = None
    region: str | None = None
    skills: tuple[str, ...] = ()
    capacity: int | None = None
    active: bool = True
    version: int = 1
    failed_logins: int = 0
    locked_until: datetime | None = None

    def can(self, permission: str) -> bool:
        return self.active and has_permission(self.role, permission)

    def public(self) -> dict[str, Any]:
        """The user as shown by the API and ``user list --json`` (no secrets)."""
        return {
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role,
            "team": self.team,
            "region": self.region,
            "skills": list(self.skills),
            "capacity": self.capacity,
            "active": self.active,
        }


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes for timezone columns; they were stored in UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _user(row: RowMapping) -> User:
    skills = tuple(s for s in (row["skills"] or "").split(",") if s)
    return User(
        username=row["username"],
        display_name=row["display_name"],
        role=row["role"],
        team=row["team"],
        region=row["region"],
        skills=skills,
        capacity=row["capacity"],
        active=bool(row["active"]),
        version=row["version"],
        failed_logins=row["failed_logins"],
        locked_until=_aware(row["locked_until"]),
    )


def audit(
    conn: Connection,
    *,
    actor: str,
    role: str,
    action: str,
    object_type: str,
    object_id: str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str | None = None,
) -> int:
    """One audit entry in the caller's transaction (postloan.audit.record)."""
    from postloan.audit import record

    return record(
        conn,
        actor=actor,
        role=role,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
        reason=reason,
    )


def find_user(conn: Connection, username: str) -> User | None:
    if not _USERNAME.match(username):
        return None  # no such user can exist (and PostgreSQL refuses NUL characters)
    row = conn.execute(select(USERS).where(USERS.c.username == username)).mappings().first()
    return _user(row) if row else None


def get_user(conn: Connection, username: str) -> User:
    """The user named ``username``; NotFound when there is none."""
    user = find_user(conn, username)
    if user is None:
        raise NotFound(f"no user {username!r}; list them with `postloan user list`")
    return user


def active_user(conn: Connection, username: str) -> User:
    """The user acting on the CLI (``--user``): must exist and be active."""
    user = get_user(conn, username)
    if not user.active:
        raise PermissionDenied(f"user {username!r} is disabled; an admin can re-enable them")
    return user


def list_users(conn: Connection, *, role: str | None = None) -> list[User]:
    query = select(USERS).order_by(USERS.c.username)
    if role:
        query = query.where(USERS.c.role == parse_role(role).value)
    return [_user(r) for r in conn.execute(query).mappings()]


def add_user(
    conn: Connection,
    *,
    username: str,
    role: str,
    password: str | None,
    display_name: str | None = None,
    team: str | None = None,
    region: str | None = None,
    skills: Sequence[str] = (),
    capacity: int | None = None,
    actor: str = SYSTEM,
    actor_role: str = SYSTEM,
    policy: SecurityPolicy | None = None,
    now: datetime | None = None,
) -> User:
    """Create a user (a password of None means API-key only: no interactive login)."""
    policy = policy or SecurityPolicy()
    if not _USERNAME.match(username) or username == SYSTEM:
        raise ValidationError(
            f"username {username!r} is not allowed: 2-64 letters, digits or _ . @ -, "
            f"starting with a letter or digit, and not {SYSTEM!r}"
        )
    role_id = parse_role(role).value
    if capacity is not None and capacity < 0:
        raise ValidationError("capacity must be ≥ 0 (open cases the collector can hold)")
    if find_user(conn, username) is not None:
        raise ConflictError(f"user {username!r} already exists")
    pw_hash = (
        hash_password(password, min_length=policy.password_min_length, with_hasher=policy.hasher())
        if password is not None
        else None
    )
    conn.execute(
        insert(USERS).values(
            username=username,
            display_name=display_name or username,
            role=role_id,
            team=team,
            region=region,
            skills=",".join(s.strip() for s in skills if s.strip()) or None,
            capacity=capacity,
            active=True,
            password_hash=pw_hash,
            failed_logins=0,
            locked_until=None,
            created_at=now or utcnow(),
            version=1,
        )
    )
    user = get_user(conn, username)
    audit(
        conn,
        actor=actor,
        role=actor_role,
        action="user.create",
        object_type="user",
        object_id=username,
        after={"role": role_id, "team": team, "region": region},
    )
    return user


def _bump(conn: Connection, user: User, **values: Any) -> User:
    """Update ``user`` if nobody changed it meanwhile (optimistic lock on ``version``)."""
    done = conn.execute(
        update(USERS)
        .where(USERS.c.username == user.username, USERS.c.version == user.version)
        .values(version=user.version + 1, **values)
    )
    if done.rowcount != 1:
        raise ConflictError(f"user {user.username!r} was changed meanwhile; reload and retry")
    return get_user(conn, user.username)


def set_password(
    conn: Connection,
    username: str,
    password: str,
    *,
    actor: str,
    actor_role: str,
    policy: SecurityPolicy | None = None,
) -> User:
    policy = policy or SecurityPolicy()
    user = get_user(conn, username)
    pw_hash = hash_password(
        password, min_length=policy.password_min_length, with_hasher=policy.hasher()
    )
    changed = _bump(conn, user, password_hash=pw_hash, failed_logins=0, locked_until=None)
    audit(
        conn,
        actor=actor,
        role=actor_role,
        action="user.password",
        object_type="user",
        object_id=username,
    )
    return changed


def set_active(
    conn: Connection,
    username: str,
    active: bool,
    *,
    actor: str,
    actor_role: str,
    reason: str | None = None,
) -> User:
    """Disable (or re-enable) a user; a disabled user cannot log in or use old tokens."""
    user = get_user(conn, username)
    if user.active == active:
        return user
    changed = _bump(conn, user, active=active)
    audit(
        conn,
        actor=actor,
        role=actor_role,
        action="user.enable" if active else "user.disable",
        object_type="user",
        object_id=username,
        before={"active": user.active},
        after={"active": active},
        reason=reason,
    )
    return changed


def create_role_users(
    conn: Connection,
    *,
    prefix: str = "demo",
    team: str | None = "demo",
    policy: SecurityPolicy | None = None,
) -> dict[str, tuple[str, str]]:
    """One user per role, ``<prefix>_<role>``, with a random password each (for demos).

    Returns ``{username: (role, password)}``; existing users are left alone and
    not returned. The passwords are shown once by the caller and stored hashed.
    """
    created: dict[str, tuple[str, str]] = {}
    for role in Role:
        username = f"{prefix}_{role.value}"
        if find_user(conn, username) is not None:
            continue
        password = secrets.token_urlsafe(9)
        add_user(
            conn,
            username=username,
            role=role.value,
            password=password,
            team=team,
            capacity=200 if role is Role.COLLECTOR else None,
            policy=policy,
        )
        created[username] = (role.value, password)
    return created


ROLE_CHANGE = "role.change"


def propose_role_change(
    conn: Connection, username: str, new_role: str, *, maker: str, reason: str | None = None
) -> int:
    """File a role change for a second admin to approve; returns the approval id."""
    user = get_user(conn, username)
    role_id = parse_role(new_role).value
    if user.role == role_id:
        raise ConflictError(f"user {username!r} already has role {role_id!r}")
    return approvals.propose(
        conn,
        maker=maker,
        action=ROLE_CHANGE,
        object_type="user",
        object_id=username,
        payload={"from": user.role, "to": role_id, "version": user.version},
        reason=reason,
    )


def _apply_role_change(conn: Connection, approval: approvals.Approval) -> None:
    user = get_user(conn, approval.object_id)
    new_role = parse_role(str(approval.payload["to"])).value
    if user.role != approval.payload["from"]:
        raise ConflictError(
            f"user {user.username!r} has role {user.role!r} now, not {approval.payload['from']!r}"
            " as when the change was proposed; reject this approval and propose again"
        )
    _bump(conn, user, role=new_role)
    audit(
        conn,
        actor=approval.checker or SYSTEM,
        role="admin",
        action="user.role_change",
        object_type="user",
        object_id=user.username,
        before={"role": user.role},
        after={"role": new_role, "approval_id": approval.id, "maker": approval.maker},
        reason=approval.checker_reason,
    )


approvals.register_handler(ROLE_CHANGE, _apply_role_change)


@dataclass(frozen=True, slots=True)
class LoginOutcome:
    """What a login attempt did; ``user`` is None when it failed (see ``reason``)."""

    user: User | None
    reason: str  # ok | bad_credentials | locked | disabled


def check_login(
    conn: Connection, username: str, password: str, *, now: datetime, policy: SecurityPolicy
) -> LoginOutcome:
    """Verify a password, count failures, lock out after ``lockout_threshold`` of them.

    Writes the failure counters and the audit entry; the caller commits even when
    the login failed. Unknown users cost the same argon2 time as known ones.
    """
    user = find_user(conn, username)
    if user is None:
        verify_password(None, password, dummy_with=policy.hasher())
        # what was typed may be anything (even a phone number): log only a digest of it
        typed = hashlib.sha256(username.encode("utf-8", "replace")).hexdigest()[:16]
        audit(
            conn,
            actor="anonymous",
            role="none",
            action="auth.login_failed",
            object_type="user",
            object_id=f"sha256:{typed}",
            reason="unknown user",
        )
        return LoginOutcome(None, "bad_credentials")
    if user.locked_until is not None and user.locked_until > now:
        audit(
            conn,
            actor=username,
            role=user.role,
            action="auth.login_failed",
            object_type="user",
            object_id=username,
            reason="locked",
        )
        return LoginOutcome(None, "locked")
    row = conn.execute(select(USERS.c.password_hash).where(USERS.c.username == username))
    ok = verify_password(row.scalar_one(), password)
    if ok and user.active:
        conn.execute(
            update(USERS)
            .where(USERS.c.username == username)
            .values(failed_logins=0, locked_until=None)
        )
        audit(
            conn,
            actor=username,
            role=user.role,
            action="auth.login",
            object_type="user",
            object_id=username,
        )
        return LoginOutcome(user, "ok")
    if not ok:
        failures = user.failed_logins + 1
        locked = now + timedelta(minutes=policy.lockout_minutes)
        lock = failures >= policy.lockout_threshold > 0
        conn.execute(
            update(USERS)
            .where(USERS.c.username == username)
            .values(failed_logins=0 if lock else failures, locked_until=locked if lock else None)
        )
        audit(
            conn,
            actor=username,
            role=user.role,
            action="auth.login_failed",
            object_type="user",
            object_id=username,
            reason="locked out" if lock else "bad password",
        )
        return LoginOutcome(None, "locked" if lock else "bad_credentials")
    audit(
        conn,
        actor=username,
        role=user.role,
        action="auth.login_failed",
        object_type="user",
        object_id=username,
        reason="disabled",
    )
    return LoginOutcome(None, "disabled")
