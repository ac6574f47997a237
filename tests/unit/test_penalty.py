"""Penalty interest (罚息): daily on overdue principal, rounded per instalment-day."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

from servicing_builders import days, loan, mark, state

from postloan.domain.marks import MarkKind
from postloan.domain.penalty import (
    accrue_penalty,
    daily_penalty,
    daily_penalty_rate,
    first_penalty_day,
    penalty_days,
)
from postloan.domain.policy import PenaltyPolicy, ServicingPolicy

DUE = date(2024, 2, 15)
DEFAULT = PenaltyPolicy()


def test_daily_rate_is_the_multiple_of_the_contract_rate_over_the_day_basis() -> None:
    assert daily_penalty_rate(Decimal("0.12"), DEFAULT) == Fraction(18, 100 * 360)
    policy = PenaltyPolicy(multiple=Decimal(2), day_basis=365)
    assert daily_penalty_rate(Decimal("0.0365"), policy) == Fraction(1, 5000)


def test_one_instalment_day_is_rounded_half_up() -> None:
    rate = daily_penalty_rate(Decimal("0.12"), DEFAULT)  # 0.0005 a day
    assert daily_penalty(1_000, rate) == 1  # 0.5 → 1
    assert daily_penalty(2_999, rate) == 1  # 1.4995 → 1
    assert daily_penalty(3_000, rate) == 2  # 1.5 → 2
    assert daily_penalty(0, rate) == 0


def test_penalty_starts_the_day_after_the_due_date_or_after_its_grace() -> None:
    assert first_penalty_day(DUE, DEFAULT) == DUE + days(1)
    assert first_penalty_day(DUE, PenaltyPolicy(grace_days=3)) == DUE + days(4)


def test_penalty_days_in_a_span() -> None:
    assert penalty_days(DUE, DUE - days(10), DUE, [], DEFAULT) == 0
    assert penalty_days(DUE, DUE - days(10), DUE + days(5), [], DEFAULT) == 5
    assert penalty_days(DUE, DUE + days(2), DUE + days(5), [], DEFAULT) == 3
    assert penalty_days(DUE, DUE, DUE + days(5), [], PenaltyPolicy(grace_days=3)) == 2


def test_paused_days_accrue_nothing_unless_configured() -> None:
    pause = [mark(MarkKind.PAYMENT_PAUSE, DUE + days(3), DUE + days(4))]
    assert penalty_days(DUE, DUE, DUE + days(10), pause, DEFAULT) == 8
    during = PenaltyPolicy(accrue_during_pause=True)
    assert penalty_days(DUE, DUE, DUE + days(10), pause, during) == 10


def test_a_run_over_n_days_is_n_daily_amounts() -> None:
    rate = daily_penalty_rate(Decimal("0.12"), DEFAULT)
    total = accrue_penalty(3_000, DUE, DUE, DUE + days(7), rate, [], DEFAULT)
    assert total == 7 * daily_penalty(3_000, rate) == 14
    assert (
        accrue_penalty(3_000, DUE, DUE, DUE + days(7), rate, [], PenaltyPolicy(accrue=False)) == 0
    )


def test_a_catch_up_run_equals_daily_runs_on_a_loan() -> None:
    terms, schedule = loan()
    daily = [state(terms, schedule, DUE + days(n)).penalty_outstanding for n in range(0, 28)]
    rate = daily_penalty_rate(terms.annual_rate, DEFAULT)
    increments = {b - a for a, b in zip(daily, daily[1:], strict=False)}
    assert increments == {daily_penalty(schedule[0].principal, rate)}
    # from the second due date on, the second instalment accrues as well
    later = state(terms, schedule, schedule[1].due_date + days(1)).penalty_outstanding
    here = state(terms, schedule, schedule[1].due_date).penalty_outstanding
    both = daily_penalty(schedule[0].principal, rate) + daily_penalty(schedule[1].principal, rate)
    assert later - here == both


def test_penalty_can_be_left_to_the_core() -> None:
    terms, schedule = loan()
    policy = ServicingPolicy(penalty=PenaltyPolicy(accrue=False))
    assert state(terms, schedule, DUE + days(30), policy=policy).penalty_outstanding == 0
