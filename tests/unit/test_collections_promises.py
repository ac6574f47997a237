"""Promise evaluation: grace, partial tolerance, exact minor units."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postloan.collections.promises import PromiseRules, evaluate, required_amount
from postloan.collections.states import PromiseState
from postloan.domain.errors import ConfigError

MADE, BY = date(2026, 10, 1), date(2026, 10, 10)
RULES = PromiseRules(grace_days=3, tolerance=Decimal("0.05"))


def test_a_payment_within_tolerance_keeps_the_promise() -> None:
    assert required_amount(100_000, RULES) == 95_000
    assert evaluate(100_000, MADE, BY, 95_000, BY, RULES) == PromiseState.KEPT
    assert evaluate(100_000, MADE, BY, 94_999, BY, RULES) == PromiseState.OPEN


def test_grace_days_before_broken() -> None:
    assert evaluate(100_000, MADE, BY, 0, BY + timedelta(days=3), RULES) == PromiseState.OPEN
    assert evaluate(100_000, MADE, BY, 0, BY + timedelta(days=4), RULES) == PromiseState.BROKEN


def test_tolerance_rounds_up_to_a_minor_unit() -> None:
    assert required_amount(101, PromiseRules(0, Decimal("0.05"))) == 96  # 95.95 → 96


def test_bad_rules_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        PromiseRules(grace_days=-1)
    with pytest.raises(ConfigError):
        PromiseRules(tolerance=Decimal("1"))


@given(
    st.integers(1, 10**9),
    st.integers(0, 10**9),
    st.integers(0, 30),
    st.decimals(min_value=0, max_value=Decimal("0.5"), places=4),
)
def test_paying_more_never_breaks_a_promise(
    amount: int, paid: int, day: int, tolerance: Decimal
) -> None:
    rules = PromiseRules(3, tolerance)
    on = MADE + timedelta(days=day)
    before = evaluate(amount, MADE, BY, paid, on, rules)
    after = evaluate(amount, MADE, BY, paid + amount, on, rules)
    assert after == PromiseState.KEPT
    if before == PromiseState.KEPT:
        assert paid >= required_amount(amount, rules)
