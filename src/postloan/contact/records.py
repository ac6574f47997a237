"""What the dispatcher reads and writes besides the outbox rows themselves.

Borrower contact data (language, time zone, profile, encrypted phone), contact
history for the guard, opt-outs, and where each loan stands (for cancellation).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Table, and_, func, select

from postloan.contact.cancellation import LoanNow
from postloan.contact.conduct import Attempt
from postloan.store.tables import Base, Borrower, LoanStateCurrent, Transaction
from postloan.store.tables_contact import ContactAttempt, ContactOptOut, ContactProfile

CHUNK = 500


def as_utc(moment: datetime) -> datetime:
    """SQLite returns naive datetimes: every stored time is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    items = sorted(set(values))
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


@dataclass(frozen=True, slots=True)
class BorrowerContactInfo:
    borrower_id: str
    name: str
    language: str | None
    region: str | None
    phone_enc: bytes | None
    email: str | None
    time_zone: str | None
    profile: str | None


def borrowers(conn: Connection, ids: Iterable[str]) -> dict[str, BorrowerContactInfo]:
    out: dict[str, BorrowerContactInfo] = {}
    for part in _chunks(ids):
        rows = conn.execute(
            select(
                Borrower.borrower_id,
                Borrower.name,
                func.coalesce(ContactProfile.language, Borrower.language),
                Borrower.region,
                Borrower.phone_enc,
                Borrower.email,
                ContactProfile.time_zone,
                ContactProfile.conduct_profile,
            )
            .outerjoin(ContactProfile, ContactProfile.borrower_id == Borrower.borrower_id)
            .where(Borrower.borrower_id.in_(part))
        )
        for r in rows:
            out[r[0]] = BorrowerContactInfo(*r)
    return out


def history(conn: Connection, ids: Iterable[str], since: datetime) -> dict[str, list[Attempt]]:
    out: dict[str, list[Attempt]] = defaultdict(list)
    for part in _chunks(ids):
        rows = conn.execute(
            select(
                ContactAttempt.borrower_id,
                ContactAttempt.channel,
                ContactAttempt.at,
                ContactAttempt.outcome,
                ContactAttempt.method_key,
                ContactAttempt.target,
            ).where(ContactAttempt.borrower_id.in_(part), ContactAttempt.at >= since)
        )
        for b, channel, at, outcome, key, target in rows:
            out[b].append(Attempt(channel, as_utc(at), outcome, key, target))
    return out


def opt_outs(conn: Connection, ids: Iterable[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for part in _chunks(ids):
        rows = conn.execute(
            select(ContactOptOut.borrower_id, ContactOptOut.channel).where(
                ContactOptOut.borrower_id.in_(part)
            )
        )
        for b, channel in rows:
            out[b].add(channel)
    return out


def _promises_table() -> tuple[Table, Table] | None:
    promises = Base.metadata.tables.get("collection_promises")
    links = Base.metadata.tables.get("collection_case_loans")
    if promises is None or links is None:
        return None
    return promises, links


def loans_now(conn: Connection, loan_ids: Sequence[str], since: date) -> dict[str, LoanNow]:
    """Latest batch state, repayments value-dated after ``since``, newest open promise."""
    state: dict[str, tuple[date, int, int, int]] = {}
    repaid: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    promised: dict[str, date] = {}
    tables = _promises_table()
    for part in _chunks(loan_ids):
        for r in conn.execute(
            select(
                LoanStateCurrent.loan_id,
                LoanStateCurrent.business_date,
                LoanStateCurrent.days_past_due,
                LoanStateCurrent.principal_outstanding,
                LoanStateCurrent.overdue_principal
                + LoanStateCurrent.overdue_interest
                + LoanStateCurrent.penalty_outstanding,
            ).where(LoanStateCurrent.loan_id.in_(part))
        ):
            state[r[0]] = (r[1], r[2], r[3], r[4])
        for loan, day, amount in conn.execute(
            select(Transaction.loan_id, Transaction.value_date, Transaction.amount).where(
                Transaction.loan_id.in_(part),
                Transaction.type == "repayment",
                Transaction.value_date > since,
            )
        ):
            repaid[loan][day] += int(amount)
        if tables is not None:
            promises, links = tables
            for loan, created in conn.execute(
                select(links.c.loan_id, func.max(promises.c.created_on))
                .join(promises, and_(promises.c.case_id == links.c.case_id))
                .where(links.c.loan_id.in_(part), promises.c.state == "open")
                .group_by(links.c.loan_id)
            ):
                if created is not None:
                    promised[loan] = created
    out: dict[str, LoanNow] = {}
    for loan in set(state) | set(repaid) | set(promised):
        d, dpd, principal, overdue = state.get(loan, (None, 0, 0, 0))
        out[loan] = LoanNow(
            state_date=d,
            days_past_due=int(dpd),
            principal_outstanding=int(principal),
            overdue_amount=int(overdue),
            repaid_since=dict(repaid.get(loan, {})),
            promise_since=promised.get(loan),
        )
    return out
