"""The DM dialogue engine as a member meets it, through `me setup`."""

from __future__ import annotations

from tests.harness.app import AppFactory
from tests.harness.platform import FakePlatform


async def test_setup_from_a_channel_moves_to_dms_and_walks_every_step(
    app_factory: AppFactory,
) -> None:
    fake = FakePlatform(await app_factory())
    said = await fake.say("ana", "!me setup")
    assert said[0].where == "ephemeral" and "direct message" in said[0].text
    assert all(s.where == "dm" for s in said[1:])
    assert "What name would you like" in said[-1].text
    await fake.say("ana", "Willow", dm=True)
    said = await fake.say("ana", "Mars/Olympus", dm=True)
    assert "not a time zone I know" in said[0].text
    assert "Which time zone" in said[1].text  # the same question again, nothing lost
    await fake.say("ana", "America/Chicago", dm=True)
    said = await fake.say("ana", "Atlantis", dm=True)
    assert "not a country I know" in said[0].text
    said = await fake.say("ana", "united states", dm=True)
    language_question = said[-1]
    assert [a.label for a in language_question.message.actions] == ["en"]
    said = await fake.say("ana", "1", dm=True)
    assert "All set" in said[-1].text
    shown = (await fake.say("ana", "!me"))[0].text
    assert "Willow" in shown and "America/Chicago" in shown and "US" in shown


async def test_back_skip_pause_resume_and_cancel(app_factory: AppFactory) -> None:
    fake = FakePlatform(await app_factory())
    await fake.say("ana", "!me setup")
    said = await fake.say("ana", "back", dm=True)
    assert "first question" in said[0].text
    await fake.say("ana", "Fern", dm=True)
    said = await fake.say("ana", "back", dm=True)
    assert "What name" in said[0].text and "Your earlier answer: Fern" in said[0].text
    await fake.say("ana", "skip", dm=True)
    said = await fake.say("ana", "pause", dm=True)
    assert "Paused" in said[0].text
    said = await fake.say("ana", "hello?", dm=True)
    assert "paused dialogue" in said[0].text and "resume" in said[0].text
    said = await fake.say("ana", "resume", dm=True)
    assert "Welcome back" in said[0].text and "time zone" in said[1].text
    said = await fake.say("ana", "cancel", dm=True)  # Fern would go: it asks first
    assert "Cancel **your settings** (1 answer)?" in said[0].text and "`yes`" in said[0].text
    said = await fake.say("ana", "yes", dm=True)
    assert "Cancelled **your settings**; its 1 answer was deleted." in said[0].text
    said = await fake.say("ana", "Europe/Paris", dm=True)
    assert "only understand commands" in said[0].text
    assert (await fake.app.members.profile("fake:ana")).timezone is None


async def test_buttons_are_untrusted_input(app_factory: AppFactory) -> None:
    app = await app_factory()
    fake = FakePlatform(app)
    await fake.say("ana", "!me setup")
    for _step in range(3):
        await fake.say("ana", "skip", dm=True)
    question = fake.said[-1].message
    good = question.actions[0].id
    forged = good.replace(good.split(":")[1], "999")
    await app.dispatcher.handle_action(fake.incoming("ana", dm=True), forged)
    assert "no longer active" in fake.said[-1].text
    await app.dispatcher.handle_action(fake.incoming("ben", dm=True), good)  # not ben's dialogue
    assert "no longer active" in fake.said[-1].text
    await app.dispatcher.handle_action(fake.incoming("ana", dm=True), good)
    assert "All set" in fake.said[-1].text
    await app.dispatcher.handle_action(fake.incoming("ana", dm=True), good)  # replayed
    assert "no longer active" in fake.said[-1].text
    assert (await app.members.profile("fake:ana")).language == "en"


async def test_text_checks_see_direct_messages_and_never_block_them(
    app_factory: AppFactory,
) -> None:
    app = await app_factory()
    fake = FakePlatform(app)
    seen: list[tuple[str, str]] = []

    async def watcher(ctx: object, text: str, source: str) -> None:
        seen.append((source, text))

    async def broken(ctx: object, text: str, source: str) -> None:
        raise RuntimeError("a bug in a check")

    app.text_checks.add(broken)
    app.text_checks.add(watcher)
    await fake.say("ana", "!me setup")
    said = await fake.say("ana", "Rowan", dm=True)
    assert "time zone" in said[-1].text  # the dialogue went on
    assert seen == [("dialogue", "Rowan")]  # an answer to the open dialogue


async def test_resuming_one_dialogue_pauses_the_open_one(app_factory: AppFactory) -> None:
    from bot.core.dialogue import Dialogue, Outcome, Step

    app = await app_factory()

    async def done(outcome: Outcome) -> str:
        return "noted"

    app.dialogues.register(Dialogue("other", "another walk", (Step("q", "Anything?"),), done))
    fake = FakePlatform(app)
    await fake.say("ana", "!me setup")
    await fake.say("ana", "pause", dm=True)
    ctx = await app.dispatcher.context(fake.incoming("ana", dm=True))
    await app.dialogues.start(ctx, "other")
    assert await app.dialogues.resume(ctx, "me_setup")
    active = await app.dialogues.current("fake:ana")
    paused = await app.dialogues.current("fake:ana", "paused")
    assert active is not None and active.dialogue_id == "me_setup"
    assert paused is not None and paused.dialogue_id == "other"
    said = await fake.say("ana", "Juniper", dm=True)  # answers the resumed one only
    assert "time zone" in said[-1].text
