"""Prepayment: money paid ahead that is not held as an advance goes to principal.

Which money that is, is ``advance``'s rule (``prepayment.early_payment``). The
instalments not yet due (after any held in advance, which stay as scheduled) are
re-amortized with ``schedule.amortize`` on the reduced balance, over their own
due dates:

- ``lower_instalment`` keeps every remaining due date (the instalment falls);
- ``shorten_term`` keeps the instalment (``kept_periods``): the fewest remaining
  periods whose level payment (annuity) or principal part (equal principal, flat)
  is no larger than now; the last due dates are dropped. Interest-only and bullet
  loans have no instalment to keep and fall back to ``lower_instalment``.

Interest of the period the prepayment falls in: the first remaining instalment
keeps its interest less what the prepaid principal no longer bears from the
prepayment date to that instalment's due date (``unearned_interest``, rounded
half-up once; with instalments held in advance before it, that span covers their
periods too, whose scheduled interest is kept). So the interest accrued before the
prepayment is kept, also across several prepayments in one period and for a
schedule that came from the core.

When the money covers the whole remaining principal, the loan is paid off: the
remaining instalments become one instalment due on the prepayment date with the
principal and the current period's interest less what the whole balance no longer
bears; future fees lapse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from postloan.domain.daycount import year_fraction
from postloan.domain.policy import PrepaymentMode
from postloan.domain.schedule import (
    Instalment,
    LoanTerms,
    Method,
    amortize,
    level_payment,
    period_rates,
    round_half_up,
)


@dataclass(frozen=True, slots=True)
class Prepayment:
    """The outcome: principal prepaid at once, and what replaces the future instalments."""

    principal_prepaid: int
    instalments: tuple[Instalment, ...]


def accrued_rate(terms: LoanTerms, start: date, end: date) -> Fraction:
    return Fraction(terms.annual_rate) * year_fraction(start, end, terms.day_count)


def unearned_interest(terms: LoanTerms, principal: int, on: date, due: date) -> int:
    """Interest ``principal`` repaid on ``on`` no longer bears until ``due``."""
    return round_half_up(principal * accrued_rate(terms, on, due))


def payoff(terms: LoanTerms, future: Sequence[Instalment], on: date) -> Prepayment:
    """All remaining principal plus the interest earned so far in the current period, due ``on``."""
    first = future[0]
    balance = sum(i.principal for i in future)
    interest = max(0, first.interest - unearned_interest(terms, balance, on, first.due_date))
    return Prepayment(0, (Instalment(first.seq, on, balance, interest, 0, 0),))


def kept_periods(method: Method, balance: int, new_balance: int, rates: Sequence[Fraction]) -> int:
    """``shorten_term``: how many of the remaining periods (with ``rates``) repay
    ``new_balance`` while keeping the instalment of ``balance`` over all of them.

    Annuity: the fewest periods whose level payment is no larger than the current
    one. Equal principal and flat: the fewest periods whose principal part is no
    larger than the current one. Interest-only and bullet: all of them.
    """
    n = len(rates)
    if method in (Method.INTEREST_ONLY, Method.BULLET) or n == 1:
        return n
    if method is not Method.ANNUITY:
        return max(1, -(-new_balance * n // balance))  # ceil(new_balance / (balance / n))
    target = level_payment(balance, rates)
    lo, hi = 1, n  # a smaller balance never needs a larger level payment over n periods
    while lo < hi:
        mid = (lo + hi) // 2
        if level_payment(new_balance, rates[:mid]) <= target:
            hi = mid
        else:
            lo = mid + 1
    return lo


def prepay(
    terms: LoanTerms,
    future: Sequence[Instalment],
    period_start: date,
    on: date,
    amount: int,
    mode: PrepaymentMode,
) -> Prepayment:
    """Apply ``amount`` (> 0) on date ``on`` to the instalments ``future`` (all due after ``on``).

    ``period_start`` is where the first period of ``future`` starts: the due date
    before ``on`` (or the disbursement date), or the due date of the last instalment
    held in advance."""
    balance = sum(i.principal for i in future)
    if amount >= balance:
        return payoff(terms, future, on)
    new_balance = balance - amount
    dates = [i.due_date for i in future]
    rates = period_rates(terms.annual_rate, period_start, dates, terms.day_count)
    m = len(future)
    if mode is PrepaymentMode.SHORTEN_TERM:
        m = kept_periods(terms.method, balance, new_balance, rates)
    rows = amortize(terms.method, new_balance, rates[:m])
    first_interest = max(0, future[0].interest - unearned_interest(terms, amount, on, dates[0]))
    kept = future[: len(rows)]
    instalments = tuple(
        Instalment(
            old.seq,
            old.due_date,
            part,
            first_interest if k == 0 else interest,
            old.fee,
            left,
        )
        for k, (old, (part, interest, left)) in enumerate(zip(kept, rows, strict=True))
    )
    return Prepayment(amount, instalments)
