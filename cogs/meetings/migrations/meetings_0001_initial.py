"""meetings tables

Revision ID: meetings_0001
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.crypto
import bot.db

revision: str = "meetings_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("meetings",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("start_local", sa.String(length=16), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("rrule", sa.String(length=500), nullable=False),
        sa.Column("location", sa.String(length=500), nullable=False),
        sa.Column("location_label", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=300), nullable=False),
        sa.Column("script", sa.String(length=64), nullable=True),
        sa.Column("ping_role", sa.String(length=64), nullable=True),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("cancel_note", bot.crypto.EncryptedText(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("revised_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_meeting_community_id_community"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting")),
    )
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meeting_community_id"), ["community_id"], unique=False
        )

    op.create_table(
        "meeting_facilitator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("actor_key", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_meeting_facilitator_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_facilitator")),
        sa.UniqueConstraint(
            "meeting_id", "actor_key", name=op.f("uq_meeting_facilitator_meeting_id")
        ),
    )
    with op.batch_alter_table("meeting_facilitator", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meeting_facilitator_actor_key"), ["actor_key"], unique=False
        )

    op.create_table(
        "meeting_exception",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("occurrence", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("new_start", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", bot.crypto.EncryptedText(), nullable=True),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_meeting_exception_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_exception")),
        sa.UniqueConstraint(
            "meeting_id", "occurrence", name=op.f("uq_meeting_exception_meeting_id")
        ),
    )

    op.create_table(
        "meeting_rsvp",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("actor_key", sa.String(length=300), nullable=False),
        sa.Column("occurrence", sa.String(length=16), nullable=False),
        sa.Column("remind_minutes", sa.Integer(), nullable=True),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_meeting_rsvp_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_rsvp")),
        sa.UniqueConstraint(
            "meeting_id", "actor_key", "occurrence", name=op.f("uq_meeting_rsvp_meeting_id")
        ),
    )
    with op.batch_alter_table("meeting_rsvp", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_rsvp_actor_key"), ["actor_key"], unique=False)

    op.create_table(
        "meeting_reminder_opt_out",
        sa.Column("actor_key", sa.String(length=300), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("actor_key", name=op.f("pk_meeting_reminder_opt_out")),
    )


def downgrade() -> None:
    op.drop_table("meeting_reminder_opt_out")
    with op.batch_alter_table("meeting_rsvp", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_rsvp_actor_key"))
    op.drop_table("meeting_rsvp")
    op.drop_table("meeting_exception")
    with op.batch_alter_table("meeting_facilitator", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_facilitator_actor_key"))
    op.drop_table("meeting_facilitator")
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_community_id"))
    op.drop_table("meeting")
