"""Every loan's state through the per-loan reference implementation.

This is the slow, obviously-correct path: it turns the store's frames into
domain objects and calls ``loan_state_as_of`` loan by loan. The vectorised
close of business is checked against it, and until that exists the demo and
portfolio summaries use it directly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from postloan.domain.loan_state import LoanState, loan_state_as_of
from postloan.domain.marks import LoanMark, MarkKind
from postloan.domain.policy import ServicingPolicy
from postloan.domain.schedule import Instalment, LoanTerms
from postloan.domain.transactions import Transaction, TxnType
from postloan.feeds.loaders import terms_from_row


@dataclass(frozen=True, slots=True)
class LoanBook:
    """One loan's contract, schedule, transactions and marks as domain values."""

    loan_id: str
    terms: LoanTerms
    schedule: list[Instalment]
    transactions: list[Transaction] = field(default_factory=list)
    marks: list[LoanMark] = field(default_factory=list)


def _grouped(frame: pl.DataFrame) -> dict[str, list[dict[str, object]]]:
    groups: dict[str, list[dict[str, object]]] = defaultdict(list)
    for row in frame.iter_rows(named=True):
        groups[str(row["loan_id"])].append(row)
    return groups


def iter_books(
    loans: pl.DataFrame,
    schedules: pl.DataFrame,
    transactions: pl.DataFrame,
    marks: pl.DataFrame,
) -> Iterator[LoanBook]:
    """Domain values per loan, from frames typed like the store's batch frames."""
    by_schedule = _grouped(schedules.sort("loan_id", "seq"))
    by_txn = _grouped(transactions)
    by_mark = _grouped(marks)
    for row in loans.sort("loan_id").iter_rows(named=True):
        loan_id = row["loan_id"]
        terms = terms_from_row(row)
        schedule = [
            Instalment(
                seq=int(s["seq"]),  # type: ignore[call-overload]
                due_date=s["due_date"],  # type: ignore[arg-type]
                principal=int(s["principal_due"]),  # type: ignore[call-overload]
                interest=int(s["interest_due"]),  # type: ignore[call-overload]
                fee=int(s["fee_due"]),  # type: ignore[call-overload]
                balance=int(s["balance"]),  # type: ignore[call-overload]
            )
            for s in by_schedule.get(loan_id, [])
        ]
        txns = [
            Transaction(
                txn_id=str(t["txn_id"]),
                loan_id=loan_id,
                type=TxnType(t["type"]),
                amount=int(t["amount"]),  # type: ignore[call-overload]
                value_date=t["value_date"],  # type: ignore[arg-type]
                channel=str(t["channel"] or ""),
                reverses=t["reverses"] or None,  # type: ignore[arg-type]
            )
            for t in by_txn.get(loan_id, [])
        ]
        loan_marks = [
            LoanMark(
                loan_id=loan_id,
                kind=MarkKind(m["kind"]),
                start_date=m["start_date"],  # type: ignore[arg-type]
                end_date=m["end_date"],  # type: ignore[arg-type]
                note=str(m["note"] or ""),
            )
            for m in by_mark.get(loan_id, [])
        ]
        yield LoanBook(loan_id, terms, schedule, txns, loan_marks)


def reference_states(
    books: list[LoanBook],
    business_date: date,
    policy: ServicingPolicy,
    progress: Callable[[int], None] | None = None,
) -> list[LoanState]:
    """``loan_state_as_of`` for every loan disbursed on or before ``business_date``."""
    states = []
    for book in books:
        if book.terms.disbursement_date <= business_date:
            states.append(
                loan_state_as_of(
                    book.terms,
                    book.schedule,
                    [t for t in book.transactions if t.value_date <= business_date],
                    book.marks,
                    business_date,
                    policy,
                    loan_id=book.loan_id,
                )
            )
        if progress is not None:
            progress(1)
    return states


#: The loan-state frame: one row per loan disbursed on or before the business date,
#: every ``LoanState`` field but the schedule. Amounts are Int64 minor units. The
#: vectorised kernel, the Spark engine and the snapshot store all use this schema.
STATE_SCHEMA: dict[str, pl.DataType] = {
    "loan_id": pl.Utf8(),
    "currency": pl.Utf8(),
    "business_date": pl.Date(),
    "status": pl.Utf8(),
    "days_past_due": pl.Int32(),
    "overdue_since": pl.Date(),
    "bucket": pl.Utf8(),
    "classification": pl.Utf8(),
    "classification_reasons": pl.List(pl.Utf8()),
    "ifrs9_stage": pl.Int8(),
    "principal_outstanding": pl.Int64(),
    "overdue_principal": pl.Int64(),
    "overdue_interest": pl.Int64(),
    "overdue_fee": pl.Int64(),
    "interest_outstanding": pl.Int64(),
    "fee_outstanding": pl.Int64(),
    "penalty_outstanding": pl.Int64(),
    "principal_paid": pl.Int64(),
    "interest_paid": pl.Int64(),
    "fee_paid": pl.Int64(),
    "penalty_paid": pl.Int64(),
    "penalty_charged": pl.Int64(),
    "waived": pl.Int64(),
    "written_off": pl.Int64(),
    "recovered": pl.Int64(),
    "credit_balance": pl.Int64(),
    "advance_balance": pl.Int64(),
    "total_paid": pl.Int64(),
    "last_payment_date": pl.Date(),
    "failed_debits": pl.Int32(),
    "next_due_date": pl.Date(),
    "next_due_amount": pl.Int64(),
}
STATE_COLUMNS = tuple(STATE_SCHEMA)


def states_frame(states: list[LoanState]) -> pl.DataFrame:
    """Loan states as a ``STATE_SCHEMA`` frame sorted by loan id."""
    rows = []
    for state in states:
        row = {k: getattr(state, k) for k in STATE_COLUMNS}
        row["status"] = str(row["status"])
        row["classification"] = str(row["classification"])
        row["classification_reasons"] = list(row["classification_reasons"])
        rows.append(row)
    return pl.DataFrame(rows, schema=STATE_SCHEMA).sort("loan_id")


def reference_states_frame(
    loans: pl.DataFrame,
    schedules: pl.DataFrame,
    transactions: pl.DataFrame,
    marks: pl.DataFrame,
    business_date: date,
    policy: ServicingPolicy,
) -> pl.DataFrame:
    """The per-loan reference over whole-loan frames (the store's batch frames):
    the oracle the vectorised kernel and the Spark engine must reproduce exactly."""
    books = list(iter_books(loans, schedules, transactions, marks))
    return states_frame(reference_states(books, business_date, policy))
