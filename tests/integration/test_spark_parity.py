"""The Spark engine (PySpark local mode) gives exactly the local engine's loan states.

A simulated book of 300 loans goes through the real import path; on three
business dates ``spark_states`` must equal ``reference_states_frame`` (and the
vectorised kernel, when it is installed) in every field, and the variant that
reads a partitioned Parquet book mirror on the executors must agree too. One
Spark session serves the whole module (start-up is most of the cost).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from postloan.batch.reference import STATE_SCHEMA, reference_states_frame
from postloan.batch.spark_engine import (
    STATE_SPARK_SCHEMA,
    Kernel,
    kernel_name,
    spark_session,
    spark_states,
    spark_states_from_book,
    state_arrow_batches,
    stop_spark,
)
from postloan.commands.demo import sample_feeds_dir
from postloan.config import Settings
from postloan.domain.errors import ConfigError, NotFound
from postloan.domain.policy import ServicingPolicy
from postloan.feeds.importer import import_directory
from postloan.sim import SimConfig, simulate, write_feeds
from postloan.store import open_store
from postloan.store import repository as repo

pytestmark = pytest.mark.spark

Frames = tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]
DATES = (date(2024, 9, 30), date(2025, 7, 15), date(2026, 3, 31))
POLICY = ServicingPolicy.default()


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Frames:
    tmp = tmp_path_factory.mktemp("spark-book")
    result = simulate(SimConfig.default(), loans=300, months=14, seed=11)
    write_feeds(result, tmp / "feeds")
    return _imported(tmp / "feeds", tmp)


def _imported(feeds: Path, tmp: Path) -> Frames:
    store = open_store(Settings(home=tmp / "home", database_url=f"sqlite:///{tmp / 'db.sqlite'}"))
    try:
        report = import_directory(feeds, store)
        assert report.rejected == 0
        with store.begin() as conn:
            return (
                repo.loans_frame(conn),
                repo.schedules_frame(conn),
                repo.transactions_frame(conn),
                repo.marks_frame(conn),
            )
    finally:
        store.close()


@pytest.fixture(scope="module")
def demo_book(tmp_path_factory: pytest.TempPathFactory) -> Frames:
    """The demo's 47 hand-written loans: only two carry marks, so most Spark tasks get none."""
    return _imported(sample_feeds_dir(), tmp_path_factory.mktemp("spark-demo"))


@pytest.fixture(scope="module", autouse=True)
def spark() -> Iterator[None]:
    spark_session("local[2]")
    yield
    stop_spark()


@pytest.fixture(scope="module")
def references(book: Frames) -> dict[date, pl.DataFrame]:
    return {d: reference_states_frame(*book, d, POLICY) for d in DATES}


def test_the_book_covers_the_cases_that_matter(references: dict[date, pl.DataFrame]) -> None:
    last = references[DATES[-1]]
    assert last.height == 300
    assert references[DATES[0]].height < 300  # some loans not yet disbursed on the first date
    assert last.filter(pl.col("days_past_due") > 90).height > 0
    assert last.filter(pl.col("days_past_due").is_between(1, 90)).height > 0
    assert last["status"].n_unique() >= 3
    assert last["classification"].n_unique() >= 3


def test_spark_states_equal_the_reference_on_every_date(
    book: Frames, references: dict[date, pl.DataFrame]
) -> None:
    for on in DATES:
        states = spark_states(*book, on, POLICY, master="local[2]", partitions=3)
        assert dict(states.schema) == STATE_SCHEMA
        assert states["loan_id"].is_sorted()
        assert states.equals(references[on]), f"Spark differs from the reference on {on}"


def test_spark_runs_the_vectorised_kernel_when_it_is_there(
    book: Frames, references: dict[date, pl.DataFrame]
) -> None:
    if kernel_name("auto") != "state_kernel":
        pytest.skip("postloan.batch.state_kernel.loan_states is not installed yet")
    on = DATES[1]
    states = spark_states(*book, on, POLICY, kernel="state_kernel")
    assert states.equals(references[on])


@pytest.mark.parametrize("kernel", ["reference", "auto"])
def test_tasks_without_marks_or_transactions_agree_too(demo_book: Frames, kernel: Kernel) -> None:
    on = date(2026, 10, 31)
    expected = reference_states_frame(*demo_book, on, POLICY)
    assert expected.height == 47
    states = spark_states(*demo_book, on, POLICY, partitions=6, kernel=kernel)
    assert states.equals(expected)


def test_the_book_mirror_is_read_on_the_executors(
    book: Frames, references: dict[date, pl.DataFrame], tmp_path: Path
) -> None:
    # the mirror layout of postloan.batch.book: part-NNNN/<table>.parquet, whole loans
    parts = 3
    ids = book[0]["loan_id"]
    part = pl.DataFrame(
        {"loan_id": ids, "part": [zlib.crc32(s.encode()) % parts for s in ids.to_list()]}
    )
    for i in range(parts):
        folder = tmp_path / "book" / f"part-{i:04d}"
        folder.mkdir(parents=True)
        for name, frame in zip(("loans", "schedules", "transactions", "marks"), book, strict=True):
            piece = frame.join(part, on="loan_id").filter(pl.col("part") == i).drop("part")
            piece.write_parquet(folder / f"{name}.parquet")
    (tmp_path / "book" / "manifest.json").write_text(
        json.dumps({"partitions": parts, "loans": ids.len()})
    )
    on = DATES[2]
    states = spark_states_from_book(tmp_path / "book", on, POLICY, scratch=tmp_path / "scratch")
    assert states.equals(references[on])


def test_the_worker_body_is_a_pure_arrow_function(
    book: Frames, references: dict[date, pl.DataFrame]
) -> None:
    """``state_arrow_batches`` without Spark: packed rows in, STATE_SCHEMA batches out."""
    loans, schedules, transactions, marks = (
        f.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("_row")) for f in book
    )
    packed = loans
    for frame, column in ((schedules, "schedule"), (transactions, "txns"), (marks, "marks")):
        nested = frame.group_by("loan_id").agg(pl.struct(pl.exclude("loan_id")).alias(column))
        packed = packed.join(nested, on="loan_id", how="left")
    on = DATES[1]
    batches = state_arrow_batches(packed.to_arrow().to_batches(max_chunksize=70), on, POLICY)
    out = pl.concat([pl.from_arrow(b) for b in batches]).sort("loan_id")  # type: ignore[misc]
    assert out.select(pl.col(c).cast(t) for c, t in STATE_SCHEMA.items()).equals(references[on])
    assert STATE_SPARK_SCHEMA.startswith("loan_id string, currency string, business_date date")


def test_errors_say_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from postloan.batch.spark_engine import CONF_ENV, _env_conf

    monkeypatch.setenv(CONF_ENV, "spark.executor.memory=6g\nspark.executor.cores=4")
    assert _env_conf() == {"spark.executor.memory": "6g", "spark.executor.cores": "4"}
    monkeypatch.setenv(CONF_ENV, "spark.executor.memory")
    with pytest.raises(ConfigError, match="key=value"):
        _env_conf()
    with pytest.raises(NotFound, match="book mirror"):
        spark_states_from_book(tmp_path, DATES[0], POLICY)
    with pytest.raises(ConfigError, match="partitions"):
        spark_states(*(pl.DataFrame() for _ in range(4)), DATES[0], POLICY, partitions=0)
