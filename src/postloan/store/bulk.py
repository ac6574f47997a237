"""Fast, idempotent bulk writes of Polars frames (SQLite and PostgreSQL).

``INSERT … ON CONFLICT (key) DO UPDATE`` is the same SQL on both dialects, so
rows go straight to the driver's ``executemany`` in chunks: no ORM objects,
no per-value SQLAlchemy processing, which keeps a multi-million-row feed fast.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
from sqlalchemy import Connection

CHUNK = 20_000
#: From this many rows PostgreSQL upserts go through COPY (much faster than INSERTs).
COPY_THRESHOLD = 5_000


def _placeholder(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def driver_frame(conn: Connection, frame: pl.DataFrame) -> pl.DataFrame:
    """Dates as ISO text for SQLite (how SQLAlchemy stores them there)."""
    if conn.dialect.name != "sqlite":
        return frame
    dates = [c for c, t in frame.schema.items() if t == pl.Date]
    if not dates:
        return frame
    return frame.with_columns(pl.col(c).dt.strftime("%Y-%m-%d") for c in dates)


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
    mark = _placeholder(conn)
    sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(mark for _ in columns)}) {conflict}"
    rows = driver_frame(conn, frame)
    for chunk in rows.iter_slices(CHUNK):
        conn.exec_driver_sql(sql, chunk.rows())
    return frame.height


def _copy_upsert(
    conn: Connection, table: str, frame: pl.DataFrame, names: str, conflict: str
) -> None:
    """PostgreSQL: COPY into a temporary staging table, then one INSERT … SELECT."""
    stage = f"_stage_{table}"
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {stage}")
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {stage} AS SELECT {names} FROM {table} WITH NO DATA"
    )
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:
            for row in frame.iter_rows():
                copy.write_row(row)
    finally:
        cursor.close()
    conn.exec_driver_sql(f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} {conflict}")
    conn.exec_driver_sql(f"DROP TABLE {stage}")


def insert(conn: Connection, table: str, frame: pl.DataFrame) -> int:
    if frame.height == 0:
        return 0
    quote = conn.dialect.identifier_preparer.quote
    mark = _placeholder(conn)
    sql = (
        f"INSERT INTO {table} ({', '.join(quote(c) for c in frame.columns)}) "
        f"VALUES ({', '.join(mark for _ in frame.columns)})"
    )
    for chunk in driver_frame(conn, frame).iter_slices(CHUNK):
        conn.exec_driver_sql(sql, chunk.rows())
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
