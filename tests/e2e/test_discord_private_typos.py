"""A slightly mistyped private command sent as plain text on Discord (`/journl write I
relapsed last night`, `/journal wrte ...`, `/journal write: ...`), through discord.py's real
client against the stand-in.

Only the exact spelling was recognised: the bot deleted `/journal write I relapsed...` and told
the member privately, but a near miss of the same command left the member's words in the
channel for everyone, and the member was told nothing. A near miss of a command whose words
are the member's own (`Option.private_text`) is now treated as that command: the message is
deleted (or the member told it could not be), the answer is private, nothing is kept.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.adapters.discord import DiscordAdapter
from bot.app import App
from bot.clock import VirtualClock
from bot.core.commands import CommandSpec
from cogs.journal.models import JournalEntry
from tests.harness.app import AppFactory, make_config
from tests.harness.discord import MANAGE_MESSAGES, DiscordStandin
from tests.harness.private_text import WORDS, line_for, mistyped

pytestmark = pytest.mark.e2e

PROPERTY = settings(
    max_examples=8,
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
REMOVED = "I removed your message from #general"
STILL_THERE = "still there for others to read"


Running = tuple[DiscordStandin, App]


@pytest_asyncio.fixture
async def running(
    discord_standin: DiscordStandin, app_factory: AppFactory
) -> AsyncIterator[Running]:
    """Every cog on Discord with the Message Content intent, the client connected."""
    config = make_config(discord={"message_content": True})
    app = await app_factory(config, clock=VirtualClock(datetime.now(UTC)), fast_typing=True)
    adapter = DiscordAdapter(app, guild_ready_timeout=0.05)
    async with discord_standin.client_running(adapter.client):
        yield discord_standin, app


async def post(
    standin: DiscordStandin, line: str, wait: float = 10.0
) -> tuple[dict[str, Any], str | None]:
    """alice posts `line` in #general: (the message, the bot's new DM to her, or None when
    none came within `wait` seconds)."""
    state = standin.state
    alice, general = state.user_named("alice"), state.channel_named("general")
    dm = state.dm_channel_for(alice)
    before = len(state.bot_messages(dm))
    typed = await standin.send_message_create(general, alice, line)
    try:
        told = await standin.wait_for(
            lambda: (m := state.bot_messages(dm)) and len(m) > before and m[-1]["content"],
            timeout=wait,
        )
    except TimeoutError:
        told = None
    return typed, told


def deleted(standin: DiscordStandin, message: dict[str, Any]) -> bool:
    return int(message["id"]) in [int(m["id"]) for m in standin.state.deleted_messages]


@pytest.mark.parametrize(
    ("line", "meant"),
    [
        ("/journl write I relapsed last night and feel awful", "/journal write"),
        ("/journal wrte I relapsed last night and feel awful", "/journal write"),
        ("/journal write: I relapsed last night and feel awful", "/journal write"),
        ("/Journal Writ I relapsed last night and feel awful", "/journal write"),
        ("/grup write Tuesday I relapsed last night and feel awful", "/group write"),
        ("/urge lg 7 after the party; I relapsed and feel awful", "/urge log"),
    ],
)
async def test_a_mistyped_private_command_is_deleted_and_the_member_told_privately(
    running: Running, line: str, meant: str
) -> None:
    standin, app = running
    typed, told = await post(standin, line)
    assert deleted(standin, typed), line
    assert told is not None and REMOVED in told, told
    assert f"I did not run `{meant}`" in told, told
    assert "relapsed" not in told
    assert standin.state.bot_messages(standin.state.channel_named("general")) == []
    async with app.db.sessions() as session:
        assert (await session.scalars(select(JournalEntry))).all() == []
    assert standin.violations == []


@pytest.mark.parametrize(
    "line",
    [
        "/journal reed zzzzzz",  # another journal command, carrying no words of one's own
        "/jurnal list",
        "/journal wrte",  # the private command meant, but no words after it
        "/journey write down your plans",  # no command of the bot's
        "/ journal writ large, it felt",  # an English word after a loose prefix: chat
    ],
)
async def test_other_typos_stay_and_get_no_answer(running: Running, line: str) -> None:
    standin, _app = running
    typed, told = await post(standin, line, wait=1.0)
    assert not deleted(standin, typed) and told is None, (line, told)


def private_commands(app: App) -> list[CommandSpec]:
    return [spec for spec in app.registry.specs if spec.private_options]


@PROPERTY
@given(data=st.data())
async def test_no_mistyped_private_command_leaves_the_words_in_the_channel(
    running: Running, data: st.DataObject
) -> None:
    """Every private command, each word of its name mistyped in turn (a letter left off, two
    swapped, a colon after), with and without the permission to delete."""
    standin, app = running
    bot_role = standin.state.role_named(standin.guild, "CircleBot")
    for spec in private_commands(app):
        words = data.draw(WORDS, label=spec.name)
        at = data.draw(st.sampled_from(range(len(spec.path))), label="which word")
        how = data.draw(st.sampled_from(("short", "swapped", "colon")), label="how")
        may_delete = data.draw(st.booleans(), label="may delete")
        path = list(spec.path)
        path[at] = mistyped(path[at], how)
        line = "/" + " ".join(path) + line_for(spec, words).removeprefix("!" + spec.name)
        if may_delete:
            bot_role.permissions |= MANAGE_MESSAGES
        else:
            bot_role.permissions &= ~MANAGE_MESSAGES
        typed, told = await post(standin, line)
        assert told is not None, line
        if may_delete:
            assert deleted(standin, typed) and REMOVED in told, (line, told)
        else:
            assert not deleted(standin, typed) and STILL_THERE in told, (line, told)
        assert not any(word in told for word in words.split()), (line, told)
    bot_role.permissions |= MANAGE_MESSAGES
    assert standin.state.bot_messages(standin.state.channel_named("general")) == []


@pytest.mark.parametrize(
    "line",
    [
        "/journalwrite I relapsed last night and feel awful",  # the space left out
        "/journal-write I relapsed last night and feel awful",
        "/groupwrite Tuesday I relapsed last night and feel awful",
        "@CircleBot /journal write I relapsed last night and feel awful",  # a mention first
        "<@1> /journal write I relapsed last night and feel awful",
    ],
)
async def test_a_glued_or_mentioned_private_command_is_not_left_in_the_channel(
    running: Running, line: str
) -> None:
    """The member's words stayed in the channel and the member was told nothing."""
    standin, _app = running
    typed, told = await post(standin, line, wait=3.0)
    assert deleted(standin, typed), line
    assert told is not None and REMOVED in told and "relapsed" not in told, told
