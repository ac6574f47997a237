"""The close of business's bulk writes (``postloan.store.bulk``) on SQLite and
PostgreSQL: multi-row statements with a remainder, values stored exactly as
SQLAlchemy stores them, ``DO NOTHING`` tails, ids in frame order through
PostgreSQL's COPY staging table, lookups over several chunks, and a close whose
first commit (plain INSERTs into an empty ``loan_state_current``) and re-run
(upserts) leave the same rows."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest
from sqlalchemy import func, insert, select

from postloan.batch.pipeline import run_date
from postloan.commands.demo import sample_feeds_dir
from postloan.feeds.importer import import_directory
from postloan.store import Store, bulk
from postloan.store import tables as t
from postloan.store.tables_collections import CollectionCase

D = date(2027, 12, 31)
STAMP = datetime(2026, 11, 29, 6, 19, 1, 408825, tzinfo=UTC)


def states(n: int, dpd: int = 0) -> pl.DataFrame:
    """``n`` rows of ``loan_state_current``, every second one without overdue_since."""
    return pl.DataFrame(
        {
            "loan_id": [f"L{i:06d}" for i in range(n)],
            "business_date": [D] * n,
            "days_past_due": [dpd + i % 7 for i in range(n)],
            "overdue_since": [None if i % 2 else date(2027, 12, 1) for i in range(n)],
            "bucket": ["M1"] * n,
            "classification": ["关注"] * n,  # non-ASCII text survives the driver
            "ifrs9_stage": [2] * n,
            "principal_outstanding": [10**12 + i for i in range(n)],
            "overdue_principal": list(range(n)),
            "overdue_interest": [0] * n,
            "penalty_outstanding": [0] * n,
            "updated_at": [STAMP] * n,
        },
        schema_overrides={"ifrs9_stage": pl.Int32, "overdue_since": pl.Date},
    )


def stored_states(store: Store) -> list[tuple[object, ...]]:
    lsc = t.LoanStateCurrent
    with store.begin() as conn:
        rows = conn.execute(
            select(
                lsc.loan_id,
                lsc.business_date,
                lsc.days_past_due,
                lsc.overdue_since,
                lsc.classification,
                lsc.principal_outstanding,
                lsc.updated_at,
            ).order_by(lsc.loan_id)
        ).all()
    return [tuple(r) for r in rows]


def test_multi_row_inserts_and_upserts_store_every_row_once(store: Store) -> None:
    n = bulk.ROWS_PER_STATEMENT * 2 + 7  # full statements and a remainder
    frame = states(n)
    with store.begin() as conn:
        assert bulk.insert(conn, "loan_state_current", frame) == n
    rows = stored_states(store)
    assert len(rows) == n
    first = rows[0]
    assert first[:6] == ("L000000", D, 0, date(2027, 12, 1), "关注", 10**12)
    stamp = first[6]
    assert isinstance(stamp, datetime)
    assert stamp.replace(tzinfo=UTC) == STAMP  # naive UTC on SQLite, aware on PostgreSQL
    assert rows[1][3] is None
    # an upsert of changed values updates in place: no duplicates
    with store.begin() as conn:
        bulk.upsert(conn, "loan_state_current", states(n, dpd=30), ["loan_id"])
        count = conn.execute(select(func.count()).select_from(t.LoanStateCurrent)).scalar()
    assert count == n
    assert [r[2] for r in stored_states(store)][:8] == [30, 31, 32, 33, 34, 35, 36, 30]


def test_datetimes_are_stored_as_sqlalchemy_stores_them(store: Store) -> None:
    """A bulk row and an ORM row of the same instant read back alike (raw text on SQLite)."""
    with store.begin() as conn:
        bulk.insert(conn, "loan_state_current", states(1))
        conn.execute(
            insert(t.LoanStateCurrent).values(
                {**states(1).row(0, named=True), "loan_id": "ORM", "updated_at": STAMP}
            )
        )
        raw = conn.exec_driver_sql(
            "SELECT loan_id, business_date, overdue_since, updated_at FROM loan_state_current "
            "ORDER BY loan_id"
        ).all()
    bulk_row, orm_row = raw  # L000000 sorts before ORM
    assert orm_row[0] == "ORM"
    assert tuple(bulk_row[1:]) == tuple(orm_row[1:])


def cases(borrowers: list[str]) -> pl.DataFrame:
    n = len(borrowers)
    return pl.DataFrame(
        {
            "borrower_id": borrowers,
            "open_key": borrowers,
            "state": ["open"] * n,
            "opened_on": [D] * n,
            "source": ["delinquency"] * n,
            "restructured": [0] * n,
            "in_legal": [0] * n,
            "version": [1] * n,
            "updated_by": ["system"] * n,
            "updated_at": [STAMP] * n,
        }
    )


def test_do_nothing_keeps_existing_rows_and_ids_follow_the_frame(store: Store) -> None:
    """Above COPY_THRESHOLD rows PostgreSQL stages them; ids still follow the frame."""
    n = bulk.COPY_THRESHOLD + 3
    borrowers = [f"B{(i * 7919) % n:06d}" for i in range(n)]  # not in sorted order
    tail = "ON CONFLICT (open_key) DO NOTHING"
    with store.begin() as conn:
        bulk.insert(conn, "collection_cases", cases(borrowers[:10]), tail=tail)
        bulk.insert(conn, "collection_cases", cases(borrowers), tail=tail)
        c = CollectionCase.__table__.c
        rows = conn.execute(select(c.borrower_id, c.updated_at).order_by(c.case_id)).all()
    assert [r.borrower_id for r in rows] == borrowers  # each once, in the frame's order
    assert rows[-1].updated_at.replace(tzinfo=UTC) == STAMP


def test_select_in_reads_every_chunk(store: Store) -> None:
    frame = states(25)
    with store.begin() as conn:
        bulk.insert(conn, "loan_state_current", frame)
        sql = "SELECT loan_id, days_past_due FROM loan_state_current WHERE loan_id {in_values}"
        wanted = [f"L{i:06d}" for i in range(0, 25, 2)] + ["nobody"]
        got = bulk.select_in(conn, sql, wanted, step=4)
        assert bulk.select_in(conn, sql, []) == []
    assert sorted(got) == [(f"L{i:06d}", i % 7) for i in range(0, 25, 2)]


def test_first_close_inserts_and_the_rerun_upserts_the_same_current_state(store: Store) -> None:
    assert import_directory(sample_feeds_dir(), store).rejected == 0
    on = date(2026, 10, 7)
    lsc = t.LoanStateCurrent

    def current() -> list[tuple[object, ...]]:
        with store.begin() as conn:
            rows = conn.execute(
                select(lsc.__table__).order_by(lsc.loan_id)  # every column but updated_at
            ).all()
        return [tuple(v for k, v in r._mapping.items() if k != "updated_at") for r in rows]

    run_date(store, on)  # into the empty table: plain INSERTs
    first = current()
    assert len(first) == 47
    run_date(store, on)  # the table is full now: upserts
    assert current() == first


def test_many_chunks_are_written_whole_and_in_order(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several chunks of several multi-row statements each, and a remainder."""
    monkeypatch.setattr(bulk, "CHUNK", 600)
    borrowers = [f"B{(i * 7919) % 2003:06d}" for i in range(2003)]
    with store.begin() as conn:
        bulk.insert(conn, "collection_cases", cases(borrowers))
        c = CollectionCase.__table__.c
        got = conn.execute(select(c.borrower_id).order_by(c.case_id)).scalars().all()
    assert got == borrowers
