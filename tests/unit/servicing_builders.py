"""Small builders for the servicing tests: a loan, its transactions, marks, its state."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from postloan.domain.calendar import Frequency
from postloan.domain.daycount import DayCount
from postloan.domain.loan_state import LoanState, loan_state_as_of
from postloan.domain.marks import LoanMark, MarkKind
from postloan.domain.policy import ServicingPolicy
from postloan.domain.schedule import Instalment, LoanTerms, Method, generate_schedule
from postloan.domain.transactions import Transaction, TxnType

LOAN = "L1"
START = date(2024, 1, 15)
_ids = itertools.count(1)


def loan(
    principal: int = 1_200_000,
    rate: str = "0.12",
    term: int = 12,
    method: Method = Method.ANNUITY,
    day_count: DayCount = DayCount.THIRTY_360,
    frequency: str = "monthly",
    start: date = START,
    fee: int = 0,
) -> tuple[LoanTerms, list[Instalment]]:
    terms = LoanTerms(
        principal=principal,
        annual_rate=Decimal(rate),
        term=term,
        frequency=Frequency.parse(frequency),
        day_count=day_count,
        method=method,
        disbursement_date=start,
        fee_per_period=fee,
    )
    return terms, generate_schedule(terms)


def txn(
    kind: TxnType, amount: int, day: date, txn_id: str | None = None, reverses: str | None = None
) -> Transaction:
    return Transaction(txn_id or f"T{next(_ids)}", LOAN, kind, amount, day, reverses=reverses)


def repay(amount: int, day: date, txn_id: str | None = None) -> Transaction:
    return txn(TxnType.REPAYMENT, amount, day, txn_id)


def pay_on_time(schedule: Sequence[Instalment], count: int | None = None) -> list[Transaction]:
    """Each of the first ``count`` instalments paid in full on its due date."""
    return [repay(i.total, i.due_date) for i in schedule[:count]]


def mark(kind: MarkKind, start: date, end: date | None = None) -> LoanMark:
    return LoanMark(LOAN, kind, start, end)


def days(n: int) -> timedelta:
    return timedelta(days=n)


def state(
    terms: LoanTerms,
    schedule: Sequence[Instalment],
    on: date,
    transactions: Sequence[Transaction] = (),
    marks: Sequence[LoanMark] = (),
    policy: ServicingPolicy | None = None,
    **kwargs: bool,
) -> LoanState:
    return loan_state_as_of(
        terms, schedule, transactions, marks, on, policy or ServicingPolicy.default(), **kwargs
    )
