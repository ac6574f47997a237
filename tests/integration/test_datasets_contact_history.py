"""Contact and promise history from the collections and contact tables (SQLite and
PostgreSQL) in the shapes FEATURES reads, and the features they give."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
from sqlalchemy import insert

from postloan.batch.steps.features import compute_features, empty_history
from postloan.risk.contact_history import contact_frames
from postloan.store import Store
from postloan.store.tables_collections import (
    CollectionCase,
    CollectionCaseLoan,
    CollectionContact,
    CollectionPromise,
)
from postloan.store.tables_contact import ContactAttempt

D = date(2026, 6, 15)
NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)


def test_contacts_and_promises_become_features(store: Store) -> None:
    with store.begin() as conn:
        case = conn.execute(
            insert(CollectionCase)
            .values(
                borrower_id="B1",
                state="open",
                opened_on=date(2026, 5, 1),
                source="delinquency",
                updated_by="system",
                updated_at=NOW,
            )
            .returning(CollectionCase.case_id)
        ).scalar_one()
        conn.execute(
            insert(CollectionCaseLoan).values(case_id=case, loan_id="L1", added_on=date(2026, 5, 1))
        )
        for day, outcome in ((date(2026, 6, 1), "no_answer"), (date(2026, 6, 2), "right_party")):
            conn.execute(
                insert(CollectionContact).values(
                    case_id=case,
                    collector="li.na",
                    channel="call",
                    outcome=outcome,
                    business_date=day,
                    contacted_at=NOW,
                )
            )
        for i, (at, outcome) in enumerate(
            [
                (datetime(2026, 6, 10, 9, tzinfo=UTC), "unanswered"),
                (datetime(2026, 6, 11, 9, tzinfo=UTC), "sent"),  # a message: not counted
                (datetime(2026, 1, 11, 9, tzinfo=UTC), "unanswered"),  # too old
                (datetime(2026, 6, 16, 9, tzinfo=UTC), "unanswered"),  # after the date
            ]
        ):
            conn.execute(
                insert(ContactAttempt).values(
                    borrower_id="B1",
                    loan_id="L1",
                    channel="call",
                    method_key=f"primary-{i}",
                    target="borrower",
                    outcome=outcome,
                    at=at,
                    actor="system",
                )
            )
        for promised, state in ((date(2026, 5, 20), "broken"), (date(2026, 6, 20), "open")):
            conn.execute(
                insert(CollectionPromise).values(
                    case_id=case,
                    amount=50_000,
                    currency="CNY",
                    created_on=date(2026, 5, 10),
                    promised_date=promised,
                    state=state,
                    created_by="li.na",
                )
            )
        contacts, promises = contact_frames(conn, D)
    assert sorted(contacts.rows()) == [
        ("L1", date(2026, 6, 1), False),
        ("L1", date(2026, 6, 2), True),
        ("L1", date(2026, 6, 10), False),
    ]
    assert promises.rows() == [("L1", date(2026, 5, 20), False)]
    state = pl.DataFrame({"loan_id": ["L1"], "business_date": [D], "days_past_due": [20]})
    loans = pl.DataFrame(
        {"loan_id": ["L1"], "principal": [10_000], "disbursement_date": [date(2026, 1, 1)]}
    )
    schedules = pl.DataFrame({"loan_id": ["L1"], "due_date": [date(2026, 5, 26)]})
    out = compute_features(
        state, loans, schedules, empty_history(), D, contacts=contacts, promises=promises
    )
    assert out.select("unreachable_30d", "broken_promises_90d").row(0) == (2, 1)
