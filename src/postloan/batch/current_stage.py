"""A first close's ``loan_state_current`` rows, written ahead by a worker process (SQLite).

Into an empty table (a first close, or the recompute after an import) the close
writes every loan's row: 1M rows cost ~2.4 s of CPU, of which SQLite's own work
is under a third (an ``INSERT … SELECT`` of the same rows takes ~0.7 s); the
rest is Python binding the values one by one. So a worker process writes the
rows from the run's spilled state into a scratch SQLite file (no journal, no
index) while the close runs its other commit steps on the other core, and the
close copies them with one ``INSERT … SELECT`` inside its own transaction. The
scratch file is attached before that transaction begins (SQLite refuses
``ATTACH`` inside one) and detached after it ends. If the worker fails, the
close inserts the rows itself: the same rows either way.

The worker runs this file as a script (``python -I …/current_stage.py TARGET STAMP
COLUMNS PIECE…``, columns comma-separated, pieces in order), so it starts with
Polars and ``sqlite3`` only, not the ``postloan`` package (~1 s of imports).
"""

from __future__ import annotations

import gc
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from sqlalchemy import Connection

#: From this many loans the worker is worth its start-up (~0.5 s).
MIN_ROWS = 100_000
ALIAS = "eod_stage"
TABLE = "current_rows"
ROWS_PER_STATEMENT = 256


def current_rows(piece: pl.DataFrame, stamp: object) -> pl.DataFrame:
    """A spilled state piece as ``loan_state_current`` rows (``stamp``: ``updated_at``)."""
    return piece.with_columns(
        pl.col("ifrs9_stage").cast(pl.Int32), pl.lit(stamp).alias("updated_at")
    )


class StagedCurrent:
    """The worker writing ``TABLE`` into ``path``, and the copy into the close."""

    def __init__(self, path: Path, columns: list[str], process: subprocess.Popen[bytes]) -> None:
        self.path = path
        self.columns = columns
        self.process = process
        self.attached = False

    @classmethod
    def start(cls, pieces: list[Path], path: Path, columns: list[str], stamp: str) -> StagedCurrent:
        """Create the scratch file with its (untyped) table, then start the worker."""
        path.unlink(missing_ok=True)
        with sqlite3.connect(path) as scratch:
            scratch.execute(f"CREATE TABLE {TABLE} ({', '.join(columns)})")
        scratch.close()
        args = [sys.executable, "-I", __file__, str(path), stamp, ",".join(columns)]
        args += [str(p) for p in pieces]
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return cls(path, columns, process)

    def attach(self, conn: Connection) -> None:
        conn.exec_driver_sql(f"ATTACH DATABASE ? AS {ALIAS}", (str(self.path),))
        self.attached = True

    def copy_into(self, conn: Connection, table: str) -> bool:
        """Wait for the worker and copy its rows into ``table``; False if it failed."""
        if self.process.wait() != 0:
            return False
        names = ", ".join(self.columns)
        conn.exec_driver_sql(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {ALIAS}.{TABLE} ORDER BY rowid"
        )
        return True

    def detach(self, conn: Connection) -> None:
        """Outside the transaction, after it ended (committed or not)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.attached:
            conn.exec_driver_sql(f"DETACH DATABASE {ALIAS}")
            conn.commit()
            self.attached = False
        self.path.unlink(missing_ok=True)


def write(target: Path, stamp: str, columns: list[str], pieces: list[Path]) -> int:
    """The worker: the spilled state pieces' rows into ``target``'s ``TABLE``, in order,
    values as the close binds them on SQLite (dates as ISO text)."""
    gc.disable()  # millions of short-lived values, none in a cycle (as in the close)
    scratch = sqlite3.connect(target, isolation_level=None)
    scratch.execute("PRAGMA journal_mode=OFF")  # a scratch file: rebuilt on any failure
    scratch.execute("PRAGMA synchronous=OFF")
    width = len(columns)
    group = "(" + ", ".join("?" for _ in range(width)) + ")"
    step = ROWS_PER_STATEMENT * width
    many = f"INSERT INTO {TABLE} VALUES {', '.join([group] * ROWS_PER_STATEMENT)}"
    rows = 0
    scratch.execute("BEGIN")
    for path in pieces:
        piece = _read(path, [c for c in columns if c != "updated_at"])
        frame = _as_text_dates(current_rows(piece, stamp)).select(columns)
        for chunk in frame.iter_slices(78 * ROWS_PER_STATEMENT):
            values = _flat(chunk)
            full = len(values) // step * step
            scratch.executemany(many, [values[i : i + step] for i in range(0, full, step)])
            if full < len(values):
                groups = ", ".join([group] * ((len(values) - full) // width))
                scratch.execute(f"INSERT INTO {TABLE} VALUES {groups}", values[full:])
        rows += frame.height
    scratch.execute("COMMIT")
    scratch.close()
    return rows


def _read(path: Path, columns: list[str]) -> pl.DataFrame:
    if path.suffix == ".parquet":
        return pl.read_parquet(path, columns=columns)
    return pl.read_ipc(path, columns=columns)


def _as_text_dates(frame: pl.DataFrame) -> pl.DataFrame:
    """Dates as ISO text, as ``postloan.store.bulk.driver_frame`` binds them on SQLite."""
    dates = [c for c, t in frame.schema.items() if t == pl.Date]
    return frame.with_columns(pl.col(c).dt.strftime("%Y-%m-%d") for c in dates)


def _flat(frame: pl.DataFrame) -> list[object]:
    """``postloan.store.bulk.flat_params``: the values row after row, a column at a time."""
    width = frame.width
    out: list[object] = [None] * (frame.height * width)
    for j, series in enumerate(frame.get_columns()):
        out[j::width] = series.to_list()
    return out


if __name__ == "__main__":
    target_arg, stamp_arg, names, *piece_args = sys.argv[1:]
    write(Path(target_arg), stamp_arg, names.split(","), [Path(p) for p in piece_args])
