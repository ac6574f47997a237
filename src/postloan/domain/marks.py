"""Marks staff (or upstream systems) put on a loan for a span of dates.

A mark covers every date from ``start_date`` through ``end_date`` inclusive;
``end_date=None`` means it is still in force.

- ``technical_delay``: staff marked the delay as technical/operational; an
  overdue of at most 7 days (configurable) then stays 正常 (normal).
- ``restructured``: a restructuring with a concession took effect on
  ``start_date``; the observation period is derived from it. While the mark
  covers a date the loan also counts as forborne for IFRS 9 probation.
- ``credit_impaired``: the loan is at least 次级 (substandard) and in IFRS 9 stage 3.
- ``payment_pause``: a paused period (e.g. disaster relief); its days do not count
  toward days past due (and, by default, accrue no penalty).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from postloan.domain.errors import ValidationError


class MarkKind(StrEnum):
    TECHNICAL_DELAY = "technical_delay"
    RESTRUCTURED = "restructured"
    CREDIT_IMPAIRED = "credit_impaired"
    PAYMENT_PAUSE = "payment_pause"


@dataclass(frozen=True, slots=True)
class LoanMark:
    loan_id: str
    kind: MarkKind
    start_date: date
    end_date: date | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValidationError(
                f"{self.kind} mark on loan {self.loan_id}: end {self.end_date} "
                f"is before start {self.start_date}"
            )

    def covers(self, day: date) -> bool:
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)


def any_covers(marks: Iterable[LoanMark], kind: MarkKind, day: date) -> bool:
    """Whether a mark of ``kind`` covers ``day``."""
    return any(m.kind is kind and m.covers(day) for m in marks)


def paused_days(marks: Sequence[LoanMark], after: date, through: date) -> int:
    """How many days in ``(after, through]`` lie inside a ``payment_pause`` mark.

    Overlapping pauses are counted once.
    """
    spans = sorted(
        (max(m.start_date, after + timedelta(days=1)), min(m.end_date or through, through))
        for m in marks
        if m.kind is MarkKind.PAYMENT_PAUSE
    )
    total = 0
    reached = after  # last day already counted
    for lo, hi in spans:
        lo = max(lo, reached + timedelta(days=1))
        if hi >= lo:
            total += (hi - lo).days + 1
            reached = hi
    return total
