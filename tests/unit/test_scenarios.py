"""Servicing scenarios, with expectations taken from the rules in DESIGN.md.

The standard loan: 12,000.00 lent on 2024-01-15 at 12% (30/360), annuity, monthly,
first due date 2024-02-15.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from servicing_builders import days, loan, mark, pay_on_time, repay, state, txn

from postloan.domain.classification import Category
from postloan.domain.loan_state import LoanState, LoanStatus, classification_history
from postloan.domain.marks import MarkKind
from postloan.domain.policy import (
    ClassificationPolicy,
    CureRule,
    DelinquencyPolicy,
    EarlyPayment,
    PrepaymentMode,
    PrepaymentPolicy,
    ServicingPolicy,
)
from postloan.domain.transactions import TxnType

FIRST_DUE = date(2024, 2, 15)


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def arrears(s: LoanState) -> int:
    """Everything past due on the state's date, penalty included."""
    return s.overdue_principal + s.overdue_interest + s.overdue_fee + s.penalty_outstanding


# ---- days overdue: DPD, bucket, five categories, IFRS 9 stage --------------------------


@pytest.mark.parametrize(
    ("overdue_days", "bucket", "category", "stage"),
    [
        (0, "M0", Category.NORMAL, 1),
        (1, "M1", Category.SPECIAL_MENTION, 1),
        (7, "M1", Category.SPECIAL_MENTION, 1),
        (8, "M1", Category.SPECIAL_MENTION, 1),
        (30, "M1", Category.SPECIAL_MENTION, 1),
        (31, "M2", Category.SPECIAL_MENTION, 2),
        (90, "M3", Category.SPECIAL_MENTION, 2),
        (91, "M4", Category.SUBSTANDARD, 3),
        (270, "M7+", Category.SUBSTANDARD, 3),
        (271, "M7+", Category.DOUBTFUL, 3),
        (360, "M7+", Category.DOUBTFUL, 3),
        (361, "M7+", Category.LOSS, 3),
    ],
)
def test_days_overdue(overdue_days: int, bucket: str, category: Category, stage: int) -> None:
    terms, schedule = loan()
    s = state(terms, schedule, FIRST_DUE + days(overdue_days))
    assert s.days_past_due == overdue_days
    assert s.overdue_since == (FIRST_DUE if overdue_days else None)
    assert s.bucket == bucket
    assert s.classification is category
    assert s.ifrs9_stage == stage


@pytest.mark.parametrize(
    ("overdue_days", "marked", "category"),
    [
        (1, True, Category.NORMAL),
        (7, True, Category.NORMAL),
        (7, False, Category.SPECIAL_MENTION),
        (8, True, Category.SPECIAL_MENTION),
    ],
)
def test_technical_delay_stays_normal_only_when_marked_and_at_most_7_days(
    overdue_days: int, marked: bool, category: Category
) -> None:
    terms, schedule = loan()
    marks = [mark(MarkKind.TECHNICAL_DELAY, FIRST_DUE + days(1))] if marked else []
    s = state(terms, schedule, FIRST_DUE + days(overdue_days), marks=marks)
    assert s.days_past_due == overdue_days  # the mark changes the category, not DPD
    assert s.classification is category
    if category is Category.NORMAL:
        assert s.classification_reasons == ("technical_delay",)


def test_dpd_thresholds_are_recorded_in_the_history_with_reasons() -> None:
    terms, schedule = loan()
    history = classification_history(terms, schedule, [], [], FIRST_DUE + days(400))
    assert [(c.day, c.to_category, c.reasons) for c in history] == [
        (FIRST_DUE + days(1), Category.SPECIAL_MENTION, ("overdue",)),
        (FIRST_DUE + days(91), Category.SUBSTANDARD, ("dpd_over_90",)),
        (FIRST_DUE + days(271), Category.DOUBTFUL, ("dpd_over_270",)),
        (FIRST_DUE + days(361), Category.LOSS, ("dpd_over_360",)),
    ]


def test_credit_impaired_mark_makes_a_current_loan_at_least_substandard() -> None:
    terms, schedule = loan()
    marks = [mark(MarkKind.CREDIT_IMPAIRED, date(2024, 3, 1))]
    s = state(terms, schedule, date(2024, 3, 20), pay_on_time(schedule), marks)
    assert s.days_past_due == 0
    assert s.classification is Category.SUBSTANDARD
    assert "credit_impaired" in s.classification_reasons
    assert s.ifrs9_stage == 3


# ---- restructuring and its observation period ------------------------------------------

RESTRUCTURED_ON = date(2024, 6, 20)
OBSERVATION_START = date(2024, 7, 15)  # the first due date after the restructuring


def restructured_loan() -> tuple:
    terms, schedule = loan(principal=2_400_000, term=24)
    return terms, schedule, [mark(MarkKind.RESTRUCTURED, RESTRUCTURED_ON)]


def test_restructured_loan_is_special_mention_for_its_observation_period() -> None:
    terms, schedule, marks = restructured_loan()
    paid = pay_on_time(schedule)

    def category(on: date) -> Category:
        return state(terms, schedule, on, paid, marks).classification

    assert category(RESTRUCTURED_ON - days(1)) is Category.NORMAL
    assert category(RESTRUCTURED_ON) is Category.SPECIAL_MENTION
    # at least 2 periods AND at least 12 months from the first due date after the change
    assert category(date(2025, 7, 14)) is Category.SPECIAL_MENTION
    assert category(date(2025, 7, 15)) is Category.NORMAL
    s = state(terms, schedule, date(2025, 1, 1), paid, marks)
    assert s.classification_reasons == ("restructured_observation",)


def test_a_missed_payment_restarts_the_observation_period() -> None:
    terms, schedule, marks = restructured_loan()
    missed = next(i for i in schedule if i.due_date == date(2024, 10, 15))
    paid = [t for t in pay_on_time(schedule) if t.value_date != missed.due_date]
    late = state(terms, schedule, date(2024, 10, 24), paid, marks)
    assert late.days_past_due == 9
    paid.append(repay(arrears(late), date(2024, 10, 25)))

    def category(on: date) -> Category:
        return state(terms, schedule, on, paid, marks).classification

    assert category(date(2024, 10, 26)) is Category.SPECIAL_MENTION
    # the original period would have ended on 2025-07-15; it restarted at the
    # first due date after the missed payment was made good (2024-11-15)
    assert category(date(2025, 7, 15)) is Category.SPECIAL_MENTION
    assert category(date(2025, 11, 14)) is Category.SPECIAL_MENTION
    assert category(date(2025, 11, 15)) is Category.NORMAL


def test_a_second_restructuring_during_observation_makes_the_loan_doubtful() -> None:
    terms, schedule, marks = restructured_loan()
    second = date(2024, 12, 1)
    marks = [*marks, mark(MarkKind.RESTRUCTURED, second)]
    paid = pay_on_time(schedule)

    def at(on: date) -> LoanState:
        return state(terms, schedule, on, paid, marks)

    assert at(second - days(1)).classification is Category.SPECIAL_MENTION
    assert at(second).classification is Category.DOUBTFUL
    assert "second_restructuring" in at(second).classification_reasons
    # an NPL loan cannot move up during the (restarted) observation period
    assert at(date(2025, 6, 1)).classification is Category.DOUBTFUL
    assert at(date(2025, 12, 14)).classification is Category.DOUBTFUL
    # it ends 12 months after the first due date after the second change (2024-12-15);
    # the arrears-free periods since then complete the cure
    assert at(date(2025, 12, 15)).classification is Category.NORMAL


# ---- cure from NPL, and IFRS 9 probation -------------------------------------------------

PAID_UP_ON = date(2024, 5, 25)  # 100 days after the first due date


def cured_loan() -> tuple:
    """Nothing paid until PAID_UP_ON, when all arrears are repaid; on time after that."""
    terms, schedule = loan(principal=2_400_000, term=24)
    before = state(terms, schedule, PAID_UP_ON - days(1))
    assert before.classification is Category.SUBSTANDARD
    paid = [repay(arrears(before), PAID_UP_ON)]
    paid += [repay(i.total, i.due_date) for i in schedule if i.due_date > PAID_UP_ON]
    return terms, schedule, paid


def test_npl_loan_moves_up_only_after_two_periods_paid_normally() -> None:
    terms, schedule, paid = cured_loan()

    def at(on: date) -> LoanState:
        return state(terms, schedule, on, paid)

    assert at(PAID_UP_ON).days_past_due == 0
    assert at(PAID_UP_ON).classification is Category.SUBSTANDARD
    assert at(PAID_UP_ON).classification_reasons == ("cure_probation",)
    assert at(date(2024, 6, 16)).classification is Category.SUBSTANDARD  # one period so far
    assert at(date(2024, 7, 15)).classification is Category.SUBSTANDARD  # paid, not yet settled
    assert at(date(2024, 7, 16)).classification is Category.NORMAL
    assert "cure_completed" in at(date(2024, 7, 16)).classification_reasons


def test_cure_by_months_when_configured() -> None:
    terms, schedule, paid = cured_loan()
    policy = ServicingPolicy(
        classification=ClassificationPolicy(cure_rule=CureRule.MONTHS, cure_months=6)
    )
    assert state(terms, schedule, date(2024, 11, 24), paid, policy=policy).classification is (
        Category.SUBSTANDARD
    )
    assert state(terms, schedule, date(2024, 11, 25), paid, policy=policy).classification is (
        Category.NORMAL
    )


def test_a_missed_payment_during_the_cure_restarts_it() -> None:
    terms, schedule, paid = cured_loan()
    paid = [t for t in paid if t.value_date != date(2024, 6, 15)]
    late = state(terms, schedule, date(2024, 6, 19), paid)
    assert late.days_past_due == 4
    paid.append(repay(arrears(late), date(2024, 6, 20)))
    assert state(terms, schedule, date(2024, 7, 16), paid).classification is Category.SUBSTANDARD
    assert state(terms, schedule, date(2024, 8, 15), paid).classification is Category.SUBSTANDARD
    assert state(terms, schedule, date(2024, 8, 16), paid).classification is Category.NORMAL


def test_ifrs9_stage_3_needs_three_months_probation() -> None:
    terms, schedule, paid = cured_loan()
    assert state(terms, schedule, PAID_UP_ON - days(1), paid).ifrs9_stage == 3
    assert state(terms, schedule, date(2024, 8, 24), paid).ifrs9_stage == 3
    assert state(terms, schedule, date(2024, 8, 25), paid).ifrs9_stage == 1


def test_ifrs9_probation_is_twelve_months_for_a_forborne_loan() -> None:
    terms, schedule, paid = cured_loan()
    marks = [mark(MarkKind.RESTRUCTURED, PAID_UP_ON)]
    assert state(terms, schedule, date(2024, 8, 25), paid, marks).ifrs9_stage == 3
    assert state(terms, schedule, date(2025, 5, 24), paid, marks).ifrs9_stage == 3
    assert state(terms, schedule, date(2025, 5, 25), paid, marks).ifrs9_stage == 1


def test_ifrs9_model_trigger_moves_a_current_loan_to_stage_2() -> None:
    terms, schedule = loan()
    s = state(terms, schedule, date(2024, 3, 1), pay_on_time(schedule), sicr_trigger=True)
    assert (s.days_past_due, s.ifrs9_stage) == (0, 2)


# ---- grace, materiality, payment pause ----------------------------------------------------


def test_grace_days_delay_recognition_then_dpd_counts_from_the_due_date() -> None:
    terms, schedule = loan()
    policy = ServicingPolicy(delinquency=DelinquencyPolicy(grace_days=3))
    inside = state(terms, schedule, FIRST_DUE + days(3), policy=policy)
    assert (inside.days_past_due, inside.classification) == (0, Category.NORMAL)
    after = state(terms, schedule, FIRST_DUE + days(4), policy=policy)
    assert (after.days_past_due, after.classification) == (4, Category.SPECIAL_MENTION)


EU_MATERIALITY = DelinquencyPolicy(
    materiality_absolute=10_000, materiality_relative=Decimal("0.01")
)  # 100.00 and 1%


@pytest.mark.parametrize(
    ("short_by", "counts"),
    [(5_000, False), (9_000, False), (15_000, True)],
)
def test_materiality_an_unpaid_remainder_counts_only_above_both_thresholds(
    short_by: int, counts: bool
) -> None:
    terms, schedule = loan()  # about 11,000.00 still owed after the first instalment
    first = schedule[0]
    paid = [repay(first.total - short_by, first.due_date)]
    policy = ServicingPolicy(delinquency=EU_MATERIALITY)
    s = state(terms, schedule, FIRST_DUE + days(20), paid, policy=policy)
    assert s.overdue_principal == short_by
    assert s.days_past_due == (20 if counts else 0)
    assert s.classification is (Category.SPECIAL_MENTION if counts else Category.NORMAL)
    # without thresholds any remainder counts
    assert state(terms, schedule, FIRST_DUE + days(20), paid).days_past_due == 20


def test_materiality_relative_threshold_alone() -> None:
    terms, schedule = loan()
    first = schedule[0]
    paid = [repay(first.total - 10_000, first.due_date)]  # 100.00 short, ~0.9% of exposure
    one_percent = ServicingPolicy(
        delinquency=DelinquencyPolicy(materiality_relative=Decimal("0.01"))
    )
    half_percent = ServicingPolicy(
        delinquency=DelinquencyPolicy(materiality_relative=Decimal("0.005"))
    )
    assert state(terms, schedule, FIRST_DUE + days(5), paid, policy=one_percent).days_past_due == 0
    assert state(terms, schedule, FIRST_DUE + days(5), paid, policy=half_percent).days_past_due == 5


def test_days_in_a_payment_pause_do_not_count() -> None:
    terms, schedule = loan()
    pause = [mark(MarkKind.PAYMENT_PAUSE, FIRST_DUE - days(5), FIRST_DUE + days(20))]
    during = state(terms, schedule, FIRST_DUE + days(20), marks=pause)
    assert during.days_past_due == 0
    assert during.classification is Category.NORMAL
    assert during.penalty_outstanding == 0  # no penalty while paused (default)
    assert state(terms, schedule, FIRST_DUE + days(21), marks=pause).days_past_due == 1
    assert state(terms, schedule, FIRST_DUE + days(30), marks=pause).days_past_due == 10


def test_a_pause_in_the_middle_of_arrears_stops_the_count() -> None:
    terms, schedule = loan()
    pause = [mark(MarkKind.PAYMENT_PAUSE, FIRST_DUE + days(11), FIRST_DUE + days(40))]
    assert state(terms, schedule, FIRST_DUE + days(10), marks=pause).days_past_due == 10
    assert state(terms, schedule, FIRST_DUE + days(40), marks=pause).days_past_due == 10
    assert state(terms, schedule, FIRST_DUE + days(45), marks=pause).days_past_due == 15


# ---- prepayment -----------------------------------------------------------------------------


PREPAY_ALL = PrepaymentPolicy(early_payment=EarlyPayment.PREPAYMENT)


@pytest.mark.parametrize("mode", list(PrepaymentMode))
def test_prepayment_re_amortizes_the_rest_of_the_schedule(mode: PrepaymentMode) -> None:
    terms, schedule = loan()
    policy = ServicingPolicy(prepayment=PrepaymentPolicy(mode, EarlyPayment.PREPAYMENT))
    third = schedule[2]
    paid = pay_on_time(schedule, 2) + [repay(third.total + 300_000, third.due_date)]
    s = state(terms, schedule, third.due_date, paid, policy=policy)
    remaining = [i for i in s.schedule if i.due_date > third.due_date]
    assert s.principal_outstanding == third.balance - 300_000
    assert sum(i.principal for i in remaining) == s.principal_outstanding
    assert s.credit_balance == 0
    regular = schedule[3].total
    if mode is PrepaymentMode.SHORTEN_TERM:
        assert len(remaining) < 9
        assert all(i.total <= regular for i in remaining)
        assert remaining[0].total >= regular - 1_000  # the instalment is (about) kept
    else:
        assert len(remaining) == 9
        assert all(i.total < regular for i in remaining)
        assert remaining[-1].due_date == schedule[-1].due_date
    # paying the new schedule closes the loan, having repaid exactly what was lent
    paid += [repay(i.total, i.due_date) for i in remaining]
    end = state(terms, schedule, schedule[-1].due_date, paid, policy=policy)
    assert end.status is LoanStatus.CLOSED
    assert end.principal_paid == terms.principal
    assert end.credit_balance == 0


def test_paying_more_than_everything_closes_the_loan_with_a_credit() -> None:
    terms, schedule = loan()
    paid = pay_on_time(schedule, 1) + [repay(2_000_000, date(2024, 3, 1))]
    s = state(terms, schedule, date(2024, 3, 1), paid)
    assert s.status is LoanStatus.CLOSED
    assert s.principal_paid == terms.principal
    # interest accrued from the last due date to the payoff date is due on payoff
    assert 0 < s.interest_paid - schedule[0].interest < schedule[1].interest
    assert s.total_paid == schedule[0].total + 2_000_000
    assert s.credit_balance == s.total_paid - s.principal_paid - s.interest_paid > 0


# ---- money paid before it is due: an advance, or a prepayment ----------------------------

THIRD_DUE = date(2024, 4, 15)
EARLY = THIRD_DUE - days(5)  # nothing is due on this day: instalments 1 and 2 are paid


def advance_policy(max_instalments: int = 1, mode: PrepaymentMode | None = None) -> ServicingPolicy:
    return ServicingPolicy(
        prepayment=PrepaymentPolicy(
            mode=mode or PrepaymentMode.SHORTEN_TERM,
            early_payment=EarlyPayment.ADVANCE,
            advance_max_instalments=max_instalments,
        )
    )


def test_advance_is_the_default() -> None:
    prepayment = ServicingPolicy.default().prepayment
    assert prepayment.early_payment is EarlyPayment.ADVANCE
    assert prepayment.advance_max_instalments == 1


def test_an_instalment_paid_five_days_early_is_paid_on_its_due_date() -> None:
    terms, schedule = loan()
    third = schedule[2]
    paid = pay_on_time(schedule, 2) + [repay(third.total, EARLY)]
    held = state(terms, schedule, EARLY, paid)
    assert held.advance_balance == third.total
    assert held.principal_outstanding == schedule[1].balance  # nothing repaid yet
    assert held.schedule == tuple(schedule)
    # the instalment it is held for needs nothing more; the next one is what is due next
    assert (held.next_due_date, held.next_due_amount) == (schedule[3].due_date, schedule[3].total)
    assert held.total_paid == held.principal_paid + held.interest_paid + held.advance_balance
    for on in (THIRD_DUE, THIRD_DUE + days(1), THIRD_DUE + days(20)):
        s = state(terms, schedule, on, paid)
        assert (s.days_past_due, s.overdue_since, s.bucket) == (0, None, "M0")
        assert s.classification is Category.NORMAL
        assert s.classification_reasons == ("current",)
        assert s.ifrs9_stage == 1
        assert s.schedule == tuple(schedule)  # no re-amortization
        assert s.advance_balance == 0
        assert s.principal_outstanding == third.balance
        assert s.principal_paid == sum(i.principal for i in schedule[:3])
        assert s.interest_paid == sum(i.interest for i in schedule[:3])  # no interest rebate
        assert s.penalty_charged == 0
    assert classification_history(terms, schedule, paid, [], THIRD_DUE + days(40)) == [
        (schedule[3].due_date + days(1), Category.NORMAL, Category.SPECIAL_MENTION, ("overdue",))
    ]  # only the unpaid fourth instalment goes past due


def test_in_prepayment_mode_money_paid_early_is_a_prepayment_as_before() -> None:
    terms, schedule = loan()
    third = schedule[2]
    paid = pay_on_time(schedule, 2) + [repay(third.total, EARLY)]
    policy = ServicingPolicy(prepayment=PREPAY_ALL)
    s = state(terms, schedule, EARLY, paid, policy=policy)
    assert s.advance_balance == 0
    assert s.principal_outstanding == schedule[1].balance - third.total
    assert s.schedule != tuple(schedule)
    # the re-amortized third instalment still falls due, unpaid: the borrower is late
    late = state(terms, schedule, THIRD_DUE + days(1), paid, policy=policy)
    assert (late.days_past_due, late.overdue_since) == (1, THIRD_DUE)
    assert late.classification is Category.SPECIAL_MENTION


@pytest.mark.parametrize("mode", list(PrepaymentMode))
def test_two_and_a_half_instalments_early_hold_one_and_prepay_the_rest(
    mode: PrepaymentMode,
) -> None:
    terms, schedule = loan()
    third, fourth = schedule[2], schedule[3]
    amount = third.total * 5 // 2
    excess = amount - third.total
    policy = advance_policy(1, mode)
    paid = pay_on_time(schedule, 2) + [repay(amount, EARLY)]
    s = state(terms, schedule, EARLY, paid, policy=policy)
    assert s.advance_balance == third.total
    assert s.principal_paid == sum(i.principal for i in schedule[:2]) + excess
    assert s.principal_outstanding == schedule[1].balance - excess
    held = s.schedule[2]
    assert (held.seq, held.due_date, held.principal, held.interest, held.fee) == (
        3,
        THIRD_DUE,
        third.principal,
        third.interest,
        0,
    )
    assert held.balance == third.balance - excess
    rest = s.schedule[3:]
    assert sum(i.principal for i in rest) == third.balance - excess
    assert rest[-1].balance == 0
    # the prepaid principal bears no interest from the payment day (5 days of period 3
    # and all of period 4), taken off the fourth instalment
    unearned = half_up(Decimal(excess) * Decimal("0.12") * 35 / 360)
    assert rest[0].interest == fourth.interest - unearned
    if mode is PrepaymentMode.SHORTEN_TERM:
        assert len(rest) < 9
        assert all(i.total <= fourth.total for i in rest)
    else:
        assert len(rest) == 9
        assert all(i.total < fourth.total for i in rest)
    on_due = state(terms, schedule, THIRD_DUE, paid, policy=policy)
    assert (on_due.days_past_due, on_due.classification) == (0, Category.NORMAL)
    assert on_due.advance_balance == 0
    assert on_due.schedule == s.schedule
    assert (on_due.next_due_date, on_due.next_due_amount) == (rest[0].due_date, rest[0].total)
    # paying the new schedule closes the loan, having repaid exactly what was lent
    paid += [repay(i.total, i.due_date) for i in rest]
    end = state(terms, schedule, schedule[-1].due_date, paid, policy=policy)
    assert end.status is LoanStatus.CLOSED
    assert end.principal_paid == terms.principal
    assert end.credit_balance == end.advance_balance == 0


def test_two_and_a_half_instalments_in_prepayment_mode_all_prepay() -> None:
    terms, schedule = loan()
    amount = schedule[2].total * 5 // 2
    paid = pay_on_time(schedule, 2) + [repay(amount, EARLY)]
    s = state(terms, schedule, EARLY, paid, policy=ServicingPolicy(prepayment=PREPAY_ALL))
    assert s.advance_balance == 0
    assert s.principal_outstanding == schedule[1].balance - amount


def test_advance_over_two_instalments_pays_one_and_part_of_the_next() -> None:
    terms, schedule = loan()
    third, fourth = schedule[2], schedule[3]
    amount = third.total + fourth.total // 2
    policy = advance_policy(2)
    paid = pay_on_time(schedule, 2) + [repay(amount, EARLY)]
    s = state(terms, schedule, EARLY, paid, policy=policy)
    assert (s.advance_balance, s.schedule) == (amount, tuple(schedule))
    on_third = state(terms, schedule, THIRD_DUE, paid, policy=policy)
    assert on_third.advance_balance == amount - third.total
    assert on_third.days_past_due == 0
    assert on_third.next_due_date == fourth.due_date
    assert on_third.next_due_amount == fourth.total - on_third.advance_balance
    # the rest of the fourth instalment is owed as usual: it goes past due if unpaid
    late = state(terms, schedule, fourth.due_date + days(1), paid, policy=policy)
    assert (late.days_past_due, late.advance_balance) == (1, 0)
    owed = fourth.total - (amount - third.total)
    assert late.overdue_principal + late.overdue_interest == owed
    assert late.interest_paid == sum(i.interest for i in schedule[:4])  # interest goes first


def test_a_second_early_payment_beyond_the_held_instalment_is_a_prepayment() -> None:
    terms, schedule = loan()
    third = schedule[2]
    paid = pay_on_time(schedule, 2) + [
        repay(third.total - 6_619, EARLY - days(3)),
        repay(56_619, EARLY),
    ]
    s = state(terms, schedule, EARLY, paid)
    assert s.advance_balance == third.total
    assert s.principal_outstanding == schedule[1].balance - 50_000
    assert s.schedule[2] == replace(third, balance=third.balance - 50_000)


def test_a_partial_payment_after_the_due_date_is_the_same_in_both_modes() -> None:
    terms, schedule = loan()
    first = schedule[0]
    on = FIRST_DUE + days(12)
    prepay_all = ServicingPolicy(prepayment=PREPAY_ALL)
    for amount in (first.total // 2, first.total):  # the penalty comes first: still short
        paid = [repay(amount, FIRST_DUE + days(10))]
        advance = state(terms, schedule, on, paid)
        assert advance == state(terms, schedule, on, paid, policy=prepay_all)
        assert (advance.advance_balance, advance.days_past_due) == (0, 12)
        assert 0 < advance.overdue_principal < first.principal


def test_money_beyond_the_arrears_is_held_for_the_next_instalment() -> None:
    terms, schedule = loan()
    before = state(terms, schedule, FIRST_DUE + days(9))
    paid = [repay(arrears(before) + 30_000, FIRST_DUE + days(10))]
    s = state(terms, schedule, FIRST_DUE + days(10), paid)
    assert (s.days_past_due, s.advance_balance, s.principal_outstanding) == (
        0,
        30_000,
        first_balance := schedule[0].balance,
    )
    on_second = state(terms, schedule, schedule[1].due_date, paid)
    assert on_second.advance_balance == 0
    assert on_second.overdue_principal == 0
    assert on_second.principal_outstanding == first_balance - (30_000 - schedule[1].interest)


def test_a_charge_posted_while_money_is_held_is_met_from_it() -> None:
    terms, schedule = loan()
    third = schedule[2]
    paid = pay_on_time(schedule, 2) + [
        repay(third.total, EARLY - days(2)),
        txn(TxnType.FEE, 1_000, EARLY),
    ]
    s = state(terms, schedule, EARLY + days(1), paid)
    assert (s.fee_paid, s.advance_balance, s.days_past_due) == (1_000, third.total - 1_000, 0)
    short = state(terms, schedule, THIRD_DUE + days(1), paid)
    assert short.days_past_due == 1
    assert short.overdue_principal == 1_000


def test_a_write_off_applies_the_money_held_first() -> None:
    terms, schedule = loan()
    third = schedule[2]
    paid = pay_on_time(schedule, 2) + [
        repay(third.total, EARLY - days(2)),
        txn(TxnType.WRITE_OFF, 0, EARLY),
    ]
    s = state(terms, schedule, EARLY, paid)
    assert s.status is LoanStatus.CHARGED_OFF
    assert s.advance_balance == 0
    assert s.principal_paid == sum(i.principal for i in schedule[:3])
    assert s.written_off == third.balance
    assert s.total_paid == s.principal_paid + s.interest_paid


def test_money_that_pays_everything_off_early_closes_the_loan_in_advance_mode() -> None:
    terms, schedule = loan()
    paid = pay_on_time(schedule, 2) + [repay(1_500_000, EARLY)]
    s = state(terms, schedule, EARLY, paid)
    assert s.status is LoanStatus.CLOSED
    assert (s.advance_balance, s.principal_paid) == (0, terms.principal)
    assert s.credit_balance == s.total_paid - s.principal_paid - s.interest_paid > 0


# ---- reversal, write-off, failed debits, charges ----------------------------------------------


def test_a_reversed_payment_counts_as_never_made_from_the_reversal_on() -> None:
    terms, schedule = loan()
    first = schedule[0]
    paid = [
        repay(first.total, FIRST_DUE, "P1"),
        txn(TxnType.REVERSAL, first.total, FIRST_DUE + days(10), reverses="P1"),
    ]
    before = state(terms, schedule, FIRST_DUE + days(9), paid)
    assert (before.days_past_due, before.total_paid) == (0, first.total)
    after = state(terms, schedule, FIRST_DUE + days(10), paid)
    assert after.days_past_due == 10
    assert after.total_paid == 0
    assert after.classification is Category.SPECIAL_MENTION
    assert after.overdue_principal == first.principal


def test_write_off_charges_the_loan_off_and_later_money_is_a_recovery() -> None:
    terms, schedule = loan()
    write_off_day = FIRST_DUE + days(200)
    txns = [txn(TxnType.WRITE_OFF, 0, write_off_day), repay(50_000, write_off_day + days(30))]
    before = state(terms, schedule, write_off_day - days(1), txns)
    s = state(terms, schedule, write_off_day + days(30), txns)
    assert s.status is LoanStatus.CHARGED_OFF
    assert s.bucket == "WO"
    assert s.classification is Category.LOSS
    assert s.classification_reasons == ("charged_off",)
    assert s.ifrs9_stage == 3
    assert s.principal_outstanding == 0
    assert s.written_off >= before.principal_outstanding + before.penalty_outstanding
    assert s.recovered == 50_000
    assert s.total_paid == 50_000 == s.principal_paid + s.interest_paid + s.recovered


def test_failed_debits_are_counted_and_move_no_money() -> None:
    terms, schedule = loan()
    txns = [
        txn(TxnType.FAILED_DEBIT, schedule[0].total, FIRST_DUE),
        txn(TxnType.FAILED_DEBIT, schedule[0].total, FIRST_DUE + days(1)),
    ]
    s = state(terms, schedule, FIRST_DUE + days(2), txns)
    assert s.failed_debits == 2
    assert s.total_paid == 0
    assert s.days_past_due == 2


def test_penalty_accrues_daily_on_overdue_principal_at_one_and_a_half_times_the_rate() -> None:
    terms, schedule = loan()
    first = schedule[0]
    s = state(terms, schedule, FIRST_DUE + days(10))
    # first instalment's principal × 1.5 × 12% / 360, rounded per day, for 10 days
    daily = half_up(first.principal * Decimal("0.18") / 360)
    assert s.penalty_outstanding == 10 * daily


def test_fee_and_waiver() -> None:
    terms, schedule = loan()
    first = schedule[0]
    txns = [
        txn(TxnType.FEE, 5_000, FIRST_DUE + days(3)),
        repay(first.total, FIRST_DUE + days(5)),
    ]
    s = state(terms, schedule, FIRST_DUE + days(5), txns)
    # penalty → fee → interest → principal: the payment falls short by penalty + fee
    assert s.fee_paid == 5_000
    assert s.overdue_principal == s.penalty_paid + 5_000
    waived = [*txns, txn(TxnType.WAIVER, 10_000, FIRST_DUE + days(6))]
    w = state(terms, schedule, FIRST_DUE + days(6), waived)
    # the waiver forgives the penalty owed; it cannot reach principal (not configured)
    assert w.waived == s.penalty_outstanding
    assert w.overdue_principal == s.overdue_principal
    # that day's penalty accrues after the day's transactions
    assert w.penalty_outstanding == half_up(w.overdue_principal * Decimal("0.18") / 360)
