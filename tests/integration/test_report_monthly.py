"""`postloan report monthly` and `postloan scorecard` through the CLI on the sample
book; the HTML report renders in headless Chromium with no console errors and is
screenshotted to test-artifacts/screenshots/."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from postloan.commands.demo import sample_feeds_dir

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "postloan", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=False,
    )


@pytest.fixture(scope="module")
def closed_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("report-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("POSTLOAN_HOME", str(home))
        mp.delenv("POSTLOAN_DATABASE_URL", raising=False)
        assert run("import", str(sample_feeds_dir())).returncode == 0
        for day in ("2026-09-30", "2026-10-07"):
            done = run("eod", "--date", day)
            assert done.returncode == 0, done.stderr
    return home


@pytest.fixture
def home(closed_book: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("POSTLOAN_HOME", str(closed_book))
    monkeypatch.delenv("POSTLOAN_DATABASE_URL", raising=False)
    return closed_book


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_monthly_report_files_and_render(home: Path, tmp_path: Path, lang: str) -> None:
    out = tmp_path / "report"
    done = run("report", "monthly", "--month", "2026-10", "--out", str(out), "--lang", lang)
    assert done.returncode == 0, done.stderr
    html = (out / "report.html").read_text(encoding="utf-8")
    assert ("贷后管理月报" in html) == (lang == "zh-CN")
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")
    assert html.count("<svg") >= 2

    kpi = json.loads(run("kpi", "--date", "2026-10-07", "--json").stdout)
    with (out / "tables" / "summary.csv").open(encoding="utf-8") as fh:
        summary = {r["kpi"]: r["value"] for r in csv.DictReader(fh)}
    assert summary["npl_ratio"] == kpi["npl_ratio"]
    assert summary["coverage"] == kpi["coverage"]

    from openpyxl import load_workbook

    wb = load_workbook(out / "report.xlsx", read_only=True)
    assert {"summary", "roll_rates_count", "vintages", "officers", "ecl"} <= set(wb.sheetnames)
    csvs = {p.stem for p in (out / "tables").glob("*.csv")}
    assert csvs == set(wb.sheetnames)

    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: `apt-get install chromium`")
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((out / "report.html").as_uri())
        assert page.locator("section#officers table").count() == 1
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"report-monthly-{lang}.png"), full_page=True)
        pdf = page.pdf()  # the print path works
        browser.close()
    assert errors == []
    assert pdf[:4] == b"%PDF"


def test_scorecards_and_errors(home: Path) -> None:
    got = run("scorecard", "officers", "--period", "2026-10", "--json")
    assert got.returncode == 0, got.stderr
    doc = json.loads(got.stdout)
    ranks = [r["rank"] for r in doc["rows"]]
    assert ranks == list(range(1, len(ranks) + 1)) and ranks
    assert sum(r["loans"] for r in doc["rows"]) == 47
    coll = run("scorecard", "collectors", "--period", "2026-10", "--json")
    assert coll.returncode == 0 and json.loads(coll.stdout)["kind"] == "collectors"
    no_scores = run("scorecard", "officers", "--period", "2026-10", "--expected", "bscore")
    assert no_scores.returncode == 4 and "no B-scores" in no_scores.stderr
    bad = run("scorecard", "officers", "--period", "2026-13")
    assert bad.returncode == 2 and "YYYY-MM" in bad.stderr
    none = run("report", "monthly", "--month", "2025-01", "--out", str(home / "x"))
    assert none.returncode == 4 and "no closed business date" in none.stderr
