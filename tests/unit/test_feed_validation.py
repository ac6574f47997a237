"""Validation of feed frames: typed output, one error per broken rule, nothing lost."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from postloan.domain.errors import FeedError
from postloan.feeds.spec import FEEDS
from postloan.feeds.validation import validate

SRC = Path("loans.csv")
LOAN = {
    "loan_id": "L1",
    "borrower_id": "B1",
    "product": "cash",
    "principal": "10000.00",
    "annual_rate": "0.12",
    "term": "12",
    "frequency": "monthly",
    "day_count": "30/360",
    "method": "annuity",
    "disbursement_date": "2024-01-15",
    "first_due_date": "",
    "officer_id": "O1",
    "branch": "BJ",
    "currency": "CNY",
}


def frame(*rows: dict[str, str]) -> pl.DataFrame:
    data = pl.DataFrame(list(rows), schema=dict.fromkeys(rows[0], pl.Utf8))
    return data.with_columns((pl.int_range(pl.len(), dtype=pl.Int64) + 2).alias("_line"))


def loan(**changes: str) -> dict[str, str]:
    return LOAN | changes


def test_valid_loans_have_the_kernel_schema() -> None:
    result = validate("loans", frame(loan(), loan(loan_id="L2", fee_per_period="")), SRC)
    expected = {
        "loan_id": pl.Utf8,
        "borrower_id": pl.Utf8,
        "product": pl.Utf8,
        "principal": pl.Int64,
        "annual_rate": pl.Utf8,
        "term": pl.Int32,
        "frequency": pl.Utf8,
        "day_count": pl.Utf8,
        "method": pl.Utf8,
        "disbursement_date": pl.Date,
        "first_due_date": pl.Date,
        "officer_id": pl.Utf8,
        "branch": pl.Utf8,
        "currency": pl.Utf8,
        "fee_per_period": pl.Int64,
    }
    assert dict(list(result.valid.schema.items())[: len(expected)]) == expected
    assert result.valid.get_column("principal").to_list() == [1000000, 1000000]
    assert result.valid.get_column("fee_per_period").to_list() == [0, 0]
    assert result.error_frame.height == 0 and result.rejected.height == 0


def test_values_are_normalised_to_canonical_strings() -> None:
    row = loan(
        annual_rate="9.480%",
        frequency=" Fortnightly ",
        day_count="Actual/365",
        method="EQUAL_PRINCIPAL",
        currency="usd",
        disbursement_date="2024/02/29",
        first_due_date="20240315",
    )
    valid = validate("loans", frame(row), SRC).valid.row(0, named=True)
    assert valid["annual_rate"] == "0.0948"
    assert valid["frequency"] == "fortnightly"
    assert valid["day_count"] == "act/365f"
    assert valid["method"] == "equal_principal"
    assert valid["currency"] == "USD"
    assert valid["disbursement_date"] == date(2024, 2, 29)
    assert valid["first_due_date"] == date(2024, 3, 15)


@pytest.mark.parametrize(
    ("change", "rule", "column"),
    [
        ({"principal": "-1"}, "negative_amount", "principal"),
        ({"principal": "ten"}, "not_a_number", "principal"),
        ({"principal": "1.001"}, "too_many_decimals", "principal"),
        ({"principal": "0"}, "not_positive", "principal"),
        ({"principal": ""}, "required", "principal"),
        ({"annual_rate": "12"}, "bad_annual_rate", "annual_rate"),
        ({"annual_rate": "-0.1"}, "bad_annual_rate", "annual_rate"),
        ({"term": "twelve"}, "not_a_whole_number", "term"),
        ({"term": "0"}, "out_of_range", "term"),
        ({"frequency": "yearly"}, "bad_frequency", "frequency"),
        ({"day_count": "act/999"}, "bad_day_count", "day_count"),
        ({"method": "balloon"}, "bad_method", "method"),
        ({"disbursement_date": "31/01/2024"}, "bad_date", "disbursement_date"),
        ({"disbursement_date": "2023-02-29"}, "bad_date", "disbursement_date"),
        ({"first_due_date": "2024-01-15"}, "first_due_not_after_disbursement", "first_due_date"),
        ({"currency": "RMB1"}, "bad_currency", "currency"),
    ],
)
def test_each_broken_rule_rejects_the_row_with_a_reason(
    change: dict[str, str], rule: str, column: str
) -> None:
    result = validate("loans", frame(loan(loan_id="OK"), loan(**change)), SRC)
    assert result.valid.get_column("loan_id").to_list() == ["OK"]
    [error] = result.errors
    assert (error.line, error.rule, error.column, error.file) == (3, rule, column, "loans.csv")
    assert error.message
    assert result.rejected.get_column("loan_id").to_list() == ["L1"]
    assert result.rejected.row(0, named=True)[column] == loan(**change)[column]


def test_a_row_with_several_problems_reports_each_once() -> None:
    result = validate("loans", frame(loan(principal="x", term="0", method="?")), SRC)
    assert sorted(e.rule for e in result.errors) == ["bad_method", "not_a_number", "out_of_range"]
    assert result.rejected.height == 1


def test_later_duplicates_are_rejected_and_the_first_kept() -> None:
    rows = [loan(), loan(loan_id="L2"), loan(principal="5")]
    result = validate("loans", frame(*rows), SRC)
    assert result.valid.get_column("principal").to_list() == [1000000, 1000000]
    [error] = result.errors
    assert error.rule == "duplicate_key" and error.line == 4 and "first on line 2" in error.message


def test_composite_keys_are_checked_for_duplicates() -> None:
    contact = {
        "borrower_id": "B1",
        "kind": "Emergency",
        "name": "Ann",
        "phone": "1",
        "relation": "",
    }
    result = validate("contacts", frame(contact, contact | {"kind": "emergency"}), Path("c.csv"))
    [error] = result.errors
    assert error.column == "borrower_id+kind+name" and error.value == "B1/emergency/Ann"


def test_missing_required_columns_raise_feed_error_naming_them() -> None:
    data = frame({"loan_id": "L1", "principal": "1"})
    with pytest.raises(FeedError) as err:
        validate("loans", data, SRC)
    message = str(err.value)
    assert "loans.csv" in message and "borrower_id" in message and "annual_rate" in message
    assert "first_due_date" not in message  # optional column


def test_unknown_feed_is_a_feed_error() -> None:
    with pytest.raises(FeedError, match="unknown feed"):
        validate("payments", frame(loan()), SRC)


def test_sensitive_values_are_masked_in_error_reports() -> None:
    borrower = dict.fromkeys(FEEDS["borrowers"].columns, "")
    borrower |= {"borrower_id": "B1", "name": "Ann", "phone": "13812345678"}
    result = validate("borrowers", frame(borrower, borrower), Path("b.csv"))
    [error] = result.errors
    assert error.rule == "duplicate_key"
    shown = result.error_frame.to_dicts()
    assert "13812345678" not in str(shown)


def test_transactions_rules() -> None:
    base = {
        "txn_id": "T1",
        "loan_id": "L1",
        "type": "repayment",
        "amount": "10.00",
        "value_date": "2024-01-01",
        "channel": "app",
    }
    rows = [
        base,
        base | {"txn_id": "T2", "type": "Reversal"},
        base | {"txn_id": "T3", "type": "refund"},
        base | {"txn_id": "T4", "amount": "10.5"},
    ]
    currencies = pl.DataFrame({"loan_id": ["L1"], "currency": ["JPY"]})
    result = validate("transactions", frame(*rows), Path("t.csv"), currencies=currencies)
    rules = {e.line: e.rule for e in result.errors}
    assert rules == {3: "reversal_without_target", 4: "unknown_value", 5: "too_many_decimals"}
    assert result.valid.get_column("amount").to_list() == [10]  # yen have no decimals


def test_a_frame_without_line_numbers_is_numbered_from_one() -> None:
    rows = [loan(), loan(loan_id="L2", principal="-1")]
    data = pl.DataFrame(rows, schema=dict.fromkeys(LOAN, pl.Utf8))
    result = validate("loans", data, SRC)
    assert [e.line for e in result.errors] == [2]
    assert result.valid.get_column("_line").to_list() == [1]
