"""Repayment frequencies and due-date arithmetic."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from postloan.domain.errors import InvalidTerms


class FrequencyUnit(StrEnum):
    MONTH = "month"
    DAY = "day"


@dataclass(frozen=True, slots=True)
class Frequency:
    """How often instalments fall due: every ``count`` months or days."""

    unit: FrequencyUnit
    count: int

    def __post_init__(self) -> None:
        if self.count < 1:
            raise InvalidTerms(f"frequency count must be at least 1, got {self.count}")

    @classmethod
    def parse(cls, text: str) -> Frequency:
        """Parse ``monthly``, ``fortnightly``, ``weekly``, ``days:N`` or ``every_N_days``."""
        key = text.strip().lower()
        named = {
            "monthly": cls(FrequencyUnit.MONTH, 1),
            "quarterly": cls(FrequencyUnit.MONTH, 3),
            "fortnightly": cls(FrequencyUnit.DAY, 14),
            "biweekly": cls(FrequencyUnit.DAY, 14),
            "weekly": cls(FrequencyUnit.DAY, 7),
            "daily": cls(FrequencyUnit.DAY, 1),
        }
        if key in named:
            return named[key]
        match = re.fullmatch(r"(?:days:(\d+)|every_(\d+)_days|months:(\d+))", key)
        if match:
            days, every, months = match.groups()
            if months is not None:
                return cls(FrequencyUnit.MONTH, int(months))
            return cls(FrequencyUnit.DAY, int(days or every))
        raise InvalidTerms(
            f"unknown frequency {text!r}; use monthly, fortnightly, weekly or days:N"
        )

    def __str__(self) -> str:
        if self.unit is FrequencyUnit.MONTH:
            return "monthly" if self.count == 1 else f"months:{self.count}"
        return {7: "weekly", 14: "fortnightly"}.get(self.count, f"days:{self.count}")

    def periods_per_year(self) -> int | None:
        """Whole periods per year, or None when the frequency does not divide a year."""
        if self.unit is FrequencyUnit.MONTH:
            return 12 // self.count if 12 % self.count == 0 else None
        return {7: 52, 14: 26}.get(self.count)


def add_months(anchor: date, months: int) -> date:
    """``anchor`` moved by whole months, clamped to month end (31 Jan + 1 → 29 Feb)."""
    index = anchor.year * 12 + anchor.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(anchor.day, last))


def step(anchor: date, frequency: Frequency, periods: int) -> date:
    """The date ``periods`` periods after ``anchor`` (always counted from the anchor,
    so month-end clamping never drifts: 31 Jan → 29 Feb → 31 Mar)."""
    if frequency.unit is FrequencyUnit.MONTH:
        return add_months(anchor, frequency.count * periods)
    return anchor + timedelta(days=frequency.count * periods)


def due_dates(
    disbursement: date, frequency: Frequency, periods: int, first_due: date | None = None
) -> list[date]:
    """The ``periods`` due dates of a loan.

    Without ``first_due`` the first instalment falls one period after
    disbursement. With it, later instalments keep the first due date's rhythm.
    """
    if periods < 1:
        raise InvalidTerms(f"a loan needs at least one period, got {periods}")
    if first_due is not None and first_due <= disbursement:
        raise InvalidTerms(f"first due date {first_due} is not after disbursement {disbursement}")
    if first_due is None:
        return [step(disbursement, frequency, k) for k in range(1, periods + 1)]
    return [step(first_due, frequency, k) for k in range(periods)]
