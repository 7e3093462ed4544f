"""privacy: the erase confirmation code is stored, so it survives a restart

Revision ID: privacy_0002
Revises: privacy_0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.crypto
import bot.db

revision: str = "privacy_0002"
down_revision: str | None = "privacy_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "privacy_erase_code",
        sa.Column("actor_key", sa.String(length=300), nullable=False),
        sa.Column("code", bot.crypto.EncryptedText(), nullable=False),
        sa.Column("expires_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("actor_key", name=op.f("pk_privacy_erase_code")),
    )


def downgrade() -> None:
    op.drop_table("privacy_erase_code")
