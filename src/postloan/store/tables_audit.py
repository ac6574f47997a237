"""ORM tables of the verifiable audit log (issue 9).

``audit_entries`` holds each entry's canonical JSON and its RFC 6962 leaf hash
(id = leaf index + 1, dense). ``audit_nodes`` caches the hash of every complete
subtree of height >= 1, keyed (level, index), so a proof is O(log n) reads.
``audit_tree_state`` is a single row (id 1) with the tree size and the
"frontier" (the right-edge subtree roots), locked by every append.
``audit_checkpoints`` keeps the signed checkpoints. No personal data: entries
carry ids, tokens and digests only.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from postloan.store.tables import Base, Id, Name


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    entry: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Id)
    action: Mapped[str] = mapped_column(Id)
    object_type: Mapped[str] = mapped_column(Id)
    object_id: Mapped[str] = mapped_column(Name)
    business_date: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditNode(Base):
    __tablename__ = "audit_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditTreeState(Base):
    __tablename__ = "audit_tree_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    frontier: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditCheckpoint(Base):
    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    key_id: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text)
