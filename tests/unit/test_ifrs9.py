"""IFRS 9 staging step: thresholds, triggers, and the probation out of stage 3."""

from __future__ import annotations

from datetime import date

import pytest

from postloan.domain.ifrs9 import Ifrs9State, step_ifrs9
from postloan.domain.policy import Ifrs9Policy

POLICY = Ifrs9Policy()
DAY = date(2024, 3, 31)


@pytest.mark.parametrize(("dpd", "stage"), [(0, 1), (30, 1), (31, 2), (90, 2), (91, 3)])
def test_dpd_thresholds(dpd: int, stage: int) -> None:
    assert step_ifrs9(Ifrs9State(), DAY, dpd, POLICY).stage == stage


def test_triggers() -> None:
    assert step_ifrs9(Ifrs9State(), DAY, 0, POLICY, sicr_trigger=True).stage == 2
    assert step_ifrs9(Ifrs9State(), DAY, 0, POLICY, credit_impaired=True).stage == 3
    assert step_ifrs9(Ifrs9State(), DAY, 0, POLICY, charged_off=True).stage == 3
    assert step_ifrs9(Ifrs9State(3), DAY, 200, POLICY, closed=True).stage == 1


def test_leaving_stage_3_takes_a_probation_of_three_months() -> None:
    s = step_ifrs9(Ifrs9State(3), DAY, 0, POLICY)
    assert s == Ifrs9State(3, DAY)
    assert step_ifrs9(s, date(2024, 6, 29), 0, POLICY).stage == 3
    assert step_ifrs9(s, date(2024, 6, 30), 0, POLICY).stage == 1  # 31 Mar + 3 months
    assert step_ifrs9(s, date(2024, 6, 30), 45, POLICY).stage == 2  # still 30+ DPD


def test_a_forborne_loan_needs_twelve_months() -> None:
    s = Ifrs9State(3, DAY)
    assert step_ifrs9(s, date(2025, 3, 30), 0, POLICY, forborne=True).stage == 3
    assert step_ifrs9(s, date(2025, 3, 31), 0, POLICY, forborne=True).stage == 1


def test_a_new_default_during_probation_restarts_it() -> None:
    s = step_ifrs9(Ifrs9State(3, DAY), date(2024, 5, 1), 95, POLICY)
    assert s == Ifrs9State(3)
    assert step_ifrs9(s, date(2024, 5, 2), 0, POLICY) == Ifrs9State(3, date(2024, 5, 2))


def test_configured_thresholds() -> None:
    policy = Ifrs9Policy(stage2_over_dpd=15, stage3_over_dpd=60, probation_months=0)
    assert step_ifrs9(Ifrs9State(), DAY, 16, policy).stage == 2
    assert step_ifrs9(Ifrs9State(), DAY, 61, policy).stage == 3
    assert step_ifrs9(Ifrs9State(3), DAY, 0, policy).stage == 1
