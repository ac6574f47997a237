"""``postloan schedule`` through the real command line (a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postloan.commands.schedule_feed import minor_text
from postloan.domain.calendar import Frequency
from postloan.domain.daycount import DayCount
from postloan.domain.money import format_minor
from postloan.domain.schedule import LoanTerms, Method, generate_schedule
from postloan.feeds.amounts import currency_exponent
from postloan.feeds.readers import read_table
from postloan.feeds.validation import validate

POSTLOAN = str(Path(sys.executable).parent / "postloan")

HEADER = (
    "loan_id,borrower_id,product,principal,annual_rate,term,frequency,day_count,method,"
    "disbursement_date,first_due_date,officer_id,branch,currency,fee_per_period"
)
GOOD = [
    "L1,B1,cash,100.00,0.094822,6,monthly,30/360,annuity,2024-01-01,,O1,BJ,CNY,0",
    "L2,B2,cash,5000,9.48%,12,monthly,act/365f,equal_principal,2024-01-31,,O1,BJ,CNY,1.50",
    "L4,B4,cash,1200,0.12,4,weekly,act/360,flat,2024-02-29,2024-03-10,O2,SH,JPY,0",
    "L6,B6,card,3000,0.18,3,days:30,act/act-fineract,bullet,2024-12-20,,O2,SH,CNY,",
]
BAD = [
    "L3,B3,cash,abc,0.1,6,monthly,30/360,annuity,2024-01-01,,O1,BJ,CNY,0",
    "L5,B5,cash,1000,0.1,3,monthly,30/360,annuity,2024-01-01,2023-12-01,O1,BJ,CNY,0",
]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [POSTLOAN, "schedule", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def write_loans(folder: Path, lines: list[str]) -> Path:
    path = folder / "loans.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def expected_rows() -> list[tuple[str, str, str, str, str, str]]:
    """The reference schedules of the GOOD loans, as the feed writes them."""
    loans = [
        ("L1", 10_000, "0.094822", 6, "monthly", "30/360", "annuity", date(2024, 1, 1), None, 0,
         "CNY"),
        ("L2", 500_000, "0.0948", 12, "monthly", "act/365f", "equal_principal",
         date(2024, 1, 31), None, 150, "CNY"),
        ("L4", 1_200, "0.12", 4, "weekly", "act/360", "flat", date(2024, 2, 29),
         date(2024, 3, 10), 0, "JPY"),
        ("L6", 300_000, "0.18", 3, "days:30", "act/act-fineract", "bullet", date(2024, 12, 20),
         None, 0, "CNY"),
    ]  # fmt: skip
    rows = []
    for loan_id, principal, rate, term, freq, dc, method, start, first, fee, cur in loans:
        terms = LoanTerms(
            principal, Decimal(rate), term, Frequency.parse(freq), DayCount.parse(dc),
            Method.parse(method), start, first, fee, cur,
        )  # fmt: skip
        for i in generate_schedule(terms):
            rows.append(
                (
                    loan_id,
                    str(i.seq),
                    i.due_date.isoformat(),
                    format_minor(i.principal, cur),
                    format_minor(i.interest, cur),
                    format_minor(i.fee, cur),
                )
            )
    return rows


def feed_rows(frame: pl.DataFrame) -> list[tuple[str, ...]]:
    return [tuple(str(v) for v in row) for row in frame.rows()]


def test_loans_feed_to_csv_schedules_valid_rows_and_reports_rejects(tmp_path: Path) -> None:
    loans = write_loans(tmp_path, [GOOD[0], BAD[0], GOOD[1], GOOD[2], BAD[1], GOOD[3]])
    result = run("--loans", str(loans), "--out", "out/schedules.csv", cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert "loans.csv line 3: principal 'abc'" in result.stderr
    assert "loans.csv line 6: first_due_date 2023-12-01 is not after" in result.stderr
    assert "scheduled 4 loan(s), 23 instalment(s)" in result.stderr
    written = pl.read_csv(tmp_path / "out" / "schedules.csv", infer_schema=False)
    assert written.columns == [
        "loan_id", "seq", "due_date", "principal_due", "interest_due", "fee_due"
    ]  # fmt: skip
    assert feed_rows(written) == expected_rows()
    # F1 to the cent, and the JPY loan without decimals
    assert written.filter(pl.col("loan_id") == "L1")["interest_due"].to_list() == [
        "0.79", "0.66", "0.53", "0.40", "0.27", "0.13"
    ]  # fmt: skip
    assert set(written.filter(pl.col("loan_id") == "L4")["principal_due"]) == {"300"}
    # what we write is a schedules feed postloan itself accepts
    check = validate("schedules", read_table(tmp_path / "out" / "schedules.csv"), loans)
    assert check.errors == []


def test_parquet_out_holds_the_same_feed(tmp_path: Path) -> None:
    loans = write_loans(tmp_path, GOOD)
    result = run("--loans", str(loans), "--out", str(tmp_path / "s.parquet"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    frame = pl.read_parquet(tmp_path / "s.parquet")
    assert frame.schema["principal_due"] == pl.String
    assert feed_rows(frame) == expected_rows()


def test_without_out_the_feed_goes_to_stdout(tmp_path: Path) -> None:
    loans = write_loans(tmp_path, GOOD)
    result = run("--loans", str(loans), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "loan_id,seq,due_date,principal_due,interest_due,fee_due"
    assert [tuple(line.split(",")) for line in lines[1:]] == expected_rows()
    assert "rejected" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "s.txt"], "unsupported file type '.txt'"),
        (["--out", "s.csv", "--loans", "missing.csv"], "no such file"),
    ],
)
def test_unusable_paths_exit_2_with_a_message(
    tmp_path: Path, args: list[str], message: str
) -> None:
    loans = write_loans(tmp_path, GOOD)
    result = run("--loans", str(loans), *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "s.csv").exists()


def test_single_loan_json_matches_vector_f1(tmp_path: Path, data_dir: Path) -> None:
    cases = json.loads((data_dir / "amortization_vectors.json").read_text())["cases"]
    f1 = next(c for c in cases if c["id"] == "F1")
    result = run(
        "--principal", "100", "--rate", "0.094822", "--periods", "6", "--frequency", "monthly",
        "--day-count", "30/360", "--start", "2024-01-01", "--method", "annuity",
        "--format", "json", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert isinstance(rows, list) and len(rows) == 6
    for k, row in enumerate(rows):
        assert set(row) == {"seq", "due_date", "principal", "interest", "fee", "total", "balance"}
        assert all(isinstance(row[key], str) for key in row if key != "seq")
        assert row["seq"] == k + 1
        assert Decimal(row["interest"]) == Decimal(str(f1["interest"][k]))
        assert Decimal(row["principal"]) == Decimal(str(f1["principal_per_period"][k]))
        assert Decimal(row["fee"]) == 0
        emi = f1["emi"] if k < 5 else f1["last"]
        assert Decimal(row["total"]) == Decimal(str(emi))
    assert [r["due_date"] for r in rows] == [f"2024-{m:02d}-01" for m in range(2, 8)]
    assert [r["balance"] for r in rows][-1] == "0.00"
    assert Decimal(rows[0]["balance"]) == Decimal("100") - Decimal(
        str(f1["principal_per_period"][0])
    )


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-(10**15), 10**15), st.sampled_from(["CNY", "JPY", "USD", "XXX"])),
        min_size=1,
        max_size=30,
    )
)
def test_feed_amount_text_matches_format_minor(values: list[tuple[int, str]]) -> None:
    frame = pl.DataFrame(values, schema={"minor": pl.Int64, "currency": pl.String}, orient="row")
    text = frame.select(
        minor_text(pl.col("minor"), currency_exponent(pl.col("currency")))
    ).to_series()
    assert text.to_list() == [format_minor(m, c) for m, c in values]


def test_xlsx_loans_feed_gives_the_same_schedules(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER.split(","))
    for line in GOOD:
        sheet.append(line.split(","))
    book.save(tmp_path / "loans.xlsx")
    result = run("--loans", "loans.xlsx", "--out", "s.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = pl.read_csv(tmp_path / "s.csv", infer_schema=False)
    assert feed_rows(written) == expected_rows()
