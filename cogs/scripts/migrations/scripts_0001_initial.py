"""scripts: running script per channel, imported scripts

Revision ID: scripts_0001
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db

revision: str = "scripts_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("scripts",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "script_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("channel_id", sa.String(length=255), nullable=False),
        sa.Column("place_key", sa.String(length=300), nullable=False),
        sa.Column("script_name", sa.String(length=32), nullable=False),
        sa.Column("meeting", sa.String(length=100), nullable=True),
        sa.Column("facilitator_key", sa.String(length=300), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("started_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("step_started_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("paused_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("step_nudged", sa.Boolean(), nullable=False),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("spoken", sa.Text(), nullable=False),
        sa.Column("passed", sa.Text(), nullable=False),
        sa.Column("names", sa.Text(), nullable=False),
        sa.Column("speaker_key", sa.String(length=300), nullable=True),
        sa.Column("speaker_started_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("speaker_nudged", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_script_run_community_id_community"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_script_run")),
        sa.UniqueConstraint("place_key", name=op.f("uq_script_run_place_key")),
    )
    op.create_index(
        op.f("ix_script_run_community_id"), "script_run", ["community_id"], unique=False
    )
    op.create_table(
        "script_custom",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("updated_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_script_custom_community_id_community"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_script_custom")),
        sa.UniqueConstraint("community_id", "name", name=op.f("uq_script_custom_community_id")),
    )


def downgrade() -> None:
    op.drop_table("script_custom")
    op.drop_index(op.f("ix_script_run_community_id"), table_name="script_run")
    op.drop_table("script_run")
