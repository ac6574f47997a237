"""Penalty interest (罚息) on overdue principal.

The rule, per instalment and business day ``d``:

- the instalment's principal is overdue on ``d`` when ``due_date + grace_days < d``
  (``PenaltyPolicy.grace_days``, default 0: from the day after the due date);
- at close of business ``d`` (after ``d``'s transactions) it accrues
  ``unpaid principal × multiple × annual rate / day_basis``;
- days inside a ``payment_pause`` accrue nothing unless ``accrue_during_pause``.

**Rounding point: one instalment-day.** The exact ``Fraction`` for one instalment
on one day is rounded half-up to a minor unit; a run over ``n`` days with the same
overdue principal accrues ``n`` × that amount. A catch-up run therefore equals the
same number of daily runs, and a vectorised batch reproduces it with one integer
product per instalment-day.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from postloan.domain.marks import LoanMark, paused_days
from postloan.domain.policy import PenaltyPolicy
from postloan.domain.schedule import round_half_up


def daily_penalty_rate(annual_rate: Decimal, policy: PenaltyPolicy) -> Fraction:
    """The exact penalty rate for one day: multiple × annual rate / day basis."""
    return Fraction(policy.multiple) * Fraction(annual_rate) / policy.day_basis


def daily_penalty(overdue_principal: int, daily_rate: Fraction) -> int:
    """One instalment's penalty for one day, rounded half-up to a minor unit."""
    return round_half_up(overdue_principal * daily_rate)


def first_penalty_day(due_date: date, policy: PenaltyPolicy) -> date:
    """The first business day on which an unpaid instalment accrues penalty."""
    return due_date + timedelta(days=policy.grace_days + 1)


def penalty_days(
    due_date: date,
    after: date,
    through: date,
    marks: Sequence[LoanMark],
    policy: PenaltyPolicy,
) -> int:
    """How many days in ``(after, through]`` accrue penalty for an instalment due on
    ``due_date`` that stays unpaid over the whole span."""
    start = max(after, first_penalty_day(due_date, policy) - timedelta(days=1))
    if through <= start:
        return 0
    days = (through - start).days
    if not policy.accrue_during_pause:
        days -= paused_days(marks, start, through)
    return days


def accrue_penalty(
    overdue_principal: int,
    due_date: date,
    after: date,
    through: date,
    daily_rate: Fraction,
    marks: Sequence[LoanMark],
    policy: PenaltyPolicy,
) -> int:
    """Penalty one instalment accrues over ``(after, through]`` while its unpaid
    principal stays ``overdue_principal``."""
    if not policy.accrue or overdue_principal <= 0:
        return 0
    days = penalty_days(due_date, after, through, marks, policy)
    return days * daily_penalty(overdue_principal, daily_rate)
