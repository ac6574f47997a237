"""``postloan kpi``: the portfolio KPIs of a closed business date.

JSON: amounts are decimal strings in major units (``"12345.67"``); ratios are
decimal strings rounded half-up to 6 places (``"0.012345"``), exact quotients of
the stored integer balances; counts are integers.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Annotated, Any

import typer

from postloan.cli import app
from postloan.domain.errors import NotFound

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from postloan.config import Settings

RATIO_PLACES = Decimal("0.000001")


def ratio(numerator: int, denominator: int) -> str:
    if denominator == 0:
        return "0.000000"
    value = Decimal(numerator) / Decimal(denominator)
    return str(value.quantize(RATIO_PLACES, rounding=ROUND_HALF_UP))


def money(minor: int) -> str:
    return str((Decimal(minor) / 100).quantize(Decimal("0.01")))


def kpi_document(rows: list[dict[str, Any]], business_date: date) -> dict[str, Any]:
    """The ``postloan kpi --json`` document from the stored KPI rows of one date."""
    by = {(r["kpi"], r["key"]): (int(r["count"]), int(r["balance"])) for r in rows}
    loans, balance = by[("total", "open")]
    npl_n, npl_b = by[("npl", "")]
    d90_n, d90_b = by[("dpd90", "")]
    wo_n, wo_b = by[("charged_off", "")]

    def group(kind: str) -> dict[str, dict[str, Any]]:
        return {
            key: {"count": n, "balance": money(b)} for (k, key), (n, b) in by.items() if k == kind
        }

    return {
        "date": business_date.isoformat(),
        "loans": loans,
        "loans_on_book": by[("total", "all")][0],
        "balance": money(balance),
        "npl_loans": npl_n,
        "npl_balance": money(npl_b),
        "npl_ratio": ratio(npl_b, balance),
        "dpd90_loans": d90_n,
        "dpd90_balance": money(d90_b),
        "dpd90_ratio": ratio(d90_b, balance),
        "charged_off": {"count": wo_n, "balance": money(wo_b)},
        "buckets": group("bucket"),
        "five_category": group("five_category"),
        "ifrs9_stages": group("ifrs9_stage"),
    }


@app.command("kpi")
def kpi_command(
    on: Annotated[
        str | None, typer.Option("--date", help="Business date (default: last closed)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    start: Annotated[str | None, typer.Option("--from", help="Series: first business date")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Series: last business date")] = None,
    by: Annotated[
        str | None,
        typer.Option("--by", help="Cut: product, branch, region, officer, vintage or channel"),
    ] = None,
) -> None:
    """Loans, balance, NPL and 90+ DPD ratios, bucket, class and IFRS 9 stage mix,
    roll and flow rates, vintages, cures, collections, alerts and ECL (docs/analytics.md)."""
    from postloan.batch.pipeline import last_closed_business_date
    from postloan.commands.eod import parse_date
    from postloan.config import load_settings
    from postloan.store.db import open_store

    if start is not None or end is not None or by is not None:
        _series(
            parse_date(start, "--from"), parse_date(end, "--to") or parse_date(on, "--date"), by
        )
        return
    business_date = parse_date(on, "--date")
    if business_date is None:
        store = open_store()
        try:
            with store.begin() as conn:
                business_date = last_closed_business_date(conn)
        finally:
            store.close()
        if business_date is None:
            raise NotFound("no business date has been closed yet; run `postloan eod --date D`")
    settings = load_settings()
    store = open_store(settings)
    try:
        with store.begin() as conn:
            doc = full_document(conn, settings, business_date)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    _print_tables(doc)


def full_document(conn: Connection, settings: Settings, business_date: date) -> dict[str, Any]:
    """The whole ``postloan kpi --json`` document of a closed date (also what
    ``GET /api/v1/kpis`` returns): the stored KPI rows, the collections block
    and the analytics block (keys already in the document keep their values)."""
    from postloan.collections.daily import load_collections_settings
    from postloan.collections.kpis import collection_kpis
    from postloan.store.snapshots import SnapshotStore

    rows = SnapshotStore(settings.snapshot_dir).read("kpi", business_date).to_dicts()
    doc = kpi_document(rows, business_date)
    doc.update(collection_kpis(conn, business_date, load_collections_settings(settings)))
    doc.update(_analytics_block(conn, settings, business_date, doc))
    return doc


def _analytics_block(
    conn: Connection, settings: Settings, business_date: date, base: dict[str, Any]
) -> dict[str, Any]:
    """Roll/flow rates, migrations, cures, vintages, ECL and coverage from the
    snapshots; contact, promise, recovery and alert figures from the store."""
    from postloan.analytics import operations
    from postloan.analytics.dashboard import load_context, snapshot_figures

    ctx = load_context(settings)
    if business_date not in set(ctx.snapshots.dates("loan_state")):
        return {}
    state = ctx.snapshots.read("loan_state", business_date)
    extra = snapshot_figures(ctx, business_date, state=state)
    extra.update(operations.contact_rates(conn, business_date))
    extra.update(operations.recovery_rate(conn, state))
    lf = ctx.snapshots.scan("loan_state").select("loan_id", "business_date", "days_past_due")
    extra.update(operations.alert_quality(conn, business_date, lf))
    extra["days_to_first_action_by_bucket"] = operations.days_to_first_action_by_bucket(
        conn, business_date
    )
    return {k: v for k, v in extra.items() if k not in base}


def _series(first: date | None, last: date | None, by: str | None) -> None:
    """``--from/--to/--by``: a JSON list of per-date (and per-cut) snapshot documents."""
    from postloan.analytics.dashboard import cut_values, load_context, snapshot_figures
    from postloan.analytics.kpis import check_cut
    from postloan.config import load_settings
    from postloan.domain.errors import ValidationError

    check_cut(by)
    if first is not None and last is not None and first > last:
        raise ValidationError("--from must not be after --to")
    ctx = load_context(load_settings())
    dates = [
        d
        for d in ctx.snapshots.dates("loan_state")
        if (first is None or d >= first) and (last is None or d <= last)
    ]
    if not dates:
        raise NotFound("no closed business date in that range; run `postloan eod` first")
    cuts = cut_values(ctx, by) if by else {}
    out: list[dict[str, Any]] = []
    for d in dates:
        if not by:
            out.append(snapshot_figures(ctx, d))
            continue
        state = ctx.snapshots.read("loan_state", d)
        for value, ids in cuts.items():
            keep = pl_is_in(ids)
            doc = snapshot_figures(ctx, d, state=state, keep=keep)
            out.append({"cut": {by: value}, **doc})
    typer.echo(json.dumps(out, ensure_ascii=False, indent=2))


def pl_is_in(ids: list[str]) -> Any:
    import polars as pl

    return pl.col("loan_id").is_in(ids)


def _print_tables(doc: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    head = Table("KPI", "value", title=f"portfolio on {doc['date']}")
    for key in ("loans", "balance", "npl_balance", "npl_ratio", "dpd90_balance", "dpd90_ratio"):
        head.add_row(key, str(doc[key]))
    console.print(head)
    for section in ("buckets", "five_category", "ifrs9_stages"):
        table = Table(section, "count", "balance")
        for key, cell in doc[section].items():
            table.add_row(key, str(cell["count"]), cell["balance"])
        console.print(table)
