"""The contact outbox: messages written in the transaction of the decision that caused them.

:func:`enqueue` is the one entry point for other code (the collections strategy
step calls it inside the close-of-business transaction). The idempotency key is
(loan, template, business date, step): a re-run of the same decision adds nothing.
"""

from __future__ import annotations

import json
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
    return json.dumps(dict(variables), default=_json_default, ensure_ascii=False, sort_keys=True)


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
    rows = [_row(**m, now=now) for m in messages]
    if not rows:
        return set()
    # one multi-row insert, then the rows that kept this batch's (random) message ids
    # are the new ones: cheaper than RETURNING through SQLAlchemy for a day's batch
    table = ContactOutbox.__tablename__
    frame = _batch_frame(rows, now)
    bulk.insert(conn, table, frame, tail=f"ON CONFLICT ({', '.join(KEY)}) DO NOTHING")
    sql = f"SELECT loan_id, template FROM {table} WHERE message_id {{in_values}}"
    return {(r[0], r[1]) for r in bulk.select_in(conn, sql, frame["message_id"].to_list())}


def _batch_frame(rows: list[dict[str, Any]], now: datetime) -> pl.DataFrame:
    """The rows as a frame. The time columns are made in Polars, not converted from a
    time-zone-aware Python value per row (the slow part): ``not_before`` is midnight
    UTC of the business date and ``created_at``/``updated_at`` are ``now``, as
    :func:`_row` sets them."""
    plain = {c: t for c, t in _BATCH_SCHEMA.items() if t != _UTC}
    frame = pl.DataFrame({c: [r[c] for r in rows] for c in plain}, schema=plain)
    at = pl.lit(now, dtype=_UTC)
    midnight = pl.col("business_date").cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    return frame.with_columns(
        midnight.alias("not_before"), at.alias("created_at"), at.alias("updated_at")
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
