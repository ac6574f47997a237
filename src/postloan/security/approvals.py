"""Maker-checker approvals: a change proposed by one user, applied when another approves.

Waivers, write-offs, restructurings, strategy and model activation and role
changes go through here. The owner of an action registers a handler that applies
the approved change; it runs in the checker's transaction, so the decision and its
effect commit together or not at all. Handlers are registered on import of the
owning module; :func:`load_handlers` imports every ``postloan.<package>.approval_handlers``
module so that a CLI process finds them too. Every proposal and decision is audited.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, RowMapping, Table, insert, select, update

from postloan.domain.errors import ConfigError, ConflictError, NotFound, ValidationError
from postloan.security.approval_rules import (
    ApprovalState,
    check_checker,
    check_maker,
    kind_of,
    move,
)
from postloan.security.config import SecurityPolicy, load_security_policy
from postloan.store.tables_security import ApprovalRow

APPROVALS = cast(Table, ApprovalRow.__table__)


@dataclass(frozen=True, slots=True)
class Approval:
    id: int
    action: str
    object_type: str
    object_id: str
    payload: dict[str, Any]
    amount_minor: int | None
    state: str
    maker: str
    maker_role: str
    reason: str | None
    checker: str | None
    checker_reason: str | None
    created_at: datetime
    decided_at: datetime | None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "payload": self.payload,
            "amount_minor": self.amount_minor,
            "state": self.state,
            "maker": self.maker,
            "maker_role": self.maker_role,
            "reason": self.reason,
            "checker": self.checker,
            "checker_reason": self.checker_reason,
            "created_at": self.created_at.isoformat(),
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
        }


Handler = Callable[[Connection, Approval], None]
_HANDLERS: dict[str, Handler] = {}


def register_handler(action: str, handler: Handler) -> None:
    """Make ``handler`` apply approved proposals of ``action`` (re-registering replaces it)."""
    kind_of(action)
    _HANDLERS[action] = handler


def register_default(action: str, handler: Handler) -> None:
    """Register ``handler`` unless ``action`` already has one (what the packages'
    ``approval_handlers.register`` use, so :func:`load_handlers` can run them
    again to restore a handler without replacing one set on purpose)."""
    kind_of(action)
    _HANDLERS.setdefault(action, handler)


def load_handlers() -> None:
    """Import the ``approval_handlers`` module of every postloan package (idempotent).

    Looks for the file first, so packages without handlers are not imported.
    """
    import postloan

    importlib.import_module("postloan.security.users")
    for root in postloan.__path__:
        for info in pkgutil.iter_modules([root]):
            if info.ispkg and (Path(root) / info.name / "approval_handlers.py").exists():
                module = importlib.import_module(f"postloan.{info.name}.approval_handlers")
                again = getattr(module, "register", None)
                if callable(again):  # restores a handler removed since the import
                    again()


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _approval(row: RowMapping) -> Approval:
    created = _aware(row["created_at"])
    assert created is not None
    return Approval(
        id=row["id"],
        action=row["action"],
        object_type=row["object_type"],
        object_id=row["object_id"],
        payload=json.loads(row["payload"]),
        amount_minor=row["amount_minor"],
        state=row["state"],
        maker=row["maker"],
        maker_role=row["maker_role"],
        reason=row["reason"],
        checker=row["checker"],
        checker_reason=row["checker_reason"],
        created_at=created,
        decided_at=_aware(row["decided_at"]),
    )


def _role_of(conn: Connection, username: str) -> str:
    if username == "system":
        return "system"
    from postloan.security.users import active_user

    return active_user(conn, username).role


def propose(
    conn: Connection,
    *,
    maker: str,
    action: str,
    object_type: str,
    object_id: str,
    payload: Mapping[str, Any],
    amount_minor: int | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> int:
    """File a proposal (state ``pending``) and return its id.

    The maker must be an active user holding the propose permission of the
    action's kind (or ``"system"`` for proposals made by the platform itself).
    """
    kind_of(action)
    if amount_minor is not None and (isinstance(amount_minor, bool) or amount_minor < 0):
        raise ValidationError(f"amount_minor must be a whole number ≥ 0, not {amount_minor!r}")
    maker_role = _role_of(conn, maker)
    check_maker(maker_role, action)
    try:
        body = json.dumps(dict(payload), sort_keys=True, ensure_ascii=False)
    except TypeError as err:
        raise ValidationError(
            f"approval payload must be JSON (ids, numbers, text): {err}"
        ) from None
    new_id = conn.execute(
        insert(APPROVALS)
        .values(
            action=action,
            object_type=object_type,
            object_id=object_id,
            payload=body,
            amount_minor=amount_minor,
            state=ApprovalState.PENDING.value,
            maker=maker,
            maker_role=maker_role,
            reason=reason,
            created_at=now or datetime.now(UTC),
        )
        .returning(APPROVALS.c.id)
    ).scalar_one()
    from postloan.security.users import audit

    audit(
        conn,
        actor=maker,
        role=maker_role,
        action="approval.propose",
        object_type="approval",
        object_id=str(new_id),
        after={
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "amount_minor": amount_minor,
        },
        reason=reason,
    )
    return int(new_id)


def get_approval(conn: Connection, approval_id: int) -> Approval:
    row = conn.execute(select(APPROVALS).where(APPROVALS.c.id == approval_id)).mappings().first()
    if row is None:
        raise NotFound(f"no approval {approval_id}; list them with `postloan approvals list`")
    return _approval(row)


def list_approvals(
    conn: Connection,
    *,
    state: str | None = None,
    maker: str | None = None,
    action_prefix: str | None = None,
    limit: int = 500,
) -> list[Approval]:
    query = select(APPROVALS).order_by(APPROVALS.c.id.desc()).limit(limit)
    if state:
        if state not in {s.value for s in ApprovalState}:
            valid = "|".join(s.value for s in ApprovalState)
            raise ValidationError(f"unknown approval state {state!r}; use {valid}")
        query = query.where(APPROVALS.c.state == state)
    if maker:
        query = query.where(APPROVALS.c.maker == maker)
    if action_prefix:
        query = query.where(APPROVALS.c.action.startswith(action_prefix))
    return [_approval(r) for r in conn.execute(query).mappings()]


def decide(
    conn: Connection,
    approval_id: int,
    *,
    checker: str,
    approve: bool,
    reason: str | None,
    policy: SecurityPolicy | None = None,
    now: datetime | None = None,
) -> Approval:
    """Approve (and apply through the action's handler) or reject a pending proposal.

    PermissionDenied when the checker is the maker, lacks the approve permission
    or the amount limit; ConflictError when the proposal was already decided.
    """
    query = select(APPROVALS).where(APPROVALS.c.id == approval_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFound(f"no approval {approval_id}; list them with `postloan approvals list`")
    current = _approval(row)
    if current.state != ApprovalState.PENDING:
        raise ConflictError(
            f"approval {approval_id} is already {current.state} "
            f"(by {current.checker or 'nobody'}); nothing to decide"
        )
    checker_role = _role_of(conn, checker)
    policy = policy or load_security_policy()
    kind = kind_of(current.action)
    check_checker(
        maker=current.maker,
        checker=checker,
        checker_role=checker_role,
        action=current.action,
        amount_minor=current.amount_minor,
        limit_minor=policy.limit(checker_role, kind),
    )
    if not approve and not (reason and reason.strip()):
        raise ValidationError("a rejection needs a reason the maker can act on")
    handler = None
    if approve:
        handler = _HANDLERS.get(current.action)
        if handler is None:
            load_handlers()
            handler = _HANDLERS.get(current.action)
        if handler is None:
            raise ConfigError(
                f"no handler applies approved {current.action!r} proposals; the owning "
                "module must call postloan.security.approvals.register_handler"
            )
    state = move(
        ApprovalState.PENDING, ApprovalState.APPROVED if approve else ApprovalState.REJECTED
    )
    when = now or datetime.now(UTC)
    done = conn.execute(
        update(APPROVALS)
        .where(APPROVALS.c.id == approval_id, APPROVALS.c.state == ApprovalState.PENDING.value)
        .values(state=state.value, checker=checker, checker_reason=reason, decided_at=when)
    )
    if done.rowcount != 1:
        raise ConflictError(f"approval {approval_id} was decided meanwhile; reload it")
    from postloan.security.users import audit

    audit(
        conn,
        actor=checker,
        role=checker_role,
        action="approval.approve" if approve else "approval.reject",
        object_type="approval",
        object_id=str(approval_id),
        before={"state": ApprovalState.PENDING.value},
        after={"state": state.value, "action": current.action, "maker": current.maker},
        reason=reason,
    )
    decided = get_approval(conn, approval_id)
    if handler is not None:
        handler(conn, decided)
        applied = move(state, ApprovalState.APPLIED)
        conn.execute(
            update(APPROVALS).where(APPROVALS.c.id == approval_id).values(state=applied.value)
        )
        decided = get_approval(conn, approval_id)
    return decided
