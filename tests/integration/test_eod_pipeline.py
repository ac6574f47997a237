"""The close-of-business runner on the sample book, on SQLite and PostgreSQL:
idempotent re-runs, catch-up, the watermark, events in the database, streaming
partitions and configuration of steps."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from postloan.batch import partitions
from postloan.batch.book import (
    SPLIT_FILE,
    book_dir,
    partition_count,
    read_book,
    split_borrowers,
)
from postloan.batch.engines import compute_states
from postloan.batch.pipeline import (
    OUTPUTS,
    last_closed_business_date,
    plan_dates,
    refresh_mirror,
    run_date,
    run_range,
)
from postloan.batch.reference import STATE_SCHEMA
from postloan.commands.demo import sample_feeds_dir
from postloan.domain.errors import ConfigError, ValidationError
from postloan.domain.policy import ServicingPolicy
from postloan.feeds.importer import import_directory
from postloan.store import Store
from postloan.store import tables as t
from postloan.store.snapshots import PART_FILE, SnapshotStore

D1 = date(2026, 10, 5)
D3 = date(2026, 10, 7)  # a loan rolls M1 → M2 and changes class and stage on this date


@pytest.fixture
def book(store: Store) -> Store:
    report = import_directory(sample_feeds_dir(), store)
    assert report.rejected == 0
    return store


def files(store: Store, business_date: date) -> dict[str, bytes]:
    snaps = SnapshotStore(store.settings.snapshot_dir)
    return {
        table: (snaps.partition_dir(table, business_date) / PART_FILE).read_bytes()
        for table in OUTPUTS
    }


def db_events(store: Store) -> list[tuple[str, str, date, str]]:
    e = t.LoanEvent
    with store.begin() as conn:
        rows = conn.execute(
            select(e.event_id, e.loan_id, e.business_date, e.event_type).order_by(e.event_id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_import_writes_the_book_mirror(book: Store) -> None:
    root = book_dir(book.settings.home)
    assert partition_count(root) == 1
    frames = read_book(root)
    assert frames.loans.height == 47
    assert frames.schedules["loan_id"].n_unique() == 47


def test_a_date_run_twice_gives_identical_files_and_no_duplicate_events(book: Store) -> None:
    first = run_date(book, D3)
    before = files(book, D3)
    events = db_events(book)
    assert first.events == len(events) > 0
    second = run_date(book, D3)
    assert second.content_hashes == first.content_hashes
    assert files(book, D3) == before
    assert db_events(book) == events
    for table, data in before.items():
        assert first.content_hashes[table] == hashlib.sha256(data).hexdigest()
    with book.begin() as conn:
        runs = conn.execute(select(t.EodRun.status, t.EodRun.content_hashes)).all()
        assert [r.status for r in runs] == ["done", "done"]
        assert runs[0].content_hashes == runs[1].content_hashes


def test_catch_up_and_watermark(book: Store) -> None:
    with book.begin() as conn:
        assert last_closed_business_date(conn) is None
    results = run_range(book, plan_dates(None, start=D1, end=D3))
    assert [r.business_date for r in results] == [D1, D1 + timedelta(days=1), D3]
    snaps = SnapshotStore(book.settings.snapshot_dir)
    for table in OUTPUTS:
        assert snaps.dates(table) == [r.business_date for r in results]
    with book.begin() as conn:
        assert last_closed_business_date(conn) == D3
        current = conn.execute(
            select(func.count(), func.min(t.LoanStateCurrent.business_date))
        ).one()
    assert tuple(current) == (47, D3)
    # re-running an earlier date does not move the watermark back
    run_date(book, D1)
    with book.begin() as conn:
        assert last_closed_business_date(conn) == D3
    # continuing from the watermark
    assert plan_dates(D3, end=D3 + timedelta(days=2)) == [D3 + timedelta(1), D3 + timedelta(2)]
    assert plan_dates(D3, end=D3) == []


def test_events_in_the_database_equal_the_snapshot(book: Store) -> None:
    run_range(book, [D1, D3])
    snaps = SnapshotStore(book.settings.snapshot_dir)
    stored = snaps.scan("loan_events").collect()
    assert sorted(stored["event_id"].to_list()) == [e[0] for e in db_events(book)]
    assert set(stored["event_type"]) >= {"bucket_up", "stage_changed"}


def test_roll_events_use_yesterdays_snapshot_or_recompute_it_alike(book: Store) -> None:
    run_date(book, D3)
    alone = files(book, D3)["loan_events"]
    run_date(book, D3 - timedelta(days=1))  # now D3's previous day comes from a snapshot
    run_date(book, D3)
    assert files(book, D3)["loan_events"] == alone


def test_streaming_partitions_give_the_same_outputs(book: Store, tmp_path: Path) -> None:
    run_date(book, D3)
    whole = files(book, D3)
    book.settings.config_file.write_text("eod:\n  partitions: 3\n", encoding="utf-8")
    assert refresh_mirror(book) == 3
    assert partition_count(book_dir(book.settings.home)) == 3
    run_date(book, D3)
    assert files(book, D3) == whole


def test_partitions_computed_at_once_give_the_same_outputs_in_order(book: Store) -> None:
    """Two or three partitions computed at the same time write the same bytes as one
    at a time, and report them in partition order."""
    book.settings.config_file.write_text("eod:\n  partitions: 5\n  workers: 1\n", "utf-8")
    assert refresh_mirror(book) == 5
    run_date(book, D3)
    alone = files(book, D3)
    for workers in (2, 3):
        book.settings.config_file.write_text(
            f"eod:\n  partitions: 5\n  workers: {workers}\n", encoding="utf-8"
        )
        loans, done = _run_counting_partitions(book, D3)
        assert done == [1, 2, 3, 4, 5]
        assert files(book, D3) == alone
        assert loans == read_book(book_dir(book.settings.home)).loans.height


def _run_counting_partitions(store: Store, on: date) -> tuple[int, list[object]]:
    """``run_date``'s loans, and the partitions its ``partition_done`` reports named."""
    events: list[tuple[str, dict[str, object]]] = []
    result = run_date(store, on, report=lambda event, **f: events.append((event, f)))
    return result.loans, [f["partition"] for event, f in events if event == "partition_done"]


def test_a_failing_partition_stops_the_close_and_a_rerun_finishes_it(
    book: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error in one partition's worker thread reaches the caller as itself, the
    partitions after it are not reported, nothing is committed, and a re-run
    writes the same bytes as an undisturbed close."""
    book.settings.config_file.write_text("eod:\n  partitions: 5\n", encoding="utf-8")
    assert refresh_mirror(book) == 5
    run_date(book, D1)
    undisturbed = files(book, D1)
    with book.begin() as conn:
        conn.execute(t.Watermark.__table__.delete())
    real = partitions.compute_partition

    def failing(plan: object, index: int, frames: object) -> object:
        if index == 2:
            raise ValidationError("partition 3 is broken")
        return real(plan, index, frames)  # type: ignore[arg-type]

    monkeypatch.setattr(partitions, "compute_partition", failing)
    events: list[tuple[str, dict[str, object]]] = []
    with pytest.raises(ValidationError, match="partition 3 is broken"):
        run_date(book, D1, report=lambda event, **f: events.append((event, f)))
    done = [f["partition"] for event, f in events if event == "partition_done"]
    assert done == [1, 2]
    with book.begin() as conn:
        assert last_closed_business_date(conn) is None
    monkeypatch.setattr(partitions, "compute_partition", real)
    run_date(book, D1)
    assert files(book, D1) == undisturbed
    with book.begin() as conn:
        assert last_closed_business_date(conn) == D1


@pytest.mark.parametrize("value", [0, -1, "two", True, 1.5])
def test_a_bad_worker_count_is_a_config_error(book: Store, value: object) -> None:
    book.settings.config_file.write_text(f"eod:\n  workers: {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="eod.workers must be a positive whole number"):
        run_date(book, D3)


def test_state_snapshot_matches_the_reference(book: Store) -> None:
    run_date(book, D3)
    snap = SnapshotStore(book.settings.snapshot_dir).read("loan_state", D3)
    frames = read_book(book_dir(book.settings.home))
    expected = compute_states(frames, D3, ServicingPolicy.default(), engine="reference")
    assert snap.select(list(STATE_SCHEMA)).equals(expected)


def test_disabled_steps_write_nothing_and_drop_stale_partitions(book: Store) -> None:
    run_date(book, D3)
    book.settings.config_file.write_text("eod:\n  disabled: [FEATURES, SCORE]\n", encoding="utf-8")
    result = run_date(book, D3)
    assert "features" not in result.content_hashes
    snaps = SnapshotStore(book.settings.snapshot_dir)
    assert snaps.dates("features") == []
    assert snaps.dates("loan_state") == [D3]


def test_plan_dates_errors() -> None:
    with pytest.raises(ValidationError, match="--date YYYY-MM-DD"):
        plan_dates(None)
    with pytest.raises(ValidationError, match="no business date has been closed"):
        plan_dates(None, end=D3)
    with pytest.raises(ValidationError, match="not both"):
        plan_dates(None, on=D1, end=D3)
    with pytest.raises(ValidationError, match="after --to"):
        plan_dates(None, start=D3, end=D1)


def current_rows(store: Store) -> list[tuple[object, ...]]:
    c = t.LoanStateCurrent
    cols = [
        c.loan_id,
        c.business_date,
        c.days_past_due,
        c.overdue_since,
        c.bucket,
        c.classification,
        c.ifrs9_stage,
        c.principal_outstanding,
        c.overdue_principal,
        c.overdue_interest,
        c.penalty_outstanding,
    ]
    with store.begin() as conn:
        return [tuple(r) for r in conn.execute(select(*cols).order_by(c.loan_id)).all()]


def test_current_state_follows_the_last_close_only(book: Store) -> None:
    run_range(book, [D1, D1 + timedelta(days=1), D3])  # D2, D3: changed rows only
    snap = SnapshotStore(book.settings.snapshot_dir).read("loan_state", D3)
    expected = [
        tuple(r)
        for r in snap.sort("loan_id")
        .select(
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
        .rows()
    ]
    assert current_rows(book) == expected
    run_date(book, D1)  # re-running an older date does not rewind the current state
    assert current_rows(book) == expected


def test_borrower_features_see_loans_in_other_partitions(store: Store, tmp_path: Path) -> None:
    """A borrower whose loans fall in different loan-id partitions gets the same
    borrower features as with the whole book in one partition."""
    import shutil

    import polars as pl

    feeds = tmp_path / "feeds"
    shutil.copytree(sample_feeds_dir(), feeds)
    loans = pl.read_csv(feeds / "loans.csv", infer_schema=False).sort("loan_id")
    first, last = loans["loan_id"][0], loans["loan_id"][-1]
    owner = loans["borrower_id"][0]
    loans = loans.with_columns(
        pl.when(pl.col("loan_id") == last)
        .then(pl.lit(owner))
        .otherwise(pl.col("borrower_id"))
        .alias("borrower_id")
    )
    loans.write_csv(feeds / "loans.csv")
    assert import_directory(feeds, store).rejected == 0
    run_date(store, D3)
    whole = files(store, D3)["features"]
    snaps = SnapshotStore(store.settings.snapshot_dir)
    pair = snaps.read("features", D3).filter(pl.col("loan_id").is_in([first, last]))
    assert pair["borrower_loans"].to_list() == [2, 2]
    store.settings.config_file.write_text("eod:\n  partitions: 3\n", encoding="utf-8")
    assert refresh_mirror(store) == 3
    root = book_dir(store.settings.home)
    split = split_borrowers(root)  # written with the mirror
    assert split.select("loan_id", "part").rows() == [(first, 0), (last, 2)]
    run_date(store, D3)
    assert files(store, D3)["features"] == whole
    (root / SPLIT_FILE).unlink()  # a mirror written without the list: found from the files
    assert split_borrowers(root).equals(split)
    run_date(store, D3)
    assert files(store, D3)["features"] == whole
