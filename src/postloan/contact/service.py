"""Contact services other code calls in its own transaction.

- :func:`check_call` — may a collector call this borrower now? Returns the
  number only when the conduct guard allows; otherwise the reason ("not allowed
  before 08:00") and when it becomes allowed.
- :func:`record_call` — log a call attempt so the guard counts it.
- :func:`opt_out` / :func:`opt_in` — per channel.
- :func:`record_receipt` — a provider's delivery receipt for a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from postloan.contact import records
from postloan.contact.conduct import ConductGuard, Request
from postloan.contact.settings import ContactSettings
from postloan.domain.errors import NotFound, ValidationError
from postloan.security.pii import PiiCipher, mask_phone
from postloan.store.tables import BorrowerContact
from postloan.store.tables_contact import ContactAttempt, ContactOptOut, ContactReceipt

CALL_OUTCOMES = frozenset({"unanswered", "answered", "conversation", "invalid"})
CHANNELS = frozenset({"sms", "email", "webhook", "inapp", "call", "visit"})


@dataclass(frozen=True, slots=True)
class CallPermission:
    """``phone`` only when ``allowed``; otherwise ``reason`` (in the asked language)."""

    allowed: bool
    phone: str | None
    masked: str | None
    reason: str
    until: datetime | None


def check_call(
    conn: Connection,
    cipher: PiiCipher,
    cfg: ContactSettings,
    *,
    borrower_id: str,
    now: datetime,
    contact_id: int | None = None,
    lang: str = "zh-CN",
) -> CallPermission:
    """The number to dial, or why not now (``contact_id``: an emergency contact)."""
    person = records.borrowers(conn, [borrower_id]).get(borrower_id)
    if person is None:
        raise NotFound(f"borrower {borrower_id} not found")
    rule = cfg.for_region(person.region)
    guard = ConductGuard(cfg.profile(person.profile or rule.profile))
    history = records.history(conn, [borrower_id], now - timedelta(days=8)).get(borrower_id, [])
    opted = records.opt_outs(conn, [borrower_id]).get(borrower_id, set())
    token = person.phone_enc
    key, target = "primary", "borrower"
    if contact_id is not None:
        row = conn.execute(
            select(BorrowerContact.phone_enc).where(
                BorrowerContact.id == contact_id, BorrowerContact.borrower_id == borrower_id
            )
        ).first()
        if row is None:
            raise NotFound(f"contact {contact_id} of borrower {borrower_id} not found")
        token, key, target = row[0], f"contact:{contact_id}", "third_party"
    request = Request("call", person.time_zone or rule.time_zone, method_key=key, target=target)
    verdict = guard.check(request, now, history, opted)
    if not verdict.allowed:
        return CallPermission(False, None, None, verdict.text(lang), verdict.until)
    if token is None:
        raise ValidationError(f"borrower {borrower_id}: no phone number on file")
    phone = cipher.decrypt("phone", bytes(token))
    return CallPermission(True, phone, mask_phone(phone), "", None)


def record_call(
    conn: Connection,
    *,
    borrower_id: str,
    outcome: str,
    at: datetime,
    actor: str,
    loan_id: str | None = None,
    contact_id: int | None = None,
) -> None:
    """Log a call attempt (unanswered/answered/conversation/invalid) for the guard."""
    if outcome not in CALL_OUTCOMES:
        raise ValidationError(f"call outcome must be one of {sorted(CALL_OUTCOMES)}")
    conn.execute(
        insert(ContactAttempt).values(
            borrower_id=borrower_id,
            loan_id=loan_id,
            channel="call",
            method_key="primary" if contact_id is None else f"contact:{contact_id}",
            target="borrower" if contact_id is None else "third_party",
            outcome=outcome,
            at=at.astimezone(UTC),
            actor=actor,
        )
    )


def opt_out(
    conn: Connection, *, borrower_id: str, channel: str, at: datetime, source: str = "borrower"
) -> None:
    """The borrower asked not to be contacted on ``channel`` (idempotent)."""
    if channel not in CHANNELS:
        raise ValidationError(f"channel must be one of {sorted(CHANNELS)}")
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(ContactOptOut).values(
        borrower_id=borrower_id, channel=channel, source=source, created_at=at.astimezone(UTC)
    )
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["borrower_id", "channel"]))


def opt_in(conn: Connection, *, borrower_id: str, channel: str) -> None:
    conn.execute(
        delete(ContactOptOut).where(
            ContactOptOut.borrower_id == borrower_id, ContactOptOut.channel == channel
        )
    )


def record_receipt(
    conn: Connection,
    *,
    message_id: str,
    provider: str,
    status: str,
    at: datetime,
    provider_ref: str | None = None,
    detail: str | None = None,
) -> None:
    """A delivery receipt (delivered/failed/…) reported by a provider's callback."""
    conn.execute(
        insert(ContactReceipt).values(
            message_id=message_id,
            provider=provider,
            status=status,
            provider_ref=provider_ref,
            detail=detail,
            received_at=at.astimezone(UTC),
        )
    )
