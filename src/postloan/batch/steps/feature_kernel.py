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


@njit(cache=True, nogil=True)
def _schedule_sums(key, due, principal, interest, fee, since, n, today, w3, w6):  # type: ignore[no-untyped-def]
    """Per loan: rows, remaining (due after today), sum, the amount of the latest
    due date (the last row among equal dates), due up to today and in the two
    windows, and instalments from ``since`` (overdue since; ``_NEVER``: none) to
    yesterday."""
    rows = np.zeros(n, np.int64)
    remaining = np.zeros(n, np.int32)
    total = np.zeros(n, np.int64)
    last = np.zeros(n, np.int64)
    last_due = np.full(n, _NEVER, np.int64)
    life = np.zeros(n, np.int64)
    due3 = np.zeros(n, np.int64)
    due6 = np.zeros(n, np.int64)
    overdue = np.zeros(n, np.int32)
    for r in range(key.size):
        k = key[r]
        d = due[r]
        a = principal[r] + interest[r] + fee[r]
        rows[k] += 1
        total[k] += a
        if d > today:
            remaining[k] += 1
        else:
            life[k] += a
            if d > today - w6:
                due6[k] += a
                if d > today - w3:
                    due3[k] += a
        if d >= last_due[k]:
            last_due[k] = d
            last[k] = a
        if since[k] != _NEVER and since[k] <= d < today:
            overdue[k] += 1
    return rows, remaining, total, last, life, due3, due6, overdue


@njit(cache=True, nogil=True)
def _txn_sums(key, pay, fail, amount, day, instalment, n, today, w3, w6, share):  # type: ignore[no-untyped-def]
    """Per loan, over transactions up to today: repaid (ever, 3m, 6m), repayments
    (3m), partial repayments (3m, 6m; below ``share`` of the instalment, never
    when the instalment is unknown: NaN), failed debits (3m, 6m) and the latest."""
    paid = np.zeros(n, np.int64)
    paid3 = np.zeros(n, np.int64)
    paid6 = np.zeros(n, np.int64)
    pays3 = np.zeros(n, np.int32)
    part3 = np.zeros(n, np.int32)
    part6 = np.zeros(n, np.int32)
    fail3 = np.zeros(n, np.int32)
    fail6 = np.zeros(n, np.int32)
    last_fail = np.full(n, _NEVER, np.int64)
    for r in range(key.size):
        d = day[r]
        if d > today:
            continue
        k = key[r]
        if pay[r]:
            a = amount[r]
            paid[k] += a
            if d > today - w6:
                paid6[k] += a
                partial = np.float64(a) < instalment[k] * share
                if partial:
                    part6[k] += 1
                if d > today - w3:
                    paid3[k] += a
                    pays3[k] += 1
                    if partial:
                        part3[k] += 1
        elif fail[r]:
            if d > last_fail[k]:
                last_fail[k] = d
            if d > today - w6:
                fail6[k] += 1
                if d > today - w3:
                    fail3[k] += 1
    return paid, paid3, paid6, pays3, part3, part6, fail3, fail6, last_fail


def _array(series: pl.Series) -> np.ndarray:
    """A contiguous, read-only NumPy view or copy: Polars hands out read-only views
    of single-chunk columns and writable copies of the others, and each flavour is
    a separate compiled signature; one flavour means one compilation, cached."""
    out = np.ascontiguousarray(series.to_numpy())
    out.setflags(write=False)
    return out


def _days(series: pl.Series) -> np.ndarray:
    return _array(series.cast(pl.Date).to_physical().cast(pl.Int64))


def compiled_ok(frame: pl.DataFrame, columns: list[str]) -> bool:
    """Whether the compiled sums apply: no nulls in the columns they read."""
    return all(frame[c].null_count() == 0 for c in columns)


def schedule_sums(
    schedules: pl.DataFrame, overdue_since: pl.Series, business_date: date
) -> pl.DataFrame:
    """``schedule_aggs`` and ``overdue_instalments`` as one frame of ``n`` rows (row
    ``i`` = loan ``i`` of the base; ``schedules`` keyed, without null amounts)."""
    n = overdue_since.len()
    since = overdue_since.cast(pl.Date).to_physical().cast(pl.Int64).fill_null(_NEVER)
    rows, remaining, total, last, life, due3, due6, overdue = _schedule_sums(
        _array(schedules[KEY]),
        _days(schedules["due_date"]),
        _array(schedules["principal_due"].cast(pl.Int64)),
        _array(schedules["interest_due"].cast(pl.Int64)),
        _array(schedules["fee_due"].cast(pl.Int64)),
        _array(since),
        n,
        _day(business_date),
        WINDOWS["3m"],
        WINDOWS["6m"],
    )
    frame = pl.DataFrame(
        {
            "_remaining": remaining,
            "_due_life": life,
            "_due_3m": due3,
            "_due_6m": due6,
            "_sum": total,
            "_last": last,
            "_n": rows,
            "_overdue": overdue,
        }
    )
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
    out = _txn_sums(
        _array(txns[KEY]),
        _array(txns["type"] == "repayment"),
        _array(txns["type"] == "failed_debit"),
        _array(txns["amount"].cast(pl.Int64)),
        _days(txns["value_date"]),
        _array(instalment.cast(pl.Float64).fill_null(np.nan)),
        n,
        _day(business_date),
        WINDOWS["3m"],
        WINDOWS["6m"],
        PARTIAL_SHARE,
    )
    names = (
        "_paid_life",
        "_paid_3m",
        "_paid_6m",
        "_payments_3m",
        "_partial_3m",
        "_partial_6m",
        "_failed_3m",
        "_failed_6m",
    )
    frame = pl.DataFrame(dict(zip(names, out[:-1], strict=True)))
    last = pl.Series("_last_failed", out[-1])
    return frame.with_columns(
        pl.when(last != _NEVER).then(last).cast(pl.Int32).cast(pl.Date).alias("_last_failed")
    )
