"""FEATURES: the behavioural features the risk models read, one row per loan.

This module is the one registry of features: the early-warning issue adds its
own entries to :data:`FEATURES`. Each feature is a Polars expression over the
*feature base* frame that :func:`feature_base` builds from today's state, the
loan contract, the schedule and the DPD history of earlier ``loan_state``
snapshots (whatever snapshots exist: on a first run the history is today only).

Windows: "3 / 6 / 12 months" are 91 / 183 / 365 calendar days ending on the
business date, today included. Ratios are Float64 (features, not money);
amounts stay Int64 minor units.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

#: History frame (earlier snapshots): one row per loan and date.
HISTORY_SCHEMA: dict[str, pl.DataType] = {
    "loan_id": pl.Utf8(),
    "business_date": pl.Date(),
    "days_past_due": pl.Int32(),
}
WINDOWS = {"3m": 91, "6m": 183, "12m": 365}


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    dtype: pl.DataType
    expr: pl.Expr
    doc: str


FEATURES: tuple[Feature, ...] = (
    Feature("dpd", pl.Int32(), pl.col("days_past_due"), "days past due today"),
    *(
        Feature(f"max_dpd_{w}", pl.Int32(), pl.col(f"_max_dpd_{w}"), f"max DPD over the last {w}")
        for w in WINDOWS
    ),
    Feature(
        "months_in_arrears_12m",
        pl.Int32(),
        pl.col("_arrears_months_12m"),
        "calendar months of the last 12m with DPD > 0 on some snapshot",
    ),
    Feature(
        "days_since_last_payment",
        pl.Int32(),
        (pl.col("_business_date") - pl.col("last_payment_date")).dt.total_days(),
        "days from the last payment to today (null: never paid)",
    ),
    Feature("failed_debits", pl.Int32(), pl.col("failed_debits"), "failed direct debits so far"),
    Feature(
        "months_on_book",
        pl.Int32(),
        (pl.col("_business_date").dt.year() - pl.col("disbursement_date").dt.year()) * 12
        + pl.col("_business_date").dt.month().cast(pl.Int32)
        - pl.col("disbursement_date").dt.month().cast(pl.Int32)
        - (pl.col("_business_date").dt.day() < pl.col("disbursement_date").dt.day()).cast(pl.Int32),
        "whole months since disbursement",
    ),
    Feature(
        "remaining_instalments",
        pl.Int32(),
        pl.col("_remaining").fill_null(0),
        "instalments due after today (remaining term)",
    ),
    Feature(
        "principal_repaid_share",
        pl.Float64(),
        pl.when(pl.col("principal") > 0)
        .then(pl.col("principal_paid") / pl.col("principal"))
        .otherwise(0.0),
        "principal repaid ÷ principal lent",
    ),
    Feature(
        "overdue_amount",
        pl.Int64(),
        pl.col("overdue_principal") + pl.col("overdue_interest") + pl.col("overdue_fee"),
        "overdue principal + interest + fee (minor units)",
    ),
    Feature(
        "penalty_outstanding",
        pl.Int64(),
        pl.col("penalty_outstanding"),
        "penalty interest owed (minor units)",
    ),
)
FEATURE_NAMES = tuple(f.name for f in FEATURES)


def feature_base(
    state: pl.DataFrame,
    loans: pl.DataFrame,
    schedules: pl.DataFrame,
    history: pl.DataFrame,
    business_date: date,
) -> pl.DataFrame:
    """Today's state plus the columns the feature expressions use."""
    today = state.select("loan_id", "business_date", "days_past_due").cast(
        {"days_past_due": pl.Int32}
    )
    hist = pl.concat(
        [history.select(list(HISTORY_SCHEMA)).cast(pl.Schema(HISTORY_SCHEMA)), today],
        how="vertical",
    )
    aggs = [
        pl.col("days_past_due")
        .filter(pl.col("business_date") > business_date - timedelta(days=days))
        .max()
        .alias(f"_max_dpd_{w}")
        for w, days in WINDOWS.items()
    ]
    arrears = (
        pl.col("business_date")
        .filter(
            (pl.col("business_date") > business_date - timedelta(days=365))
            & (pl.col("days_past_due") > 0)
        )
        .dt.strftime("%Y-%m")
        .n_unique()
        .cast(pl.Int32)
        .alias("_arrears_months_12m")
    )
    by_loan = hist.group_by("loan_id").agg(*aggs, arrears)
    remaining = (
        schedules.filter(pl.col("due_date") > business_date)
        .group_by("loan_id")
        .agg(pl.len().cast(pl.Int32).alias("_remaining"))
    )
    return (
        state.join(loans.select("loan_id", "principal", "disbursement_date"), on="loan_id")
        .join(by_loan, on="loan_id", how="left")
        .join(remaining, on="loan_id", how="left")
        .with_columns(pl.lit(business_date, dtype=pl.Date).alias("_business_date"))
    )


def compute_features(
    state: pl.DataFrame,
    loans: pl.DataFrame,
    schedules: pl.DataFrame,
    history: pl.DataFrame,
    business_date: date,
) -> pl.DataFrame:
    """One row per loan of ``state``: ``loan_id``, ``business_date`` and every feature."""
    base = feature_base(state, loans, schedules, history, business_date)
    return base.select(
        pl.col("loan_id"),
        pl.col("_business_date").alias("business_date"),
        *(f.expr.cast(f.dtype).alias(f.name) for f in FEATURES),
    ).sort("loan_id")


def empty_history() -> pl.DataFrame:
    return pl.DataFrame(schema=HISTORY_SCHEMA)
