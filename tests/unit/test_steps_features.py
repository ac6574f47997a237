"""FEATURES on a hand-made state and DPD history: windows, arrears months, months on
book, remaining term and share repaid, worked out by hand."""

from __future__ import annotations

from datetime import date

import polars as pl

from postloan.batch.steps.features import FEATURE_NAMES, compute_features, empty_history

D = date(2026, 6, 15)


def state() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "loan_id": ["A", "B"],
            "business_date": [D, D],
            "days_past_due": [5, 0],
            "last_payment_date": [date(2026, 6, 1), None],
            "failed_debits": [2, 0],
            "principal_paid": [2500, 0],
            "overdue_principal": [100, 0],
            "overdue_interest": [20, 0],
            "overdue_fee": [3, 0],
            "penalty_outstanding": [7, 0],
        },
        schema_overrides={"days_past_due": pl.Int32, "failed_debits": pl.Int32},
    )


LOANS = pl.DataFrame(
    {
        "loan_id": ["A", "B"],
        "principal": [10_000, 0],
        "disbursement_date": [date(2025, 6, 16), date(2026, 6, 15)],
    }
)
SCHEDULES = pl.DataFrame(
    {
        "loan_id": ["A", "A", "A", "B"],
        "due_date": [date(2026, 6, 15), date(2026, 7, 15), date(2026, 8, 15), date(2026, 7, 15)],
    }
)
HISTORY = pl.DataFrame(
    {
        "loan_id": ["A", "A", "A", "A"],
        "business_date": [date(2025, 7, 1), date(2026, 1, 10), date(2026, 1, 31), date(2026, 4, 1)],
        "days_past_due": [90, 40, 61, 12],
    },
    schema_overrides={"days_past_due": pl.Int32},
)


def test_features_from_history() -> None:
    out = compute_features(state(), LOANS, SCHEDULES, HISTORY, D)
    assert out.columns == ["loan_id", "business_date", *FEATURE_NAMES]
    a, b = out.to_dicts()
    assert (a["dpd"], a["max_dpd_3m"], a["max_dpd_6m"], a["max_dpd_12m"]) == (5, 12, 61, 90)
    assert a["months_in_arrears_12m"] == 4  # 2025-07, 2026-01, 2026-04, 2026-06
    assert a["days_since_last_payment"] == 14
    assert a["months_on_book"] == 11  # 16 June 2025 → 15 June 2026: not yet 12
    assert a["remaining_instalments"] == 2  # due today is not remaining
    assert a["principal_repaid_share"] == 0.25
    assert (a["overdue_amount"], a["penalty_outstanding"], a["failed_debits"]) == (123, 7, 2)
    assert b["days_since_last_payment"] is None
    assert (b["months_on_book"], b["max_dpd_12m"], b["months_in_arrears_12m"]) == (0, 0, 0)
    assert b["principal_repaid_share"] == 0.0


def test_without_history_windows_are_today() -> None:
    out = compute_features(state(), LOANS, SCHEDULES, empty_history(), D)
    assert out["max_dpd_12m"].to_list() == [5, 0]
    assert out["months_in_arrears_12m"].to_list() == [1, 0]
