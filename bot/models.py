"""Tables of the core: communities, members, settings, audit, outbox, dialogues, adapter state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.crypto import EncryptedText
from bot.db import Base, UTCDateTime

ACTOR_KEY = 300  # platform + ":" + a Matrix user id of up to 255 characters


class Community(Base):
    """A Discord guild, a Matrix space/room group, or the console's local community."""

    __tablename__ = "community"
    __table_args__ = (UniqueConstraint("platform", "platform_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    platform_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    country: Mapped[str] = mapped_column(String(2), default="")
    language: Mapped[str] = mapped_column(String(16), default="en")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # When the bot was removed from the server or room (None while it is there); the
    # community's data is erased a configured number of days later unless it is added back.
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Profile(Base):
    """A person's own settings that follow them across communities."""

    __tablename__ = "profile"

    actor_key: Mapped[str] = mapped_column(String(ACTOR_KEY), primary_key=True)
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Member(Base):
    """A person in one community: their chosen pseudonym there."""

    __tablename__ = "member"
    __table_args__ = (
        UniqueConstraint("community_id", "actor_key"),
        Index("ix_member_pseudonym", "community_id", "pseudonym_folded", unique=True),
        Index("ix_member_lookalike", "community_id", "pseudonym_lookalike", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    actor_key: Mapped[str] = mapped_column(String(ACTOR_KEY), index=True)
    pseudonym: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pseudonym_folded: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # SHA-256 of how the pseudonym looks (`bot.core.people.stored_key`); None for none, and
    # for a look-alike stored before migrations 0013/0014 (see `MemberService.set_pseudonym`).
    pseudonym_lookalike: Mapped[str | None] = mapped_column(String(64), nullable=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TierBinding(Base):
    """A platform role (Discord role id, Matrix power level) that grants a tier."""

    __tablename__ = "tier_binding"
    __table_args__ = (UniqueConstraint("community_id", "role_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    role_id: Mapped[str] = mapped_column(String(255))
    tier: Mapped[int] = mapped_column(Integer)


class Setting(Base):
    """A per-community, per-cog key/value setting (JSON text)."""

    __tablename__ = "setting"
    __table_args__ = (UniqueConstraint("community_id", "scope", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(Text)


class AuditEntry(Base):
    """Who changed what and when; never a member's private content."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int | None] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), nullable=True, index=True
    )
    actor_key: Mapped[str] = mapped_column(String(ACTOR_KEY), index=True)
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutboxItem(Base):
    """A message promised for a time: written before delivery, settled after.

    While pending it holds the message (encrypted), its target and the typed references of
    what it carries (`OutboxRef`). Once settled (sent, skipped, failed) only the key, status,
    due time, the platform's message id and a short reason remain; the row itself is deleted a
    fixed time after its due time, so a planner can never plan the same key twice.
    """

    __tablename__ = "outbox_item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    platform: Mapped[str] = mapped_column(String(20))
    # channel id, or actor key for DMs; emptied once settled
    target: Mapped[str] = mapped_column(String(ACTOR_KEY))
    is_dm: Mapped[bool] = mapped_column(default=False)
    payload: Mapped[str | None] = mapped_column(EncryptedText(), nullable=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    not_after: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # seconds it may go before due_at when a burst needs it (a pre-announcement); 0: never
    early_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    first_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    platform_message_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    note: Mapped[str] = mapped_column(String(255), default="")
    # The lease a delivery pass holds on a pending item: its fencing token goes up by one at
    # every claim, and a pass may mark the item only while the token is still its own.
    lease_token: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # While pending: a keyed digest (HMAC-SHA256 under the tag secret, `outbox.plan_digest`)
    # of what the row says and carries, so a planner finds an unchanged row without reading
    # and decrypting its text. Emptied once settled and by any change made outside a planner.
    plan_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # While pending: what to send in its place if it is missed (`outbox.Instead`, JSON,
    # encrypted like the payload): a late note. Emptied once settled.
    instead: Mapped[str | None] = mapped_column(EncryptedText(), nullable=True)


class OutboxItemRef(Base):
    """What a pending outbox item carries (a meeting, an entry, a member...), to forget it by.

    Rows exist only while their item is pending; settling or forgetting the item removes them.
    """

    __tablename__ = "outbox_ref"
    __table_args__ = (Index("ix_outbox_ref_kind_ref", "kind", "ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("outbox_item.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(ACTOR_KEY))


class OutboxPlanStamp(Base):
    """What an owner's pending items were last planned from, so a restart can trust them.

    `stamp` is a digest the planner computes over everything its plan depends on (see
    `Outbox.replan_many`); `valid_until` (aware UTC, None: for good) is the moment the planner
    would plan the owner again anyway. Written in the same transaction as the items, and
    deleted whenever the owner's items change another way (`forget`, `enqueue`, `retarget`).
    """

    __tablename__ = "outbox_plan_stamp"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    ref: Mapped[str] = mapped_column(String(ACTOR_KEY), primary_key=True)
    stamp: Mapped[str] = mapped_column(String(64))
    planned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class DialogueState(Base):
    """A member's place in a multi-step DM dialogue, written after every answer."""

    __tablename__ = "conversation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_key: Mapped[str] = mapped_column(String(ACTOR_KEY), index=True)
    community_id: Mapped[int | None] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), nullable=True
    )
    # The table and this column keep the names they were created with (no migration for a name).
    dialogue_id: Mapped[str] = mapped_column("flow_id", String(64))
    step: Mapped[str] = mapped_column(String(64))
    answers: Mapped[str] = mapped_column(EncryptedText())  # JSON
    history: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of step ids
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | paused
    token: Mapped[str | None] = mapped_column(String(32), nullable=True)  # unique per dialogue
    # `cancel` or `clear` asked "are you sure?" and waits for `yes` (at most ASK_FOR, one reply).
    asking: Mapped[str | None] = mapped_column(String(16), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AdapterState(Base):
    """Small durable values an adapter needs across restarts (sync token, command hash)."""

    __tablename__ = "adapter_state"
    __table_args__ = (UniqueConstraint("platform", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(Text)


class ProcessStatus(Base):
    """A running bot process's heartbeat for `circlebot status`; never any member data."""

    __tablename__ = "process_status"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # host:pid:random
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime())
    leader: Mapped[bool] = mapped_column(default=False)
    platforms: Mapped[str] = mapped_column(Text, default="{}")  # JSON: platform -> connected
    errors: Mapped[str] = mapped_column(Text, default="[]")  # JSON: recent ERROR summaries


class KeyCheck(Base):
    """One row: proves the configured keys read this database (bot/keycheck.py).

    `secret` is random bytes (hex) encrypted with the keys; decrypting it at start proves the
    keys belong here, and it keys the HMAC of `crypto.actor_tag`. Key rotation re-encrypts it
    like any other encrypted column, so the secret, and every tag made with it, stays the same.
    """

    __tablename__ = "key_check"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    secret: Mapped[str] = mapped_column(EncryptedText())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
