"""The date's snapshot files written on a thread while the commit runs: every file
is in place with its SHA-256 before ``hashes`` returns, a hook can wait for one
table, a table whose step is off loses its partition, and a failed write reaches
the committing thread instead of a silent half-written date."""

from __future__ import annotations

import hashlib
import threading
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select

from postloan.batch.pipeline import last_closed_business_date, run_date
from postloan.batch.snapshot_writer import SnapshotWriter
from postloan.batch.spill import Spill
from postloan.commands.demo import sample_feeds_dir
from postloan.feeds.importer import import_directory
from postloan.store import Store
from postloan.store import tables as t
from postloan.store.snapshots import PART_FILE, SnapshotStore

D = date(2026, 10, 31)
EVERY = ("loan_state", "loan_events", "kpi")


def _spill(root: Path) -> Spill:
    spill = Spill(root)
    for i in range(3):
        ids = [f"L{i}{k:04d}" for k in range(500)]
        spill.put(
            "state",
            i,
            pl.DataFrame({"loan_id": ids, "days_past_due": [k % 97 for k in range(500)]}),
        )
    return spill


def test_all_files_are_in_place_with_their_hashes(tmp_path: Path) -> None:
    snapshots = SnapshotStore(tmp_path / "snap")
    snapshots.write("loan_events", D, pl.DataFrame({"loan_id": ["old"]}))  # step now off
    kpi = pl.DataFrame({"metric": ["loans"], "value": [1500]})
    gate = threading.Event()

    def checkpoint(stage: str, _day: date) -> None:
        if stage == "snapshot:kpi":
            gate.wait(5)  # hold the writer before its last table

    writer = SnapshotWriter(
        snapshots,
        D,
        EVERY,
        {"loan_state": "state", "kpi": "kpi"},
        _spill(tmp_path / "spill"),
        {"kpi": kpi},
        checkpoint,
    ).start()
    writer.wait_for("loan_state")  # returns while kpi is still held back
    state = snapshots.partition_dir("loan_state", D) / PART_FILE
    assert pl.read_parquet(state).height == 1500
    assert D not in snapshots.dates("kpi")
    gate.set()
    hashes = writer.hashes()
    assert set(hashes) == {"loan_state", "kpi"}
    for table, digest in hashes.items():
        path = snapshots.partition_dir(table, D) / PART_FILE
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert D not in snapshots.dates("loan_events")


def test_a_failed_write_is_raised_on_the_committing_thread(tmp_path: Path) -> None:
    snapshots = SnapshotStore(tmp_path / "snap")
    spill = Spill(tmp_path / "spill")
    spill.put("state", 0, pl.DataFrame({"loan_id": []}, schema={"loan_id": pl.Utf8}))
    (tmp_path / "spill" / "state" / "part-00000.arrow").write_bytes(b"not arrow")
    writer = SnapshotWriter(
        snapshots, D, EVERY, {"loan_state": "state"}, spill, {}, lambda _s, _d: None
    ).start()
    with pytest.raises(OSError) as raised:
        writer.hashes()
    with pytest.raises(OSError) as again:
        writer.wait_for("kpi")  # a waiting hook is not left blocked
    assert again.value is raised.value
    assert D not in snapshots.dates("loan_state")


@pytest.fixture
def book(store: Store) -> Store:
    report = import_directory(sample_feeds_dir(), store)
    assert report.rejected == 0
    return store


def test_a_close_whose_snapshot_write_fails_commits_nothing(
    book: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The files are written while the transaction works; if one cannot be written,
    the transaction rolls back: no watermark, no current state, the run stays
    ``running`` — and the next run closes the date as usual."""
    day = date(2026, 10, 6)
    real = SnapshotStore.write_stream

    def failing(self: SnapshotStore, table: str, *args: object, **kw: object) -> Path:
        if table == "features":
            raise OSError(28, "No space left on device")
        return real(self, table, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(SnapshotStore, "write_stream", failing)
    with pytest.raises(OSError, match="No space left"):
        run_date(book, day)
    with book.begin() as conn:
        assert last_closed_business_date(conn) is None
        assert conn.execute(select(func.count()).select_from(t.LoanStateCurrent)).scalar() == 0
        assert conn.execute(select(t.EodRun.status)).scalars().all() == ["running"]
    monkeypatch.setattr(SnapshotStore, "write_stream", real)
    done = run_date(book, day)
    assert set(done.content_hashes) >= {"loan_state", "features"}
    with book.begin() as conn:
        assert last_closed_business_date(conn) == day
