"""A recording adapter for cog tests: what the bot said, where, and to whom."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.app import App
from bot.core.context import ResponderDefaults
from bot.core.dispatch import Incoming
from bot.core.errors import DeliveryError
from bot.core.identity import Actor, Place
from bot.core.message import Message, render_parts
from bot.core.mirror import MirroredEvent
from bot.core.permissions import Tier
from bot.outbox import Target
from bot.platform import Capabilities, PlatformDefaults
from bot.safety import clean

COMMUNITY = "c1"
CHANNEL = Place("fake", "general", COMMUNITY, False, "#general")
MODS = Place("fake", "mods", COMMUNITY, False, "#mods")  # only moderators read it


@dataclass
class Said:
    """One message the bot sent."""

    where: str  # "channel", "ephemeral", "dm"
    to: str  # actor id for ephemeral/dm, channel id otherwise
    message: Message
    message_id: str | None = None  # outbox deliveries and public answers have one
    deleted: bool = False  # the bot took it back (deleted / redacted on the platform)

    @property
    def text(self) -> str:
        """The Markdown text, cards included, for assertions."""
        body = render_parts(self.message.text, lambda w: w.at.isoformat())
        card = self.message.card
        if card is not None:
            body += (
                "\n" + card.title + "\n" + "\n".join(f"{f.name}: {f.value}" for f in card.fields)
            )
            body += "\n" + card.footer
        return body


@dataclass
class Typed:
    """One line a member typed outside a DM, which everyone in that channel reads until the
    bot removes it."""

    by: str  # the member's actor id
    where: str  # the channel's id
    text: str
    removed: bool = False


@dataclass
class FakeResponder(ResponderDefaults):
    """Records replies instead of talking to a platform."""

    platform: FakePlatform
    actor: Actor
    place: Place
    prefix: str = "!"
    line: Typed | None = None  # the line this event is, when typed in a channel

    async def remove_command(self) -> str | None:
        if self.line is None:
            return "I cannot tell which message it was."
        if not self.platform.can_remove:
            return "I lack the permission to remove messages here. Delete it yourself."
        self.line.removed = True
        return None

    async def reply(self, message: Message, *, ephemeral: bool) -> str | None:
        message = clean(message)
        if self.place.is_dm:
            self.platform.said.append(Said("dm", self.actor.id, message))
        elif ephemeral:
            self.platform.said.append(Said("ephemeral", self.actor.id, message))
        else:
            message_id = f"r-{len(self.platform.said)}"  # a public answer: the bot's own post
            self.platform.said.append(Said("channel", self.place.id, message, message_id))
            return message_id
        return None

    async def dm(self, message: Message) -> None:
        self.platform.said.append(Said("dm", self.actor.id, clean(message)))

    async def defer(self, *, ephemeral: bool) -> None:
        self.platform.deferred += 1

    async def resolve_actor(self, text: str) -> Actor | None:
        return self.platform.actors.get(text.strip().lstrip("@").lower())

    async def resolve_place(self, text: str) -> Place | None:
        return {CHANNEL.id: CHANNEL, MODS.id: MODS}.get(text.strip().lstrip("#"))

    async def members_can_read(self, place: Place) -> str | None:
        if place.id == MODS.id:
            return None
        return f"everyone here reads #{place.id}."


@dataclass
class FakePlatform(PlatformDefaults):
    """A platform that honours idempotency keys the way Discord nonces and Matrix txn ids do."""

    capabilities = Capabilities(retracts=True)

    app: App
    platform: str = "fake"
    said: list[Said] = field(default_factory=list)
    actors: dict[str, Actor] = field(default_factory=dict)
    tiers: dict[str, Tier] = field(default_factory=dict)
    delivered_keys: set[str] = field(default_factory=set)
    deferred: int = 0
    reachable: bool = True
    typed: list[Typed] = field(default_factory=list)  # lines members typed in channels
    can_remove: bool = True  # whether the bot may remove members' messages

    def actor(self, name: str, tier: Tier = Tier.MEMBER) -> Actor:
        """A person of the fake community."""
        actor = self.actors.setdefault(name.lower(), Actor("fake", name.lower(), name))
        self.tiers.setdefault(actor.id, tier)
        return actor

    def incoming(self, name: str, *, dm: bool = False) -> Incoming:
        """An event from `name` in the channel or in their DM."""
        actor = self.actor(name)
        place = Place("fake", f"dm-{actor.id}", COMMUNITY, True) if dm else CHANNEL
        return Incoming(
            actor, place, self.tiers[actor.id], FakeResponder(self, actor, place), "Fake circle"
        )

    async def say(self, name: str, text: str, *, dm: bool = False) -> list[Said]:
        """Type a line as `name`; returns what the bot said in response."""
        before = len(self.said)
        incoming = self.incoming(name, dm=dm)
        if not dm:
            line = Typed(incoming.actor.id, incoming.place.id, text)
            self.typed.append(line)
            assert isinstance(incoming.responder, FakeResponder)
            incoming.responder.line = line
        await self.app.dispatcher.handle_text(incoming, text, "!")
        return self.said[before:]

    async def send(self, target: Target, message: Message, idempotency_key: str) -> str:
        message_id = f"m-{idempotency_key}"
        if idempotency_key in self.delivered_keys:
            return message_id
        where = "dm" if target.is_dm else "channel"
        self.said.append(Said(where, target.target, clean(message), message_id))
        self.delivered_keys.add(idempotency_key)
        return message_id

    async def retract(self, target: Target, message_id: str) -> None:
        """Delete a message sent earlier; raises while `reachable` is False (platform down)."""
        if not self.reachable:
            raise DeliveryError("the fake platform is unreachable")
        for said in self.said:
            if said.message_id == message_id and said.to == target.target:
                said.deleted = True

    def visible(self) -> list[Said]:
        """What members can still read: everything said that was not taken back."""
        return [s for s in self.said if not s.deleted]


class CalendarPlatform(FakePlatform):
    """A fake platform with a calendar: it keeps what each key shows and every call."""

    capabilities = Capabilities(mirrors_events=True, retracts=True)

    def __init__(self, app: App) -> None:
        super().__init__(app)
        self.calls: list[tuple[str, MirroredEvent | None]] = []
        self.shown: dict[str, MirroredEvent] = {}

    async def mirror_event(self, event: MirroredEvent | None, key: str) -> None:
        self.calls.append((key, event))
        if event is None:
            self.shown.pop(key, None)
        else:
            self.shown[key] = event
