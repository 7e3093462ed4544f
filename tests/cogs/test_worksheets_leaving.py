"""Leaving a worksheet or a journal entry loses nothing the member wrote, as a newcomer found.

`cancel` sent in reply to a meeting reminder threw a paused worksheet away unasked ("Cancelled.
Nothing from it was kept."); `stop`, `quit` and `exit`, typed to leave, were saved as private
answers and showed in `!toolbox view` and `!mydata export`; `!worksheet resume cba` said "Too
many values"; `!worksheet start cost benefit` suggested nothing. The class is proved by
tests/test_dialogue_model.py; these are the cases as a newcomer typed them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.app import App
from bot.clock import VirtualClock
from bot.core import Tier
from tests.harness.app import AppFactory
from tests.harness.platform import FakePlatform

START = datetime(2026, 12, 1, 18, 30, tzinfo=UTC)


async def open_app(app_factory: AppFactory) -> tuple[App, FakePlatform]:
    return await app_factory.on_platform(
        ["general", "meetings", "worksheets", "journal", "privacy"],
        actors={"fay": Tier.FACILITATOR},
        clock=VirtualClock(START),
    )


async def test_cancel_after_a_meeting_reminder_asks_before_deleting_a_paused_worksheet(
    app_factory: AppFactory,
) -> None:
    app, fake = await open_app(app_factory)
    await fake.say("fay", '!meeting schedule "Tue circle" "today 19:00" 1h')
    await fake.say("ana", "!meeting rsvp 1 reminder:yes")
    await fake.say("ana", "!worksheet start cba")
    await fake.say("ana", "alcohol", dm=True)
    await fake.say("ana", "it calms me down after long shifts", dm=True)
    await fake.say("ana", "pause", dm=True)
    await app.scheduler.advance(timedelta(minutes=16))
    assert "Tue circle" in fake.said[-1].text and fake.said[-1].where == "dm"  # the reminder
    said = await fake.say("ana", "cancel", dm=True)
    assert said[0].text == (
        "Cancel your paused **Cost-benefit analysis** (2 answers)? Its answers would be "
        "deleted. Reply `yes` to cancel it, or `resume` to go on."
    )
    said = await fake.say("ana", "resume", dm=True)
    assert "Welcome back to **Cost-benefit analysis**" in said[0].text
    assert "it calms me down after long shifts" in said[1].text  # nothing went
    await fake.say("ana", "pause", dm=True)
    await fake.say("ana", "Cancel!", dm=True)
    said = await fake.say("ana", "Yes.", dm=True)
    assert said[0].text == "Cancelled **Cost-benefit analysis**; its 2 answers were deleted."
    assert await app.dialogues.current("fake:ana", "paused") is None


async def test_a_yes_long_after_the_question_or_after_moving_on_deletes_nothing(
    app_factory: AppFactory,
) -> None:
    app, fake = await open_app(app_factory)
    await fake.say("ana", "!worksheet start cba")
    await fake.say("ana", "alcohol", dm=True)
    await fake.say("ana", "pause", dm=True)
    await fake.say("ana", "cancel", dm=True)
    await fake.say("ana", "see you at the meeting", dm=True)  # not the answer to the question
    said = await fake.say("ana", "yes", dm=True)
    assert "paused dialogue (**Cost-benefit analysis**, 1 answer kept)" in said[0].text
    await fake.say("ana", "cancel", dm=True)
    await app.scheduler.advance(timedelta(hours=1))
    said = await fake.say("ana", "yes", dm=True)  # the question has lapsed
    assert "1 answer kept" in said[0].text
    assert await app.dialogues.current("fake:ana", "paused") is not None


async def test_words_to_leave_pause_and_are_never_saved_unless_quoted(
    app_factory: AppFactory,
) -> None:
    _app, fake = await open_app(app_factory)
    await fake.say("ana", "!worksheet start cba")
    await fake.say("ana", "alcohol", dm=True)
    for word in ("stop", "QUIT", "exit.", "Nevermind!", "beenden", "sair"):
        said = await fake.say("ana", word, dm=True)
        assert said[0].text.startswith("Paused **Cost-benefit analysis** (1 answer kept)."), word
        assert "`resume`" in said[0].text and "`cancel`" in said[0].text, word
        await fake.say("ana", "resume", dm=True)
    said = await fake.say("ana", "help", dm=True)
    assert 'put it in quotes: "stop"' in said[0].text
    await fake.say("ana", '"stop"', dm=True)  # a real answer: it is quoted
    await fake.say("ana", "done", dm=True)
    while await fake.app.dialogues.current("fake:ana") is not None:
        await fake.say("ana", "skip", dm=True)
        await fake.say("ana", "an answer", dm=True)
        await fake.say("ana", "done", dm=True)
    shown = (await fake.say("ana", "!toolbox view 1"))[0].text
    assert '"stop"' in shown
    for word in ("QUIT", "exit", "Nevermind", "beenden", "sair"):
        assert word not in shown, word


async def test_a_word_to_leave_in_a_journal_entry_pauses_it(app_factory: AppFactory) -> None:
    app, fake = await open_app(app_factory)
    await fake.say("ana", "!journal write")
    await fake.say("ana", "a hard day at work", dm=True)
    said = await fake.say("ana", "Exit", dm=True)
    assert said[0].text.startswith("Paused **a journal entry** (1 answer kept).")
    await fake.say("ana", "resume", dm=True)
    await fake.say("ana", "done", dm=True)
    while await app.dialogues.current("fake:ana") is not None:
        await fake.say("ana", "skip", dm=True)
    exported = b"".join(
        s.message.attachment.data
        for s in await fake.say("ana", "!mydata export")
        if s.message.attachment
    ).decode()
    assert "a hard day at work" in exported and "Exit" not in exported


async def test_worksheet_resume_takes_a_name_and_start_suggests_a_close_title(
    app_factory: AppFactory,
) -> None:
    _app, fake = await open_app(app_factory)
    said = await fake.say("ana", "!worksheet start cost benefit")
    assert "Did you mean `cba` (Cost-benefit analysis)?" in said[0].text
    await fake.say("ana", "!worksheet start disarm")
    await fake.say("ana", "The Beast", dm=True)
    await fake.say("ana", "pause", dm=True)
    said = await fake.say("ana", "!worksheet resume cba")
    assert said[0].text == (
        "You have no paused **Cost-benefit analysis**. Paused: **DISARM: talking back to an "
        "urge**; `!worksheet resume` continues the last one, or name it."
    )
    said = await fake.say("ana", "!worksheet resume disarm")
    assert any("Welcome back to **DISARM" in s.text for s in said)
    await fake.say("ana", "pause", dm=True)
    said = await fake.say("ana", "!worksheet resume cost benefit")
    assert "Did you mean `cba`" in said[0].text


async def test_a_second_journal_write_goes_on_with_the_paused_entry(
    app_factory: AppFactory,
) -> None:
    app, fake = await open_app(app_factory)
    await fake.say("ana", "!journal write")
    await fake.say("ana", "the first lines", dm=True)
    await fake.say("ana", "pause", dm=True)
    said = await fake.say("ana", "!journal write")
    assert any("Welcome back to **a journal entry**" in s.text for s in said)
    assert "So far: 1 (the first lines)" in said[-1].text
    state = await app.dialogues.current("fake:ana")
    assert state is not None and "the first lines" in state.answers
