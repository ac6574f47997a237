"""early warning: scores, alerts, model activations (issue 5)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 01:30:00

Reserved in the revision chain so that parallel work lands in a fixed order;
the tables are added by the issue named above.
"""

from __future__ import annotations

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
