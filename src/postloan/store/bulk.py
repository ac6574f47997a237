"""Fast, idempotent bulk writes of Polars frames (SQLite and PostgreSQL).

``INSERT … ON CONFLICT (key) DO UPDATE`` is the same SQL on both dialects, so
rows go straight to the driver in chunks: no ORM objects, no per-value
SQLAlchemy processing, which keeps a multi-million-row feed fast. On SQLite one
statement carries up to :data:`ROWS_PER_STATEMENT` rows (``VALUES (…), (…), …``): the
per-statement work (reset, step, constraint checks set-up) is then paid once
per few hundred rows, and the close of business's 1M-row upsert takes about
half the CPU of one statement per row. Parameters are built column-wise
(``Series.to_list`` interleaved), not as one tuple per row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
from sqlalchemy import Connection

CHUNK = 20_000
#: Rows per multi-row ``INSERT`` (fewer when the driver's variable limit is lower).
ROWS_PER_STATEMENT = 256
#: From this many rows PostgreSQL upserts go through COPY (much faster than INSERTs).
COPY_THRESHOLD = 5_000
#: Rows per CSV block handed to COPY.
COPY_SLICE = 50_000


def _placeholder(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def driver_frame(conn: Connection, frame: pl.DataFrame) -> pl.DataFrame:
    """Dates and datetimes as text for SQLite, exactly as SQLAlchemy stores them there
    (``YYYY-MM-DD``; ``YYYY-MM-DD HH:MM:SS.ffffff``, time-zone-aware values in UTC)."""
    return sqlite_frame(frame) if conn.dialect.name == "sqlite" else frame


def sqlite_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """:func:`driver_frame` for SQLite."""
    converted = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Date:
            converted.append(pl.col(name).dt.strftime("%Y-%m-%d"))
        elif isinstance(dtype, pl.Datetime):
            col = pl.col(name)
            if dtype.time_zone is not None:
                col = col.dt.convert_time_zone("UTC")
            converted.append(col.dt.strftime("%Y-%m-%d %H:%M:%S%.6f"))
    return frame.with_columns(converted) if converted else frame


def flat_params(frame: pl.DataFrame) -> list[Any]:
    """Every value of ``frame`` row after row in one list, built a column at a time
    (an interleaving slice assignment per column, no tuple per row)."""
    width = frame.width
    out: list[Any] = [None] * (frame.height * width)
    for j, series in enumerate(frame.get_columns()):
        out[j::width] = series.to_list()
    return out


def _variable_limit(conn: Connection) -> int:
    """How many bind parameters one statement may carry on this connection."""
    import sqlite3

    driver = conn.connection.driver_connection
    if isinstance(driver, sqlite3.Connection):
        return driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    if conn.dialect.name == "sqlite":
        return 999  # the lowest SQLite default (before 3.32)
    return 65_535  # PostgreSQL


def _rows_per_statement(conn: Connection, width: int) -> int:
    return max(1, min(ROWS_PER_STATEMENT, _variable_limit(conn) // max(1, width)))


def write_rows(conn: Connection, head: str, frame: pl.DataFrame, tail: str = "") -> None:
    """Run ``{head} VALUES (row) {tail}`` for every row of ``frame`` (driver-typed,
    see :func:`driver_frame`) in multi-row statements (one statement per row for a
    PostgreSQL upsert). ``head`` is ``INSERT INTO t (columns)``; ``tail`` e.g.
    ``ON CONFLICT … DO NOTHING``."""
    if frame.height == 0:
        return
    width = frame.width
    group = "(" + ", ".join(_placeholder(conn) for _ in range(width)) + ")"
    end = f" {tail}" if tail else ""
    if conn.dialect.name != "sqlite" and "DO UPDATE" in tail.upper():
        # PostgreSQL refuses a multi-row upsert that updates one row twice
        sql = f"{head} VALUES {group}{end}"
        for chunk in frame.iter_slices(CHUNK):
            conn.exec_driver_sql(sql, chunk.rows())
        return
    per = _rows_per_statement(conn, width)
    step = per * width
    many = f"{head} VALUES {', '.join([group] * per)}{end}"
    cursor = conn.connection.cursor()
    try:
        for chunk in frame.iter_slices(max(CHUNK // per, 1) * per):
            batch, rest = _statement_params(chunk, step)
            if batch:
                cursor.executemany(many, batch)
            if rest:
                groups = ", ".join([group] * (len(rest) // width))
                cursor.execute(f"{head} VALUES {groups}{end}", rest)
    finally:
        cursor.close()


def _statement_params(chunk: pl.DataFrame, step: int) -> tuple[list[list[Any]], list[Any]]:
    """A chunk's parameters: full statements of ``step`` values, and the remainder."""
    values = flat_params(chunk)
    full = len(values) // step * step
    return [values[i : i + step] for i in range(0, full, step)], values[full:]


def upsert(
    conn: Connection,
    table: str,
    frame: pl.DataFrame,
    key: Sequence[str],
    *,
    keep_if_same: Mapping[str, str] | None = None,
    update: Mapping[str, str] | None = None,
    insert_only: Sequence[str] = (),
) -> int:
    """Insert ``frame`` into ``table`` or update the row with the same ``key``.

    ``keep_if_same`` maps a column to a guard column: the stored value is kept
    when the guard is unchanged (ciphertexts stay byte-identical on re-import).
    ``update`` gives raw SQL for a column's update; ``insert_only`` columns are
    never updated.
    """
    if frame.height == 0:
        return 0
    quote = conn.dialect.identifier_preparer.quote
    same = "IS" if conn.dialect.name == "sqlite" else "IS NOT DISTINCT FROM"
    columns = frame.columns
    sets = []
    for c in columns:
        if c in key or c in insert_only:
            continue
        if update and c in update:
            sets.append(f"{quote(c)} = {update[c]}")
        elif keep_if_same and c in keep_if_same:
            guard = quote(keep_if_same[c])
            sets.append(
                f"{quote(c)} = CASE WHEN {table}.{guard} {same} excluded.{guard} "
                f"THEN {table}.{quote(c)} ELSE excluded.{quote(c)} END"
            )
        else:
            sets.append(f"{quote(c)} = excluded.{quote(c)}")
    names = ", ".join(quote(c) for c in columns)
    conflict = f"ON CONFLICT ({', '.join(quote(k) for k in key)}) " + (
        f"DO UPDATE SET {', '.join(sets)}" if sets else "DO NOTHING"
    )
    if conn.dialect.name == "postgresql" and frame.height >= COPY_THRESHOLD:
        _copy_upsert(conn, table, frame, names, conflict)
        return frame.height
    write_rows(conn, f"INSERT INTO {table} ({names})", driver_frame(conn, frame), conflict)
    return frame.height


def _copy_upsert(
    conn: Connection, table: str, frame: pl.DataFrame, names: str, conflict: str
) -> None:
    """PostgreSQL: COPY into a temporary staging table, then one INSERT … SELECT in
    the frame's row order (so ids from a sequence follow it, as with INSERTs)."""
    stage = f"_stage_{table}"
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {stage}")
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {stage} AS SELECT {names} FROM {table} WITH NO DATA"
    )
    conn.exec_driver_sql(f"ALTER TABLE {stage} ADD COLUMN _row BIGSERIAL")
    copy_frame(conn, stage, frame, names)
    conn.exec_driver_sql(
        f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} ORDER BY _row {conflict}"
    )
    conn.exec_driver_sql(f"DROP TABLE {stage}")


def copy_frame(conn: Connection, table: str, frame: pl.DataFrame, names: str) -> None:
    """PostgreSQL ``COPY table (names) FROM STDIN`` of ``frame`` as CSV written by
    Polars (in C, a slice at a time), not a Python tuple per row."""
    as_csv = not any(t.is_nested() or t == pl.Binary for t in frame.dtypes)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if not as_csv:  # lists or bytes: psycopg adapts each row's values
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in frame.iter_rows():
                    copy.write_row(row)
            return
        with cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT csv)") as copy:
            for chunk in frame.iter_slices(COPY_SLICE):
                copy.write(chunk.write_csv(include_header=False, null_value=""))
    finally:
        cursor.close()


def insert(conn: Connection, table: str, frame: pl.DataFrame, *, tail: str = "") -> int:
    """Insert every row of ``frame`` (``tail``: e.g. ``ON CONFLICT DO NOTHING``)."""
    if frame.height == 0:
        return 0
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in frame.columns)
    if conn.dialect.name == "postgresql" and frame.height >= COPY_THRESHOLD:
        if tail:
            _copy_upsert(conn, table, frame, names, tail)
        else:
            copy_frame(conn, table, frame, names)
        return frame.height
    write_rows(conn, f"INSERT INTO {table} ({names})", driver_frame(conn, frame), tail)
    return frame.height


def delete_where_in(conn: Connection, table: str, column: str, values: Sequence[str]) -> None:
    """``DELETE FROM table WHERE column IN values`` in driver-sized chunks."""
    mark = _placeholder(conn)
    quote = conn.dialect.identifier_preparer.quote
    step = 500
    for i in range(0, len(values), step):
        part = list(values[i : i + step])
        marks = ", ".join(mark for _ in part)
        conn.exec_driver_sql(f"DELETE FROM {table} WHERE {quote(column)} IN ({marks})", tuple(part))


def select_in(
    conn: Connection, sql: str, values: Sequence[Any], step: int = 4096
) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` for every value in ``values``: ``sql`` holds ``{in_values}``
    after the column, e.g. ``SELECT … WHERE loan_id {in_values}``. One plain driver
    statement per chunk: ``IN (?, …)`` on SQLite, ``= ANY(%s)`` with one array
    parameter on PostgreSQL (no SQLAlchemy compilation of the list either way)."""
    out: list[tuple[Any, ...]] = []
    if conn.dialect.name == "postgresql":
        statement = sql.format(in_values="= ANY(%s)")
        for i in range(0, len(values), 100_000):
            array = list(values[i : i + 100_000])
            out.extend(tuple(r) for r in conn.exec_driver_sql(statement, (array,)))
        return out
    mark = _placeholder(conn)
    step = max(1, min(step, _variable_limit(conn)))
    for i in range(0, len(values), step):
        part = tuple(values[i : i + step])
        marks = ", ".join(mark for _ in part)
        out.extend(
            tuple(r) for r in conn.exec_driver_sql(sql.format(in_values=f"IN ({marks})"), part)
        )
    return out


def read_frame(conn: Connection, sql: str, schema: Mapping[str, Any]) -> pl.DataFrame:
    """The result of ``sql`` as a frame with ``schema`` (dates parsed on SQLite)."""
    rows = conn.exec_driver_sql(sql).all()
    text_schema = {c: (pl.Utf8 if t == pl.Date else t) for c, t in schema.items()}
    if conn.dialect.name == "sqlite":
        frame = pl.DataFrame([tuple(r) for r in rows], schema=text_schema, orient="row")
        return frame.with_columns(
            pl.col(c).str.to_date("%Y-%m-%d") for c, t in schema.items() if t == pl.Date
        )
    return pl.DataFrame([tuple(r) for r in rows], schema=dict(schema), orient="row")
