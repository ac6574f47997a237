"""Data scope as SQL: the rows of a list a user may see (read-only queries).

:mod:`postloan.security.scope` checks one object; lists need the same rule as a
WHERE clause so that ``total`` and the page agree with what the user may open:
a collector sees the loans, borrowers and cases of their open assigned cases, a
loan officer the loans (and borrowers, cases, alerts) they originated; everyone
else with the permission sees everything.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, select, true

from postloan.security.users import User
from postloan.store import tables as t
from postloan.store.tables_collections import CollectionCase, CollectionCaseLoan


def _collector_loans(user: User) -> Select[Any]:
    return (
        select(CollectionCaseLoan.loan_id)
        .join(CollectionCase, CollectionCase.case_id == CollectionCaseLoan.case_id)
        .where(CollectionCase.assigned_to == user.username, CollectionCase.closed_on.is_(None))
    )


def _officer_borrowers(user: User) -> Select[Any]:
    return select(t.Loan.borrower_id).where(t.Loan.officer_id == user.username)


def loan_filter(user: User, loan_id: Any, officer_id: Any) -> ColumnElement[bool]:
    """Rows whose loan (``loan_id``, ``officer_id`` columns) is within the user's scope."""
    if user.role == "collector":
        return loan_id.in_(_collector_loans(user))  # type: ignore[no-any-return]
    if user.role == "loan_officer":
        return officer_id == user.username  # type: ignore[no-any-return]
    return true()


def loan_id_filter(user: User, loan_id: Any) -> ColumnElement[bool]:
    """Like :func:`loan_filter` for tables that only carry a loan id."""
    if user.role == "collector":
        return loan_id.in_(_collector_loans(user))  # type: ignore[no-any-return]
    if user.role == "loan_officer":
        mine = select(t.Loan.loan_id).where(t.Loan.officer_id == user.username)
        return loan_id.in_(mine)  # type: ignore[no-any-return]
    return true()


def borrower_filter(user: User, borrower_id: Any) -> ColumnElement[bool]:
    if user.role == "collector":
        mine = select(CollectionCase.borrower_id).where(
            CollectionCase.assigned_to == user.username, CollectionCase.closed_on.is_(None)
        )
        return borrower_id.in_(mine)  # type: ignore[no-any-return]
    if user.role == "loan_officer":
        return borrower_id.in_(_officer_borrowers(user))  # type: ignore[no-any-return]
    return true()


def case_filter(user: User) -> ColumnElement[bool]:
    if user.role == "collector":
        return CollectionCase.assigned_to == user.username
    if user.role == "loan_officer":
        return CollectionCase.borrower_id.in_(_officer_borrowers(user))
    return true()


def case_scope_clause(role: str) -> ColumnElement[bool]:
    """:func:`case_filter` for a statement built once per role: the user is the bind
    parameter ``scope_user`` (so the statement and its cache key are reused)."""
    me = bindparam("scope_user", type_=CollectionCase.assigned_to.type)
    if role == "collector":
        return CollectionCase.assigned_to == me
    if role == "loan_officer":
        mine = select(t.Loan.borrower_id).where(t.Loan.officer_id == me)
        return CollectionCase.borrower_id.in_(mine)
    return true()
