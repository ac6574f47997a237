"""The close-of-business runner: loads, partitions, runs the steps, writes, commits.

For one business date D it streams the book mirror's partitions (whole loans):
computes the loan state (steps 1–5, ``engines.compute_states``), yesterday's
state for ROLL_EVENTS (the D−1 ``loan_state`` snapshot if there is one, else
computed from the book), the DPD history for FEATURES (earlier snapshots), and
runs the enabled steps (two partitions at once: ``partitions``). Then, in this
order:

1. the snapshot partitions of D (``loan_state``, ``loan_events``, ``features``,
   ``kpi``), each replaced atomically — on a thread (``snapshot_writer``), while
   the transaction below does its work;
2. one database transaction: upsert ``loan_state_current`` and ``loan_events``
   (unique ``event_id``) with an audit entry per new classification or stage
   change, the steps' commit hooks, then — once every file of step 1 is in place
   — move the watermark ``last_closed_business_date``, mark the ``eod_runs`` row
   done with the files' SHA-256, sign an audit checkpoint and commit.

Everything is a function of the book and D, so a crash anywhere leaves either
the old outputs or files a re-run replaces with identical bytes, and the
watermark only moves in the committing transaction. ``POSTLOAN_EOD_KILL_AT``
(``stage`` or ``stage@YYYY-MM-DD``) makes the process SIGKILL itself at a stage,
for the crash tests; :data:`STAGES` lists them.
"""

from __future__ import annotations

import gc
import json
import os
import secrets
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Connection, insert, select, update

from postloan.audit import write_checkpoint
from postloan.batch.audit_trail import existing_event_ids, record_changes
from postloan.batch.book import (
    TABLES,
    BookFrames,
    book_dir,
    partition_count,
    read_loans,
    refresh_book,
    split_borrowers,
)
from postloan.batch.current_stage import MIN_ROWS as STAGE_MIN_ROWS
from postloan.batch.current_stage import StagedCurrent, current_rows
from postloan.batch.engines import compute_state_pair, compute_states
from postloan.batch.partitions import (
    PartitionPlan,
    ReadAhead,
    StageTimer,
    run_partitions,
)
from postloan.batch.snapshot_writer import SnapshotWriter
from postloan.batch.spill import DateFrames, Spill
from postloan.batch.steps import (
    CommitContext,
    Step,
    StepContext,
    partition_count_setting,
    partition_workers,
    resolve_steps,
    snapshot_tables,
)
from postloan.batch.steps.events import COMPARED
from postloan.batch.steps.features import HISTORY_SCHEMA, empty_history
from postloan.domain.errors import ConfigError, NotFound, ValidationError
from postloan.domain.policy import ServicingPolicy
from postloan.policy_config import load_policy, read_config
from postloan.store import tables as t
from postloan.store.bulk import insert as bulk_insert
from postloan.store.bulk import upsert
from postloan.store.db import Store
from postloan.store.snapshots import PART_FILE, SnapshotStore

WATERMARK = "eod"
#: Folder under ``$POSTLOAN_HOME`` for a run's per-partition frames (see ``spill``).
WORK_DIR = "eod-work"
KILL_ENV = "POSTLOAN_EOD_KILL_AT"
#: Output tables in the snapshot store, and the frame each one holds.
OUTPUTS = {"loan_state": "state", "loan_events": "events", "features": "features", "kpi": "kpi"}
STAGES = (
    "start",
    "partition",
    "snapshot:loan_state",
    "snapshot:loan_events",
    "snapshot:features",
    "snapshot:kpi",
    "db:upsert",
    "db:commit",
    "done",
)
HISTORY_DAYS = 365
CURRENT_COLUMNS = (
    "loan_id",
    "business_date",
    "days_past_due",
    "overdue_since",
    "bucket",
    "classification",
    "ifrs9_stage",
    "principal_outstanding",
    "overdue_principal",
    "overdue_interest",
    "penalty_outstanding",
)

Reporter = Callable[..., None]


def utc_now() -> datetime:
    return datetime.now(UTC)


def _silent(_event: str, **_fields: Any) -> None:
    """The default reporter: report nothing."""


def checkpoint(stage: str, business_date: date) -> None:
    """Kill this process here when ``POSTLOAN_EOD_KILL_AT`` names the stage (crash tests)."""
    wanted = os.environ.get(KILL_ENV)
    if not wanted:
        return
    name, _, on = wanted.partition("@")
    if name == stage and (not on or on == business_date.isoformat()):
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass(frozen=True, slots=True)
class EodResult:
    business_date: date
    run_id: str
    loans: int
    events: int
    content_hashes: dict[str, str] = field(default_factory=dict)


def last_closed_business_date(conn: Connection) -> date | None:
    """The watermark: the last business date whose outputs are all committed."""
    w = t.Watermark
    found = conn.execute(
        select(w.last_closed_business_date).where(w.name == WATERMARK)
    ).scalar_one_or_none()
    return found


def plan_dates(
    watermark: date | None,
    on: date | None = None,
    start: date | None = None,
    end: date | None = None,
) -> list[date]:
    """The business dates a ``postloan eod`` invocation closes, in order."""
    if on is not None:
        if start is not None or end is not None:
            raise ValidationError("give either --date or --from/--to, not both")
        return [on]
    if end is None:
        raise ValidationError(
            "say which date to close: --date YYYY-MM-DD, or --to YYYY-MM-DD "
            "(with --from, or continuing from the last closed business date)"
        )
    if start is None:
        if watermark is None:
            raise ValidationError(
                "no business date has been closed yet; start with --date YYYY-MM-DD "
                "or --from YYYY-MM-DD"
            )
        start = watermark + timedelta(days=1)
    if start > end:
        if watermark is not None and end <= watermark:
            return []  # already closed up to --to
        raise ValidationError(f"--from {start} is after --to {end}")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


class _Inputs:
    """Yesterday's states and the DPD history from the snapshots, read a
    partition (a loan-id range) at a time."""

    def __init__(self, snapshots: SnapshotStore, business_date: date) -> None:
        self.snapshots = snapshots
        self.business_date = business_date
        prev = business_date - timedelta(days=1)
        self.prev_path: Path | None = None
        self.contacts: pl.DataFrame | None = None
        self.promises: pl.DataFrame | None = None
        self.peers: pl.DataFrame | None = None
        if prev in snapshots.dates("loan_state"):
            self.prev_path = snapshots.partition_dir("loan_state", prev) / PART_FILE

    def prev_slice(self, loan_ids: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
        """Yesterday's snapshot rows of ``loan_ids`` (the file is in loan-id order, so
        the range filter skips the other row groups)."""
        assert self.prev_path is not None
        ids = loan_ids["loan_id"]
        return (
            pl.scan_parquet(self.prev_path)
            .select(list(dict.fromkeys(["loan_id", *columns])))
            .filter(pl.col("loan_id").is_between(pl.lit(ids.min()), pl.lit(ids.max())))
            .join(loan_ids.lazy(), on="loan_id", how="semi")
            .collect()
        )

    def prev_state(
        self,
        frames: BookFrames,
        policy: ServicingPolicy,
        engine: str,
        master: str | None,
    ) -> pl.DataFrame:
        if self.prev_path is not None:
            return self.prev_slice(frames.loans.select("loan_id"), list(COMPARED)).select(COMPARED)
        day = self.business_date - timedelta(days=1)
        return compute_states(frames, day, policy, engine, master).select(COMPARED)

    def load_peers(
        self,
        root: Path,
        policy: ServicingPolicy,
        engine: str,
        spark_states: Path | None = None,
    ) -> None:
        """The states on the date of loans whose borrower has loans in more than one
        partition, so each partition's borrower features see the borrower's other
        loans (a loan's state does not depend on the other loans computed with it).
        Computed a partition at a time and kept as five narrow columns, so memory
        stays bounded however many borrowers are split; with Spark the executors'
        states are read instead."""
        split = split_borrowers(root)
        if split.height == 0:
            return
        kernel = "reference" if engine == "reference" else "local"  # the same states
        pieces = []
        for part in sorted(set(split["part"].to_list())):
            ids = split.filter(pl.col("part") == part).select("loan_id")
            if spark_states is not None:
                from postloan.batch.spark_engine import read_state_slice

                states = read_state_slice(spark_states, ids)
            else:
                frames = read_loans(root, ids, [part])
                states = compute_states(frames, self.business_date, policy, kernel)
            pieces.append(states.select("loan_id", "days_past_due", "status"))
        self.peers = pl.concat(pieces).join(split, on="loan_id")

    def load_contact_history(self, store: Store) -> None:
        """The contact attempts and promises of the last 90 days (from the
        operational store, once per date) for the contact features."""
        from postloan.risk.contact_history import contact_frames

        with store.begin() as conn:
            self.contacts, self.promises = contact_frames(conn, self.business_date)

    def contact_history(self, loan_ids: pl.DataFrame) -> dict[str, pl.DataFrame]:
        """This partition's rows of the contact history (empty before it is loaded)."""
        if self.contacts is None or self.promises is None:
            return {}
        return {
            "contacts": self.contacts.join(loan_ids, on="loan_id", how="semi"),
            "promises": self.promises.join(loan_ids, on="loan_id", how="semi"),
        }

    def history(self, loan_ids: pl.DataFrame) -> pl.DataFrame:
        end = self.business_date - timedelta(days=1)
        start = self.business_date - timedelta(days=HISTORY_DAYS - 1)
        try:
            lazy = self.snapshots.scan("loan_state", start, end)
        except NotFound:
            return empty_history()
        # only days in arrears matter: the windows' max is at least today's DPD (≥ 0)
        # and arrears months count DPD > 0; this keeps the history read small
        ids = loan_ids["loan_id"]
        return (
            lazy.select(list(HISTORY_SCHEMA))
            .filter(pl.col("loan_id").is_between(pl.lit(ids.min()), pl.lit(ids.max())))
            .filter(pl.col("days_past_due") > 0)
            .join(loan_ids.lazy(), on="loan_id", how="semi")
            .collect()
        )


def _start_run(store: Store, business_date: date, engine: str, now: datetime) -> str:
    run_id = f"eod-{business_date.isoformat()}-{now.strftime('%Y%m%dT%H%M%S')}-"
    run_id += secrets.token_hex(3)
    with store.begin() as conn:
        conn.execute(
            insert(t.EodRun).values(
                run_id=run_id,
                business_date=business_date,
                engine=engine,
                status="running",
                started_at=now,
                loans=0,
                events=0,
            )
        )
    return run_id


def ensure_book(store: Store) -> None:
    """Build the Parquet book mirror from the store when there is none yet, or
    rebuild it when a service changed the book since (a restructuring, waiver or
    write-off applied on approval marks it stale)."""
    from postloan.collections.servicing import refresh_book_if_stale

    if refresh_book_if_stale(store):
        return
    try:
        partition_count(book_dir(store.settings.home))
    except NotFound:
        refresh_mirror(store)


def refresh_mirror(store: Store) -> int:
    """Rewrite the book mirror from the store with the configured partition count
    (``eod.partitions``); called after every successful import."""
    section = read_config(store.settings.config_file).get("eod")
    return refresh_book(store, partition_count_setting(section))


def run_date(
    store: Store,
    business_date: date,
    *,
    engine: str = "local",
    master: str | None = None,
    policy: ServicingPolicy | None = None,
    report: Reporter = _silent,
    clock: Callable[[], datetime] = utc_now,
) -> EodResult:
    """Close one business date; see the module docstring for the order of writes."""
    with _without_cycle_collection():
        return _close(store, business_date, engine, master, policy, report, clock)


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Python's cycle collector off for the close. The close builds millions of short
    lives (rows, dicts, tuples) that reference counting frees; the collector would
    walk every live object again and again as they pile up (measured: about 5% of the
    close's CPU on the 1M book, nearly all of it on the single-threaded commit)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _close(
    store: Store,
    business_date: date,
    engine: str,
    master: str | None,
    policy: ServicingPolicy | None,
    report: Reporter,
    clock: Callable[[], datetime],
) -> EodResult:
    settings = store.settings
    policy = policy or load_policy(settings)
    section = read_config(settings.config_file).get("eod")
    steps = resolve_steps(section)
    workers = partition_workers(section, engine)
    checkpoint("start", business_date)
    ensure_book(store)
    root = book_dir(settings.home)
    parts = partition_count(root)
    warming = _warm_kernel(root, business_date, policy) if engine == "local" else None
    # the first partition starts loading now, while the run is set up
    ahead = ReadAhead(root, parts) if engine != "spark" else None
    run_id = _start_run(store, business_date, engine, clock())
    snapshots = SnapshotStore(settings.snapshot_dir)
    inputs = _Inputs(snapshots, business_date)
    names = {s.name for s in steps}
    spilled = {"state", "events", "features"}
    for step in steps:
        if step.scope == "partition":
            spilled.update(step.writes)
    if "FEATURES" in names:
        inputs.load_contact_history(store)
    spill = Spill(settings.home / WORK_DIR)
    spark = _spark_states(root, spill, business_date, policy, master, inputs, names, engine)
    if "FEATURES" in names:
        inputs.load_peers(root, policy, engine, None if spark is None else spark / "state")
    report("date_start", date=business_date.isoformat(), partitions=parts, run_id=run_id)
    timer = StageTimer()
    plan = PartitionPlan(
        business_date,
        policy,
        settings,
        tuple(steps),
        frozenset(spilled),
        inputs,
        engine,
        master,
        spark,
    )

    def partition_done(index: int) -> None:
        checkpoint("partition", business_date)
        report("partition_done", date=business_date.isoformat(), partition=index + 1, of=parts)

    loans = run_partitions(
        plan, ahead or ReadAhead(root, parts), spill, timer, partition_done, workers
    )
    if warming is not None:
        warming.shutdown(wait=True)
    if "state" not in spill:
        raise NotFound("the book mirror has no partitions; import the feeds first")
    whole = StepContext(business_date, policy, DateFrames(spill), settings)
    for step in steps:
        if step.scope == "date":
            step.run(whole)
            timer.lap(step.name)
    tables = {"loan_state": "state"}
    if "ROLL_EVENTS" in names:
        tables["loan_events"] = "events"
    if "FEATURES" in names:
        tables["features"] = "features"
    if "KPI_SNAPSHOT" in names:
        tables["kpi"] = "kpi"
    for step in steps:
        tables.update({key: key for key in step.snapshot})
    every = (*OUTPUTS, *snapshot_tables())
    writer = SnapshotWriter(
        snapshots, business_date, every, tables, spill, whole.frames, checkpoint
    ).start()  # the files are written while the transaction does its work
    try:
        now = clock()
        hooks = [step for step in steps if step.commit is not None]
        context = CommitContext(business_date, run_id, now, settings, whole.frames, writer.wait_for)
        events = _commit(
            store,
            run_id,
            business_date,
            spill,
            loans,
            writer.hashes,
            now,
            inputs,
            hooks,
            context,
            timer,
        )
    finally:
        writer.join()  # never leave a half-written staging folder behind a failed commit
        timer.spent["snapshots"] = round(writer.seconds, 3)
    hashes = writer.hashes()
    report("snapshots_written", date=business_date.isoformat(), tables=sorted(hashes))
    spill.remove()
    report("timings", date=business_date.isoformat(), seconds=timer.spent)
    checkpoint("done", business_date)
    report("date_done", date=business_date.isoformat(), loans=loans, events=events)
    return EodResult(business_date, run_id, loans, events, hashes)


def _spark_states(
    root: Path,
    spill: Spill,
    business_date: date,
    policy: ServicingPolicy,
    master: str | None,
    inputs: _Inputs,
    names: set[str],
    engine: str,
) -> Path | None:
    """With ``engine="spark"``: the executors read the book mirror and write the
    date's states (and yesterday's, when ROLL_EVENTS has no snapshot of it),
    sorted by loan id, into the run's working folder (``POSTLOAN_SPARK_SCRATCH``
    overrides it: on a cluster both it and the book must be shared storage)."""
    if engine != "spark":
        return None
    try:
        from postloan.batch import spark_engine
    except ImportError as err:
        raise ConfigError(
            f"the Spark engine is not available ({err}); install pyspark or use --engine local"
        ) from None
    scratch = os.environ.get("POSTLOAN_SPARK_SCRATCH")
    out = (Path(scratch) / f"eod-{business_date.isoformat()}") if scratch else spill.root / "_spark"
    options: dict[str, Any] = {"ordered": True}
    if master is not None:
        options["master"] = master
    days = {"state": business_date}
    if "ROLL_EVENTS" in names and inputs.prev_path is None:
        days["prev"] = business_date - timedelta(days=1)
    for key, day in days.items():
        spark_engine.write_spark_states(root, out / key, day, policy, **options)
    return out


def _warm_kernel(root: Path, business_date: date, policy: ServicingPolicy) -> ThreadPoolExecutor:
    """Load the compiled loan-state kernel from numba's cache (about a second) on a
    thread while the run starts, by computing a few loans of the first partition and
    throwing the result away, so the first partition does not wait for the loading.
    A failure here is left for the real computation to report."""

    def warm() -> None:
        folder = root / "part-0000"
        loans = pl.scan_parquet(folder / "loans.parquet").head(8).collect()
        ids = loans.select("loan_id").lazy()
        heads = [pl.scan_parquet(folder / f"{name}.parquet").head(4096) for name in TABLES[1:]]
        rest = [head.join(ids, on="loan_id", how="semi") for head in heads]
        compute_state_pair(BookFrames(loans, *pl.collect_all(rest)), business_date, policy)

    pool = ThreadPoolExecutor(1, thread_name_prefix="eod-warm")
    pool.submit(warm)  # its outcome is not needed: a Future keeps any error to itself
    return pool


def _commit(
    store: Store,
    run_id: str,
    business_date: date,
    spill: Spill,
    loans: int,
    written: Callable[[], dict[str, str]],
    now: datetime,
    inputs: _Inputs,
    hooks: list[Step],
    context: CommitContext,
    timer: StageTimer | None = None,
) -> int:
    """One transaction: current state and events (a partition at a time), the
    steps' commit hooks, watermark, run record. ``written`` returns the snapshot
    files' hashes once they are all in place; the transaction commits after that.
    Returns the number of events."""
    events = 0
    timer = timer or StageTimer()
    staged = _stage_current(store, business_date, spill, now, inputs)
    with _transaction(store, staged) as conn:
        checkpoint("db:upsert", business_date)
        mark = last_closed_business_date(conn)
        # the worker's rows are copied at the end, if the table is still empty
        copy = staged is not None and _first_write(conn, mark, business_date, inputs)
        if (mark is None or business_date >= mark) and not copy:
            # an older date never rewinds current state
            _upsert_current(conn, business_date, spill, now, inputs, mark)
        timer.lap("db:state")
        if "events" in spill:
            # the date's events at once (a few per hundred loans): one audit batch and
            # one upsert, in the same loan-id order as the pieces
            known = existing_event_ids(conn, business_date)
            dated = spill.read("events")
            moved = dated.select("loan_id").unique()
            state = pl.concat(
                piece.join(moved, on="loan_id", how="semi")
                for piece in spill.pieces("state", ["loan_id", "classification_reasons"])
            )
            record_changes(conn, dated, state, known, business_date)
            upsert(conn, "loan_events", dated, ["event_id"])
            events = dated.height
        timer.lap("db:events")
        for step in hooks:
            assert step.commit is not None
            checkpoint(f"db:commit:{step.name}", business_date)
            step.commit(conn, context)
            timer.lap(f"db:{step.name}")
        if copy:
            assert staged is not None
            if not staged.copy_into(conn, "loan_state_current"):  # the worker failed
                _upsert_current(conn, business_date, spill, now, inputs, mark)
            timer.lap("db:state")
        if mark is None:
            conn.execute(
                insert(t.Watermark).values(
                    name=WATERMARK, last_closed_business_date=business_date, updated_at=now
                )
            )
        elif business_date > mark:
            conn.execute(
                update(t.Watermark)
                .where(t.Watermark.name == WATERMARK)
                .values(last_closed_business_date=business_date, updated_at=now)
            )
        hashes = written()  # every snapshot file of the date is in place before the commit
        timer.lap("db:wait_snapshots")
        conn.execute(
            update(t.EodRun)
            .where(t.EodRun.run_id == run_id)
            .values(
                status="done",
                finished_at=now,
                loans=loans,
                events=events,
                content_hashes=json.dumps(hashes, sort_keys=True),
            )
        )
        write_checkpoint(conn, store.settings, now=now)  # signs the tree head of this close
        checkpoint("db:commit", business_date)
    timer.lap("db:commit")
    return events


def _upsert_current(
    conn: Connection,
    business_date: date,
    spill: Spill,
    now: datetime,
    inputs: _Inputs,
    mark: date | None,
) -> None:
    """Upsert ``loan_state_current``, a partition at a time. When the database
    holds yesterday's close (watermark D−1) and yesterday's snapshot is at hand,
    only the loans whose state changed are written, and one UPDATE moves the
    others' business date."""
    # SQLAlchemy keeps SQLite datetimes as naive UTC text; PostgreSQL takes the value
    stamp: object = _sqlite_stamp(now) if conn.dialect.name == "sqlite" else now
    yesterday = business_date - timedelta(days=1)
    changed_only = mark == yesterday and inputs.prev_path is not None
    if changed_only:
        lsc = t.LoanStateCurrent
        conn.execute(
            update(lsc).where(lsc.business_date == yesterday).values(business_date=business_date)
        )
    compared = [c for c in CURRENT_COLUMNS if c != "business_date"]
    # into an empty table (a first close, or the recompute after an import) nothing
    # can conflict: plain INSERTs skip the conflict clause's work per row
    empty = not changed_only and _is_empty(conn, "loan_state_current")
    for piece in spill.pieces("state", list(CURRENT_COLUMNS)):
        current = current_rows(piece, stamp)
        if changed_only:
            before = inputs.prev_slice(piece.select("loan_id"), compared)
            before = before.with_columns(pl.col("ifrs9_stage").cast(pl.Int32))
            current = current.join(before, on=compared, how="anti", nulls_equal=True)
        if empty:
            bulk_insert(conn, "loan_state_current", current)
        else:
            upsert(conn, "loan_state_current", current, ["loan_id"])


def _is_empty(conn: Connection, table: str) -> bool:
    return conn.exec_driver_sql(f"SELECT 1 FROM {table} LIMIT 1").first() is None


def _sqlite_stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _first_write(conn: Connection, mark: date | None, business_date: date, inputs: _Inputs) -> bool:
    """Whether this close writes every loan's row into an empty ``loan_state_current``
    (not an older date, not a daily run of changed rows, nothing there yet)."""
    if mark is not None and business_date < mark:
        return False
    if mark == business_date - timedelta(days=1) and inputs.prev_path is not None:
        return False
    return _is_empty(conn, "loan_state_current")


def _stage_current(
    store: Store, business_date: date, spill: Spill, now: datetime, inputs: _Inputs
) -> StagedCurrent | None:
    """On SQLite, a first write of many rows: start the worker that writes them ahead
    (:mod:`postloan.batch.current_stage`); None otherwise."""
    if store.dialect != "sqlite" or "state" not in spill:
        return None
    if spill.height("state") < STAGE_MIN_ROWS:
        return None
    with store.engine.connect() as conn:
        if not _first_write(conn, last_closed_business_date(conn), business_date, inputs):
            return None
    columns = [*CURRENT_COLUMNS, "updated_at"]
    target = spill.root / "loan_state_current.sqlite"
    return StagedCurrent.start(spill.files("state"), target, columns, _sqlite_stamp(now))


@contextmanager
def _transaction(store: Store, staged: StagedCurrent | None) -> Iterator[Connection]:
    """The close's one transaction; with ``staged``, its scratch file attached before
    the transaction begins and detached after it ends."""
    if staged is None:
        with store.begin() as conn:
            yield conn
        return
    with store.engine.connect() as conn:
        try:
            staged.attach(conn)
            conn.commit()  # ATTACH ran outside any database transaction
            with conn.begin():
                yield conn
        finally:
            staged.detach(conn)  # also stops a worker still running


def run_range(
    store: Store,
    dates: list[date],
    *,
    engine: str = "local",
    master: str | None = None,
    report: Reporter = _silent,
    clock: Callable[[], datetime] = utc_now,
) -> list[EodResult]:
    """Close each date in order (catch-up); stops at the first failure."""
    policy = load_policy(store.settings)
    return [
        run_date(store, d, engine=engine, master=master, policy=policy, report=report, clock=clock)
        for d in dates
    ]


def snapshot_file(store: Store, table: str, business_date: date) -> str:
    """Path of one output partition file (for reports and tests)."""
    snapshots = SnapshotStore(store.settings.snapshot_dir)
    return str(snapshots.partition_dir(table, business_date) / PART_FILE)
