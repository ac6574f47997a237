"""ORM tables of borrower contact: outbox, receipts, opt-outs, attempts (issue 7).

Same conventions as :mod:`postloan.store.tables` (money in BigInteger minor
units, no plaintext personal data); the schema comes from the Alembic migrations.
Times are stored in UTC (SQLite keeps no offset: read them back as UTC).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from postloan.store.tables import Base, Id, Short

MessageId = String(64)


class ContactOutbox(Base):
    """One message to send; written in the transaction of the decision that caused it.

    The idempotency key is (loan, template, business date, step); ``message_id``
    is handed to the provider as its idempotency key / Message-ID.
    """

    __tablename__ = "contact_outbox"
    __table_args__ = (
        UniqueConstraint("loan_id", "template", "business_date", "step"),
        Index("ix_contact_outbox_state_not_before", "state", "not_before"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(MessageId, unique=True)
    loan_id: Mapped[str] = mapped_column(Id)
    borrower_id: Mapped[str] = mapped_column(Id, index=True)
    template: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(Short)
    business_date: Mapped[date] = mapped_column(Date)
    step: Mapped[str] = mapped_column(String(64))
    variables: Mapped[str] = mapped_column(Text)  # JSON; amounts in minor units
    strategy_version: Mapped[str | None] = mapped_column(String(64))
    group_name: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # see postloan.contact.states
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)  # last guard / cancel reason (no PII)
    last_error: Mapped[str | None] = mapped_column(Text)
    provider: Mapped[str | None] = mapped_column(Short)
    provider_ref: Mapped[str | None] = mapped_column(String(128))
    cost_minor: Mapped[int | None] = mapped_column(BigInteger)
    cost_currency: Mapped[str | None] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ContactReceipt(Base):
    """A provider's word on a message: accepted at send time, delivered/failed later."""

    __tablename__ = "contact_receipts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(MessageId, index=True)
    provider: Mapped[str] = mapped_column(Short)
    status: Mapped[str] = mapped_column(Short)  # accepted|delivered|failed|reconciled
    provider_ref: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ContactOptOut(Base):
    """A borrower who asked not to be contacted on one channel."""

    __tablename__ = "contact_optouts"

    borrower_id: Mapped[str] = mapped_column(Id, primary_key=True)
    channel: Mapped[str] = mapped_column(Short, primary_key=True)
    source: Mapped[str | None] = mapped_column(Short)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ContactProfile(Base):
    """Where and how a borrower is contacted, when it differs from the region's default."""

    __tablename__ = "contact_profiles"

    borrower_id: Mapped[str] = mapped_column(Id, primary_key=True)
    time_zone: Mapped[str | None] = mapped_column(String(64))
    conduct_profile: Mapped[str | None] = mapped_column(Short)
    language: Mapped[str | None] = mapped_column(Short)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ContactAttempt(Base):
    """One contact attempt (message sent, call made): what the guard counts."""

    __tablename__ = "contact_attempts"
    __table_args__ = (Index("ix_contact_attempts_borrower_id_at", "borrower_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    borrower_id: Mapped[str] = mapped_column(Id)
    loan_id: Mapped[str | None] = mapped_column(Id)
    channel: Mapped[str] = mapped_column(Short)  # sms|email|webhook|inapp|call|visit
    method_key: Mapped[str] = mapped_column(String(64))  # which number/address: 'primary', id
    target: Mapped[str] = mapped_column(Short)  # borrower|third_party
    outcome: Mapped[str] = mapped_column(Short)  # sent|unanswered|answered|conversation|invalid
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    message_id: Mapped[str | None] = mapped_column(MessageId)
    actor: Mapped[str] = mapped_column(String(64))


class ContactNote(Base):
    """An in-app note for staff (the ``inapp`` channel), written in the send transaction."""

    __tablename__ = "contact_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(MessageId, unique=True)
    loan_id: Mapped[str] = mapped_column(Id, index=True)
    borrower_id: Mapped[str] = mapped_column(Id)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
