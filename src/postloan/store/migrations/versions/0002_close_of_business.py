"""close of business: loan_events, watermarks, eod_runs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "loan_events",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("loan_id", sa.String(length=64), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("from_value", sa.String(length=32), nullable=True),
        sa.Column("to_value", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_loan_events")),
    )
    with op.batch_alter_table("loan_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loan_events_loan_id"), ["loan_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_loan_events_business_date"), ["business_date"], unique=False
        )
    op.create_table(
        "watermarks",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_closed_business_date", sa.Date(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_watermarks")),
    )
    op.create_table(
        "eod_runs",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("engine", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("loans", sa.BigInteger(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("content_hashes", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_eod_runs")),
    )
    with op.batch_alter_table("eod_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_eod_runs_business_date"), ["business_date"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("eod_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_eod_runs_business_date"))
    op.drop_table("eod_runs")
    op.drop_table("watermarks")
    with op.batch_alter_table("loan_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loan_events_business_date"))
        batch_op.drop_index(batch_op.f("ix_loan_events_loan_id"))
    op.drop_table("loan_events")
