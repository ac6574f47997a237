"""Promise-to-pay evaluation: kept, broken or still open on a business date.

A promise of ``amount`` by ``promised_date`` is kept once the payments on the
case's loans from the day it was made through ``promised_date + grace_days``
reach ``amount × (1 − tolerance)``; it is broken when that window has passed
without it. Amounts are integer minor units; the tolerance is a ``Decimal``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal

from postloan.collections.states import PromiseState
from postloan.domain.errors import ConfigError


@dataclass(frozen=True, slots=True)
class PromiseRules:
    grace_days: int = 3
    tolerance: Decimal = Decimal("0.05")  # a payment 5 % short still keeps the promise

    def __post_init__(self) -> None:
        if self.grace_days < 0:
            raise ConfigError(f"collections.promises.grace_days must be ≥ 0, not {self.grace_days}")
        if not Decimal(0) <= self.tolerance < Decimal(1):
            raise ConfigError(
                f"collections.promises.tolerance must be in [0, 1), not {self.tolerance}"
            )


def required_amount(amount: int, rules: PromiseRules) -> int:
    """The least payment that keeps a promise of ``amount`` (rounded up to a minor unit)."""
    need = (Decimal(amount) * (Decimal(1) - rules.tolerance)).to_integral_value(ROUND_CEILING)
    return int(need)


def window(created_on: date, promised_date: date, rules: PromiseRules) -> tuple[date, date]:
    """The value dates whose payments count, both ends inclusive."""
    return created_on, promised_date + timedelta(days=rules.grace_days)


def evaluate(
    amount: int,
    created_on: date,
    promised_date: date,
    paid: int,
    business_date: date,
    rules: PromiseRules,
) -> PromiseState:
    """The state of an open promise on ``business_date`` given ``paid`` in its window."""
    if paid >= required_amount(amount, rules):
        return PromiseState.KEPT
    if business_date > window(created_on, promised_date, rules)[1]:
        return PromiseState.BROKEN
    return PromiseState.OPEN
