"""Reading feed files: encodings, line numbers, Excel headers, Parquet."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest
from openpyxl import Workbook

from postloan.domain.errors import FeedError
from postloan.feeds.readers import read_table

FEEDS = Path(__file__).parents[1] / "data" / "feeds"


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_every_column_is_text_plus_line(tmp_path: Path) -> None:
    f = write(tmp_path / "loans.csv", b"loan_id,principal,term\nL1,100.50,012\nL2,7,3\n")
    frame = read_table(f)
    assert frame.schema == {
        "loan_id": pl.Utf8,
        "principal": pl.Utf8,
        "term": pl.Utf8,
        "_line": pl.Int64,
    }
    assert frame.rows() == [("L1", "100.50", "012", 2), ("L2", "7", "3", 3)]


def test_line_numbers_follow_the_editor_through_quoted_newlines_and_blank_lines(
    tmp_path: Path,
) -> None:
    text = 'a,b\n1,"x"\n\n2,"two\nlines"\n3,"three\r\nmore\nlines"\n4,y\n'
    frame = read_table(write(tmp_path / "t.csv", text.encode()))
    assert frame.get_column("a").to_list() == ["1", "2", "3", "4"]
    assert frame.get_column("_line").to_list() == [2, 4, 6, 9]


def test_header_names_are_trimmed_and_lowercased(tmp_path: Path) -> None:
    frame = read_table(write(tmp_path / "t.csv", "\ufeff Loan_ID ,Principal\nL1,1\n".encode()))
    assert frame.columns == ["loan_id", "principal", "_line"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"a,a\n1,2\n", "more than once"),
        (b"a,,b\n1,2,3\n", "has no name"),
        (b"", "empty"),
        (b"a,b\n1,2,3,4\n", "not a well-formed CSV"),
        (b"_line,b\n1,2\n", "reserved"),
    ],
)
def test_malformed_csv_is_a_clear_feed_error(tmp_path: Path, text: bytes, message: str) -> None:
    with pytest.raises(FeedError, match=message) as err:
        read_table(write(tmp_path / "x.csv", text))
    assert "x.csv" in str(err.value)


def test_gbk_and_gb18030_decode(tmp_path: Path) -> None:
    text = "borrower_id,name\nB1,欧阳娜娜\nB2,王䶮\n"
    frame = read_table(write(tmp_path / "b.csv", text.encode("gb18030")))
    assert frame.get_column("name").to_list() == ["欧阳娜娜", "王䶮"]
    gbk = read_table(write(tmp_path / "c.csv", "id,city\n1,深圳市南山区\n".encode("gbk")))
    assert gbk.get_column("city").to_list() == ["深圳市南山区"]


def test_shift_jis_is_refused_not_misread(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match="does not read as Chinese") as err:
        read_table(FEEDS / "encodings" / "shift_jis" / "borrowers.csv")
    assert "save it as UTF-8" in str(err.value)


def test_random_bytes_without_nul_are_refused(tmp_path: Path) -> None:
    rnd = random.Random(11)
    data = bytes(rnd.randrange(0x80, 0x100) for _ in range(2000))
    with pytest.raises(FeedError, match="cannot be decoded|does not read as Chinese"):
        read_table(write(tmp_path / "r.csv", b"a,b\n" + data))


def test_unsupported_extension_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match="unsupported file type"):
        read_table(write(tmp_path / "a.json", b"{}"))
    with pytest.raises(FeedError, match="no such file"):
        read_table(tmp_path / "none.csv")


def test_xlsx_values_become_text_and_lines_are_sheet_rows(tmp_path: Path) -> None:
    from datetime import datetime

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Loans exported 2024-06-30"])
    ws.merge_cells("A1:D1")
    ws.append(["loan_id", "principal", "disbursement_date", "term"])
    ws.append(["L1", 1000.5, datetime(2024, 1, 15), 12])  # noqa: DTZ001 (Excel has no zones)
    ws.append([None, None, None, None])
    ws.append(["L2", 2000, datetime(2024, 2, 1, 9, 30), 6])  # noqa: DTZ001
    wb.save(tmp_path / "loans.xlsx")
    frame = read_table(tmp_path / "loans.xlsx")
    assert frame.rows() == [
        ("L1", "1000.5", "2024-01-15", "12", 3),
        ("L2", "2000", "2024-02-01 09:30:00", "6", 5),
    ]


def test_xlsx_merged_header_cell_names_its_range() -> None:
    with pytest.raises(FeedError, match="D1:E1"):
        read_table(FEEDS / "excel" / "merged_header" / "loans.xlsx")


def test_not_an_xlsx(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match="not a readable .xlsx"):
        read_table(write(tmp_path / "loans.xlsx", b"PK nope"))


def test_parquet_columns_become_text(tmp_path: Path) -> None:
    from datetime import date

    pl.DataFrame(
        {"loan_id": ["L1"], "term": [12], "rate": [0.1], "day": [date(2024, 1, 2)]}
    ).write_parquet(tmp_path / "loans.parquet")
    frame = read_table(tmp_path / "loans.parquet")
    assert frame.rows() == [("L1", "12", "0.1", "2024-01-02", 1)]
    with pytest.raises(FeedError, match="not a readable Parquet"):
        read_table(write(tmp_path / "bad.parquet", b"nope"))


def test_parquet_with_a_nested_column_is_a_feed_error(tmp_path: Path) -> None:
    pl.DataFrame({"loan_id": ["L1"], "tags": [[1, 2]]}).write_parquet(tmp_path / "loans.parquet")
    with pytest.raises(FeedError, match="loans.parquet"):
        read_table(tmp_path / "loans.parquet")
