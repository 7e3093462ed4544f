"""The console adapter in-process: timed deliveries on the virtual clock and files."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.adapters.console import ConsoleAdapter
from bot.clock import VirtualClock
from bot.core.message import Attachment, Message, When
from bot.outbox import Target
from tests.harness.app import AppFactory, make_config

CORE_ONLY = make_config(cogs={"enabled": ["general"]})  # no other cog's jobs on the clock

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def test_advance_delivers_due_messages_in_order_with_files(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    app = await app_factory(CORE_ONLY, clock=VirtualClock(START))
    out = io.StringIO()
    console = ConsoleAdapter(app, out=out, files_dir=tmp_path / "files")
    app.add_transport(console)
    await console.handle_line(":tz ana Asia/Kolkata")
    await app.outbox.enqueue(
        "k2",
        Target("console", "general"),
        Message.of("Second, at ", When(START + timedelta(hours=2), "time")),
        START + timedelta(hours=2),
    )
    await app.outbox.enqueue(
        "k1",
        Target("console", "console:ana", is_dm=True),
        Message.of("Your calendar", attachment=Attachment("circle.ics", b"BEGIN:VCALENDAR\n")),
        START + timedelta(hours=1),
    )
    await console.handle_line(":advance 3h")
    lines = out.getvalue().splitlines()
    assert lines[1:] == [
        "[dm ana] Your calendar",
        "[file circle.ics 16 bytes]",
        "[#general] Second, at 11:00 UTC",
        "[clock] now 2026-12-01 12:00 UTC (2 job(s) ran)",
    ]
    assert (tmp_path / "files" / "circle.ics").read_bytes() == b"BEGIN:VCALENDAR\n"


async def test_times_show_in_the_readers_zone(app_factory: AppFactory, tmp_path: Path) -> None:
    app = await app_factory(CORE_ONLY, clock=VirtualClock(START))
    out = io.StringIO()
    console = ConsoleAdapter(app, out=out, files_dir=tmp_path)
    app.add_transport(console)
    await console.handle_line(":tz ana Asia/Kolkata")
    message = Message.of("Starts ", When(START + timedelta(days=1)))
    await console.send(Target("console", "console:ana", is_dm=True), message, "a")
    await console.send(Target("console", "general"), message, "b")
    await console.send(Target("console", "general"), message, "b")  # same key: dropped
    text = out.getvalue()
    assert "[dm ana] Starts Wed 2 Dec 2026, 14:30 IST (in 1 day)" in text
    assert "[#general] Starts Wed 2 Dec 2026, 09:00 UTC (in 1 day)" in text
    assert text.count("[#general]") == 1


async def test_the_console_says_which_tier_each_name_types_with_and_how_to_change_it(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    app = await app_factory(CORE_ONLY, clock=VirtualClock(START))
    out = io.StringIO()
    console = ConsoleAdapter(app, out=out, files_dir=tmp_path, interactive=True)
    app.add_transport(console)
    await console.handle_line(":tier you")
    await console.handle_line("@ana !ping")
    await console.handle_line(":tier ana")
    await console.handle_line(":tier ana moderator")
    await console.handle_line(":tier ana")
    await console.handle_line("@ana !ping")  # told once, on first use
    await console.handle_line(":help")
    lines = out.getvalue().splitlines()
    assert lines[0] == "[console] you (plain lines, without @NAME) are a moderator"
    assert lines[1] == (
        "[console] ana joins as a member; `:tier ana moderator` (or facilitator) changes that."
    )
    assert "[console] ana is a member" in lines
    assert (
        lines.count(
            "[console] ana joins as a member; `:tier ana moderator` (or facilitator) changes that."
        )
        == 1
    )
    assert "[console] ana is a moderator" in lines
    assert "  @NAME text          act as NAME (new names start as members; see :tier)" in lines


async def test_the_console_greeting_names_the_typists_tier_and_the_members(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    app = await app_factory(CORE_ONLY, clock=VirtualClock(START))
    out = io.StringIO()
    console = ConsoleAdapter(app, out=out, files_dir=tmp_path, interactive=True)
    await console.run(asyncio.Event(), io.StringIO(":quit\n"))
    greeting = out.getvalue().splitlines()[0]
    assert "you are 'you', a moderator of 'Local circle'" in greeting
    assert "'@NAME text' speaks as NAME, who starts as a member" in greeting
    assert ":tier NAME moderator changes that" in greeting


async def test_console_directives_refuse_what_they_cannot_do_with_a_clear_line(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    app = await app_factory(CORE_ONLY, clock=VirtualClock(START))
    out = io.StringIO()
    console = ConsoleAdapter(app, out=out, files_dir=tmp_path)
    app.add_transport(console)
    for line in (
        ":advance 99999999d",  # past the last date a clock can show
        ":advance 99999999999999999999d",
        ":advance 101d",
        ":tier",
        ":tz",
        ":advance",
        ":tier me",
        ":tier @ME facilitator",
        "@me !ping",
        ":tier ana",
    ):
        assert await console.handle_line(line)
    lines = out.getvalue().splitlines()
    assert app.clock.now() == START  # nothing moved
    assert sum("at most 100 days" in line for line in lines) == 3
    assert any(line.startswith("[console] Usage: :tier NAME [TIER]") for line in lines)
    assert any(line.startswith("[console] Usage: :tz NAME ZONE") for line in lines)
    assert any(line.startswith("[console] Usage: :advance DURATION") for line in lines)
    assert "[console] you (plain lines, without @NAME) are a moderator" in lines
    assert "[console] you (plain lines, without @NAME) are now a facilitator" in lines
    assert "me" not in console.users  # "me" is the person at the terminal, not a new member
    assert "[console] ana is a member" in lines
    await console.handle_line(":advance 100d")
    assert app.clock.now() == START + timedelta(days=100)


async def test_a_journal_entry_typed_in_the_channel_shows_removed_there(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    """The console's #general is a simulated shared channel: an entry typed there is saved,
    the channel shows the message removed, and the words appear only privately."""
    config = make_config(cogs={"enabled": ["general", "journal"]})
    app = await app_factory(config, clock=VirtualClock(START), fast_typing=True)
    out = io.StringIO()
    console = ConsoleAdapter(app, out=out, files_dir=tmp_path)
    app.add_transport(console)
    await console.handle_line("@ana !journal write I relapsed last night and feel awful")
    lines = out.getvalue().splitlines()
    assert "[#general] (a message by ana was removed)" in lines
    private = [line for line in lines if line.startswith("[#general, private to ana]")]
    assert any("Saved privately" in line for line in private), lines
    assert any("I removed your message from #general" in line for line in private), lines
    public = [line for line in lines if line.startswith("[#general]")]
    assert not any("relapsed" in line for line in public), public
