"""Read loans, schedules, transactions, marks and borrowers back as domain values.

Functions take a ``Connection`` so callers choose the transaction. Frames for
the batch (``loans_frame`` …) use the same typed columns as the validated feeds.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
from sqlalchemy import Connection, select

from postloan.domain.calendar import Frequency
from postloan.domain.daycount import DayCount
from postloan.domain.errors import NotFound, ValidationError
from postloan.domain.marks import LoanMark, MarkKind
from postloan.domain.schedule import Instalment, LoanTerms, Method
from postloan.domain.transactions import Transaction, TxnType
from postloan.security.pii import MASKS, PiiCipher
from postloan.store import tables as t
from postloan.store.bulk import read_frame

LOANS_FRAME_SCHEMA: dict[str, pl.DataType] = {
    "loan_id": pl.Utf8(),
    "borrower_id": pl.Utf8(),
    "product": pl.Utf8(),
    "principal": pl.Int64(),
    "annual_rate": pl.Utf8(),
    "term": pl.Int32(),
    "frequency": pl.Utf8(),
    "day_count": pl.Utf8(),
    "method": pl.Utf8(),
    "disbursement_date": pl.Date(),
    "first_due_date": pl.Date(),
    "officer_id": pl.Utf8(),
    "branch": pl.Utf8(),
    "currency": pl.Utf8(),
    "fee_per_period": pl.Int64(),
    # origination attributes the risk features read (not used by the servicing rules)
    "region": pl.Utf8(),
    "channel": pl.Utf8(),
    "monthly_income": pl.Int64(),  # the borrower's, from the borrowers feed
}


def get_loan_terms(conn: Connection, loan_id: str) -> LoanTerms:
    loan = conn.execute(select(t.Loan.__table__).where(t.Loan.loan_id == loan_id)).first()
    if loan is None:
        raise NotFound(f"loan {loan_id!r} is not in the store; import it with `postloan import`")
    return LoanTerms(
        principal=loan.principal,
        annual_rate=Decimal(loan.annual_rate),
        term=loan.term,
        frequency=Frequency.parse(loan.frequency),
        day_count=DayCount.parse(loan.day_count),
        method=Method.parse(loan.method),
        disbursement_date=loan.disbursement_date,
        first_due_date=loan.first_due_date,
        fee_per_period=loan.fee_per_period,
        currency=loan.currency,
    )


def get_schedule(conn: Connection, loan_id: str) -> list[Instalment]:
    s = t.ScheduleInstalment
    rows = conn.execute(select(s.__table__).where(s.loan_id == loan_id).order_by(s.seq)).all()
    return [
        Instalment(r.seq, r.due_date, r.principal_due, r.interest_due, r.fee_due, r.balance)
        for r in rows
    ]


def get_transactions(conn: Connection, loan_id: str) -> list[Transaction]:
    """The loan's transactions by value date (then txn_id, the feed's stable key)."""
    x = t.Transaction
    rows = conn.execute(
        select(x.__table__).where(x.loan_id == loan_id).order_by(x.value_date, x.txn_id)
    ).all()
    return [
        Transaction(
            txn_id=r.txn_id,
            loan_id=r.loan_id,
            type=TxnType(r.type),
            amount=r.amount,
            value_date=r.value_date,
            channel=r.channel or "",
            reverses=r.reverses,
        )
        for r in rows
    ]


def get_marks(conn: Connection, loan_id: str) -> list[LoanMark]:
    m = t.LoanMark
    rows = conn.execute(
        select(m.__table__).where(m.loan_id == loan_id).order_by(m.start_date, m.mark_id)
    ).all()
    return [
        LoanMark(r.loan_id, MarkKind(r.kind), r.start_date, r.end_date, r.note or "") for r in rows
    ]


def get_loan_flags(conn: Connection, loan_id: str) -> dict[str, str]:
    f = t.LoanFlag
    rows = conn.execute(select(f.rule, f.reason).where(f.loan_id == loan_id)).all()
    return {r.rule: r.reason for r in rows}


def loans_frame(conn: Connection) -> pl.DataFrame:
    """Every loan, typed like the validated loans feed (for the batch)."""
    cols = ", ".join(f"b.{c}" if c == "monthly_income" else f"l.{c}" for c in LOANS_FRAME_SCHEMA)
    sql = (
        f"SELECT {cols} FROM loans l LEFT JOIN borrowers b ON b.borrower_id = l.borrower_id "
        "ORDER BY l.loan_id"
    )
    return read_frame(conn, sql, LOANS_FRAME_SCHEMA)


def schedules_frame(conn: Connection) -> pl.DataFrame:
    return read_frame(
        conn,
        "SELECT loan_id, seq, due_date, principal_due, interest_due, fee_due, balance, source "
        "FROM schedule_instalments ORDER BY loan_id, seq",
        {
            "loan_id": pl.Utf8(),
            "seq": pl.Int32(),
            "due_date": pl.Date(),
            "principal_due": pl.Int64(),
            "interest_due": pl.Int64(),
            "fee_due": pl.Int64(),
            "balance": pl.Int64(),
            "source": pl.Utf8(),
        },
    )


def transactions_frame(conn: Connection) -> pl.DataFrame:
    return read_frame(
        conn,
        "SELECT txn_id, loan_id, type, amount, value_date, channel, reverses "
        "FROM transactions ORDER BY loan_id, value_date, txn_id",
        {
            "txn_id": pl.Utf8(),
            "loan_id": pl.Utf8(),
            "type": pl.Utf8(),
            "amount": pl.Int64(),
            "value_date": pl.Date(),
            "channel": pl.Utf8(),
            "reverses": pl.Utf8(),
        },
    )


def marks_frame(conn: Connection) -> pl.DataFrame:
    return read_frame(
        conn,
        "SELECT mark_id, loan_id, kind, start_date, end_date, note FROM loan_marks "
        "ORDER BY loan_id, start_date, mark_id",
        {
            "mark_id": pl.Utf8(),
            "loan_id": pl.Utf8(),
            "kind": pl.Utf8(),
            "start_date": pl.Date(),
            "end_date": pl.Date(),
            "note": pl.Utf8(),
        },
    )


_BORROWER_PII = ("national_id", "phone", "address")


def find_borrowers(conn: Connection, cipher: PiiCipher, field: str, value: str) -> list[str]:
    """Borrower ids whose ``field`` (national_id, phone, address) equals ``value``,
    found through the blind index: the plaintext is never compared in SQL."""
    if field not in _BORROWER_PII:
        raise ValidationError(f"cannot look borrowers up by {field!r}; use national_id or phone")
    b = t.Borrower.__table__
    column = b.c[f"{field}_bidx"]
    rows = conn.execute(
        select(b.c.borrower_id).where(column == cipher.blind_index(field, value))
    ).all()
    return sorted(r.borrower_id for r in rows)


def borrower_view(
    conn: Connection, cipher: PiiCipher, borrower_id: str, *, unmask: bool = False
) -> dict[str, str | int | date | None]:
    """A borrower with sensitive fields masked (or in clear when ``unmask``: the caller
    must have checked the permission and written the audit entry)."""
    row = conn.execute(
        select(t.Borrower.__table__).where(t.Borrower.borrower_id == borrower_id)
    ).first()
    if row is None:
        raise NotFound(f"borrower {borrower_id!r} is not in the store")
    data = dict(row._mapping)
    view: dict[str, str | int | date | None] = {
        k: v for k, v in data.items() if not k.endswith(("_enc", "_bidx"))
    }
    for name in _BORROWER_PII:
        token = data[f"{name}_enc"]
        if token is None:
            view[name] = None
            continue
        clear = cipher.decrypt(name, token)
        view[name] = clear if unmask else MASKS[name](clear)
    return view
