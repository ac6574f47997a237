"""ORM tables of collections: strategies, cases, tasks, promises, restructuring,
legal, agencies (issue 6).

Same conventions as :mod:`postloan.store.tables` (money in BigInteger minor
units, no plaintext personal data); the schema comes from the Alembic migrations.
Rows that people edit carry a ``version`` for optimistic locking. A case's
``open_key`` is its borrower id while it is open and NULL afterwards: a unique
constraint on it keeps one open case per borrower on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy import UniqueConstraint as Unique
from sqlalchemy.orm import Mapped, mapped_column

from postloan.store.tables import Base, Id, Short

Name = String(200)


class CollectionStrategy(Base):
    """A strategy version: proposed, then active after approval (one active at a time)."""

    __tablename__ = "collection_strategies"

    version: Mapped[str] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(Name)
    sha256: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)  # proposed|active|retired
    proposed_by: Mapped[str] = mapped_column(Id)
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    approval_id: Mapped[int | None] = mapped_column(Integer)
    activated_by: Mapped[str | None] = mapped_column(Id)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CollectionCase(Base):
    __tablename__ = "collection_cases"

    case_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    borrower_id: Mapped[str] = mapped_column(Id, index=True)
    open_key: Mapped[str | None] = mapped_column(Id, unique=True)
    state: Mapped[str] = mapped_column(Short, index=True)
    opened_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str] = mapped_column(Short)  # delinquency|alert|manual
    bucket: Mapped[str | None] = mapped_column(Short)
    region: Mapped[str | None] = mapped_column(Short)
    queue: Mapped[str | None] = mapped_column(String(100), index=True)
    assigned_to: Mapped[str | None] = mapped_column(Id, index=True)
    strategy_version: Mapped[str | None] = mapped_column(Id)
    group: Mapped[str | None] = mapped_column(Short)
    restructured: Mapped[int] = mapped_column(Integer, default=0)
    in_legal: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str] = mapped_column(Id)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CollectionCaseLoan(Base):
    __tablename__ = "collection_case_loans"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("collection_cases.case_id", ondelete="CASCADE"), primary_key=True
    )
    loan_id: Mapped[str] = mapped_column(Id, primary_key=True, index=True)
    added_on: Mapped[date] = mapped_column(Date)


class CollectionAction(Base):
    """One planned treatment action of one loan on one business date (idempotent key)."""

    __tablename__ = "collection_actions"
    __table_args__ = (Unique("loan_id", "action", "business_date", "template"),)

    action_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(Id)
    borrower_id: Mapped[str] = mapped_column(Id, index=True)
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    business_date: Mapped[date] = mapped_column(Date, index=True)
    action: Mapped[str] = mapped_column(Short)
    kind: Mapped[str] = mapped_column(String(16))  # automated|human
    template: Mapped[str] = mapped_column(String(100))
    segment: Mapped[str] = mapped_column(String(100))
    strategy_version: Mapped[str] = mapped_column(Id)
    group: Mapped[str] = mapped_column(Short)
    days_past_due: Mapped[int] = mapped_column(Integer)
    cost: Mapped[int] = mapped_column(BigInteger, default=0)  # minor units (cost table)
    status: Mapped[str] = mapped_column(String(16))  # enqueued|duplicate|task
    task_id: Mapped[int | None] = mapped_column(Integer)


class CollectionTask(Base):
    """Human work in a queue (bucket/skill/region): a call, a visit, a referral …"""

    __tablename__ = "collection_tasks"
    __table_args__ = (Unique("case_id", "action", "created_on"),)

    task_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_cases.case_id"), index=True)
    loan_id: Mapped[str] = mapped_column(Id)
    action: Mapped[str] = mapped_column(Short)
    queue: Mapped[str] = mapped_column(String(100), index=True)
    skill: Mapped[str] = mapped_column(Short)
    bucket: Mapped[str | None] = mapped_column(Short)
    region: Mapped[str | None] = mapped_column(Short)
    state: Mapped[str] = mapped_column(String(16), index=True)  # open|escalated|done|cancelled
    created_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)  # the SLA: escalated when still open after it
    assigned_to: Mapped[str | None] = mapped_column(Id, index=True)
    escalated_to: Mapped[str | None] = mapped_column(Id)
    escalated_on: Mapped[date | None] = mapped_column(Date)
    strategy_version: Mapped[str] = mapped_column(Id)
    group: Mapped[str] = mapped_column(Short)
    cost: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CollectionContact(Base):
    """A logged contact attempt and its outcome."""

    __tablename__ = "collection_contacts"

    contact_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_cases.case_id"), index=True)
    task_id: Mapped[int | None] = mapped_column(Integer)
    collector: Mapped[str] = mapped_column(Id)
    channel: Mapped[str] = mapped_column(Short)
    outcome: Mapped[str] = mapped_column(Short)
    note: Mapped[str | None] = mapped_column(Text)  # free text: no personal data please
    business_date: Mapped[date] = mapped_column(Date, index=True)
    contacted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    strategy_version: Mapped[str | None] = mapped_column(Id)
    group: Mapped[str | None] = mapped_column(Short)


class CollectionPromise(Base):
    """A promise to pay ``amount`` by ``promised_date``; kept or broken from payments."""

    __tablename__ = "collection_promises"

    promise_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_cases.case_id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_on: Mapped[date] = mapped_column(Date)
    promised_date: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), index=True)  # open|kept|broken|cancelled
    paid: Mapped[int] = mapped_column(BigInteger, default=0)
    evaluated_on: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(Id)
    strategy_version: Mapped[str | None] = mapped_column(Id)
    group: Mapped[str | None] = mapped_column(Short)
    version: Mapped[int] = mapped_column(Integer, default=1)
