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


STATE_COLUMNS = (
    "loan_id",
    "status",
    "days_past_due",
    "overdue_since",
    "bucket",
    "classification",
    "ifrs9_stage",
    "principal_outstanding",
    "overdue_principal",
    "overdue_interest",
    "overdue_fee",
    "penalty_outstanding",
    "advance_balance",
    "total_paid",
    "failed_debits",
)


def states_frame(states: list[LoanState]) -> pl.DataFrame:
    """Loan states as a frame (amounts Int64 minor units), ready for the snapshot store."""
    rows = [{k: getattr(s, k) for k in STATE_COLUMNS} for s in states]
    frame = pl.DataFrame(
        rows,
        schema={
            "loan_id": pl.Utf8,
            "status": pl.Utf8,
            "days_past_due": pl.Int32,
            "overdue_since": pl.Date,
            "bucket": pl.Utf8,
            "classification": pl.Utf8,
            "ifrs9_stage": pl.Int8,
            "principal_outstanding": pl.Int64,
            "overdue_principal": pl.Int64,
            "overdue_interest": pl.Int64,
            "overdue_fee": pl.Int64,
            "penalty_outstanding": pl.Int64,
            "advance_balance": pl.Int64,
            "total_paid": pl.Int64,
            "failed_debits": pl.Int32,
        },
    )
    return frame
