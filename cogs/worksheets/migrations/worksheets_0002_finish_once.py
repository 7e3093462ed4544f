"""worksheets: remember which dialogue saved an item, so a repeated finish saves once

Revision ID: worksheets_0002
Revises: worksheets_0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "worksheets_0002"
down_revision: str | None = "worksheets_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("toolbox_item") as batch:
        batch.add_column(sa.Column("source", sa.String(length=120), nullable=True))
        batch.create_unique_constraint(op.f("uq_toolbox_item_source"), ["source"])


def downgrade() -> None:
    with op.batch_alter_table("toolbox_item") as batch:
        batch.drop_constraint(op.f("uq_toolbox_item_source"), type_="unique")
        batch.drop_column("source")
