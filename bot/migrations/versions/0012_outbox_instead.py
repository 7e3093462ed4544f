"""outbox: a late note to send in a pending item's place if it is missed (instead)

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.crypto import EncryptedText

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Encrypted like the payload; rows written before have none (a replan fills it in).
    with op.batch_alter_table("outbox_item") as batch:
        batch.add_column(sa.Column("instead", EncryptedText(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_item") as batch:
        batch.drop_column("instead")
