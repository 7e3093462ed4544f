"""member: pseudonyms also unique by how they look (pseudonym_lookalike, UTS #39 skeleton)

Revision ID: 0013
Revises: 0012

Nobody is renamed: where stored pseudonyms of one community look the same, the first of them
(lowest row id) gets the look-alike key and the others keep their name with no such key, so
a later look-alike is refused against the first (see `MemberService.set_pseudonym`).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.core.people import stored_key

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

member = sa.table(
    "member",
    sa.column("id", sa.Integer),
    sa.column("community_id", sa.Integer),
    sa.column("pseudonym", sa.String),
    sa.column("pseudonym_lookalike", sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pseudonym_lookalike", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(member.c.id, member.c.community_id, member.c.pseudonym)
        .where(member.c.pseudonym.is_not(None))
        .order_by(member.c.id)
    ).all()
    held: set[tuple[int, str]] = set()
    for row_id, community_id, pseudonym in rows:
        key = stored_key(pseudonym)
        if (community_id, key) in held:
            continue  # a look-alike stored before: it keeps its name, without the key
        held.add((community_id, key))
        bind.execute(
            sa.update(member).where(member.c.id == row_id).values(pseudonym_lookalike=key)
        )
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.create_index(
            "ix_member_lookalike", ["community_id", "pseudonym_lookalike"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_index("ix_member_lookalike")
        batch_op.drop_column("pseudonym_lookalike")
