"""Where a command runs: a command runs iff its scope allows the place it was used in.

A DM often knows the member's community (Discord: where they last used the bot; Matrix: a space
they share with it), so commands about the member's own relation to the community
(`Scope.MEMBER`: meeting list/info/rsvp/unrsvp/ical, `me name`) run there too, and a reminder
DM can be acted on where it arrived. Commands that post in or act for a channel stay
`Scope.COMMUNITY`. A DM whose community is unknown is refused with how to make it known.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.core.commands import CommandSpec
from bot.core.context import Context
from bot.core.dispatch import Incoming
from bot.core.identity import Place
from bot.core.permissions import Scope, Tier
from tests.harness.app import AppFactory
from tests.harness.platform import CHANNEL, COMMUNITY, FakePlatform, FakeResponder

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # one app per test, on purpose
)

# The member commands that read or change only the member's own relation to the community:
# they must work in a DM that knows the community (a reminder DM is acted on where it arrived).
OWN_RELATION = {
    ("meeting", "list"),
    ("meeting", "info"),
    ("meeting", "rsvp"),
    ("meeting", "unrsvp"),
    ("meeting", "reminders"),
    ("meeting", "ical"),
    ("me", "name"),
}
# Member commands that post in the channel or act there for others: never from a DM.
IN_THE_CHANNEL = {("script", "start"), ("hand", "raise"), ("pass",), ("group", "invite")}


def runs_here(scope: Scope, *, dm: bool, known: bool) -> bool:
    """The rule, written out on its own (not read from `Scope.allows`)."""
    return {
        Scope.ANY: True,
        Scope.DM: dm,
        Scope.COMMUNITY: known and not dm,
        Scope.MEMBER: known,
    }[scope]


@dataclasses.dataclass
class World:
    app: App
    fake: FakePlatform
    specs: list[CommandSpec]  # every member-tier command of every cog
    ran: list[tuple[str, ...]]


@pytest_asyncio.fixture
async def world(app_factory: AppFactory) -> AsyncIterator[World]:
    app, fake = await app_factory.on_platform()
    specs = sorted((s for s in app.registry.specs if s.tier is Tier.MEMBER), key=lambda s: s.path)
    yield World(app, fake, specs, [])


def place(dm: bool, known: bool) -> Place:
    """A channel or a DM, carrying the community or not (a Matrix DM with no shared space,
    a room outside any space, a Discord DM of someone in two servers who never used the bot)."""
    community = COMMUNITY if known else None
    if dm:
        return Place("fake", "dm-ana", community, True, "DM")
    return CHANNEL if known else Place("fake", "lonely-room", None, False, "#lonely")


async def run(w: World, spec: CommandSpec, *, dm: bool, known: bool) -> list[str]:
    """Run `spec` (its callback replaced by a recorder, options dropped) as Ana; returns what
    she was told."""

    async def record(ctx: Context, **_values: Any) -> None:
        w.ran.append(spec.path)

    stand_in = dataclasses.replace(spec, callback=record, options=(), checks={})
    actor = w.fake.actor("ana")
    where = place(dm, known)
    incoming = Incoming(
        actor, where, Tier.MEMBER, FakeResponder(w.fake, actor, where), "Fake circle"
    )
    before = len(w.fake.said)
    await w.app.dispatcher.run(incoming, stand_in, {})
    return [s.text for s in w.fake.said[before:]]


@PROPERTY
@given(data=st.data())
async def test_a_command_runs_iff_its_scope_allows_the_place(
    world: World, data: st.DataObject
) -> None:
    spec = data.draw(st.sampled_from(world.specs), label="command")
    scope = data.draw(st.sampled_from(list(Scope)), label="scope")
    dm = data.draw(st.booleans(), label="dm")
    known = data.draw(st.booleans(), label="community known")
    world.ran.clear()
    told = await run(world, dataclasses.replace(spec, scope=scope), dm=dm, known=known)
    allowed = runs_here(scope, dm=dm, known=known)
    assert (world.ran == [spec.path]) == allowed, (spec.path, scope, dm, known, told)
    if not allowed:
        assert len(told) == 1, told  # one clear refusal, privately
        if scope is Scope.MEMBER:
            assert "Use any command once in your community's channel" in told[0]


async def test_each_member_command_runs_where_its_own_scope_allows(world: World) -> None:
    """Every member command of every cog, in every kind of place (all of them: few enough)."""
    for spec in world.specs:
        for dm in (False, True):
            for known in (False, True):
                world.ran.clear()
                told = await run(world, spec, dm=dm, known=known)
                ran = world.ran == [spec.path]
                assert ran == runs_here(spec.scope, dm=dm, known=known), (spec.path, dm, told)
                if spec.path in OWN_RELATION and known:  # a DM knowing the community is enough
                    assert ran, (spec.path, dm, told)
                if spec.path in IN_THE_CHANNEL and dm:
                    assert not ran, spec.path


async def test_the_commands_named_are_all_there(world: World) -> None:
    paths = {s.path for s in world.specs}
    assert paths >= OWN_RELATION
    assert paths >= IN_THE_CHANNEL


async def test_help_in_a_dm_offers_what_runs_there(world: World) -> None:
    told = await world.fake.say("ana", "!help", dm=True)
    assert "!meeting info" in told[0].text
    assert "!meeting rsvp" in told[0].text
    assert "!script start" not in told[0].text
    told = await world.fake.say("ana", "!help meeting info", dm=True)
    assert "community channels, or a DM once I know your community" in told[0].text
