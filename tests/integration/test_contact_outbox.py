"""The contact outbox: enqueue in the caller's transaction, once per idempotency key."""

from __future__ import annotations

from datetime import date

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from postloan.contact.outbox import enqueue, enqueue_many
from postloan.domain.errors import ValidationError
from postloan.store import Store
from postloan.store.tables import Base
from postloan.store.tables_contact import ContactOutbox

D = date(2026, 3, 2)
CONTACT_TABLES = (
    "contact_outbox",
    "contact_receipts",
    "contact_optouts",
    "contact_profiles",
    "contact_attempts",
    "contact_notes",
)


def _enqueue(conn, step: str = "overdue-d3") -> bool:  # type: ignore[no-untyped-def]
    return enqueue(
        conn,
        loan_id="L1",
        borrower_id="B1",
        template="overdue",
        channel="sms",
        business_date=D,
        step=step,
        variables={"days_past_due": 3, "amount_overdue": 123456, "currency": "CNY"},
        strategy_version="s1",
        group="champion",
    )


def test_contact_tables_match_the_migration(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    mine = [d for d in diff if any(f"'{name}'" in repr(d) for name in CONTACT_TABLES)]
    assert mine == []


def test_enqueue_is_idempotent_per_key(store: Store) -> None:
    with store.begin() as conn:
        assert _enqueue(conn) is True
        assert _enqueue(conn) is False
        assert _enqueue(conn, step="overdue-d4") is True
    with store.begin() as conn:
        assert _enqueue(conn) is False
        rows = conn.execute(select(ContactOutbox)).all()
    assert len(rows) == 2
    assert {r.state for r in rows} == {"queued"}
    assert rows[0].group_name == "champion"
    assert rows[0].message_id != rows[1].message_id


def test_enqueue_rolls_back_with_the_decision(store: Store) -> None:
    with pytest.raises(RuntimeError), store.begin() as conn:
        _enqueue(conn)
        raise RuntimeError("the decision failed")
    with store.begin() as conn:
        assert conn.execute(select(func.count()).select_from(ContactOutbox)).scalar() == 0


def test_enqueue_names_a_missing_variable(store: Store) -> None:
    with store.begin() as conn, pytest.raises(ValidationError, match="amount_overdue"):
        enqueue(
            conn,
            loan_id="L1",
            borrower_id="B1",
            template="overdue",
            channel="sms",
            business_date=D,
            step="x",
            variables={"days_past_due": 3},
        )
    with store.begin() as conn, pytest.raises(ValidationError, match="minor units"):
        enqueue(
            conn,
            loan_id="L1",
            borrower_id="B1",
            template="overdue",
            channel="sms",
            business_date=D,
            step="x",
            variables={"days_past_due": 3, "amount_overdue": 12.5},
        )


def test_enqueue_many_counts_only_new_messages(store: Store) -> None:
    def message(i: int) -> dict[str, object]:
        return {
            "loan_id": f"L{i}",
            "borrower_id": f"B{i}",
            "template": "due_today",
            "channel": "sms",
            "business_date": D,
            "step": "reminders",
            "variables": {"due_date": D, "amount_due": 1000 + i},
        }

    with store.begin() as conn:
        assert _enqueue(conn) is True
        assert enqueue_many(conn, [message(i) for i in range(300)]) == 300
        assert enqueue_many(conn, [message(i) for i in range(250, 400)]) == 100
        assert enqueue_many(conn, []) == 0
        assert conn.execute(select(func.count()).select_from(ContactOutbox)).scalar() == 401
    with store.begin() as conn, pytest.raises(ValidationError, match="amount_due"):
        enqueue_many(conn, [{**message(999), "variables": {"due_date": D}}])
