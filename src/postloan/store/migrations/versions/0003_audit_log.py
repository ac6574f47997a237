"""the verifiable audit log (issue 9)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 01:30:00

Reserved in the revision chain so that parallel work lands in a fixed order;
the tables are added by the issue named above.
"""

from __future__ import annotations

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
