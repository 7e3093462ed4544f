"""outbox: a keyed digest of what a pending item says and carries (plan_digest)

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows written before have none: a planner compares them in full once and fills it in.
    with op.batch_alter_table("outbox_item") as batch:
        batch.add_column(sa.Column("plan_digest", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_item") as batch:
        batch.drop_column("plan_digest")
