"""A reader beside the partition loop gets each spilled piece once its partition is
marked done, in partition order, and is released with an error if the run stops."""

from __future__ import annotations

import threading
from pathlib import Path

import polars as pl
import pytest

from postloan.batch.spill import RunStopped, Spill


def _piece(i: int) -> pl.DataFrame:
    return pl.DataFrame({"loan_id": [f"L{i}"], "dpd": [i]})


def test_pieces_arrive_in_partition_order_as_partitions_finish(tmp_path: Path) -> None:
    spill = Spill(tmp_path / "spill")
    got: list[int] = []
    reader = threading.Thread(
        target=lambda: got.extend(p["dpd"][0] for p in spill.pieces_when_ready("state", 3))
    )
    reader.start()
    spill.put("state", 1, _piece(1))
    spill.mark_done(1)  # partition 1 before 0: the reader still waits for 0
    reader.join(0.2)
    assert reader.is_alive() and got == []
    spill.put("state", 0, _piece(0))
    spill.mark_done(0)
    spill.mark_done(2)  # partition 2 spilled no "state": skipped
    reader.join(5)
    assert not reader.is_alive()
    assert got == [0, 1]


def test_a_stopped_run_releases_the_reader(tmp_path: Path) -> None:
    spill = Spill(tmp_path / "spill")
    errors: list[BaseException] = []

    def read() -> None:
        try:
            list(spill.pieces_when_ready("state", 2))
        except RunStopped as err:
            errors.append(err)

    reader = threading.Thread(target=read)
    reader.start()
    spill.fail(ValueError("a step failed"))
    reader.join(5)
    assert not reader.is_alive()
    assert len(errors) == 1 and "partition 0" in str(errors[0])
    with pytest.raises(RunStopped):
        next(spill.pieces_when_ready("state", 1))
