"""The date-partitioned Parquet snapshot store."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from postloan.errors import NotFound, ValidationError
from postloan.store.snapshots import SnapshotStore

D1, D2, D3 = date(2026, 10, 30), date(2026, 10, 31), date(2026, 11, 1)


def frame(dpd: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "loan_id": [f"L{i}" for i in range(len(dpd))],
            "days_past_due": dpd,
            "principal_outstanding": pl.Series([10_000 * (i + 1) for i in range(len(dpd))]),
        },
        schema_overrides={"principal_outstanding": pl.Int64},
    )


def test_partitions_are_per_date_and_rewrites_replace(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    store.write("loan_state", D1, frame([0, 1]))
    store.write("loan_state", D2, frame([0, 2, 5]))
    store.write("loan_state", D2, frame([0, 2, 5]))  # a re-run of the same date
    assert store.dates("loan_state") == [D1, D2]
    parts = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.parquet"))
    assert parts == [
        "loan_state/business_date=2026-10-30/part-0.parquet",
        "loan_state/business_date=2026-10-31/part-0.parquet",
    ]
    again = store.read("loan_state", D2)
    assert again["days_past_due"].to_list() == [0, 2, 5]
    assert again["business_date"].unique().to_list() == [D2]
    assert again["principal_outstanding"].dtype == pl.Int64


def test_scan_a_range_and_hash_is_about_rows_not_bytes(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    for d, dpd in ((D1, [0]), (D2, [1, 2]), (D3, [3])):
        store.write("loan_state", d, frame(dpd))
    rows = store.scan("loan_state", D2, D3).collect().sort("business_date", "loan_id")
    assert rows["business_date"].to_list() == [D2, D2, D3]
    first = store.content_hash("loan_state", D2)
    store.write("loan_state", D2, frame([1, 2]).reverse())  # same rows, other order
    assert store.content_hash("loan_state", D2) == first
    store.write("loan_state", D2, frame([1, 3]))
    assert store.content_hash("loan_state", D2) != first


def test_missing_partitions_and_bad_names_are_clear_errors(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    with pytest.raises(NotFound, match="no loan_state snapshot for 2026-10-30"):
        store.read("loan_state", D1)
    with pytest.raises(NotFound):
        store.scan("loan_state")
    with pytest.raises(ValidationError, match="lower_snake_case"):
        store.write("../etc", D1, frame([0]))
    store.write("loan_state", D1, frame([0]))
    store.delete("loan_state", D1)
    assert store.dates("loan_state") == []
