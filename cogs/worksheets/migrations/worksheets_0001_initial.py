"""worksheets: toolbox items and shares

Revision ID: worksheets_0001
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.crypto
import bot.db

revision: str = "worksheets_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("worksheets",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "toolbox_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor_key", sa.String(length=300), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("worksheet_id", sa.String(length=32), nullable=False),
        sa.Column("answers", bot.crypto.EncryptedText(), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_toolbox_item")),
        sa.UniqueConstraint("actor_key", "number", name=op.f("uq_toolbox_item_actor_key")),
    )
    op.create_index(op.f("ix_toolbox_item_actor_key"), "toolbox_item", ["actor_key"], unique=False)
    op.create_table(
        "toolbox_share",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("owner_key", sa.String(length=300), nullable=False),
        sa.Column("recipient_key", sa.String(length=300), nullable=False),
        sa.Column("recipient_name", bot.crypto.EncryptedText(), nullable=False),
        sa.Column("outbox_key", sa.String(length=255), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["toolbox_item.id"],
            name=op.f("fk_toolbox_share_item_id_toolbox_item"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_toolbox_share")),
    )
    op.create_index(op.f("ix_toolbox_share_item_id"), "toolbox_share", ["item_id"], unique=False)
    op.create_index(
        op.f("ix_toolbox_share_owner_key"), "toolbox_share", ["owner_key"], unique=False
    )
    op.create_index(
        op.f("ix_toolbox_share_recipient_key"), "toolbox_share", ["recipient_key"], unique=False
    )


def downgrade() -> None:
    op.drop_table("toolbox_share")
    op.drop_table("toolbox_item")
