"""A member leaves words in public, then erases their data: what the platform still shows.

Shared by tests/cogs/test_privacy_erase_public.py. `Community` runs every cog on a recording
platform that deletes and edits what it posted (as Discord and Matrix do) and can be down;
Ben acts through commands (`Act`) and may moderate (the mod log, mirrored to the channel,
names him) or take part in a meeting's script (its posts name him), Ana moderates,
facilitates a meeting "Circle" and shares an entry Ben can answer.
`Community.shown_publicly` is what anyone but Ben can read: channel posts and other
members' DMs still on the platform, with their latest text (edits applied).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.app import App
from bot.clock import VirtualClock
from bot.core.errors import DeliveryError
from bot.core.message import Message
from bot.core.permissions import Tier
from bot.models import OutboxItem
from bot.outbox import Target
from bot.platform import Capabilities
from bot.safety import clean
from tests.harness.app import AppFactory, make_config
from tests.harness.platform import FakePlatform, Said

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday
MEETING = '!meeting schedule Circle "2026-12-02 19:00" 60m zone:UTC'
BEN = "fake:ben"
CODE = re.compile(r"`([2-9a-z]{6})`")
ERASE_CODE = re.compile(r"mydata erase confirm ([2-9a-z]{6})")
COUNT = re.compile(r"(\d+) members? plans? to come|Nobody has said yet that they plan to come")


@dataclass
class ShowingPlatform(FakePlatform):
    """The fake platform that also edits what it posted; while down (`reachable` False) it
    neither deletes nor edits, as a platform the bot cannot reach."""

    capabilities = Capabilities(retracts=True, edits=True)

    async def edit(
        self, target: Target, message_id: str, message: Message, idempotency_key: str
    ) -> None:
        if not self.reachable:
            raise DeliveryError("the fake platform is unreachable")
        for said in self.said:
            if said.message_id == message_id and said.to == target.target:
                said.message = clean(message)


@dataclass(frozen=True)
class Act:
    """One thing Ben (or the world around him) does; `n` makes his words unique."""

    what: str  # see `Community.act`
    n: int = 0
    flag: bool = False


@dataclass
class Community:
    """One community with every cog, Ana moderating and Ben acting; see the module docstring."""

    factory: AppFactory
    app: App
    fake: ShowingPlatform
    words: list[str] = field(default_factory=list)  # Ben's canaries, every one he wrote
    names: list[str] = field(default_factory=list)  # every pseudonym Ben chose
    entries: list[str] = field(default_factory=list)  # codes of Ben's entries
    urges: int = 0  # items in Ben's toolbox
    ana_going: bool = False  # whether Ana (whom nobody erases) plans to come to Circle
    ana_entry: str = ""
    script_running: bool = False  # whether a script runs in #general

    @classmethod
    async def open(cls, factory: AppFactory) -> Community:
        app = await factory(make_config(), clock=VirtualClock(START), fast_typing=True)
        fake = ShowingPlatform(app)
        app.add_transport(fake)
        fake.actor("ana", Tier.MODERATOR)
        fake.actor("ben")
        self = cls(factory, app, fake)
        await self.say("ana", "!journal feed-channel #general")
        await self.say("ana", "!settings set modlog_channel #general")
        await self.say("ana", MEETING)
        said = await self.say("ana", "!journal write visibility:shared Ana's good day")
        self.ana_entry = code_in(said)
        return self

    async def say(self, name: str, text: str, *, dm: bool = False) -> list[Said]:
        return await self.fake.say(name, text, dm=dm)

    async def act(self, act: Act) -> None:
        """Do `act`: Ben's words go out wherever it leads them."""
        canary = f"canary{act.n}q{len(self.words)}"
        if act.what == "name":
            name = f"Benny{act.n}z{len(self.names)}"
            self.names.append(name)
            await self.say("ben", f"!me name {name}")
        elif act.what in ("shared", "private"):
            self.words.append(canary)
            said = await self.say(
                "ben", f"!journal write visibility:{act.what} {canary} today", dm=act.flag
            )
            self.entries.append(code_in(said))
        elif act.what in ("share", "unshare") and self.entries:
            await self.say("ben", f"!journal {act.what} {self.entries[act.n % len(self.entries)]}")
        elif act.what == "edit" and self.entries:
            self.words.append(canary)
            code = self.entries[act.n % len(self.entries)]
            await self.say("ben", f"!journal edit {code} {canary} again")
        elif act.what == "feedback":
            self.words.append(canary)
            await self.say("ben", f"!journal feedback {self.ana_entry} {canary} well done")
        elif act.what == "toolbox":
            self.words.append(canary)
            await self.say("ben", f"!urge log 6 {canary}")
            self.urges += 1
            await self.say("ben", f"!toolbox share {self.urges} ana")
        elif act.what == "rsvp":
            reminder = "yes" if act.flag else "no"
            await self.say("ben", f"!meeting rsvp Circle reminder:{reminder}")
        elif act.what == "unrsvp":
            await self.say("ben", "!meeting unrsvp Circle")
        elif act.what == "ana_rsvp":
            self.ana_going = not self.ana_going
            verb = "rsvp" if self.ana_going else "unrsvp"
            await self.say("ana", f"!meeting {verb} Circle")
        elif act.what == "facilitate":
            await self.say("ana", "!meeting edit Circle add_facilitator:@ben")
        elif act.what == "moderate":  # Ben moderates: the mod log names him
            self.fake.tiers[self.fake.actor("ben").id] = Tier.MODERATOR
            zone = ("Europe/Berlin", "UTC", "America/Chicago")[act.n % 3]
            await self.say("ben", f"!settings set timezone {zone}")
        elif act.what == "script":
            await self._script(act)
        elif act.what == "down":
            self.fake.reachable = not self.fake.reachable
        elif act.what == "advance":
            await self.app.scheduler.advance(timedelta(hours=1 + act.n % 12))

    async def _script(self, act: Act) -> None:
        """The meeting's script in #general: started by Ben as facilitator (`flag`; his
        pseudonym is then in the step posts) or by Ana, taken to the check-in round, where Ben
        raises a hand (and lowers it), passes or is given the floor; or (`n % 5 == 4`) ended. With
        an even `n` Ben first chooses a new pseudonym (earlier posts show the old one)."""
        if act.n % 2 == 0:
            await self.act(Act("name", act.n))
        if act.n % 5 == 4:
            await self.say("ana", "!script end")
            self.script_running = False
            return
        if act.flag:
            ben = self.fake.actor("ben").id
            self.fake.tiers[ben] = max(self.fake.tiers[ben], Tier.FACILITATOR)
        if not self.script_running:  # a second start's refusal to Ana would name him privately
            await self.say("ben" if act.flag else "ana", "!script start")
            self.script_running = True
        await self.say("ana", "!script goto check_in")
        if act.n % 5 == 0:
            await self.say("ben", "!hand raise")
        elif act.n % 5 == 1:
            await self.say("ben", "!pass")
        elif act.n % 5 == 2:  # (not `script add`: its refusal to Ana would name him)
            await self.say("ben", "!hand raise")
            await self.say("ben", "!hand lower")
        else:
            await self.say("ben", "!hand raise")
            await self.say("ana", "!script next-speaker")

    async def erase(self, *, restart: bool, down: bool) -> list[Said]:
        """Ben asks to erase, then confirms (in a new run of the bot when `restart`), with
        the platform unreachable meanwhile when `down`; returns the confirmation's answer."""
        first = "\n".join(s.text for s in await self.say("ben", "!mydata erase"))
        match = ERASE_CODE.search(first)
        assert match, first
        if restart:
            await self.restart()
        self.fake.reachable = not down
        return await self.say("ben", f"!mydata erase confirm {match.group(1)}")

    async def restart(self) -> None:
        """A new run of the bot on the same database, the same platform."""
        clock = self.app.clock
        await self.app.close()
        self.factory.apps.remove(self.app)
        self.app = await self.factory(make_config(), clock=clock, fast_typing=True)
        self.fake.app = self.app
        self.app.add_transport(self.fake)

    def shown_publicly(self) -> list[Said]:
        """What people other than Ben can read from the bot: channel posts and DMs to others
        that were not deleted (replies only Ben saw are his own business)."""
        return [
            s
            for s in self.fake.visible()
            if s.where == "channel" or (s.where in ("dm", "ephemeral") and s.to != "ben")
        ]

    async def pending_payloads(self) -> list[tuple[str, str]]:
        """(key, decrypted payload) of every outbox item still to be sent."""
        async with self.app.db.sessions() as session:
            rows = await session.scalars(select(OutboxItem).where(OutboxItem.status == "pending"))
            return [(row.key, row.payload or "") for row in rows]

    async def statuses(self) -> set[str]:
        async with self.app.db.sessions() as session:
            return set(await session.scalars(select(OutboxItem.status)))


def code_in(said: list[Said]) -> str:
    """The first entry code (in backticks) the bot said."""
    for item in said:
        if found := CODE.search(item.text):
            return found.group(1)
    raise AssertionError("no code in " + "\n".join(s.text for s in said))


def counts_in(text: str) -> list[int]:
    """The RSVP counts an announcement's text shows (0 for "Nobody has said yet...")."""
    return [int(m.group(1)) if m.group(1) else 0 for m in COUNT.finditer(text)]
