"""KPI_SNAPSHOT (Polars, on the state frame) agrees with the per-loan portfolio summary."""

from __future__ import annotations

from datetime import date

import pytest

from postloan.analytics.portfolio import summarise
from postloan.batch.reference import iter_books, reference_states, states_frame
from postloan.batch.steps.kpi import kpi_rows
from postloan.commands.demo import sample_feeds_dir
from postloan.domain.policy import ServicingPolicy
from postloan.feeds.importer import import_directory
from postloan.store import Store
from postloan.store.repository import loans_frame, marks_frame, schedules_frame, transactions_frame


@pytest.mark.parametrize("on", [date(2025, 9, 30), date(2026, 10, 31), date(2027, 12, 31)])
def test_kpi_rows_equal_the_portfolio_summary(store: Store, on: date) -> None:
    import_directory(sample_feeds_dir(), store)
    with store.begin() as conn:
        frames = (
            loans_frame(conn),
            schedules_frame(conn),
            transactions_frame(conn),
            marks_frame(conn),
        )
    policy = ServicingPolicy.default()
    states = reference_states(list(iter_books(*frames)), on, policy)
    summary = summarise(states)
    rows = {
        (r["kpi"], r["key"]): (r["count"], r["balance"])
        for r in kpi_rows(states_frame(states), on, policy).to_dicts()
    }
    assert rows[("total", "all")][0] == summary.loans
    assert rows[("total", "open")] == (summary.open_loans, summary.gross_balance)
    assert rows[("npl", "")][1] == summary.npl_balance
    assert rows[("dpd90", "")][1] == summary.dpd90_balance
    assert rows[("charged_off", "")] == (summary.charged_off_loans, summary.charged_off_balance)
    for label, n in summary.bucket_count.items():
        assert rows[("bucket", label)] == (n, summary.bucket_balance[label])
    for klass, n in summary.class_count.items():
        assert rows[("five_category", klass)] == (n, summary.class_balance[klass])
    for stage, balance in summary.stage_balance.items():
        assert rows[("ifrs9_stage", str(stage))][1] == balance
    assert sum(n for (k, _), (n, _b) in rows.items() if k == "bucket") == summary.open_loans
