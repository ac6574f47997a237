"""ROLL_EVENTS: what changed for each loan between yesterday's state and today's.

Event types: ``entered_delinquency`` (DPD 0 → >0), ``cured`` (DPD >0 → 0),
``bucket_up`` / ``bucket_down`` (by the configured bucket order; the charged-off
label ranks last), ``classification_changed``, ``stage_changed``, and the
status transitions ``matured``, ``closed``, ``charged_off``. A loan without a
state yesterday (disbursed today) has no events. ``event_id`` is a hash of
(loan id, business date, event type), so a re-run of the date upserts the same
ids and never duplicates an event.
"""

from __future__ import annotations

import hashlib
from datetime import date

import polars as pl

from postloan.domain.policy import ServicingPolicy

EVENT_SCHEMA: dict[str, pl.DataType] = {
    "event_id": pl.Utf8(),
    "loan_id": pl.Utf8(),
    "business_date": pl.Date(),
    "event_type": pl.Utf8(),
    "from_value": pl.Utf8(),
    "to_value": pl.Utf8(),
}
EVENT_TYPES = (
    "entered_delinquency",
    "bucket_up",
    "bucket_down",
    "cured",
    "classification_changed",
    "stage_changed",
    "matured",
    "closed",
    "charged_off",
)
#: State columns ROLL_EVENTS compares (all a previous-day state needs to carry).
COMPARED = ("loan_id", "days_past_due", "bucket", "classification", "ifrs9_stage", "status")


def event_id(loan_id: str, business_date: date, event_type: str) -> str:
    """The deterministic id of one event: SHA-256 of ``loan_id|YYYY-MM-DD|type``, 32 hex."""
    text = f"{loan_id}|{business_date.isoformat()}|{event_type}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def bucket_ranks(policy: ServicingPolicy) -> dict[str, int]:
    labels = [b.label for b in policy.buckets.buckets] + [policy.buckets.charged_off_label]
    return {label: i for i, label in enumerate(labels)}


def roll_events(
    prev: pl.DataFrame, curr: pl.DataFrame, business_date: date, policy: ServicingPolicy
) -> pl.DataFrame:
    """Events of ``business_date`` from the previous and current state frames."""
    ranks = bucket_ranks(policy)
    both = _side_by_side(prev.select(COMPARED), curr.select(COMPARED))
    rank = pl.col("bucket").replace_strict(ranks, default=-1, return_dtype=pl.Int32)
    rank_prev = pl.col("bucket_prev").replace_strict(ranks, default=-1, return_dtype=pl.Int32)
    dpd, dpd_prev = pl.col("days_past_due"), pl.col("days_past_due_prev")
    status, status_prev = pl.col("status"), pl.col("status_prev")
    s = pl.Utf8
    rules: list[tuple[str, pl.Expr, pl.Expr, pl.Expr]] = [
        ("entered_delinquency", (dpd_prev == 0) & (dpd > 0), dpd_prev.cast(s), dpd.cast(s)),
        ("bucket_up", rank > rank_prev, pl.col("bucket_prev"), pl.col("bucket")),
        ("bucket_down", rank < rank_prev, pl.col("bucket_prev"), pl.col("bucket")),
        ("cured", (dpd_prev > 0) & (dpd == 0), dpd_prev.cast(s), dpd.cast(s)),
        (
            "classification_changed",
            pl.col("classification") != pl.col("classification_prev"),
            pl.col("classification_prev"),
            pl.col("classification"),
        ),
        (
            "stage_changed",
            pl.col("ifrs9_stage") != pl.col("ifrs9_stage_prev"),
            pl.col("ifrs9_stage_prev").cast(s),
            pl.col("ifrs9_stage").cast(s),
        ),
    ]
    for kind in ("matured", "closed", "charged_off"):
        rules.append((kind, (status == kind) & (status_prev != kind), status_prev, status))
    pieces = [
        both.filter(cond).select(
            pl.col("loan_id"),
            pl.lit(kind).alias("event_type"),
            old.alias("from_value"),
            new.alias("to_value"),
        )
        for kind, cond, old, new in rules
    ]
    events = pl.concat(pieces, how="vertical")
    order = {kind: i for i, kind in enumerate(EVENT_TYPES)}
    events = events.sort(
        pl.col("loan_id"), pl.col("event_type").replace_strict(order, return_dtype=pl.Int32)
    )
    ids = [event_id(x, business_date, k) for x, k in events.select("loan_id", "event_type").rows()]
    return events.select(
        pl.Series("event_id", ids, dtype=pl.Utf8),
        pl.col("loan_id").set_sorted(),  # sorted above: no re-sort downstream
        pl.lit(business_date, dtype=pl.Date).alias("business_date"),
        pl.col("event_type"),
        pl.col("from_value"),
        pl.col("to_value"),
    )


def _side_by_side(prev: pl.DataFrame, curr: pl.DataFrame) -> pl.DataFrame:
    """``curr`` with ``prev``'s columns (suffix ``_prev``) of the same loan, loans in
    both only. The frames of a partition hold the same loans in the same order,
    so that is a column stack; otherwise a join."""
    if prev["loan_id"].equals(curr["loan_id"]):
        before = prev.drop("loan_id").rename(lambda c: f"{c}_prev")
        return curr.hstack(before.get_columns())
    return curr.join(prev, on="loan_id", how="inner", suffix="_prev")


def empty_events() -> pl.DataFrame:
    return pl.DataFrame(schema=EVENT_SCHEMA)
