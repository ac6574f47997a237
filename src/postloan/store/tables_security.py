"""ORM tables of users, roles, API keys and maker-checker approvals (issue 8).

Same conventions as :mod:`postloan.store.tables` (money in BigInteger minor
units, no plaintext personal data); the schema comes from the Alembic migrations.
Passwords are stored only as argon2 hashes and API keys only as SHA-256 digests.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from postloan.store.tables import Base, Id, Name, Short


class UserRow(Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(Id, primary_key=True)
    display_name: Mapped[str] = mapped_column(Name)
    role: Mapped[str] = mapped_column(Short, index=True)
    team: Mapped[str | None] = mapped_column(Short)
    region: Mapped[str | None] = mapped_column(Short)
    skills: Mapped[str | None] = mapped_column(Text)  # comma-separated skill tags
    capacity: Mapped[int | None] = mapped_column(Integer)  # open cases a collector can hold
    active: Mapped[bool] = mapped_column(Boolean)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    failed_logins: Mapped[int] = mapped_column(Integer)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer)  # bumped on every change; ends old tokens


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("users.username"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(Name)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApprovalRow(Base):
    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(Short)
    object_id: Mapped[str] = mapped_column(Id)
    payload: Mapped[str] = mapped_column(Text)  # JSON
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), index=True)
    maker: Mapped[str] = mapped_column(Id, index=True)
    maker_role: Mapped[str] = mapped_column(Short)
    reason: Mapped[str | None] = mapped_column(Text)
    checker: Mapped[str | None] = mapped_column(Id)
    checker_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RevokedToken(Base):
    """Sessions ended by logout before their expiry (kept until they would expire)."""

    __tablename__ = "revoked_tokens"

    token_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
