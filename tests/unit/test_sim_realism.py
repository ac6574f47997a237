"""Acceptance: a small simulated book looks like a consumer loan book, and the oracle is
calibrated against what the simulator then does.

Figures come from the simulator's own month-end arrears (``SimResult.monthly``).
"""

from __future__ import annotations

import polars as pl
import pytest

from postloan.sim import SimConfig, SimResult, simulate
from postloan.sim import metrics as m

LOANS, MONTHS = 6000, 16


@pytest.fixture(scope="module")
def book() -> SimResult:
    return simulate(SimConfig.default(), loans=LOANS, months=MONTHS, seed=2024)


def test_over90_ratio_at_month_12_is_in_the_consumer_npl_range(book: SimResult) -> None:
    ratio = m.over90_ratio(book.monthly, 12)
    assert 0.01 <= ratio <= 0.04, ratio


def test_vintage_curve_rises_then_flattens(book: SimResult) -> None:
    v = m.vintage_30plus(book.monthly, book.loans)
    # cohorts originated in the window's first months (12+ months on book by its end)
    cohorts = v.filter(pl.col("cohort").is_between(pl.lit("2025-01"), pl.lit("2025-03")))
    curve = cohorts.group_by("mob").agg(pl.col("ever_30plus").mean()).sort("mob")
    ever = dict(zip(curve["mob"], curve["ever_30plus"], strict=True))
    assert ever[1] == 0.0  # nobody is 30+ a month after disbursement
    assert 0 < ever[2] < ever[4] < ever[8] < ever[12]  # rises with seasoning
    assert 0.01 < ever[12] < 0.2
    # and flattens: the second half-year adds less than the first
    assert ever[12] - ever[8] < ever[6] - ever[2]
    pit = cohorts.group_by("mob").agg(pl.col("rate_30plus").mean()).sort("mob")
    assert pit["rate_30plus"].max() <= ever[12] + 1e-9  # point-in-time never exceeds ever


def test_roll_rates(book: SimResult) -> None:
    to_m1 = m.roll_rate(book.monthly, "M0", "M1")
    assert 0.005 <= to_m1 <= 0.05, to_m1  # a few percent a month (or a little less)
    m3_m4 = m.roll_rate(book.monthly, "M3", "M4")
    assert m3_m4 > 5 * to_m1
    assert m3_m4 > 0.4


def test_cure_rates_fall_with_bucket_depth(book: SimResult) -> None:
    cures = m.cure_rates(book.monthly)
    assert cures["M1"] > cures["M2"] > cures["M3"] > cures["M4"]
    assert cures["M1"] > 0.25


def _realised(book: SimResult, horizon: int) -> pl.DataFrame:
    """Truth rows of loans not yet 90+, with whether they were 90+ at one of the next
    ``horizon`` month-ends."""
    mon = book.monthly.filter(~pl.col("closed"))
    state = mon.select("loan_id", "as_of", "month_index", "dpd", "overdue_instalments")
    rows = book.truth.join(state, on=["loan_id", "as_of"]).filter(
        (pl.col("month_index") <= book.months - 1 - horizon) & (pl.col("dpd") <= 90)
    )
    future = mon.select(
        "loan_id", pl.col("month_index").alias("f"), (pl.col("dpd") > 90).alias("bad")
    )
    hits = (
        rows.select("loan_id", "month_index")
        .join(future, on="loan_id")
        .filter(
            (pl.col("f") > pl.col("month_index")) & (pl.col("f") <= pl.col("month_index") + horizon)
        )
        .group_by("loan_id", "month_index")
        .agg(pl.col("bad").any())
    )
    return rows.join(hits, on=["loan_id", "month_index"], how="left").with_columns(
        pl.col("bad").fill_null(False)
    )


@pytest.mark.parametrize(("horizon", "column"), [(3, "pd_90dpd_90d"), (6, "pd_90dpd_180d")])
def test_oracle_is_calibrated(book: SimResult, horizon: int, column: str) -> None:
    rows = _realised(book, horizon).filter(pl.col("overdue_instalments") >= 1)
    predicted, realised = rows[column].sum(), rows["bad"].sum()
    assert rows.height > 300
    assert abs(predicted - realised) < 0.12 * realised + 10, (predicted, realised)
    # and it ranks: the riskier half by the oracle holds most of the hits
    top = rows.sort(column, descending=True).head(rows.height // 2)["bad"].sum()
    assert top > 0.7 * realised


def test_truth_rows_are_sane(book: SimResult) -> None:
    t = book.truth.join(book.monthly.select("loan_id", "as_of", "dpd"), on=["loan_id", "as_of"])
    assert (t["pd_90dpd_180d"] >= t["pd_90dpd_90d"]).all()
    assert t["pd_90dpd_90d"].is_between(0, 1).all()
    over = t.filter(pl.col("dpd") > 90)
    assert over.height > 0
    assert (over["pd_90dpd_90d"] == 1).all() and (over["pd_90dpd_180d"] == 1).all()
    open_rows = book.monthly.filter(~pl.col("closed")).height
    assert book.truth.height == open_rows  # one row per open loan per month-end
