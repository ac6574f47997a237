"""Where one loan stands on a business date: the per-loan reference implementation.

``loan_state_as_of`` checks its inputs, replays the loan day by day from
disbursement to the business date (``replay``: transactions, penalty accrual,
DPD, five-category classification and IFRS 9 stage, in that order each day) and
reports the result as a frozen ``LoanState``. ``classification_history`` gives
every classification change on the way, with its reasons.

The schedule passed in is used as is (e.g. the core's schedules feed); money
paid ahead is held for the next instalment(s) or prepays principal, which
re-amortizes the rest of it (``advance``, ``prepayment``). All amounts are integer
minor units. The result is deterministic: the same inputs give the same state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date
from enum import StrEnum

from postloan.domain.advance import net_of_advance
from postloan.domain.buckets import bucket_for
from postloan.domain.classification import Category
from postloan.domain.errors import ValidationError
from postloan.domain.ledger import Ledger
from postloan.domain.marks import LoanMark
from postloan.domain.policy import Component, ServicingPolicy
from postloan.domain.replay import ClassificationChange, Replay, replay
from postloan.domain.schedule import Instalment, LoanTerms
from postloan.domain.transactions import Transaction

__all__ = [
    "ClassificationChange",
    "LoanState",
    "LoanStatus",
    "classification_history",
    "loan_state_as_of",
]

_DEFAULT_POLICY = ServicingPolicy.default()


class LoanStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"  # everything owed is paid
    CHARGED_OFF = "charged_off"  # written off; reported apart
    MATURED = "matured"  # past the last due date with something still owed


@dataclass(frozen=True, slots=True)
class LoanState:
    """One loan at close of business on one date. Amounts are minor units of ``currency``.

    - ``principal_outstanding``: all unpaid principal, due or not.
    - ``overdue_principal`` / ``_interest`` / ``_fee``: unpaid on instalments (and
      charges) due strictly before the business date, before grace and materiality.
    - ``interest_outstanding`` / ``fee_outstanding``: unpaid and due on or before it.
    - ``penalty_outstanding``: penalty accrued or posted and not paid or waived;
      ``penalty_charged`` is all penalty ever accrued or posted.
    - ``*_paid``: what repayments settled, by component. Money is conserved:
      ``total_paid = principal_paid + interest_paid + fee_paid + penalty_paid
      + credit_balance + advance_balance + recovered``.
    - ``credit_balance``: money received beyond everything owed (an overpayment
      after pay-off). ``recovered``: repayments after the charge-off.
    - ``advance_balance``: money paid ahead and held for instalments not yet due;
      it is applied to each on its due date (``advance``).
    - ``written_off``: the principal and the charges due, charged off by a write-off.
    - ``next_due_date`` / ``next_due_amount``: the first instalment due on or after
      the business date that still owes something beyond the advance held for it,
      and what is left to pay on it (instalments the advance covers are skipped).
    - ``schedule``: the schedule as it now stands (after any re-amortization).
    """

    loan_id: str
    currency: str
    business_date: date
    status: LoanStatus
    days_past_due: int
    overdue_since: date | None
    bucket: str
    classification: Category
    classification_reasons: tuple[str, ...]
    ifrs9_stage: int
    principal_outstanding: int
    overdue_principal: int
    overdue_interest: int
    overdue_fee: int
    interest_outstanding: int
    fee_outstanding: int
    penalty_outstanding: int
    principal_paid: int
    interest_paid: int
    fee_paid: int
    penalty_paid: int
    penalty_charged: int
    waived: int
    written_off: int
    recovered: int
    credit_balance: int
    advance_balance: int
    total_paid: int
    last_payment_date: date | None
    failed_debits: int
    next_due_date: date | None
    next_due_amount: int
    schedule: tuple[Instalment, ...]

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly values: dates as ISO strings, enums as their values,
        amounts as integer minor units (the CLI formats them)."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "schedule":
                value = [
                    {
                        "seq": i.seq,
                        "due_date": i.due_date.isoformat(),
                        "principal": i.principal,
                        "interest": i.interest,
                        "fee": i.fee,
                        "balance": i.balance,
                    }
                    for i in value
                ]
            elif isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, StrEnum):
                value = value.value
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out


def loan_state_as_of(
    terms: LoanTerms,
    schedule: Sequence[Instalment],
    transactions: Sequence[Transaction],
    marks: Sequence[LoanMark],
    business_date: date,
    policy: ServicingPolicy = _DEFAULT_POLICY,
    *,
    loan_id: str | None = None,
    sicr_trigger: bool = False,
) -> LoanState:
    """The loan's state at close of business on ``business_date``.

    ``sicr_trigger`` is a model or rule trigger of a significant increase in credit
    risk on the business date (IFRS 9 stage 2).
    """
    return _replay(
        terms, schedule, transactions, marks, business_date, policy, loan_id, sicr_trigger
    )[0]


def classification_history(
    terms: LoanTerms,
    schedule: Sequence[Instalment],
    transactions: Sequence[Transaction],
    marks: Sequence[LoanMark],
    business_date: date,
    policy: ServicingPolicy = _DEFAULT_POLICY,
    *,
    loan_id: str | None = None,
) -> list[ClassificationChange]:
    """Every change of the five-category classification up to ``business_date``
    (the loan starts normal at disbursement), with the reasons for each."""
    return _replay(terms, schedule, transactions, marks, business_date, policy, loan_id, False)[1]


def _loan_id(
    given: str | None, transactions: Sequence[Transaction], marks: Sequence[LoanMark]
) -> str:
    ids = {t.loan_id for t in transactions} | {m.loan_id for m in marks}
    if given is not None:
        ids.add(given)
    if len(ids) > 1:
        raise ValidationError(f"transactions and marks of several loans mixed: {sorted(ids)}")
    return ids.pop() if ids else ""


def _validate(
    terms: LoanTerms,
    schedule: Sequence[Instalment],
    transactions: Sequence[Transaction],
    business_date: date,
) -> None:
    start = terms.disbursement_date
    if business_date < start:
        raise ValidationError(f"business date {business_date} is before disbursement {start}")
    if not schedule:
        raise ValidationError("the schedule has no instalments")
    seqs = [i.seq for i in schedule]
    dates = [i.due_date for i in schedule]
    if min(seqs) < 1 or len(set(seqs)) != len(seqs) or dates != sorted(dates):
        raise ValidationError("schedule instalments need distinct seq >= 1, in due-date order")
    negative = [i.seq for i in schedule if min(i.principal, i.interest, i.fee) < 0]
    if negative:
        raise ValidationError(f"schedule instalments {negative[:5]} have a negative amount")
    early = [t.txn_id for t in transactions if t.value_date < start]
    if early:
        raise ValidationError(f"transactions dated before disbursement {start}: {early[:5]}")


def _replay(
    terms: LoanTerms,
    schedule: Sequence[Instalment],
    transactions: Sequence[Transaction],
    marks: Sequence[LoanMark],
    business_date: date,
    policy: ServicingPolicy,
    loan_id: str | None,
    sicr_trigger: bool,
    fast: bool = True,
) -> tuple[LoanState, list[ClassificationChange]]:
    loan = _loan_id(loan_id, transactions, marks)
    _validate(terms, schedule, transactions, business_date)
    walk = replay(terms, schedule, transactions, marks, business_date, policy, sicr_trigger, fast)
    return _snapshot(walk, loan, business_date, policy), walk.history


def _status(ledger: Ledger, business_date: date) -> LoanStatus:
    if ledger.charged_off_on is not None:
        return LoanStatus.CHARGED_OFF
    if ledger.closed:
        return LoanStatus.CLOSED
    if ledger.due_dates and business_date > ledger.due_dates[-1]:
        return LoanStatus.MATURED
    return LoanStatus.ACTIVE


def _snapshot(walk: Replay, loan_id: str, day: date, policy: ServicingPolicy) -> LoanState:
    ledger = walk.ledger
    items = ledger.items
    overdue = [i for i in items if i.due_date < day]
    fallen_due = [i for i in items if i.due_date <= day]
    upcoming = [i for i in items if i.seq > 0 and i.due_date >= day and i.owed() > 0]
    next_due = net_of_advance([i.owed() for i in upcoming], ledger.advance)
    status = _status(ledger, day)
    return LoanState(
        loan_id=loan_id,
        currency=ledger.terms.currency,
        business_date=day,
        status=status,
        days_past_due=walk.days_past_due,
        overdue_since=walk.overdue_since,
        bucket=bucket_for(walk.days_past_due, policy.buckets, status is LoanStatus.CHARGED_OFF),
        classification=walk.classification.category,
        classification_reasons=walk.classification.reasons,
        ifrs9_stage=walk.ifrs9.stage,
        principal_outstanding=sum(i.principal for i in items),
        overdue_principal=sum(i.principal for i in overdue),
        overdue_interest=sum(i.interest for i in overdue),
        overdue_fee=sum(i.fee for i in overdue),
        interest_outstanding=sum(i.interest for i in fallen_due),
        fee_outstanding=sum(i.fee for i in fallen_due),
        penalty_outstanding=sum(i.penalty for i in items),
        principal_paid=ledger.paid[Component.PRINCIPAL],
        interest_paid=ledger.paid[Component.INTEREST],
        fee_paid=ledger.paid[Component.FEE],
        penalty_paid=ledger.paid[Component.PENALTY],
        penalty_charged=ledger.penalty_charged,
        waived=sum(ledger.waived.values()),
        written_off=ledger.written_off,
        recovered=ledger.recovered,
        credit_balance=ledger.credit,
        advance_balance=ledger.advance,
        total_paid=ledger.total_paid,
        last_payment_date=ledger.last_payment_date,
        failed_debits=ledger.failed_debits,
        next_due_date=upcoming[next_due[0]].due_date if next_due else None,
        next_due_amount=next_due[1] if next_due else 0,
        schedule=tuple(ledger.schedule),
    )
