"""collections, second half: concessions, schedule versions, legal, agencies, recoveries

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 02:10:00

Tables of the second half of issue 6 (:mod:`postloan.store.tables_collections`):
restructurings, waivers and write-offs (``collection_concessions``), the schedules a
restructuring replaced (``schedule_versions``), legal cases and their events, the
agency register and placements, and recoveries posted as transactions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collection_agencies",
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("commission_rate", sa.String(length=32), nullable=False),
        sa.Column("listed", sa.Integer(), nullable=False),
        sa.Column("listed_on", sa.Date(), nullable=False),
        sa.Column("delisted_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("agency_id", name=op.f("pk_collection_agencies")),
    )
    op.create_table(
        "collection_concessions",
        sa.Column("concession_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subtype", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("loan_id", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("approval_id", sa.Integer(), nullable=True),
        sa.Column("proposed_by", sa.String(length=64), nullable=False),
        sa.Column("proposed_on", sa.Date(), nullable=False),
        sa.Column("applied_by", sa.String(length=64), nullable=True),
        sa.Column("applied_on", sa.Date(), nullable=True),
        sa.Column("txn_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("concession_id", name=op.f("pk_collection_concessions")),
    )
    op.create_index(
        op.f("ix_collection_concessions_approval_id"),
        "collection_concessions",
        ["approval_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_collection_concessions_case_id"),
        "collection_concessions",
        ["case_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_collection_concessions_kind"), "collection_concessions", ["kind"], unique=False
    )
    op.create_index(
        op.f("ix_collection_concessions_loan_id"),
        "collection_concessions",
        ["loan_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_collection_concessions_state"), "collection_concessions", ["state"], unique=False
    )
    op.create_table(
        "collection_recoveries",
        sa.Column("recovery_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("txn_id", sa.String(length=64), nullable=False),
        sa.Column("loan_id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("cost", sa.BigInteger(), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("after_write_off", sa.Integer(), nullable=False),
        sa.Column("posted_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("recovery_id", name=op.f("pk_collection_recoveries")),
        sa.UniqueConstraint("txn_id", name=op.f("uq_collection_recoveries_txn_id")),
    )
    op.create_index(
        op.f("ix_collection_recoveries_loan_id"), "collection_recoveries", ["loan_id"], unique=False
    )
    op.create_index(
        op.f("ix_collection_recoveries_value_date"),
        "collection_recoveries",
        ["value_date"],
        unique=False,
    )
    op.create_table(
        "legal_cases",
        sa.Column("legal_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("loan_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("court", sa.String(length=200), nullable=True),
        sa.Column("lawyer", sa.String(length=200), nullable=True),
        sa.Column("firm", sa.String(length=200), nullable=True),
        sa.Column("exposure_at_referral", sa.BigInteger(), nullable=False),
        sa.Column("cost", sa.BigInteger(), nullable=False),
        sa.Column("recovered", sa.BigInteger(), nullable=False),
        sa.Column("referred_on", sa.Date(), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=True),
        sa.Column("hearing_on", sa.Date(), nullable=True),
        sa.Column("judgment_on", sa.Date(), nullable=True),
        sa.Column("enforcement_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("legal_id", name=op.f("pk_legal_cases")),
    )
    op.create_index(op.f("ix_legal_cases_case_id"), "legal_cases", ["case_id"], unique=False)
    op.create_index(op.f("ix_legal_cases_loan_id"), "legal_cases", ["loan_id"], unique=False)
    op.create_index(op.f("ix_legal_cases_state"), "legal_cases", ["state"], unique=False)
    op.create_table(
        "schedule_versions",
        sa.Column("loan_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("concession_id", sa.Integer(), nullable=True),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("loan_id", "version", name=op.f("pk_schedule_versions")),
    )
    op.create_table(
        "agency_placements",
        sa.Column("placement_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("loan_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("placed_on", sa.Date(), nullable=False),
        sa.Column("recalled_on", sa.Date(), nullable=True),
        sa.Column("placed_balance", sa.BigInteger(), nullable=False),
        sa.Column("commission_rate", sa.String(length=32), nullable=False),
        sa.Column("collected", sa.BigInteger(), nullable=False),
        sa.Column("commission", sa.BigInteger(), nullable=False),
        sa.Column("placed_by", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["collection_agencies.agency_id"],
            name=op.f("fk_agency_placements_agency_id_collection_agencies"),
        ),
        sa.PrimaryKeyConstraint("placement_id", name=op.f("pk_agency_placements")),
    )
    op.create_index(
        op.f("ix_agency_placements_agency_id"), "agency_placements", ["agency_id"], unique=False
    )
    op.create_index(
        op.f("ix_agency_placements_case_id"), "agency_placements", ["case_id"], unique=False
    )
    op.create_index(
        op.f("ix_agency_placements_loan_id"), "agency_placements", ["loan_id"], unique=False
    )
    op.create_index(
        op.f("ix_agency_placements_state"), "agency_placements", ["state"], unique=False
    )
    op.create_table(
        "legal_events",
        sa.Column("event_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("legal_id", sa.Integer(), nullable=False),
        sa.Column("from_state", sa.String(length=32), nullable=True),
        sa.Column("to_state", sa.String(length=32), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("cost", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["legal_id"],
            ["legal_cases.legal_id"],
            name=op.f("fk_legal_events_legal_id_legal_cases"),
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_legal_events")),
    )
    op.create_index(
        op.f("ix_legal_events_business_date"), "legal_events", ["business_date"], unique=False
    )
    op.create_index(op.f("ix_legal_events_legal_id"), "legal_events", ["legal_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_legal_events_legal_id"), table_name="legal_events")
    op.drop_index(op.f("ix_legal_events_business_date"), table_name="legal_events")
    op.drop_table("legal_events")
    op.drop_index(op.f("ix_agency_placements_state"), table_name="agency_placements")
    op.drop_index(op.f("ix_agency_placements_loan_id"), table_name="agency_placements")
    op.drop_index(op.f("ix_agency_placements_case_id"), table_name="agency_placements")
    op.drop_index(op.f("ix_agency_placements_agency_id"), table_name="agency_placements")
    op.drop_table("agency_placements")
    op.drop_table("schedule_versions")
    op.drop_index(op.f("ix_legal_cases_state"), table_name="legal_cases")
    op.drop_index(op.f("ix_legal_cases_loan_id"), table_name="legal_cases")
    op.drop_index(op.f("ix_legal_cases_case_id"), table_name="legal_cases")
    op.drop_table("legal_cases")
    op.drop_index(op.f("ix_collection_recoveries_value_date"), table_name="collection_recoveries")
    op.drop_index(op.f("ix_collection_recoveries_loan_id"), table_name="collection_recoveries")
    op.drop_table("collection_recoveries")
    op.drop_index(op.f("ix_collection_concessions_state"), table_name="collection_concessions")
    op.drop_index(op.f("ix_collection_concessions_loan_id"), table_name="collection_concessions")
    op.drop_index(op.f("ix_collection_concessions_kind"), table_name="collection_concessions")
    op.drop_index(op.f("ix_collection_concessions_case_id"), table_name="collection_concessions")
    op.drop_index(
        op.f("ix_collection_concessions_approval_id"), table_name="collection_concessions"
    )
    op.drop_table("collection_concessions")
    op.drop_table("collection_agencies")
