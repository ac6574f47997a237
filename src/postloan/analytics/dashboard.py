"""The whole KPI document of a business date (``postloan kpi --json``) and its cuts.

Snapshot figures (portfolio, roll and flow rates, migrations, cures, vintages,
ECL) come from Parquet; collection and alert figures from the database.
Transitions compare the last snapshot of the previous calendar month with the
date itself (month-end to month-end when the date is a month-end).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from postloan.analytics import kpis
from postloan.analytics.ecl import EclSettings, ecl_document, loan_ecl, score_pd
from postloan.store.snapshots import SnapshotStore

MAX_VINTAGE_MONTHS = 36


@dataclass(frozen=True, slots=True)
class Context:
    snapshots: SnapshotStore
    buckets: list[str]
    attrs: pl.LazyFrame | None
    ecl: EclSettings


def load_context(settings: Any) -> Context:
    """Snapshots, configured bucket labels, loan attributes and ECL settings."""
    from postloan.domain.errors import NotFound
    from postloan.policy_config import load_policy, read_config

    policy = load_policy(settings)
    buckets = [b.label for b in policy.buckets.buckets]
    ecl_cfg = (read_config(settings.config_file).get("analytics") or {}).get("ecl")
    try:
        attrs: pl.LazyFrame | None = kpis.book_attributes(settings.home).collect().lazy()
    except NotFound:  # no book mirror: cuts and vintages are unavailable
        attrs = None
    return Context(
        SnapshotStore(settings.snapshot_dir), buckets, attrs, EclSettings.from_config(ecl_cfg)
    )


def previous_month_end(dates: Sequence[date], on: date) -> date | None:
    earlier = [d for d in dates if (d.year, d.month) < (on.year, on.month)]
    return max(earlier) if earlier else None


def snapshot_figures(
    ctx: Context, on: date, *, state: pl.DataFrame | None = None, keep: pl.Expr | None = None
) -> dict[str, Any]:
    """Every snapshot KPI of ``on``; ``keep`` filters loans (a cut) by loan_id."""
    snaps = ctx.snapshots
    dates = [d for d in snaps.dates("loan_state") if d <= on]
    if state is None:
        state = snaps.read("loan_state", on)
    if keep is not None:
        state = state.filter(keep)
    doc: dict[str, Any] = {"date": on.isoformat()}
    if keep is None and on in set(snaps.dates("kpi")):
        from postloan.commands.kpi import kpi_document  # the stored KPI rows: no recount

        stored = kpi_document(snaps.read("kpi", on).to_dicts(), on)
        doc.update({k: v for k, v in stored.items() if k != "date"})
    else:
        doc.update(kpis.portfolio(state, ctx.buckets))
    prev = previous_month_end(dates, on)
    if prev is not None:
        before = (
            snaps.scan("loan_state", prev, prev)
            .select("loan_id", "status", "bucket", "classification", "principal_outstanding")
            .collect()
        )
        if keep is not None:
            before = before.filter(keep)
        joined = kpis.pairs(before, state)
        doc["roll_rates"] = {
            "from": prev.isoformat(),
            "to": on.isoformat(),
            **kpis.transition_matrix(joined, None, "bucket", ctx.buckets),
        }
        kpi_dates = set(snaps.dates("kpi"))
        if keep is None and {prev, on} <= kpi_dates:
            doc["flow_rates"] = kpis.flow_rates_from_kpi(
                snaps.read("kpi", prev), snaps.read("kpi", on), ctx.buckets
            )
        else:
            doc["flow_rates"] = kpis.flow_rates(before, state, ctx.buckets)
        doc["migration_matrix"] = kpis.transition_matrix(
            joined, None, "classification", kpis.CATEGORIES
        )
        doc["cure_rates"] = kpis.cure_rates(joined, None, ctx.buckets)
    else:
        doc.update(roll_rates=None, flow_rates=None, migration_matrix=None, cure_rates=None)
    if ctx.attrs is not None:
        ends = kpis.month_ends(dates)
        ends = [d for d in ends if d != on][-MAX_VINTAGE_MONTHS + 1 :] + [on]
        lf = snaps.scan("loan_state", ends[0], on).select(
            "loan_id", "business_date", "days_past_due", "principal_outstanding", "status"
        )
        attrs = ctx.attrs
        if keep is not None:
            lf = lf.filter(keep)
            attrs = attrs.filter(keep)
        doc["vintages"] = kpis.vintage_document(kpis.vintage_table(lf, attrs, ends))
    else:
        doc["vintages"] = None
    scores = snaps.read("scores", on) if on in set(snaps.dates("scores")) else None
    ecl = ecl_document(loan_ecl(state, ctx.ecl, score_pd(scores)))
    ecl.pop("_ecl_minor")
    doc.update(ecl)
    return doc


def cut_values(ctx: Context, by: str) -> dict[str, list[str]]:
    """``{value: [loan ids]}`` of a cut field."""
    from postloan.domain.errors import NotFound

    if ctx.attrs is None:
        raise NotFound("cuts need the book mirror; run `postloan import FEEDS/` first")
    frame = (
        ctx.attrs.select("loan_id", pl.col(by).fill_null("(none)").alias("v"))
        .group_by("v")
        .agg(pl.col("loan_id"))
        .sort("v")
        .collect()
    )
    return dict(frame.iter_rows())
