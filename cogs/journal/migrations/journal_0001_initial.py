"""journal tables

Revision ID: journal_0001
Revises: 0001
Create Date: 2026-11-26 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.crypto
import bot.db

revision: str = "journal_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("journal",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "journal_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("name_folded", sa.String(length=64), nullable=False),
        sa.Column("owner_key", sa.String(length=300), nullable=True),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_journal_group_community_id_community"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_group")),
        sa.UniqueConstraint(
            "community_id", "name_folded", name=op.f("uq_journal_group_community_id")
        ),
    )
    op.create_table(
        "journal_group_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("actor_key", sa.String(length=300), nullable=False),
        sa.Column("joined_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["journal_group.id"],
            name=op.f("fk_journal_group_member_group_id_journal_group"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_group_member")),
        sa.UniqueConstraint(
            "group_id", "actor_key", name=op.f("uq_journal_group_member_group_id")
        ),
    )
    with op.batch_alter_table("journal_group_member", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_journal_group_member_actor_key"), ["actor_key"], unique=False
        )

    op.create_table(
        "journal_invite",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("invitee_key", sa.String(length=300), nullable=False),
        sa.Column("inviter_key", sa.String(length=300), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["journal_group.id"],
            name=op.f("fk_journal_invite_group_id_journal_group"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_invite")),
        sa.UniqueConstraint("code", name=op.f("uq_journal_invite_code")),
    )
    with op.batch_alter_table("journal_invite", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_journal_invite_invitee_key"), ["invitee_key"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_journal_invite_inviter_key"), ["inviter_key"], unique=False
        )

    op.create_table(
        "journal_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("author_key", sa.String(length=300), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("title", bot.crypto.EncryptedText(), nullable=True),
        sa.Column("body", bot.crypto.EncryptedText(), nullable=False),
        sa.Column("mood", sa.Integer(), nullable=True),
        sa.Column("visibility", sa.String(length=8), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("feedback_open", sa.Boolean(), nullable=False),
        sa.Column("removed_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("edited_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_journal_entry_community_id_community"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["journal_group.id"],
            name=op.f("fk_journal_entry_group_id_journal_group"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_entry")),
        sa.UniqueConstraint("code", name=op.f("uq_journal_entry_code")),
    )
    with op.batch_alter_table("journal_entry", schema=None) as batch_op:
        batch_op.create_index(
            "ix_journal_entry_author", ["author_key", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_journal_entry_feed", ["community_id", "visibility", "created_at"], unique=False
        )
        batch_op.create_index("ix_journal_entry_group", ["group_id", "created_at"], unique=False)

    op.create_table(
        "journal_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("author_key", sa.String(length=300), nullable=True),
        sa.Column("body", bot.crypto.EncryptedText(), nullable=False),
        sa.Column("removed_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entry.id"],
            name=op.f("fk_journal_feedback_entry_id_journal_entry"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_feedback")),
        sa.UniqueConstraint("code", name=op.f("uq_journal_feedback_code")),
    )
    with op.batch_alter_table("journal_feedback", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_journal_feedback_author_key"), ["author_key"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_journal_feedback_entry_id"), ["entry_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("journal_feedback")
    op.drop_table("journal_entry")
    op.drop_table("journal_invite")
    op.drop_table("journal_group_member")
    op.drop_table("journal_group")
