"""Tables of the meetings cog: meetings, exceptions, facilitators, RSVPs, reminder choices."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.core import ACTOR_KEY, Base, EncryptedText, UTCDateTime


class Meeting(Base):
    """A meeting series (or a one-off): local wall time + IANA zone + RFC 5545 rule."""

    __tablename__ = "meeting"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(24), default="standard")
    start_local: Mapped[str] = mapped_column(String(16))  # "2026-12-01T19:00", wall time
    timezone: Mapped[str] = mapped_column(String(64))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    rrule: Mapped[str] = mapped_column(String(500), default="")  # "" for a one-off
    location: Mapped[str] = mapped_column(String(500), default="")  # place key or https link
    location_label: Mapped[str] = mapped_column(String(200), default="")
    channel: Mapped[str] = mapped_column(String(ACTOR_KEY))  # place key for announcements
    script: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ping_role: Mapped[str | None] = mapped_column(String(64), nullable=True)
    cancelled: Mapped[bool] = mapped_column(default=False)
    cancel_note: Mapped[str | None] = mapped_column(EncryptedText(), nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)  # bumped on every change
    revised_at: Mapped[datetime] = mapped_column(UTCDateTime())  # nothing due before is planned
    # Raised by every change to what the meeting plans that leaves its row alone (RSVPs,
    # reminder choices, an erasure): with `revision`, how a rebuild sees a change it raced.
    plan_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_by: Mapped[str] = mapped_column(String(ACTOR_KEY))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Unique across every meeting ever made (a row id can be reused after a delete); part of
    # every outbox key of the meeting, so a new meeting never inherits an old one's keys.
    uid: Mapped[str] = mapped_column(String(32), default=lambda: uuid.uuid4().hex)


class MeetingFacilitator(Base):
    """A volunteer who runs a meeting (shown by their pseudonym only)."""

    __tablename__ = "meeting_facilitator"
    __table_args__ = (UniqueConstraint("meeting_id", "actor_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    actor_key: Mapped[str] = mapped_column(String(ACTOR_KEY), index=True)


class MeetingException(Base):
    """One occurrence cancelled or moved, keyed by its planned local wall time."""

    __tablename__ = "meeting_exception"
    __table_args__ = (UniqueConstraint("meeting_id", "occurrence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    occurrence: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # cancelled | moved
    new_start: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    note: Mapped[str | None] = mapped_column(EncryptedText(), nullable=True)
    created_by: Mapped[str] = mapped_column(String(ACTOR_KEY))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MeetingRsvp(Base):
    """A private RSVP: one occurrence, or the whole series when `occurrence` is empty."""

    __tablename__ = "meeting_rsvp"
    __table_args__ = (UniqueConstraint("meeting_id", "actor_key", "occurrence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    actor_key: Mapped[str] = mapped_column(String(ACTOR_KEY), index=True)
    occurrence: Mapped[str] = mapped_column(String(16), default="")
    remind_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MeetingReminderOptOut(Base):
    """A member who wants no meeting reminder DMs at all."""

    __tablename__ = "meeting_reminder_opt_out"

    actor_key: Mapped[str] = mapped_column(String(ACTOR_KEY), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
