"""The dashboard's portfolio figures, from :mod:`postloan.analytics` only: the same
functions (and so the same numbers) as ``postloan kpi --json`` and the monthly report.

- headline figures, bucket and five-category mix, roll rates (previous month-end →
  the date), vintages (X+@MOB, balance ÷ originated): ``analytics.dashboard.snapshot_figures``;
- NPL and 90+ trend: the stored KPI rows through ``commands.kpi.kpi_document`` for the
  whole book; for a cut, ``analytics.kpis.portfolio`` of the cut on each month-end;
- a cut (product, branch, region, officer, channel, vintage) keeps the loans of
  ``analytics.dashboard.cut_values``.

Results are cached per snapshot store, last closed date and cut: they change only
when a close of business writes a new date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl

from postloan.analytics import kpis
from postloan.analytics.dashboard import Context, cut_values, load_context, snapshot_figures
from postloan.commands.kpi import kpi_document
from postloan.domain.errors import ValidationError

MAX_TREND_DATES = 400
MAX_CUT_TREND_DATES = 24
CUTS = tuple(c for c in kpis.CUT_FIELDS)


@dataclass(frozen=True, slots=True)
class Portfolio:
    on: date | None
    doc: dict[str, Any]  # snapshot_figures of ``on`` (ratios and amounts as strings)
    trend: list[dict[str, Any]]  # date, npl_ratio, dpd90_ratio (strings), balance
    rolls: dict[str, Any] | None  # transition matrix with its "from"/"to" dates
    cut_options: list[str]  # the values of the chosen cut field


_CACHE: dict[tuple[Any, ...], Portfolio] = {}
_CONTEXT: dict[tuple[str, date | None], Context] = {}


def _context(settings: Any, last: date | None) -> Context:
    key = (str(settings.home), last)
    if key not in _CONTEXT:
        _CONTEXT.clear()
        _CONTEXT[key] = load_context(settings)
    return _CONTEXT[key]


def portfolio(settings: Any, snaps: Any, by: str = "", value: str = "") -> Portfolio:
    """The dashboard's figures for the last closed date, of the whole book or one cut."""
    if by and by not in CUTS:
        raise ValidationError(f"filter by one of {', '.join(CUTS)}, not {by!r}")
    dates = snaps.dates("loan_state")
    last = dates[-1] if dates else None
    key = (str(snaps.root), last, tuple(snaps.dates("kpi")[-1:]), by, value)
    if key not in _CACHE:
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[key] = _compute(_context(settings, last), dates, by, value)
    return _CACHE[key]


def _compute(ctx: Context, dates: list[date], by: str, value: str) -> Portfolio:
    if not dates:
        return Portfolio(None, {}, [], None, [])
    on = dates[-1]
    options: list[str] = []
    keep: pl.Expr | None = None
    if by:
        cuts = cut_values(ctx, by)
        options = list(cuts)
        if value in cuts:  # a value of another cut (the field just changed): all of them
            keep = pl.col("loan_id").is_in(cuts[value])
    state = ctx.snapshots.read("loan_state", on)
    doc = snapshot_figures(ctx, on, state=state, keep=keep)
    rolls = doc.get("roll_rates")
    if rolls is None and len(dates) > 1:  # no earlier month yet: first date → last date
        rolls = _first_to_last(ctx, dates[0], on, state, keep)
    trend = _book_trend(ctx) if keep is None else _cut_trend(ctx, dates, keep)
    return Portfolio(on, doc, trend, rolls, options)


def _first_to_last(
    ctx: Context, first: date, on: date, state: pl.DataFrame, keep: pl.Expr | None
) -> dict[str, Any]:
    before = ctx.snapshots.read("loan_state", first)
    after = state
    if keep is not None:
        before, after = before.filter(keep), after.filter(keep)
    matrix = kpis.transition_matrix(kpis.pairs(before, after), None, "bucket", ctx.buckets)
    return {"from": first.isoformat(), "to": on.isoformat(), **matrix}


def _book_trend(ctx: Context) -> list[dict[str, Any]]:
    """NPL and 90+ ratios per closed date from the stored KPI rows (``kpi_document``)."""
    dates = ctx.snapshots.dates("kpi")[-MAX_TREND_DATES:]
    if not dates:
        return []
    frame = ctx.snapshots.scan("kpi", dates[0], dates[-1]).collect()
    out = []
    for (on,), rows in sorted(frame.group_by("business_date"), key=lambda g: g[0]):
        doc = kpi_document(rows.to_dicts(), on)
        out.append(_point(on, doc))
    return out


def _cut_trend(ctx: Context, dates: list[date], keep: pl.Expr) -> list[dict[str, Any]]:
    """The cut's ratios on each month-end (and the last date), via ``kpis.portfolio``."""
    ends = (kpis.month_ends(dates[:-1]) + dates[-1:])[-MAX_CUT_TREND_DATES:]
    frame = ctx.snapshots.scan("loan_state", ends[0], ends[-1]).filter(
        pl.col("business_date").is_in(ends)
    )
    states = frame.filter(keep).collect()
    out = []
    for (on,), state in sorted(states.group_by("business_date"), key=lambda g: g[0]):
        out.append(_point(on, kpis.portfolio(state, ctx.buckets)))
    return out


def _point(on: date, doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "date": on,
        "npl_ratio": doc["npl_ratio"],
        "dpd90_ratio": doc["dpd90_ratio"],
        "balance": doc["balance"],
    }


def minor(amount: str) -> int:
    """A money string of the KPI document (``"12345.67"``) in minor units."""
    return int(Decimal(amount) * 100)


def clear() -> None:
    """Forget cached figures (tests that rewrite the snapshots)."""
    _CACHE.clear()
    _CONTEXT.clear()
