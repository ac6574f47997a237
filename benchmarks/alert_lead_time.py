"""Acceptance: do the early-warning alerts lead the 90+ DPD event? (issue 5)

    .venv/bin/python benchmarks/alert_lead_time.py [--loans 5000] [--months 18]
        [--seed 11] [--train-months 12] [--home DIR] [--kind lgbm]

On a simulated book (``postloan.sim``), imported through the real feeds:

1. the close of business at every month-end of the window (SCORE and ALERTS
   off: the history the model learns from);
2. the B-scores (``bscore``; ``bscore180`` when the book has 6 more months)
   trained out of time on the month-end observations of months
   1..``--train-months`` (``postloan.risk.datasets.training_frame``, LightGBM),
   registered and made active; their AUC on the later matured month-ends next
   to the simulator's oracle (``truth.parquet``);
3. the close of business for every day of the later months, with SCORE and
   ALERTS on (the shipped rules);
4. from the alerts table and the daily ``loan_state`` snapshots: for loans that
   first reach 90+ DPD in the daily period, the median days from the first
   alert (of the ``LOOKBACK`` = 120 days before) to that date, over the loans whose
   first 90+ DPD comes at least 120 days after the first daily close; the share of performing loans
   (DPD 0 that day) alerted per month; precision = share of loans first alerted
   in the period (with ≥ 90 days of follow-up) that reach 90+ DPD within 90 days.
   The same figures for the "DPD>0 only" rule (an alert the day a loan becomes
   delinquent) as the baseline.

Figures are printed as JSON. On this machine the default (5,000 loans, 18
months: ~190 closes) takes a few minutes; ``--loans 1000 --months 15`` is a
quick check that the script is right.
"""

from __future__ import annotations

import argparse
import calendar
import json
import os
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl

#: Days before the first 90+ DPD in which an alert counts as leading it; only loans
#: whose first 90+ DPD is at least this long after the first daily close count.
LOOKBACK = 120


def month_ends(first: date, last: date) -> list[date]:
    out, y, m = [], first.year, first.month
    while True:
        d = date(y, m, calendar.monthrange(y, m)[1])
        if d > last:
            return out
        out.append(d)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def set_steps(settings: Any, disabled: list[str]) -> None:
    settings.config_file.parent.mkdir(parents=True, exist_ok=True)
    settings.config_file.write_text(
        "eod:\n  disabled: [" + ", ".join(disabled) + "]\n", encoding="utf-8"
    )


def train_bscore(
    store: Any, ends: list[date], train_months: int, kind: str, purpose: str = "bscore"
) -> dict[str, Any]:
    from postloan.batch.steps.features import CATEGORICAL, FEATURE_NAMES, MONOTONE
    from postloan.risk import registry
    from postloan.risk.datasets import out_of_time_split, training_frame
    from postloan.risk.metrics import evaluate
    from postloan.risk.models import train

    frame, target, meta = training_frame(store, purpose, (ends[0], ends[-1]))
    train_part, test_part = out_of_time_split(frame, ends[train_months - 1] + timedelta(days=1))
    model = train(
        train_part,
        target,
        kind=kind,  # type: ignore[arg-type]
        purpose=purpose,
        features=list(FEATURE_NAMES),
        monotone=MONOTONE,
        categorical=list(CATEGORICAL),
    )
    info: dict[str, Any] = {
        "train_rows": train_part.height,
        "train_bad_rate": round(float(train_part[target].mean() or 0), 4),
        "test_rows": test_part.height,
    }
    if test_part.height and test_part[target].n_unique() > 1:
        p = model.predict_proba(test_part)
        info["oot_auc"] = round(evaluate(test_part[target].to_numpy(), p).auc, 4)
    model_id = registry.register(
        store.settings,
        model,
        training_window=(ends[0], ends[train_months - 1]),
        data_hash=meta["data_hash"],
        metrics={k: v for k, v in info.items() if k == "oot_auc"},
        params={"kind": kind},
    )
    registry.set_active(store.settings, model_id, by="benchmark")
    info["model_id"] = model_id
    info["_test"] = test_part
    info["_target"] = target
    return info


def oracle_auc(
    feeds: Path, test: pl.DataFrame, target: str, truth_column: str = "pd_90dpd_90d"
) -> float | None:
    from postloan.risk.metrics import evaluate

    truth = pl.read_parquet(feeds / "truth.parquet").rename({"as_of": "business_date"})
    joined = test.select("loan_id", "business_date", target).join(
        truth.select("loan_id", "business_date", truth_column),
        on=["loan_id", "business_date"],
    )
    if joined.height == 0 or joined[target].n_unique() < 2:
        return None
    return round(evaluate(joined[target].to_numpy(), joined[truth_column].to_numpy()).auc, 4)


def lead_figures(
    first_alert: pl.DataFrame, states: pl.DataFrame, start: date, end: date
) -> dict[str, Any]:
    """Lead time, performing share alerted per month and precision of a set of
    alerts (loan_id, business_date) over the daily states of [start, end]."""
    dpd = states.select("loan_id", "business_date", "days_past_due")
    bad_at_start = dpd.filter((pl.col("business_date") == start) & (pl.col("days_past_due") >= 90))
    first90 = (
        dpd.filter(pl.col("days_past_due") >= 90)
        .join(bad_at_start, on="loan_id", how="anti")
        .group_by("loan_id")
        .agg(pl.col("business_date").min().alias("d90"))
    )
    eligible = first90.filter(pl.col("d90") >= start + timedelta(days=LOOKBACK))
    leads = (
        first_alert.join(eligible, on="loan_id")
        .filter(
            (pl.col("business_date") <= pl.col("d90"))
            & (pl.col("business_date") >= pl.col("d90") - timedelta(days=LOOKBACK))
        )
        .group_by("loan_id", "d90")
        .agg(pl.col("business_date").min().alias("first"))
        .with_columns((pl.col("d90") - pl.col("first")).dt.total_days().alias("lead"))
    )
    alerted = first_alert.join(dpd, on=["loan_id", "business_date"])
    per_month = []
    for m_end in month_ends(start, end):
        m_start = m_end.replace(day=1)
        perf = dpd.filter(
            (pl.col("business_date") == max(m_start, start)) & (pl.col("days_past_due") == 0)
        )
        hit = alerted.filter(
            (pl.col("business_date") >= m_start)
            & (pl.col("business_date") <= m_end)
            & (pl.col("days_past_due") == 0)
        ).join(perf.select("loan_id"), on="loan_id", how="semi")
        if perf.height:
            per_month.append(round(hit["loan_id"].n_unique() / perf.height, 4))
    firsts = first_alert.group_by("loan_id").agg(pl.col("business_date").min().alias("first"))
    mature = firsts.filter(pl.col("first") <= end - timedelta(days=90))
    hits = mature.join(first90, on="loan_id", how="left").filter(
        pl.col("d90").is_not_null()
        & (pl.col("d90") >= pl.col("first"))
        & (pl.col("d90") <= pl.col("first") + timedelta(days=90))
    )
    early = leads.join(
        dpd, left_on=["loan_id", "first"], right_on=["loan_id", "business_date"], how="left"
    ).filter(pl.col("days_past_due") == 0)
    lead_values = leads["lead"].to_list()
    return {
        "loans_reaching_90dpd": first90.height,
        "eligible_90dpd_loans": eligible.height,
        "alerted_before_90dpd": len(lead_values),
        "median_lead_days": statistics.median(lead_values) if lead_values else None,
        "first_alerted_while_performing": early.height,
        "median_lead_days_when_performing": (
            statistics.median(early["lead"].to_list()) if early.height else None
        ),
        "performing_alerted_share_per_month": per_month,
        "max_performing_alerted_share": max(per_month) if per_month else None,
        "precision_90d": round(hits.height / mature.height, 4) if mature.height else None,
        "alerted_loans": firsts.height,
    }


def close_and_train(args: Any, home: Path, settings: Any) -> dict[str, Any]:
    """Simulate, import, close the month-ends, train and activate the B-score,
    close every day of the later months; returns what the figures need."""
    from postloan.batch.pipeline import run_date
    from postloan.feeds.importer import import_directory
    from postloan.sim import load_config, simulate, write_feeds
    from postloan.store.db import open_store

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    result = simulate(load_config(None), loans=args.loans, months=args.months, seed=args.seed)
    feeds = home / "feeds"
    write_feeds(result, feeds, "parquet")
    first, last = result.truth["as_of"].min(), result.truth["as_of"].max()
    store = open_store(settings)
    import_directory(feeds, store)
    timings["simulate_import_s"] = round(time.perf_counter() - t0, 1)

    ends = month_ends(first, last)
    set_steps(settings, ["SCORE", "ALERTS", "STRATEGY"])
    t0 = time.perf_counter()
    for d in ends:
        run_date(store, d)
    timings["month_end_closes_s"] = round(time.perf_counter() - t0, 1)

    t0 = time.perf_counter()
    info = train_bscore(store, ends, args.train_months, args.kind)
    info["oracle_auc"] = oracle_auc(feeds, info.pop("_test"), info.pop("_target"))
    if len(ends) >= args.train_months + 6:  # 180-day outcomes of the training months
        more = train_bscore(store, ends, args.train_months, args.kind, "bscore180")
        more["oracle_auc"] = oracle_auc(
            feeds, more.pop("_test"), more.pop("_target"), "pd_90dpd_180d"
        )
        info = {"bscore": info, "bscore180": more}
    timings["train_s"] = round(time.perf_counter() - t0, 1)

    start = ends[args.train_months - 1] + timedelta(days=1)
    set_steps(settings, ["STRATEGY"])
    days = [start + timedelta(days=i) for i in range((last - start).days + 1)]
    t0 = time.perf_counter()
    for d in days:
        run_date(store, d)
    timings["daily_closes_s"] = round(time.perf_counter() - t0, 1)
    timings["per_daily_close_s"] = round(timings["daily_closes_s"] / max(len(days), 1), 2)
    store.close()
    return {"start": start.isoformat(), "last": last.isoformat(), "model": info, "timings": timings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loans", type=int, default=5000)
    parser.add_argument("--months", type=int, default=18)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--train-months", type=int, default=12)
    parser.add_argument("--kind", default="lgbm", choices=("lgbm", "scorecard"))
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument(
        "--metrics-only", action="store_true", help="Recompute the figures of a finished --home"
    )
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="postloan-leadtime-"))
    os.environ["POSTLOAN_HOME"] = str(home)

    from postloan.config import load_settings
    from postloan.store.db import open_store
    from postloan.store.snapshots import SnapshotStore

    saved = home / "leadtime.json"
    settings = load_settings()
    if args.metrics_only:
        run = json.loads(saved.read_text(encoding="utf-8"))
        store = open_store(settings)
    else:
        run = close_and_train(args, home, settings)
        saved.write_text(json.dumps(run, default=str), encoding="utf-8")
        store = open_store(settings)
    start, last = date.fromisoformat(run["start"]), date.fromisoformat(run["last"])
    info, timings = run["model"], run["timings"]

    states = (
        SnapshotStore(settings.snapshot_dir)
        .scan("loan_state", start, last)
        .select("loan_id", "business_date", "days_past_due")
        .collect()
    )
    with store.begin() as conn:
        alerts = pl.read_database("SELECT loan_id, business_date, rule_id FROM alerts", conn)
    if alerts.schema["business_date"] == pl.Utf8:  # SQLite keeps dates as text
        alerts = alerts.with_columns(pl.col("business_date").str.to_date())
    alerts = alerts.filter(pl.col("business_date") >= start)
    by_rule = alerts.group_by("rule_id").len().sort("rule_id")
    became_late = (
        states.sort("loan_id", "business_date")
        .with_columns(pl.col("days_past_due").shift(1).over("loan_id").alias("prev"))
        .filter((pl.col("days_past_due") > 0) & (pl.col("prev") == 0))
        .select("loan_id", "business_date")
    )
    report = {
        "loans": args.loans,
        "months": args.months,
        "seed": args.seed,
        "daily_period": [start.isoformat(), last.isoformat()],
        "model": info,
        "alerts": lead_figures(alerts.select("loan_id", "business_date"), states, start, last),
        "alerts_by_rule": dict(by_rule.iter_rows()),
        "baseline_dpd_gt_0": lead_figures(became_late, states, start, last),
        "timings": timings,
        "home": str(home),
    }
    store.close()
    print(json.dumps(report, indent=2, default=str))  # noqa: T201


if __name__ == "__main__":
    main()
