"""The close of business's entries in the audit log: every classification and
IFRS 9 stage change, with its reasons, and a signed checkpoint per closed date.

Only changes whose event is new are recorded, so re-running a date adds no
second entry for the same change (the events themselves are idempotent by id).
"""

from __future__ import annotations

from datetime import date

import polars as pl
from sqlalchemy import Connection, select

from postloan.audit import AuditEvent, record_many
from postloan.store import tables as t

AUDITED = {"classification_changed": "classification", "stage_changed": "ifrs9_stage"}


def existing_event_ids(conn: Connection, business_date: date) -> set[str]:
    """Ids of the events already stored for ``business_date`` (before this run's upsert)."""
    e = t.LoanEvent
    rows = conn.execute(select(e.event_id).where(e.business_date == business_date))
    return {r[0] for r in rows}


def change_entries(
    events: pl.DataFrame, state: pl.DataFrame, known: set[str], business_date: date
) -> list[AuditEvent]:
    """Audit events for the new classification and stage changes among ``events``
    (``state``: the same loans' state, for the classification reasons)."""
    changes = events.filter(
        pl.col("event_type").is_in(list(AUDITED)) & ~pl.col("event_id").is_in(list(known))
    )
    if changes.is_empty():
        return []
    reasons = state.select("loan_id", "classification_reasons")
    rows = changes.join(reasons, on="loan_id", how="left").sort("loan_id", "event_type")
    out = []
    for row in rows.iter_rows(named=True):
        field = AUDITED[row["event_type"]]
        why = list(row["classification_reasons"] or [])
        out.append(
            AuditEvent(
                actor="system",
                role="system",
                action=f"loan.{row['event_type']}",
                object_type="loan",
                object_id=row["loan_id"],
                before={field: row["from_value"]},
                after={field: row["to_value"], "reasons": why},
                reason=", ".join(why) or None,
                business_date=business_date,
            )
        )
    return out


def record_changes(
    conn: Connection,
    events: pl.DataFrame,
    state: pl.DataFrame,
    known: set[str],
    business_date: date,
) -> int:
    entries = change_entries(events, state, known, business_date)
    record_many(conn, entries)
    return len(entries)
