"""``postloan kpi``: the portfolio KPIs of a closed business date.

JSON: amounts are decimal strings in major units (``"12345.67"``); ratios are
decimal strings rounded half-up to 6 places (``"0.012345"``), exact quotients of
the stored integer balances; counts are integers.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

import typer

from postloan.cli import app
from postloan.domain.errors import NotFound

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
) -> None:
    """Loans, balance, NPL and 90+ DPD ratios, bucket, class and IFRS 9 stage mix."""
    from postloan.batch.pipeline import last_closed_business_date
    from postloan.commands.eod import parse_date
    from postloan.config import load_settings
    from postloan.store.db import open_store
    from postloan.store.snapshots import SnapshotStore

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
    snapshots = SnapshotStore(load_settings().snapshot_dir)
    rows = snapshots.read("kpi", business_date).to_dicts()
    doc = kpi_document(rows, business_date)
    doc.update(_collections_block(business_date))
    if as_json:
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    _print_tables(doc)


def _collections_block(business_date: date) -> dict[str, Any]:
    """Days to first action, promise-kept, cure and cost figures, and the
    champion/challenger comparison, from the operational store."""
    from postloan.collections.kpis import collection_kpis
    from postloan.store.db import open_store

    store = open_store()
    try:
        with store.begin() as conn:
            return collection_kpis(conn, business_date)
    finally:
        store.close()


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
