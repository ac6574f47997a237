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


# ---- second half of issue 6: concessions, legal, agencies, recoveries ----------------


class CollectionConcession(Base):
    """A restructuring, waiver/settlement or write-off: proposed, then applied by the
    checker's approval (``postloan.security.approvals``) or rejected."""

    __tablename__ = "collection_concessions"

    concession_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(Short, index=True)  # restructuring|waiver|writeoff
    subtype: Mapped[str] = mapped_column(Short)  # extension|deferral|…|penalty|interest|…
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    loan_id: Mapped[str] = mapped_column(Id, index=True)
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units: the approval amount
    params: Mapped[str] = mapped_column(Text)  # JSON: the proposal's parameters
    result: Mapped[str | None] = mapped_column(Text)  # JSON: what applying it did
    state: Mapped[str] = mapped_column(String(16), index=True)  # proposed|applied|rejected
    approval_id: Mapped[int | None] = mapped_column(Integer, index=True)
    proposed_by: Mapped[str] = mapped_column(Id)
    proposed_on: Mapped[date] = mapped_column(Date)
    applied_by: Mapped[str | None] = mapped_column(Id)
    applied_on: Mapped[date | None] = mapped_column(Date)
    txn_id: Mapped[str | None] = mapped_column(Id)


class ScheduleVersion(Base):
    """A schedule a restructuring replaced (version 1 = the contract's), kept as JSON rows."""

    __tablename__ = "schedule_versions"

    loan_id: Mapped[str] = mapped_column(Id, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    concession_id: Mapped[int | None] = mapped_column(Integer)
    created_on: Mapped[date] = mapped_column(Date)
    body: Mapped[str] = mapped_column(Text)


class LegalCase(Base):
    """A loan in litigation: referral → filing → hearing → judgment → enforcement → closure."""

    __tablename__ = "legal_cases"

    legal_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    loan_id: Mapped[str] = mapped_column(Id, index=True)
    state: Mapped[str] = mapped_column(Short, index=True)
    court: Mapped[str | None] = mapped_column(Name)
    lawyer: Mapped[str | None] = mapped_column(Name)
    firm: Mapped[str | None] = mapped_column(Name)
    exposure_at_referral: Mapped[int] = mapped_column(BigInteger)
    cost: Mapped[int] = mapped_column(BigInteger, default=0)
    recovered: Mapped[int] = mapped_column(BigInteger, default=0)
    referred_on: Mapped[date] = mapped_column(Date)
    filed_on: Mapped[date | None] = mapped_column(Date)
    hearing_on: Mapped[date | None] = mapped_column(Date)
    judgment_on: Mapped[date | None] = mapped_column(Date)
    enforcement_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str] = mapped_column(Id)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LegalEvent(Base):
    """One step of a legal case, with its cost (court fee, lawyer) in minor units."""

    __tablename__ = "legal_events"

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    legal_id: Mapped[int] = mapped_column(ForeignKey("legal_cases.legal_id"), index=True)
    from_state: Mapped[str | None] = mapped_column(Short)
    to_state: Mapped[str] = mapped_column(Short)
    business_date: Mapped[date] = mapped_column(Date, index=True)
    cost: Mapped[int] = mapped_column(BigInteger, default=0)
    actor: Mapped[str] = mapped_column(Id)
    note: Mapped[str | None] = mapped_column(Text)


class CollectionAgency(Base):
    """The register of external collection agencies: only listed ones get placements."""

    __tablename__ = "collection_agencies"

    agency_id: Mapped[str] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(Name)
    commission_rate: Mapped[str] = mapped_column(Short)  # decimal string, e.g. "0.18"
    listed: Mapped[int] = mapped_column(Integer, default=1)
    listed_on: Mapped[date] = mapped_column(Date)
    delisted_on: Mapped[date | None] = mapped_column(Date)


class AgencyPlacement(Base):
    __tablename__ = "agency_placements"

    placement_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agency_id: Mapped[str] = mapped_column(ForeignKey("collection_agencies.agency_id"), index=True)
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    loan_id: Mapped[str] = mapped_column(Id, index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)  # placed|recalled
    placed_on: Mapped[date] = mapped_column(Date)
    recalled_on: Mapped[date | None] = mapped_column(Date)
    placed_balance: Mapped[int] = mapped_column(BigInteger)
    commission_rate: Mapped[str] = mapped_column(Short)
    collected: Mapped[int] = mapped_column(BigInteger, default=0)
    commission: Mapped[int] = mapped_column(BigInteger, default=0)
    placed_by: Mapped[str] = mapped_column(Id)
    version: Mapped[int] = mapped_column(Integer, default=1)


class CollectionRecovery(Base):
    """Money recovered by litigation, an agency or the collectors, posted as a repayment
    transaction (``txn_id``); ``after_write_off`` keeps post-charge-off recoveries apart."""

    __tablename__ = "collection_recoveries"

    recovery_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    txn_id: Mapped[str] = mapped_column(Id, unique=True)
    loan_id: Mapped[str] = mapped_column(Id, index=True)
    case_id: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Short)  # legal|agency|internal
    source_id: Mapped[int | None] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    cost: Mapped[int] = mapped_column(BigInteger, default=0)  # agency commission
    value_date: Mapped[date] = mapped_column(Date, index=True)
    after_write_off: Mapped[int] = mapped_column(Integer, default=0)
    posted_by: Mapped[str] = mapped_column(Id)
