"""crisis directory

Revision ID: crisis_0001
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db

revision: str = "crisis_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("crisis",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crisis_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("topics", sa.String(length=400), nullable=False),
        sa.Column("contacts", sa.Text(), nullable=False),
        sa.Column("description", sa.String(length=280), nullable=False),
        sa.Column("website", sa.String(length=500), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("verified_at", sa.Date(), nullable=True),
        sa.Column("verified_by", sa.String(length=300), nullable=False),
        sa.Column("pair", sa.String(length=64), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("updated_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_crisis_entry_community_id_community"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis_entry")),
        sa.UniqueConstraint("community_id", "slug", name=op.f("uq_crisis_entry_community_id")),
    )
    with op.batch_alter_table("crisis_entry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crisis_entry_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_crisis_entry_country"), ["country"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("crisis_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crisis_entry_country"))
        batch_op.drop_index(batch_op.f("ix_crisis_entry_community_id"))
    op.drop_table("crisis_entry")
