"""What a meeting's options refuse: a script or a ping role that names nothing is not saved."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import discord
import pytest

from bot.adapters.discord.responder import InteractionResponder
from bot.clock import VirtualClock
from bot.core.errors import UserError
from bot.core.permissions import Tier
from tests.harness.app import AppFactory
from tests.harness.platform import FakePlatform, Said

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SCHEDULE = '!meeting schedule Circle "2026-12-01 19:00" 60m'


async def open_app(app_factory: AppFactory, cogs: list[str]) -> FakePlatform:
    _app, fake = await app_factory.on_platform(
        cogs,
        clock=VirtualClock(START),
        actors={"fac": Tier.FACILITATOR, "mod": Tier.MODERATOR},
    )
    return fake


def text(said: list[Said]) -> str:
    return "\n".join(s.text for s in said)


@pytest.mark.parametrize("typed", ["nope", "standard-ish", "online online", "🙂"])
async def test_a_script_that_names_none_of_the_communitys_is_refused_and_nothing_saved(
    app_factory: AppFactory, typed: str
) -> None:
    fake = await open_app(app_factory, ["general", "meetings", "scripts"])
    answer = text(await fake.say("fac", f'{SCHEDULE} script:"{typed}"'))
    assert "There is no script called" in answer and "nothing was saved" in answer
    assert "!script list" in answer
    assert "Circle" not in text(await fake.say("fac", "!meeting list"))


async def test_a_script_the_community_has_is_kept_in_its_own_spelling(
    app_factory: AppFactory,
) -> None:
    fake = await open_app(app_factory, ["general", "meetings", "scripts"])
    assert "Scheduled" in text(await fake.say("fac", f"{SCHEDULE} script:Family-Friends"))
    refused = text(await fake.say("fac", "!meeting edit Circle script:nope"))
    assert "There is no script called `nope`" in refused
    assert "Script: family-friends" in text(await fake.say("fac", "!meeting info Circle"))


async def test_without_the_scripts_part_no_script_can_be_named(app_factory: AppFactory) -> None:
    fake = await open_app(app_factory, ["general", "meetings"])
    answer = text(await fake.say("fac", f"{SCHEDULE} script:standard"))
    assert "There is no script called `standard`" in answer
    assert "Circle" not in text(await fake.say("fac", "!meeting list"))


async def test_a_ping_role_where_posts_cannot_ping_is_refused(app_factory: AppFactory) -> None:
    fake = await open_app(app_factory, ["general", "meetings"])
    await fake.say("fac", SCHEDULE)
    answer = text(await fake.say("mod", "!meeting ping Circle blahblah"))
    assert "cannot ping a role" in answer and "Nothing was changed" in answer
    assert "will ping" not in answer
    assert "ping nobody" in text(await fake.say("mod", "!meeting ping Circle off"))


class _Role:
    def __init__(self, name: str, *, default: bool = False, mentionable: bool = True) -> None:
        self.name, self.mentionable, self._default = name, mentionable, default

    def is_default(self) -> bool:
        return self._default


async def test_on_discord_a_role_id_the_server_does_not_have_is_refused() -> None:
    roles = {42: _Role("Members")}
    guild = SimpleNamespace(
        get_role=roles.get,
        me=SimpleNamespace(guild_permissions=SimpleNamespace(mention_everyone=False)),
    )
    interaction = SimpleNamespace(guild=guild, guild_id=1)
    responder = InteractionResponder(
        cast(Any, None), cast(discord.Interaction, interaction), private=False
    )
    assert await responder.ping_note("42") is None
    with pytest.raises(UserError, match="names no role of this server"):
        await responder.ping_note("43")


async def test_a_refused_extra_word_is_named_with_the_option_it_was_read_as(
    app_factory: AppFactory,
) -> None:
    fake = await open_app(app_factory, ["general", "meetings"])
    answer = text(await fake.say("fac", f"{SCHEDULE} weekly 60m"))
    assert "is not a date" in answer
    assert "I read `60m` as `until`" in answer and "If it is extra, leave it out" in answer
    named = text(await fake.say("fac", f"{SCHEDULE} until:60m"))
    assert "is not a date" in named and "I read" not in named  # named: nothing to explain
    assert "Circle" not in text(await fake.say("fac", "!meeting list"))


async def test_a_zone_whose_label_is_its_name_is_named_once(app_factory: AppFactory) -> None:
    fake = await open_app(app_factory, ["general", "meetings"])
    answer = text(await fake.say("fac", f"{SCHEDULE} zone:UTC"))
    assert "19:00 UTC." in answer and "(UTC)" not in answer
    london = text(
        await fake.say("fac", '!meeting schedule Other "2026-12-01 19:00" 60m zone:Europe/London')
    )
    assert "19:00 GMT (Europe/London)." in london
    zone = text(await fake.say("fac", "!me timezone UTC"))
    assert "in UTC." in zone and "(UTC)" not in zone


async def test_a_value_an_option_cannot_take_is_refused_in_a_sentence_naming_the_option(
    app_factory: AppFactory,
) -> None:
    fake = await open_app(app_factory, ["general", "meetings"])
    empty = text(await fake.say("fac", '!meeting schedule "" "2026-12-01 19:00" 60m'))
    assert empty.startswith("The `title` option cannot be empty.")
    count = text(await fake.say("fac", f"{SCHEDULE} repeat:daily count:abc"))
    assert count.startswith("The `count` option takes a whole number, not `abc`.")


TWO_CIRCLES = (
    '!meeting schedule "Circle of friends" "2026-12-01 19:00" 60m repeat:weekly zone:UTC',
    '!meeting schedule "Circle of hope" "2026-12-02 19:00" 60m repeat:weekly zone:UTC',
)


@pytest.mark.parametrize(
    ("who", "line", "expected"),
    [
        ("ana", "!meeting info Circle of friends", "Circle of friends** (#1)"),
        ("ana", "!meeting rsvp Circle of friends", "plan to come to **Circle of friends** on"),
        ("ana", "!meeting rsvp circle of friends 2026-12-08 1h", "friends** on 2026-12-08T19"),
        ("ana", "!meeting unrsvp Circle of friends", "RSVP"),
        ("ana", "!meeting ical Circle of friends", "calendar"),
        ("fac", "!meeting cancel Circle of friends next", "Cancelled **Circle of friends**"),
        ("fac", "!meeting cancel Circle of friends", "is missing `when:`"),
        ("fac", "!meeting move Circle of friends next 2026-12-01T20:00", "Circle of friends"),
        ("fac", "!meeting move Circle of friends 2026-12-08", "is missing `to:`"),
        ("fac", "!meeting edit Circle of friends duration:2h", "Updated **Circle of friends**"),
        ("fac", "!meeting delete Circle of friends confirm:yes", "Deleted **Circle of friends**"),
        ("mod", "!meeting ping Circle of friends off", "Circle of friends"),
    ],
)
async def test_every_meeting_command_reads_an_unquoted_title_of_several_words(
    app_factory: AppFactory, who: str, line: str, expected: str
) -> None:
    fake = await open_app(app_factory, ["general", "meetings"])
    for schedule in TWO_CIRCLES:
        assert "Scheduled" in text(await fake.say("fac", schedule))
    answer = text(await fake.say(who, line))
    assert expected in answer, answer
    assert "Several meetings match" not in answer and "Too many values" not in answer, answer
    assert "Circle of hope" not in answer, answer


@pytest.mark.parametrize("command", ["cancel", "move", "restore"])
@pytest.mark.parametrize(
    ("ref", "first"),
    [
        ("Circle", "Several meetings match `Circle`: #1 **Circle of friends**"),
        ("circ", "Several meetings match `circ`: #1 **Circle of friends**"),
        ("Sunrise", "There is no meeting `Sunrise` here."),
        ("#9", "There is no meeting `#9` here."),
    ],
)
async def test_which_meeting_is_asked_before_what_else_is_missing(
    app_factory: AppFactory, command: str, ref: str, first: str
) -> None:
    fake = await open_app(app_factory, ["general", "meetings"])
    for schedule in TWO_CIRCLES:
        assert "Scheduled" in text(await fake.say("fac", schedule))
    answer = text(await fake.say("fac", f"!meeting {command} {ref}"))
    assert answer.startswith(first), answer
    assert "is missing `" not in answer, answer
    # once the meeting is clear, the missing value is named
    named = text(await fake.say("fac", f"!meeting {command} #1"))
    assert f"`meeting {command}` is missing `when:`" in named, named


async def test_a_whole_title_that_leaves_too_few_words_is_asked_about_not_passed_over(
    app_factory: AppFactory,
) -> None:
    """`Circle` and `Circle next` both meet. `!meeting move Circle next 2026-12-08T20:00`
    reads whole as Circle's next meeting moved to 20:00 on the 8th, but its first words are
    also the whole title `Circle next` (whose date to move, or new time, was left out): the
    member is asked which meeting, and nothing is moved."""
    fake = await open_app(app_factory, ["general", "meetings"])
    for schedule in (
        '!meeting schedule Circle "2026-12-01 19:00" 60m repeat:weekly zone:UTC',
        '!meeting schedule "Circle next" "2026-12-02 19:00" 60m repeat:weekly zone:UTC',
    ):
        assert "Scheduled" in text(await fake.say("fac", schedule))
    answer = text(await fake.say("fac", "!meeting move Circle next 2026-12-08T20:00"))
    assert "each naming a different meeting, so I have changed nothing" in answer, answer
    assert '`!meeting move "Circle" next 2026-12-08T20:00`' in answer, answer
    assert '`!meeting move "Circle next" 2026-12-08T20:00` (then add `to:`)' in answer, answer
    assert "Moved" not in answer, answer
    moved = text(await fake.say("fac", '!meeting move "Circle" next 2026-12-08T20:00'))
    assert "Moved **Circle** from 2026-12-01T19:00" in moved, moved
