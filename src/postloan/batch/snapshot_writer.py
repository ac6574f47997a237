"""The date's snapshot files, written on a thread while the database commit runs.

The close's order of effects stays: every snapshot file of the date is in place
before the database transaction commits (the committing transaction records
their SHA-256, which it gets from :meth:`SnapshotWriter.hashes`, waiting for the
thread if needed). Only the transaction's *work* — current state, events and the
steps' commit hooks, mostly Python holding the GIL — overlaps the writes, which
spend their time in Arrow's Parquet encoder and zstd with the GIL released, on
the other core. A crash anywhere still leaves either the old files or new ones a
re-run rewrites with the same bytes, and the watermark moves only in the commit.

A commit hook that reads a snapshot of the date itself waits for that table
first (``CommitContext.snapshot_ready``).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path

import polars as pl

from postloan.batch.spill import Spill
from postloan.store.snapshots import SnapshotStore


def file_sha256(path: os.PathLike[str] | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class SnapshotWriter:
    """Writes ``tables`` (snapshot table → frame key, in order) of ``business_date``
    from ``spill`` or ``frames`` on its own thread; tables not in ``tables`` but in
    ``every`` lose their partition of the date (a step switched off since)."""

    def __init__(
        self,
        snapshots: SnapshotStore,
        business_date: date,
        every: tuple[str, ...],
        tables: Mapping[str, str],
        spill: Spill,
        frames: Mapping[str, pl.DataFrame],
        checkpoint: Callable[[str, date], None],
    ) -> None:
        self.snapshots = snapshots
        self.business_date = business_date
        self.every = every
        self.tables = dict(tables)
        self.spill = spill
        self.frames = frames
        self.checkpoint = checkpoint
        self.seconds = 0.0
        self._hashes: dict[str, str] = {}
        self._done = {table: threading.Event() for table in every}
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="eod-snapshots", daemon=True)

    def start(self) -> SnapshotWriter:
        self._thread.start()
        return self

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            for table in self.every:
                self.checkpoint(f"snapshot:{table}", self.business_date)
                path = self._write(table)
                if path is not None:
                    self._hashes[table] = file_sha256(path)
                self._done[table].set()
        except BaseException as err:  # re-raised on the committing thread
            self._error = err
        finally:
            for event in self._done.values():
                event.set()  # nobody waits forever on a failed writer
            self.seconds = time.perf_counter() - started

    def _write(self, table: str) -> Path | None:
        key = self.tables.get(table)
        if key is None:
            self.snapshots.delete(table, self.business_date)
            return None
        if key in self.spill:
            return self.snapshots.write_stream(table, self.business_date, self.spill.pieces(key))
        if key in self.frames:
            return self.snapshots.write(table, self.business_date, self.frames[key])
        return None

    def wait_for(self, table: str) -> None:
        """Block until ``table``'s partition of the date is in place (or the writer
        failed: then raise its error)."""
        if table in self._done:
            self._done[table].wait()
        if self._error is not None:
            raise self._error

    def hashes(self) -> dict[str, str]:
        """Every written file's SHA-256, once all are in place; the writer's error if
        it failed."""
        self.join()
        if self._error is not None:
            raise self._error
        return dict(self._hashes)

    def join(self) -> None:
        if self._thread.is_alive():
            self._thread.join()
