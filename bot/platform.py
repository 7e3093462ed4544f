"""The one contract between the core and a chat platform (Discord, Matrix, the console).

`circlebot run` starts a `Platform` per enabled platform; the outbox delivers through it; the
calendar mirror shows events through it. What a platform can do beyond sending is stated in
`capabilities`, not guessed from which methods an object happens to have, so a newcomer reads
a platform's abilities in one place and the type checker sees every call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.clock import Clock
from bot.config import AppConfig
from bot.core.cog import Cog
from bot.core.dialogue import Dialogues
from bot.core.dispatch import Dispatcher
from bot.core.errors import DeliveryError
from bot.core.message import Message
from bot.core.mirror import MirroredEvent
from bot.core.registry import Registry
from bot.db import Database
from bot.outbox import Outbox, Target
from bot.scheduler import Scheduler
from bot.services.members import MemberService


class StartupError(Exception):
    """The bot cannot start; the message says what to do."""


@dataclass(frozen=True)
class Capabilities:
    """What a platform can do beyond `send`.

    Attributes:
        logs_in: not ready at once; the outbox waits until `can_send` is true, and the
            platform delivers what came due meanwhile once it connects.
        finds_sent: `find_sent` reads the platform's own record of what the bot posted, so a
            post that reached the platform before a crash is not posted again.
        mirrors_events: `mirror_event` shows the core's calendar events in the platform's own
            calendar (Discord's Events tab).
        retracts: `retract` takes back a message the bot sent (Discord: delete; Matrix:
            redact), so deleting a post reaches the platform.
        delivery_slots: how many outbox sends may be in flight at once (the outbox's pool
            for this platform); the platform's `send` paces them under its own rate limits.
        sends_per_second: the most outbox sends the platform starts per second, None when
            unknown; with it the outbox begins a burst of pre-announcements early enough to
            finish on time (up to 30 s before their time).
        edits: `edit` replaces the text of a message the bot sent (Discord: edit; Matrix:
            `m.replace`), so a post kept current (a meeting's RSVP count) changes in place.
    """

    logs_in: bool = False
    finds_sent: bool = False
    mirrors_events: bool = False
    retracts: bool = False
    delivery_slots: int = 1
    sends_per_second: float | None = None
    edits: bool = False


class Platform(Protocol):
    """A chat platform as the core sees it."""

    @property
    def platform(self) -> str:
        """`"discord"`, `"matrix"` or `"console"`: the prefix of actor keys on it."""

    @property
    def capabilities(self) -> Capabilities:
        """What it can do beyond sending."""

    @property
    def can_send(self) -> bool:
        """True once messages can be sent (always, for a platform that does not log in)."""

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, handle events until `stop` is set, then disconnect cleanly."""

    async def send(self, target: Target, message: Message, idempotency_key: str) -> str | None:
        """Deliver once; the key lets the platform drop a retry of the same message.

        Returns the platform's id of the message when it has one.

        Raises:
            DeliveryError: not delivered; `permanent` when retrying cannot help.
        """

    async def find_sent(self, target: Target, idempotency_key: str, since: datetime) -> str | None:
        """With `capabilities.finds_sent`: the platform's ids of every piece of a message sent
        with this key since `since` (aware UTC), space-separated as `send` answers (the outbox
        keeps them so `retract` can take the whole message back), else None. Raises on a
        failure to read; the outbox then resends under the same key. Not called without the
        capability."""

    async def mirror_event(self, event: MirroredEvent | None, key: str) -> None:
        """With `capabilities.mirrors_events`: show `event` under `key` (None removes what
        `key` showed); never raises for refusals. Not called without the capability."""

    async def retract(self, target: Target, message_id: str) -> None:
        """With `capabilities.retracts`: delete the message `message_id` the bot sent to
        `target`; one already gone is fine.

        Raises:
            DeliveryError: not reachable now (tried again later), or `permanent` when the
                platform will never allow it (e.g. the bot is no longer in that place).
        """

    async def edit(
        self, target: Target, message_id: str, message: Message, idempotency_key: str
    ) -> None:
        """With `capabilities.edits`: show `message` instead of what the message `message_id`
        the bot sent to `target` under `idempotency_key` says, in place, buttons included.

        Raises:
            DeliveryError: not reachable now (tried again later), or `permanent` when the
                message is gone or may not be edited.
        """


class Host(Protocol):
    """What the core lends a platform adapter: the collaborators adapters use, by type.

    `App` is one; an adapter depends on this, never on `bot.app`.
    """

    @property
    def config(self) -> AppConfig:
        """The whole config (adapters read their own section and `bot.timezone`)."""

    @property
    def clock(self) -> Clock:
        """The app's clock (virtual in tests and the console)."""

    @property
    def db(self) -> Database:
        """The database (adapters keep their rows in `adapter_state`)."""

    @property
    def members(self) -> MemberService:
        """People, communities and tier bindings."""

    @property
    def registry(self) -> Registry:
        """Every command, for building slash commands and reading text ones."""

    @property
    def dispatcher(self) -> Dispatcher:
        """Where incoming commands, answers, actions and channel lines go."""

    @property
    def dialogues(self) -> Dialogues:
        """Running dialogues (a long answer opens a form on Discord)."""

    @property
    def cogs(self) -> Mapping[str, Cog]:
        """Loaded cogs by name (command group descriptions)."""

    @property
    def outbox(self) -> Outbox:
        """Deliveries; an adapter that logs in delivers what came due once connected."""

    @property
    def scheduler(self) -> Scheduler:
        """Timed jobs (the console can advance a virtual clock)."""

    def add_transport(self, transport: Platform) -> None:
        """Register the adapter with the outbox (and the calendar mirror, if it has one)."""

    async def community_removed(self, platform: str, platform_id: str) -> str | None:
        """The bot was removed from a community; returns a notice for whoever removed it."""

    async def community_returned(self, platform: str, platform_id: str) -> None:
        """The bot was added back to a community."""

    async def place_moved(self, platform: str, old_id: str, new_id: str) -> None:
        """A channel was replaced (a room upgrade): what pointed at it now points at the new
        one."""


class PlatformDefaults:
    """The behaviour of a platform without the optional capabilities; platforms may inherit
    it and override what they can do."""

    capabilities = Capabilities()

    @property
    def can_send(self) -> bool:
        """Ready at once."""
        return True

    async def find_sent(self, target: Target, idempotency_key: str, since: datetime) -> str | None:
        """No record to read: nothing is found, so a lost try is sent again under its key."""
        return None

    async def mirror_event(self, event: MirroredEvent | None, key: str) -> None:
        """No calendar: nothing to show."""
        return None

    async def retract(self, target: Target, message_id: str) -> None:
        """Cannot take messages back.

        Raises:
            DeliveryError: always, permanent.
        """
        raise DeliveryError(f"{target.platform} cannot delete messages", permanent=True)

    async def edit(
        self, target: Target, message_id: str, message: Message, idempotency_key: str
    ) -> None:
        """Cannot edit messages.

        Raises:
            DeliveryError: always, permanent.
        """
        raise DeliveryError(f"{target.platform} cannot edit messages", permanent=True)
