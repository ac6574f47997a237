"""The dashboard's figures are the analytics functions': its NPL and 90+ ratios equal
``postloan kpi --json`` (``commands.kpi.full_document``) of the same date, for the
whole book and, for a cut, a second count from the raw loan-state snapshot."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from api_fixtures import T0, Api, make_api, write_test_config
from test_web_pages import PASSWORD, login

from postloan.batch.pipeline import run_range
from postloan.commands.demo import sample_feeds_dir
from postloan.commands.kpi import full_document
from postloan.feeds.importer import import_directory
from postloan.security.config import load_security_policy
from postloan.security.users import add_user
from postloan.store.snapshots import SnapshotStore
from postloan.web import dashboard_view

# across a month-end, so the roll rates run from the previous month-end to the date
DATES = [date(2026, 9, 29) + timedelta(days=i) for i in range(4)]


@pytest.fixture
def book(database_url: str, postloan_home: Path) -> Iterator[Api]:
    write_test_config(postloan_home)
    dashboard_view.clear()
    for api in make_api(database_url):
        import_directory(sample_feeds_dir(), api.store)
        run_range(api.store, DATES)
        with api.store.begin() as conn:
            add_user(
                conn,
                username="rm",
                role="risk_manager",
                password=PASSWORD,
                policy=load_security_policy(api.store.settings),
                now=T0,
            )
        yield api
    dashboard_view.clear()


def _ratios(page: str) -> tuple[str, str]:
    npl = re.search(r'data-testid="npl" data-ratio="([\d.]+)"', page)
    d90 = re.search(r'data-testid="dpd90" data-ratio="([\d.]+)"', page)
    assert npl is not None and d90 is not None, page[:2000]
    return npl.group(1), d90.group(1)


def _chart(page: str, name: str) -> dict[str, Any]:
    found = re.search(rf"id=\"chart-{name}\" data-chart='([^']+)'", page)
    assert found is not None, name
    option: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return option


def _ratio(numerator: int, denominator: int) -> str:
    if not denominator:
        return "0.000000"
    q = Decimal(numerator) / Decimal(denominator)
    return str(q.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP))


def test_dashboard_ratios_equal_the_kpi_document(book: Api) -> None:
    on = DATES[-1]
    with book.store.begin() as conn:
        doc = full_document(conn, book.store.settings, on)
    login(book, "rm")
    page = book.client.get("/").text
    assert _ratios(page) == (doc["npl_ratio"], doc["dpd90_ratio"])
    trend = _chart(page, "trend")
    assert trend["xAxis"]["data"] == [d.isoformat() for d in DATES]
    assert trend["series"][0]["data"][-1] == round(float(doc["npl_ratio"]) * 100, 2)
    # the heat map is the document's roll-rate matrix (previous month-end → the date)
    rolls = doc["roll_rates"]
    assert rolls is not None and rolls["from"] == "2026-09-30"
    heat = _chart(page, "rolls")
    assert heat["yAxis"]["data"] == rolls["from_states"]
    cells = {
        (heat["xAxis"]["data"][x], heat["yAxis"]["data"][y]): v
        for x, y, v in heat["series"][0]["data"]
    }
    for src, line in rolls["by_count"].items():
        for to, share in line.items():
            if Decimal(share) > 0:
                assert cells[(to, src)] == round(float(share) * 100, 2)
    buckets = _chart(page, "buckets")
    assert buckets["xAxis"]["data"] == list(doc["buckets"])
    _a_cut_counts_only_its_loans(book)  # same book: one close of business for both


def _a_cut_counts_only_its_loans(book: Api) -> None:
    on = DATES[-1]
    with book.store.begin() as conn:
        products = [r[0] for r in conn.exec_driver_sql("SELECT DISTINCT product FROM loans")]
        ids = [
            r[0]
            for r in conn.exec_driver_sql(
                "SELECT loan_id FROM loans WHERE product = ?"
                if book.store.engine.dialect.name == "sqlite"
                else "SELECT loan_id FROM loans WHERE product = %s",
                (products[0],),
            )
        ]
    # second way: straight from the raw snapshot of the date
    state = SnapshotStore(book.store.settings.snapshot_dir).read("loan_state", on)
    mine = state.filter(
        pl.col("loan_id").is_in(ids) & ~pl.col("status").is_in(["charged_off", "closed"])
    )
    total = int(mine["principal_outstanding"].sum() or 0)
    npl = int(
        mine.filter(pl.col("classification").is_in(["substandard", "doubtful", "loss"]))[
            "principal_outstanding"
        ].sum()
        or 0
    )
    page = book.client.get(f"/?by=product&value={products[0]}").text
    assert _ratios(page)[0] == _ratio(npl, total)
    assert f'data-testid="cut">产品 = {products[0]}<' in page
    # a value of another cut field falls back to the whole book, a bad field is refused
    whole = book.client.get("/").text
    assert _ratios(book.client.get("/?by=region&value=" + products[0]).text) == _ratios(whole)
    assert book.client.get("/?by=colour").status_code == 422
