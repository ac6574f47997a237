"""The loan-state computation (close-of-business steps 1–5) on Apache Spark.

The same kernel as the local engine runs inside ``mapInArrow``: Spark reads the
four input tables from Parquet, drops what lies after the business date,
repartitions every table by ``loan_id`` (so a partition holds whole loans),
packs each loan into one row (its contract columns plus ``list<struct>``
columns of its schedule, transactions and marks), and hands Arrow batches of
those rows to :func:`state_arrow_batches`. That rebuilds the four Polars frames,
calls ``postloan.batch.state_kernel.loan_states`` (or the per-loan reference
when the kernel is absent) and returns ``STATE_SCHEMA`` batches. Results equal
the local engine's row for row (tests/integration/test_spark_parity.py).

Two entry points:

- :func:`spark_states`: frames in, frame out (what ``postloan eod --engine
  spark`` calls). The frames go through a scratch folder of Parquet files,
  which must be on storage every executor sees when the master is a cluster.
- :func:`write_spark_states` / :func:`spark_states_from_book`: read the
  Parquet book mirror (``postloan.batch.book``: ``part-NNNN/<table>.parquet``)
  or a folder of four ``<table>.parquet`` files directly on the executors, so
  the input never passes through the driver.

Order. The reference processes a loan's rows in the order the frames give
them; collect_list does not keep order, so each row carries ``_row`` (its
position in the input files) and the worker sorts by it.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]

from postloan.batch.reference import STATE_SCHEMA, reference_states_frame
from postloan.domain.errors import ConfigError, NotFound
from postloan.domain.policy import ServicingPolicy

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "CONF_ENV",
    "DEFAULT_MASTER",
    "LOANS_PER_TASK",
    "STATE_ARROW_SCHEMA",
    "STATE_SPARK_SCHEMA",
    "spark_session",
    "spark_states",
    "spark_states_from_book",
    "state_arrow_batches",
    "stop_spark",
    "write_spark_states",
]

DEFAULT_MASTER = "local[2]"
#: Extra Spark settings from the environment (``key=value`` pairs), for ``postloan eod``.
CONF_ENV = "POSTLOAN_SPARK_CONF"
#: Loans per Spark task when the caller does not choose the partition count: a
#: task's packed rows and its kernel frames stay well under 1 GB.
LOANS_PER_TASK = 100_000
TABLES = ("loans", "schedules", "transactions", "marks")
#: Each child table's own order (the store's ``ORDER BY``), used only to break
#: ties; ``_row`` (input order) comes first.
_CHILDREN = {"schedules": "schedule", "transactions": "txns", "marks": "marks"}
_DATE_FILTERS = {"loans": "disbursement_date", "transactions": "value_date"}
Kernel = Literal["auto", "state_kernel", "reference"]

_ARROW_TYPES: dict[type[pl.DataType], Any] = {
    pl.Utf8: pa.string(),
    pl.Date: pa.date32(),
    pl.Int8: pa.int8(),
    pl.Int32: pa.int32(),
    pl.Int64: pa.int64(),
}
_SPARK_TYPES: dict[type[pl.DataType], str] = {
    pl.Utf8: "string",
    pl.Date: "date",
    pl.Int8: "tinyint",
    pl.Int32: "int",
    pl.Int64: "bigint",
}


def _arrow_type(dtype: pl.DataType) -> Any:
    if isinstance(dtype, pl.List):
        inner = dtype.inner
        assert isinstance(inner, pl.DataType)
        return pa.list_(_arrow_type(inner))
    return _ARROW_TYPES[type(dtype)]


def _spark_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.List):
        inner = dtype.inner
        assert isinstance(inner, pl.DataType)
        return f"array<{_spark_type(inner)}>"
    return _SPARK_TYPES[type(dtype)]


#: ``STATE_SCHEMA`` as Arrow (plain ``string``, not ``large_string``: what Spark expects).
STATE_ARROW_SCHEMA = pa.schema([(c, _arrow_type(t)) for c, t in STATE_SCHEMA.items()])
#: ``STATE_SCHEMA`` as a Spark DDL string, for ``mapInArrow(..., schema)``.
STATE_SPARK_SCHEMA = ", ".join(f"{c} {_spark_type(t)}" for c, t in STATE_SCHEMA.items())


# -- the worker side ---------------------------------------------------------------------------


def _kernel(choice: Kernel) -> Callable[..., pl.DataFrame]:
    if choice == "reference":
        return reference_states_frame
    try:
        module = importlib.import_module("postloan.batch.state_kernel")
    except ImportError:
        module = None
    kernel: Callable[..., pl.DataFrame] | None = getattr(module, "loan_states", None)
    if kernel is not None:
        return kernel
    if choice == "state_kernel":
        raise ConfigError(
            "postloan.batch.state_kernel.loan_states is not installed; use kernel='auto'"
        )
    return reference_states_frame


def kernel_name(choice: Kernel = "auto") -> str:
    """``state_kernel`` or ``reference``: what the workers run for ``choice``."""
    return "reference" if _kernel(choice) is reference_states_frame else "state_kernel"


def _unpack(packed: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Packed loan rows back to the four input frames, each in input order."""
    children = list(_CHILDREN.values())
    loans = packed.drop(children).sort("_row").drop("_row")
    frames = [loans]
    for column in children:
        rows = (
            packed.select("loan_id", column)
            .explode(column)
            .drop_nulls(column)
            .unnest(column)
            .sort("_row")
            .drop("_row")
        )
        frames.append(rows)
    return frames[0], frames[1], frames[2], frames[3]


def state_arrow_batches(
    batches: Iterable[pa.RecordBatch],
    business_date: date,
    policy: ServicingPolicy,
    kernel: Kernel = "auto",
) -> Iterator[pa.RecordBatch]:
    """Packed loan rows (one per loan) to ``STATE_SCHEMA`` batches: the ``mapInArrow`` body.

    Pure and deterministic; a batch holds whole loans, so batches are independent."""
    compute = _kernel(kernel)
    for batch in batches:
        if batch.num_rows == 0:
            continue
        packed = pl.from_arrow(batch)
        assert isinstance(packed, pl.DataFrame)
        states = compute(*_unpack(packed), business_date, policy)
        states = states.select(pl.col(c).cast(t) for c, t in STATE_SCHEMA.items())
        table = states.to_arrow(compat_level=pl.CompatLevel.oldest()).cast(STATE_ARROW_SCHEMA)
        yield from table.to_batches()


# -- the driver side ---------------------------------------------------------------------------


def _log4j_config() -> Path:
    """A log4j2 file that keeps Spark's console to errors only."""
    path = Path(tempfile.gettempdir()) / "postloan-spark-log4j2.properties"
    if not path.exists():
        path.write_text(
            "rootLogger.level = error\n"
            "rootLogger.appenderRef.stderr.ref = console\n"
            "appender.console.type = Console\n"
            "appender.console.name = console\n"
            "appender.console.target = SYSTEM_ERR\n"
            "appender.console.layout.type = PatternLayout\n"
            "appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n\n",
            encoding="utf-8",
        )
    return path


def _env_conf() -> dict[str, str]:
    """``POSTLOAN_SPARK_CONF``: ``key=value`` settings separated by spaces or newlines."""
    settings = {}
    for item in os.environ.get(CONF_ENV, "").split():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"{CONF_ENV} holds {item!r}; write key=value pairs, e.g. a=1 b=2")
        settings[key] = value
    return settings


def spark_session(master: str | None = None, conf: Mapping[str, str] | None = None) -> SparkSession:
    """The active Spark session (reused between dates), created for ``master`` if there
    is none or it runs on another master (``None``: whatever is active, else ``local[2]``).

    Quiet (errors only, no progress bar), no web UI, Arrow on. In local mode it
    binds to 127.0.0.1 and the workers run this interpreter (``PYSPARK_PYTHON``
    overrides); on a cluster, the executors' Python comes from ``PYSPARK_PYTHON``
    or the cluster's own configuration. ``POSTLOAN_SPARK_CONF`` and then
    ``conf`` add or override settings (``spark.executor.memory`` …). Nothing
    is downloaded: no ``--packages``."""
    requested = master
    master = master or DEFAULT_MASTER
    try:
        from pyspark.sql import SparkSession
    except ImportError as err:
        raise ConfigError(
            f"the Spark engine needs pyspark ({err}); install it or use --engine local"
        ) from None
    active = SparkSession.getActiveSession()
    if active is not None:
        if requested is None or active.sparkContext.master == requested:
            return active
        active.stop()  # one context per process: a different master needs a new one
    local = master.startswith("local")
    log4j = f"-Dlog4j.configurationFile=file:{_log4j_config()}"
    settings = {
        "spark.app.name": "postloan-eod",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.shuffle.partitions": "4",
        "spark.sql.session.timeZone": "UTC",
        "spark.executorEnv.POLARS_MAX_THREADS": "1",
        "spark.driver.extraJavaOptions": log4j,
    }
    if local:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        settings |= {
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.executor.extraJavaOptions": log4j,
        }
    if os.environ.get("PYSPARK_PYTHON"):
        settings["spark.pyspark.python"] = os.environ["PYSPARK_PYTHON"]
    settings |= _env_conf() | dict(conf or {})
    builder = SparkSession.builder.master(master)
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def stop_spark() -> None:
    """Stop the active Spark session, if any (the next call starts a new one)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return
    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()


def _table_paths(root: Path) -> dict[str, list[str]]:
    """Each table's Parquet files: the mirror's partitions, or ``<table>.parquet``."""
    parts = sorted(p for p in root.glob("part-*") if p.is_dir())
    paths: dict[str, list[str]] = {}
    for name in TABLES:
        files = [str(p / f"{name}.parquet") for p in parts] or [str(root / f"{name}.parquet")]
        missing = [f for f in files if not Path(f).exists()]
        if missing:
            raise NotFound(
                f"no {name} table at {missing[0]}; point at a book mirror ($POSTLOAN_HOME/book)"
                " or a folder holding loans/schedules/transactions/marks.parquet"
            )
        paths[name] = files
    return paths


def _packed(
    session: SparkSession, paths: Mapping[str, list[str]], business_date: date, partitions: int
) -> DataFrame:
    """One row per loan disbursed by ``business_date``, hash-partitioned by ``loan_id``."""
    from pyspark.sql import functions as F

    tables = {}
    for name in TABLES:
        frame = session.read.parquet(*paths[name]).withColumn(
            "_row", F.monotonically_increasing_id()
        )
        if name in _DATE_FILTERS:
            frame = frame.where(F.col(_DATE_FILTERS[name]) <= F.lit(business_date))
        tables[name] = frame.repartition(partitions, "loan_id")
    packed = tables["loans"]
    for name, column in _CHILDREN.items():
        fields = [c for c in tables[name].columns if c != "loan_id"]
        grouped = (
            tables[name].groupBy("loan_id").agg(F.collect_list(F.struct(*fields)).alias(column))
        )
        packed = packed.join(grouped, on="loan_id", how="left")
    return packed


def _partitions(session: SparkSession, loans: int | None, partitions: int | None) -> int:
    if partitions is not None:
        if partitions < 1:
            raise ConfigError(f"partitions must be at least 1, not {partitions}")
        return partitions
    parallelism = int(session.sparkContext.defaultParallelism)
    if loans is None:
        return 2 * parallelism
    return max(parallelism, -(-loans // LOANS_PER_TASK))


def write_spark_states(
    source: Path | str,
    out: Path | str,
    business_date: date,
    policy: ServicingPolicy,
    *,
    master: str | None = DEFAULT_MASTER,
    partitions: int | None = None,
    kernel: Kernel = "auto",
    conf: Mapping[str, str] | None = None,
    ordered: bool = False,
) -> Path:
    """Compute on Spark the states of the book under ``source`` (a book mirror or a
    folder of four ``<table>.parquet`` files) and write them as Parquet to ``out``
    (replaced; one file per task, unsorted — or, with ``ordered``, range-sorted by
    loan id so that a reader of one loan-id range skips the other files). Both
    paths must be visible to every executor. Returns ``out``."""
    root, target = Path(source), Path(out)
    paths = _table_paths(root)
    session = spark_session(master, conf)
    loans: int | None = None
    manifest = root / "manifest.json"
    if manifest.exists():
        loans = int(json.loads(manifest.read_text(encoding="utf-8")).get("loans", 0)) or None
    n = _partitions(session, loans, partitions)
    session.conf.set("spark.sql.shuffle.partitions", str(n))
    packed = _packed(session, paths, business_date, n)

    def compute(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return state_arrow_batches(batches, business_date, policy, kernel)

    states = packed.mapInArrow(compute, STATE_SPARK_SCHEMA)
    if ordered:
        states = states.orderBy("loan_id")
    states.write.mode("overwrite").parquet(str(target))
    return target


def read_state_slice(folder: Path, loan_ids: pl.DataFrame) -> pl.DataFrame:
    """The ``STATE_SCHEMA`` rows of ``loan_ids`` from an ``ordered`` Spark output
    folder, sorted by loan id (only the files whose id range overlaps are read)."""
    files = sorted(folder.glob("*.parquet"))
    if not files or loan_ids.is_empty():
        return pl.DataFrame(schema=STATE_SCHEMA)
    ids = loan_ids["loan_id"]
    frame = (
        pl.scan_parquet(files)
        .filter(pl.col("loan_id").is_between(pl.lit(ids.min()), pl.lit(ids.max())))
        .join(loan_ids.lazy(), on="loan_id", how="semi")
        .collect()
    )
    return frame.select(pl.col(c).cast(t) for c, t in STATE_SCHEMA.items()).sort("loan_id")


def _read_states(folder: Path) -> pl.DataFrame:
    files = sorted(folder.glob("*.parquet"))
    if not files:
        return pl.DataFrame(schema=STATE_SCHEMA)
    frame = pl.concat([pl.read_parquet(f) for f in files], how="vertical_relaxed")
    return frame.select(pl.col(c).cast(t) for c, t in STATE_SCHEMA.items()).sort("loan_id")


def spark_states_from_book(
    source: Path | str,
    business_date: date,
    policy: ServicingPolicy,
    *,
    master: str | None = DEFAULT_MASTER,
    partitions: int | None = None,
    kernel: Kernel = "auto",
    scratch: Path | str | None = None,
    conf: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """:func:`write_spark_states` into a scratch folder, read back as a ``STATE_SCHEMA``
    frame sorted by loan id. ``scratch`` (default ``$POSTLOAN_SPARK_SCRATCH`` or the
    system temp folder) must be shared storage on a cluster."""
    with tempfile.TemporaryDirectory(prefix="postloan-spark-", dir=_scratch(scratch)) as tmp:
        out = write_spark_states(
            source,
            Path(tmp) / "states",
            business_date,
            policy,
            master=master,
            partitions=partitions,
            kernel=kernel,
            conf=conf,
        )
        return _read_states(out)


def _scratch(scratch: Path | str | None) -> str | None:
    chosen = scratch or os.environ.get("POSTLOAN_SPARK_SCRATCH")
    if chosen is None:
        return None
    Path(chosen).mkdir(parents=True, exist_ok=True)
    return str(chosen)


def spark_states(
    loans: pl.DataFrame,
    schedules: pl.DataFrame,
    transactions: pl.DataFrame,
    marks: pl.DataFrame,
    business_date: date,
    policy: ServicingPolicy,
    *,
    master: str | None = DEFAULT_MASTER,
    partitions: int | None = None,
    kernel: Kernel = "auto",
    scratch: Path | str | None = None,
    conf: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """``reference_states_frame``'s result computed inside Spark (same arguments and
    ``STATE_SCHEMA`` frame sorted by loan id). ``master=None`` means ``local[2]``;
    ``partitions`` defaults to one task per ``LOANS_PER_TASK`` loans, at least
    the cluster's default parallelism; ``kernel`` picks what the workers run."""
    frames = dict(zip(TABLES, (loans, schedules, transactions, marks), strict=True))
    with tempfile.TemporaryDirectory(prefix="postloan-spark-", dir=_scratch(scratch)) as tmp:
        book = Path(tmp) / "book"
        book.mkdir()
        for name, frame in frames.items():
            frame.write_parquet(book / f"{name}.parquet", statistics=False)
        if partitions is None:
            session = spark_session(master, conf)
            partitions = _partitions(session, loans.height, None)
        out = write_spark_states(
            book,
            Path(tmp) / "states",
            business_date,
            policy,
            master=master,
            partitions=partitions,
            kernel=kernel,
            conf=conf,
        )
        return _read_states(out)
