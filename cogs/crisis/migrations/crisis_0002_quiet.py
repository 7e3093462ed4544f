"""crisis quiet periods shared by every process

Revision ID: crisis_0002
Revises: crisis_0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db

revision: str = "crisis_0002"
down_revision: str | None = "crisis_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crisis_quiet",
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("until", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tag", name=op.f("pk_crisis_quiet")),
    )
    op.create_index(op.f("ix_crisis_quiet_until"), "crisis_quiet", ["until"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_crisis_quiet_until"), table_name="crisis_quiet")
    op.drop_table("crisis_quiet")
