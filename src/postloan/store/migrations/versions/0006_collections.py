"""collections: strategies, cases, tasks, promises, restructuring, legal, agencies (issue 6)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 01:30:00

The first half of issue 6: strategy versions, cases (one open per borrower via
``open_key``), the loans of a case, planned actions, tasks, contacts, promises.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collection_actions",
        sa.Column("action_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("loan_id", sa.String(length=64), nullable=False),
        sa.Column("borrower_id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("template", sa.String(length=100), nullable=False),
        sa.Column("segment", sa.String(length=100), nullable=False),
        sa.Column("strategy_version", sa.String(length=64), nullable=False),
        sa.Column("group", sa.String(length=32), nullable=False),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column("cost", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("action_id", name=op.f("pk_collection_actions")),
        sa.UniqueConstraint(
            "loan_id",
            "action",
            "business_date",
            "template",
            name=op.f("uq_collection_actions_loan_id"),
        ),
    )
    op.create_index(
        op.f("ix_collection_actions_borrower_id"),
        "collection_actions",
        ["borrower_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_collection_actions_business_date"),
        "collection_actions",
        ["business_date"],
        unique=False,
    )
    op.create_index(
        op.f("ix_collection_actions_case_id"), "collection_actions", ["case_id"], unique=False
    )
    op.create_table(
        "collection_cases",
        sa.Column("case_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("borrower_id", sa.String(length=64), nullable=False),
        sa.Column("open_key", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("bucket", sa.String(length=32), nullable=True),
        sa.Column("region", sa.String(length=32), nullable=True),
        sa.Column("queue", sa.String(length=100), nullable=True),
        sa.Column("assigned_to", sa.String(length=64), nullable=True),
        sa.Column("strategy_version", sa.String(length=64), nullable=True),
        sa.Column("group", sa.String(length=32), nullable=True),
        sa.Column("restructured", sa.Integer(), nullable=False),
        sa.Column("in_legal", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_collection_cases")),
        sa.UniqueConstraint("open_key", name=op.f("uq_collection_cases_open_key")),
    )
    op.create_index(
        op.f("ix_collection_cases_assigned_to"), "collection_cases", ["assigned_to"], unique=False
    )
    op.create_index(
        op.f("ix_collection_cases_borrower_id"), "collection_cases", ["borrower_id"], unique=False
    )
    op.create_index(op.f("ix_collection_cases_queue"), "collection_cases", ["queue"], unique=False)
    op.create_index(op.f("ix_collection_cases_state"), "collection_cases", ["state"], unique=False)
    op.create_table(
        "collection_strategies",
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("proposed_by", sa.String(length=64), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approval_id", sa.Integer(), nullable=True),
        sa.Column("activated_by", sa.String(length=64), nullable=True),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_collection_strategies")),
    )
    op.create_index(
        op.f("ix_collection_strategies_status"), "collection_strategies", ["status"], unique=False
    )
    op.create_table(
        "collection_case_loans",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.String(length=64), nullable=False),
        sa.Column("added_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["collection_cases.case_id"],
            name=op.f("fk_collection_case_loans_case_id_collection_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", "loan_id", name=op.f("pk_collection_case_loans")),
    )
    op.create_index(
        op.f("ix_collection_case_loans_loan_id"), "collection_case_loans", ["loan_id"], unique=False
    )
    op.create_table(
        "collection_contacts",
        sa.Column("contact_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("collector", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("contacted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("strategy_version", sa.String(length=64), nullable=True),
        sa.Column("group", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["collection_cases.case_id"],
            name=op.f("fk_collection_contacts_case_id_collection_cases"),
        ),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_collection_contacts")),
    )
    op.create_index(
        op.f("ix_collection_contacts_business_date"),
        "collection_contacts",
        ["business_date"],
        unique=False,
    )
    op.create_index(
        op.f("ix_collection_contacts_case_id"), "collection_contacts", ["case_id"], unique=False
    )
    op.create_table(
        "collection_promises",
        sa.Column("promise_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("promised_date", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("paid", sa.BigInteger(), nullable=False),
        sa.Column("evaluated_on", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("strategy_version", sa.String(length=64), nullable=True),
        sa.Column("group", sa.String(length=32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["collection_cases.case_id"],
            name=op.f("fk_collection_promises_case_id_collection_cases"),
        ),
        sa.PrimaryKeyConstraint("promise_id", name=op.f("pk_collection_promises")),
    )
    op.create_index(
        op.f("ix_collection_promises_case_id"), "collection_promises", ["case_id"], unique=False
    )
    op.create_index(
        op.f("ix_collection_promises_state"), "collection_promises", ["state"], unique=False
    )
    op.create_table(
        "collection_tasks",
        sa.Column("task_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column("skill", sa.String(length=32), nullable=False),
        sa.Column("bucket", sa.String(length=32), nullable=True),
        sa.Column("region", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("assigned_to", sa.String(length=64), nullable=True),
        sa.Column("escalated_to", sa.String(length=64), nullable=True),
        sa.Column("escalated_on", sa.Date(), nullable=True),
        sa.Column("strategy_version", sa.String(length=64), nullable=False),
        sa.Column("group", sa.String(length=32), nullable=False),
        sa.Column("cost", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["collection_cases.case_id"],
            name=op.f("fk_collection_tasks_case_id_collection_cases"),
        ),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_collection_tasks")),
        sa.UniqueConstraint(
            "case_id", "action", "created_on", name=op.f("uq_collection_tasks_case_id")
        ),
    )
    op.create_index(
        op.f("ix_collection_tasks_assigned_to"), "collection_tasks", ["assigned_to"], unique=False
    )
    op.create_index(
        op.f("ix_collection_tasks_case_id"), "collection_tasks", ["case_id"], unique=False
    )
    op.create_index(op.f("ix_collection_tasks_queue"), "collection_tasks", ["queue"], unique=False)
    op.create_index(op.f("ix_collection_tasks_state"), "collection_tasks", ["state"], unique=False)


def downgrade() -> None:
    op.drop_table("collection_tasks")
    op.drop_table("collection_promises")
    op.drop_table("collection_contacts")
    op.drop_table("collection_case_loans")
    op.drop_table("collection_strategies")
    op.drop_table("collection_cases")
    op.drop_table("collection_actions")
