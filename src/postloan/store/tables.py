"""ORM tables of the operational store (SQLite by default, PostgreSQL in production).

Money is ``BigInteger`` minor units; rates are normalised decimal strings (never
floats). Sensitive personal data is only stored as ``*_enc`` (AES-GCM
ciphertext) and ``*_bidx`` (HMAC blind index) columns.
The schema itself is created by the Alembic migrations in ``store/migrations``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Id = String(64)
Short = String(32)
Name = String(200)
Bidx = String(64)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Borrower(Base):
    __tablename__ = "borrowers"

    borrower_id: Mapped[str] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(Name)
    national_id_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    national_id_bidx: Mapped[str | None] = mapped_column(Bidx, index=True)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_bidx: Mapped[str | None] = mapped_column(Bidx, index=True)
    email: Mapped[str | None] = mapped_column(Name)
    address_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    address_bidx: Mapped[str | None] = mapped_column(Bidx)
    region: Mapped[str | None] = mapped_column(Short)
    birth_date: Mapped[date | None] = mapped_column(Date)
    monthly_income: Mapped[int | None] = mapped_column(BigInteger)
    employment: Mapped[str | None] = mapped_column(Name)
    language: Mapped[str | None] = mapped_column(Short)
    import_run_id: Mapped[str | None] = mapped_column(Id)


class BorrowerContact(Base):
    __tablename__ = "borrower_contacts"
    __table_args__ = (UniqueConstraint("borrower_id", "kind", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    borrower_id: Mapped[str] = mapped_column(ForeignKey("borrowers.borrower_id"), index=True)
    kind: Mapped[str] = mapped_column(Short)
    name: Mapped[str] = mapped_column(Name)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_bidx: Mapped[str | None] = mapped_column(Bidx, index=True)
    relation: Mapped[str | None] = mapped_column(Name)
    import_run_id: Mapped[str | None] = mapped_column(Id)


class Loan(Base):
    __tablename__ = "loans"

    loan_id: Mapped[str] = mapped_column(Id, primary_key=True)
    borrower_id: Mapped[str] = mapped_column(Id, index=True)  # may precede its borrower: flagged
    product: Mapped[str] = mapped_column(Name)
    principal: Mapped[int] = mapped_column(BigInteger)
    annual_rate: Mapped[str] = mapped_column(Short)
    term: Mapped[int] = mapped_column(Integer)
    frequency: Mapped[str] = mapped_column(Short)
    day_count: Mapped[str] = mapped_column(Short)
    method: Mapped[str] = mapped_column(Short)
    disbursement_date: Mapped[date] = mapped_column(Date)
    first_due_date: Mapped[date | None] = mapped_column(Date)
    officer_id: Mapped[str | None] = mapped_column(Id, index=True)
    branch: Mapped[str | None] = mapped_column(Name)
    currency: Mapped[str] = mapped_column(String(3))
    fee_per_period: Mapped[int] = mapped_column(BigInteger, default=0)
    region: Mapped[str | None] = mapped_column(Short)
    channel: Mapped[str | None] = mapped_column(Short)
    schedule_source: Mapped[str | None] = mapped_column(String(16))  # 'feed' | 'generated'
    import_run_id: Mapped[str | None] = mapped_column(Id)


class ScheduleInstalment(Base):
    __tablename__ = "schedule_instalments"

    loan_id: Mapped[str] = mapped_column(
        ForeignKey("loans.loan_id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    due_date: Mapped[date] = mapped_column(Date)
    principal_due: Mapped[int] = mapped_column(BigInteger)
    interest_due: Mapped[int] = mapped_column(BigInteger)
    fee_due: Mapped[int] = mapped_column(BigInteger)
    balance: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(16))


class Transaction(Base):
    __tablename__ = "transactions"

    txn_id: Mapped[str] = mapped_column(Id, primary_key=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.loan_id"), index=True)
    type: Mapped[str] = mapped_column(Short)
    amount: Mapped[int] = mapped_column(BigInteger)
    value_date: Mapped[date] = mapped_column(Date)
    channel: Mapped[str | None] = mapped_column(Short)
    reverses: Mapped[str | None] = mapped_column(Id)
    import_run_id: Mapped[str | None] = mapped_column(Id)


class HeldTransaction(Base):
    """A transaction whose loan is not known yet; retried on every import."""

    __tablename__ = "held_transactions"

    txn_id: Mapped[str] = mapped_column(Id, primary_key=True)
    loan_id: Mapped[str] = mapped_column(Id, index=True)
    raw: Mapped[str] = mapped_column(Text)  # the original row as JSON (all columns, as text)
    source_file: Mapped[str] = mapped_column(Text)
    line: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)  # held|released|rejected|superseded
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    first_run_id: Mapped[str] = mapped_column(Id)
    last_run_id: Mapped[str] = mapped_column(Id)
    resolved_run_id: Mapped[str | None] = mapped_column(Id)


class LoanMark(Base):
    __tablename__ = "loan_marks"

    mark_id: Mapped[str] = mapped_column(Id, primary_key=True)
    loan_id: Mapped[str] = mapped_column(ForeignKey("loans.loan_id"), index=True)
    kind: Mapped[str] = mapped_column(Short)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    import_run_id: Mapped[str | None] = mapped_column(Id)


class LoanFlag(Base):
    """A loan that was loaded although its data contradicts itself or another feed."""

    __tablename__ = "loan_flags"
    __table_args__ = (UniqueConstraint("loan_id", "rule"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    loan_id: Mapped[str] = mapped_column(Id, index=True)
    rule: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    import_run_id: Mapped[str] = mapped_column(Id)


class ImportRun(Base):
    __tablename__ = "import_runs"

    run_id: Mapped[str] = mapped_column(Id, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    source_dir: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # running|done|failed
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    loaded: Mapped[int] = mapped_column(BigInteger, default=0)
    rejected: Mapped[int] = mapped_column(BigInteger, default=0)
    held: Mapped[int] = mapped_column(BigInteger, default=0)
    released: Mapped[int] = mapped_column(BigInteger, default=0)
    quarantine_dir: Mapped[str | None] = mapped_column(Text)
    counts: Mapped[str | None] = mapped_column(Text)  # JSON: per-file counts


class ImportFile(Base):
    __tablename__ = "import_files"
    __table_args__ = (Index("ix_import_files_feed_sha256", "feed", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("import_runs.run_id"), index=True)
    feed: Mapped[str] = mapped_column(Short)
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))  # loaded|skipped|failed
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    loaded: Mapped[int] = mapped_column(BigInteger, default=0)
    rejected: Mapped[int] = mapped_column(BigInteger, default=0)
    held: Mapped[int] = mapped_column(BigInteger, default=0)
    message: Mapped[str | None] = mapped_column(Text)


class LoanStateCurrent(Base):
    """Where each loan stands on the last business date (filled by the batch)."""

    __tablename__ = "loan_state_current"

    loan_id: Mapped[str] = mapped_column(Id, primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, index=True)
    days_past_due: Mapped[int] = mapped_column(Integer, default=0)
    overdue_since: Mapped[date | None] = mapped_column(Date)
    bucket: Mapped[str] = mapped_column(Short)
    classification: Mapped[str] = mapped_column(Short)
    ifrs9_stage: Mapped[int] = mapped_column(Integer)
    principal_outstanding: Mapped[int] = mapped_column(BigInteger, default=0)
    overdue_principal: Mapped[int] = mapped_column(BigInteger, default=0)
    overdue_interest: Mapped[int] = mapped_column(BigInteger, default=0)
    penalty_outstanding: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LoanEvent(Base):
    """A roll event of the close of business; ``event_id`` hashes (loan, date, type)."""

    __tablename__ = "loan_events"

    event_id: Mapped[str] = mapped_column(Id, primary_key=True)
    loan_id: Mapped[str] = mapped_column(Id, index=True)
    business_date: Mapped[date] = mapped_column(Date, index=True)
    event_type: Mapped[str] = mapped_column(Short)
    from_value: Mapped[str | None] = mapped_column(Short)
    to_value: Mapped[str | None] = mapped_column(Short)


class Watermark(Base):
    """How far a batch has closed: ``name='eod'`` holds ``last_closed_business_date``."""

    __tablename__ = "watermarks"

    name: Mapped[str] = mapped_column(Short, primary_key=True)
    last_closed_business_date: Mapped[date] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class EodRun(Base):
    """One close-of-business run of one business date (an auditable record)."""

    __tablename__ = "eod_runs"

    run_id: Mapped[str] = mapped_column(Id, primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, index=True)
    engine: Mapped[str] = mapped_column(Short)
    status: Mapped[str] = mapped_column(String(16))  # running|done (a crash leaves running)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    loans: Mapped[int] = mapped_column(BigInteger, default=0)
    events: Mapped[int] = mapped_column(BigInteger, default=0)
    content_hashes: Mapped[str | None] = mapped_column(Text)  # JSON: table -> sha256


# Each area keeps its tables in its own module; importing them here puts every
# table on Base.metadata, which the migrations and the schema test compare against.
from postloan.store import (  # noqa: E402
    tables_audit,  # noqa: F401
    tables_collections,  # noqa: F401
    tables_contact,  # noqa: F401
    tables_risk,  # noqa: F401
    tables_security,  # noqa: F401
)
