"""A close-of-business run's working frames, spilled to Arrow IPC files as each
book partition finishes.

The runner keeps one partition in memory at a time: each step's frames for that
partition are written here (``put``) and read back later in partition order,
which is loan-id order because the book mirror's partitions are loan-id ranges.
Snapshots are then streamed from these pieces and the database upserts run a
piece at a time, so a 10M-loan date needs about one partition's memory plus
whatever a date-level step asks for (:class:`DateFrames` loads a frame only when
it is read).

The files are uncompressed Arrow IPC, not Parquet: they live for one run and
are read back whole, so encoding and compressing them (Parquet with LZ4 took
about six times as long to write) buys nothing but disk space, which a run
gives back when it ends.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import polars as pl

#: File name suffix of a spilled piece (Arrow IPC file format).
SUFFIX = ".arrow"


class Spill:
    """Per-partition frames of one run under ``root`` (created empty)."""

    def __init__(self, root: Path) -> None:
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        self.root = root

    def put(self, key: str, index: int, frame: pl.DataFrame) -> None:
        folder = self.root / key
        folder.mkdir(exist_ok=True)
        target = folder / f"part-{index:05d}{SUFFIX}"
        staging = folder / f".part-{index:05d}-{os.getpid()}.tmp"
        frame.write_ipc(staging, compression="uncompressed")
        staging.replace(target)  # a new file, never one rewritten under a reader

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and (self.root / key).is_dir()

    def files(self, key: str) -> list[Path]:
        return sorted((self.root / key).glob(f"part-*{SUFFIX}"))

    def pieces(self, key: str, columns: list[str] | None = None) -> Iterator[pl.DataFrame]:
        """The frames of ``key``, one per partition, in partition order."""
        for path in self.files(key):
            yield pl.read_ipc(path, columns=columns)

    def read(self, key: str, columns: list[str] | None = None) -> pl.DataFrame:
        """All partitions of ``key`` as one frame (loan-id order)."""
        parts = list(self.pieces(key, columns))
        return pl.concat(parts, how="vertical") if len(parts) > 1 else parts[0]

    def height(self, key: str) -> int:
        return sum(pl.scan_ipc(p).select(pl.len()).collect().item() for p in self.files(key))

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class DateFrames(dict[str, pl.DataFrame]):
    """The date's frames as a mapping: frames set by date-level steps, plus every
    spilled frame, read from the spill each time it is looked up and not kept, so
    the date-level steps and commit hooks hold one whole-date frame at a time, not
    all of them (at 10M loans each is gigabytes)."""

    def __init__(self, spill: Spill) -> None:
        super().__init__()
        self.spill = spill

    def __missing__(self, key: str) -> pl.DataFrame:
        if key not in self.spill:
            raise KeyError(key)
        return self.spill.read(key)

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key) or key in self.spill

    def get(self, key: str, default: pl.DataFrame | None = None) -> pl.DataFrame | None:  # type: ignore[override]
        return self[key] if key in self else default
