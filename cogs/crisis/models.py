"""The crisis directory table: shipped seed rows (no community) and each community's own rows."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.core import ACTOR_KEY, Base, UTCDateTime


class CrisisEntry(Base):
    """One helpline.

    `community_id` NULL marks a row of the shipped seed, rewritten from data/crisis at every
    start. A community's row with the same `slug` overrides the seed row for that community
    (an edit or a verification); `hidden` marks a seed row a community removed.
    """

    __tablename__ = "crisis_entry"
    __table_args__ = (UniqueConstraint("community_id", "slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int | None] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), nullable=True, index=True
    )
    slug: Mapped[str] = mapped_column(String(64))
    country: Mapped[str] = mapped_column(String(2), index=True)
    region: Mapped[str] = mapped_column(String(100), default="")
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(32))
    topics: Mapped[str] = mapped_column(String(400), default="")  # space-separated
    contacts: Mapped[str] = mapped_column(Text)  # JSON list, see directory.Contact
    description: Mapped[str] = mapped_column(String(280), default="")
    website: Mapped[str] = mapped_column(String(500), default="")
    source: Mapped[str] = mapped_column(String(500), default="")
    verified_at: Mapped[date | None] = mapped_column(Date, nullable=True)
    verified_by: Mapped[str] = mapped_column(String(ACTOR_KEY), default="")
    pair: Mapped[str] = mapped_column(String(64), default="")
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CrisisQuiet(Base):
    """A quiet period of the distress answer: one member was answered and, until `until`, gets
    the short answer instead (and moderators are not alerted again).

    `tag` is a keyed hash of the member's account (`actor_tag`, purpose `crisis.quiet`): a
    reader of the database cannot tell whose it is. Shared by every process on the database;
    the row is deleted when the period ends.
    """

    __tablename__ = "crisis_quiet"

    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
    until: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
