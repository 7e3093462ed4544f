"""privacy tables

Revision ID: privacy_0001
Revises: 0001
Create Date: 2026-12-01 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db

revision: str = "privacy_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("privacy",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "privacy_presence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("actor_key", sa.String(length=300), nullable=False),
        sa.Column("seen_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_privacy_presence_community_id_community"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_presence")),
        sa.UniqueConstraint(
            "community_id", "actor_key", name=op.f("uq_privacy_presence_community_id")
        ),
    )
    op.create_index(
        op.f("ix_privacy_presence_actor_key"), "privacy_presence", ["actor_key"], unique=False
    )
    op.create_index(
        op.f("ix_privacy_presence_community_id"),
        "privacy_presence",
        ["community_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_privacy_presence_community_id"), table_name="privacy_presence")
    op.drop_index(op.f("ix_privacy_presence_actor_key"), table_name="privacy_presence")
    op.drop_table("privacy_presence")
