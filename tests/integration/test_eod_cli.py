"""`postloan eod` and `postloan kpi` through the real CLI (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal

import pytest

from postloan.commands.demo import sample_feeds_dir
from postloan.commands.kpi import kpi_document, ratio

REQUIRED = {
    "date",
    "loans",
    "balance",
    "dpd90_ratio",
    "npl_ratio",
    "buckets",
    "five_category",
    "ifrs9_stages",
}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "postloan", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=False,
    )


@pytest.mark.usefixtures("database_url")
def test_eod_then_kpi() -> None:
    assert run("import", str(sample_feeds_dir())).returncode == 0
    missing = run("eod", "--to", "2026-10-07")
    assert missing.returncode != 0
    assert "--date YYYY-MM-DD" in missing.stderr
    assert run("kpi", "--json").returncode != 0  # nothing closed yet

    done = run("eod", "--date", "2026-10-06")
    assert done.returncode == 0, done.stderr
    logs = [json.loads(line) for line in done.stderr.splitlines()]
    assert [x["event"] for x in logs] == [
        "date_start",
        "partition_done",
        "snapshots_written",
        "timings",
        "date_done",
    ]
    more = run("eod", "--to", "2026-10-07")  # continues from the watermark
    assert more.returncode == 0, more.stderr
    lines = [json.loads(x) for x in more.stderr.splitlines()]
    assert [x["date"] for x in lines] == ["2026-10-07"] * 5
    assert [x["event"] for x in lines][-2:] == ["timings", "date_done"]
    assert lines[-2]["seconds"]["state"] >= 0 and "db:commit" in lines[-2]["seconds"]

    out = run("kpi", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert REQUIRED <= doc.keys()
    assert doc["date"] == "2026-10-07"
    assert doc["loans_on_book"] == 47
    assert 0 < doc["loans"] <= 47
    assert set(doc["buckets"]) == {"M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7+"}
    assert set(doc["five_category"]) == {
        "normal",
        "special_mention",
        "substandard",
        "doubtful",
        "loss",
    }
    assert set(doc["ifrs9_stages"]) == {"1", "2", "3"}
    assert sum(v["count"] for v in doc["buckets"].values()) == doc["loans"]
    total = sum(Decimal(v["balance"]) for v in doc["five_category"].values())
    assert total == Decimal(doc["balance"])
    npl = sum(
        Decimal(doc["five_category"][c]["balance"]) for c in ("substandard", "doubtful", "loss")
    )
    assert Decimal(doc["npl_ratio"]) == (npl / Decimal(doc["balance"])).quantize(Decimal("1e-6"))

    # the collections block: every loan that went delinquent was acted on the same day
    assert {"days_to_first_action", "ptp_kept_rate", "cure_rate", "cost_per_account"} <= set(doc)
    assert "champion_challenger" in doc
    first = doc["days_to_first_action"]
    assert first["without_action"] == 0 and first["p90"] in (0, None)

    earlier = json.loads(run("kpi", "--date", "2026-10-06", "--json").stdout)
    assert earlier["date"] == "2026-10-06"
    table = run("kpi")
    assert table.returncode == 0 and "npl_ratio" in table.stdout


def test_bad_options_are_clear_errors() -> None:
    bad = run("eod", "--date", "2026-13-01")
    assert bad.returncode != 0 and "not a date" in bad.stderr
    engine = run("eod", "--date", "2026-10-01", "--engine", "hadoop")
    assert engine.returncode != 0 and "local or spark" in engine.stderr


def test_kpi_document_ratios() -> None:
    assert ratio(1, 3) == "0.333333"
    assert ratio(2, 3) == "0.666667"
    assert ratio(5, 0) == "0.000000"
    rows = [
        {"kpi": "total", "key": "all", "count": 3, "balance": 300},
        {"kpi": "total", "key": "open", "count": 2, "balance": 300},
        {"kpi": "npl", "key": "", "count": 1, "balance": 100},
        {"kpi": "dpd90", "key": "", "count": 1, "balance": 100},
        {"kpi": "charged_off", "key": "", "count": 1, "balance": 50},
        {"kpi": "bucket", "key": "M0", "count": 2, "balance": 300},
    ]
    from datetime import date

    doc = kpi_document(rows, date(2026, 1, 2))
    assert doc["npl_ratio"] == "0.333333"
    assert doc["balance"] == "3.00"
    assert doc["buckets"] == {"M0": {"count": 2, "balance": "3.00"}}
    assert doc["charged_off"] == {"count": 1, "balance": "0.50"}
