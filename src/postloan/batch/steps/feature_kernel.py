"""The per-loan sums behind FEATURES, compiled (numba): one pass over the schedule
rows and one over the transactions, adding each row into its loan's slot.

Grouping 9M schedule rows per partition in Polars costs a hash or a sort per
aggregation; a compiled loop that adds each row into ``out[row number of its
loan]`` reads every row once, in any order. The results are the same integers as
the Polars expressions in ``feature_aggs`` (which stay as the path for inputs
with null amounts or dates): windows of 91 / 183 days ending on the business
date, today included; a loan without rows gets nulls.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
from numba import njit

from postloan.batch.steps.feature_aggs import PARTIAL_SHARE, WINDOWS
from postloan.batch.steps.loan_rows import KEY

_EPOCH = date(1970, 1, 1)
_NEVER = np.iinfo(np.int64).min


def _day(d: date) -> int:
    return (d - _EPOCH).days


@njit(cache=True, nogil=True, _nrt=False)
def _schedule_sums(key, due, principal, interest, fee, since, today, w3, w6, out, last_due):  # type: ignore[no-untyped-def]
    """Add a slice of schedule rows into ``out``'s per-loan rows (``SCHEDULE_OUT``):
    rows, remaining (due after today), sum, the amount of the latest due date (the
    last row among equal dates; ``last_due`` holds that date), due up to today and
    in the two windows, and instalments from ``since`` (overdue since; ``_NEVER``:
    none) to yesterday."""
    for r in range(key.size):
        k = key[r]
        d = due[r]
        a = principal[r] + interest[r] + fee[r]
        out[0, k] += 1
        out[2, k] += a
        if d > today:
            out[1, k] += 1
        else:
            out[4, k] += a
            if d > today - w6:
                out[6, k] += a
                if d > today - w3:
                    out[5, k] += a
        if d >= last_due[k]:
            last_due[k] = d
            out[3, k] = a
        if since[k] != _NEVER and since[k] <= d < today:
            out[7, k] += 1


AMOUNTS = ("principal_due", "interest_due", "fee_due")
#: ``_schedule_sums``' output rows
SCHEDULE_OUT = ("_n", "_remaining", "_sum", "_last", "_due_life", "_due_3m", "_due_6m", "_overdue")


@njit(cache=True, nogil=True, _nrt=False)
def _txn_sums(key, kind, amount, day, instalment, today, w3, w6, share, out, last_fail):  # type: ignore[no-untyped-def]
    """Add a slice of transactions (up to today; ``kind`` 1 a repayment, 2 a failed
    debit) into ``out``'s per-loan rows (``TXN_OUT``): repaid (ever, 3m, 6m),
    repayments (3m), partial repayments (3m, 6m; below ``share`` of the instalment,
    never when the instalment is unknown: NaN), failed debits (3m, 6m);
    ``last_fail``: the latest failed debit."""
    for r in range(key.size):
        d = day[r]
        if d > today:
            continue
        k = key[r]
        if kind[r] == 1:
            a = amount[r]
            out[0, k] += a
            if d > today - w6:
                out[2, k] += a
                partial = np.float64(a) < instalment[k] * share
                if partial:
                    out[5, k] += 1
                if d > today - w3:
                    out[1, k] += a
                    out[3, k] += 1
                    if partial:
                        out[4, k] += 1
        elif kind[r] == 2:
            if d > last_fail[k]:
                last_fail[k] = d
            if d > today - w6:
                out[7, k] += 1
                if d > today - w3:
                    out[6, k] += 1


#: ``_txn_sums``' output rows
TXN_OUT = (
    "_paid_life",
    "_paid_3m",
    "_paid_6m",
    "_payments_3m",
    "_partial_3m",
    "_partial_6m",
    "_failed_3m",
    "_failed_6m",
)
#: Rows a compiled pass reads at a time: each column's slice is copied into small
#: arrays the allocator hands back for the next slice, instead of a fresh
#: whole-column copy (9M schedule rows a partition) that the OS must fault in.
SLICE_ROWS = 1 << 18


def _array(series: pl.Series) -> np.ndarray:
    """A contiguous, read-only NumPy view or copy: Polars hands out read-only views
    of single-chunk columns and writable copies of the others, and each flavour is
    a separate compiled signature; one flavour means one compilation, cached."""
    out = np.ascontiguousarray(series.to_numpy())
    out.setflags(write=False)
    return out


def _day_numbers(column: str) -> pl.Expr:
    """A date column as day numbers (``Int32``, days since 1970-01-01)."""
    return pl.col(column).cast(pl.Date).to_physical()


def compiled_ok(frame: pl.DataFrame, columns: list[str]) -> bool:
    """Whether the compiled sums apply: no nulls in the columns they read."""
    return all(frame[c].null_count() == 0 for c in columns)


def schedule_sums(
    schedules: pl.DataFrame, overdue_since: pl.Series, business_date: date
) -> pl.DataFrame:
    """``schedule_aggs`` and ``overdue_instalments`` as one frame of ``n`` rows (row
    ``i`` = loan ``i`` of the base; ``schedules`` keyed, without null amounts)."""
    n = overdue_since.len()
    since = _array(overdue_since.cast(pl.Date).to_physical().cast(pl.Int64).fill_null(_NEVER))
    out = np.zeros((len(SCHEDULE_OUT), n), np.int64)
    last_due = np.full(n, _NEVER, np.int64)
    today, w3, w6 = _day(business_date), WINDOWS["3m"], WINDOWS["6m"]
    columns = schedules.select(KEY, _day_numbers("due_date"), pl.col(*AMOUNTS).cast(pl.Int64))
    for piece in columns.iter_slices(SLICE_ROWS):
        _schedule_sums(
            *(_array(piece[c]) for c in columns.columns),
            since, today, w3, w6, out, last_due,
        )  # fmt: skip
    frame = pl.DataFrame(dict(zip(SCHEDULE_OUT, out, strict=True)))
    frame = frame.with_columns(pl.col("_remaining", "_overdue").cast(pl.Int32))
    has = pl.col("_n") > 0
    n_rows = pl.col("_n")
    return frame.select(
        *(
            pl.when(has).then(pl.col(c)).alias(c)
            for c in ("_remaining", "_due_life", "_due_3m", "_due_6m")
        ),
        pl.when(has)
        .then(
            pl.when(n_rows > 1)
            .then((pl.col("_sum") - pl.col("_last")) / (n_rows - 1))
            .otherwise(pl.col("_last"))
            .round(0)
            .cast(pl.Int64)
        )
        .alias("_instalment"),
        pl.when(pl.col("_overdue") > 0).then(pl.col("_overdue")).alias("_overdue_instalments"),
    )


def txn_sums(txns: pl.DataFrame, instalment: pl.Series, business_date: date) -> pl.DataFrame:
    """``txn_aggs`` as one frame of ``n`` rows (``txns`` keyed, reversed payments
    already removed, without null amounts or dates; ``instalment`` by row number)."""
    n = instalment.len()
    out = np.zeros((len(TXN_OUT), n), np.int64)
    last_fail = np.full(n, _NEVER, np.int64)
    each = _array(instalment.cast(pl.Float64).fill_null(np.nan))
    today, w3, w6 = _day(business_date), WINDOWS["3m"], WINDOWS["6m"]
    kind = pl.when(pl.col("type") == "repayment").then(1).when(pl.col("type") == "failed_debit")
    columns = txns.select(
        KEY,
        kind.then(2).otherwise(0).cast(pl.Int8).alias("kind"),
        pl.col("amount").cast(pl.Int64),
        _day_numbers("value_date"),
    )
    for piece in columns.iter_slices(SLICE_ROWS):
        _txn_sums(
            *(_array(piece[c]) for c in columns.columns),
            each, today, w3, w6, PARTIAL_SHARE, out, last_fail,
        )  # fmt: skip
    frame = pl.DataFrame(dict(zip(TXN_OUT, out, strict=True)))
    counts = ("_payments_3m", "_partial_3m", "_partial_6m", "_failed_3m", "_failed_6m")
    frame = frame.with_columns(pl.col(*counts).cast(pl.Int32))
    last = pl.Series("_last_failed", last_fail)
    return frame.with_columns(
        pl.when(last != _NEVER).then(last).cast(pl.Int32).cast(pl.Date).alias("_last_failed")
    )
