"""Days past due: oldest unpaid item due before the date, grace, materiality, pauses."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from servicing_builders import days, mark

from postloan.domain.delinquency import (
    Arrear,
    days_past_due,
    first_past_due_day,
    is_material,
    overdue_since,
)
from postloan.domain.marks import MarkKind, paused_days
from postloan.domain.policy import DelinquencyPolicy

D = date(2024, 3, 15)
DEFAULT = DelinquencyPolicy()
EU = DelinquencyPolicy(materiality_absolute=10_000, materiality_relative=Decimal("0.01"))


def test_any_positive_amount_is_material_by_default() -> None:
    assert is_material(1, 1_000_000, DEFAULT)
    assert not is_material(0, 1_000_000, DEFAULT)


def test_materiality_needs_both_thresholds_exceeded() -> None:
    assert not is_material(10_000, 100_000, EU)  # not above 100.00
    assert is_material(10_001, 100_000, EU)
    assert not is_material(20_000, 2_000_000, EU)  # 1% of exposure is 20,000
    assert is_material(20_001, 2_000_000, EU)


def test_overdue_since_is_the_oldest_unpaid_due_date_strictly_before_the_date() -> None:
    arrears = [Arrear(date(2024, 1, 15), 0), Arrear(date(2024, 2, 15), 5), Arrear(D, 100)]
    assert overdue_since(arrears, D, 1_000, DEFAULT) == date(2024, 2, 15)
    assert overdue_since([Arrear(D, 100)], D, 1_000, DEFAULT) is None  # due today: not overdue
    assert overdue_since([Arrear(D, 100)], D + days(1), 1_000, DEFAULT) == D


def test_grace_delays_recognition() -> None:
    policy = DelinquencyPolicy(grace_days=3)
    assert first_past_due_day(D, policy) == D + days(4)
    assert overdue_since([Arrear(D, 100)], D + days(3), 1_000, policy) is None
    assert overdue_since([Arrear(D, 100)], D + days(4), 1_000, policy) == D


def test_an_immaterial_remainder_does_not_count() -> None:
    arrears = [Arrear(date(2024, 2, 15), 5_000)]
    assert overdue_since(arrears, D, 1_000_000, EU) is None
    assert overdue_since([*arrears, Arrear(D - days(1), 9_000)], D, 1_000_000, EU) == date(
        2024, 2, 15
    )


def test_dpd_counts_days_since_overdue_and_skips_paused_days() -> None:
    assert days_past_due(None, D, []) == 0
    assert days_past_due(D, D, []) == 0
    assert days_past_due(D, D + days(10), []) == 10
    pause = [mark(MarkKind.PAYMENT_PAUSE, D + days(3), D + days(5))]
    assert days_past_due(D, D + days(10), pause) == 7
    open_pause = [mark(MarkKind.PAYMENT_PAUSE, D + days(3))]
    assert days_past_due(D, D + days(10), open_pause) == 2


def test_overlapping_pauses_count_once() -> None:
    pauses = [
        mark(MarkKind.PAYMENT_PAUSE, D + days(1), D + days(5)),
        mark(MarkKind.PAYMENT_PAUSE, D + days(4), D + days(8)),
        mark(MarkKind.TECHNICAL_DELAY, D, D + days(30)),  # not a pause
    ]
    assert paused_days(pauses, D, D + days(30)) == 8
    assert paused_days(pauses, D + days(6), D + days(30)) == 2
