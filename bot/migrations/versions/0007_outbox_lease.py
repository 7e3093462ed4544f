"""outbox: a lease per pending item (fencing token and expiry), so any process can deliver

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_item") as batch:
        batch.add_column(
            sa.Column("lease_token", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("leased_until", bot.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_item") as batch:
        batch.drop_column("leased_until")
        batch.drop_column("lease_token")
