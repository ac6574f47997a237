"""Targets of the behavioural models, from loan states after the observation date.

- ``bscore`` / ``bscore180``: a performing loan (DPD 0–29 at the observation date)
  reaches 90+ DPD (or is charged off) within 90 / 180 days after it.
- ``cscore``: a delinquent loan (DPD > 0) cures (DPD 0) within 30 days after it.

Only observations whose outcome window has matured are labelled: the latest
state we have must be at least the observation date + the horizon. Features
come from the observation date's ``features`` snapshot and outcomes only from
states strictly after it, so nothing leaks from the future into the features.
Pure functions over frames (the snapshot reading is ``postloan.risk.datasets``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl


@dataclass(frozen=True, slots=True)
class Target:
    purpose: str
    column: str
    horizon_days: int
    doc: str


TARGETS: dict[str, Target] = {
    "bscore": Target("bscore", "bad_90dpd_90d", 90, "performing loan reaches 90+ DPD in 90 days"),
    "bscore180": Target(
        "bscore180", "bad_90dpd_180d", 180, "performing loan reaches 90+ DPD in 180 days"
    ),
    "cscore": Target("cscore", "cured_30d", 30, "delinquent loan cures (DPD 0) within 30 days"),
}
BAD_DPD = 90


def target_of(purpose: str) -> Target:
    from postloan.domain.errors import ValidationError

    if purpose not in TARGETS:
        raise ValidationError(f"unknown purpose {purpose!r}; use one of {', '.join(TARGETS)}")
    return TARGETS[purpose]


def matured(obs_date: date, latest_state: date, purpose: str) -> bool:
    """Whether the outcome window of an observation on ``obs_date`` is complete."""
    return latest_state >= obs_date + timedelta(days=target_of(purpose).horizon_days)


def outcome_event(purpose: str) -> pl.Expr:
    """The condition on a later state row that makes the target 1."""
    if purpose == "cscore":
        return pl.col("days_past_due") == 0
    return (pl.col("days_past_due") >= BAD_DPD) | (pl.col("status") == "charged_off")


def label(observations: pl.DataFrame, later: pl.DataFrame, purpose: str) -> pl.DataFrame:
    """``observations`` (loan_id, business_date) with the 0/1 target column added.

    ``later`` holds states (loan_id, business_date, days_past_due, status) from
    after the observation dates; only rows in (observation, observation + horizon]
    count, so a row from before or at the observation date can never set a label.
    """
    target = target_of(purpose)
    hits = (
        later.filter(outcome_event(purpose))
        .select("loan_id", pl.col("business_date").alias("_event_date"))
        .join(
            observations.select("loan_id", pl.col("business_date").alias("_obs")).unique(),
            on="loan_id",
        )
        .filter(
            (pl.col("_event_date") > pl.col("_obs"))
            & (pl.col("_event_date") <= pl.col("_obs") + timedelta(days=target.horizon_days))
        )
        .select("loan_id", pl.col("_obs").alias("business_date"))
        .unique()
        .with_columns(pl.lit(1, dtype=pl.Int8).alias(target.column))
    )
    return observations.join(hits, on=["loan_id", "business_date"], how="left").with_columns(
        pl.col(target.column).fill_null(0)
    )
