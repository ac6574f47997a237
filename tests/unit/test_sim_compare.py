"""Champion / challenger with common random numbers, and treatment effects in the right
direction."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from postloan.sim import SimConfig, simulate
from postloan.sim.compare import compare, outcomes

LATE = {"strategy": {"name": "late", "contact_days_after_due": [15, 25]}}
EARLY = {"strategy": {"name": "early", "contact_days_after_due": [2, 15, 25]}}


@pytest.fixture(scope="module")
def pair() -> tuple[dict[str, float], dict[str, float]]:
    base = SimConfig.default()
    a = simulate(base.with_overrides(LATE), loans=6000, months=15, seed=9)
    b = simulate(base.with_overrides(EARLY), loans=6000, months=15, seed=9)
    # common random numbers: the same book, the same people
    assert_frame_equal(a.loans, b.loans)
    assert_frame_equal(a.borrowers, b.borrowers)
    # before anyone is late the two strategies produce the same money flows
    first = a.transactions["value_date"].min()
    assert_frame_equal(
        a.transactions.filter(pl.col("value_date") == first),
        b.transactions.filter(pl.col("value_date") == first),
    )
    return outcomes(a), outcomes(b)


def test_early_contact_cures_more_and_lowers_90_plus(
    pair: tuple[dict[str, float], dict[str, float]],
) -> None:
    late, early = pair
    assert (
        early["cure rate (monthly, delinquent → current)"]
        > late["cure rate (monthly, delinquent → current)"]
    )
    assert early["90+ DPD ratio (last month)"] < late["90+ DPD ratio (last month)"]


def test_reminders_lower_first_misses() -> None:
    none = SimConfig.default().with_overrides({"strategy": {"reminder_days_before_due": []}})
    many = SimConfig.default().with_overrides({"strategy": {"reminder_days_before_due": [7, 3, 1]}})
    from postloan.sim import metrics

    r0 = simulate(none, loans=4000, months=10, seed=3)
    r3 = simulate(many, loans=4000, months=10, seed=3)
    assert metrics.roll_rate(r3.monthly, "M0", "M1") < metrics.roll_rate(r0.monthly, "M0", "M1")


def test_contact_fatigue_can_make_more_contacts_worse() -> None:
    few = SimConfig.default().with_overrides({"strategy": {"contact_days_after_due": [3]}})
    spam = SimConfig.default().with_overrides(
        {"strategy": {"contact_days_after_due": [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]}}
    )
    a = outcomes(simulate(few, loans=4000, months=12, seed=4))
    b = outcomes(simulate(spam, loans=4000, months=12, seed=4))
    assert (
        b["cure rate (monthly, delinquent → current)"]
        < a["cure rate (monthly, delinquent → current)"]
    )
    assert b["contact & treatment cost (CNY)"] > a["contact & treatment cost (CNY)"]


def test_compare_table_has_every_strategy_and_outcome() -> None:
    base = SimConfig.default()
    table = compare(
        {"champion": base.with_overrides(LATE), "challenger": base.with_overrides(EARLY)},
        loans=800,
        months=8,
        seed=1,
    )
    assert list(table) == ["champion (late)", "challenger (early)"]
    for column in table.values():
        assert set(column) == {
            "90+ DPD ratio (last month)",
            "cure rate (monthly, delinquent → current)",
            "recovered from delinquent loans (CNY)",
            "of which litigation (CNY)",
            "contact & treatment cost (CNY)",
            "restructurings accepted",
        }
        assert column["90+ DPD ratio (last month)"].endswith("%")
