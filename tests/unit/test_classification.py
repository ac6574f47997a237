"""The five-category step function, fed facts directly (scenarios over whole loans
are in test_scenarios.py)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from postloan.domain.classification import (
    Category,
    ClassificationState,
    DayFacts,
    dpd_category,
    floor_category,
    step_classification,
)
from postloan.domain.policy import ClassificationPolicy, CureRule

POLICY = ClassificationPolicy()
DUES = tuple(date(2024, m, 15) for m in range(1, 13))
NPL = ClassificationState(Category.SUBSTANDARD, ("dpd_over_90",))


def facts(day: date, dpd: int = 0, **kw: object) -> DayFacts:
    return DayFacts(day, dpd, due_dates=DUES, **kw)  # type: ignore[arg-type]


def walk(
    start: ClassificationState,
    first: date,
    dpd_by_day: list[int],
    policy: ClassificationPolicy = POLICY,
) -> list[ClassificationState]:
    out, s = [], start
    for k, dpd in enumerate(dpd_by_day):
        s = step_classification(s, facts(first + timedelta(days=k), dpd), policy)
        out.append(s)
    return out


def test_categories_order_and_npl() -> None:
    assert [c.rank for c in Category] == [0, 1, 2, 3, 4]
    assert [c.is_npl for c in Category] == [False, False, True, True, True]
    assert Category.DOUBTFUL.chinese == "可疑"


@pytest.mark.parametrize(
    ("dpd", "category", "reason"),
    [
        (0, Category.NORMAL, "current"),
        (1, Category.SPECIAL_MENTION, "overdue"),
        (90, Category.SPECIAL_MENTION, "overdue"),
        (91, Category.SUBSTANDARD, "dpd_over_90"),
        (271, Category.DOUBTFUL, "dpd_over_270"),
        (361, Category.LOSS, "dpd_over_360"),
    ],
)
def test_dpd_floors(dpd: int, category: Category, reason: str) -> None:
    assert dpd_category(dpd, POLICY) == (category, reason)


def test_thresholds_and_reason_codes_follow_configuration() -> None:
    card = ClassificationPolicy(substandard_over_dpd=60, doubtful_over_dpd=120, loss_over_dpd=180)
    assert dpd_category(61, card) == (Category.SUBSTANDARD, "dpd_over_60")
    assert dpd_category(181, card) == (Category.LOSS, "dpd_over_180")


def test_floor_keeps_every_reason_at_the_worst_level() -> None:
    f = facts(date(2024, 3, 1), 95, credit_impaired=True)
    assert floor_category(f, observing=True, policy=POLICY) == (
        Category.SUBSTANDARD,
        ("dpd_over_90", "credit_impaired"),
    )
    quiet = facts(date(2024, 3, 1), 0)
    assert floor_category(quiet, observing=True, policy=POLICY) == (
        Category.SPECIAL_MENTION,
        ("restructured_observation",),
    )


def test_technical_delay_only_up_to_the_configured_days() -> None:
    marked = {"technical_delay": True}
    assert floor_category(facts(date(2024, 3, 1), 7, **marked), False, POLICY)[0] is Category.NORMAL
    assert floor_category(facts(date(2024, 3, 1), 8, **marked), False, POLICY)[0] is (
        Category.SPECIAL_MENTION
    )
    lenient = ClassificationPolicy(technical_delay_max_days=10)
    assert floor_category(facts(date(2024, 3, 1), 8, **marked), False, lenient)[0] is (
        Category.NORMAL
    )


def test_non_npl_categories_move_freely() -> None:
    sm = ClassificationState(Category.SPECIAL_MENTION, ("overdue",))
    assert step_classification(sm, facts(date(2024, 3, 1), 0), POLICY).category is Category.NORMAL


def test_an_npl_loan_in_arrears_is_not_upgraded() -> None:
    s = step_classification(NPL, facts(date(2024, 3, 1), 40), POLICY)
    assert (s.category, s.reasons, s.cure_start) == (Category.SUBSTANDARD, ("npl_not_cured",), None)
    worse = step_classification(NPL, facts(date(2024, 3, 1), 300), POLICY)
    assert worse.category is Category.DOUBTFUL


def test_cure_by_periods_counts_due_dates_settled_after_the_arrears_were_repaid() -> None:
    # arrears repaid on 2024-03-20; due dates 04-15 and 05-15 must pass without arrears
    days = (date(2024, 5, 16) - date(2024, 3, 20)).days + 1
    states = walk(NPL, date(2024, 3, 20), [0] * days)
    assert states[0].reasons == ("cure_probation",)
    assert states[0].cure_start == date(2024, 3, 20)
    assert all(s.category is Category.SUBSTANDARD for s in states[:-1])
    assert states[-1].category is Category.NORMAL
    assert states[-1].reasons == ("current", "cure_completed")


def test_grace_delays_the_settlement_of_a_period() -> None:
    s = ClassificationState(Category.SUBSTANDARD, ("cure_probation",), date(2024, 3, 20))
    on_time = DayFacts(date(2024, 5, 16), 0, due_dates=DUES, grace_days=2)
    assert step_classification(s, on_time, POLICY).category is Category.SUBSTANDARD
    later = DayFacts(date(2024, 5, 18), 0, due_dates=DUES, grace_days=2)
    assert step_classification(s, later, POLICY).category is Category.NORMAL


def test_cure_by_months() -> None:
    policy = ClassificationPolicy(cure_rule=CureRule.MONTHS, cure_months=6)
    s = ClassificationState(Category.DOUBTFUL, ("cure_probation",), date(2024, 1, 31))
    assert step_classification(s, facts(date(2024, 7, 30), 0), policy).category is (
        Category.DOUBTFUL
    )
    assert step_classification(s, facts(date(2024, 7, 31), 0), policy).category is (Category.NORMAL)


def test_arrears_during_the_cure_restart_it() -> None:
    s = ClassificationState(Category.SUBSTANDARD, ("cure_probation",), date(2024, 3, 20))
    s = step_classification(s, facts(date(2024, 4, 16), 1), POLICY)
    assert s.cure_start is None
    s = step_classification(s, facts(date(2024, 4, 17), 0), POLICY)
    assert s.cure_start == date(2024, 4, 17)


def test_restructuring_starts_an_observation_at_least_special_mention() -> None:
    s = step_classification(
        ClassificationState(), facts(date(2024, 3, 1), restructured=True), POLICY
    )
    assert s.category is Category.SPECIAL_MENTION
    assert s.observation_anchor == date(2024, 3, 1)


def test_observation_ends_after_two_periods_and_twelve_months() -> None:
    start = ClassificationState(
        Category.SPECIAL_MENTION, ("restructured_observation",), None, date(2024, 1, 20)
    )
    # observation starts 2024-02-15; 12 months later is 2025-02-15, beyond the due
    # dates given, so with only these due dates the periods rule is met long before
    s = step_classification(start, facts(date(2025, 2, 14), 0), POLICY)
    assert s.category is Category.SPECIAL_MENTION
    s = step_classification(start, facts(date(2025, 2, 15), 0), POLICY)
    assert (s.category, s.observation_anchor) == (Category.NORMAL, None)


def test_observation_needs_two_periods_even_after_a_year() -> None:
    policy = ClassificationPolicy(observation_min_months=0)
    start = ClassificationState(
        Category.SPECIAL_MENTION, ("restructured_observation",), None, date(2024, 1, 20)
    )
    assert step_classification(start, facts(date(2024, 4, 15), 0), policy).category is (
        Category.SPECIAL_MENTION
    )
    assert step_classification(start, facts(date(2024, 4, 16), 0), policy).category is (
        Category.NORMAL
    )


def test_a_second_restructuring_during_observation_is_at_least_doubtful() -> None:
    observing = ClassificationState(
        Category.SPECIAL_MENTION, ("restructured_observation",), None, date(2024, 1, 20)
    )
    s = step_classification(observing, facts(date(2024, 5, 1), restructured=True), POLICY)
    assert (s.category, s.reasons) == (Category.DOUBTFUL, ("second_restructuring",))
    held = step_classification(s, facts(date(2024, 5, 2)), POLICY)
    assert (held.category, held.reasons) == (Category.DOUBTFUL, ("restructured_observation",))


def test_closed_and_charged_off() -> None:
    s = step_classification(NPL, facts(date(2024, 3, 1), closed=True), POLICY)
    assert (s.category, s.reasons) == (Category.NORMAL, ("closed",))
    s = step_classification(NPL, facts(date(2024, 3, 1), 100, charged_off=True), POLICY)
    assert (s.category, s.reasons) == (Category.LOSS, ("charged_off",))
