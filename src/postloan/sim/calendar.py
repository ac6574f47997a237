"""Month arithmetic for the simulator: month index ↔ day numbers (days since 1970-01-01)."""

from __future__ import annotations

from datetime import date

import numpy as np

from postloan.domain.errors import ConfigError

__all__ = ["SimCalendar"]

_EPOCH = date(1970, 1, 1)
#: Months beyond the horizon kept in the tables (the oracle looks 6 months ahead).
_LOOKAHEAD = 8


class SimCalendar:
    """Internal months 0 .. total-1 as day-number arrays (plus look-ahead).

    The observed window is ``months`` months from ``start``; the ``backbook`` months
    before it are simulated too (loans originated then are the seasoned part of the
    book on the first day of the window). Window month ``w`` is internal ``offset + w``.
    """

    def __init__(self, start: str, months: int, origination_months: int, backbook: int = 0) -> None:
        try:
            year, month = (int(x) for x in str(start).split("-"))
            date(year, month, 1)
        except ValueError:
            raise ConfigError(f"calendar.start_month {start!r} is not YYYY-MM") from None
        if months < 1:
            raise ConfigError("--months must be at least 1")
        if backbook < 0:
            raise ConfigError("calendar.backbook_months must not be negative")
        self.months = months
        self.offset = int(backbook)
        self.total = self.offset + months
        # loans originate over the back book and the first origination_months of the window
        self.origination_months = self.offset + max(1, min(int(origination_months), months))
        starts = []
        for m in range(self.total + _LOOKAHEAD + 1):
            y, mo = divmod(month - 1 - self.offset + m, 12)
            starts.append((date(year + y, mo + 1, 1) - _EPOCH).days)
        self.month_start = np.array(starts, dtype=np.int64)
        self.month_end = self.month_start[1:] - 1  # day number of the last day of month m
        self.month_len = np.diff(self.month_start)
        self._year0, self._month0 = year, month - self.offset

    def year_of(self, m: np.ndarray) -> np.ndarray:
        return self._year0 + (self._month0 - 1 + m) // 12

    def month_end_date(self, m: int) -> date:
        return date.fromordinal(_EPOCH.toordinal() + int(self.month_end[m]))

    def day_date(self, day: int) -> date:
        return date.fromordinal(_EPOCH.toordinal() + int(day))
