"""Prepayment re-amortization, on the pure function."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from fractions import Fraction

import pytest
from servicing_builders import loan

from postloan.domain.advance import EarlySplit, net_of_advance, split_early_money
from postloan.domain.policy import PrepaymentMode
from postloan.domain.prepayment import payoff, prepay
from postloan.domain.schedule import Method, round_half_up

SHORTEN, LOWER = PrepaymentMode.SHORTEN_TERM, PrepaymentMode.LOWER_INSTALMENT


def future_after(schedule: list, k: int) -> tuple[list, date]:
    return schedule[k:], schedule[k - 1].due_date


@pytest.mark.parametrize("method", [Method.ANNUITY, Method.EQUAL_PRINCIPAL, Method.FLAT])
def test_lower_instalment_keeps_every_due_date(method: Method) -> None:
    terms, schedule = loan(method=method)
    future, last_due = future_after(schedule, 3)
    balance = sum(i.principal for i in future)
    out = prepay(terms, future, last_due, last_due, 200_000, LOWER)
    assert out.principal_prepaid == 200_000
    assert [i.due_date for i in out.instalments] == [i.due_date for i in future]
    assert [i.seq for i in out.instalments] == [i.seq for i in future]
    assert sum(i.principal for i in out.instalments) == balance - 200_000
    assert out.instalments[-1].balance == 0
    assert all(n.total < o.total for n, o in zip(out.instalments, future, strict=True))


@pytest.mark.parametrize("method", [Method.ANNUITY, Method.EQUAL_PRINCIPAL])
def test_shorten_term_keeps_the_instalment(method: Method) -> None:
    terms, schedule = loan(method=method, term=24, principal=2_400_000)
    future, last_due = future_after(schedule, 3)
    out = prepay(terms, future, last_due, last_due, 600_000, SHORTEN)
    kept = out.instalments
    assert len(kept) < len(future)
    assert sum(i.principal for i in kept) == sum(i.principal for i in future) - 600_000
    first_old = future[0].principal + future[0].interest
    assert kept[0].principal + kept[0].interest <= first_old
    # one period fewer would need a larger instalment than now
    assert [i.due_date for i in kept] == [i.due_date for i in future[: len(kept)]]


@pytest.mark.parametrize("method", [Method.INTEREST_ONLY, Method.BULLET])
def test_shorten_term_has_no_instalment_to_keep_for_interest_only_and_bullet(
    method: Method,
) -> None:
    terms, schedule = loan(method=method)
    k = 2 if method is Method.INTEREST_ONLY else 0
    future = schedule[k:]
    last_due = schedule[k - 1].due_date if k else terms.disbursement_date
    out = prepay(terms, future, last_due, last_due, 100_000, SHORTEN)
    assert len(out.instalments) == len(future)
    assert out.instalments[-1].principal == 1_200_000 - 100_000


def test_the_prepaid_principal_stops_bearing_interest_on_the_prepayment_date() -> None:
    terms, schedule = loan()
    future, last_due = future_after(schedule, 3)
    on = date(2024, 4, 25)  # 10 of the 30 days of the period 04-15 → 05-15 have run
    out = prepay(terms, future, last_due, on, 300_000, LOWER)
    unearned = round_half_up(300_000 * Fraction(1, 100) * Fraction(20, 30))
    assert out.instalments[0].interest == future[0].interest - unearned
    assert out.instalments[1].interest < future[1].interest


def test_a_second_prepayment_in_the_same_period_keeps_the_interest_already_earned() -> None:
    terms, schedule = loan()
    future, last_due = future_after(schedule, 3)
    once = prepay(terms, future, last_due, date(2024, 4, 25), 300_000, LOWER)
    twice = prepay(terms, once.instalments, last_due, date(2024, 5, 5), 100_000, LOWER)
    first_unearned = round_half_up(300_000 * Fraction(1, 100) * Fraction(20, 30))
    second_unearned = round_half_up(100_000 * Fraction(1, 100) * Fraction(10, 30))
    assert twice.instalments[0].interest == future[0].interest - first_unearned - second_unearned


def test_a_core_schedule_keeps_its_interest_for_the_current_period() -> None:
    terms, schedule = loan()
    future, last_due = future_after(schedule, 3)
    core = [replace(future[0], interest=future[0].interest + 77), *future[1:]]
    out = prepay(terms, core, last_due, last_due + timedelta(days=10), 300_000, LOWER)
    plain = prepay(terms, future, last_due, last_due + timedelta(days=10), 300_000, LOWER)
    assert out.instalments[0].interest == plain.instalments[0].interest + 77


def test_money_covering_the_whole_balance_pays_the_loan_off() -> None:
    terms, schedule = loan()
    future, last_due = future_after(schedule, 3)
    on = date(2024, 4, 25)
    out = prepay(terms, future, last_due, on, 10_000_000, LOWER)
    assert out == payoff(terms, future, on)
    (only,) = out.instalments
    balance = sum(i.principal for i in future)
    assert (only.seq, only.due_date, only.principal, only.fee) == (4, on, balance, 0)
    unearned = round_half_up(balance * Fraction(1, 100) * Fraction(20, 30))
    assert only.interest == future[0].interest - unearned


@pytest.mark.parametrize(
    ("money", "max_instalments", "split"),
    [
        (50, 1, EarlySplit(held=50, excess=0, frozen=1)),
        (100, 1, EarlySplit(held=100, excess=0, frozen=1)),
        (250, 1, EarlySplit(held=100, excess=150, frozen=1)),
        # an instalment owing nothing is not counted, but is held back with the others
        (250, 2, EarlySplit(held=200, excess=50, frozen=3)),
        (500, 9, EarlySplit(held=300, excess=200, frozen=4)),
    ],
)
def test_money_paid_early_is_held_up_to_the_next_instalments(
    money: int, max_instalments: int, split: EarlySplit
) -> None:
    assert split_early_money(money, [100, 0, 100, 100], max_instalments) == split


def test_nothing_is_held_when_no_instalment_is_left() -> None:
    assert split_early_money(70, [], 1) == EarlySplit(0, 70, 0)


def test_what_is_left_to_pay_net_of_the_advance() -> None:
    assert net_of_advance([100, 100], 0) == (0, 100)
    assert net_of_advance([100, 100], 40) == (0, 60)
    assert net_of_advance([100, 100], 100) == (1, 100)
    assert net_of_advance([100, 100], 150) == (1, 50)
    assert net_of_advance([100, 100], 200) is None
    assert net_of_advance([], 0) is None
