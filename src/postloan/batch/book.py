"""The Parquet mirror of the book: loans, schedules, transactions and marks in
loan-id range partitions under ``$POSTLOAN_HOME/book``.

Reading 36M schedule rows back from SQLite takes minutes; Parquet takes
seconds, and a partition holds whole loans, so the close of business can load
one partition's four tables, compute, write and move on (bounded memory for a
book larger than memory). Layout::

    book/manifest.json                   {"partitions": N, "loans": L}
    book/split_borrowers.parquet         loans whose borrower spans partitions
    book/part-NNNN/loans.parquet         (and schedules, transactions, marks)

The mirror is rewritten after each successful import, into a staging folder
that replaces the old one by rename, so a reader sees the old or the new book,
never a mix. Partitions are contiguous ranges of loan ids, of equal loan
counts: partition ``k`` holds the loans ranked ``[k·L/N, (k+1)·L/N)`` by id. So the
close of business can write each partition's outputs as it finishes and still
produce files sorted by loan id, the same bytes whatever N is.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import polars as pl

from postloan.domain.errors import NotFound

if TYPE_CHECKING:
    from postloan.store.db import Store

TABLES = ("loans", "schedules", "transactions", "marks")
#: Loans per partition when the caller does not choose the partition count. Small
#: enough that the close's partitions (two computed at once, one read ahead, one
#: spilled) fit in about 2 GB at 1M loans and reuse the same memory partition after
#: partition (250k-loan partitions took 6.7 GB and faulted in twice the pages; see
#: docs/benchmarks.md), large enough that per-call overheads stay small.
LOANS_PER_PARTITION = 62_500
MANIFEST = "manifest.json"
#: The loans whose borrower has loans in other partitions (``split_borrowers``).
SPLIT_FILE = "split_borrowers.parquet"
SPLIT_SCHEMA = {"loan_id": pl.Utf8, "borrower_id": pl.Utf8, "part": pl.Int32}
#: The mirror is a working copy read whole by every close of business: LZ4 decodes
#: the 36M-row schedules about 30% faster than zstd, for files about 40% larger.
COMPRESSION: Final = "lz4"


@dataclass(frozen=True, slots=True)
class BookFrames:
    """The four input frames of a set of whole loans (the store's batch frame schemas)."""

    loans: pl.DataFrame
    schedules: pl.DataFrame
    transactions: pl.DataFrame
    marks: pl.DataFrame

    def as_tuple(self) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        return (self.loans, self.schedules, self.transactions, self.marks)


def book_dir(home: Path) -> Path:
    return home / "book"


def partition_of(loan_ids: pl.Series, partitions: int) -> pl.Series:
    """Each loan id's partition number: its rank by id, cut into ``partitions``
    ranges of equal size (ids are unique)."""
    n = loan_ids.len()
    rank = loan_ids.rank("ordinal").cast(pl.Int64) - 1
    return (rank * partitions // max(n, 1)).cast(pl.Int32).rename("part")


def write_book(frames: BookFrames, root: Path, partitions: int | None = None) -> int:
    """Replace the mirror at ``root`` with ``frames`` split into loan-id ranges;
    returns the number of partitions written."""
    n = partitions or max(1, -(-frames.loans.height // LOANS_PER_PARTITION))
    parts = pl.DataFrame(
        {"loan_id": frames.loans["loan_id"], "part": partition_of(frames.loans["loan_id"], n)}
    )
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = root.parent / f".{root.name}-staging-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    tagged = {
        name: frame.join(parts, on="loan_id", how="inner")
        for name, frame in zip(TABLES, frames.as_tuple(), strict=True)
    }
    for i in range(n):
        folder = staging / f"part-{i:04d}"
        folder.mkdir()
        for name, frame in tagged.items():
            piece = frame.filter(pl.col("part") == i).drop("part")
            piece.write_parquet(
                folder / f"{name}.parquet", compression=COMPRESSION, statistics=True
            )
    if n > 1:  # which loans' borrowers straddle partitions: asked by every close
        _split(
            frames.loans.select("loan_id", "borrower_id").join(parts, on="loan_id")
        ).write_parquet(staging / SPLIT_FILE, compression=COMPRESSION)
    manifest = {"partitions": n, "loans": frames.loans.height}
    (staging / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    old = root.parent / f".{root.name}-old-{os.getpid()}"
    if root.exists():
        root.rename(old)
    staging.rename(root)
    if old.exists():
        shutil.rmtree(old)
    return n


def partition_count(root: Path) -> int:
    """How many partitions the mirror at ``root`` holds."""
    path = root / MANIFEST
    if not path.exists():
        raise NotFound(
            f"no book mirror under {root}; import the feeds with `postloan import DIR` first"
        )
    return int(json.loads(path.read_text(encoding="utf-8"))["partitions"])


def read_partition(root: Path, index: int) -> BookFrames:
    """One partition's four tables (whole loans)."""
    folder = root / f"part-{index:04d}"
    loaded = [pl.read_parquet(folder / f"{name}.parquet") for name in TABLES]
    return BookFrames(*loaded)


def split_borrowers(root: Path) -> pl.DataFrame:
    """``loan_id, borrower_id, part`` of every loan whose borrower also has loans in
    another partition (partitions are loan-id ranges, so a borrower's loans may be
    apart); empty for a one-partition mirror or when no borrower is split. Written
    with the mirror (:data:`SPLIT_FILE`); found from the loans files for a mirror
    written without it."""
    parts = partition_count(root)
    if parts < 2:
        return pl.DataFrame(schema=SPLIT_SCHEMA)
    if (root / SPLIT_FILE).exists():
        return pl.read_parquet(root / SPLIT_FILE)
    owners = pl.concat(
        [
            pl.scan_parquet(root / f"part-{i:04d}" / "loans.parquet")
            .select("loan_id", "borrower_id")
            .with_columns(pl.lit(i, dtype=pl.Int32).alias("part"))
            for i in range(parts)
        ]
    )
    return _split(owners)


def _split(owners: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """The rows of ``owners`` (``loan_id, borrower_id, part``) whose borrower has
    loans in more than one part, in loan-id order."""
    return (
        owners.lazy()
        .filter(pl.col("borrower_id").is_not_null())
        .filter(pl.col("part").n_unique().over("borrower_id") > 1)
        .sort("loan_id")
        .select("loan_id", "borrower_id", "part")
        .collect()
        .cast(SPLIT_SCHEMA)  # type: ignore[arg-type]
    )


def read_loans(root: Path, loan_ids: pl.DataFrame, parts: list[int]) -> BookFrames:
    """The four tables of ``loan_ids`` (whole loans) from partitions ``parts``."""
    tables = []
    for name in TABLES:
        scans = [pl.scan_parquet(root / f"part-{i:04d}" / f"{name}.parquet") for i in parts]
        tables.append(
            pl.concat(scans).join(loan_ids.lazy(), on="loan_id", how="semi").collect()
            if scans
            else pl.read_parquet(root / "part-0000" / f"{name}.parquet").clear()
        )
    return BookFrames(*tables)


def iter_partitions(root: Path) -> Iterator[BookFrames]:
    for i in range(partition_count(root)):
        yield read_partition(root, i)


def read_book(root: Path) -> BookFrames:
    """The whole mirror in memory (small books and tests)."""
    parts = list(iter_partitions(root))
    return BookFrames(
        *(
            pl.concat([getattr(p, name) for p in parts], how="vertical").sort("loan_id")
            for name in TABLES
        )
    )


def store_frames(store: Store) -> BookFrames:
    """The book as the store's batch frames (``loans_frame`` …)."""
    from postloan.store.repository import (
        loans_frame,
        marks_frame,
        schedules_frame,
        transactions_frame,
    )

    with store.begin() as conn:
        return BookFrames(
            loans_frame(conn),
            schedules_frame(conn),
            transactions_frame(conn),
            marks_frame(conn),
        )


def refresh_book(store: Store, partitions: int | None = None) -> int:
    """Rewrite ``$POSTLOAN_HOME/book`` from the operational store (after an import)."""
    return write_book(store_frames(store), book_dir(store.settings.home), partitions)
