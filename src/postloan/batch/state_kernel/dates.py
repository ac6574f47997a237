"""Day numbers (days since 1970-01-01, int64) and their calendar arithmetic, vectorised."""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]

#: "No date" (None) and "never" as day numbers; far outside any real date.
NONE = -(1 << 40)
NEVER = 1 << 40
_EPOCH = date(1970, 1, 1)


def day_number(day: date) -> int:
    return (day - _EPOCH).days


def add_months_days(days: I64, months: int) -> I64:
    """``postloan.domain.calendar.add_months`` on day numbers (clamped to month end).

    Entries equal to ``NONE`` or ``NEVER`` come back unchanged."""
    special = (days <= NONE) | (days >= NEVER)
    safe = np.where(special, 0, days)
    as_day = safe.astype("datetime64[D]")
    month = as_day.astype("datetime64[M]")
    dom = (as_day - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.timedelta64(months, "M")
    start = target.astype("datetime64[D]").astype(np.int64)
    length = (target + np.timedelta64(1, "M")).astype("datetime64[D]").astype(np.int64) - start
    out: I64 = start + np.minimum(dom, length - 1)
    return np.where(special, days, out)
