"""`postloan kpi` analytics keys and cuts through the real CLI, checked against raw
Parquet snapshots read directly (a second way)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from postloan.analytics.kpis import ratio
from postloan.commands.demo import sample_feeds_dir

NEW_KEYS = {
    "roll_rates",
    "flow_rates",
    "migration_matrix",
    "cure_rates",
    "vintages",
    "ecl",
    "coverage",
    "ptp_rate",
    "right_party_contact_rate",
    "recovery_rate",
    "alert_precision",
    "alert_lead_time",
    "litigation_recovery_rate",
    "cost_per_unit_recovered",
    "days_to_first_action",
}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "postloan", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=False,
    )


def state_of(day: str) -> pl.DataFrame:
    home = Path(os.environ["POSTLOAN_HOME"])
    files = list(home.rglob(f"loan_state/business_date={day}/*.parquet"))
    assert files, "the loan_state snapshot exists"
    return pl.read_parquet(files[0])


@pytest.mark.usefixtures("database_url")
def test_kpi_analytics_keys_series_and_cuts() -> None:
    assert run("import", str(sample_feeds_dir())).returncode == 0
    for day in ("2026-09-30", "2026-10-07"):
        done = run("eod", "--date", day)
        assert done.returncode == 0, done.stderr
    out = run("kpi", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert NEW_KEYS <= doc.keys()
    roll = doc["roll_rates"]
    assert (roll["from"], roll["to"]) == ("2026-09-30", "2026-10-07")

    # second way: the roll matrix by count straight from the two Parquet partitions
    before = state_of("2026-09-30").to_dicts()
    after = {r["loan_id"]: r for r in state_of("2026-10-07").to_dicts()}
    n: dict[str, int] = defaultdict(int)
    cells: dict[tuple[str, str], int] = defaultdict(int)
    for r in before:
        if r["status"] == "charged_off" or (
            r["status"] == "closed" and r["principal_outstanding"] <= 0
        ):
            continue
        t = after[r["loan_id"]]
        to = (
            "closed" if t["status"] == "closed" and t["principal_outstanding"] <= 0 else t["bucket"]
        )
        n[r["bucket"]] += 1
        cells[(r["bucket"], to)] += 1
    for (f, t), k in cells.items():
        assert roll["by_count"][f][t] == ratio(k, n[f])
    assert roll["base"]["M0"]["count"] == n["M0"]

    total_ecl = sum(Decimal(v["ecl"]) for v in doc["ecl"]["by_stage"].values())
    assert total_ecl == Decimal(doc["ecl"]["total"]) > 0
    npl = Decimal(doc["npl_balance"])
    assert Decimal(doc["coverage"]) == (total_ecl / npl).quantize(Decimal("1e-6"))
    assert doc["vintages"], "vintage curves from the book mirror"

    series = run("kpi", "--from", "2026-09-01", "--to", "2026-10-31", "--json")
    assert series.returncode == 0, series.stderr
    docs = json.loads(series.stdout)
    assert [d["date"] for d in docs] == ["2026-09-30", "2026-10-07"]
    assert docs[-1]["npl_ratio"] == doc["npl_ratio"]

    cuts = run("kpi", "--from", "2026-10-07", "--to", "2026-10-07", "--by", "product", "--json")
    assert cuts.returncode == 0, cuts.stderr
    per = json.loads(cuts.stdout)
    assert all(set(d["cut"]) == {"product"} for d in per)
    assert sum(d["loans"] for d in per) == doc["loans"]
    assert sum(Decimal(d["balance"]) for d in per) == Decimal(doc["balance"])

    officers = run("kpi", "--from", "2026-10-07", "--to", "2026-10-07", "--by", "officer", "--json")
    assert officers.returncode == 0, officers.stderr
    per_officer = json.loads(officers.stdout)
    assert len(per_officer) > 1
    assert sum(Decimal(d["npl_balance"]) for d in per_officer) == Decimal(doc["npl_balance"])

    bad = run("kpi", "--from", "2026-10-07", "--by", "colour", "--json")
    assert bad.returncode == 2 and "--by must be one of" in bad.stderr
