"""Asking for help as people type it: full-width letters, spaces for hyphens, `help` + words.

Each test types what a member would and checks what they see, through the recording platform.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.clock import VirtualClock
from bot.core.permissions import Tier
from tests.harness.app import AppFactory, make_config
from tests.harness.platform import FakePlatform, Said

START = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
US_LINES = "**Lines in United States**"
CARING = "You don't have to carry this alone"
POINTER = "If you need someone to talk to right now, type `!crisis`."


async def started(
    app_factory: AppFactory, cogs: list[str] | None = None
) -> tuple[App, FakePlatform]:
    app, fake = await app_factory.on_platform(
        cogs or ["general", "crisis"], clock=VirtualClock(START), actors={"mod": Tier.MODERATOR}
    )
    await fake.say("ana", "!me country US")
    return app, fake


def only(said: list[Said]) -> Said:
    assert len(said) == 1, said
    return said[0]


def full_width(text: str) -> str:
    """What a CJK keyboard in full-width mode types for ASCII letters, digits and signs."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


async def test_full_width_command_names_show_the_lines(app_factory: AppFactory) -> None:
    _app, fake = await started(app_factory)
    for line in ("！ｃｒｉｓｉｓ", "!ｃｒｉｓｉｓ", "！ＣＲＩＳＩＳ", "！ｈｅｌｐ－ｎｏｗ"):
        assert US_LINES in only(await fake.say("ana", line)).text, line
        reply = only(await fake.say("ana", line, dm=True))
        assert US_LINES in reply.text and "only understand commands" not in reply.text, line


async def test_help_now_with_a_space_is_help_now(app_factory: AppFactory) -> None:
    _app, fake = await started(app_factory)
    for line in ("!help now", "!Help Now please", "! help now", "！ｈｅｌｐ ｎｏｗ"):
        reply = only(await fake.say("ana", line))
        assert US_LINES in reply.text and "no command" not in reply.text, line


async def test_help_with_words_that_are_no_command_leads_to_crisis(
    app_factory: AppFactory,
) -> None:
    _app, fake = await started(app_factory)
    for line in ("!help please", "!help i need help", "!help somebody"):
        reply = only(await fake.say("ana", line))
        assert "There is no command" in reply.text and POINTER in reply.text, line
    # Help for a real command is unchanged.
    assert POINTER not in only(await fake.say("ana", "!help crisis")).text


async def test_a_plain_dm_leads_to_crisis_too(app_factory: AppFactory) -> None:
    _app, fake = await started(app_factory)
    reply = only(await fake.say("ana", "hello", dm=True))
    assert reply.where == "dm" and POINTER in reply.text and US_LINES not in reply.text
    for text in ("help me", "i need help"):  # asking for help: the lines themselves
        reply = only(await fake.say("ana", text, dm=True))
        assert reply.where == "dm" and US_LINES in reply.text, text
        assert "only understand commands" not in reply.text, text


async def test_without_a_crisis_command_no_pointer_to_it(app_factory: AppFactory) -> None:
    _app, fake = await started(app_factory, cogs=["general"])
    reply = only(await fake.say("ana", "hello", dm=True))
    assert "only understand commands" in reply.text and "crisis" not in reply.text


async def test_a_distress_group_name_is_not_created(app_factory: AppFactory) -> None:
    _app, fake = await started(app_factory, cogs=["general", "crisis", "journal"])
    said = await fake.say("ana", '!group create "i want to die"')
    assert any(CARING in s.text for s in said), said
    assert not any("is ready" in s.text for s in said), said
    assert any("haven't shown those words" in s.text for s in said), said
    # Nothing was created: an invite finds no group journal to invite to.
    fake.actor("ben")
    invite = await fake.say("ana", "!group invite ben")
    assert not any("want to die" in s.text for s in invite + fake.said), invite


async def test_every_command_resolves_however_its_words_are_typed(
    app_factory: AppFactory,
) -> None:
    """The kind: every command path and alias of every cog, typed full-width, in any case,
    with its hyphens typed as spaces, still reaches that command and leaves the rest as words."""
    app = await app_factory(make_config(), clock=VirtualClock(START))
    registry = app.registry
    paths = [(spec, path) for spec in registry.specs for path in (spec.path, *spec.aliases)]
    assert len(paths) >= 60 and any("-" in "".join(path) for _spec, path in paths)

    @settings(max_examples=60, deadline=None, derandomize=True)
    @given(
        widen=st.booleans(),
        cases=st.sampled_from([str.lower, str.upper, str.title]),
        split_hyphens=st.booleans(),
        rest=st.lists(st.sampled_from(["please", "I", "need", "someone", "US"]), max_size=3),
    )
    def check(
        widen: bool, cases: Callable[[str], str], split_hyphens: bool, rest: list[str]
    ) -> None:
        for spec, path in paths:
            words = [p for w in path for p in (w.split("-") if split_hyphens else [w])]
            typed = [full_width(cases(w)) if widen else cases(w) for w in words]
            resolved = registry.resolve([*typed, *rest])
            assert resolved is not None and resolved.spec is spec, (path, typed, rest)
            assert resolved.consumed == len(typed), (path, typed, rest)

    check()
