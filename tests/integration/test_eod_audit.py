"""The close of business writes the audit trail: one entry per new classification
or stage change (with reasons), none again on a re-run, and a signed checkpoint
per closed date that `audit verify` accepts."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from postloan.audit.audit_check import verify_log
from postloan.audit.checkpoint import load_signing_key
from postloan.batch.pipeline import run_date, run_range
from postloan.commands.demo import sample_feeds_dir
from postloan.feeds.importer import import_directory
from postloan.store import Store
from postloan.store import tables as t
from postloan.store.tables_audit import AuditCheckpoint, AuditEntry

D2, D3 = date(2026, 10, 6), date(2026, 10, 7)  # on D3 a loan changes class and stage


@pytest.fixture
def book(store: Store) -> Store:
    assert import_directory(sample_feeds_dir(), store).rejected == 0
    return store


def change_entries(store: Store) -> list[dict[str, object]]:
    with store.begin() as conn:
        rows = conn.execute(
            select(AuditEntry.entry).where(AuditEntry.action.like("loan.%")).order_by(AuditEntry.id)
        ).scalars()
        return [json.loads(r) for r in rows]


def test_classification_and_stage_changes_are_audited_once(book: Store) -> None:
    run_range(book, [D2, D3])
    entries = change_entries(book)
    with book.begin() as conn:
        e = t.LoanEvent
        changes = conn.execute(
            select(e.loan_id, e.event_type, e.from_value, e.to_value)
            .where(e.event_type.in_(["classification_changed", "stage_changed"]))
            .where(e.business_date == D3)
            .order_by(e.loan_id, e.event_type)
        ).all()
        checkpoints = conn.execute(select(func.count()).select_from(AuditCheckpoint)).scalar()
    assert changes, "the sample book has class/stage changes on D3"
    on_d3 = [x for x in entries if x["business_date"] == D3.isoformat()]
    assert [(x["object_id"], x["action"]) for x in on_d3] == [
        (loan, f"loan.{kind}") for loan, kind, _, _ in changes
    ]
    assert all(x["actor"] == "system" and x["reason"] for x in on_d3)
    assert checkpoints == 2  # one per closed date
    run_date(book, D3)  # the re-run records no change twice
    assert change_entries(book) == entries
    with book.begin() as conn:
        report = verify_log(conn, load_signing_key(book.settings.keys_dir).verifier_key())
    assert report.ok, report.problems
    assert report.checkpoints == 3
