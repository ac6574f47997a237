"""collections: strategies, cases, tasks, promises, restructuring, legal, agencies (issue 6)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 01:30:00

Reserved in the revision chain so that parallel work lands in a fixed order;
the tables are added by the issue named above.
"""

from __future__ import annotations

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
