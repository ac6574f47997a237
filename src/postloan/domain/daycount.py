"""Day-count conventions: how much of a year lies between two dates.

Each convention returns an exact ``Fraction`` so that period rates and
interest can be computed without rounding until the last step.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from enum import StrEnum
from fractions import Fraction

from postloan.domain.errors import InvalidTerms


class DayCount(StrEnum):
    THIRTY_360 = "30/360"
    ACT_365F = "act/365f"
    ACT_360 = "act/360"
    ACT_364 = "act/364"
    ACT_ACT_ISDA = "act/act-isda"
    ACT_ACT_FINERACT = "act/act-fineract"

    @classmethod
    def parse(cls, text: str) -> DayCount:
        """Accept the canonical names and the common aliases used by core systems."""
        key = text.strip().lower().replace(" ", "").replace("_", "-")
        found = _ALIASES.get(key)
        if found is None:
            names = ", ".join(d.value for d in cls)
            raise InvalidTerms(f"unknown day count {text!r}; use one of: {names}")
        return found


_ALIASES: dict[str, DayCount] = {
    "30/360": DayCount.THIRTY_360,
    "30e/360": DayCount.THIRTY_360,
    "thirty-360": DayCount.THIRTY_360,
    "act/365f": DayCount.ACT_365F,
    "act/365": DayCount.ACT_365F,
    "actual/365": DayCount.ACT_365F,
    "actual/365f": DayCount.ACT_365F,
    "actual-365": DayCount.ACT_365F,
    "days-in-year-365-actual-days": DayCount.ACT_365F,
    "act/360": DayCount.ACT_360,
    "actual/360": DayCount.ACT_360,
    "actual-360": DayCount.ACT_360,
    "act/364": DayCount.ACT_364,
    "actual/364": DayCount.ACT_364,
    "actual-364": DayCount.ACT_364,
    "act/act": DayCount.ACT_ACT_ISDA,
    "act/act-isda": DayCount.ACT_ACT_ISDA,
    "actual/actual": DayCount.ACT_ACT_ISDA,
    "actual/actual-isda": DayCount.ACT_ACT_ISDA,
    "actual-actual-isda": DayCount.ACT_ACT_ISDA,
    "act/act-fineract": DayCount.ACT_ACT_FINERACT,
    "actual-actual-fineract": DayCount.ACT_ACT_FINERACT,
}


def _is_last_of_month(d: date) -> bool:
    return d.day == calendar.monthrange(d.year, d.month)[1]


def days_360(start: date, end: date) -> int:
    """30/360 day count with the end-of-month rule (US/NASD style).

    A start on the last day of its month counts as the 30th; an end on the 31st,
    or on a month end when the start was a month end, counts as the 30th. This
    makes every regular monthly period exactly 30 days, even through February.
    """
    d1 = 30 if _is_last_of_month(start) or start.day == 31 else start.day
    d2 = end.day
    if d2 == 31 or (_is_last_of_month(end) and d1 == 30):
        d2 = 30
    return (end.year - start.year) * 360 + (end.month - start.month) * 30 + (d2 - d1)


def _days_in_year(year: int) -> int:
    return 366 if calendar.isleap(year) else 365


def year_fraction(start: date, end: date, day_count: DayCount) -> Fraction:
    """The fraction of a year from ``start`` to ``end`` under ``day_count``."""
    if end < start:
        raise InvalidTerms(f"period end {end} is before its start {start}")
    actual = (end - start).days
    if day_count is DayCount.THIRTY_360:
        return Fraction(days_360(start, end), 360)
    if day_count is DayCount.ACT_365F:
        return Fraction(actual, 365)
    if day_count is DayCount.ACT_360:
        return Fraction(actual, 360)
    if day_count is DayCount.ACT_364:
        return Fraction(actual, 364)
    if day_count is DayCount.ACT_ACT_ISDA:
        return _act_act(start, end, shift=0)
    return _act_act(start, end, shift=1)


def _act_act(start: date, end: date, shift: int) -> Fraction:
    """Actual/Actual, split at each 31 December.

    ISDA (``shift=0``) counts the days in [start, end). Fineract (``shift=1``)
    counts the days in (start, end], so 12 Dec → 12 Jan is 19/365 + 12/366;
    that is ISDA applied to the same period moved one day later.
    """
    lo = start + timedelta(days=shift)
    hi = end + timedelta(days=shift)
    total = Fraction(0)
    for year in range(lo.year, hi.year + 1):
        seg_lo = max(lo, date(year, 1, 1))
        seg_hi = min(hi, date(year + 1, 1, 1))
        if seg_hi > seg_lo:
            total += Fraction((seg_hi - seg_lo).days, _days_in_year(year))
    return total
