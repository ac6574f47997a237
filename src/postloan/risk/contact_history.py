"""The contact and promise history the FEATURES step reads (``unreachable_30d``,
``broken_promises_90d``), from the collections and contact tables.

:func:`contact_frames` returns the two frames in the shapes of
``features.CONTACT_SCHEMA`` and ``features.PROMISE_SCHEMA`` for the 90 days up to
the business date; the close of business passes them to FEATURES as the frames
``contacts`` and ``promises`` (empty when collections has not run yet).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import polars as pl
from sqlalchemy import Connection, select

from postloan.batch.steps.features import CONTACT_SCHEMA, PROMISE_SCHEMA
from postloan.store.tables_collections import (
    CollectionCaseLoan,
    CollectionContact,
    CollectionPromise,
)
from postloan.store.tables_contact import ContactAttempt

#: Outcomes of the outbox's calls and visits to the borrower (contact_attempts) and of
#: collectors' logged contacts (collection_contacts) that say whether they reached them.
REACHED = ("answered", "conversation", "right_party", "promise", "refused")
UNREACHED = ("unanswered", "invalid", "no_answer", "wrong_number")
WINDOW_DAYS = 90


def contact_frames(conn: Connection, business_date: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(contacts, promises) of the last 90 days up to ``business_date``."""
    start = business_date - timedelta(days=WINDOW_DAYS)
    since = datetime.combine(start, time(), UTC)
    until = datetime.combine(business_date + timedelta(days=1), time(), UTC)
    if conn.dialect.name == "sqlite":  # stored as naive UTC text
        since, until = since.replace(tzinfo=None), until.replace(tzinfo=None)
    a = ContactAttempt
    attempts = conn.execute(
        select(a.loan_id, a.at, a.outcome).where(
            a.loan_id.is_not(None),
            a.target == "borrower",
            a.outcome.in_([*REACHED, *UNREACHED]),
            a.at >= since,
            a.at < until,
        )
    ).all()
    c, link = CollectionContact, CollectionCaseLoan
    logged = conn.execute(
        select(link.loan_id, c.business_date, c.outcome)
        .join(link, link.case_id == c.case_id)
        .where(
            c.outcome.in_([*REACHED, *UNREACHED]),
            c.business_date >= start,
            c.business_date <= business_date,
        )
    ).all()
    contacts = pl.DataFrame(
        [(loan, at.date(), outcome in REACHED) for loan, at, outcome in attempts]
        + [(loan, day, outcome in REACHED) for loan, day, outcome in logged],
        schema=CONTACT_SCHEMA,
        orient="row",
    )
    p = CollectionPromise
    kept = {"kept": True, "broken": False}
    promises = pl.DataFrame(
        [
            (loan, promised, kept.get(state))
            for loan, promised, state in conn.execute(
                select(link.loan_id, p.promised_date, p.state)
                .join(link, link.case_id == p.case_id)
                .where(p.promised_date >= start, p.promised_date <= business_date)
            ).all()
        ],
        schema=PROMISE_SCHEMA,
        orient="row",
    )
    return contacts, promises
