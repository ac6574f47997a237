"""Days past due (DPD).

On business date ``D`` (after ``D``'s transactions):

1. An item (an instalment, or a stand-alone charge) is *past due* when it still
   owes something and ``due_date + grace_days < D``.
2. The past-due amount is what past-due items still owe (principal, interest,
   fee and penalty). It counts only when it is above BOTH materiality thresholds:
   ``> materiality_absolute`` and ``> materiality_relative × exposure``, where the
   exposure is the unpaid principal plus unpaid interest, fees and penalty fallen
   due on or before ``D``. With the default thresholds (0 and 0) any unpaid amount counts.
3. ``overdue_since`` = the due date of the oldest past-due item, when the amount
   counts; otherwise None. Grace delays recognition; once recognised, DPD counts
   from the due date itself.
4. DPD = ``D − overdue_since`` minus the days in ``(overdue_since, D]`` inside a
   ``payment_pause`` mark; 0 when nothing counts. So DPD grows by one on every
   business day that is not paused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from postloan.domain.marks import LoanMark, paused_days
from postloan.domain.policy import DelinquencyPolicy


@dataclass(frozen=True, slots=True)
class Arrear:
    """The unpaid remainder of one item that has fallen due."""

    due_date: date
    amount: int


def first_past_due_day(due_date: date, policy: DelinquencyPolicy) -> date:
    """The first business date on which an unpaid item due on ``due_date`` is past due."""
    return due_date + timedelta(days=policy.grace_days + 1)


def is_past_due(due_date: date, business_date: date, policy: DelinquencyPolicy) -> bool:
    return business_date >= first_past_due_day(due_date, policy)


def is_material(past_due: int, exposure: int, policy: DelinquencyPolicy) -> bool:
    """Whether a past-due amount counts: above both the absolute and the relative threshold."""
    if past_due <= policy.materiality_absolute:
        return False
    relative = policy.materiality_relative
    return not relative or past_due > Fraction(relative) * max(exposure, 0)


def overdue_since(
    arrears: Sequence[Arrear], business_date: date, exposure: int, policy: DelinquencyPolicy
) -> date | None:
    """The due date DPD counts from, or None when nothing material is past due."""
    past = [a for a in arrears if a.amount > 0 and is_past_due(a.due_date, business_date, policy)]
    if not past or not is_material(sum(a.amount for a in past), exposure, policy):
        return None
    return min(a.due_date for a in past)


def days_past_due(since: date | None, business_date: date, marks: Sequence[LoanMark]) -> int:
    """DPD on ``business_date``: days since ``since`` not inside a payment pause."""
    if since is None or since >= business_date:
        return 0
    return (business_date - since).days - paused_days(marks, since, business_date)
