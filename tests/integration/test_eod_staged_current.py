"""A first close's ``loan_state_current`` written ahead by a worker process and copied
in with one INSERT … SELECT (SQLite, :mod:`postloan.batch.current_stage`): the same
rows as the close's own inserts, and the same when the worker fails."""

from __future__ import annotations

import sys
from datetime import date

import pytest
from sqlalchemy import delete, select

from postloan.batch import current_stage, pipeline
from postloan.batch.pipeline import run_date
from postloan.commands.demo import sample_feeds_dir
from postloan.feeds.importer import import_directory
from postloan.store import Store
from postloan.store import tables as t

ON = date(2026, 10, 7)


def current(store: Store) -> list[tuple[object, ...]]:
    lsc = t.LoanStateCurrent
    with store.begin() as conn:
        rows = conn.execute(select(lsc.__table__).order_by(lsc.loan_id)).all()
    return [tuple(v for k, v in r._mapping.items() if k != "updated_at") for r in rows]


def copies(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each copy the close makes from a worker's file (True) or falls back (False)."""
    seen: list[bool] = []
    original = current_stage.StagedCurrent.copy_into

    def counted(self: current_stage.StagedCurrent, conn: object, table: str) -> bool:
        done = original(self, conn, table)  # type: ignore[arg-type]
        seen.append(done)
        return done

    monkeypatch.setattr(current_stage.StagedCurrent, "copy_into", counted)
    return seen


def clear_current(store: Store) -> None:
    with store.begin() as conn:
        conn.execute(delete(t.LoanStateCurrent))


def test_worker_rows_equal_the_close_own_inserts(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert import_directory(sample_feeds_dir(), store).rejected == 0
    seen = copies(monkeypatch)
    monkeypatch.setattr(pipeline, "STAGE_MIN_ROWS", 1)
    run_date(store, ON)
    staged = current(store)
    assert len(staged) == 47
    assert seen == ([True] if store.dialect == "sqlite" else [])  # SQLite only
    # the same date into an emptied table without the worker: the close inserts itself
    clear_current(store)
    monkeypatch.setattr(pipeline, "STAGE_MIN_ROWS", 10**9)
    run_date(store, ON)
    assert current(store) == staged
    assert len(seen) == (1 if store.dialect == "sqlite" else 0)
    # a re-run over a full table upserts; no worker either
    monkeypatch.setattr(pipeline, "STAGE_MIN_ROWS", 1)
    run_date(store, ON)
    assert current(store) == staged
    assert len(seen) == (1 if store.dialect == "sqlite" else 0)


def test_a_failed_worker_falls_back_to_the_close_own_inserts(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert import_directory(sample_feeds_dir(), store).rejected == 0
    run_date(store, ON)
    expected = current(store)
    clear_current(store)
    seen = copies(monkeypatch)
    monkeypatch.setattr(pipeline, "STAGE_MIN_ROWS", 1)
    monkeypatch.setattr(sys, "executable", "/bin/false")  # the worker exits with 1
    run_date(store, ON)
    assert current(store) == expected
    assert seen == ([False] if store.dialect == "sqlite" else [])
    with store.begin() as conn:  # detached again: the pooled connection is clean
        names = (
            [r[1] for r in conn.exec_driver_sql("PRAGMA database_list")]
            if (store.dialect == "sqlite")
            else ["main"]
        )
    assert current_stage.ALIAS not in names
