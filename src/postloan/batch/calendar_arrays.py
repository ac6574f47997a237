"""Due dates and day counts over numpy arrays of day numbers.

Dates are int64 days since 1970-01-01. A :class:`DateTables` covers the span
of a batch once (month index, day of month, month end, cumulative leap-year
days for every day in it), so stepping dates and counting days for a million
loans becomes a handful of table look-ups instead of a million ``date`` objects.
The rules are those of ``postloan.domain.calendar`` and ``postloan.domain.daycount``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from postloan.domain.daycount import DayCount

I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

#: The common denominator of each day count's year fractions (act/act: 365 × 366).
YEAR_DENOMINATOR: dict[DayCount, int] = {
    DayCount.THIRTY_360: 360,
    DayCount.ACT_365F: 365,
    DayCount.ACT_360: 360,
    DayCount.ACT_364: 364,
    DayCount.ACT_ACT_ISDA: 365 * 366,
    DayCount.ACT_ACT_FINERACT: 365 * 366,
}

_EPOCH_MONTH = 1970 * 12  # month index (year * 12 + month - 1) of January 1970


@dataclass(frozen=True, slots=True)
class DateTables:
    """Per-day and per-month look-up tables for day numbers in ``[first_day, last_day]``."""

    first_day: int
    first_month: int  # month index of first_day
    month_index: I64  # by day: year * 12 + month - 1
    day_of_month: I64  # by day: 1..31
    month_end: Bool  # by day: last day of its month
    leap_before: I64  # by day: days before it (from first_day) that lie in leap years
    thirty_start: I64  # by day: its day as a 30/360 period start (30 on a month end)
    thirty_end: I64  # by day: its day as a 30/360 period end before the month-end rule
    thirty_month: I64  # by day: month index × 30
    month_start: I64  # by month: its first day number
    month_last: I64  # by month: days in it − 1

    @classmethod
    def covering(cls, first_day: int, last_day: int) -> DateTables:
        """Tables for every day from ``first_day`` to ``last_day`` (inclusive)."""
        days = np.arange(first_day, last_day + 1, dtype=np.int64)
        months = days.astype("datetime64[D]").astype("datetime64[M]")
        month_start_by_day = months.astype("datetime64[D]").astype(np.int64)
        next_start_by_day = (months + 1).astype("datetime64[D]").astype(np.int64)
        years = days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
        leap = (years % 4 == 0) & ((years % 100 != 0) | (years % 400 == 0))
        month_index = months.astype(np.int64) + _EPOCH_MONTH
        day_of_month = days - month_start_by_day + 1
        month_end = days == next_start_by_day - 1
        first_month = int(month_index[0])
        all_months = np.arange(first_month, int(month_index[-1]) + 2, dtype=np.int64)
        as_m = (all_months - _EPOCH_MONTH).astype("datetime64[M]")
        starts = as_m.astype("datetime64[D]").astype(np.int64)
        ends = (as_m + 1).astype("datetime64[D]").astype(np.int64)
        return cls(
            first_day=first_day,
            first_month=first_month,
            month_index=month_index,
            day_of_month=day_of_month,
            month_end=month_end,
            leap_before=np.concatenate(([0], np.cumsum(leap, dtype=np.int64)[:-1])),
            thirty_start=np.where(month_end, 30, day_of_month),
            thirty_end=np.minimum(day_of_month, 30),
            thirty_month=month_index * 30,
            month_start=starts,
            month_last=ends - starts - 1,
        )


def step_months(tables: DateTables, anchor_at: I64, anchor_day0: I64, months: I64) -> I64:
    """Due dates ``months`` months after anchors given as (month index − ``first_month``,
    day of month − 1), clamped to month end (``postloan.domain.calendar.add_months``)."""
    at = anchor_at + months
    due: I64 = tables.month_start[at] + np.minimum(anchor_day0, tables.month_last[at])
    return due


def days_30_360(tables: DateTables, start: I64, end: I64) -> I64:
    """30/360 with the end-of-month rule, as ``postloan.domain.daycount.days_360``:
    a start on a month end counts as the 30th; an end on the 31st, or on a month
    end after such a start, counts as the 30th."""
    s = start - tables.first_day
    e = end - tables.first_day
    d1 = tables.thirty_start[s]
    d2 = np.where(tables.month_end[e] & (d1 == 30), 30, tables.thirty_end[e])
    result: I64 = tables.thirty_month[e] - tables.thirty_month[s] + d2 - d1
    return result


def fraction_numerator(tables: DateTables, start: I64, end: I64, day_count: DayCount) -> I64:
    """Numerator of the year fraction from ``start`` to ``end`` over ``YEAR_DENOMINATOR``."""
    if day_count is DayCount.THIRTY_360:
        return days_30_360(tables, start, end)
    actual: I64 = end - start
    if day_count in (DayCount.ACT_365F, DayCount.ACT_360, DayCount.ACT_364):
        return actual
    # Actual/actual: a days in common years over 365 plus b leap-year days over 366,
    # i.e. (a × 366 + b × 365) / (365 × 366) = (actual × 366 − b) / (365 × 366).
    # ISDA counts [start, end); Fineract (start, end], the same span one day later.
    shift = 0 if day_count is DayCount.ACT_ACT_ISDA else 1
    s = start - tables.first_day + shift
    e = end - tables.first_day + shift
    leap_days = tables.leap_before[e] - tables.leap_before[s]
    result: I64 = actual * 366 - leap_days
    return result
