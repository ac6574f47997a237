"""Five-category classification (五级分类; 商业银行金融资产风险分类办法, effective 2023-07-01).

One pure step per business day: yesterday's ``ClassificationState`` and today's
``DayFacts`` give today's state. The batch carries the same state columns from
day to day, so it reproduces this walk exactly.

Floors from today's facts (the worst applies; its reasons are kept):

- nothing overdue → 正常 normal (``current``); any DPD → at least 关注 special
  mention (``overdue``), except a delay of at most ``technical_delay_max_days``
  covered by a ``technical_delay`` mark (``technical_delay``, stays normal);
- DPD over 90 / 270 / 360 → 次级 / 可疑 / 损失 (``dpd_over_90`` …, thresholds configurable);
- a ``credit_impaired`` mark → at least 次级 (``credit_impaired``);
- in a restructuring observation period → at least 关注 (``restructured_observation``);
- a second restructuring during the observation period → at least 可疑 (``second_restructuring``).

Moving up out of 不良 (NPL = substandard, doubtful, loss) is held back: the loan
keeps its category until its arrears are repaid and it then pays normally for
``cure_periods`` consecutive periods (or ``cure_months`` months, as configured);
while waiting the reason is ``cure_probation`` (``npl_not_cured`` while still in
arrears). During a restructuring observation an NPL loan cannot move up at all.
When the cure completes the loan moves to its floor with ``cure_completed``.

Restructuring observation: it starts at the first due date after the restructuring
takes effect and ends once at least ``observation_min_periods`` periods have been
paid normally AND ``observation_min_months`` have passed since that start. Any day
past due restarts it (from the next due date). A period counts as paid normally
once its due date + grace has passed without the loan going past due.

A closed loan is normal (``closed``); a charged-off loan is loss (``charged_off``).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from postloan.domain.calendar import add_months
from postloan.domain.policy import ClassificationPolicy, CureRule


class Category(StrEnum):
    NORMAL = "normal"  # 正常
    SPECIAL_MENTION = "special_mention"  # 关注
    SUBSTANDARD = "substandard"  # 次级
    DOUBTFUL = "doubtful"  # 可疑
    LOSS = "loss"  # 损失

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def is_npl(self) -> bool:
        """次级, 可疑 and 损失 are 不良 (non-performing)."""
        return self.rank >= 2

    @property
    def chinese(self) -> str:
        return _CHINESE[self]


_RANK = {c: i for i, c in enumerate(Category)}
_CHINESE = dict(zip(Category, ("正常", "关注", "次级", "可疑", "损失"), strict=True))

# Reason codes (DPD reasons are built from the configured thresholds: dpd_over_90 …).
CURRENT = "current"
OVERDUE = "overdue"
TECHNICAL_DELAY = "technical_delay"
CREDIT_IMPAIRED = "credit_impaired"
RESTRUCTURED_OBSERVATION = "restructured_observation"
SECOND_RESTRUCTURING = "second_restructuring"
CURE_PROBATION = "cure_probation"
NPL_NOT_CURED = "npl_not_cured"
CURE_COMPLETED = "cure_completed"
CLOSED = "closed"
CHARGED_OFF = "charged_off"


@dataclass(frozen=True, slots=True)
class DayFacts:
    """What the classification of one business day looks at."""

    day: date
    dpd: int
    technical_delay: bool = False  # a technical_delay mark covers the day
    credit_impaired: bool = False  # a credit_impaired mark covers the day
    restructured: bool = False  # a restructuring takes effect on the day
    due_dates: tuple[date, ...] = ()  # the instalment due dates, ascending
    grace_days: int = 0  # delinquency grace: when a period's payment is settled
    closed: bool = False
    charged_off: bool = False


@dataclass(frozen=True, slots=True)
class ClassificationState:
    category: Category = Category.NORMAL
    reasons: tuple[str, ...] = (CURRENT,)
    #: An NPL loan with its arrears repaid: the first day of its cure window.
    cure_start: date | None = None
    #: A restructured loan under observation: the period runs from the first due
    #: date after this day (the restructuring, or the last day past due).
    observation_anchor: date | None = None


def dpd_category(dpd: int, policy: ClassificationPolicy) -> tuple[Category, str]:
    """The category DPD alone requires, and why (no technical-delay exception)."""
    if dpd > policy.loss_over_dpd:
        return Category.LOSS, f"dpd_over_{policy.loss_over_dpd}"
    if dpd > policy.doubtful_over_dpd:
        return Category.DOUBTFUL, f"dpd_over_{policy.doubtful_over_dpd}"
    if dpd > policy.substandard_over_dpd:
        return Category.SUBSTANDARD, f"dpd_over_{policy.substandard_over_dpd}"
    if dpd > 0:
        return Category.SPECIAL_MENTION, OVERDUE
    return Category.NORMAL, CURRENT


def floor_category(
    facts: DayFacts, observing: bool, policy: ClassificationPolicy
) -> tuple[Category, tuple[str, ...]]:
    """The worst category today's facts require, with every reason that requires it."""
    category, reason = dpd_category(facts.dpd, policy)
    if (
        category is Category.SPECIAL_MENTION
        and facts.technical_delay
        and facts.dpd <= policy.technical_delay_max_days
    ):
        category, reason = Category.NORMAL, TECHNICAL_DELAY
    reasons: tuple[str, ...] = (reason,)
    for flag, level, why in (
        (facts.credit_impaired, Category.SUBSTANDARD, CREDIT_IMPAIRED),
        (observing, Category.SPECIAL_MENTION, RESTRUCTURED_OBSERVATION),
    ):
        if not flag or level.rank < category.rank:
            continue
        if level.rank > category.rank:
            category, reasons = level, (why,)
        else:
            reasons = (*reasons, why)
    return category, reasons


def periods_completed(facts: DayFacts, after: date) -> int:
    """Due dates after ``after`` whose payment is settled by ``facts.day``
    (due date + grace before the day)."""
    settled_through = facts.day - timedelta(days=facts.grace_days + 1)
    if settled_through <= after:
        return 0
    return bisect_right(facts.due_dates, settled_through) - bisect_right(facts.due_dates, after)


def observation_start(facts: DayFacts, anchor: date) -> date | None:
    """The first due date after ``anchor``: where the observation period starts."""
    i = bisect_right(facts.due_dates, anchor)
    return facts.due_dates[i] if i < len(facts.due_dates) else None


def observation_completed(anchor: date, facts: DayFacts, policy: ClassificationPolicy) -> bool:
    start = observation_start(facts, anchor)
    return (
        start is not None
        and periods_completed(facts, start) >= policy.observation_min_periods
        and facts.day >= add_months(start, policy.observation_min_months)
    )


def cure_completed(cure_start: date, facts: DayFacts, policy: ClassificationPolicy) -> bool:
    if policy.cure_rule is CureRule.PERIODS:
        return periods_completed(facts, cure_start) >= policy.cure_periods
    return facts.day >= add_months(cure_start, policy.cure_months)


def step_observation(
    anchor: date | None, facts: DayFacts, policy: ClassificationPolicy
) -> tuple[date | None, bool]:
    """Today's observation anchor (None when not observing), and whether a second
    restructuring happened during the observation period."""
    second = False
    if facts.restructured:
        second = anchor is not None
        anchor = facts.day
    if anchor is not None and facts.dpd > 0:
        anchor = facts.day  # a missed payment restarts the period
    if anchor is not None and observation_completed(anchor, facts, policy):
        anchor = None
    return anchor, second


def step_classification(
    prev: ClassificationState, facts: DayFacts, policy: ClassificationPolicy
) -> ClassificationState:
    """Today's classification from yesterday's state and today's facts."""
    if facts.charged_off:
        return ClassificationState(Category.LOSS, (CHARGED_OFF,))
    if facts.closed:
        return ClassificationState(Category.NORMAL, (CLOSED,))
    anchor, second = step_observation(prev.observation_anchor, facts, policy)
    floor, reasons = floor_category(facts, anchor is not None, policy)
    if second and floor.rank < Category.DOUBTFUL.rank:
        floor, reasons = Category.DOUBTFUL, (SECOND_RESTRUCTURING,)
    elif second and floor is Category.DOUBTFUL:
        reasons = (*reasons, SECOND_RESTRUCTURING)
    held = prev.category
    if not held.is_npl or floor.rank >= held.rank:
        return ClassificationState(floor, reasons, None, anchor)
    # An NPL loan whose facts alone would let it move up.
    cured_facts = facts.dpd == 0 and not floor.is_npl
    cure_start = (prev.cure_start or facts.day) if cured_facts else None
    if anchor is not None:
        return ClassificationState(held, (RESTRUCTURED_OBSERVATION,), cure_start, anchor)
    if cure_start is not None and cure_completed(cure_start, facts, policy):
        return ClassificationState(floor, (*reasons, CURE_COMPLETED), None, anchor)
    why = CURE_PROBATION if cured_facts else NPL_NOT_CURED
    return ClassificationState(held, (why,), cure_start, anchor)
