"""`postloan import` then `postloan state`, through the real CLI, on SQLite and PostgreSQL.

Expected figures are worked out by hand from the rules (DESIGN.md), not from the code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REQUIRED = {
    "days_past_due",
    "overdue_since",
    "bucket",
    "classification",
    "ifrs9_stage",
    "principal_outstanding",
    "overdue_principal",
    "overdue_interest",
    "penalty_outstanding",
}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "postloan", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=False,
    )


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """Two interest-free loans of 1,200.00 over 12 months (100.00 a month, due on the 15th)."""
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    (feeds / "borrowers.csv").write_text(
        "borrower_id,name,national_id,phone,email,address,region,birth_date,"
        "monthly_income,employment,language\n"
        "B1,王芳,110101199001011234,13812345678,wf@example.com,北京市朝阳区1号,CN-11,"
        "1990-01-01,9000.00,employed,zh-CN\n",
        encoding="utf-8",
    )
    header = (
        "loan_id,borrower_id,product,principal,annual_rate,term,frequency,day_count,method,"
        "disbursement_date,first_due_date,officer_id,branch,currency\n"
    )
    (feeds / "loans.csv").write_text(
        header
        + "L1,B1,consumer,1200.00,0,12,monthly,30/360,annuity,2026-01-15,,OF1,BJ01,CNY\n"
        + "L2,B1,consumer,1200.00,0,12,monthly,30/360,annuity,2026-01-15,,OF1,BJ01,CNY\n",
        encoding="utf-8",
    )
    (feeds / "transactions.csv").write_text(
        "txn_id,loan_id,type,amount,value_date,channel\n"
        "T1,L1,repayment,100.00,2026-02-15,auto_debit\n"
        "T2,L1,repayment,100.00,2026-03-15,auto_debit\n"
        "T3,L2,repayment,100.00,2026-02-15,auto_debit\n",
        encoding="utf-8",
    )
    return feeds


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_state_after_import(book: Path, database_url: str) -> None:
    imported = run("import", str(book))
    assert imported.returncode == 0, imported.stderr

    # L1: Feb and Mar paid; Apr 15 is the oldest unpaid instalment.
    l1 = run("state", "L1", "--date", "2026-05-20", "--format", "json")
    assert l1.returncode == 0, l1.stderr
    state = json.loads(l1.stdout)
    assert REQUIRED <= state.keys()
    assert state["overdue_since"] == "2026-04-15"
    assert state["days_past_due"] == 35  # 15 Apr → 20 May
    assert state["bucket"] == "M2"  # 31–60
    assert state["classification"] == "special_mention"
    assert state["ifrs9_stage"] == 2  # more than 30 DPD
    assert state["principal_outstanding"] == "1000.00"
    assert state["overdue_principal"] == "200.00"  # Apr and May instalments
    assert state["overdue_interest"] == "0.00"
    assert state["penalty_outstanding"] == "0.00"  # penalty is a multiple of a 0% rate

    # L2: only Feb paid; overdue since 15 Mar; on 14 Jun that is 91 days.
    l2 = json.loads(run("state", "L2", "--date", "2026-06-14", "--format", "json").stdout)
    assert l2["days_past_due"] == 91
    assert l2["bucket"] == "M4"
    assert l2["classification"] == "substandard"
    assert l2["ifrs9_stage"] == 3

    # The day before: 90 days is not yet over 90.
    l2_90 = json.loads(run("state", "L2", "--date", "2026-06-13", "--format", "json").stdout)
    assert l2_90["days_past_due"] == 90
    assert l2_90["classification"] == "special_mention"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_state_errors_are_messages_not_tracebacks(book: Path, database_url: str) -> None:
    assert run("import", str(book)).returncode == 0
    unknown = run("state", "NOPE", "--date", "2026-05-20")
    assert unknown.returncode == 4
    assert "NOPE" in unknown.stderr and "Traceback" not in unknown.stderr
    bad_date = run("state", "L1", "--date", "20-05-2026")
    assert bad_date.returncode == 2
    assert "YYYY-MM-DD" in bad_date.stderr and "Traceback" not in bad_date.stderr
