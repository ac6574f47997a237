"""The STRATEGY commit's batch paths on both databases: multi-row audit inserts that the
log verifier accepts, case.open entries with the reference bytes, idempotent re-runs,
and cured cases resolved (and only those)."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
from sqlalchemy import func, select

from postloan.audit import AuditEvent, record_many
from postloan.audit.audit_check import verify_log
from postloan.audit.entry import digest, entry_bytes
from postloan.collections import service as sv
from postloan.collections.daily import close_day
from postloan.collections.planner import INPUT_SCHEMA
from postloan.collections.step import EXTRA_COLUMNS
from postloan.store import Store
from postloan.store.tables_audit import AuditEntry

DAY = date(2027, 3, 1)


def _frame(loans: int) -> pl.DataFrame:
    """``loans`` delinquent loans, two per borrower (the second less late)."""
    rows = [
        {
            "loan_id": f"L{i:05d}",
            "borrower_id": f"B{i // 2:05d}",
            "product": "cash",
            "region": "east",
            "bucket": "M1",
            "days_past_due": 10 + (i % 2 == 0) * 5,
            "next_due_date": DAY + timedelta(days=20),
            "balance": 100_000,
            "overdue_amount": 5_000 + i,
            "entered_today": False,
            "score": None,
            "promise_state": "none",
            "restructured": False,
            "in_legal": False,
            "currency": "CNY",
            "next_due_amount": 3_000,
        }
        for i in range(loans)
    ]
    return pl.DataFrame(rows, schema={**INPUT_SCHEMA, **EXTRA_COLUMNS})


def _entries(store: Store, action: str) -> list[tuple[int, str, str]]:
    table = AuditEntry.__table__
    with store.begin() as conn:
        rows = conn.execute(
            select(table.c.id, table.c.object_id, table.c.entry)
            .where(table.c.action == action)
            .order_by(table.c.id)
        )
        return [(r.id, r.object_id, r.entry) for r in rows]


def test_batches_of_audit_entries_verify(store: Store) -> None:
    events = [
        AuditEvent("system", "system", "case.open", "collection_case", str(i), None, {"n": i})
        for i in range(1, 333)  # three full SQLite statements and a remainder
    ]
    with store.begin() as conn:
        ids = record_many(conn, events)
        ids += record_many(conn, events[:2])
        ids += record_many(conn, events[:1])
    assert ids == list(range(1, 336))
    stored = _entries(store, "case.open")
    assert [r[0] for r in stored] == ids
    at = stored[0][2].split('"at":"')[1].split('"')[0]
    assert stored[0][2].encode() == entry_bytes(1, events[0], at)
    with store.begin() as conn:
        report = verify_log(conn, None)
    assert report.ok and report.entries == 335


def test_close_day_opens_cases_once_and_resolves_the_cured(store: Store) -> None:
    frame = _frame(300)
    state = frame.select("loan_id", "days_past_due")
    with store.begin() as conn:
        report = close_day(
            conn, business_date=DAY, frame=frame, state=state, settings=store.settings
        )
    assert report.cases_opened == 150
    opened = _entries(store, "case.open")
    assert len(opened) == 150
    with store.begin() as conn:
        case_of = dict(conn.execute(select(sv.CASES.c.case_id, sv.CASES.c.borrower_id)).all())
        links = conn.execute(select(func.count()).select_from(sv.CASE_LOANS)).scalar_one()
    assert links == 300
    # the worst loan first: cases open in order of days past due, then loan id
    first_id, first_case, first_entry = opened[0]
    assert case_of[int(first_case)] == "B00000"
    borrower = int(case_of[int(first_case)][1:])
    loans = [f"L{2 * borrower:05d}", f"L{2 * borrower + 1:05d}"]
    after = {"state": "open", "source": "delinquency", "loans": loans}
    at = first_entry.split('"at":"')[1].split('"')[0]
    event = AuditEvent(
        "system", "system", "case.open", "collection_case", first_case, None, after, None, DAY
    )
    assert first_entry.encode() == entry_bytes(first_id, event, at)
    assert f'"after_digest":"{digest(after)}"' in first_entry

    with store.begin() as conn:  # the same date again: nothing new
        again = close_day(
            conn, business_date=DAY, frame=frame, state=state, settings=store.settings
        )
    assert again.cases_opened == 0 and again.cases_resolved == 0
    assert len(_entries(store, "case.open")) == 150

    # the next day the first 100 borrowers are current on both loans: their cases resolve
    current = [f"L{i:05d}" for i in range(200)]
    later = frame.with_columns(
        pl.when(pl.col("loan_id").is_in(current))
        .then(0)
        .otherwise(pl.col("days_past_due"))
        .cast(pl.Int32)
        .alias("days_past_due")
    )
    with store.begin() as conn:
        next_day = close_day(
            conn,
            business_date=DAY + timedelta(days=1),
            frame=later,
            state=later.select("loan_id", "days_past_due"),
            settings=store.settings,
        )
        resolved = set(
            conn.execute(
                select(sv.CASES.c.borrower_id).where(sv.CASES.c.open_key.is_(None))
            ).scalars()
        )
        report_log = verify_log(conn, None)
    assert next_day.cases_resolved == 100
    assert resolved == {f"B{b:05d}" for b in range(100)}
    assert report_log.ok
