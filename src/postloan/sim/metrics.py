"""Realism figures computed from the simulator's own month-end arrears (``sim_monthly``).

Definitions follow DESIGN.md's KPI section: the 90+ DPD ratio is the principal of
loans more than 90 days past due over the principal of all open loans; roll rates
are by count from bucket i at month t to bucket j at t+1 (loans that close count
as current, charge-offs as WO); a cure is delinquent at t and current at t+1; the vintage figure
30+@MOB is point-in-time: principal of loans over 30 DPD at month-on-book m over
the amount originated by the cohort.
"""

from __future__ import annotations

import polars as pl

__all__ = ["cure_rates", "over90_ratio", "roll_matrix", "vintage_30plus"]


def over90_ratio(monthly: pl.DataFrame, month: int) -> float:
    m = monthly.filter((pl.col("month_index") == month) & ~pl.col("closed"))
    gross = int(m["principal_outstanding"].sum())
    bad = int(m.filter(pl.col("dpd") > 90)["principal_outstanding"].sum())
    return bad / gross if gross else 0.0


def _pairs(monthly: pl.DataFrame) -> pl.DataFrame:
    cur = monthly.select("loan_id", "month_index", "bucket", "closed", "charged_off")
    nxt = cur.with_columns(pl.col("month_index") - 1).rename(
        {"bucket": "next", "closed": "next_closed", "charged_off": "next_wo"}
    )
    pairs = cur.filter(~pl.col("closed")).join(nxt, on=["loan_id", "month_index"], how="inner")
    paid_off = pl.col("next_closed") & ~pl.col("next_wo")
    return pairs.with_columns(
        pl.when(paid_off).then(pl.lit("M0")).otherwise(pl.col("next")).alias("next")
    )


def roll_matrix(monthly: pl.DataFrame) -> pl.DataFrame:
    """Share (by count) of bucket ``bucket`` at t that is in ``next`` at t+1, pooled over t."""
    pairs = _pairs(monthly)
    counts = pairs.group_by("bucket", "next").len()
    return counts.with_columns(
        (pl.col("len") / pl.col("len").sum().over("bucket")).alias("share")
    ).sort("bucket", "next")


def roll_rate(monthly: pl.DataFrame, src: str, dst: str) -> float:
    m = roll_matrix(monthly).filter((pl.col("bucket") == src) & (pl.col("next") == dst))
    return float(m["share"][0]) if m.height else 0.0


def cure_rates(monthly: pl.DataFrame) -> dict[str, float]:
    """Share of each delinquent bucket at t that is current (M0, or paid off) at t+1."""
    pairs = _pairs(monthly).filter(pl.col("bucket") != "M0")
    rates = (
        pairs.group_by("bucket").agg((pl.col("next") == "M0").mean().alias("cure")).sort("bucket")
    )
    return dict(zip(rates["bucket"].to_list(), rates["cure"].to_list(), strict=True))


def vintage_30plus(monthly: pl.DataFrame, loans: pl.DataFrame) -> pl.DataFrame:
    """30+@MOB per origination month (``cohort``) and month on book (``mob``).

    ``rate_30plus`` is point-in-time: principal outstanding of the cohort's loans over
    30 DPD at that MOB ÷ originated principal. ``ever_30plus`` is "ever": originated
    principal of the loans that have been over 30 DPD at some month-end up to that MOB
    ÷ originated principal (it only rises). Only month-ends inside the window count.
    """
    orig = loans.select(
        "loan_id",
        pl.col("disbursement_date").dt.strftime("%Y-%m").alias("cohort"),
        pl.col("principal").alias("originated"),
    )
    sizes = orig.group_by("cohort").agg(pl.col("originated").sum().alias("cohort_amount"))
    mob = (pl.col("as_of").dt.year() * 12 + pl.col("as_of").dt.month()) - (
        pl.col("cohort").str.slice(0, 4).cast(pl.Int32) * 12
        + pl.col("cohort").str.slice(5, 2).cast(pl.Int32)
    )
    m = monthly.join(orig, on="loan_id").with_columns(mob.alias("mob"))
    bad_now = (
        m.filter((pl.col("dpd") > 30) & ~pl.col("closed"))
        .group_by("cohort", "mob")
        .agg(pl.col("principal_outstanding").sum().alias("bad"))
    )
    first = (
        m.filter(pl.col("dpd") > 30)
        .group_by("loan_id", "cohort")
        .agg(pl.col("mob").min().alias("first_mob"), pl.col("originated").first())
    )
    grid = m.select("cohort", "mob").unique()
    ever = (
        grid.join(first, on="cohort")
        .filter(pl.col("first_mob") <= pl.col("mob"))
        .group_by("cohort", "mob")
        .agg(pl.col("originated").sum().alias("ever"))
    )
    out = (
        grid.join(bad_now, on=["cohort", "mob"], how="left")
        .join(ever, on=["cohort", "mob"], how="left")
        .join(sizes, on="cohort")
    )
    return out.select(
        "cohort",
        "mob",
        (pl.col("bad").fill_null(0) / pl.col("cohort_amount")).alias("rate_30plus"),
        (pl.col("ever").fill_null(0) / pl.col("cohort_amount")).alias("ever_30plus"),
    ).sort("cohort", "mob")
