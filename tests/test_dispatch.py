"""Dispatch as a member meets it: tiers, scopes, bad input, failures, rate limits, logs."""

from __future__ import annotations

import logging

import discord
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters.discord.commands import build_tree
from bot.cli import quiet_libraries
from bot.core.commands import CommandSpec, Option, OptionType
from bot.core.context import Context
from bot.core.permissions import Scope, Tier
from bot.core.registry import Registry, fold_word
from tests.harness.app import AppFactory, make_config
from tests.harness.discord import NoHandler
from tests.harness.platform import FakePlatform


async def platform_with_test_commands(app_factory: AppFactory, **config: object) -> FakePlatform:
    app = await app_factory(make_config(**config) if config else None)
    calls: list[tuple[str, object]] = []

    async def remove(ctx: Context, entry: int) -> None:
        calls.append(("remove", entry))
        await ctx.reply(f"removed {entry}")

    async def note(ctx: Context, text: str) -> None:
        calls.append(("note", len(text)))
        await ctx.reply("noted", ephemeral=True)

    async def boom(ctx: Context) -> None:
        raise RuntimeError("secret internals")

    async def dm_only(ctx: Context) -> None:
        await ctx.reply("private")

    app.registry.add(
        CommandSpec(
            path=("entry", "remove"),
            description="Remove an entry",
            tier=Tier.MODERATOR,
            scope=Scope.COMMUNITY,
            options=(Option("entry", OptionType.INTEGER, "Entry id", min_value=1),),
            callback=remove,
            cog="test",
        )
    )
    app.registry.add(
        CommandSpec(
            path=("note",),
            description="Write a note",
            options=(Option("text", OptionType.STRING, "What to write", max_length=2000),),
            callback=note,
            cog="test",
        )
    )
    app.registry.add(CommandSpec(path=("boom",), description="Fails", callback=boom, cog="test"))
    app.registry.add(
        CommandSpec(
            path=("secret",), description="DM only", scope=Scope.DM, callback=dm_only, cog="test"
        )
    )
    fake = FakePlatform(app)
    app.add_transport(fake)
    fake.calls = calls  # type: ignore[attr-defined]
    return fake


async def test_members_are_refused_moderator_commands_and_nothing_runs(
    app_factory: AppFactory,
) -> None:
    fake = await platform_with_test_commands(app_factory)
    fake.actor("mod", Tier.MODERATOR)
    said = await fake.say("ana", "!entry remove 3")
    assert [s.where for s in said] == ["ephemeral"]
    assert "Only a moderator can use `entry remove`" in said[0].text
    assert fake.calls == []  # type: ignore[attr-defined]
    said = await fake.say("mod", "!entry remove 3")
    assert said[0].text == "removed 3"
    assert fake.calls == [("remove", 3)]  # type: ignore[attr-defined]


async def test_scope_rules(app_factory: AppFactory) -> None:
    fake = await platform_with_test_commands(app_factory)
    fake.actor("mod", Tier.MODERATOR)
    said = await fake.say("mod", "!entry remove 3", dm=True)
    assert "works in a community channel" in said[0].text
    said = await fake.say("ana", "!secret")
    assert "works in a direct message" in said[0].text
    said = await fake.say("ana", "!secret", dm=True)
    assert said[0].text == "private"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("!entry remove three", "The `entry` option takes a whole number, not `three`."),
        ("!entry remove 0", "The `entry` option must be at least 1."),
        ("!entry remove", "`entry remove` is missing `entry:`"),
        ("!entry remove 3 4", "Too many values"),
        ("!entry remove entry=3 colour=red", "Unknown option `colour`"),
        ('!note "unclosed', "A quote is not closed"),
        ("!entri remove 3", "I don't know the command `entri`. Did you mean `!entry`?"),
    ],
)
async def test_bad_input_gets_one_clear_private_message(
    app_factory: AppFactory, line: str, expected: str
) -> None:
    fake = await platform_with_test_commands(app_factory)
    fake.actor("mod", Tier.MODERATOR)
    said = await fake.say("mod", line)
    assert len(said) == 1
    assert said[0].where == "ephemeral"
    assert expected in said[0].text
    assert fake.calls == []  # type: ignore[attr-defined]


async def test_a_ten_thousand_character_argument_is_refused_with_the_limit(
    app_factory: AppFactory,
) -> None:
    fake = await platform_with_test_commands(app_factory)
    said = await fake.say("ana", "!note " + "x" * 10_000)
    assert "The `text` option is too long (10000 characters; the limit is 2000)." in said[0].text
    assert fake.calls == []  # type: ignore[attr-defined]


async def test_unexpected_errors_become_an_apology_with_an_error_id_in_the_log(
    app_factory: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    fake = await platform_with_test_commands(app_factory)
    with caplog.at_level(logging.INFO, logger="circlebot"):
        said = await fake.say("ana", "!boom")
    assert len(said) == 1
    assert "something went wrong on my side" in said[0].text
    assert "secret internals" not in said[0].text
    error_id = said[0].text.split("error id `")[1].split("`")[0]
    assert any(error_id in r.getMessage() and r.exc_info for r in caplog.records)


async def test_rate_limit_slows_a_flooding_member_but_not_others(app_factory: AppFactory) -> None:
    fake = await platform_with_test_commands(
        app_factory, bot={"rate_limit": {"commands": 3, "per_seconds": 60}}
    )
    replies = [(await fake.say("ana", "!ping"))[0].text for _ in range(4)]
    assert replies[:3] == ["pong"] * 3
    assert "slow down" in replies[3]
    assert (await fake.say("ben", "!ping"))[0].text == "pong"


async def test_command_logs_never_contain_what_members_wrote(
    app_factory: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    canary = "CANARY-my-private-journal-line-7f3a"
    fake = await platform_with_test_commands(app_factory)
    quiet_libraries()  # what `circlebot -v` does too
    with caplog.at_level(logging.DEBUG):
        await fake.say("ana", f"!note {canary}")
        await fake.say("ana", f"!entry remove {canary}")
        await fake.say("ana", f"!me name {canary[:30]}")
        await fake.say("ana", canary, dm=True)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "cmd=note" in text and "outcome=ok" in text
    assert canary not in text
    assert canary[:30] not in text
    assert "ana" not in text.split("cmd=note")[1].split("\n")[0]


async def test_owner_from_config_may_run_everything(app_factory: AppFactory) -> None:
    fake = await platform_with_test_commands(app_factory, bot={"owners": ["fake:boss"]})
    said = await fake.say("boss", "!entry remove 2")
    assert said[0].text == "removed 2"


async def test_help_lists_only_what_the_tier_allows(app_factory: AppFactory) -> None:
    fake = await platform_with_test_commands(app_factory)
    fake.actor("mod", Tier.MODERATOR)
    member_help = (await fake.say("ana", "!help"))[0].text
    mod_help = (await fake.say("mod", "!help"))[0].text
    assert "!me timezone" in member_help and "!entry remove" not in member_help
    assert "!entry remove" in mod_help
    detail = (await fake.say("ana", "!help me timezone"))[0].text
    assert "!me timezone <zone>" in detail
    assert "a city or your country" in detail
    hidden = (await fake.say("ana", "!help entry remove"))[0].text
    assert "no command `entry remove` that you can use" in hidden


async def test_plain_channel_chat_is_not_read(app_factory: AppFactory) -> None:
    fake = await platform_with_test_commands(app_factory)
    assert await fake.say("ana", "just chatting, !not a command?") == []
    assert await fake.say("ana", "! spaced") == []
    assert await fake.say("ana", "!otherbot do something") == []
    said = await fake.say("ana", "!otherbot do something", dm=True)
    assert "I don't know the command `otherbot`" in said[0].text


async def test_buttons_route_by_prefix_and_unknown_ids_are_refused(
    app_factory: AppFactory,
) -> None:
    from bot.core.errors import UserError

    fake = await platform_with_test_commands(app_factory)
    pressed: list[str] = []

    async def vote(ctx: Context, action_id: str) -> bool:
        if action_id.endswith(":stale"):
            return False
        if action_id.endswith(":closed"):
            raise UserError("Voting has closed.")
        pressed.append(f"{ctx.actor.id}:{action_id}")
        await ctx.reply("counted", ephemeral=True)
        return True

    fake.app.dispatcher.register_action("vote", vote)
    with pytest.raises(ValueError, match="taken"):
        fake.app.dispatcher.register_action("conv", vote)
    await fake.app.dispatcher.handle_action(fake.incoming("ana"), "vote:1:yes")
    assert fake.said[-1].text == "counted"
    for forged in ("vote:1:stale", "nothing:here", "x" * 5000):
        await fake.app.dispatcher.handle_action(fake.incoming("ana"), forged)
        assert fake.said[-1].text == "That button is no longer active."
    await fake.app.dispatcher.handle_action(fake.incoming("ana"), "vote:1:closed")
    assert fake.said[-1].text == "Voting has closed."
    assert pressed == ["ana:vote:1:yes"]


async def test_an_undeclared_private_answer_is_reported_and_refusals_are_not(
    app_factory: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """The rule behind private acknowledgements: a command answering privately declares it."""
    fake = await platform_with_test_commands(app_factory)
    caplog.set_level(logging.ERROR, logger="circlebot.commands")
    said = await fake.say("ana", "!note hello")
    assert [s.where for s in said] == ["ephemeral"]  # the member still gets the answer
    reported = [r.getMessage() for r in caplog.records if "answered privately" in r.message]
    assert reported == [
        "command note answered privately but its spec does not declare ephemeral=True or dm=True"
    ]
    caplog.clear()
    said = await fake.say("ana", "!entry remove 3")  # refused privately: not an answer
    assert [s.where for s in said] == ["ephemeral"]
    assert not [r for r in caplog.records if "answered privately" in r.message]
    assert CommandSpec(("x",), "x", dm=True).private
    assert CommandSpec(("x",), "x", scope=Scope.DM).private
    assert not CommandSpec(("x",), "x").private


@pytest.mark.parametrize(
    "line", ["!me tz UK", "!me zone UK", "!me time zone UK", "!me TZ uk", "!me Time-Zone UK"]
)
async def test_the_words_people_use_for_time_zone_set_it(
    app_factory: AppFactory, line: str
) -> None:
    fake = await platform_with_test_commands(app_factory)
    said = (await fake.say("ana", line))[0].text
    assert said.startswith("Your time zone is now Europe/London."), said
    assert "Europe/London" in (await fake.say("ana", "!me"))[0].text


@pytest.mark.parametrize("line", ["!me blah", "!me tz-uk", "!me timezon UK", "!me 🙂"])
async def test_an_unknown_me_command_names_the_valid_ones_instead_of_showing_the_profile(
    app_factory: AppFactory, line: str
) -> None:
    fake = await platform_with_test_commands(app_factory)
    said = (await fake.say("ana", line))[0].text
    assert "is not a command." in said, said
    assert "The `!me` commands are: " in said and "timezone" in said and "show" in said, said
    assert "Time zone:" not in said and "Too many values" not in said, said
    if "timezon " in line:
        assert "Did you mean `!me timezone`?" in said, said


async def _noop(ctx: Context, page: int = 1) -> None:
    return None


def _me_like_registry() -> Registry:
    registry = Registry()
    registry.add(CommandSpec(("me", "show"), "Show", text_default=True, callback=_noop_plain))
    registry.add(
        CommandSpec(
            ("me", "timezone"),
            "Zone",
            aliases=(("me", "tz"), ("me", "zone"), ("me", "time-zone")),
            callback=_noop_plain,
        )
    )
    registry.add(
        CommandSpec(
            ("toolbox", "list"),
            "List",
            options=(Option("page", OptionType.INTEGER, "Page", required=False),),
            text_default=True,
            callback=_noop,
        )
    )
    return registry


async def _noop_plain(ctx: Context) -> None:
    return None


@settings(max_examples=300, deadline=None)
@given(word=st.text(st.characters(categories=("L", "N", "P", "S")), min_size=1, max_size=12))
def test_a_word_after_a_group_is_never_read_as_its_default_command_without_options(
    word: str,
) -> None:
    """`!me WORD`: a subcommand or alias of `me` runs it; any other word is unknown (None,
    answered by the dispatcher with the valid names), never `me show` with a stray value.
    A default command that takes a value (`!toolbox 2`) still takes it."""
    registry = _me_like_registry()
    found = registry.resolve(["me", *word.split()])
    known = {"show": ("me", "show")} | {
        w: ("me", "timezone") for w in ("timezone", "tz", "zone", "time-zone")
    }
    first = fold_word(word.split()[0]) if word.split() else ""
    if not word.split():
        assert found is not None and found.spec.path == ("me", "show")
    elif first in known:
        assert found is not None and found.spec.path == known[first]
    elif found is not None:  # only a hyphenated alias typed as two words (`time zone`)
        assert found.spec.path == ("me", "timezone") and found.consumed == 3
    page = registry.resolve(["toolbox", *word.split()])
    assert page is not None and page.spec.path == ("toolbox", "list")


def test_the_time_zone_aliases_add_no_slash_command_on_discord() -> None:
    client = discord.Client(intents=discord.Intents.none())
    specs = _me_like_registry().specs
    tree = build_tree(client, specs, NoHandler(), lambda group: "Commands")
    me = next(c for c in tree.get_commands() if c.name == "me").to_dict(tree)
    assert sorted(o["name"] for o in me["options"]) == ["show", "timezone"]
    assert sorted(c.name for c in tree.get_commands()) == ["me", "toolbox"]
