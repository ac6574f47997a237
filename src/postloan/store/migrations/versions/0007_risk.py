"""early warning: scores, alerts (issue 5)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 01:30:00

Tables of :mod:`postloan.store.tables_risk`: ``loan_scores`` (one row per loan,
business date and model purpose) and ``alerts`` (unique dedup key, state, version).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "loan_scores",
        sa.Column("loan_id", sa.String(length=64), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("model_id", sa.String(length=64), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("band", sa.String(length=8), nullable=False),
        *(sa.Column(f"reason_{i}", sa.String(length=64), nullable=True) for i in (1, 2, 3)),
        *(sa.Column(f"reason_text_{i}", sa.Text(), nullable=True) for i in (1, 2, 3)),
        *(sa.Column(f"reason_text_en_{i}", sa.Text(), nullable=True) for i in (1, 2, 3)),
        sa.PrimaryKeyConstraint("loan_id", "business_date", "purpose", name=op.f("pk_loan_scores")),
    )
    op.create_index(
        "ix_loan_scores_business_date_purpose",
        "loan_scores",
        ["business_date", "purpose"],
        unique=False,
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alert_key", sa.String(length=200), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("loan_id", sa.String(length=64), nullable=False),
        sa.Column("borrower_id", sa.String(length=64), nullable=True),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("owner_role", sa.String(length=32), nullable=False),
        sa.Column("owner_team", sa.String(length=64), nullable=True),
        sa.Column("owner_user", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sla_due_at", _tz(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("updated_at", _tz(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("alert_key", name=op.f("uq_alerts_alert_key")),
    )
    op.create_index(op.f("ix_alerts_loan_id"), "alerts", ["loan_id"], unique=False)
    op.create_index(op.f("ix_alerts_business_date"), "alerts", ["business_date"], unique=False)
    op.create_index(op.f("ix_alerts_owner_user"), "alerts", ["owner_user"], unique=False)
    op.create_index("ix_alerts_state_owner_role", "alerts", ["state", "owner_role"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_alerts_state_owner_role", table_name="alerts")
    op.drop_index(op.f("ix_alerts_owner_user"), table_name="alerts")
    op.drop_index(op.f("ix_alerts_business_date"), table_name="alerts")
    op.drop_index(op.f("ix_alerts_loan_id"), table_name="alerts")
    op.drop_table("alerts")
    op.drop_index("ix_loan_scores_business_date_purpose", table_name="loan_scores")
    op.drop_table("loan_scores")
