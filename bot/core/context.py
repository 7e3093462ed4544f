"""What a command callback receives: who, where, with which tier, and how to answer."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.core.errors import UserError
from bot.core.identity import Actor, Place
from bot.core.message import Message, spell_commands
from bot.core.permissions import Tier, may_act
from bot.i18n import _
from bot.safety import escape_markdown

log = logging.getLogger("circlebot.commands")


def system_now() -> datetime:
    """The system clock (aware, UTC): the default where no app clock is handed in."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class CommunityInfo:
    """A Discord guild, a Matrix space or room group, or the console's local community."""

    id: int
    platform: str
    platform_id: str
    name: str
    timezone: str
    country: str
    language: str


class Responder(Protocol):
    """What an adapter provides so the core can answer without knowing the platform.

    Every member is explicit; `ResponderDefaults` gives the answers of a platform that has
    nothing more to say (no pointer of its own, cannot tell about permissions).
    """

    prefix: str  # how commands are typed here: "/" on Discord, "!" on Matrix

    def command_words(self, path: tuple[str, ...]) -> tuple[str, ...]:
        """The words that run the command at `path` here: the path itself on text platforms;
        Discord puts staff commands under top-level commands of their own (`crisis-mod add`)."""

    @property
    def points_to_dm(self) -> bool:
        """True when a private reply already leaves a pointer in the room (Matrix), so the
        core does not add a second one."""

    async def can_post(self, place: Place) -> str | None:
        """Why the bot may not post in `place` of this community, in plain words (e.g. a
        missing permission), so a moderator binding a channel learns why at once; None when
        it can, or when the platform cannot tell."""

    async def cannot_read_channels(self) -> str | None:
        """Why the bot cannot read plain chat in this community's channels (Discord: the
        message-content intent is off); None when the platform delivers it."""

    async def members_can_read(self, place: Place) -> str | None:
        """Who below moderator can read `place`; None when only moderators and the bot can.
        A platform that cannot tell answers with a reason: privacy never rests on a guess."""

    async def role_note(self, role: str, tier: Tier) -> str | None:
        """What an admin should know after binding `role` to `tier` here (Discord: which
        staff commands its members will not see, or everyone sees, until the server's
        Integrations settings say otherwise); None when nothing."""

    async def held_by_everyone(self, role: str) -> bool:
        """True when every member of this community holds `role` (Discord's @everyone role,
        whose id is the server's; a Matrix power level at or below the room's default for
        users), so binding it to a staff tier would make everyone staff."""

    async def ping_note(self, role: str) -> str | None:
        """Why a post naming `role` here would not notify its members (Discord: the role
        does not allow mentions and the bot lacks Mention Everyone); None when it would, or
        when the platform cannot tell. Raises `UserError` for a role no post can ping
        (Discord's @everyone role; any role where posts cannot ping, as on Matrix and the
        console)."""

    async def reply(self, message: Message, *, ephemeral: bool) -> str | None:
        """Answer where the command came from (privately if `ephemeral`). Returns the
        platform's id of a public answer in a channel (ids space-separated when it took
        several messages; the message edited, when a press updated a panel in place), so its
        owner can have it deleted later (`Outbox.record_post`); None for a private answer, or
        when the platform does not say."""

    async def dm(self, message: Message) -> None:
        """Send to the actor's direct-message room with the bot."""

    async def defer(self, *, ephemeral: bool) -> None:
        """Acknowledge now; the answer follows (Discord's 3-second window)."""

    async def resolve_actor(self, text: str) -> Actor | None:
        """Turn typed text (a mention, an id, a name) into a person of this community."""

    async def remove_command(self) -> str | None:
        """Remove the member's message that carried this command from the shared place it
        was typed in (Discord: delete it; Matrix: redact it), so what they wrote for themselves
        is not left there. None when it is gone; else, in plain words to the member, why it
        could not be removed and how they remove it themselves. Called only for a command
        typed as text outside a DM."""

    async def resolve_place(self, text: str) -> Place | None:
        """Turn typed text (a channel mention, a room alias) into a place of this community."""


class ResponderDefaults:
    """The optional answers of a responder whose platform has nothing more to say; adapters'
    responders inherit it and override what their platform can tell."""

    points_to_dm = False

    def command_words(self, path: tuple[str, ...]) -> tuple[str, ...]:
        """Commands are typed as their path."""
        return path

    async def can_post(self, place: Place) -> str | None:
        """The platform cannot tell: treated as able to post."""
        return None

    async def cannot_read_channels(self) -> str | None:
        """The platform delivers channel messages."""
        return None

    async def members_can_read(self, place: Place) -> str | None:
        """The platform cannot tell who reads `place`, and says so."""
        return _("I cannot tell on this platform who can read it.")

    async def role_note(self, role: str, tier: Tier) -> str | None:
        """The platform shows every command to whoever may run it: nothing to add."""
        return None

    async def held_by_everyone(self, role: str) -> bool:
        """The platform has no role every member holds (the console: tiers only)."""
        return False

    async def remove_command(self) -> str | None:
        """The platform gives the bot no way to remove a member's message: it says so."""
        return _(
            "I cannot remove members' messages on this platform. To remove it, delete the "
            "message yourself."
        )

    async def ping_note(self, role: str) -> str | None:
        """The platform has no roles a post can notify (Matrix power levels say who may do
        what, not whom to notify; the console has tiers only): every role is refused."""
        raise UserError(
            _(
                "Announcements here cannot ping a role: this platform has no roles a post can "
                "notify, so `{role}` names nothing to ping. Nothing was changed."
            ).format(role=escape_markdown(role[:64]))
        )


@dataclass
class Context:
    """One command invocation. Cogs use this and never touch the platform."""

    actor: Actor
    place: Place
    community: CommunityInfo | None
    tier: Tier
    responder: Responder
    timezone: str = "UTC"
    language: str = "en"
    # The member's country (ISO 3166-1 alpha-2), else the community's; empty when unknown.
    country: str = ""
    ephemeral_default: bool = False
    sent: list[Message] = field(default_factory=list)
    # The running command's declared visibility (`CommandSpec.private`); None outside commands.
    command_private: bool | None = None
    command_name: str = ""
    # The app's clock (aware UTC): "yesterday" in an option is read from it, so a virtual clock
    # is the time that counts.
    now: Callable[[], datetime] = system_now
    # Whether a public answer was sent: after one, a private note to the member is fine.
    answered_publicly: bool = False
    # While suggesting values for one option: the other options' values as typed so far
    # (autocomplete of `when` reads the chosen `meeting`). Empty when running a command.
    filled: Mapping[str, str] = field(default_factory=dict)
    # While running a command typed as text: the options that unnamed words filled
    # (`group write Friends of mine` read `Friends` as the group), so a cog can say so.
    read_from_words: frozenset[str] = frozenset()
    # meeting (`#id` or title) -> whether the actor is that meeting's named facilitator and
    # the meeting is current (the meetings cog's `CogHooks.named_facilitator`); None: no
    # meetings part, so nobody is named.
    named_facilitator: Callable[[str], Awaitable[bool]] | None = None

    async def may(self, tier: Tier, meeting: str | None = None) -> bool:
        """Whether the actor may do what tier `tier` may, for meeting `meeting` (`#id` or
        title; None when it concerns no meeting): `bot.core.permissions.may_act`. The
        dispatcher asks it for every command; a cog asks it for what is not a command (a
        button) or depends on an option's value. Never raises."""
        if self.tier >= tier:
            return True
        named = False
        if tier is Tier.FACILITATOR and meeting and self.named_facilitator is not None:
            try:
                named = await self.named_facilitator(meeting)
            except Exception:
                log.exception("the named-facilitator check failed")
        return may_act(self.tier, tier, named=named)

    @property
    def zone(self) -> ZoneInfo:
        """The member's IANA zone (their own setting, else the community's)."""
        return ZoneInfo(self.timezone)

    @property
    def prefix(self) -> str:
        """How commands are typed on this platform, for help texts."""
        return self.responder.prefix

    def spell(self, path: tuple[str, ...]) -> str:
        """How the command at `path` is typed here, prefix included: `!crisis add` on Matrix,
        `/crisis-mod add` on Discord."""
        return self.prefix + " ".join(self.responder.command_words(path))

    def _spelled(self, message: Message | str) -> Message:
        """The message with the commands it names spelled as this platform types them."""
        return spell_commands(Message.coerce(message), self.prefix, self.responder.command_words)

    async def reply(self, message: Message | str, *, ephemeral: bool | None = None) -> str | None:
        """Answer the command; personal content should be ephemeral. Returns the platform's
        id of a public answer (see `Responder.reply`), None for a private one or unknown."""
        msg = self._spelled(message)
        private = self.ephemeral_default if ephemeral is None else ephemeral
        if private and not self.answered_publicly:
            self._check_declared_private()
        self.answered_publicly = self.answered_publicly or not private
        self.sent.append(msg)
        posted = await self.responder.reply(msg, ephemeral=private)
        return None if private else posted

    async def refuse(self, message: Message | str) -> None:
        """Say privately why a command did not run (an error, a limit), or answer privately
        what a member wrote (a crisis phrase), whatever the command declared."""
        msg = self._spelled(message)
        self.sent.append(msg)
        await self.responder.reply(msg, ephemeral=True)

    async def dm(self, message: Message | str) -> None:
        """Send privately to the member."""
        self._check_declared_private()
        msg = self._spelled(message)
        self.sent.append(msg)
        await self.responder.dm(msg)

    def _check_declared_private(self) -> None:
        """A command that answers privately must say so in its spec, or a platform that shows
        work under way would have shown it publicly before this answer. Logged as an error
        (the member still gets the answer); the command sweep in the tests fails on it."""
        if self.command_private is False:
            log.error(
                "command %s answered privately but its spec does not declare ephemeral=True "
                "or dm=True",
                self.command_name,
            )

    def require_community(self) -> CommunityInfo:
        """The community this command runs in, or a clear refusal (a DM that has none)."""
        if self.community is None:
            raise UserError(_("This works in a community channel, not in a direct message."))
        return self.community

    def own_place(self, place: Place) -> Place:
        """`place` if it is a channel of this community; typed channels are untrusted."""
        if (
            place.is_dm
            or place.platform != self.place.platform
            or place.community_id != self.place.community_id
        ):
            raise UserError(
                _("{channel} is not a channel of this community.").format(
                    channel=escape_markdown(place.label)
                )
            )
        return place

    async def can_post(self, place: Place) -> str | None:
        """Why the bot cannot post in `place` (None: it can, or the platform cannot tell)."""
        return await self.responder.can_post(place)

    async def cannot_read_channels(self) -> str | None:
        """Why the bot cannot read plain chat in this community's channels (None: it can)."""
        return await self.responder.cannot_read_channels()

    async def members_can_read(self, place: Place) -> str | None:
        """Who below moderator can read `place` (None: only moderators and the bot can).

        A platform that cannot tell answers with a reason too: privacy never rests on a guess.
        """
        return await self.responder.members_can_read(place)

    async def defer(self) -> None:
        """Tell the platform an answer is coming."""
        await self.responder.defer(ephemeral=self.ephemeral_default)
