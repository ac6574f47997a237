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
    """Months 0 .. months-1 from ``start`` (plus look-ahead), as day-number arrays."""

    def __init__(self, start: str, months: int, origination_months: int) -> None:
        try:
            year, month = (int(x) for x in str(start).split("-"))
            date(year, month, 1)
        except ValueError:
            raise ConfigError(f"calendar.start_month {start!r} is not YYYY-MM") from None
        if months < 1:
            raise ConfigError("--months must be at least 1")
        self.months = months
        self.origination_months = max(1, min(int(origination_months), months))
        total = months + _LOOKAHEAD + 1
        starts = []
        for m in range(total):
            y, mo = divmod(month - 1 + m, 12)
            starts.append((date(year + y, mo + 1, 1) - _EPOCH).days)
        self.month_start = np.array(starts, dtype=np.int64)
        self.month_end = self.month_start[1:] - 1  # day number of the last day of month m
        self.month_len = np.diff(self.month_start)
        self._year0, self._month0 = year, month

    def year_of(self, m: np.ndarray) -> np.ndarray:
        return self._year0 + (self._month0 - 1 + m) // 12

    def month_end_date(self, m: int) -> date:
        return date.fromordinal(_EPOCH.toordinal() + int(self.month_end[m]))

    def day_date(self, day: int) -> date:
        return date.fromordinal(_EPOCH.toordinal() + int(day))
