"""Every registered command on Discord: a private command never shows a public "thinking".

The sweep runs each command of every cog through discord.py's real client against the stand-in,
with the automatic acknowledgement forced to happen before any answer, as it does when the work
takes longer than Discord's window. A command whose answers only the member sees must
acknowledge privately; a command that answers privately without declaring it is reported by the
core and fails the sweep, so a command added later is covered without editing this file.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from bot.adapters.discord import DiscordAdapter
from bot.clock import VirtualClock
from bot.core.commands import CommandSpec, Option, OptionType
from bot.core.dispatch import Incoming
from bot.core.permissions import Scope
from cogs.journal.models import JournalEntry
from cogs.worksheets.cog import WorksheetsCog
from tests.harness.app import AppFactory, make_config
from tests.harness.discord import MANAGE_MESSAGES, DiscordStandin, StandinAttachment

pytestmark = pytest.mark.e2e

EPHEMERAL = 64
DEFERRED = 5
COMMAND = 2


def flags(callback: dict[str, Any]) -> int:
    """The message flags of an interaction callback (0 when it sets none)."""
    return int((callback.get("data") or {}).get("flags") or 0)


async def sample(standin: DiscordStandin, slash: str, option: Option, user: Any, dm: bool) -> Any:
    """A value of the option's type, the first autocomplete suggestion where there is one
    (`slash`: the command as typed on Discord)."""
    if option.choices:
        return option.choices[0].value
    if option.autocomplete:
        sent = await standin.send_autocomplete(
            slash, {option.name: ""}, option.name, user=user, dm=dm
        )
        answer = await standin.wait_for_interaction_response(sent.id)
        choices = answer["data"]["choices"]
        if choices:
            return choices[0]["value"]
    return {
        OptionType.INTEGER: int(option.min_value or 1),
        OptionType.NUMBER: float(option.min_value or 1),
        OptionType.BOOLEAN: True,
        OptionType.USER: standin.state.user_named("bob"),
        OptionType.CHANNEL: standin.state.channel_named("general"),
        OptionType.DATETIME: "2030-01-07 19:00",
        OptionType.DURATION: "60",
        OptionType.ATTACHMENT: StandinAttachment("sample.txt", b"sample"),
    }.get(option.type, "1")


async def test_every_private_command_acknowledges_privately(
    discord_standin: DiscordStandin, app_factory: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    standin = discord_standin
    # the sweep is one fast member
    app = await app_factory(clock=VirtualClock(datetime.now(UTC)), fast_typing=True)
    # Every command runs long: it starts only once the automatic acknowledgement went out.
    adapter = DiscordAdapter(app, guild_ready_timeout=0.05, ack_after=0)
    run = app.dispatcher.run

    async def run_after_acknowledgement(
        incoming: Incoming, spec: CommandSpec, raw: str | Mapping[str, Any]
    ) -> None:
        commands = (r for r in standin.state.interactions.values() if r.type == COMMAND)
        current = max(commands, key=lambda r: r.id)  # the sweep sends one at a time
        await standin.wait_for(lambda: current.callbacks)
        await run(incoming, spec, raw)

    app.dispatcher.run = run_after_acknowledgement  # type: ignore[method-assign]
    owner = standin.state.user_named("owner")
    worksheets = app.cogs["worksheets"]
    assert isinstance(worksheets, WorksheetsCog)
    # Something in the toolbox, so `toolbox view|edit|export 1` reach their answers.
    await worksheets.toolbox.save(f"discord:{owner.id}", "cba", {"behaviour": "late nights"})
    specs = sorted(app.registry.specs, key=lambda s: s.name)
    first: dict[str, dict[str, Any]] = {}
    caplog.set_level(logging.ERROR, logger="circlebot.commands")
    async with standin.client_running(adapter.client):
        for spec in specs:
            dm = spec.scope is Scope.DM
            slash = " ".join(adapter.command_words(spec.path))
            options = {
                o.name: await sample(standin, slash, o, owner, dm)
                for o in spec.options
                if o.required
            }
            sent = await standin.send_command(slash, options, user=owner, dm=dm)
            first[spec.name] = await standin.wait_for_interaction_response(sent.id)
            if first[spec.name]["type"] == DEFERRED:  # wait until the answer replaced it
                done = rf"/webhooks/\d+/{re.escape(sent.token)}/messages/@original"
                await standin.wait_for(
                    lambda done=done: (
                        standin.requests("PATCH", done) or standin.requests("DELETE", done)
                    ),
                    timeout=5.0,
                )
        # A liveness bound: posts into one channel wait out its bucket (5 per 5 s) as on Discord.
        assert await app.dispatcher.drain(15.0)
    undeclared = [r.getMessage() for r in caplog.records if "answered privately" in r.message]
    assert undeclared == []
    private = [s for s in specs if s.private and s.scope is not Scope.DM]
    assert {s.name for s in private} >= {
        "help",
        "me setup",
        "toolbox edit",
        "worksheet resume",
        "worksheet start",
    }
    for spec in private:
        assert first[spec.name]["type"] == DEFERRED, spec.name
        assert flags(first[spec.name]) & EPHEMERAL, spec.name
    public = [s for s in specs if not s.private]
    assert public, "the sweep should also see commands that answer in the channel"
    for spec in public:
        assert not flags(first[spec.name]) & EPHEMERAL, spec.name
    assert standin.violations == []


async def test_private_words_in_a_slash_command_show_nothing_in_the_channel(
    discord_standin: DiscordStandin, app_factory: AppFactory
) -> None:
    """A slash command's options are never a message in the channel; with every answer
    ephemeral, the words declared `private_text` reach nobody else, and there is nothing the
    bot needs to delete (nor a note about it)."""
    standin = discord_standin
    app = await app_factory(clock=VirtualClock(datetime.now(UTC)), fast_typing=True)
    adapter = DiscordAdapter(app, guild_ready_timeout=0.05)
    alice = standin.state.user_named("alice")
    general = standin.state.channel_named("general")
    words = "I relapsed last night and feel awful"
    specs = [s for s in app.registry.specs if s.private_options]
    assert {s.name for s in specs} >= {"journal write", "journal edit", "group write"}
    answers: dict[str, dict[str, Any]] = {}
    async with standin.client_running(adapter.client):
        for spec in specs:
            slash = " ".join(adapter.command_words(spec.path))
            options: dict[str, Any] = {o.name: words for o in spec.private_options}
            for o in spec.options:
                if o.required and o.name not in options:
                    options[o.name] = 6 if o.type is OptionType.INTEGER else "zzzzzz"
            sent = await standin.send_command(slash, options, user=alice, channel=general)
            answers[spec.name] = await standin.wait_for_interaction_response(sent.id)
        assert await app.dispatcher.drain(15.0)
    for name, answer in answers.items():
        assert flags(answer) & EPHEMERAL, name
        assert "I removed your message" not in str(answer), name
    shown = [
        m["content"]
        for m in standin.state.bot_messages(general)
        if not int(m.get("flags") or 0) & EPHEMERAL
    ]
    assert not any("relapsed" in text for text in shown), shown
    assert standin.requests("DELETE", r"/channels/\d+/messages/\d+") == []
    assert standin.violations == []


async def test_private_words_typed_as_a_plain_message_are_deleted_or_the_member_told(
    discord_standin: DiscordStandin, app_factory: AppFactory
) -> None:
    """`/journal write ...` sent as text (the command list closed unchosen) is no command on
    Discord, but with the Message Content intent the bot reads it: the message is deleted when
    the bot has Manage Messages, nothing of it is kept, and the member learns why in the DM;
    without the permission they learn it is still there and how to delete it."""
    standin = discord_standin
    config = make_config(discord={"message_content": True})
    app = await app_factory(config, clock=VirtualClock(datetime.now(UTC)), fast_typing=True)
    adapter = DiscordAdapter(app, guild_ready_timeout=0.05)
    state = standin.state
    alice, general = state.user_named("alice"), state.channel_named("general")
    dm = state.dm_channel_for(alice)
    first = "/journal write I relapsed last night and feel awful"
    second = "/journal write Called my sponsor at two in the morning"
    async with standin.client_running(adapter.client):
        typed = await standin.send_message_create(general, alice, first)
        removed = (await wait_for_bot_messages(standin, dm, 1))[-1]["content"]
        state.role_named(standin.guild, "CircleBot").permissions &= ~MANAGE_MESSAGES
        kept = await standin.send_message_create(general, alice, second)
        still = (await wait_for_bot_messages(standin, dm, 2))[-1]["content"]
    deleted = [int(m["id"]) for m in state.deleted_messages]
    assert int(typed["id"]) in deleted and int(kept["id"]) not in deleted
    assert "I did not run `/journal write`" in removed
    assert "I removed your message from #general" in removed
    assert "still there for others to read" in still and "Manage Messages" in still
    assert "Delete Message" in still
    for text in (removed, still):
        assert "relapsed" not in text and "sponsor" not in text
    assert state.bot_messages(general) == []
    async with app.db.sessions() as session:
        assert (await session.scalars(select(JournalEntry))).all() == []
    assert standin.violations == []


async def wait_for_bot_messages(
    standin: DiscordStandin, channel: Any, count: int
) -> list[dict[str, Any]]:
    """The bot's messages in `channel` once there are at least `count`."""
    return await standin.wait_for(  # type: ignore[no-any-return]
        lambda: (m := standin.state.bot_messages(channel)) and len(m) >= count and m
    )
