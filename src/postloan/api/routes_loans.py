"""Loans: scope-filtered list, current state, state history, schedule, transactions.

``GET /loans/{loan_id}`` (the terms) lives in :mod:`postloan.api.routes_users`;
these routes add the rest of the loan page. Every object route checks
``loan.view`` and the loan's data scope first (404 outside it).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from postloan.api import queries_loans as q
from postloan.api.deps import Ctx, require
from postloan.api.pagination import Page, PageParams, page_params
from postloan.security.scope import authorize_object
from postloan.security.users import User
from postloan.store.snapshots import SnapshotStore

router = APIRouter(prefix="/api/v1", tags=["loans"])
Viewer = Annotated[User, Depends(require("loan.view"))]
Paging = Annotated[PageParams, Depends(page_params)]
NO_NUL = r"^[^\x00]+$"
LoanId = Annotated[str, Path(min_length=1, max_length=64, pattern=NO_NUL)]
Filter = Annotated[str | None, Query(min_length=1, max_length=64, pattern=NO_NUL)]


class LoanRow(BaseModel):
    loan_id: str
    borrower_id: str
    product: str
    principal_minor: int
    currency: str
    officer_id: str | None
    disbursement_date: date
    state_date: date | None
    days_past_due: int | None
    bucket: str | None
    classification: str | None
    principal_outstanding: int | None


class LoanStateOut(BaseModel):
    """The loan on ``business_date`` (the last close, or a real-time payment since)."""

    loan_id: str
    business_date: date
    days_past_due: int
    overdue_since: date | None
    bucket: str
    classification: str
    ifrs9_stage: int
    principal_outstanding: int
    overdue_principal: int
    overdue_interest: int
    penalty_outstanding: int


class StateHistoryRow(BaseModel):
    business_date: date
    status: str
    days_past_due: int
    bucket: str
    classification: str
    ifrs9_stage: int
    principal_outstanding: int
    overdue_principal: int
    overdue_interest: int
    penalty_outstanding: int
    total_paid: int
    next_due_date: date | None
    next_due_amount: int


class InstalmentOut(BaseModel):
    seq: int
    due_date: date
    principal_due: int
    interest_due: int
    fee_due: int
    balance: int
    source: str


class TransactionOut(BaseModel):
    txn_id: str
    type: str
    amount: int
    value_date: date
    channel: str | None
    reverses: str | None


@router.get("/loans", response_model=Page[LoanRow])
def loans(
    ctx: Ctx,
    user: Viewer,
    paging: Paging,
    borrower_id: Filter = None,
    product: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
    officer_id: Filter = None,
    bucket: Filter = None,
    classification: Filter = None,
    min_dpd: Annotated[int | None, Query(ge=0, le=100_000)] = None,
) -> Page[LoanRow]:
    """Loans in the caller's scope with their current state, by loan id."""
    with ctx.store.begin() as conn:
        rows, total = q.list_loans(
            conn,
            user,
            paging,
            borrower_id=borrower_id,
            product=product,
            officer_id=officer_id,
            bucket=bucket,
            classification=classification,
            min_dpd=min_dpd,
        )
    return Page(items=[LoanRow(**r) for r in rows], total=total, page=paging.page, size=paging.size)


@router.get("/loans/{loan_id}/state", response_model=LoanStateOut)
def loan_state(loan_id: LoanId, ctx: Ctx, user: Viewer) -> LoanStateOut:
    """Where the loan stands now (404 before its first close of business)."""
    with ctx.store.begin() as conn:
        authorize_object(conn, user, "loan.view", "loan", loan_id)
        state = q.current_state(conn, loan_id)
    if state is None:
        from postloan.security.scope import not_found

        raise not_found("loan state", loan_id)
    return LoanStateOut(loan_id=loan_id, **state)


@router.get("/loans/{loan_id}/history", response_model=list[StateHistoryRow])
def loan_history(
    loan_id: LoanId,
    ctx: Ctx,
    user: Viewer,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> list[StateHistoryRow]:
    """The loan's state at each closed business date (``?from=&to=``), oldest first."""
    with ctx.store.begin() as conn:
        authorize_object(conn, user, "loan.view", "loan", loan_id)
    rows = q.state_history(SnapshotStore(ctx.store.settings.snapshot_dir), loan_id, start, end)
    return [StateHistoryRow(**r) for r in rows]


@router.get("/loans/{loan_id}/schedule", response_model=list[InstalmentOut])
def loan_schedule(loan_id: LoanId, ctx: Ctx, user: Viewer) -> list[InstalmentOut]:
    with ctx.store.begin() as conn:
        authorize_object(conn, user, "loan.view", "loan", loan_id)
        return [InstalmentOut(**r) for r in q.schedule(conn, loan_id)]


@router.get("/loans/{loan_id}/transactions", response_model=Page[TransactionOut])
def loan_transactions(
    loan_id: LoanId,
    ctx: Ctx,
    user: Viewer,
    paging: Paging,
    type: Filter = None,  # noqa: A002 - the query parameter's name
) -> Page[TransactionOut]:
    """The loan's transactions by value date."""
    with ctx.store.begin() as conn:
        authorize_object(conn, user, "loan.view", "loan", loan_id)
        rows, total = q.transactions(conn, loan_id, paging, type)
    return Page(
        items=[TransactionOut(**r) for r in rows], total=total, page=paging.page, size=paging.size
    )
