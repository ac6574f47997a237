"""Authorisation in the service layer: a permission, then the data scope of the object.

- a collector sees only the cases (and their borrowers and loans) assigned to them;
- a loan officer sees only their own borrowers (``loans.officer_id``);
- everyone else with the permission sees everything (an auditor: read permissions only).

:func:`authorize` raises ``PermissionDenied`` (HTTP 403) when the role lacks the
permission and ``NotFound`` (HTTP 404) when the object is outside the user's scope,
so that nobody learns which objects exist beyond their scope.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, text

from postloan.domain.errors import NotFound, PermissionDenied
from postloan.security.permissions import PERMISSIONS, has_permission
from postloan.security.users import User


@dataclass(frozen=True, slots=True)
class Scope:
    """Who an object belongs to, as far as data scope is concerned."""

    object_type: str
    object_id: str
    collectors: frozenset[str] = frozenset()
    officers: frozenset[str] = frozenset()


def in_scope(user: User, obj: Scope) -> bool:
    if user.role == "collector":
        return user.username in obj.collectors
    if user.role == "loan_officer":
        return user.username in obj.officers
    return True


def not_found(object_type: str, object_id: str) -> NotFound:
    return NotFound(f"no {object_type} {object_id!r}")


def authorize(user: User, permission: str, obj: Scope | None = None) -> None:
    """Raise unless ``user`` may do ``permission`` (on ``obj``, when given)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")  # a programming error
    if not user.active:
        raise PermissionDenied(f"user {user.username!r} is disabled")
    if not has_permission(user.role, permission):
        raise PermissionDenied(f"role {user.role!r} may not {permission!r}")
    if obj is not None and not in_scope(user, obj):
        raise not_found(obj.object_type, obj.object_id)


Resolver = Callable[[Connection, str], Scope | None]
_RESOLVERS: dict[str, Resolver] = {}


def register_scope(object_type: str, resolver: Resolver) -> None:
    """Teach :func:`load_scope` who owns objects of ``object_type`` (None: no such object)."""
    _RESOLVERS[object_type] = resolver


def load_scope(conn: Connection, object_type: str, object_id: str) -> Scope:
    scope = _RESOLVERS[object_type](conn, object_id)
    if scope is None:
        raise not_found(object_type, object_id)
    return scope


def authorize_object(
    conn: Connection, user: User, permission: str, object_type: str, object_id: str
) -> Scope:
    """:func:`authorize` on the stored object; a missing object is NotFound for everyone."""
    authorize(user, permission)
    scope = load_scope(conn, object_type, object_id)
    authorize(user, permission, scope)
    return scope


def _column(conn: Connection, sql: str, **params: str | int) -> frozenset[str]:
    return frozenset(r[0] for r in conn.execute(text(sql), params) if r[0] is not None)


_OPEN_CASE_COLLECTORS_OF_LOAN = (
    "SELECT c.assigned_to FROM collection_cases c JOIN collection_case_loans cl "
    "ON cl.case_id = c.case_id WHERE cl.loan_id = :id AND c.closed_on IS NULL"
)


def _loan_scope(conn: Connection, loan_id: str) -> Scope | None:
    officers = conn.execute(
        text("SELECT officer_id FROM loans WHERE loan_id = :id"), {"id": loan_id}
    ).first()
    if officers is None:
        return None
    collectors = _column(conn, _OPEN_CASE_COLLECTORS_OF_LOAN, id=loan_id)
    return Scope("loan", loan_id, collectors, frozenset({officers[0]} - {None}))


def _borrower_scope(conn: Connection, borrower_id: str) -> Scope | None:
    known = conn.execute(
        text("SELECT 1 FROM borrowers WHERE borrower_id = :id"), {"id": borrower_id}
    ).first()
    if known is None:
        return None
    officers = _column(conn, "SELECT officer_id FROM loans WHERE borrower_id = :id", id=borrower_id)
    collectors = _column(
        conn,
        "SELECT assigned_to FROM collection_cases WHERE borrower_id = :id AND closed_on IS NULL",
        id=borrower_id,
    )
    return Scope("borrower", borrower_id, collectors, officers)


# one round trip: the case's collector and the officers of its borrower's loans
_CASE_AND_OFFICERS = text(
    "SELECT c.assigned_to, l.officer_id FROM collection_cases c "
    "LEFT JOIN loans l ON l.borrower_id = c.borrower_id WHERE c.case_id = :id"
)


def _case_scope(conn: Connection, case_id: str) -> Scope | None:
    if not case_id.isdigit():
        return None
    rows = conn.execute(_CASE_AND_OFFICERS, {"id": int(case_id)}).all()
    if not rows:
        return None
    officers = frozenset(r[1] for r in rows if r[1] is not None)
    return Scope("case", case_id, frozenset({rows[0][0]} - {None}), officers)


register_scope("loan", _loan_scope)
register_scope("borrower", _borrower_scope)
register_scope("case", _case_scope)
