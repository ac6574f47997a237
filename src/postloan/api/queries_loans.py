"""Read-only queries for the loan and borrower endpoints (scope-filtered lists,
current state, state history from the snapshots, schedule, transactions,
borrower 360). Writes go through the owning services, never through here."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import Connection, func, select

from postloan.api.pagination import PageParams
from postloan.api.queries_scope import borrower_filter, case_filter, loan_filter
from postloan.domain.errors import NotFound, ValidationError
from postloan.security.pii import MASKS, PiiCipher
from postloan.security.unmask import borrower_for
from postloan.security.users import User
from postloan.store import tables as t
from postloan.store.repository import find_borrowers
from postloan.store.snapshots import SnapshotStore
from postloan.store.tables_collections import CollectionCase, CollectionContact

L = t.Loan
S = t.LoanStateCurrent
STATE_FIELDS = (
    "business_date",
    "days_past_due",
    "overdue_since",
    "bucket",
    "classification",
    "ifrs9_stage",
    "principal_outstanding",
    "overdue_principal",
    "overdue_interest",
    "penalty_outstanding",
)
HISTORY_FIELDS = (
    "business_date",
    "status",
    "days_past_due",
    "bucket",
    "classification",
    "ifrs9_stage",
    "principal_outstanding",
    "overdue_principal",
    "overdue_interest",
    "penalty_outstanding",
    "total_paid",
    "next_due_date",
    "next_due_amount",
)


def _jsonable(row: Any) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in dict(row).items()}


def _count(conn: Connection, query: Any) -> int:
    return int(conn.execute(select(func.count()).select_from(query.subquery())).scalar_one())


def list_loans(
    conn: Connection,
    user: User,
    page: PageParams,
    *,
    borrower_id: str | None = None,
    product: str | None = None,
    officer_id: str | None = None,
    bucket: str | None = None,
    classification: str | None = None,
    min_dpd: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Loans in the user's scope with their current state, by loan id; and the total."""
    query = (
        select(
            L.loan_id,
            L.borrower_id,
            L.product,
            L.principal.label("principal_minor"),
            L.currency,
            L.officer_id,
            L.disbursement_date,
            S.business_date.label("state_date"),
            S.days_past_due,
            S.bucket,
            S.classification,
            S.principal_outstanding,
        )
        .outerjoin(S, S.loan_id == L.loan_id)
        .where(loan_filter(user, L.loan_id, L.officer_id))
    )
    for column, value in [
        (L.borrower_id, borrower_id),
        (L.product, product),
        (L.officer_id, officer_id),
        (S.bucket, bucket),
        (S.classification, classification),
    ]:
        if value is not None:
            query = query.where(column == value)
    if min_dpd is not None:
        query = query.where(S.days_past_due >= min_dpd)
    total = _count(conn, query)
    rows = conn.execute(query.order_by(L.loan_id).offset(page.offset).limit(page.size))
    return [_jsonable(r._mapping) for r in rows], total


def current_state(conn: Connection, loan_id: str) -> dict[str, Any] | None:
    """The loan's row of ``loan_state_current`` (None before its first close)."""
    row = conn.execute(
        select(*[getattr(S, c) for c in STATE_FIELDS]).where(S.loan_id == loan_id)
    ).first()
    return _jsonable(row._mapping) if row is not None else None


def state_history(
    snapshots: SnapshotStore, loan_id: str, start: date | None, end: date | None
) -> list[dict[str, Any]]:
    """The loan's closed states, oldest first, from the ``loan_state`` snapshots."""
    if start is not None and end is not None and start > end:
        raise ValidationError(f"from {start} is after to {end}")
    try:
        lazy = snapshots.scan("loan_state", start, end)
    except NotFound:
        return []
    frame = (
        lazy.filter(pl.col("loan_id") == loan_id)
        .select(list(HISTORY_FIELDS))
        .sort("business_date")
        .collect()
    )
    return [_jsonable(r) for r in frame.iter_rows(named=True)]


def schedule(conn: Connection, loan_id: str) -> list[dict[str, Any]]:
    s = t.ScheduleInstalment
    rows = conn.execute(
        select(
            s.seq,
            s.due_date,
            s.principal_due,
            s.interest_due,
            s.fee_due,
            s.balance,
            s.source,
        )
        .where(s.loan_id == loan_id)
        .order_by(s.seq)
    )
    return [_jsonable(r._mapping) for r in rows]


def transactions(
    conn: Connection, loan_id: str, page: PageParams, txn_type: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    x = t.Transaction
    query = select(x.txn_id, x.type, x.amount, x.value_date, x.channel, x.reverses).where(
        x.loan_id == loan_id
    )
    if txn_type is not None:
        query = query.where(x.type == txn_type)
    total = _count(conn, query)
    rows = conn.execute(query.order_by(x.value_date, x.txn_id).offset(page.offset).limit(page.size))
    return [_jsonable(r._mapping) for r in rows], total


def search_borrowers(
    conn: Connection,
    cipher: PiiCipher,
    user: User,
    page: PageParams,
    *,
    national_id: str | None = None,
    phone: str | None = None,
    region: str | None = None,
) -> tuple[list[str], int]:
    """Borrower ids in scope; an exact national id or phone goes through the blind index."""
    b = t.Borrower
    query = select(b.borrower_id).where(borrower_filter(user, b.borrower_id))
    if national_id is not None:
        query = query.where(
            b.borrower_id.in_(find_borrowers(conn, cipher, "national_id", national_id))
        )
    if phone is not None:
        query = query.where(b.borrower_id.in_(find_borrowers(conn, cipher, "phone", phone)))
    if region is not None:
        query = query.where(b.region == region)
    total = _count(conn, query)
    rows = conn.execute(query.order_by(b.borrower_id).offset(page.offset).limit(page.size))
    return [r[0] for r in rows], total


def borrower_360(
    conn: Connection,
    cipher: PiiCipher,
    user: User,
    borrower_id: str,
    *,
    unmask: bool = False,
    reason: str | None = None,
) -> dict[str, Any]:
    """The borrower (masked unless unmasked with a reason, audited), their loans with
    current state, collection cases, contact persons (masked) and contact history."""
    person = _jsonable(borrower_for(conn, cipher, user, borrower_id, unmask=unmask, reason=reason))
    loans = conn.execute(
        select(
            L.loan_id,
            L.product,
            L.principal.label("principal_minor"),
            L.currency,
            L.officer_id,
            L.disbursement_date,
            S.days_past_due,
            S.bucket,
            S.classification,
            S.principal_outstanding,
        )
        .outerjoin(S, S.loan_id == L.loan_id)
        .where(L.borrower_id == borrower_id, loan_filter(user, L.loan_id, L.officer_id))
        .order_by(L.loan_id)
    )
    c = CollectionCase
    cases = conn.execute(
        select(c.case_id, c.state, c.opened_on, c.closed_on, c.bucket, c.assigned_to, c.version)
        .where(c.borrower_id == borrower_id, case_filter(user))
        .order_by(c.case_id)
    )
    case_rows = [_jsonable(r._mapping) for r in cases]
    bc = t.BorrowerContact
    contacts = []
    for r in conn.execute(
        select(bc.id, bc.kind, bc.name, bc.relation, bc.phone_enc)
        .where(bc.borrower_id == borrower_id)
        .order_by(bc.id)
    ):
        phone = MASKS["phone"](cipher.decrypt("phone", r.phone_enc)) if r.phone_enc else None
        contacts.append(
            {"id": r.id, "kind": r.kind, "name": r.name, "relation": r.relation, "phone": phone}
        )
    cc = CollectionContact
    history = conn.execute(
        select(cc.contact_id, cc.case_id, cc.collector, cc.channel, cc.outcome, cc.business_date)
        .where(cc.case_id.in_([r["case_id"] for r in case_rows]))
        .order_by(cc.contact_id.desc())
        .limit(100)
    )
    return {
        "borrower": person,
        "loans": [_jsonable(r._mapping) for r in loans],
        "cases": case_rows,
        "contacts": contacts,
        "contact_history": [_jsonable(r._mapping) for r in history],
    }
