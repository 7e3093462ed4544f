"""key check and community departure: the keys prove they read this database; a community the
bot was removed from records when, so its data can be erased after the configured period

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.crypto import EncryptedText
from bot.db import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "key_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("secret", EncryptedText(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_check")),
    )
    with op.batch_alter_table("community") as batch:
        batch.add_column(sa.Column("left_at", UTCDateTime(), nullable=True))
    # Rows keyed by a plain SHA-256 of an account id, which anyone can compute and join to the
    # member table: the Matrix "most recent community" rows (now keyed by a keyed tag, and
    # rebuilt as members write) and stored moderator alerts (now never stored).
    op.execute("DELETE FROM adapter_state WHERE platform = 'matrix' AND key LIKE 'recent:%'")
    op.execute("DELETE FROM outbox_item WHERE key LIKE 'crisis.alert.%'")


def downgrade() -> None:
    with op.batch_alter_table("community") as batch:
        batch.drop_column("left_at")
    op.drop_table("key_check")
