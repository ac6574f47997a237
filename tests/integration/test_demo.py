"""`postloan demo --no-serve` on the embedded sample book."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date
from decimal import Decimal
from fractions import Fraction

from postloan.analytics.portfolio import summarise
from postloan.domain.calendar import Frequency
from postloan.domain.daycount import DayCount
from postloan.domain.loan_state import loan_state_as_of
from postloan.domain.schedule import LoanTerms, Method, generate_schedule
from postloan.domain.transactions import Transaction, TxnType


def test_demo_summary_is_stable_across_reruns() -> None:
    cmd = [sys.executable, "-m", "postloan", "demo", "--no-serve", "--sample"]
    first = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy(), check=False)
    assert first.returncode == 0, first.stderr
    assert "NPL ratio" in first.stdout and "90+ DPD ratio" in first.stdout
    match = re.search(r"Portfolio on 2026-10-31: (\d+) open loans", first.stdout)
    assert match and 0 < int(match.group(1)) <= 47
    assert "close of business" in first.stdout
    assert "demo_collector" in first.stdout and "demo_auditor" in first.stdout  # logins
    second = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy(), check=False)
    assert second.returncode == 0, second.stderr
    summary = re.compile(r"Portfolio on .*", re.S)
    assert summary.search(first.stdout).group(0) == summary.search(second.stdout).group(0)


def test_demo_on_a_small_simulated_book() -> None:
    cmd = [
        sys.executable,
        "-m",
        "postloan",
        "demo",
        "--no-serve",
        "--loans",
        "400",
        "--months",
        "9",
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy(), check=False)
    assert run.returncode == 0, run.stderr
    assert "simulated 400 loans" in run.stdout
    assert re.search(r"Portfolio on \d{4}-\d{2}-\d{2}: \d+ open loans", run.stdout)
    assert re.search(r"NPL ratio .* \d+\.\d\d%", run.stdout)
    # the import went through the real path with nothing rejected
    assert "rejected file" not in run.stdout and "quarantine:" not in run.stdout


def _loan(paid_months: int) -> tuple[LoanTerms, list[Transaction]]:
    terms = LoanTerms(
        principal=120_000,
        annual_rate=Decimal(0),
        term=12,
        frequency=Frequency.parse("monthly"),
        day_count=DayCount.THIRTY_360,
        method=Method.ANNUITY,
        disbursement_date=date(2026, 1, 15),
    )
    txns = [
        Transaction(f"T{k}", "L", TxnType.REPAYMENT, 10_000, date(2026, 1 + k, 15))
        for k in range(1, paid_months + 1)
    ]
    return terms, txns


def test_summarise_npl_and_90_plus_by_balance() -> None:
    states = []
    for paid in (6, 6, 1):  # two current loans, one overdue since 15 Mar
        terms, txns = _loan(paid)
        states.append(
            loan_state_as_of(terms, generate_schedule(terms), txns, [], date(2026, 7, 20))
        )
    summary = summarise(states)
    # current loans owe 600.00 each; the overdue one 1,100.00 and is 127 days past due.
    assert summary.gross_balance == 60_000 + 60_000 + 110_000
    assert summary.npl_balance == 110_000
    assert summary.dpd90_balance == 110_000
    assert summary.npl_ratio == Fraction(11, 23)
    assert summary.bucket_count == {"M0": 2, "M5": 1}
