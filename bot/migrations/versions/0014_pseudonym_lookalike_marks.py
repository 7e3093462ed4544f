"""member: look-alike keys also ignore punctuation, symbols and accents (pseudonym_lookalike)

Revision ID: 0014
Revises: 0013

`bot.core.people.lookalike_key` now reads "River.", "R-i-v-e-r" and "Rïver" as "River", so
every stored `pseudonym_lookalike` is computed again. Nobody is renamed: as in 0013, where
stored pseudonyms of one community now look the same, the first of them (lowest row id) holds
the key and the others keep their name without one, so a later look-alike is refused against
the first. The downgrade leaves the keys as they are (the previous key is not kept anywhere).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.core.people import stored_key

revision: str = "0014"
down_revision: str | None = "0013"
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
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(member.c.id, member.c.community_id, member.c.pseudonym)
        .where(member.c.pseudonym.is_not(None))
        .order_by(member.c.id)
    ).all()
    held: set[tuple[int, str]] = set()
    keys: list[dict[str, object]] = []
    for row_id, community_id, pseudonym in rows:
        key = stored_key(pseudonym)
        if (community_id, key) in held:
            continue  # a look-alike stored before: it keeps its name, without the key
        held.add((community_id, key))
        keys.append({"row_id": row_id, "key": key})
    if not keys:
        return  # no pseudonym stored: nothing to compute (and no statement sent)
    # Cleared first, so that no new key meets an old one still held by another row under the
    # unique index (community_id, pseudonym_lookalike).
    bind.execute(sa.update(member).values(pseudonym_lookalike=sa.null()))
    bind.execute(
        sa.update(member)
        .where(member.c.id == sa.bindparam("row_id"))
        .values(pseudonym_lookalike=sa.bindparam("key")),
        keys,
    )


def downgrade() -> None:
    pass
