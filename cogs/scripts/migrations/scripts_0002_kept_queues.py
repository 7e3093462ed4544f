"""scripts: each queue step keeps its own speaking order while the meeting is elsewhere (kept)

Moving between steps used to empty the speaking queue without a word; now the order of the
step left behind (hands up, who has the floor, who spoke or passed) is kept per step index and
comes back when the meeting returns to that step.

Revision ID: scripts_0002
Revises: scripts_0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "scripts_0002"
down_revision: str | None = "scripts_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("script_run") as batch:
        batch.add_column(sa.Column("kept", sa.Text(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("script_run") as batch:
        batch.drop_column("kept")
