"""The day-by-day walk behind ``loan_state_as_of``.

Each day, in this order:

1. that day's transactions (``transactions.effective_transactions``: later ones are
   ignored; reversed ones never happened; charges before money before write-off),
   then the money held in advance meets what has fallen due (``advance``);
2. penalty accrual for the day on overdue principal (``penalty``), unless paused;
3. overdue-since and DPD (``delinquency``);
4. one step of the five-category classification (``classification``) and of the
   IFRS 9 stage (``ifrs9``), both of which carry state from the day before.

Days on which nothing can change are not walked one by one: once a day repeats
the day before and no clock is running (cure, observation, probation), every
day up to the next event (a transaction, a due date or a date derived from one,
a mark boundary) or the next DPD threshold is the same, so the walk jumps there,
accruing the penalty of the days it passes. Walking every day gives the same
result (``fast=False``; a property test compares both).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import NamedTuple

from postloan.domain.classification import (
    Category,
    ClassificationState,
    DayFacts,
    step_classification,
)
from postloan.domain.delinquency import days_past_due
from postloan.domain.ifrs9 import Ifrs9State, step_ifrs9
from postloan.domain.ledger import Ledger
from postloan.domain.marks import LoanMark, MarkKind
from postloan.domain.policy import ServicingPolicy
from postloan.domain.schedule import Instalment, LoanTerms
from postloan.domain.transactions import Transaction, effective_transactions


class ClassificationChange(NamedTuple):
    day: date
    from_category: Category
    to_category: Category
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True, eq=False)
class Replay:
    """Where the walk ended: the books, and the day's delinquency and classification."""

    ledger: Ledger
    overdue_since: date | None
    days_past_due: int
    classification: ClassificationState
    ifrs9: Ifrs9State
    history: list[ClassificationChange]


def replay(
    terms: LoanTerms,
    schedule: Sequence[Instalment],
    transactions: Sequence[Transaction],
    marks: Sequence[LoanMark],
    business_date: date,
    policy: ServicingPolicy,
    sicr_trigger: bool = False,
    fast: bool = True,
) -> Replay:
    """Walk the loan from disbursement through ``business_date`` (inputs already checked).

    ``fast=False`` walks every day; the result is the same (a property test checks it).
    """
    by_day: dict[date, list[Transaction]] = {}
    for txn in effective_transactions(transactions, business_date):
        by_day.setdefault(txn.value_date, []).append(txn)
    kinds = {k: [m for m in marks if m.kind is k] for k in MarkKind}
    pauses = kinds[MarkKind.PAYMENT_PAUSE]
    restructurings = {m.start_date for m in kinds[MarkKind.RESTRUCTURED]}
    accrue_in_pause = policy.penalty.accrue_during_pause
    grace = policy.delinquency.grace_days

    def covered(kind: MarkKind, day: date) -> bool:
        found = kinds[kind]
        return bool(found) and any(m.covers(day) for m in found)

    ledger = Ledger(terms, schedule, policy)
    ledger.refresh_days.update(by_day)
    ledger.refresh_days.update(_mark_boundaries(marks))
    boundaries: list[date] = []
    one_day = timedelta(days=1)
    day = terms.disbursement_date
    ledger.refresh(day)
    since: date | None = None
    dpd = 0
    cls, stage = ClassificationState(), Ifrs9State()
    history: list[ClassificationChange] = []
    while day <= business_date:
        if day in ledger.refresh_days:
            ledger.settle_penalty()
            for txn in by_day.get(day, ()):
                ledger.apply(txn, since)
            ledger.apply_advance(day)
            ledger.refresh(day)
        accruing = accrue_in_pause or not covered(MarkKind.PAYMENT_PAUSE, day)
        if accruing:
            ledger.accrue_days()
        since = ledger.overdue_since()
        dpd = days_past_due(since, day, pauses)
        charged_off = ledger.charged_off_on is not None
        impaired = covered(MarkKind.CREDIT_IMPAIRED, day)
        facts = DayFacts(
            day,
            dpd,
            covered(MarkKind.TECHNICAL_DELAY, day),
            impaired,
            day in restructurings,
            ledger.due_dates,
            grace,
            ledger.closed,
            charged_off,
        )
        new_cls = step_classification(cls, facts, policy.classification)
        new_stage = step_ifrs9(
            stage,
            day,
            dpd,
            policy.ifrs9,
            credit_impaired=impaired,
            sicr_trigger=sicr_trigger and day == business_date,
            forborne=covered(MarkKind.RESTRUCTURED, day),
            charged_off=charged_off,
            closed=ledger.closed,
        )
        if new_cls.category is not cls.category:
            history.append(
                ClassificationChange(day, cls.category, new_cls.category, new_cls.reasons)
            )
        steady = fast and _repeats(cls, new_cls, stage, new_stage)
        cls, stage = new_cls, new_stage
        horizon = _steady_until(day, dpd, since, ledger, cls, policy) if steady else None
        if horizon is None:
            day += one_day
            continue
        # Every day before the next event or DPD threshold repeats this one: jump there.
        if len(boundaries) != len(ledger.refresh_days):
            boundaries = sorted(ledger.refresh_days)
        i = bisect_right(boundaries, day)
        target = min(
            horizon, business_date, boundaries[i] if i < len(boundaries) else business_date
        )
        skipped = (target - day).days - 1
        if skipped > 0:
            if accruing:
                ledger.accrue_days(skipped)
            if cls.observation_anchor is not None:
                cls = replace(cls, observation_anchor=target - one_day)
        day = max(target, day + one_day)
    ledger.settle_penalty()
    return Replay(ledger, since, dpd, cls, stage, history)


def _mark_boundaries(marks: Sequence[LoanMark]) -> set[date]:
    """The days on which a mark starts or stops covering."""
    days = {m.start_date for m in marks}
    days.update(m.end_date + timedelta(days=1) for m in marks if m.end_date is not None)
    return days


def _repeats(
    before: ClassificationState,
    after: ClassificationState,
    stage_before: Ifrs9State,
    stage_after: Ifrs9State,
) -> bool:
    """Whether today's steps repeated the last day's, with no clock running
    (cure, IFRS 9 probation) that would make a later day differ."""
    return (
        after.category is before.category
        and after.reasons == before.reasons
        and after.cure_start is None
        and stage_after == stage_before
        and stage_after.probation_start is None
    )


def _steady_until(
    day: date,
    dpd: int,
    since: date | None,
    ledger: Ledger,
    cls: ClassificationState,
    policy: ServicingPolicy,
) -> date | None:
    """After a repeated day: the next day that may differ, if the days until the next
    event are sure to repeat it; None when each day must be walked.

    Nothing past due, no penalty and no observation: until the next event. Past due
    (the overdue-since date then stays put): until DPD crosses the next threshold.
    """
    if since is None:
        at_rest = ledger.accrual_idle() and cls.observation_anchor is None
        return date.max if at_rest else None
    if dpd == 0 or not ledger.stays_material():
        return None
    c, s = policy.classification, policy.ifrs9
    thresholds = (
        c.technical_delay_max_days,
        c.substandard_over_dpd,
        c.doubtful_over_dpd,
        c.loss_over_dpd,
        s.stage2_over_dpd,
        s.stage3_over_dpd,
    )
    crossing = min((t + 1 for t in thresholds if t + 1 > dpd), default=None)
    if crossing is None:
        return date.max
    return day + timedelta(days=crossing - dpd)
