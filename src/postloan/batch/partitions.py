"""The close's partition loop: each book partition's states and partition steps,
computed two partitions at a time, spilled and reported in partition order.

A partition's work is mostly short Polars calls and Python glue between them
(a single core's worth: on the 1M-loan book the loop kept one of the two cores
idle), with the compiled kernel's loops in between. Two partitions computed on
two threads fill the other core: Polars and the kernel release the GIL, and
nothing one partition computes depends on another (the peers of split borrowers
are computed before the loop). The results are taken in partition order, so the
spill, the progress reports and the crash-test checkpoints come in the same
order as with one worker, and the outputs are the same bytes.

Memory: at most ``workers`` partitions are computed at once, one more is read
ahead and one is being spilled, so the loop holds ``workers + 2`` partitions'
frames at most (the book mirror's partitions are 62,500 loans by default).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from postloan.batch.book import BookFrames, read_partition
from postloan.batch.engines import compute_state_pair, compute_states
from postloan.batch.spill import Spill
from postloan.batch.steps import DEFAULT_WORKERS, Step, StepContext
from postloan.batch.steps.events import COMPARED
from postloan.config import Settings
from postloan.domain.policy import ServicingPolicy


class StageTimer:
    """Seconds spent per stage (reported once per date, as the ``timings`` event).
    With two partitions at once, a stage's seconds are the sum over partitions, so
    the loop's stages add up to more than its wall time."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self.mark = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.add(stage, now - self.mark)
        self.mark = now

    def add(self, stage: str, seconds: float) -> None:
        self.spent[stage] = round(self.spent.get(stage, 0.0) + seconds, 3)


@dataclass(frozen=True, slots=True)
class PartitionPlan:
    """What every partition of a date is computed with (read-only, shared by the
    workers). ``inputs`` is the run's ``_Inputs`` (yesterday's states, the DPD and
    contact history, the split borrowers' peers); ``spark`` the folder of the states
    the Spark executors wrote, when that engine computed them."""

    business_date: date
    policy: ServicingPolicy
    settings: Settings
    steps: tuple[Step, ...]
    spilled: frozenset[str]
    inputs: Any
    engine: str
    master: str | None = None
    spark: Path | None = None
    names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", frozenset(s.name for s in self.steps))


@dataclass(frozen=True, slots=True)
class PartitionResult:
    index: int
    frames: dict[str, pl.DataFrame]  # the frames to spill
    loans: int
    seconds: dict[str, float]


def compute_partition(plan: PartitionPlan, index: int, frames: BookFrames) -> PartitionResult:
    """One partition: its states (and yesterday's, for the roll events), its history
    slices, then every partition-scope step in order."""
    timer = StageTimer()
    names, inputs = plan.names, plan.inputs
    ctx = StepContext(plan.business_date, plan.policy, {}, plan.settings)
    ctx.frames.update(
        loans=frames.loans,
        schedules=frames.schedules,
        transactions=frames.transactions,
        marks=frames.marks,
    )
    ids = frames.loans.select("loan_id")
    day, policy, engine, master = plan.business_date, plan.policy, plan.engine, plan.master
    if plan.spark is not None:  # computed on the executors before the loop
        from postloan.batch.spark_engine import read_state_slice

        ctx.frames["state"] = read_state_slice(plan.spark / "state", ids)
    elif "ROLL_EVENTS" in names and inputs.prev_path is None:
        # no snapshot of D−1: one kernel pass yields both days' states
        prev, state = compute_state_pair(frames, day, policy, engine, master)
        ctx.frames["state"], ctx.frames["prev_state"] = state, prev.select(COMPARED)
    else:
        ctx.frames["state"] = compute_states(frames, day, policy, engine, master)
    timer.lap("state")
    if "ROLL_EVENTS" in names and "prev_state" not in ctx.frames:
        if plan.spark is not None and inputs.prev_path is None:
            from postloan.batch.spark_engine import read_state_slice

            ctx.frames["prev_state"] = read_state_slice(plan.spark / "prev", ids).select(COMPARED)
        else:
            ctx.frames["prev_state"] = inputs.prev_state(frames, policy, engine, master)
    timer.lap("prev_state")
    if "FEATURES" in names:
        ctx.frames["history"] = inputs.history(ids)
        ctx.frames.update(inputs.contact_history(ids))
        if inputs.peers is not None:
            ctx.frames["peer_state"] = inputs.peers.filter(pl.col("part") != index)
        timer.lap("history")
    for step in plan.steps:
        if step.scope == "partition":
            step.run(ctx)
            timer.lap(step.name)
    kept = {key: ctx.frames[key] for key in sorted(plan.spilled) if key in ctx.frames}
    return PartitionResult(index, kept, ctx.frames["state"].height, timer.spent)


class ReadAhead:
    """The book mirror's partitions in order, each read on a thread while earlier
    ones are computed (Parquet decoding releases the GIL), one partition ahead."""

    def __init__(self, root: Path, parts: int) -> None:
        self.root = root
        self.parts = parts
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="eod-read")
        self.pending: Future[BookFrames] | None = (
            self.pool.submit(read_partition, root, 0) if parts else None
        )

    def take(self, index: int) -> BookFrames:
        if self.pending is None:
            self.pending = self.pool.submit(read_partition, self.root, index)
        try:
            frames = self.pending.result()
        except BaseException:
            self.close()
            raise
        if index + 1 < self.parts:
            self.pending = self.pool.submit(read_partition, self.root, index + 1)
        else:
            self.pending = None
            self.close()
        return frames

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def run_partitions(
    plan: PartitionPlan,
    ahead: ReadAhead,
    spill: Spill,
    timer: StageTimer,
    done: Callable[[int], None],
    workers: int = DEFAULT_WORKERS,
) -> int:
    """Every partition of ``ahead``'s mirror through :func:`compute_partition`, up to
    ``workers`` at once; each result is spilled on a thread (Arrow IPC writes release
    the GIL) and ``done(index)`` is called, in partition order, on the calling thread.
    Returns the number of loans."""
    loans = 0
    running: deque[Future[PartitionResult]] = deque()
    spill_writer = ThreadPoolExecutor(1, thread_name_prefix="eod-spill")
    pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="eod-part")
    spilling: Future[None] | None = None

    def finish_oldest() -> None:
        nonlocal loans, spilling
        result = running.popleft().result()
        for stage, seconds in result.seconds.items():
            timer.add(stage, seconds)
        timer.lap("wait")
        if spilling is not None:
            spilling.result()  # at most one partition's frames wait to be written
        spilling = spill_writer.submit(_spill_partition, spill, result.index, result.frames)
        timer.lap("spill")
        loans += result.loans
        done(result.index)

    try:
        for index in range(ahead.parts):
            frames = ahead.take(index)  # and the next partition starts loading
            timer.lap("read_book")
            running.append(pool.submit(compute_partition, plan, index, frames))
            del frames
            if len(running) >= max(1, workers):
                finish_oldest()
        while running:
            finish_oldest()
        if spilling is not None:
            spilling.result()
        timer.lap("spill")
    finally:
        for future in running:
            future.cancel()
        pool.shutdown(wait=True)
        spill_writer.shutdown(wait=True)
        ahead.close()
    return loans


def _spill_partition(spill: Spill, index: int, frames: dict[str, pl.DataFrame]) -> None:
    for key, frame in frames.items():
        spill.put(key, index, _loan_order(frame))


def _loan_order(frame: pl.DataFrame) -> pl.DataFrame:
    """A partition's frame in loan-id order (ties keep the step's order)."""
    if "loan_id" in frame.columns and frame.height > 1:
        return frame.sort("loan_id", maintain_order=True)
    return frame
