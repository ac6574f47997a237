"""Row → loan position: a dense integer key for a partition's per-loan aggregations.

A partition's frames (schedules, transactions, marks, history) refer to loans by
string id. Grouping and joining 9M schedule rows on strings hashes every string;
the book mirror already stores each table in loan-id order, so one binary search
per run of equal ids against the (sorted) loan ids of the partition gives every
row the row number of its loan, and the aggregations then group and join on that
small integer. Any row order gives the right positions: rows not grouped by loan
only mean more runs, hence more searches.
"""

from __future__ import annotations

import numpy as np
import polars as pl

#: Name of the position column (``UInt32``; null for a loan not in the id list).
KEY = "_i"


def positions(keys: pl.Series, ids: pl.Series) -> pl.Series:
    """For each value of ``keys``, its index in ``ids`` (sorted ascending, unique),
    or null when ``ids`` does not hold it."""
    if not ids.is_sorted():
        raise ValueError("positions() needs the loan ids sorted ascending")
    n = ids.len()
    if keys.len() == 0 or n == 0:
        return pl.repeat(None, keys.len(), dtype=pl.UInt32, eager=True).alias(KEY)
    runs = keys.rle()
    values = runs.struct.field("value")
    at = ids.search_sorted(values, "left").cast(pl.UInt32)
    found = (ids.gather(at.clip(upper_bound=n - 1)) == values).fill_null(False)
    everywhere = bool(found.all())
    if not everywhere:  # a sentinel past the end, nulled after the expansion
        at = pl.select(pl.when(found).then(at).otherwise(pl.lit(n, pl.UInt32))).to_series()
    expanded = np.repeat(at.to_numpy(), runs.struct.field("len").to_numpy())
    out = pl.Series(KEY, expanded, dtype=pl.UInt32)
    if not everywhere:
        out = out.to_frame().select(pl.when(pl.col(KEY) < n).then(pl.col(KEY))).to_series()
    elif at.is_sorted():  # rows in loan order: lets group_by take its sorted-key path
        out = out.set_sorted()
    return out


def keyed(frame: pl.DataFrame, ids: pl.Series, columns: list[str] | None = None) -> pl.DataFrame:
    """``frame`` (only ``columns`` when given) with the :data:`KEY` column of its
    ``loan_id`` in ``ids``, without the rows of loans that ``ids`` does not hold."""
    key = positions(frame["loan_id"], ids)
    if columns is not None:
        frame = frame.select(columns)
    frame = frame.with_columns(key)
    return frame if key.null_count() == 0 else frame.filter(pl.col(KEY).is_not_null())


def aligned(part: pl.DataFrame, n: int) -> pl.DataFrame:
    """``part`` (at most one row per :data:`KEY` value below ``n``) as ``n`` rows in
    key order, without the key: row ``i`` holds key ``i``'s values, nulls where
    ``part`` has none. A gather, where a join would hash and copy."""
    key = part[KEY]
    rest = part.drop(KEY)
    if part.height == n and key.is_sorted():  # every key once, in order
        return rest
    where = np.full(n, -1, dtype=np.int64)
    where[key.to_numpy()] = np.arange(part.height)
    found = pl.Series("_at", where).to_frame()
    rows = found.select(pl.when(pl.col("_at") >= 0).then(pl.col("_at"))).to_series()
    return rest.select(pl.all().gather(rows))
