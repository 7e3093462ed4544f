"""The console: a terminal chat with one local community.

Lines without `@NAME` are typed by `you`, a moderator; every `@NAME` starts as a member until
`:tier NAME TIER` says otherwise, so trying a member's view needs no setup.

It is what `circlebot` runs when no platform is configured, how newcomers try the bot, and how
tests and bug reports script it. A line is `[@name] [dm] text`; lines starting with `:` are
console directives (`:help` lists them). `file:PATH` hands a file on this machine to a command
that takes one (`!crisis import file:/tmp/lines.csv`); only the console reads local files.
"""

from __future__ import annotations

import asyncio
import codecs
import io
import logging
import os
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from bot.core.context import ResponderDefaults
from bot.core.convert import parse_duration, parse_zone, zone_label
from bot.core.dispatch import Incoming, RateLimiter
from bot.core.errors import ArgumentError
from bot.core.identity import Actor, Place
from bot.core.message import Message, When, markdown_to_plain, relative_time, render_parts
from bot.core.permissions import Tier
from bot.crypto import private_dir, write_private
from bot.i18n import _
from bot.outbox import Target
from bot.platform import Capabilities, Host, PlatformDefaults
from bot.safety import clean

log = logging.getLogger("circlebot.console")

PLATFORM = "console"
COMMUNITY_ID = "local"
COMMUNITY_NAME = "Local circle"
CHANNEL = Place(PLATFORM, "general", COMMUNITY_ID, False, "#general")
# The moderators' channel: only people at moderator tier read it (crisis alerts go here).
MODS = Place(PLATFORM, "mods", COMMUNITY_ID, False, "#mods")
DEFAULT_USER = "you"
SELF_NAMES = frozenset({"me", "you", "myself"})  # how the person at the terminal names themself
# Every job that comes due runs on the way (hourly ones too): a year takes minutes, so cap it.
MAX_ADVANCE = timedelta(days=100)
PREFIX = "!"

DIRECTIVES = """Console directives:
  @NAME text          act as NAME (new names start as members; see :tier)
  dm text             send text in your direct messages with the bot (also: @NAME dm text)
  #mods text          write in #mods, the moderators-only channel (also: @NAME #mods text)
  :tier NAME [TIER]   show NAME's tier, or make NAME a member, facilitator or moderator
                      (`me` is you, "you", who types the lines without @NAME: a moderator)
  :tz NAME ZONE       set NAME's time zone, e.g. :tz ana Europe/Berlin
  :advance DURATION   move the virtual clock (needs --clock), firing what comes due
                      (at most 100 days at a time)
  :now                show the current (virtual) time
  :quit               leave"""

USAGE = {
    "tier": ":tier NAME [TIER] (TIER: member, facilitator or moderator; `:tier me` is you)",
    "tz": ":tz NAME ZONE, e.g. :tz ana Europe/Berlin",
    "advance": ":advance DURATION, e.g. :advance 2h or :advance 1d12h",
}


@dataclass(frozen=True)
class DiskFile:
    """A file on this machine, named on the console with `file:PATH`."""

    path: Path
    size: int
    content_type: str | None = None

    @property
    def filename(self) -> str:
        """The name without its folders."""
        return self.path.name

    async def read(self) -> bytes:
        """The bytes, read off the event loop."""
        return await asyncio.to_thread(self.path.read_bytes)


class ConsoleResponder(ResponderDefaults):
    """Answers for one incoming line."""

    prefix = PREFIX

    def __init__(self, adapter: ConsoleAdapter, actor: Actor, place: Place) -> None:
        self._adapter = adapter
        self._actor = actor
        self._place = place

    async def reply(self, message: Message, *, ephemeral: bool) -> str | None:
        if self._place.is_dm:
            await self._adapter.show_dm(self._actor, message)
        elif ephemeral:
            await self._adapter.show(
                f"{self._place.label}, private to {self._actor.name}", message, self._actor
            )
        else:
            await self._adapter.show(self._place.label, message, None)
            return f"reply-{uuid.uuid4().hex}"  # the transcript's posts need no real id
        return None

    async def dm(self, message: Message) -> None:
        await self._adapter.show_dm(self._actor, message)

    async def defer(self, *, ephemeral: bool) -> None:
        return None

    async def remove_command(self) -> str | None:
        """The console's channel is simulated: the line typed stays on the terminal, and the
        channel shows where it was removed, as a member of a real community would see."""
        self._adapter.write_removed(self._place.label, self._actor.name)
        return None

    async def resolve_actor(self, text: str) -> Actor | None:
        name = text.strip().lstrip("@")
        return self._adapter.users.get(name.lower()) if name else None

    async def resolve_place(self, text: str) -> Place | None:
        name = text.strip().lstrip("#").lower()
        return {CHANNEL.id: CHANNEL, MODS.id: MODS}.get(name)

    async def members_can_read(self, place: Place) -> str | None:
        if place.id == MODS.id:
            return None
        return _("Everyone in this community reads #{channel}.").format(channel=place.id)

    def open_file(self, path: str) -> DiskFile:
        """`file:PATH`: the person at the terminal owns this machine, so its files are theirs."""
        target = Path(path).expanduser()
        try:
            size = target.stat().st_size
        except OSError:
            size = -1
        if size < 0 or not target.is_file() or not os.access(target, os.R_OK):
            raise ArgumentError(
                _("I can't read the file `{path}`: check that it exists and is a file.").format(
                    path=path[:200]
                )
            )
        return DiskFile(target, size)


def _in_mods(text: str) -> bool:
    return text.lower() == "#mods" or text.lower().startswith("#mods ")


def utf8_stdio() -> None:
    """Read and write the terminal in UTF-8 whatever the locale says, as Python's UTF-8 mode
    (PEP 540) does: members write in every language (`死にたい`, `quiero suicidarme`), and a
    C or ASCII locale (`LC_ALL=C` without locale coercion, `PYTHONIOENCODING=ascii`) made the
    console fail on the first such line, reading it (the input thread died and the console
    hung) or writing the answer to it (a traceback instead of the crisis lines). A byte that
    is not UTF-8 is read as U+FFFD; nothing written can fail to encode."""
    for stream, errors in ((sys.stdin, "replace"), (sys.stdout, "backslashreplace")):
        if isinstance(stream, io.TextIOWrapper) and codecs.lookup(stream.encoding).name != "utf-8":
            stream.reconfigure(encoding="utf-8", errors=errors)


class ConsoleAdapter(PlatformDefaults):
    """Reads lines, prints what the bot says, and delivers outbox items to the terminal."""

    platform = PLATFORM
    capabilities = Capabilities(retracts=True, edits=True)  # ready at once, no record or calendar

    def __init__(
        self,
        app: Host,
        *,
        out: TextIO | None = None,
        files_dir: Path | None = None,
        interactive: bool = False,
    ) -> None:
        self.app = app
        self.out = out or sys.stdout
        self.files_dir = files_dir or Path("data/files")
        self.interactive = interactive
        self.users: dict[str, Actor] = {}
        self.tiers: dict[str, Tier] = {}
        self._delivered: set[str] = set()
        self.deleted: list[str] = []  # ids of messages the bot took back, in order
        self.edited: list[str] = []  # ids of messages the bot edited in place, in order
        self._user(DEFAULT_USER, Tier.MODERATOR)

    def _user(self, name: str, tier: Tier | None = None) -> Actor:
        key = name.lower()
        actor = self.users.get(key)
        if actor is None:
            actor = Actor(PLATFORM, key, name)
            self.users[key] = actor
            self.tiers[key] = Tier.MEMBER
        if tier is not None:
            self.tiers[key] = tier
        return actor

    def _named(self, typed: str, tier: Tier | None = None) -> Actor:
        """The person a directive names: `me`, `you` or `@you` are you, who types plain lines."""
        name = typed.lstrip("@")
        return self._user(DEFAULT_USER if name.lower() in SELF_NAMES else name, tier)

    def _who(self, actor: Actor, possessive: str = "") -> str:
        """`ana is` / `ana's`; for you: `you (plain lines, without @NAME) are` / `your`."""
        if actor.id == DEFAULT_USER:
            return "your" if possessive else "you (plain lines, without @NAME) are"
        return f"{actor.name}'s" if possessive else f"{actor.name} is"

    def _dm_place(self, actor: Actor) -> Place:
        return Place(PLATFORM, f"dm-{actor.id}", COMMUNITY_ID, True, f"dm {actor.name}")

    def write(self, text: str) -> None:
        """Print a line and flush (piped output must appear in order)."""
        self.out.write(text + "\n")
        self.out.flush()

    async def _zone_for(self, reader: Actor | None) -> ZoneInfo:
        community = await self.app.members.community(
            PLATFORM, COMMUNITY_ID, COMMUNITY_NAME, timezone=self.app.config.bot.timezone
        )
        zone = community.timezone
        if reader is not None:
            profile = await self.app.members.profile(reader.key)
            zone = profile.timezone or zone
        return ZoneInfo(zone)

    def _render_when(self, zone: ZoneInfo) -> Callable[[When], str]:
        now = self.app.clock.now()

        def render(when: When) -> str:
            local = when.at.astimezone(zone)
            if when.style == "relative":
                return relative_time(when.at, now)
            pattern = {"date": "EEE d MMM y", "time": "HH:mm"}.get(
                when.style, "EEE d MMM y, HH:mm"
            )
            text = format_datetime(local, pattern, tzinfo=zone, locale="en")
            if when.style != "date":  # BST, AEDT: the name people read, not "+0100"
                text += " " + zone_label(local)
            if when.style == "full":
                text += f" ({relative_time(when.at, now)})"
            return text

        return render

    async def show(self, where: str, message: Message, reader: Actor | None) -> None:
        """Render a message as terminal lines tagged with where it went."""
        message = clean(message)
        zone = await self._zone_for(reader)
        body = markdown_to_plain(render_parts(message.text, self._render_when(zone), PREFIX))
        lines = body.split("\n") if body else []
        if message.mention:
            lines.append("@" + message.mention.split(":", 1)[-1])
        if message.ping_role:
            lines.insert(0, f"(ping: @{message.ping_role})")
        if message.card is not None:
            card = message.card
            lines.append(f"== {markdown_to_plain(card.title)} ==")
            if card.description:
                lines.extend(markdown_to_plain(card.description).split("\n"))
            for f in card.fields:
                value = markdown_to_plain(f.value).split("\n")
                lines.append(f"  {markdown_to_plain(f.name)}: {value[0]}")
                lines.extend(f"    {v}" for v in value[1:])
            if card.footer:
                lines.append(f"  ({markdown_to_plain(card.footer)})")
        if message.actions:
            lines.append("  " + "  ".join(f"[{a.label}]" for a in message.actions))
        if not lines and message.attachment is None:
            return
        if lines:
            self.write(f"[{where}] {lines[0]}")
            for line in lines[1:]:
                self.write(f"  {line}")
        if message.attachment is not None:
            path = private_dir(self.files_dir) / Path(message.attachment.filename).name
            write_private(path, message.attachment.data)  # exports hold a member's text
            self.write(f"[file {path.name} {len(message.attachment.data)} bytes]")

    def write_removed(self, where: str, name: str) -> None:
        """Show in a channel that the bot removed a message of `name` (what others see)."""
        self.write(f"[{where}] " + _("(a message by {name} was removed)").format(name=name))

    async def show_dm(self, actor: Actor, message: Message) -> None:
        """Print a direct message to `actor`."""
        await self.show(f"dm {actor.name}", message, actor)

    async def send(self, target: Target, message: Message, idempotency_key: str) -> str:
        """Outbox delivery; a repeated key is dropped like Discord's nonce / Matrix's txn id.

        Returns the message's id: its key (unique per outbox item, and known after a restart).
        """
        message_id = idempotency_key.replace(" ", "_")
        if idempotency_key in self._delivered:
            return message_id
        if target.is_dm:
            name = target.platform_id
            # a member from an earlier console run on this database: not typed as yet in this
            # one, still the recipient of what was planned for them
            actor = self.users.get(name) or Actor(PLATFORM, name, name)
            await self.show_dm(actor, message)
        else:
            await self.show(f"#{target.platform_id}", message, None)
        self._delivered.add(idempotency_key)
        return message_id

    async def retract(self, target: Target, message_id: str) -> None:
        """Take back a message sent earlier: the transcript says it was deleted, without it."""
        where = f"dm {target.platform_id}" if target.is_dm else f"#{target.platform_id}"
        self.deleted.append(message_id)
        self.write(f"[{where}] (a message I posted here earlier was deleted)")

    async def edit(
        self, target: Target, message_id: str, message: Message, idempotency_key: str
    ) -> None:
        """A post kept current changed: the transcript shows its new text, marked edited."""
        self.edited.append(message_id)
        where = f"dm {target.platform_id}" if target.is_dm else f"#{target.platform_id}"
        await self.show(f"{where} (edited)", message, None)

    async def handle_line(self, line: str) -> bool:
        """Handle one typed line; False means quit."""
        text = line.strip()
        if not text or (text.startswith("#") and not _in_mods(text)):
            return True
        if text.startswith(":"):
            return await self._directive(text)
        actor = self._user(DEFAULT_USER)
        if text.startswith("@"):
            name, _sep, text = text[1:].partition(" ")
            if not name:
                self.write("[console] Say who: @NAME text")
                return True
            if self.interactive and name.lower() not in {*self.users, *SELF_NAMES}:
                self.write(
                    f"[console] {name} joins as a member; `:tier {name} moderator` (or "
                    "facilitator) changes that."
                )
            actor = self._named(name)
            text = text.strip()
        place = CHANNEL
        if text.lower() == "dm" or text.lower().startswith("dm "):
            place = self._dm_place(actor)
            text = text[2:].strip()
        elif _in_mods(text):
            if self.tiers[actor.id] < Tier.MODERATOR:
                self.write(f"[console] #mods is for moderators; {actor.name} cannot write there.")
                return True
            place = MODS
            text = text[len("#mods") :].strip()
        if not text:
            return True
        if text.startswith("/"):
            text = PREFIX + text[1:]
        incoming = Incoming(
            actor=actor,
            place=place,
            tier=self.tiers[actor.id],
            responder=ConsoleResponder(self, actor, place),
            community_name=COMMUNITY_NAME,
        )
        await self.app.dispatcher.handle_text(incoming, text, PREFIX)
        return True

    async def _directive(self, text: str) -> bool:
        word, _sep, rest = text[1:].partition(" ")
        args = rest.split()
        word = word.lower()
        try:
            if word in {"quit", "exit", "q"}:
                return False
            if word == "help":
                self.write(DIRECTIVES)
            elif word == "tier" and len(args) == 1:
                actor = self._named(args[0])
                self.write(f"[console] {self._who(actor)} a {self.tiers[actor.id].label}")
            elif word == "tier" and len(args) == 2:
                tier = Tier.parse(args[1])
                if tier is Tier.OWNER:
                    raise ArgumentError("owners come from the config file (bot.owners)")
                actor = self._named(args[0], tier)
                self.write(f"[console] {self._who(actor)} now a {tier.label}")
            elif word == "tz" and len(args) == 2:
                actor = self._named(args[0])
                zone = parse_zone(args[1]).key
                await self.app.members.update_profile(actor.key, timezone=zone)
                self.write(f"[console] {self._who(actor, 's')} time zone is now {zone}")
            elif word == "advance" and args:
                if not self.app.scheduler.virtual:
                    raise ArgumentError("start the console with --clock ISO8601 to move time")
                delta = parse_duration(" ".join(args))
                if delta > MAX_ADVANCE:
                    raise ArgumentError(
                        f"One :advance moves the clock at most {MAX_ADVANCE.days} days "
                        "(every job that comes due on the way runs); advance again for more"
                    )
                ran = await self.app.scheduler.advance(delta)
                self.write(f"[clock] {self._now_text()} ({ran} job(s) ran)")
            elif word == "now":
                self.write(f"[clock] {self._now_text()}")
            elif word in USAGE:
                self.write(f"[console] Usage: {USAGE[word]}")
            else:
                self.write(f"[console] I don't know `{text}`. Type :help for directives.")
        except OverflowError:
            self.write(
                f"[console] That is too long: one :advance moves at most {MAX_ADVANCE.days} days."
            )
        except ValueError:
            self.write("[console] The tier must be member, facilitator or moderator.")
        except ArgumentError as exc:
            self.write(f"[console] {exc.message}")
        return True

    def _now_text(self) -> str:
        now: datetime = self.app.clock.now()
        return "now " + now.strftime("%Y-%m-%d %H:%M UTC")

    async def run(self, stop: asyncio.Event, stream: TextIO | None = None) -> None:
        """Read lines until EOF, `:quit` or `stop`."""
        if not self.interactive:  # piped input is a script (the README's demos), not a flood
            self.app.dispatcher.rate_limiter = RateLimiter.unlimited()
        self.app.add_transport(self)
        await self.app.members.community(
            PLATFORM, COMMUNITY_ID, COMMUNITY_NAME, timezone=self.app.config.bot.timezone
        )
        # What came due before the terminal was attached waited for it; deliver it now.
        await self.app.outbox.deliver_due()
        lines: asyncio.Queue[str | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        source = stream or sys.stdin

        def pump() -> None:
            try:
                for raw in source:
                    loop.call_soon_threadsafe(lines.put_nowait, raw)
            except Exception:
                log.exception("the console could not read its input; it stops here")
            finally:  # the end of input, also after a failed read: never a console left hanging
                loop.call_soon_threadsafe(lines.put_nowait, None)

        threading.Thread(target=pump, name="console-stdin", daemon=True).start()
        if self.interactive:
            self.write(
                f"circlebot console: you are '{DEFAULT_USER}', a moderator of "
                f"'{COMMUNITY_NAME}'; '@NAME text' speaks as NAME, who starts as a member "
                f"(:tier NAME moderator changes that). Type {PREFIX}help for commands, :help "
                "for console directives, :quit to leave."
            )
        stopper = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                if self.interactive:
                    self.out.write("> ")
                    self.out.flush()
                getter = asyncio.create_task(lines.get())
                done, _pending = await asyncio.wait(
                    {getter, stopper}, return_when=asyncio.FIRST_COMPLETED
                )
                if getter not in done:
                    getter.cancel()
                    break
                line = getter.result()
                if line is None or not await self.handle_line(line):
                    break
        finally:
            stopper.cancel()
