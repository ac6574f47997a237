"""IFRS 9 staging, one pure step per business day.

- Stage 3 (credit-impaired / default): DPD over ``stage3_over_dpd`` (90), a
  ``credit_impaired`` mark, or a charge-off.
- Stage 2 (significant increase in credit risk): DPD over ``stage2_over_dpd`` (30),
  or a model/rule trigger passed in.
- Stage 1 otherwise.

Leaving stage 3 takes a probation: the loan stays in stage 3 until no default
trigger has held for ``probation_months`` (3), or ``forborne_probation_months``
(12) when a ``restructured`` mark covers the day. A new trigger during probation
restarts it. A closed loan is stage 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from postloan.domain.calendar import add_months
from postloan.domain.policy import Ifrs9Policy


@dataclass(frozen=True, slots=True)
class Ifrs9State:
    stage: int = 1
    #: In stage 3 with no trigger left: the first day of the probation.
    probation_start: date | None = None


def in_default(dpd: int, credit_impaired: bool, charged_off: bool, policy: Ifrs9Policy) -> bool:
    return dpd > policy.stage3_over_dpd or credit_impaired or charged_off


def performing_stage(dpd: int, sicr_trigger: bool, policy: Ifrs9Policy) -> int:
    """Stage 1 or 2 for a loan not in default."""
    return 2 if dpd > policy.stage2_over_dpd or sicr_trigger else 1


def probation_months(forborne: bool, policy: Ifrs9Policy) -> int:
    return policy.forborne_probation_months if forborne else policy.probation_months


def step_ifrs9(
    prev: Ifrs9State,
    day: date,
    dpd: int,
    policy: Ifrs9Policy,
    *,
    credit_impaired: bool = False,
    sicr_trigger: bool = False,
    forborne: bool = False,
    charged_off: bool = False,
    closed: bool = False,
) -> Ifrs9State:
    """Today's stage from yesterday's state and today's facts."""
    if closed:
        return Ifrs9State(1)
    if in_default(dpd, credit_impaired, charged_off, policy):
        return Ifrs9State(3)
    if prev.stage == 3:
        start = prev.probation_start or day
        if day < add_months(start, probation_months(forborne, policy)):
            return Ifrs9State(3, start)
    return Ifrs9State(performing_stage(dpd, sicr_trigger, policy))
