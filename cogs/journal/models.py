"""Journal tables: entries, feedback on shared entries, and small group journals."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.core import ACTOR_KEY, Base, EncryptedText, UTCDateTime

CODE_LENGTH = 12


class JournalGroup(Base):
    """A named group journal in one community; only its members can read it."""

    __tablename__ = "journal_group"
    __table_args__ = (UniqueConstraint("community_id", "name_folded"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    name_folded: Mapped[str] = mapped_column(String(64))
    owner_key: Mapped[str | None] = mapped_column(String(ACTOR_KEY), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class JournalGroupMember(Base):
    """One person in one group journal."""

    __tablename__ = "journal_group_member"
    __table_args__ = (UniqueConstraint("group_id", "actor_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("journal_group.id", ondelete="CASCADE"))
    actor_key: Mapped[str] = mapped_column(String(ACTOR_KEY), index=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())


class JournalInvite(Base):
    """A single-use join code for one invited person."""

    __tablename__ = "journal_invite"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("journal_group.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(CODE_LENGTH), unique=True)
    invitee_key: Mapped[str] = mapped_column(String(ACTOR_KEY), index=True)
    inviter_key: Mapped[str] = mapped_column(String(ACTOR_KEY), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class JournalEntry(Base):
    """What a member wrote; title and body are encrypted at rest."""

    __tablename__ = "journal_entry"
    __table_args__ = (
        Index("ix_journal_entry_author", "author_key", "created_at"),
        Index("ix_journal_entry_feed", "community_id", "visibility", "created_at"),
        Index("ix_journal_entry_group", "group_id", "created_at"),
        Index("ix_journal_entry_search", "author_key", "search_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(CODE_LENGTH), unique=True)
    author_key: Mapped[str] = mapped_column(String(ACTOR_KEY))
    community_id: Mapped[int | None] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), nullable=True
    )
    title: Mapped[str | None] = mapped_column(EncryptedText(), nullable=True)
    body: Mapped[str] = mapped_column(EncryptedText())
    mood: Mapped[int | None] = mapped_column(Integer, nullable=True)
    visibility: Mapped[str] = mapped_column(String(8))  # private | shared | group
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("journal_group.id", ondelete="CASCADE"), nullable=True
    )
    feedback_open: Mapped[bool] = mapped_column(default=True)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str | None] = mapped_column(String(120), nullable=True, unique=True)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)  # bumps on every edit
    # Which index key its search words were hashed with (cogs/journal/search.py); None: not
    # indexed yet (an entry from before the index, or written by another process's key).
    search_key: Mapped[int | None] = mapped_column(Integer, nullable=True)


class JournalSearchWord(Base):
    """One keyed hash of one normalised word of an entry (cogs/journal/search.py): never the
    word itself. Rows go with their entry (edits replace them, deletes remove them)."""

    __tablename__ = "journal_search_word"
    __table_args__ = (
        Index("ix_journal_search_word_entry", "entry_id"),
        {"sqlite_with_rowid": False},
    )

    word: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("journal_entry.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )


class JournalFeedback(Base):
    """Encouragement left on a shared entry; the author becomes None when they erase their data."""

    __tablename__ = "journal_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(CODE_LENGTH), unique=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("journal_entry.id", ondelete="CASCADE"), index=True
    )
    author_key: Mapped[str | None] = mapped_column(String(ACTOR_KEY), nullable=True, index=True)
    body: Mapped[str] = mapped_column(EncryptedText())
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
