"""meeting uid: unique across every meeting ever made, part of its outbox keys

Revision ID: meetings_0002
Revises: meetings_0001
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "meetings_0002"
down_revision: str | None = "meetings_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("meeting") as batch:
        batch.add_column(sa.Column("uid", sa.String(length=32), nullable=True))
    connection = op.get_bind()
    meeting = sa.table("meeting", sa.column("id", sa.Integer()), sa.column("uid", sa.String()))
    for (meeting_id,) in connection.execute(sa.select(meeting.c.id)).all():
        connection.execute(
            meeting.update().where(meeting.c.id == meeting_id).values(uid=uuid.uuid4().hex)
        )
    with op.batch_alter_table("meeting") as batch:
        batch.alter_column("uid", existing_type=sa.String(length=32), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("meeting") as batch:
        batch.drop_column("uid")
