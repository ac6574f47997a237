"""The monthly post-loan report: one self-contained HTML page (inline SVG charts,
print styles), an xlsx workbook with every table, and one CSV per table.

Figures are those of ``postloan kpi`` on the month's last closed business date
(trend charts use every month-end up to it); league tables are ``postloan
scorecard``'s. Labels in zh-CN (default) or en.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from postloan.analytics import charts
from postloan.analytics.kpis import month_ends
from postloan.domain.errors import NotFound

TEMPLATES = Path(__file__).parent / "templates"

LABELS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "title": "贷后管理月报",
        "as_of": "数据日期",
        "generated": "生成时间",
        "portfolio": "资产质量",
        "migrations": "迁徙",
        "vintages": "账龄分析",
        "collections": "催收表现",
        "legal": "诉讼回收",
        "model": "模型与预警",
        "officers": "客户经理排名",
        "collectors": "催收员排名",
        "cost": "成本",
        "ecl": "预期信用损失 (IFRS 9)",
        "trend": "不良率与 90+ 逾期率趋势",
        "bucket_mix": "逾期分档余额",
        "vintage_chart": "30+@MOB（时点，余额 ÷ 放款额）",
        "kpi": "指标",
        "value": "数值",
        "print": "打印 / 另存为 PDF",
        "none": "暂无数据",
    },
    "en": {
        "title": "Monthly post-loan report",
        "as_of": "As of",
        "generated": "Generated",
        "portfolio": "Portfolio quality",
        "migrations": "Migrations",
        "vintages": "Vintages",
        "collections": "Collections performance",
        "legal": "Legal recoveries",
        "model": "Models and early warning",
        "officers": "Loan officer league table",
        "collectors": "Collector league table",
        "cost": "Cost",
        "ecl": "Expected credit loss (IFRS 9)",
        "trend": "NPL and 90+ DPD ratio trend",
        "bucket_mix": "Balance by delinquency bucket",
        "vintage_chart": "30+@MOB (point-in-time, balance ÷ originated)",
        "kpi": "KPI",
        "value": "Value",
        "print": "Print / save as PDF",
        "none": "No data",
    },
}


@dataclass(frozen=True, slots=True)
class Table:
    key: str
    section: str
    columns: list[str]
    rows: list[list[Any]]


def _matrix(name: str, section: str, doc: dict[str, Any] | None, which: str) -> Table:
    if not doc:
        return Table(name, section, ["from"], [])
    to = doc["to_states"]
    rows = [[f, *(doc[which][f][t] for t in to)] for f in doc["from_states"]]
    return Table(name, section, ["from", *to], rows)


def gather(settings: Any, last: date) -> tuple[date, dict[str, Any], list[Table], dict[str, Any]]:
    """The figures of the month's last closed date and every report table."""
    from postloan.analytics import operations
    from postloan.analytics.collectors import collector_scorecard
    from postloan.analytics.dashboard import load_context, snapshot_figures
    from postloan.collections.kpis import collection_kpis
    from postloan.commands.scorecard import officers
    from postloan.store.db import open_store

    ctx = load_context(settings)
    dates = [d for d in ctx.snapshots.dates("loan_state") if d <= last]
    if not dates or (dates[-1].year, dates[-1].month) != (last.year, last.month):
        raise NotFound(f"no closed business date in {last:%Y-%m}; run `postloan eod` first")
    on = dates[-1]
    state = ctx.snapshots.read("loan_state", on)
    doc = snapshot_figures(ctx, on, state=state)
    first = last.replace(day=1)
    store = open_store(settings)
    try:
        with store.begin() as conn:
            doc.update({k: v for k, v in collection_kpis(conn, on).items() if k not in doc})
            doc.update(operations.contact_rates(conn, on))
            doc.update(operations.recovery_rate(conn, state))
            lf = ctx.snapshots.scan("loan_state").select(
                "loan_id", "business_date", "days_past_due"
            )
            doc.update(operations.alert_quality(conn, on, lf))
            coll = collector_scorecard(conn, ctx.snapshots, first, last, ctx.buckets)
    finally:
        store.close()
    try:
        offs = officers(settings, last)
    except NotFound:
        offs = []
    trend = []
    for d in month_ends(dates):
        p = snapshot_figures_light(ctx, d)
        trend.append([d.isoformat(), p["npl_ratio"], p["dpd90_ratio"], p["balance"]])
    tables = build_tables(doc, offs, coll, trend)
    tables += model_tables(settings, ctx.snapshots, on)
    return on, doc, tables, {"trend": trend}


def model_tables(settings: Any, snapshots: Any, on: date) -> list[Table]:
    """Model health: the active models with their validation metrics, and the date's
    score band mix per purpose (from the ``scores`` snapshot)."""
    import polars as pl

    from postloan.risk.registry import list_models

    models = [m for m in list_models(settings) if m["active"]]
    rows = []
    for m in models:
        metrics = m.get("metrics") or {}
        flat = metrics.get("validation", metrics) if isinstance(metrics, dict) else {}
        flat = flat if isinstance(flat, dict) else {}
        rows.append(
            [
                m["purpose"],
                m["model_id"],
                m["kind"],
                m["created_at"],
                flat.get("auc"),
                flat.get("ks"),
            ]
        )
    out = [
        Table("models", "model", ["purpose", "model_id", "kind", "created_at", "auc", "ks"], rows)
    ]
    if on in set(snapshots.dates("scores")):
        bands = (
            snapshots.read("scores", on)
            .group_by("purpose", "band")
            .agg(pl.len().alias("loans"))
            .sort("purpose", "band")
        )
        out.append(
            Table(
                "score_bands",
                "model",
                ["purpose", "band", "loans"],
                [list(r) for r in bands.iter_rows()],
            )
        )
    else:
        out.append(Table("score_bands", "model", ["purpose", "band", "loans"], []))
    return out


def snapshot_figures_light(ctx: Any, on: date) -> dict[str, Any]:
    from postloan.analytics.kpis import portfolio

    return portfolio(ctx.snapshots.read("loan_state", on), ctx.buckets)


def build_tables(
    doc: dict[str, Any],
    offs: list[dict[str, Any]],
    coll: list[dict[str, Any]],
    trend: list[list[Any]],
) -> list[Table]:
    summary_keys = [
        "loans",
        "balance",
        "npl_balance",
        "npl_ratio",
        "dpd90_balance",
        "dpd90_ratio",
        "coverage",
        "recovery_rate",
        "litigation_recovery_rate",
        "ptp_rate",
        "ptp_kept_rate",
        "right_party_contact_rate",
        "cost_per_account",
        "cost_per_unit_recovered",
        "alert_precision",
    ]
    t = [
        Table("summary", "portfolio", ["kpi", "value"], [[k, doc.get(k)] for k in summary_keys]),
        Table("trend", "portfolio", ["month_end", "npl_ratio", "dpd90_ratio", "balance"], trend),
        Table(
            "buckets",
            "portfolio",
            ["bucket", "count", "balance"],
            [[k, v["count"], v["balance"]] for k, v in doc["buckets"].items()],
        ),
        Table(
            "five_category",
            "portfolio",
            ["class", "count", "balance"],
            [[k, v["count"], v["balance"]] for k, v in doc["five_category"].items()],
        ),
        _matrix("roll_rates_count", "migrations", doc.get("roll_rates"), "by_count"),
        _matrix("roll_rates_balance", "migrations", doc.get("roll_rates"), "by_balance"),
        _matrix("migration_matrix", "migrations", doc.get("migration_matrix"), "by_balance"),
        Table(
            "flow_rates",
            "migrations",
            ["flow", "rate"],
            [[k, v] for k, v in (doc.get("flow_rates") or {}).items()],
        ),
        Table(
            "cure_rates",
            "migrations",
            ["bucket", "loans", "cure_rate", "cured_by_restructuring"],
            [
                [k, v["loans"], v["cure_rate"], v["cured_by_restructuring"]]
                for k, v in (doc.get("cure_rates") or {}).items()
            ],
        ),
        Table(
            "vintages",
            "vintages",
            ["vintage", "mob", "dpd30_pit", "dpd30_ever", "dpd90_pit", "dpd90_ever"],
            [
                [v, p["mob"], p["dpd30_pit"], p["dpd30_ever"], p["dpd90_pit"], p["dpd90_ever"]]
                for v, item in (doc.get("vintages") or {}).items()
                for p in item["curve"]
            ],
        ),
        Table(
            "ecl",
            "portfolio",
            ["stage", "loans", "ead", "ecl"],
            [[s, v["loans"], v["ead"], v["ecl"]] for s, v in doc["ecl"]["by_stage"].items()]
            + [["total", "", "", doc["ecl"]["total"]]],
        ),
        Table(
            "collections",
            "collections",
            ["kpi", "value"],
            [
                ["days_to_first_action_median", doc["days_to_first_action"]["median"]],
                ["days_to_first_action_p90", doc["days_to_first_action"]["p90"]],
                ["ptp_rate", doc.get("ptp_rate")],
                ["ptp_kept_rate", doc.get("ptp_kept_rate")],
                ["right_party_contact_rate", doc.get("right_party_contact_rate")],
                ["cure_rate", doc.get("cure_rate")],
                ["recovered_amount", doc.get("recovered_amount")],
            ],
        ),
        Table(
            "legal",
            "legal",
            ["kpi", "value"],
            [
                ["litigation_recovery_rate", doc.get("litigation_recovery_rate")],
                ["recovery_rate", doc.get("recovery_rate")],
                ["recovered_after_write_off", doc.get("recovered_after_write_off")],
                *[[f"source:{k}", v] for k, v in (doc.get("recoveries_by_source") or {}).items()],
            ],
        ),
        Table(
            "model",
            "model",
            ["kpi", "value"],
            [
                ["alert_precision", doc.get("alert_precision")],
                ["alerted_loans", doc.get("alerted_loans")],
                ["alert_lead_time_median", doc["alert_lead_time"]["median"]],
                ["alert_lead_time_p90", doc["alert_lead_time"]["p90"]],
            ],
        ),
        Table(
            "officers",
            "officers",
            [
                "rank",
                "officer",
                "loans",
                "originated",
                "o_e_mob6",
                "o_e_mob12",
                "credible_o_e",
                "bonus_multiplier",
            ],
            [
                [
                    r["rank"],
                    r["officer"],
                    r["loans"],
                    r["originated"],
                    r["mob6"]["o_e"],
                    r["mob12"]["o_e"],
                    r["credible_o_e"],
                    r["bonus_multiplier"],
                ]
                for r in offs
            ],
        ),
        Table(
            "collectors",
            "collectors",
            [
                "rank",
                "collector",
                "loans",
                "balance_assigned",
                "recovered",
                "recovery_index",
                "cure_rate",
                "roll_back_rate",
                "ptp_kept_rate",
                "right_party_contact_rate",
                "conduct_breaches_attempted",
            ],
            [
                [
                    r["rank"],
                    r["collector"],
                    r["loans"],
                    r["balance_assigned"],
                    r["recovered"],
                    r["recovery_index"],
                    r["cure_rate"],
                    r["roll_back_rate"],
                    r["ptp_kept_rate"],
                    r["right_party_contact_rate"],
                    r["conduct_breaches_attempted"],
                ]
                for r in coll
            ],
        ),
        Table(
            "cost",
            "cost",
            ["kpi", "value"],
            [
                ["cost", doc.get("cost")],
                ["accounts_actioned", doc.get("accounts_actioned")],
                ["cost_per_account", doc.get("cost_per_account")],
                ["cost_per_unit_recovered", doc.get("cost_per_unit_recovered")],
            ],
        ),
    ]
    return t


def _charts(doc: dict[str, Any], trend: list[list[Any]], labels: dict[str, str]) -> list[str]:
    out = [
        charts.line_chart(
            labels["trend"],
            [r[0] for r in trend],
            {
                "NPL": [float(Decimal(r[1])) for r in trend],
                "90+": [float(Decimal(r[2])) for r in trend],
            },
            percent=True,
        ),
        charts.bar_chart(
            labels["bucket_mix"],
            list(doc["buckets"]),
            [float(Decimal(v["balance"])) for v in doc["buckets"].values()],
        ),
    ]
    vint = doc.get("vintages") or {}
    if vint:
        mobs = sorted({p["mob"] for v in vint.values() for p in v["curve"]})
        series: dict[str, Sequence[float | None]] = {}
        for name, item in list(vint.items())[-8:]:
            got = {p["mob"]: float(Decimal(p["dpd30_pit"])) for p in item["curve"]}
            series[name] = [got.get(m) for m in mobs]
        out.append(charts.line_chart(labels["vintage_chart"], [str(m) for m in mobs], series, True))
    return out


def build_monthly(settings: Any, first: date, last: date, out: Path, lang: str) -> list[Path]:
    """Write report.html, report.xlsx and tables/<name>.csv under ``out``."""
    on, doc, tables, extra = gather(settings, last)
    labels = LABELS[lang]
    out.mkdir(parents=True, exist_ok=True)
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["j2"]))
    html = env.get_template("report.html.j2").render(
        lang=lang,
        t=labels,
        month=f"{first:%Y-%m}",
        on=on.isoformat(),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        sections=[
            "portfolio",
            "migrations",
            "vintages",
            "collections",
            "legal",
            "model",
            "officers",
            "collectors",
            "cost",
        ],
        tables=tables,
        charts=_charts(doc, extra["trend"], labels),
    )
    page = out / "report.html"
    page.write_text(html, encoding="utf-8")
    book = out / "report.xlsx"
    write_xlsx(tables, book)
    csv_dir = out / "tables"
    csv_dir.mkdir(exist_ok=True)
    paths = [page, book]
    for table in tables:
        path = csv_dir / f"{table.key}.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(table.columns)
            writer.writerows(table.rows)
        paths.append(path)
    return paths


def write_xlsx(tables: list[Table], path: Path) -> None:
    """One sheet per table; figures are written as the same strings as the JSON/CSV."""
    from openpyxl import Workbook  # type: ignore[import-untyped]

    wb = Workbook()
    wb.remove(wb.active)
    for table in tables:
        ws = wb.create_sheet(table.key[:31])
        ws.append(table.columns)
        for row in table.rows:
            ws.append([("" if v is None else v) for v in row])
    wb.save(path)
