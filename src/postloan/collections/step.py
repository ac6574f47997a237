"""The STRATEGY step of the close of business.

``run`` (per partition, pure over frames) gathers what the strategy looks at
for each loan that may have an action today: in arrears, or a due date within
:data:`MAX_PRE_DUE_DAYS` (frame ``strategy_input``). ``commit`` (inside the
date's one transaction) does the rest with the database: it syncs cases,
evaluates promises, plans the due actions with the active strategy and writes
them — messages to the contact outbox, human work to task queues — then
assigns and escalates tasks. Re-running a date adds nothing: every write is
keyed by (loan or case, action, business date).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING

import polars as pl

from postloan.collections.planner import INPUT_SCHEMA

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from postloan.batch.steps import CommitContext, StepContext

MAX_PRE_DUE_DAYS = 30
_LOAN_COLUMNS = ("loan_id", "borrower_id", "product", "region")
ACTIVE_STATUSES = ("active", "matured")
EXTRA_COLUMNS: dict[str, pl.DataType] = {
    "currency": pl.Utf8(),
    "next_due_amount": pl.Int64(),
}


def empty_input() -> pl.DataFrame:
    return pl.DataFrame(schema={**INPUT_SCHEMA, **EXTRA_COLUMNS})


def strategy_input(
    state: pl.DataFrame,
    loans: pl.DataFrame,
    events: pl.DataFrame | None,
    scores: pl.DataFrame | None,
    business_date: date,
) -> pl.DataFrame:
    """One row per loan the strategy may act on today (``INPUT_SCHEMA`` + extras).

    Case flags (promise state, restructured, in legal) are filled in by the
    commit from the database; here they are ``none`` / false.
    """
    ahead = (pl.col("next_due_date") - pl.lit(business_date)).dt.total_days()
    wanted = state.filter(
        pl.col("status").is_in(ACTIVE_STATUSES)
        & ((pl.col("days_past_due") > 0) | ahead.is_between(1, MAX_PRE_DUE_DAYS))
    )
    frame = wanted.select(
        "loan_id",
        "bucket",
        "days_past_due",
        "next_due_date",
        "currency",
        "next_due_amount",
        pl.col("principal_outstanding").alias("balance"),
        (
            pl.col("overdue_principal")
            + pl.col("overdue_interest")
            + pl.col("overdue_fee")
            + pl.col("penalty_outstanding")
        ).alias("overdue_amount"),
    ).join(loans.select([c for c in _LOAN_COLUMNS if c in loans.columns]), on="loan_id", how="left")
    if "region" not in frame.columns:  # the book mirror has none: the commit fills it in
        frame = frame.with_columns(pl.lit(None, dtype=pl.Utf8).alias("region"))
    entered = (
        events.filter(pl.col("event_type") == "entered_delinquency")["loan_id"]
        if events is not None and events.height
        else pl.Series("loan_id", [], dtype=pl.Utf8)
    )
    frame = frame.with_columns(
        pl.col("loan_id").is_in(entered.implode()).alias("entered_today"),
        pl.lit("none").alias("promise_state"),
        pl.lit(False).alias("restructured"),
        pl.lit(False).alias("in_legal"),
        pl.lit(None, dtype=pl.Float64).alias("score"),
    )
    out = frame.select([pl.col(c).cast(t) for c, t in {**INPUT_SCHEMA, **EXTRA_COLUMNS}.items()])
    if scores is not None and "loan_id" in scores.columns:
        out = out.join(one_score_per_loan(scores, set(out.columns)), on="loan_id", how="left")
        if "score_right" in out.columns:
            out = out.drop("score").rename({"score_right": "score"})
    return out


def one_score_per_loan(scores: pl.DataFrame, taken: set[str]) -> pl.DataFrame:
    """The SCORE step's numeric columns, one row per loan: the collection score
    (purpose ``cscore``) where there is one, else the loan's other score."""
    numeric = [
        c
        for c, t in scores.schema.items()
        if t.is_numeric() and (c not in taken or c == "score") and c != "loan_id"
    ]
    ranked = scores
    if "purpose" in scores.columns:
        ranked = scores.sort(pl.col("purpose") != "cscore", "purpose")
    return ranked.unique("loan_id", keep="first").select("loan_id", *numeric)


def run(ctx: StepContext) -> None:
    f = ctx.frames
    f["strategy_input"] = strategy_input(
        f["state"], f["loans"], f.get("events"), f.get("scores"), ctx.business_date
    )


def commit(conn: Connection, ctx: CommitContext) -> None:
    from postloan.collections.daily import close_day

    frame = ctx.frames.get("strategy_input")
    with older_objects_frozen():
        close_day(
            conn,
            business_date=ctx.business_date,
            frame=frame if frame is not None else empty_input(),
            state=_columns(ctx.frames, "state", ["loan_id", "days_past_due"]),
            settings=ctx.settings,
        )
    from postloan.collections.from_alerts import cases_from_alerts

    cases_from_alerts(conn, ctx.business_date)


@contextmanager
def older_objects_frozen() -> Iterator[None]:
    """Keep the garbage collector's full collections off the objects that existed
    before (``gc.freeze``, undone by ``gc.unfreeze`` after). A large book's commit
    makes some hundred thousand objects (audit events, rows), which sets off full
    collections that each walk the whole heap of the close (~0.1–0.2 s apiece). New
    objects are collected as usual; cycles among the older ones wait for the first
    full collection after the block. Left alone when something else in the process
    froze objects (``gc.get_freeze_count``) or turned the collector off."""
    if gc.get_freeze_count() or not gc.isenabled():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _columns(frames: dict[str, pl.DataFrame], key: str, columns: list[str]) -> pl.DataFrame | None:
    """``columns`` of the date's frame ``key``: read from the run's spill when it is
    there (the commit needs 2 of the state's ~40 columns), else selected."""
    from postloan.batch.spill import DateFrames

    if isinstance(frames, DateFrames) and not dict.__contains__(frames, key):
        if key in frames.spill:
            return frames.spill.read(key, columns)
    frame = frames.get(key)
    return None if frame is None else frame.select(columns)
