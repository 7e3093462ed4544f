"""The member's toolbox: completed worksheets (answers encrypted) and who they shared them with."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.core import ACTOR_KEY, Base, EncryptedText, UTCDateTime


class ToolboxItem(Base):
    """One completed worksheet or urge-log entry; `number` is the member's own #id."""

    __tablename__ = "toolbox_item"
    __table_args__ = (UniqueConstraint("actor_key", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_key: Mapped[str] = mapped_column(String(ACTOR_KEY), index=True)
    number: Mapped[int] = mapped_column(Integer)
    worksheet_id: Mapped[str] = mapped_column(String(32))
    answers: Mapped[str] = mapped_column(EncryptedText())  # JSON
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str | None] = mapped_column(String(120), nullable=True, unique=True)


class ToolboxShare(Base):
    """A copy sent to a facilitator; the row lets the owner see and withdraw it."""

    __tablename__ = "toolbox_share"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("toolbox_item.id", ondelete="CASCADE"), index=True
    )
    owner_key: Mapped[str] = mapped_column(String(ACTOR_KEY), index=True)
    recipient_key: Mapped[str] = mapped_column(String(ACTOR_KEY), index=True)
    recipient_name: Mapped[str] = mapped_column(EncryptedText())
    outbox_key: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
