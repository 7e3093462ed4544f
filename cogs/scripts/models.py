"""The running script per channel (resumable after a restart) and imported scripts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.core import ACTOR_KEY, Base, UTCDateTime


class ScriptRun(Base):
    """Where a meeting is in its script; deleted when the script ends. No meeting chat."""

    __tablename__ = "script_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[str] = mapped_column(String(20))
    channel_id: Mapped[str] = mapped_column(String(255))
    place_key: Mapped[str] = mapped_column(String(300), unique=True)
    script_name: Mapped[str] = mapped_column(String(32))
    meeting: Mapped[str | None] = mapped_column(String(100), nullable=True)
    facilitator_key: Mapped[str] = mapped_column(String(ACTOR_KEY))
    step_index: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    step_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    step_nudged: Mapped[bool] = mapped_column(default=False)
    queue: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of actor keys
    spoken: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of actor keys
    passed: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of actor keys
    names: Mapped[str] = mapped_column(Text, default="{}")  # JSON actor key -> shown name
    speaker_key: Mapped[str | None] = mapped_column(String(ACTOR_KEY), nullable=True)
    speaker_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    speaker_nudged: Mapped[bool] = mapped_column(default=False)
    # JSON step index -> the speaking order of a queue step the meeting has left (its hands
    # stay up there); see `ScriptService.move`
    kept: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")


class CustomScript(Base):
    """A script a moderator imported or copied for one community (TOML source)."""

    __tablename__ = "script_custom"
    __table_args__ = (UniqueConstraint("community_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(ACTOR_KEY))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
