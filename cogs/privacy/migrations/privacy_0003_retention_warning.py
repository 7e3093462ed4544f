"""privacy: when a member was warned of a retention erase (their presence row keeps it)

Revision ID: privacy_0003
Revises: privacy_0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db

revision: str = "privacy_0003"
down_revision: str | None = "privacy_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("privacy_presence") as batch:
        batch.add_column(sa.Column("warned_at", bot.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("privacy_presence") as batch:
        batch.drop_column("warned_at")
