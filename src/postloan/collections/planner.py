"""Which treatment actions are due on a business date, vectorised over loans.

Input: one row per loan (:data:`INPUT_SCHEMA`), built by the STRATEGY step from
the loan state, the loans, today's events, the scores (if any) and the loans'
case flags (promise state, restructured, in legal). Output: one row per due
action (:data:`PLAN_SCHEMA`) carrying the segment, the experiment group and the
strategy version.

An action at ``delinquency + n`` is due on the day the loan is ``n`` days past
due; one at ``due − n`` when the next due date is ``n`` days away. A loan that
enters delinquency already past the offset of its path's first automated
action (grace, or a first run on an existing book) gets that action on the day
it enters, so every new delinquency is acted on the same business day.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from postloan.collections.split import assign_groups
from postloan.collections.strategy import UNSCORED, Segment, Strategy

INPUT_SCHEMA: dict[str, pl.DataType] = {
    "loan_id": pl.Utf8(),
    "borrower_id": pl.Utf8(),
    "product": pl.Utf8(),
    "region": pl.Utf8(),
    "bucket": pl.Utf8(),
    "days_past_due": pl.Int32(),
    "next_due_date": pl.Date(),
    "balance": pl.Int64(),
    "overdue_amount": pl.Int64(),
    "entered_today": pl.Boolean(),
    "score": pl.Float64(),
    "promise_state": pl.Utf8(),
    "restructured": pl.Boolean(),
    "in_legal": pl.Boolean(),
}
PLAN_SCHEMA: dict[str, pl.DataType] = {
    "loan_id": pl.Utf8(),
    "borrower_id": pl.Utf8(),
    "bucket": pl.Utf8(),
    "region": pl.Utf8(),
    "days_past_due": pl.Int32(),
    "segment": pl.Utf8(),
    "group": pl.Utf8(),
    "strategy_version": pl.Utf8(),
    "action": pl.Utf8(),
    "kind": pl.Utf8(),
    "anchor": pl.Utf8(),
    "offset": pl.Int32(),
    "template": pl.Utf8(),
    "sla_days": pl.Int32(),
    "position": pl.Int32(),
}


def pre_due_days(strategy: Strategy) -> list[int]:
    """Days before the due date at which some path acts (the loans worth planning)."""
    return sorted({-a.offset for _, _, _, a in strategy.actions() if a.anchor == "due"})


def score_band(strategy: Strategy) -> pl.Expr:
    score = pl.col("score")
    expr: pl.Expr = pl.lit(UNSCORED)
    for band in reversed(strategy.score_bands):
        cond = score >= band.low
        if band.high is not None:
            cond = cond & (score < band.high)
        expr = pl.when(score.is_not_null() & cond).then(pl.lit(band.name)).otherwise(expr)
    return expr


def _segment_condition(seg: Segment) -> pl.Expr:
    cond = pl.lit(True)
    for dim, column in (
        ("buckets", "bucket"),
        ("score_bands", "score_band"),
        ("products", "product"),
        ("regions", "region"),
        ("promise_states", "promise_state"),
    ):
        values = getattr(seg, dim)
        if values is not None:
            cond = cond & pl.col(column).is_in(sorted(values)).fill_null(False)
    for flag in ("restructured", "in_legal"):
        value = getattr(seg, flag)
        if value is not None:
            cond = cond & (pl.col(flag) == value)
    cond = cond & (pl.col("balance") >= seg.balance_min)
    if seg.balance_max is not None:
        cond = cond & (pl.col("balance") < seg.balance_max)
    return cond


def segment_expr(strategy: Strategy) -> pl.Expr:
    """The segment of each loan (null when none matches), lowest priority number first."""
    expr: pl.Expr = pl.lit(None, dtype=pl.Utf8)
    for seg in sorted(strategy.segments, key=lambda s: s.priority, reverse=True):
        expr = pl.when(_segment_condition(seg)).then(pl.lit(seg.name)).otherwise(expr)
    return expr


def segment_loans(frame: pl.DataFrame, strategy: Strategy) -> pl.DataFrame:
    """``frame`` plus ``score_band``, ``segment`` and ``group`` (champion/challenger)."""
    out = frame.with_columns(score_band(strategy).alias("score_band"))
    out = out.with_columns(segment_expr(strategy).alias("segment"))
    groups = assign_groups(out["loan_id"].to_list(), strategy.salt, strategy.groups)
    return out.with_columns(pl.Series("group", groups, dtype=pl.Utf8))


def action_table(strategy: Strategy) -> pl.DataFrame:
    """One row per (segment, group, action) with the action's timing and conditions."""
    rows = []
    for seg, group, position, act in strategy.actions():
        first_auto = next(
            (
                i
                for i, a in enumerate(seg.path(group))
                if a.kind == "automated" and a.anchor == "delinquency"
            ),
            None,
        )
        rows.append(
            {
                "segment": seg.name,
                "group": group,
                "action": act.action,
                "kind": act.kind,
                "anchor": act.anchor,
                "offset": act.offset,
                "template": act.template,
                "sla_days": act.sla_days,
                "position": position,
                "min_overdue": act.min_overdue,
                "no_open_promise": act.no_open_promise,
                "first_auto": position == first_auto,
            }
        )
    schema = {
        **{k: PLAN_SCHEMA[k] for k in ("segment", "group", "action", "kind", "anchor")},
        "offset": pl.Int32(),
        "template": pl.Utf8(),
        "sla_days": pl.Int32(),
        "position": pl.Int32(),
        "min_overdue": pl.Int64(),
        "no_open_promise": pl.Boolean(),
        "first_auto": pl.Boolean(),
    }
    return pl.DataFrame(rows, schema=schema)


def plan_actions(frame: pl.DataFrame, strategy: Strategy, business_date: date) -> pl.DataFrame:
    """The actions due on ``business_date`` for the loans of ``frame`` (``INPUT_SCHEMA``)."""
    if frame.height == 0:
        return pl.DataFrame(schema=PLAN_SCHEMA)
    # only loans some action could fall due for today need a segment and a group
    # (the SHA-256 split is the costly part): DPD on an offset, a due date on a
    # pre-due offset, or a delinquency that began today
    offsets = sorted({a.offset for _, _, _, a in strategy.actions() if a.anchor == "delinquency"})
    ahead_days = (pl.col("next_due_date") - pl.lit(business_date)).dt.total_days()
    candidates = frame.filter(
        pl.col("days_past_due").is_in(offsets)
        | pl.col("entered_today")
        | ahead_days.is_in(pre_due_days(strategy)).fill_null(False)
    )
    loans = segment_loans(candidates, strategy).filter(pl.col("segment").is_not_null())
    joined = loans.join(action_table(strategy), on=["segment", "group"], how="inner")
    dpd = pl.col("days_past_due")
    ahead = (pl.col("next_due_date") - pl.lit(business_date)).dt.total_days()
    on_time = (
        pl.when(pl.col("anchor") == "delinquency")
        .then(dpd == pl.col("offset"))
        .otherwise(ahead == -pl.col("offset"))
        .fill_null(False)
    )
    catch_up = (
        pl.col("entered_today")
        & pl.col("first_auto")
        & (pl.col("anchor") == "delinquency")
        & (pl.col("offset") < dpd)
    )
    allowed = (pl.col("overdue_amount") >= pl.col("min_overdue")) & ~(
        pl.col("no_open_promise") & (pl.col("promise_state") == "open")
    )
    due = joined.filter((on_time | catch_up) & allowed)
    return (
        due.with_columns(pl.lit(strategy.version).alias("strategy_version"))
        .select([pl.col(c).cast(t) for c, t in PLAN_SCHEMA.items()])
        .sort("loan_id", "position")
    )


def path_counts(frame: pl.DataFrame, strategy: Strategy) -> pl.DataFrame:
    """Loans per (segment, group): the dry run's table (segment null: no segment matches)."""
    loans = segment_loans(frame, strategy)
    return (
        loans.group_by("segment", "group")
        .agg(pl.len().alias("loans"), pl.col("balance").sum().alias("balance"))
        .sort("segment", "group", nulls_last=True)
    )
