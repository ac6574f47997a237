"""Portfolio KPIs: one closed business date (the document of ``postloan kpi --json``:
portfolio, collections and analytics blocks) and a series for charts (the
documents of ``postloan kpi --from --to [--by] --json``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Depends, Query

from postloan.analytics.dashboard import cut_values, load_context, snapshot_figures
from postloan.analytics.kpis import check_cut
from postloan.api.deps import Ctx, require
from postloan.batch.pipeline import last_closed_business_date
from postloan.commands.kpi import full_document
from postloan.domain.errors import NotFound, ValidationError
from postloan.security.users import User

router = APIRouter(prefix="/api/v1", tags=["kpis"])
Viewer = Annotated[User, Depends(require("kpi.view"))]
MAX_SERIES_DAYS = 1000
Cut = Annotated[
    str | None,
    Query(max_length=32, description="product, branch, region, officer, vintage or channel"),
]


@router.get("/kpis", response_model=dict[str, Any])
def kpis(
    ctx: Ctx,
    _user: Viewer,
    on: Annotated[date | None, Query(alias="date", description="default: last closed")] = None,
) -> dict[str, Any]:
    """Loans, balance, NPL and 90+ ratios, bucket/class/stage mix, the collections
    figures, roll/flow rates, vintages, cures and ECL of one closed date: the same
    document as ``postloan kpi --json``."""
    settings = ctx.store.settings
    with ctx.store.begin() as conn:
        business_date = on or last_closed_business_date(conn)
        if business_date is None:
            raise NotFound("no business date has been closed yet; run `postloan eod --date D`")
        doc = full_document(conn, settings, business_date)
    return doc


@router.get("/kpis/series", response_model=list[dict[str, Any]])
def kpi_series(
    ctx: Ctx,
    _user: Viewer,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
    by: Cut = None,
) -> list[dict[str, Any]]:
    """The snapshot KPIs of each closed date in ``[from, to]`` (and per value of the
    cut ``by``), oldest first: ``postloan kpi --from --to [--by] --json``."""
    check_cut(by)
    if start > end:
        raise ValidationError(f"from {start} is after to {end}")
    if (end - start).days >= MAX_SERIES_DAYS:
        raise ValidationError(f"ask for at most {MAX_SERIES_DAYS} days at a time")
    analytics = load_context(ctx.store.settings)
    dates = [d for d in analytics.snapshots.dates("loan_state") if start <= d <= end]
    cuts = cut_values(analytics, by) if by else {}
    out: list[dict[str, Any]] = []
    for day in dates:
        if not by:
            out.append(snapshot_figures(analytics, day))
            continue
        state = analytics.snapshots.read("loan_state", day)
        for value, ids in cuts.items():
            keep = pl.col("loan_id").is_in(ids)
            out.append(
                {"cut": {by: value}, **snapshot_figures(analytics, day, state=state, keep=keep)}
            )
    return out
