"""A simulated book goes through the real ingestion path without a rejected row, and
postloan's own servicing replay agrees with the simulator's arrears.

Tolerance: none. For each sampled loan, ``loan_state_as_of`` at the last month-end
must give exactly the simulator's days past due and bucket, principal outstanding
and overdue principal + interest, with no advance or credit balance left over
(status closed / charged off for loans the simulator closed). The simulator pays
exact amounts under postloan's allocation and 罚息; see postloan.sim.arrears.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from postloan.domain.loan_state import LoanStatus, loan_state_as_of
from postloan.feeds.importer import import_directory
from postloan.sim import SimConfig, simulate, write_feeds
from postloan.store import Store
from postloan.store import repository as repo


def test_simulated_book_imports_cleanly_and_matches_postloan(store: Store, tmp_path: Path) -> None:
    result = simulate(SimConfig.default(), loans=2500, months=14, seed=77)
    write_feeds(result, tmp_path / "feeds")
    report = import_directory(tmp_path / "feeds", store)
    assert report.rejected == 0, [(f.feed, f.message) for f in report.files]
    assert {f.feed for f in report.files} == {
        "borrowers",
        "contacts",
        "loans",
        "schedules",
        "loan_marks",
        "transactions",
    }
    assert all(f.flagged == 0 and f.held == 0 for f in report.files)
    loaded = {f.feed: f.loaded for f in report.files}
    assert loaded["transactions"] == result.transactions.height
    assert loaded["loan_marks"] == result.loan_marks.height > 0

    last = result.monthly.filter(pl.col("month_index") == result.months - 1)
    as_of = last["as_of"][0]
    late = last.filter(pl.col("dpd") > 0).sort("loan_id")
    sample = pl.concat(
        [
            late.filter(pl.col("dpd") > 90).head(40),
            last.filter(pl.col("charged_off")).sort("loan_id").head(10),
            # paid off (or paid to the end) in an earlier month: closed for postloan too
            result.monthly.filter(
                pl.col("closed") & ~pl.col("charged_off") & (pl.col("month_index") < 6)
            )
            .sort("loan_id")
            .head(20),
            late.filter(pl.col("dpd").is_between(1, 90)).head(80),
            last.filter(pl.col("dpd") == 0).sort("loan_id").head(80),
        ]
    )
    assert sample.height >= 180
    mismatches = []
    with store.engine.connect() as conn:
        for row in sample.iter_rows(named=True):
            lid = row["loan_id"]
            state = loan_state_as_of(
                repo.get_loan_terms(conn, lid),
                repo.get_schedule(conn, lid),
                repo.get_transactions(conn, lid),
                repo.get_marks(conn, lid),
                as_of,
            )
            if row["charged_off"]:
                ok = state.status == LoanStatus.CHARGED_OFF and state.bucket == "WO"
            elif row["closed"]:
                ok = state.status == LoanStatus.CLOSED
            else:
                # same DPD and bucket, and the same money: principal left, arrears, no
                # stray advance or credit balance
                ok = (
                    state.days_past_due == row["dpd"]
                    and state.bucket == row["bucket"]
                    and state.principal_outstanding == row["principal_outstanding"]
                    and state.overdue_principal + state.overdue_interest == row["overdue_amount"]
                    and state.advance_balance == 0
                    and state.credit_balance == 0
                )
            if not ok:
                mismatches.append(
                    (lid, row["dpd"], row["bucket"], state.days_past_due, state.bucket)
                )
    assert mismatches == []
