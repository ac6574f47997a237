"""``postloan strategy dry-run``: how a strategy would treat the book of a date.

The book of the date is its ``loan_state`` snapshot (with the date's events and
scores snapshots when present), else ``loan_state_current``; loans' borrower,
product and region come from the store, promise and case flags from open cases.
Nothing is written.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import Connection, select

from postloan.collections.daily import case_flags, with_regions
from postloan.collections.planner import path_counts, plan_actions
from postloan.collections.step import strategy_input
from postloan.collections.strategy import Strategy
from postloan.domain.errors import NotFound
from postloan.store.snapshots import SnapshotStore
from postloan.store.tables import Loan, LoanStateCurrent


def _snapshot(snapshots: SnapshotStore, table: str, on: date) -> pl.DataFrame | None:
    if on not in snapshots.dates(table):
        return None
    return snapshots.read(table, on)


def _current_state(conn: Connection, on: date) -> pl.DataFrame:
    t = LoanStateCurrent.__table__
    rows = conn.execute(select(t).where(t.c.business_date == on)).mappings().all()
    if not rows:
        raise NotFound(
            f"no loan state for {on}: close that date first (`postloan eod --date {on}`)"
        )
    frame = pl.DataFrame([dict(r) for r in rows])
    return frame.with_columns(
        pl.lit("active").alias("status"),
        pl.lit(None, dtype=pl.Date).alias("next_due_date"),
        pl.lit(0, dtype=pl.Int64).alias("next_due_amount"),
        pl.lit(0, dtype=pl.Int64).alias("overdue_fee"),
        pl.lit("CNY").alias("currency"),
    )


def book_input(conn: Connection, snapshots: SnapshotStore, on: date) -> pl.DataFrame:
    """The STRATEGY step's input for ``on`` with the store's case flags."""
    state = _snapshot(snapshots, "loan_state", on)
    if state is None:
        state = _current_state(conn, on)
    t = Loan.__table__
    loans = pl.DataFrame(
        [
            dict(r)
            for r in conn.execute(
                select(t.c.loan_id, t.c.borrower_id, t.c.product, t.c.region)
            ).mappings()
        ],
        schema={"loan_id": pl.Utf8, "borrower_id": pl.Utf8, "product": pl.Utf8, "region": pl.Utf8},
    )
    frame = strategy_input(
        state,
        loans,
        _snapshot(snapshots, "loan_events", on),
        _snapshot(snapshots, "scores", on),
        on,
    )
    frame = with_regions(conn, frame)
    flags = case_flags(conn)
    return (
        frame.drop("promise_state", "restructured", "in_legal")
        .join(flags.drop("case_id"), on="loan_id", how="left")
        .with_columns(
            pl.col("promise_state").fill_null("none"),
            pl.col("restructured").fill_null(False),
            pl.col("in_legal").fill_null(False),
        )
    )


def dry_run(
    conn: Connection, snapshots: SnapshotStore, strategy: Strategy, on: date
) -> dict[str, Any]:
    frame = book_input(conn, snapshots, on)
    if strategy.score_column != "score" and strategy.score_column in frame.columns:
        frame = frame.with_columns(pl.col(strategy.score_column).cast(pl.Float64).alias("score"))
    counts = path_counts(frame, strategy)
    plan = plan_actions(frame, strategy, on)
    actions = plan.group_by("action", "kind").agg(pl.len().alias("due")).sort("action")
    return {
        "date": on.isoformat(),
        "strategy_version": strategy.version,
        "loans_considered": frame.height,
        "segments": [
            {
                "segment": r["segment"] or "(none)",
                "group": r["group"],
                "loans": r["loans"],
                "balance": int(r["balance"] or 0),
            }
            for r in counts.iter_rows(named=True)
        ],
        "actions_due": [
            {"action": r["action"], "kind": r["kind"], "due": r["due"]}
            for r in actions.iter_rows(named=True)
        ],
    }
