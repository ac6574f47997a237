"""Payments posted through the API, confirmed by the core system's feed.

A payment posted to ``POST /api/v1/events/payments`` is stored at once (so days
past due, promises and reminders react in real time) as a provisional
transaction whose id starts with ``API-``. The core lending system is the book
of record: the same payment arrives later in its transactions feed under the
core's own id. Loading both would count the money twice, so when a feed row
confirms a provisional payment the provisional row is removed and the core row
stays, with an audit entry that names both ids.

A feed row confirms a provisional payment of the same loan, type and amount
whose value date is the same or up to ``WINDOW_DAYS`` earlier (cores often
book a card or transfer payment a day or two later). Pairs are matched one to
one, earliest first on both sides, so two equal payments in a week stay two.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Connection, bindparam, select, text

#: Prefix of the transaction ids the API gives provisional payments.
PROVISIONAL_PREFIX = "API-"
#: Days a core value date may trail the provisional payment's.
WINDOW_DAYS = 3


def match_provisional(
    incoming: pl.DataFrame, provisional: pl.DataFrame, window_days: int = WINDOW_DAYS
) -> list[tuple[str, str]]:
    """``(provisional txn_id, core txn_id)`` pairs (pure).

    Both frames have ``txn_id, loan_id, type, amount, value_date``; ``incoming``
    holds only core rows not stored yet. A core row matches the earliest unmatched
    provisional row of its loan, type and amount dated within ``window_days``
    before it (or the same day)."""
    if incoming.height == 0 or provisional.height == 0:
        return []
    key = ["loan_id", "type", "amount"]
    wanted = provisional.select(*key, "txn_id", "value_date").sort("value_date", "txn_id")
    pairs: list[tuple[str, str]] = []
    used: set[str] = set()
    candidates: dict[tuple[Any, ...], list[tuple[date, str]]] = {}
    for row in wanted.iter_rows(named=True):
        group = (row["loan_id"], row["type"], row["amount"])
        candidates.setdefault(group, []).append((row["value_date"], row["txn_id"]))
    core = incoming.select(*key, "txn_id", "value_date").sort("value_date", "txn_id")
    for row in core.iter_rows(named=True):
        group = (row["loan_id"], row["type"], row["amount"])
        for day, txn_id in candidates.get(group, ()):
            if txn_id in used:
                continue
            if day <= row["value_date"] <= day + timedelta(days=window_days):
                used.add(txn_id)
                pairs.append((txn_id, row["txn_id"]))
                break
    return pairs


def provisional(conn: Connection) -> pl.DataFrame:
    """The stored provisional (API) transactions not yet confirmed by the core (few:
    confirmed ones are removed)."""
    from postloan.store.tables import Transaction as T

    if conn.dialect.name == "sqlite":  # GLOB is case-sensitive, so it can use the key's index
        prefixed = T.txn_id.op("GLOB")(PROVISIONAL_PREFIX + "*")
    else:
        prefixed = T.txn_id.startswith(PROVISIONAL_PREFIX, autoescape=True)
    rows = conn.execute(
        select(T.txn_id, T.loan_id, T.type, T.amount, T.value_date).where(prefixed)
    ).all()
    schema = {
        "txn_id": pl.Utf8,
        "loan_id": pl.Utf8,
        "type": pl.Utf8,
        "amount": pl.Int64,
        "value_date": pl.Date,
    }
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def supersede_provisional(conn: Connection, rows: pl.DataFrame, run_id: str) -> int:
    """Before ``rows`` (a transactions feed's valid rows) are stored: remove the
    provisional payments they confirm and audit each pair; returns how many."""
    if rows.height == 0:
        return 0
    waiting = provisional(conn)
    if waiting.height == 0:
        return 0
    key = ["loan_id", "type", "amount"]
    core = (
        rows.select("txn_id", *key, "value_date")
        .filter(~pl.col("txn_id").str.starts_with(PROVISIONAL_PREFIX))
        .join(waiting.select(key).unique(), on=key, how="semi")
    )
    if core.height == 0:
        return 0
    stored = conn.execute(
        text("SELECT txn_id FROM transactions WHERE txn_id IN :ids").bindparams(
            bindparam("ids", expanding=True)
        ),
        {"ids": core["txn_id"].to_list()},
    ).scalars()
    fresh = core.filter(~pl.col("txn_id").is_in(list(stored)))
    pairs = match_provisional(fresh, waiting)
    if not pairs:
        return 0
    conn.execute(
        text("DELETE FROM transactions WHERE txn_id IN :ids").bindparams(
            bindparam("ids", expanding=True)
        ),
        {"ids": [api for api, _ in pairs]},
    )
    from postloan.audit import AuditEvent, record_many

    record_many(
        conn,
        [
            AuditEvent(
                actor="system",
                role="system",
                action="transaction.confirmed_by_core",
                object_type="transaction",
                object_id=api,
                after={"core_txn_id": core_id, "import_run_id": run_id},
                reason=f"the core system's feed booked this API payment as {core_id}",
            )
            for api, core_id in pairs
        ],
    )
    return len(pairs)
