"""model monitoring history: one row per model and scoring date (issue 5)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 04:20:00

Table ``model_monitoring`` of :mod:`postloan.store.tables_risk`: PSI of the score
and of every feature against the training sample, realised AUC/KS/Gini on the
matured window, the calibration table and the model alerts of each scoring run.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_monitoring",
        sa.Column("model_id", sa.String(length=64), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("psi_probability", sa.Float(), nullable=False),
        sa.Column("band", sa.String(length=8), nullable=False),
        sa.Column("feature_psi", sa.Text(), nullable=False),
        sa.Column("realised_auc", sa.Float(), nullable=True),
        sa.Column("realised_ks", sa.Float(), nullable=True),
        sa.Column("realised_gini", sa.Float(), nullable=True),
        sa.Column("realised_rows", sa.Integer(), nullable=True),
        sa.Column("calibration", sa.Text(), nullable=True),
        sa.Column("alerts", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("model_id", "business_date", name=op.f("pk_model_monitoring")),
    )
    op.create_index(
        "ix_model_monitoring_purpose_date",
        "model_monitoring",
        ["purpose", "business_date"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_model_monitoring_purpose_date", table_name="model_monitoring")
    op.drop_table("model_monitoring")
