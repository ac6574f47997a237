"""The simulator's penalty arithmetic is postloan's (罚息, default policy)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from postloan.domain.penalty import daily_penalty, daily_penalty_rate
from postloan.domain.policy import PenaltyPolicy
from postloan.sim.arrears import Arrears
from postloan.sim.population import RATE_SCALE


def _arrears(rate_num: int) -> Arrears:
    cum = np.array([[0, 100, 200]], dtype=np.int64)
    due = np.array([[20000, 20030]], dtype=np.int32)
    return Arrears(cum, cum, due, np.array([rate_num]), RATE_SCALE)


@settings(max_examples=200)
@given(st.integers(0, 10**9), st.integers(0, RATE_SCALE))
def test_daily_penalty_matches_the_domain(principal: int, rate_num: int) -> None:
    ar = _arrears(rate_num)
    ours = int(ar.daily_penalty(np.array([0]), np.array([principal]))[0])
    rate = daily_penalty_rate(Decimal(rate_num) / RATE_SCALE, PenaltyPolicy())
    assert ours == daily_penalty(principal, rate)


def test_part_payment_goes_to_penalty_then_interest_then_principal() -> None:
    # one instalment of 1,000.00 principal + 50.00 interest, due on day 20000, at 24%
    cum_total = np.array([[0, 105000, 210000]], dtype=np.int64)
    cum_principal = np.array([[0, 100000, 200000]], dtype=np.int64)
    due = np.array([[20000, 20030]], dtype=np.int32)
    ar = Arrears(cum_total, cum_principal, due, np.array([2400]), RATE_SCALE)
    idx = np.array([0])
    per_day = int(ar.daily_penalty(idx, np.array([100000]))[0])  # 1000.00 × 1.5 × 24% / 360
    assert per_day == 100
    day = np.array([20011])  # 10 days of penalty (days 20001..20010)
    assert int(ar.debt(idx, day)[0]) == 105000 + 10 * per_day
    ar.part_pay(idx, np.array([6000]), day)  # 1,000 penalty, 5,000 interest
    assert int(ar.principal_left[0]) == 100000 and int(ar.interest_paid[0]) == 5000
    ar.part_pay(idx, np.array([40000]), day)  # all principal now
    assert int(ar.principal_left[0]) == 60000
    later = np.array([20021])  # 10 more days on 600.00
    assert int(ar.debt(idx, later)[0]) == 60000 + 10 * int(
        ar.daily_penalty(idx, np.array([60000]))[0]
    )
    # settling both instalments on day 20041 adds the second one's 10 days on full principal
    both = ar.settle_amount(idx, np.array([1]), np.array([20041]))
    expected = int(ar.debt(idx, np.array([20041]))[0]) + 105000 + 10 * per_day
    assert int(both[0]) == expected
    ar.advance(idx, np.array([2]), np.array([20041]))
    assert int(ar.cursor[0]) == 2
