"""Portfolio KPIs: one closed business date (the document of ``postloan kpi --json``,
with its collections block) and a daily series for charts."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from postloan.api.deps import Ctx, require
from postloan.batch.pipeline import last_closed_business_date
from postloan.collections.daily import load_collections_settings
from postloan.collections.kpis import collection_kpis
from postloan.commands.kpi import kpi_document
from postloan.domain.errors import NotFound, ValidationError
from postloan.security.users import User
from postloan.store.snapshots import SnapshotStore

router = APIRouter(prefix="/api/v1", tags=["kpis"])
Viewer = Annotated[User, Depends(require("kpi.view"))]
MAX_SERIES_DAYS = 1000


@router.get("/kpis", response_model=dict[str, Any])
def kpis(
    ctx: Ctx,
    _user: Viewer,
    on: Annotated[date | None, Query(alias="date", description="default: last closed")] = None,
) -> dict[str, Any]:
    """Loans, balance, NPL and 90+ ratios, bucket/class/stage mix and the collections
    figures of one closed date: the same document as ``postloan kpi --json``."""
    with ctx.store.begin() as conn:
        business_date = on or last_closed_business_date(conn)
        if business_date is None:
            raise NotFound("no business date has been closed yet; run `postloan eod --date D`")
        rows = SnapshotStore(ctx.store.settings.snapshot_dir).read("kpi", business_date)
        doc = kpi_document(rows.to_dicts(), business_date)
        doc.update(
            collection_kpis(conn, business_date, load_collections_settings(ctx.store.settings))
        )
    return doc


@router.get("/kpis/series", response_model=list[dict[str, Any]])
def kpi_series(
    ctx: Ctx,
    _user: Viewer,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
) -> list[dict[str, Any]]:
    """The portfolio document (without the collections block) of each closed date in
    ``[from, to]``, oldest first; dates not closed are left out."""
    if start > end:
        raise ValidationError(f"from {start} is after to {end}")
    if (end - start).days >= MAX_SERIES_DAYS:
        raise ValidationError(f"ask for at most {MAX_SERIES_DAYS} days at a time")
    snapshots = SnapshotStore(ctx.store.settings.snapshot_dir)
    out = []
    for day in snapshots.dates("kpi"):
        if start <= day <= end:
            out.append(kpi_document(snapshots.read("kpi", day).to_dicts(), day))
    return out
