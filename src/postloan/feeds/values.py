"""Parsers for single feed values: dates (vectorised), rates and the domain enums.

The domain enums are parsed once per distinct value (there are few) with the
domain's own ``parse`` methods, so feeds accept exactly what the domain does.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation

import polars as pl

from postloan.domain.calendar import Frequency
from postloan.domain.daycount import DayCount
from postloan.domain.schedule import Method
from postloan.feeds.spec import Kind

#: Annual rates above this are almost always a percentage written without "%".
MAX_ANNUAL_RATE = Decimal(1)


def parse_date(col: pl.Expr) -> pl.Expr:
    """ISO ``YYYY-MM-DD`` (a midnight time part is allowed), ``YYYY/MM/DD`` or ``YYYYMMDD``."""
    day = col.str.replace(r"[ T]00:00(:00(\.0+)?)?$", "")
    parsed = pl.coalesce(
        day.str.to_date("%Y-%m-%d", strict=False),
        day.str.to_date("%Y/%m/%d", strict=False),
        day.str.to_date("%Y%m%d", strict=False),
    )
    sane = parsed.dt.year().is_between(1900, 2200)
    return pl.when(sane).then(parsed).otherwise(None)


def parse_rate(text: str) -> str:
    raw = text.strip()
    percent = raw.endswith("%")
    try:
        value = Decimal(raw.rstrip("%").strip())
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a decimal rate such as 0.0948 or 9.48%") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a finite rate")
    if percent:
        value = value / 100
    if value < 0:
        raise ValueError(f"{text!r} is negative; annual rates must be zero or more")
    if value > MAX_ANNUAL_RATE:
        raise ValueError(
            f"{text!r} is more than 100% a year; write a fraction (0.0948) or a percentage (9.48%)"
        )
    return format(value.normalize(), "f")


PARSERS: dict[Kind, Callable[[str], str]] = {
    Kind.RATE: parse_rate,
    Kind.FREQUENCY: lambda t: str(Frequency.parse(t)),
    Kind.DAY_COUNT: lambda t: DayCount.parse(t).value,
    Kind.METHOD: lambda t: Method.parse(t).value,
}
