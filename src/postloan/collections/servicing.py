"""Read a loan through the servicing core for the collections services (an adapter).

Restructurings, waivers, write-offs and recoveries all need the loan as the
servicing core sees it on a date: its terms, schedule, transactions, marks, the
replayed ledger and the resulting :class:`LoanState`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, cast

from sqlalchemy import Connection, Table, insert, select

from postloan.domain.errors import ConflictError, ValidationError
from postloan.domain.loan_state import LoanState, LoanStatus, loan_state_as_of
from postloan.domain.marks import LoanMark
from postloan.domain.policy import ServicingPolicy
from postloan.domain.replay import replay
from postloan.domain.schedule import Instalment, LoanTerms
from postloan.domain.transactions import Transaction, TxnType
from postloan.store import tables as t
from postloan.store.repository import get_loan_terms, get_marks, get_schedule, get_transactions

if TYPE_CHECKING:
    from postloan.store.db import Store

TXNS = cast(Table, t.Transaction.__table__)


@dataclass(frozen=True, slots=True)
class LoanView:
    loan_id: str
    borrower_id: str
    terms: LoanTerms
    schedule: list[Instalment]
    transactions: list[Transaction]
    marks: list[LoanMark]
    state: LoanState
    policy: ServicingPolicy

    @property
    def charged_off(self) -> bool:
        return self.state.status is LoanStatus.CHARGED_OFF

    @property
    def exposure(self) -> int:
        """What the borrower owes now: principal, interest and fee due, penalty."""
        s = self.state
        return s.principal_outstanding + s.overdue_interest + s.overdue_fee + s.penalty_outstanding


def load_loan(
    conn: Connection, loan_id: str, on: date, policy: ServicingPolicy | None = None
) -> LoanView:
    from postloan.policy_config import load_policy

    policy = policy or load_policy()
    terms = get_loan_terms(conn, loan_id)
    borrower = conn.execute(
        select(t.Loan.__table__.c.borrower_id).where(t.Loan.__table__.c.loan_id == loan_id)
    ).scalar_one()
    schedule = get_schedule(conn, loan_id)
    txns = get_transactions(conn, loan_id)
    marks = get_marks(conn, loan_id)
    state = loan_state_as_of(terms, schedule, txns, marks, on, policy, loan_id=loan_id)
    return LoanView(loan_id, borrower, terms, schedule, txns, marks, state, policy)


def arrears_by_instalment(view: LoanView, on: date) -> dict[int, tuple[int, int, int]]:
    """Unpaid (principal, interest, fee) of each instalment due before ``on``."""
    walk = replay(view.terms, view.schedule, view.transactions, view.marks, on, view.policy)
    return {
        i.seq: (i.principal, i.interest, i.fee)
        for i in walk.ledger.items
        if i.seq > 0 and i.due_date < on and (i.principal or i.interest or i.fee)
    }


def future_principal(view: LoanView, on: date) -> int:
    walk = replay(view.terms, view.schedule, view.transactions, view.marks, on, view.policy)
    return sum(i.principal for i in walk.ledger.items if i.due_date >= on)


def post_transaction(
    conn: Connection,
    *,
    txn_id: str,
    loan_id: str,
    kind: TxnType,
    amount: int,
    value_date: date,
    channel: str,
) -> None:
    """Insert one transaction for the servicing core; the same id twice is a conflict
    unless it is the very same transaction (an idempotent re-run)."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationError(f"an amount is a whole number of minor units > 0, not {amount!r}")
    found = conn.execute(select(TXNS).where(TXNS.c.txn_id == txn_id)).mappings().first()
    if found is not None:
        same = (found["loan_id"], found["type"], found["amount"], found["value_date"]) == (
            loan_id,
            kind.value,
            amount,
            value_date,
        )
        if same:
            return
        raise ConflictError(f"transaction {txn_id} already exists with other values")
    mark_book_stale()
    conn.execute(
        insert(TXNS).values(
            txn_id=txn_id,
            loan_id=loan_id,
            type=kind.value,
            amount=amount,
            value_date=value_date,
            channel=channel,
            reverses=None,
            import_run_id=None,
        )
    )


STALE_MARKER = "STALE"


def mark_book_stale() -> None:
    """Note that the store's loans, schedules, transactions or marks changed outside an
    import, so the close of business must rebuild its Parquet book mirror first.

    Written inside the caller's transaction: if it rolls back, the only cost is one
    unneeded rebuild.
    """
    from postloan.batch.book import book_dir
    from postloan.config import load_settings

    folder = book_dir(load_settings().home)
    if folder.exists():
        (folder / STALE_MARKER).write_text("changed by collections\n", encoding="utf-8")


def refresh_book_if_stale(store: Store) -> bool:
    """Rebuild the book mirror when :func:`mark_book_stale` was called since the last
    build; True when it did. Call it after the changing transaction committed."""
    from postloan.batch.book import book_dir
    from postloan.batch.pipeline import refresh_mirror

    marker = book_dir(store.settings.home) / STALE_MARKER
    if not marker.exists():
        return False
    refresh_mirror(store)  # rewrites the folder by rename: the marker goes with it
    marker.unlink(missing_ok=True)
    return True
