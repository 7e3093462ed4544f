"""journal: a blind search index (keyed hashes of normalised words) instead of decrypting

Revision ID: journal_0003
Revises: journal_0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "journal_0003"
down_revision: str | None = "journal_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("journal_entry") as batch:
        batch.add_column(sa.Column("search_key", sa.Integer(), nullable=True))
        batch.create_index("ix_journal_entry_search", ["author_key", "search_key"])
    op.create_table(
        "journal_search_word",
        sa.Column("word", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("entry_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entry.id"],
            name=op.f("fk_journal_search_word_entry_id_journal_entry"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("word", "entry_id", name=op.f("pk_journal_search_word")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_journal_search_word_entry", "journal_search_word", ["entry_id"])
    # Entries written before the index have search_key NULL: the journal indexes them at its
    # next start (it needs the keys, which a migration never sees).


def downgrade() -> None:
    op.drop_index("ix_journal_search_word_entry", table_name="journal_search_word")
    op.drop_table("journal_search_word")
    with op.batch_alter_table("journal_entry") as batch:
        batch.drop_index("ix_journal_entry_search")
        batch.drop_column("search_key")
