"""Every feature of the registry on a hand-built book of three loans, each value
worked out by hand; and nothing dated after the business date changes a value."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from postloan.batch.steps.features import (
    CATEGORICAL,
    FEATURE_NAMES,
    FEATURES,
    MONOTONE,
    compute_features,
)

D = date(2026, 6, 15)

STATE = pl.DataFrame(
    {
        "loan_id": ["A", "B", "C"],
        "business_date": [D, D, D],
        "status": ["active", "active", "active"],
        "days_past_due": [31, 0, 40],
        "overdue_since": [date(2026, 5, 15), None, date(2026, 5, 6)],
        "principal_outstanding": [8_000, 12_000, 500],
        "overdue_principal": [1_600, 0, 100],
        "overdue_interest": [400, 0, 0],
        "overdue_fee": [0, 0, 0],
        "penalty_outstanding": [30, 0, 2],
        "principal_paid": [2_000, 0, 500],
        "last_payment_date": [date(2026, 5, 10), None, date(2026, 3, 1)],
        "failed_debits": [3, 0, 0],
        "next_due_date": [date(2026, 7, 15), date(2026, 7, 1), None],
    },
    schema_overrides={"days_past_due": pl.Int32, "failed_debits": pl.Int32},
)
LOANS = pl.DataFrame(
    {
        "loan_id": ["A", "B", "C"],
        "borrower_id": ["X", "Y", "X"],
        "product": ["consumer", "consumer", "credit_line"],
        "principal": [10_000, 12_000, 1_000],
        "annual_rate": ["0.12", "0.08", "0.18"],
        "term": [10, 12, 2],
        "disbursement_date": [date(2025, 8, 15), date(2026, 6, 1), date(2026, 4, 6)],
        "channel": ["app", "branch", "app"],
        "region": ["CN-44", "CN-11", "CN-44"],
        "monthly_income": [20_000, None, 20_000],
    },
    schema_overrides={"term": pl.Int32},
)


def _sched(loan: str, first: date, n: int, amount: int) -> list[dict[str, object]]:
    rows = []
    for i in range(n):
        month = first.month - 1 + i
        due = date(first.year + month // 12, month % 12 + 1, first.day)
        rows.append(
            {
                "loan_id": loan,
                "seq": i + 1,
                "due_date": due,
                "principal_due": amount - 200,
                "interest_due": 200,
                "fee_due": 0,
            }
        )
    return rows


SCHEDULES = pl.DataFrame(
    _sched("A", date(2025, 9, 15), 10, 1_000)
    + _sched("B", date(2026, 7, 1), 12, 1_100)
    + _sched("C", date(2026, 5, 6), 2, 600)
)
TXNS = pl.DataFrame(
    {
        "txn_id": ["t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8"],
        "loan_id": ["A", "A", "A", "A", "A", "A", "C", "A"],
        "type": [
            "repayment",
            "repayment",
            "failed_debit",
            "failed_debit",
            "repayment",
            "reversal",
            "repayment",
            "repayment",
        ],
        "amount": [1_000, 400, 0, 0, 1_000, 1_000, 500, 5_000],
        "value_date": [
            date(2026, 1, 15),
            date(2026, 4, 20),
            date(2026, 5, 15),
            date(2025, 12, 1),
            date(2026, 5, 10),
            date(2026, 5, 12),
            date(2026, 3, 1),
            date(2026, 6, 20),
        ],  # t8 is after D: ignored
        "reverses": [None, None, None, None, None, "t5", None, None],
    }
)
MARKS = pl.DataFrame(
    {
        "loan_id": ["A", "A"],
        "kind": ["restructured", "restructured"],
        "start_date": [date(2026, 2, 1), date(2026, 7, 1)],
    }
)
HISTORY = pl.DataFrame(
    {
        "loan_id": ["A", "A", "A"],
        "business_date": [date(2025, 7, 1), date(2026, 1, 31), date(2026, 4, 1)],
        "days_past_due": [90, 61, 12],
    },
    schema_overrides={"days_past_due": pl.Int32},
)
CONTACTS = pl.DataFrame(
    {
        "loan_id": ["A", "A", "A"],
        "contact_date": [date(2026, 6, 1), date(2026, 6, 2), D],
        "reached": [False, False, True],
    }
)
PROMISES = pl.DataFrame(
    {
        "loan_id": ["A", "A", "A"],
        "promised_date": [date(2026, 5, 1), date(2026, 6, 1), date(2026, 6, 20)],
        "kept": [False, True, None],
    }
)


def features(**overrides: object) -> dict[str, dict[str, object]]:
    args: dict[str, object] = {
        "transactions": TXNS,
        "marks": MARKS,
        "contacts": CONTACTS,
        "promises": PROMISES,
    }
    args.update(overrides)
    out = compute_features(STATE, LOANS, SCHEDULES, HISTORY, D, **args)  # type: ignore[arg-type]
    assert out.columns == ["loan_id", "business_date", *FEATURE_NAMES]
    for f in FEATURES:
        assert out.schema[f.name] == f.dtype, f.name
    return {row["loan_id"]: row for row in out.to_dicts()}


def test_every_feature_of_a_delinquent_loan() -> None:
    a = features()["A"]
    expected = {
        "dpd": 31,
        "max_dpd_3m": 31,
        "max_dpd_6m": 61,
        "max_dpd_12m": 90,
        "months_in_arrears_3m": 2,
        "months_in_arrears_6m": 3,
        "months_in_arrears_12m": 4,
        # due 15 May (overdue since) ... yesterday: only 15 May; 15 June is due today
        "overdue_instalments": 1,
        "days_since_last_payment": 36,
        "failed_debits": 3,
        "failed_debits_3m": 1,
        "failed_debits_6m": 1,
        "days_since_last_failed_debit": 31,
        # t2 (400) in 3m; t5 reversed; t8 after D
        "payments_3m": 1,
        "partial_payments_3m": 1,
        "partial_payments_6m": 1,
        "pay_to_due_3m": 400 / 3_000,  # due 15 Apr, 15 May, 15 Jun
        "pay_to_due_6m": 1_400 / 7_000,  # due 15 Dec .. 15 Jun
        "pay_to_due_life": 1_400 / 10_000,  # Sep 2025 .. Jun 2026 = 10 instalments
        "months_on_book": 10,
        "remaining_instalments": 0,
        "days_to_next_due": 30,
        "principal_repaid_share": 0.2,
        "principal_outstanding": 8_000,
        "overdue_amount": 2_000,
        "penalty_outstanding": 30,
        "overdue_to_instalment": 2.0,
        "instalment_amount": 1_000,
        "restructure_count": 1,
        "borrower_loans": 2,
        "borrower_other_delinquent": 1,
        "borrower_max_other_dpd": 40,
        "unreachable_30d": 2,
        "broken_promises_90d": 1,
        "principal": 10_000,
        "term": 10,
        "annual_rate": 0.12,
        "product": "consumer",
        "channel": "app",
        "region": "CN-44",
        "income_to_instalment": 20.0,
    }
    assert set(expected) == set(FEATURE_NAMES)
    for name, value in expected.items():
        assert a[name] == value, (name, a[name], value)


def test_performing_and_sibling_loans() -> None:
    rows = features()
    b, c = rows["B"], rows["C"]
    assert (b["dpd"], b["max_dpd_12m"], b["months_in_arrears_12m"]) == (0, 0, 0)
    assert b["days_since_last_payment"] is None and b["pay_to_due_3m"] is None
    assert (b["payments_3m"], b["failed_debits_3m"], b["partial_payments_6m"]) == (0, 0, 0)
    assert b["days_since_last_failed_debit"] is None and b["income_to_instalment"] is None
    assert (b["borrower_loans"], b["borrower_other_delinquent"], b["borrower_max_other_dpd"]) == (
        1,
        0,
        0,
    )
    assert (b["unreachable_30d"], b["broken_promises_90d"], b["remaining_instalments"]) == (
        0,
        0,
        12,
    )
    assert (c["borrower_other_delinquent"], c["borrower_max_other_dpd"]) == (1, 31)
    assert c["overdue_instalments"] == 2  # 6 May and 6 June
    assert c["pay_to_due_life"] == 500 / 1_200
    assert c["months_in_arrears_12m"] == 1


def test_no_collections_frames_means_zero() -> None:
    a = features(contacts=None, promises=None)["A"]
    assert (a["unreachable_30d"], a["broken_promises_90d"]) == (0, 0)


def test_future_rows_change_nothing() -> None:
    """Transactions, marks, history and contacts dated after D are ignored."""
    later = D + timedelta(days=10)
    future_hist = pl.concat(
        [
            HISTORY,
            pl.DataFrame(
                {"loan_id": ["B"], "business_date": [later], "days_past_due": [99]},
                schema_overrides={"days_past_due": pl.Int32},
            ),
        ]
    )
    base = compute_features(
        STATE,
        LOANS,
        SCHEDULES,
        HISTORY,
        D,
        transactions=TXNS.head(7),
        marks=MARKS.head(1),
        contacts=CONTACTS,
        promises=PROMISES,
    )
    more = compute_features(
        STATE,
        LOANS,
        SCHEDULES,
        future_hist,
        D,
        transactions=TXNS,
        marks=MARKS,
        contacts=CONTACTS,
        promises=PROMISES,
    )
    assert base.equals(more)


def test_registry_metadata() -> None:
    assert len(FEATURES) >= 30
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    assert set(CATEGORICAL) == {"product", "channel", "region"}
    assert MONOTONE["max_dpd_12m"] == 1 and MONOTONE["pay_to_due_3m"] == -1
    for f in FEATURES:
        assert f.doc and f.zh and f.en and f.direction in (-1, 0, 1), f.name


def test_missing_optional_loan_columns_are_null() -> None:
    loans = LOANS.drop("channel", "region", "monthly_income")
    out = compute_features(STATE, loans, SCHEDULES, HISTORY, D)
    assert out["channel"].null_count() == 3 and out["income_to_instalment"].null_count() == 3
