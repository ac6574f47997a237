"""``postloan scorecard officers|collectors --period YYYY-MM``: league tables of a month.

Officers: risk-adjusted vintage quality (O/E at MOB 6 and 12, credibility-weighted)
and the incentive multiplier, over the loans' month-end snapshots up to the end of
the period. Collectors: recovery and cures against their case difficulty in the
period. Definitions: docs/analytics.md.
"""

from __future__ import annotations

import json
from calendar import monthrange
from datetime import date
from typing import Annotated, Any

import typer

from postloan.cli import app
from postloan.domain.errors import NotFound, ValidationError

KINDS = ("officers", "collectors")


def parse_period(text: str) -> tuple[date, date]:
    """``YYYY-MM`` → the month's first and last day."""
    try:
        year, month = (int(x) for x in text.split("-"))
        first = date(year, month, 1)
    except ValueError:
        raise ValidationError(f"--period must look like YYYY-MM, not {text!r}") from None
    return first, date(year, month, monthrange(year, month)[1])


def first_bscores(settings: Any, last: date) -> Any:
    """``loan_id, pd``: each loan's first B-score probability on or before ``last``
    (``loan_scores``), or None when no loan has one."""
    import polars as pl
    from sqlalchemy import func, select

    from postloan.store.db import open_store
    from postloan.store.tables import Base

    scores = Base.metadata.tables["loan_scores"]
    store = open_store(settings)
    try:
        with store.begin() as conn:
            first = (
                select(scores.c.loan_id, func.min(scores.c.business_date).label("d"))
                .where(scores.c.purpose == "bscore", scores.c.business_date <= last)
                .group_by(scores.c.loan_id)
                .subquery()
            )
            rows = conn.execute(
                select(scores.c.loan_id, scores.c.probability)
                .join(
                    first,
                    (first.c.loan_id == scores.c.loan_id) & (first.c.d == scores.c.business_date),
                )
                .where(scores.c.purpose == "bscore")
            ).all()
    finally:
        store.close()
    if not rows:
        return None
    return pl.DataFrame(
        [(r[0], float(r[1])) for r in rows],
        schema={"loan_id": pl.Utf8, "pd": pl.Float64},
        orient="row",
    ).unique("loan_id")


def officers(settings: Any, last: date, expected: str = "segment") -> list[dict[str, Any]]:
    import polars as pl

    from postloan.analytics.kpis import month_ends
    from postloan.analytics.scorecards import IncentiveFormula, officer_scorecard
    from postloan.batch.book import book_dir
    from postloan.policy_config import read_config
    from postloan.store.snapshots import SnapshotStore

    snaps = SnapshotStore(settings.snapshot_dir)
    ends = month_ends(d for d in snaps.dates("loan_state") if d <= last)
    if not ends:
        raise NotFound(f"no closed business date up to {last}; run `postloan eod` first")
    files = sorted(book_dir(settings.home).glob("part-*/loans.parquet"))
    if not files:
        raise NotFound("no book mirror; run `postloan import FEEDS/` first")
    loans = pl.scan_parquet(files).filter(pl.col("disbursement_date") <= last)
    perf = (
        snaps.scan("loan_state", ends[0], ends[-1])
        .filter(pl.col("business_date").is_in(ends))
        .select("loan_id", "business_date", "days_past_due")
    )
    cfg = (read_config(settings.config_file).get("analytics") or {}).get("incentive")
    pds = first_bscores(settings, last) if expected == "bscore" else None
    if expected == "bscore" and pds is None:
        raise NotFound("no B-scores stored yet; use --expected segment or activate a B-score model")
    return officer_scorecard(loans, perf, IncentiveFormula.from_config(cfg), expected_pd=pds)


def collectors(settings: Any, first: date, last: date) -> list[dict[str, Any]]:
    from postloan.analytics.collectors import collector_scorecard
    from postloan.policy_config import load_policy
    from postloan.store.db import open_store
    from postloan.store.snapshots import SnapshotStore

    buckets = [b.label for b in load_policy(settings).buckets.buckets]
    store = open_store(settings)
    try:
        with store.begin() as conn:
            return collector_scorecard(
                conn, SnapshotStore(settings.snapshot_dir), first, last, buckets
            )
    finally:
        store.close()


@app.command("scorecard")
def scorecard_command(
    kind: Annotated[str, typer.Argument(help="officers or collectors")],
    period: Annotated[str, typer.Option("--period", help="Month, YYYY-MM")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    expected: Annotated[
        str,
        typer.Option(
            "--expected",
            help="Officers' expected delinquency: segment (product x region x channel "
            "bad rate) or bscore (each loan's first B-score)",
        ),
    ] = "segment",
) -> None:
    """Officer or collector league table of a month (risk- and difficulty-adjusted)."""
    from postloan.config import load_settings

    if kind not in KINDS:
        raise ValidationError(f"scorecard kind must be officers or collectors, not {kind!r}")
    first, last = parse_period(period)
    settings = load_settings()
    if expected not in ("segment", "bscore"):
        raise ValidationError(f"--expected must be segment or bscore, not {expected!r}")
    if kind == "officers":
        rows = officers(settings, last, expected)
    else:
        rows = collectors(settings, first, last)
    doc = {"kind": kind, "period": period, "rows": rows}
    if as_json:
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    if kind == "officers":
        cols = ["rank", "officer", "loans", "originated", "credible_o_e", "bonus_multiplier"]
    else:
        cols = ["rank", "collector", "loans", "recovered", "recovery_index", "cure_rate"]
    table = Table(*cols, title=f"{kind} {period}")
    for row in rows:
        table.add_row(*(str(row.get(c)) for c in cols))
    Console().print(table)
