"""borrower contact: outbox, deliveries, opt-outs (issue 7)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 01:30:00

Tables of :mod:`postloan.store.tables_contact`: the outbox with its idempotency
key, provider receipts, opt-outs per channel, per-borrower contact profiles,
contact attempts (what the conduct guard counts) and in-app notes for staff.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "contact_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("loan_id", sa.String(length=64), nullable=False),
        sa.Column("borrower_id", sa.String(length=64), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=False),
        sa.Column("variables", sa.Text(), nullable=False),
        sa.Column("strategy_version", sa.String(length=64), nullable=True),
        sa.Column("group_name", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", _tz(), nullable=False),
        sa.Column("lease_until", _tz(), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("provider", sa.String(length=32), nullable=True),
        sa.Column("provider_ref", sa.String(length=128), nullable=True),
        sa.Column("cost_minor", sa.BigInteger(), nullable=True),
        sa.Column("cost_currency", sa.String(length=3), nullable=True),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("updated_at", _tz(), nullable=False),
        sa.Column("sent_at", _tz(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_outbox")),
        sa.UniqueConstraint("message_id", name=op.f("uq_contact_outbox_message_id")),
        sa.UniqueConstraint(
            "loan_id",
            "template",
            "business_date",
            "step",
            name=op.f("uq_contact_outbox_loan_id"),
        ),
    )
    with op.batch_alter_table("contact_outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_outbox_borrower_id"), ["borrower_id"], unique=False
        )
        batch_op.create_index(
            "ix_contact_outbox_state_not_before", ["state", "not_before"], unique=False
        )
    op.create_table(
        "contact_receipts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("provider_ref", sa.String(length=128), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("received_at", _tz(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_receipts")),
    )
    with op.batch_alter_table("contact_receipts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_receipts_message_id"), ["message_id"], unique=False
        )
    op.create_table(
        "contact_optouts",
        sa.Column("borrower_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=True),
        sa.Column("created_at", _tz(), nullable=False),
        sa.PrimaryKeyConstraint("borrower_id", "channel", name=op.f("pk_contact_optouts")),
    )
    op.create_table(
        "contact_profiles",
        sa.Column("borrower_id", sa.String(length=64), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=True),
        sa.Column("conduct_profile", sa.String(length=32), nullable=True),
        sa.Column("language", sa.String(length=32), nullable=True),
        sa.Column("updated_at", _tz(), nullable=False),
        sa.PrimaryKeyConstraint("borrower_id", name=op.f("pk_contact_profiles")),
    )
    op.create_table(
        "contact_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("borrower_id", sa.String(length=64), nullable=False),
        sa.Column("loan_id", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("method_key", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("at", _tz(), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_attempts")),
    )
    with op.batch_alter_table("contact_attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contact_attempts_borrower_id_at", ["borrower_id", "at"], unique=False
        )
    op.create_table(
        "contact_notes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("loan_id", sa.String(length=64), nullable=False),
        sa.Column("borrower_id", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_notes")),
        sa.UniqueConstraint("message_id", name=op.f("uq_contact_notes_message_id")),
    )
    with op.batch_alter_table("contact_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_notes_loan_id"), ["loan_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("contact_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_notes_loan_id"))
    op.drop_table("contact_notes")
    with op.batch_alter_table("contact_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_attempts_borrower_id_at")
    op.drop_table("contact_attempts")
    op.drop_table("contact_profiles")
    op.drop_table("contact_optouts")
    with op.batch_alter_table("contact_receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_receipts_message_id"))
    op.drop_table("contact_receipts")
    with op.batch_alter_table("contact_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_outbox_state_not_before")
        batch_op.drop_index(batch_op.f("ix_contact_outbox_borrower_id"))
    op.drop_table("contact_outbox")
