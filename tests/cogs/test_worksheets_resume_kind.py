"""`!worksheet resume` continues a worksheet, never another kind of paused dialogue.

Found in a newcomer pass through the console: a member paused DISARM, later paused a journal
entry in DMs, then typed `!worksheet resume` and was welcomed back to the journal entry; the
words they then sent for the worksheet were saved into their journal.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.clock import VirtualClock
from tests.harness.app import AppFactory

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def test_worksheet_resume_continues_the_paused_worksheet_not_a_journal_entry(
    app_factory: AppFactory,
) -> None:
    clock = VirtualClock(START)
    _app, fake = await app_factory.on_platform(
        ["general", "worksheets", "journal"], clock=clock, fast_typing=True
    )
    await fake.say("ana", "!worksheet start disarm")
    await fake.say("ana", "The Beast", dm=True)
    await fake.say("ana", "pause", dm=True)
    clock.advance(timedelta(hours=1))
    await fake.say("ana", "!journal write", dm=True)
    await fake.say("ana", "a first line", dm=True)
    await fake.say("ana", "pause", dm=True)
    clock.advance(timedelta(hours=1))
    said = " ".join(s.text for s in await fake.say("ana", "!worksheet resume"))
    assert "DISARM" in said, said
    assert "journal entry" not in said, said
