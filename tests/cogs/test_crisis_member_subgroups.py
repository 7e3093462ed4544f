"""A member who types `!crisis` and then words that start like a moderators' group
(`!crisis watch over me`, `!crisis phrases ...`) is still shown a crisis line, as after any
other words following `!crisis`; never a list of commands with nothing in it.

Found in a newcomer pass through the console: `!crisis watch foo` from a member answered
"`!crisis watch foo` is not a command. The `!crisis watch` commands are: ." and no line.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.clock import VirtualClock
from bot.core.permissions import Tier
from tests.harness.app import AppFactory
from tests.harness.platform import FakePlatform, Said

START = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
# Everyday words a member might type; none is a subcommand of `crisis watch` or `crisis phrases`.
WORDS = ["foo", "out", "over", "me", "please", "someone", "i", "need", "help", "now", "tonight"]


async def started(app_factory: AppFactory) -> tuple[App, FakePlatform]:
    app, fake = await app_factory.on_platform(
        ["general", "crisis", "admin"],
        clock=VirtualClock(START),
        actors={"mod": Tier.MODERATOR},
        fast_typing=True,
    )
    await fake.say("ana", "!me country US")
    return app, fake


def only(said: list[Said]) -> Said:
    assert len(said) == 1, said
    return said[0]


async def test_crisis_watch_and_a_word_from_a_member_still_shows_a_line(
    app_factory: AppFactory,
) -> None:
    _app, fake = await started(app_factory)
    reply = only(await fake.say("ana", "!crisis watch foo"))
    assert "commands are: ." not in reply.text, reply.text
    assert "988" in reply.text, reply.text


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    group=st.sampled_from(["watch", "phrases"]),
    words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=4),
)
async def test_any_words_after_a_moderators_crisis_group_still_show_a_line(
    app_factory: AppFactory, group: str, words: list[str]
) -> None:
    _app, fake = await started(app_factory)
    text = f"!crisis {group} {' '.join(words)}"
    reply = only(await fake.say("ana", text))
    assert reply.where == "ephemeral", text
    assert "commands are: ." not in reply.text, (text, reply.text)
    assert "988" in reply.text, (text, reply.text)


async def test_no_group_answers_a_member_with_an_empty_list_of_commands(
    app_factory: AppFactory,
) -> None:
    """Every group of every cog, followed by a word that is none of its commands: a member is
    named the group's commands they may use, or pointed to help and the crisis lines when
    they may use none of them; never a list with nothing in it."""
    app, fake = await app_factory.on_platform(clock=VirtualClock(START), fast_typing=True)
    groups = {
        spec.path[:depth] for spec in app.registry.specs for depth in range(1, len(spec.path))
    }
    assert ("crisis", "watch") in groups and ("meeting",) in groups  # the scan sees them
    for group in sorted(groups):
        for said in await fake.say("ana", f"!{' '.join(group)} zzyzx"):
            assert "commands are: ." not in said.text, (group, said.text)
            if "is not a command" in said.text and "commands are" not in said.text:
                assert "!crisis" in said.text, (group, said.text)


async def test_a_moderators_typo_in_a_crisis_group_is_told_the_nearest_command(
    app_factory: AppFactory,
) -> None:
    """A moderator typing `!crisis watch of` (meaning `off`) or `!crisis phrases lst` is told
    the nearest command they may use, as for any other group (`!me blah`); not shown the
    crisis lines as if they had reached for help, with the watch left on and nothing said."""
    _app, fake = await started(app_factory)
    for typed, meant in [("!crisis watch of", "off"), ("!crisis phrases lst", "list")]:
        reply = only(await fake.say("mod", typed))
        assert f"`{typed.rsplit(' ', 1)[0]} {meant}`" in reply.text, reply.text
        assert "findahelpline" not in reply.text, reply.text
