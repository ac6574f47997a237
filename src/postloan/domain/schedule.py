"""Repayment schedules: annuity, equal principal, interest-only, bullet, flat rate.

All amounts are integer minor units. Period rates are exact fractions from the
day count; each period's interest is rounded half-up once, and the last
instalment takes whatever rounding left over, so principal always sums to the
amount lent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext
from enum import StrEnum
from fractions import Fraction

from postloan.domain.calendar import Frequency, due_dates
from postloan.domain.daycount import DayCount, year_fraction
from postloan.domain.errors import InvalidTerms


class Method(StrEnum):
    ANNUITY = "annuity"  # 等额本息
    EQUAL_PRINCIPAL = "equal_principal"  # 等额本金
    INTEREST_ONLY = "interest_only"  # 先息后本
    BULLET = "bullet"  # 到期一次还本付息
    FLAT = "flat"  # flat rate on the original principal

    @classmethod
    def parse(cls, text: str) -> Method:
        try:
            return cls(text.strip().lower())
        except ValueError:
            names = ", ".join(m.value for m in cls)
            raise InvalidTerms(f"unknown repayment method {text!r}; use one of: {names}") from None


@dataclass(frozen=True, slots=True)
class LoanTerms:
    """What the contract says; everything a schedule is generated from."""

    principal: int
    annual_rate: Decimal
    term: int
    frequency: Frequency
    day_count: DayCount
    method: Method
    disbursement_date: date
    first_due_date: date | None = None
    fee_per_period: int = 0
    currency: str = "CNY"

    def __post_init__(self) -> None:
        if self.principal <= 0:
            raise InvalidTerms(f"principal must be positive, got {self.principal} minor units")
        if self.annual_rate < 0:
            raise InvalidTerms(f"annual rate must not be negative, got {self.annual_rate}")
        if self.term < 1:
            raise InvalidTerms(f"term must be at least 1 period, got {self.term}")
        if self.fee_per_period < 0:
            raise InvalidTerms(f"fee per period must not be negative, got {self.fee_per_period}")


@dataclass(frozen=True, slots=True)
class Instalment:
    """One scheduled instalment; ``balance`` is the principal left after it is paid."""

    seq: int
    due_date: date
    principal: int
    interest: int
    fee: int
    balance: int

    @property
    def total(self) -> int:
        return self.principal + self.interest + self.fee


def round_half_up(value: Fraction) -> int:
    """Nearest integer, halves away from zero (all schedule amounts are non-negative)."""
    if value >= 0:
        return int((value * 2 + 1) // 2)
    return -int((-value * 2 + 1) // 2)


def period_rates(
    annual_rate: Decimal, start: date, dates: Sequence[date], day_count: DayCount
) -> list[Fraction]:
    """The exact interest rate of each period ``(previous date, due date]``."""
    rate = Fraction(annual_rate)
    rates = []
    previous = start
    for due in dates:
        rates.append(rate * year_fraction(previous, due, day_count))
        previous = due
    return rates


def level_payment(principal: int, rates: Sequence[Fraction]) -> int:
    """The level instalment that repays ``principal`` exactly under ``rates``:
    P / Σ_k Π_{j≤k} 1/(1+r_j), rounded half-up to a minor unit."""
    if all(r == 0 for r in rates):
        return round_half_up(Fraction(principal, len(rates)))
    with localcontext() as ctx:
        ctx.prec = 50
        discount = Decimal(1)
        annuity_factor = Decimal(0)
        for r in rates:
            discount /= 1 + Decimal(r.numerator) / Decimal(r.denominator)
            annuity_factor += discount
        exact = Decimal(principal) / annuity_factor
    return round_half_up(Fraction(exact))


def _annuity_rows(
    principal: int, rates: Sequence[Fraction], payment: int
) -> list[tuple[int, int, int]]:
    """(principal, interest, balance) per period for a level ``payment``."""
    rows = []
    balance = principal
    last = len(rates) - 1
    for j, r in enumerate(rates):
        interest = round_half_up(balance * r)
        part = balance if j == last else min(balance, max(payment - interest, 0))
        balance -= part
        rows.append((part, interest, balance))
    return rows


def amortize_annuity(principal: int, rates: Sequence[Fraction]) -> list[tuple[int, int, int]]:
    """Annuity rows, with the regular instalment moved by one minor unit when that
    brings the final instalment closer to it (as Fineract's progressive schedule does)."""
    base = level_payment(principal, rates)
    best_rows = _annuity_rows(principal, rates, base)
    if len(rates) == 1:
        return best_rows

    def gap(rows: list[tuple[int, int, int]], payment: int) -> int:
        return abs(rows[-1][0] + rows[-1][1] - payment)

    best_gap = gap(best_rows, base)
    for candidate in (base - 1, base + 1):
        rows = _annuity_rows(principal, rates, candidate)
        if gap(rows, candidate) < best_gap:
            best_rows, best_gap = rows, gap(rows, candidate)
    return best_rows


def _equal_split(total: int, n: int) -> list[int]:
    """``total`` in ``n`` rounded parts; the last part takes the remainder.

    Where rounding each part up would leave the last part negative (tiny totals
    over long terms), the parts are rounded down instead.
    """
    part = round_half_up(Fraction(total, n))
    if part * (n - 1) > total:
        part = total // n
    parts = [part] * (n - 1)
    return [*parts, total - part * (n - 1)]


def amortize(
    method: Method, principal: int, rates: Sequence[Fraction]
) -> list[tuple[int, int, int]]:
    """(principal, interest, balance) for each period of ``method``."""
    n = len(rates)
    if method is Method.ANNUITY:
        return amortize_annuity(principal, rates)
    rows: list[tuple[int, int, int]] = []
    balance = principal
    if method is Method.EQUAL_PRINCIPAL:
        for part, r in zip(_equal_split(principal, n), rates, strict=True):
            interest = round_half_up(balance * r)
            balance -= part
            rows.append((part, interest, balance))
        return rows
    if method is Method.INTEREST_ONLY:
        for j, r in enumerate(rates):
            part = principal if j == n - 1 else 0
            rows.append((part, round_half_up(principal * r), principal - part if j < n - 1 else 0))
        return rows
    if method is Method.FLAT:
        total_interest = round_half_up(principal * sum(rates, Fraction(0)))
        for part, interest in zip(
            _equal_split(principal, n), _equal_split(total_interest, n), strict=True
        ):
            balance -= part
            rows.append((part, interest, balance))
        return rows
    # BULLET: one instalment at maturity carrying the whole term's interest.
    return [(principal, round_half_up(principal * sum(rates, Fraction(0))), 0)]


def generate_schedule(terms: LoanTerms) -> list[Instalment]:
    """The contractual schedule of ``terms``."""
    dates = due_dates(terms.disbursement_date, terms.frequency, terms.term, terms.first_due_date)
    rates = period_rates(terms.annual_rate, terms.disbursement_date, dates, terms.day_count)
    rows = amortize(terms.method, terms.principal, rates)
    if terms.method is Method.BULLET:
        dates = dates[-1:]
    return [
        Instalment(seq, due, part, interest, terms.fee_per_period, balance)
        for seq, (due, (part, interest, balance)) in enumerate(zip(dates, rows, strict=True), 1)
    ]
