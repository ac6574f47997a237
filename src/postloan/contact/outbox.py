"""The contact outbox: messages written in the transaction of the decision that caused them.

:func:`enqueue` is the one entry point for other code (the collections strategy
step calls it inside the close-of-business transaction). The idempotency key is
(loan, template, business date, step): a re-run of the same decision adds nothing.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import Connection, Insert, Table
from sqlalchemy.dialects import postgresql, sqlite

from postloan.contact.catalog import check_message
from postloan.contact.states import MessageState
from postloan.domain.errors import ValidationError
from postloan.store import bulk
from postloan.store.tables_contact import ContactOutbox

KEY = ("loan_id", "template", "business_date", "step")


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"variable of type {type(value).__name__} cannot be stored")


def dump_variables(variables: Mapping[str, Any]) -> str:
    """Variables as JSON (dates ISO, Decimals as strings; floats refused for money safety)."""
    for name, value in variables.items():
        if isinstance(value, float):
            raise ValidationError(
                f"variable {name!r} is a float; pass amounts as integer minor units"
            )
    return _VARIABLES.encode(dict(variables))


#: ``json.dumps(v, default=_json_default, ensure_ascii=False, sort_keys=True)`` is this
#: encoder's ``encode(v)``; made once instead of per message.
_VARIABLES = json.JSONEncoder(default=_json_default, ensure_ascii=False, sort_keys=True)


def _insert_ignoring_duplicates(conn: Connection, row: dict[str, Any]) -> bool:
    table = ContactOutbox.__table__
    assert isinstance(table, Table)
    stmt: Insert
    if conn.dialect.name == "postgresql":
        stmt = postgresql.insert(table).values(row).on_conflict_do_nothing(index_elements=KEY)
    elif conn.dialect.name == "sqlite":
        stmt = sqlite.insert(table).values(row).on_conflict_do_nothing(index_elements=KEY)
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise NotImplementedError(conn.dialect.name)
    return conn.execute(stmt.returning(table.c.id)).first() is not None


def enqueue(
    conn: Connection,
    *,
    loan_id: str,
    borrower_id: str,
    template: str,
    channel: str,
    business_date: date,
    step: str,
    variables: Mapping[str, Any],
    strategy_version: str | None = None,
    group: str | None = None,
) -> bool:
    """Queue one message in the caller's transaction; False if its key already exists.

    ``variables`` are the template's (see :data:`postloan.contact.catalog.REQUIRED`):
    amounts in integer minor units, dates as ``date`` or ISO strings. The message
    is not sent before ``business_date`` and only when the conduct guard allows.
    """
    row = _row(
        loan_id=loan_id,
        borrower_id=borrower_id,
        template=template,
        channel=channel,
        business_date=business_date,
        step=step,
        variables=variables,
        strategy_version=strategy_version,
        group=group,
        now=datetime.now(UTC),
    )
    return _insert_ignoring_duplicates(conn, row)


def enqueue_many(conn: Connection, messages: Iterable[Mapping[str, Any]]) -> int:
    """Queue many messages (each a mapping of :func:`enqueue`'s keyword arguments) in one
    statement; returns how many were new. Several times faster than a loop of ``enqueue``."""
    return len(enqueue_batch(conn, messages))


def enqueue_batch(conn: Connection, messages: Iterable[Mapping[str, Any]]) -> set[tuple[str, str]]:
    """:func:`enqueue_many` returning which messages were new, as ``(loan_id, template)``
    pairs (the other key fields are the batch's own business date and step)."""
    now = datetime.now(UTC)
    columns: dict[str, list[Any]] = {c: [] for c in _PLAIN}
    checked: set[tuple[Any, ...]] = set()
    for m in messages:
        _append(columns, checked, **m)
    if not columns["loan_id"]:
        return set()
    # one multi-row insert, then the rows that kept this batch's (random) message ids
    # are the new ones: cheaper than RETURNING through SQLAlchemy for a day's batch
    table = ContactOutbox.__tablename__
    columns["message_id"] = message_ids(len(columns["loan_id"]))
    frame = _batch_frame(columns, now)
    before = _inserted_so_far(conn)
    bulk.insert(conn, table, frame, tail=f"ON CONFLICT ({', '.join(KEY)}) DO NOTHING")
    if before is not None and _inserted_so_far(conn) == before + frame.height:
        return set(zip(columns["loan_id"], columns["template"], strict=True))  # all new
    sql = f"SELECT loan_id, template FROM {table} WHERE message_id {{in_values}}"
    return {(r[0], r[1]) for r in bulk.select_in(conn, sql, columns["message_id"])}


def _inserted_so_far(conn: Connection) -> int | None:
    """SQLite: the connection's count of changed rows (``total_changes``), when only this
    table's own inserts can move it (no trigger on the outbox); else None."""
    import sqlite3

    driver = conn.connection.driver_connection
    if not isinstance(driver, sqlite3.Connection):
        return None
    triggers = conn.exec_driver_sql(
        "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
        (ContactOutbox.__tablename__,),
    ).scalar_one()
    return None if triggers else driver.total_changes


def _append(
    columns: dict[str, list[Any]],
    checked: set[tuple[Any, ...]],
    *,
    loan_id: str,
    borrower_id: str,
    template: str,
    channel: str,
    business_date: date,
    step: str,
    variables: Mapping[str, Any],
    strategy_version: str | None = None,
    group: str | None = None,
) -> None:
    """Add one message (:func:`enqueue`'s arguments) to the batch's columns. The catalog
    check depends only on the template, channel and variable names: once per batch
    for each such combination."""
    names = (template, channel, *variables)
    if names not in checked:
        check_message(template, channel, variables)
        checked.add(names)
    columns["loan_id"].append(loan_id)
    columns["borrower_id"].append(borrower_id)
    columns["template"].append(template)
    columns["channel"].append(channel)
    columns["business_date"].append(business_date)
    columns["step"].append(step)
    columns["variables"].append(dump_variables(variables))
    columns["strategy_version"].append(strategy_version)
    columns["group_name"].append(group)


def message_ids(count: int) -> list[str]:
    """``count`` random message ids, each like ``uuid.uuid4().hex`` (version 4, RFC 4122
    variant), from one read of the system's random source."""
    text = os.urandom(16 * count).hex()
    out = []
    for i in range(0, 32 * count, 32):
        raw = text[i : i + 32]
        out.append(f"{raw[:12]}4{raw[13:16]}{_VARIANT[int(raw[16], 16) & 3]}{raw[17:]}")
    return out


_VARIANT = "89ab"


def _batch_frame(columns: dict[str, list[Any]], now: datetime) -> pl.DataFrame:
    """The batch as a frame, built a column at a time. The constant and time columns are
    made in Polars, not converted from a time-zone-aware Python value per row (the slow
    part): ``not_before`` is midnight UTC of the business date and
    ``created_at``/``updated_at`` are ``now``, as :func:`_row` sets them."""
    frame = pl.DataFrame({c: columns[c] for c in _PLAIN}, schema=_PLAIN)
    at = pl.lit(now, dtype=_UTC)
    midnight = pl.col("business_date").cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    return frame.with_columns(
        pl.lit(MessageState.QUEUED.value, dtype=pl.Utf8).alias("state"),
        pl.lit(0, dtype=pl.Int64).alias("attempts"),
        midnight.alias("not_before"),
        at.alias("created_at"),
        at.alias("updated_at"),
    ).select(list(_BATCH_SCHEMA))


_UTC = pl.Datetime("us", "UTC")
_BATCH_SCHEMA: dict[str, pl.DataType] = {
    "message_id": pl.Utf8(),
    "loan_id": pl.Utf8(),
    "borrower_id": pl.Utf8(),
    "template": pl.Utf8(),
    "channel": pl.Utf8(),
    "business_date": pl.Date(),
    "step": pl.Utf8(),
    "variables": pl.Utf8(),
    "strategy_version": pl.Utf8(),
    "group_name": pl.Utf8(),
    "state": pl.Utf8(),
    "attempts": pl.Int64(),
    "not_before": _UTC,
    "created_at": _UTC,
    "updated_at": _UTC,
}
#: The columns each message gives (the others are constants or times).
_PLAIN: dict[str, pl.DataType] = {
    c: t
    for c, t in _BATCH_SCHEMA.items()
    if c not in ("state", "attempts", "not_before", "created_at", "updated_at")
}


def _row(
    *,
    loan_id: str,
    borrower_id: str,
    template: str,
    channel: str,
    business_date: date,
    step: str,
    variables: Mapping[str, Any],
    strategy_version: str | None = None,
    group: str | None = None,
    now: datetime,
) -> dict[str, Any]:
    check_message(template, channel, variables)
    return {
        "message_id": uuid.uuid4().hex,
        "loan_id": loan_id,
        "borrower_id": borrower_id,
        "template": template,
        "channel": channel,
        "business_date": business_date,
        "step": step,
        "variables": dump_variables(variables),
        "strategy_version": strategy_version,
        "group_name": group,
        "state": MessageState.QUEUED.value,
        "attempts": 0,
        "not_before": datetime.combine(business_date, time(0), tzinfo=UTC),
        "created_at": now,
        "updated_at": now,
    }
