"""Streamed snapshot partitions: the same rows give the same bytes however they are
split into pieces (whole row groups from one contiguous chunk), strings other than
ids are dictionary-encoded, and the run's Arrow IPC spill gives its frames back."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

from postloan.batch.spill import DateFrames, Spill
from postloan.store.snapshots import SnapshotStore, dictionary_columns

D = date(2026, 10, 31)


def _rows(n: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "loan_id": [f"L{i:06d}" for i in range(n)],
            "status": ["active", "closed", "charged_off"] * (n // 3) + ["active"] * (n % 3),
            "days_past_due": pl.int_range(n, eager=True).cast(pl.Int32) % 97,
            "principal_outstanding": pl.int_range(n, eager=True) * 1_000,
            "reasons": [["dpd>90", "restructured"] if i % 5 == 0 else [] for i in range(n)],
        }
    )


@pytest.mark.parametrize("splits", [[1000], [1, 999], [250] * 4, [333, 333, 334], [7] * 142 + [6]])
def test_same_rows_same_bytes_however_split(tmp_path: Path, splits: list[int]) -> None:
    rows = _rows(1000)
    reference = SnapshotStore(tmp_path / "whole").write_stream("loan_state", D, [rows], 128)
    pieces, start = [], 0
    for size in splits:
        pieces.append(rows.slice(start, size))
        start += size
    path = SnapshotStore(tmp_path / "split").write_stream("loan_state", D, pieces, 128)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == hashlib.sha256(reference.read_bytes()).hexdigest()
    meta = pq.ParquetFile(path).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [128] * 7 + [104]
    assert_frame_equal(pl.read_parquet(path), rows)


def test_dictionaries_for_strings_but_not_ids(tmp_path: Path) -> None:
    rows = _rows(300)
    assert dictionary_columns(rows.to_arrow().schema) == ["status", "reasons.list.element"]
    path = SnapshotStore(tmp_path).write_stream("loan_state", D, [rows])
    column = pq.ParquetFile(path).metadata.row_group(0)
    encodings = {column.column(i).path_in_schema: column.column(i).encodings for i in range(5)}
    assert "RLE_DICTIONARY" in encodings["status"]
    assert "RLE_DICTIONARY" in encodings["reasons.list.element"]
    assert "RLE_DICTIONARY" not in encodings["loan_id"]
    assert "RLE_DICTIONARY" not in encodings["principal_outstanding"]


def test_spill_round_trip(tmp_path: Path) -> None:
    spill = Spill(tmp_path / "work")
    rows = _rows(90)
    spill.put("state", 1, rows.slice(45))
    spill.put("state", 0, rows.slice(0, 45))
    spill.put("state", 0, rows.slice(0, 45))  # a re-put replaces the piece
    assert "state" in spill and "events" not in spill
    assert [p.name for p in spill.files("state")] == ["part-00000.arrow", "part-00001.arrow"]
    assert spill.height("state") == 90
    assert_frame_equal(spill.read("state"), rows)
    only = list(spill.pieces("state", ["loan_id", "reasons"]))
    assert [p.columns for p in only] == [["loan_id", "reasons"]] * 2
    frames = DateFrames(spill)
    assert_frame_equal(frames["state"], rows)
    assert frames.get("events") is None
    spill.remove()
    assert not (tmp_path / "work").exists()


def test_many_distinct_ids_same_bytes_however_split(tmp_path: Path) -> None:
    """150k distinct loan ids: a dictionary for them would outgrow its page limit
    and fall back to plain encoding at a point that depended on where the pieces
    were cut (the bytes differed between 1 and 7 book partitions before ids were
    left out of the dictionaries)."""
    rows = pl.DataFrame({"loan_id": [f"L{i:07d}" for i in range(150_000)]})
    digests = set()
    for parts in (1, 7):
        size = -(-rows.height // parts)
        pieces = [rows.slice(i * size, size) for i in range(parts)]
        path = SnapshotStore(tmp_path / str(parts)).write_stream("loan_state", D, pieces)
        digests.add(hashlib.sha256(path.read_bytes()).hexdigest())
    assert len(digests) == 1
