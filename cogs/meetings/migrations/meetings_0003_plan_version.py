"""meetings: a count of changes to what a meeting plans beside its row (plan_version)

RSVPs, reminder choices and erasures change the reminders a meeting plans without changing the
meeting's row; a start-up rebuild compares this count (with the revision) before and after it
writes a chunk's plans, so such a change made meanwhile in another process is planned again.

Revision ID: meetings_0003
Revises: meetings_0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "meetings_0003"
down_revision: str | None = "meetings_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("meeting") as batch:
        batch.add_column(
            sa.Column("plan_version", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("meeting") as batch:
        batch.drop_column("plan_version")
