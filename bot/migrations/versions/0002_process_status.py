"""process status: heartbeats of running processes for `circlebot status`

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "process_status",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("leader", sa.Boolean(), nullable=False),
        sa.Column("platforms", sa.Text(), nullable=False),
        sa.Column("errors", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_status")),
    )


def downgrade() -> None:
    op.drop_table("process_status")
