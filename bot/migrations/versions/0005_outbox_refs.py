"""outbox: typed references, payload-less settled rows, a not-after time, the platform's id

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.crypto
import bot.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_item") as batch:
        batch.alter_column("payload", existing_type=bot.crypto.EncryptedText(), nullable=True)
        batch.add_column(sa.Column("not_after", bot.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("first_try_at", bot.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("platform_message_id", sa.String(length=255), nullable=True))
    op.create_table(
        "outbox_ref",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["outbox_item.id"],
            name=op.f("fk_outbox_ref_item_id_outbox_item"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_ref")),
    )
    with op.batch_alter_table("outbox_ref") as batch:
        batch.create_index("ix_outbox_ref_kind_ref", ["kind", "ref"], unique=False)
        batch.create_index(batch.f("ix_outbox_ref_item_id"), ["item_id"], unique=False)
    # Rows settled or withdrawn before this version still hold their message: drop it now.
    op.execute(
        "UPDATE outbox_item SET payload = NULL, target = '' "
        "WHERE status IN ('sent', 'skipped', 'failed')"
    )
    op.execute("DELETE FROM outbox_item WHERE status = 'withdrawn'")


def downgrade() -> None:
    with op.batch_alter_table("outbox_ref") as batch:
        batch.drop_index(batch.f("ix_outbox_ref_item_id"))
        batch.drop_index("ix_outbox_ref_kind_ref")
    op.drop_table("outbox_ref")
    op.execute("DELETE FROM outbox_item WHERE payload IS NULL")
    with op.batch_alter_table("outbox_item") as batch:
        batch.drop_column("platform_message_id")
        batch.drop_column("first_try_at")
        batch.drop_column("not_after")
        batch.alter_column("payload", existing_type=bot.crypto.EncryptedText(), nullable=False)
