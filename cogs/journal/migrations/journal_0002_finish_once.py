"""journal: remember which dialogue saved an entry, so a repeated finish saves once

Revision ID: journal_0002
Revises: journal_0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "journal_0002"
down_revision: str | None = "journal_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("journal_entry") as batch:
        batch.add_column(sa.Column("source", sa.String(length=120), nullable=True))
        batch.create_unique_constraint(op.f("uq_journal_entry_source"), ["source"])


def downgrade() -> None:
    with op.batch_alter_table("journal_entry") as batch:
        batch.drop_constraint(op.f("uq_journal_entry_source"), type_="unique")
        batch.drop_column("source")
