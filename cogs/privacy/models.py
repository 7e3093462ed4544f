"""When a member was last seen in a community, for the moderators' retention period."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.core import ACTOR_KEY, Base, EncryptedText, UTCDateTime


class Presence(Base):
    """The last time a person did something the bot saw in one community (day precision)."""

    __tablename__ = "privacy_presence"
    __table_args__ = (UniqueConstraint("community_id", "actor_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), index=True
    )
    actor_key: Mapped[str] = mapped_column(String(ACTOR_KEY), index=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # When the person was warned by DM of a retention erase that no activity here has called off
    # since (any activity clears it); None: not warned. An erase waits a week after it.
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class EraseCode(Base):
    """A confirmation code for `mydata erase`, waiting for the member to type it back.

    Stored (encrypted) so a restart between the two steps does not lose it; removed when used,
    when a new one is asked for, and with the person's data.
    """

    __tablename__ = "privacy_erase_code"

    actor_key: Mapped[str] = mapped_column(String(ACTOR_KEY), primary_key=True)
    code: Mapped[str] = mapped_column(EncryptedText())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
