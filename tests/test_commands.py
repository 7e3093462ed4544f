"""Command definitions, the registry's start-up checks, and text argument binding."""

from __future__ import annotations

import pytest

from bot.core.commands import CommandSpec, Option, OptionType, SpecError
from bot.core.context import Context
from bot.core.convert import bind_text, tokenize
from bot.core.errors import ArgumentError
from bot.core.registry import Registry


async def _cb(ctx: Context, title: str, minutes: int = 5) -> None:
    return None


def spec(**kw: object) -> CommandSpec:
    base: dict[str, object] = {
        "path": ("meeting", "schedule"),
        "description": "Plan a meeting",
        "options": (
            Option("title", OptionType.STRING, "Title"),
            Option("minutes", OptionType.INTEGER, "Length", required=False),
        ),
        "callback": _cb,
    }
    base.update(kw)
    return CommandSpec(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"path": ("Meeting",)}, "lower-case"),
        ({"path": ("a" * 33,)}, "lower-case"),
        ({"description": "x" * 257}, "description"),
        ({"description": ""}, "description"),
        ({"path": ("a", "b", "c", "d")}, "1-3 words"),
        (
            {
                "options": tuple(
                    Option(f"o{i}", OptionType.STRING, "x", required=False) for i in range(26)
                )
            },
            "at most 25",
        ),
        (
            {
                "options": (
                    Option("a", OptionType.STRING, "x", required=False),
                    Option("b", OptionType.STRING, "x"),
                )
            },
            "required options must come before",
        ),
    ],
)
def test_discord_limits_are_checked_when_a_command_is_defined(
    kwargs: dict[str, object], fragment: str
) -> None:
    with pytest.raises(SpecError, match=fragment):
        spec(**kwargs)


def test_option_limits() -> None:
    with pytest.raises(SpecError, match="description"):
        Option("x", OptionType.STRING, "d" * 101)
    with pytest.raises(SpecError, match="needs choices"):
        Option("x", OptionType.CHOICE, "d")


def test_registry_rejects_callbacks_that_do_not_match_their_options() -> None:
    async def wrong(ctx: Context, name: str) -> None:
        return None

    registry = Registry()
    with pytest.raises(SpecError, match="do not match"):
        registry.add(spec(callback=wrong))

    async def optional_without_default(ctx: Context, title: str, minutes: int) -> None:
        return None

    with pytest.raises(SpecError, match="has no default"):
        registry.add(spec(callback=optional_without_default))


def test_registry_rejects_a_path_that_is_both_command_and_group() -> None:
    registry = Registry()
    registry.add(spec())

    async def cb(ctx: Context) -> None:
        return None

    with pytest.raises(SpecError, match="both a command and a group"):
        registry.add(CommandSpec(path=("meeting",), description="x", callback=cb))
    with pytest.raises(SpecError, match="twice"):
        registry.add(spec())


def test_text_resolution_takes_the_longest_path_case_insensitively() -> None:
    registry = Registry()
    registry.add(spec())
    found = registry.resolve(["Meeting", "SCHEDULE", "Tuesday"])
    assert found is not None
    assert found.spec.path == ("meeting", "schedule")
    assert found.consumed == 2
    assert registry.resolve(["meetings"]) is None


def test_binding_positional_named_and_quoted_values() -> None:
    s = spec()
    assert bind_text(s, "Tuesday 45") == {"title": "Tuesday", "minutes": "45"}
    assert bind_text(s, 'title:"Tuesday group" minutes=90') == {
        "title": "Tuesday group",
        "minutes": "90",
    }
    assert bind_text(s, "minutes:30 'Late group'") == {"minutes": "30", "title": "Late group"}
    assert bind_text(s, "“Curly quotes”") == {"title": "Curly quotes"}
    only_text = spec(options=(Option("title", OptionType.STRING, "Title"),))
    assert bind_text(only_text, "'cause I can") == {"title": "'cause I can"}  # an apostrophe


def test_extra_words_flow_into_the_last_text_option() -> None:
    async def cb(ctx: Context, mood: int, text: str) -> None:
        return None

    s = CommandSpec(
        path=("journal", "write"),
        description="Write",
        options=(
            Option("mood", OptionType.INTEGER, "Mood"),
            Option("text", OptionType.STRING, "T"),
        ),
        callback=cb,
    )
    assert bind_text(s, "7 today  was: hard, but ok") == {
        "mood": "7",
        "text": "today  was: hard, but ok",
    }


def test_bad_command_lines_give_clear_errors() -> None:
    s = spec()
    with pytest.raises(ArgumentError, match="quote is not closed"):
        tokenize('"Tuesday group')
    with pytest.raises(ArgumentError, match="given twice"):
        bind_text(s, "title:a title:b")
    s_no_text = spec(
        options=(Option("minutes", OptionType.INTEGER, "Length"),),
        callback=_minutes_only,
    )
    with pytest.raises(ArgumentError, match=r"Unknown option `colour`\. Options: minutes"):
        bind_text(s_no_text, "colour=blue")
    with pytest.raises(ArgumentError, match="Too many values"):
        bind_text(s_no_text, "5 6")


async def _minutes_only(ctx: Context, minutes: int) -> None:
    return None
