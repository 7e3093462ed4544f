"""Worksheets as a member meets them: every shipped one run to the end in DMs, and the toolbox."""

from __future__ import annotations

import io
import itertools
import json
import logging
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from bot.app import App
from bot.clock import VirtualClock
from bot.core.context import Context
from bot.core.dialogue import AnswerKind
from bot.core.permissions import Tier
from bot.paths import DATA_DIR
from cogs.worksheets.cog import WorksheetsCog
from cogs.worksheets.definitions import load_all
from tests.harness.app import AppFactory, make_config
from tests.harness.platform import FakePlatform, Said
from tests.harness.postgres import fresh_pg_schema, pg_url

SHIPPED = sorted(load_all(DATA_DIR / "worksheets")[0])
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CANARY = "Zqx canary "  # in every free-text answer; a space never occurs in Fernet tokens


def config(**worksheets: object) -> object:
    cogs: dict[str, object] = {"enabled": ["general", "worksheets"]}
    if worksheets:
        cogs["worksheets"] = worksheets
    return make_config(cogs=cogs)


async def open_app(app_factory: AppFactory, **kwargs: object) -> tuple[App, FakePlatform]:
    return await app_factory.on_platform(
        ["general", "worksheets"], clock=VirtualClock(START), **kwargs
    )


def cog_of(app: App) -> WorksheetsCog:
    cog = app.services.cogs["worksheets"]
    assert isinstance(cog, WorksheetsCog)
    return cog


class Driver:
    """Answers whatever question the member is on, with canary text that is easy to find."""

    def __init__(self, app: App, fake: FakePlatform, name: str = "ana") -> None:
        self.app, self.fake, self.name = app, fake, name
        self.counter = itertools.count(1)
        self.written: list[str] = []

    async def step(self) -> tuple[str, AnswerKind] | None:
        state = await self.app.dialogues.current(f"fake:{self.name}")
        if state is None:
            return None
        dialogue = self.app.dialogues.dialogues[state.dialogue_id]
        step = dialogue.step(state.step)
        return step.id, step.kind

    async def say(self, text: str) -> list[Said]:
        return await self.fake.say(self.name, text, dm=True)

    def canary(self) -> str:
        text = f"{CANARY}{next(self.counter)} answer"
        self.written.append(text)
        return text

    async def answer(self) -> list[Said]:
        """Give one valid answer (a list gets two items and `done`)."""
        current = await self.step()
        assert current is not None, "no open dialogue"
        step_id, kind = current
        state = await self.app.dialogues.current(f"fake:{self.name}")
        assert state is not None
        step = self.app.dialogues.dialogues[state.dialogue_id].step(step_id)
        if kind is AnswerKind.LIST:
            await self.say(self.canary())
            await self.say(f"long: {self.canary()}")
            return await self.say("done")
        if kind is AnswerKind.SCALE:
            return await self.say(str(step.high - 1))
        if kind is AnswerKind.CHOICE:
            return await self.say("1")
        if kind is AnswerKind.DATETIME:  # an urge has happened; a plan's step is to come
            return await self.say("yesterday 19:30" if step.past_only else "2026-12-03 19:30")
        if step.validate is not None and step_id == "minutes":
            return await self.say("15")
        return await self.say(self.canary())


def db_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


@pytest.mark.parametrize("sheet_id", SHIPPED)
async def test_each_worksheet_runs_to_the_end_through_everything_a_member_might_do(
    app_factory: AppFactory, tmp_path: Path, sheet_id: str
) -> None:
    app, fake = await open_app(app_factory)
    sheet = cog_of(app).sheets[sheet_id]
    said = await fake.say("ana", f"!worksheet start {sheet_id}")
    assert said[0].where == "ephemeral" and "direct message" in said[0].text
    assert all(s.where == "dm" for s in said[1:])  # the channel never sees a question
    assert sheet.steps[0].prompt.split("\n")[0] in said[-1].text
    driver = Driver(app, fake)

    said = await driver.say("back")
    assert "first question" in said[0].text
    said = await driver.say("   ")
    assert "I need an answer" in said[0].text

    seen_invalid = False

    async def refuse_invalid(kind: AnswerKind) -> bool:
        """A wrong answer to a scale or choice gets a hint and the same question again."""
        before = await driver.step()
        if kind is AnswerKind.SCALE:
            for bad in ("eleven", "11", "-1"):
                said = await driver.say(bad)
                assert "Please answer with a number" in said[0].text
                assert said[1].message.actions  # the same question, with buttons, again
        elif kind is AnswerKind.CHOICE:
            said = await driver.say("not one of them")
            assert "Please pick one of the listed choices" in said[0].text
        else:
            return False
        assert await driver.step() == before
        return True

    seen_invalid = await refuse_invalid(sheet.steps[0].kind)
    await driver.answer()
    seen_back = False
    seen_pause = False
    restarted = False
    while (current := await driver.step()) is not None:
        step_id, kind = current
        if not seen_invalid:
            seen_invalid = await refuse_invalid(kind)
        if not seen_back:
            said = await driver.say("back")
            assert "Your earlier answer:" in said[0].text or "So far:" in said[0].text
            await driver.answer()  # answer the previous question again
            seen_back = True
            continue
        if not seen_pause:
            said = await driver.say("pause")
            assert "Paused" in said[0].text
            said = await fake.say("ana", "!worksheet resume")
            assert said[0].where == "ephemeral"
            assert "Welcome back" in said[1].text
            seen_pause = True
        if not restarted:
            await app.close()
            app, fake = await open_app(app_factory)
            driver.app, driver.fake = app, fake
            assert await driver.step() == current  # the same question after the restart
            restarted = True
        step_def = sheet.step(step_id)
        assert step_def is not None
        said = await driver.say("skip")
        if step_def.required:
            assert "cannot be skipped" in said[0].text
            await driver.answer()
    assert "saved in your toolbox as **#1**" in fake.said[-1].text
    assert seen_back and seen_pause and restarted
    assert seen_invalid == any(
        s.kind in (AnswerKind.SCALE, AnswerKind.CHOICE) for s in sheet.steps
    )
    shown = (await fake.say("ana", "!toolbox view 1"))[0]
    assert shown.where == "ephemeral" and shown.message.card is not None
    assert shown.message.card.title == f"#1 {sheet.title}"
    answers_shown = shown.text
    assert any(w in answers_shown for w in driver.written) or not driver.written
    exported = await fake.say("ana", "!toolbox export 1")
    md, js = (s.message.attachment for s in exported)
    assert md is not None and js is not None
    assert md.filename == f"toolbox-1-{sheet_id}.md" and md.data.startswith(b"# ")
    data = json.loads(js.data)
    assert data["worksheet"] == sheet_id
    for text in driver.written:
        if text in json.dumps(data, ensure_ascii=False):
            assert text in md.data.decode()
    assert driver.written or sheet_id in ("stage_check", "urge_log")  # no required text
    while_open = db_bytes(tmp_path / "bot.sqlite3")
    await app.close()
    raw = db_bytes(tmp_path / "bot.sqlite3")
    assert raw and CANARY.encode() not in raw and CANARY.encode() not in while_open


async def test_abc_points_out_absolute_words_and_stage_check_suggests_tools(
    app_factory: AppFactory,
) -> None:
    _app, fake = await open_app(app_factory)
    await fake.say("ana", "!worksheet start abc")
    for line in ("after", "My friend cancelled on me.", "I must never be let down", "done"):
        await fake.say("ana", line, dm=True)
    for line in ("hurt", "done", "skip", "is it true? no", "done", "I can cope", "done"):
        said = await fake.say("ana", line, dm=True)
    assert "Absolute words" in said[-1].text
    assert "**must**" in said[-1].text and "**never**" in said[-1].text
    assert "**should**" not in said[-1].text
    await fake.say("ana", "!worksheet start stage_check")
    said = await fake.say("ana", "2", dm=True)  # contemplation
    said = await fake.say("ana", "skip", dm=True)
    assert "Tools that often help" in said[-1].text
    assert "worksheet start cba" in said[-1].text and "worksheet start hov" in said[-1].text
    assert "worksheet start disarm" not in said[-1].text


async def test_urge_log_lapse_branch_asks_what_might_help_and_otherwise_skips_it(
    app_factory: AppFactory,
) -> None:
    app, fake = await open_app(app_factory)
    for outcome, expect_learned in (("3", True), ("1", False)):
        await fake.say("ana", "!urge log")
        for _step in range(7):
            await fake.say("ana", "skip", dm=True)
        await fake.say("ana", "7", dm=True)  # intensity
        said = await fake.say("ana", "ten minutes", dm=True)
        assert "minutes from 0 to 1440" in said[0].text
        await fake.say("ana", "10", dm=True)
        await fake.say("ana", "skip", dm=True)  # coping
        said = await fake.say("ana", outcome, dm=True)
        assert ("learn from, not a failure" in said[-1].text) is expect_learned
        while await app.dialogues.current("fake:ana") is not None:
            said = await fake.say("ana", "skip", dm=True)
        assert "saved in your toolbox" in said[-1].text
    items = await cog_of(app).toolbox.items("fake:ana", "urge_log")
    assert [i.answers["minutes"] for i in items] == [10, 10]
    assert all(i.answers["when"].startswith("2026-12-01T09:00") for i in items)


async def test_toolbox_edit_reopens_one_answer_and_cancel_keeps_it(
    app_factory: AppFactory,
) -> None:
    _app, fake = await open_app(app_factory)
    await fake.say("ana", "!worksheet start brainstorm")
    for line in ("noisy flat", "earplugs", "move", "done", "skip", "earplugs", "tonight"):
        await fake.say("ana", line, dm=True)
    said = await fake.say("ana", "!toolbox edit 1")
    assert said[0].where == "ephemeral" and "direct message" in said[0].text
    assert "Which answer" in said[-1].text and "2. Throw in every idea" in said[-1].text
    said = await fake.say("ana", "2", dm=True)  # the number typed next picks the answer
    assert "So far: 2 (earplugs; move)" in said[-1].text
    said = await fake.say("ana", "clear", dm=True)  # asked for: the list starts again
    assert "Clear your answer to this question (earplugs; move)?" in said[0].text
    await fake.say("ana", "yes", dm=True)
    await fake.say("ana", "talk to neighbours", dm=True)
    said = await fake.say("ana", "done", dm=True)
    assert "Updated **#1**" in said[-1].text
    said = await fake.say("ana", "!toolbox edit 1 1")
    # the answer named may be the member's new words: the message is removed from the channel
    assert "Your earlier answer: noisy flat" in said[-2].text
    assert "I removed your message from #general" in said[-1].text
    said = await fake.say("ana", "cancel", dm=True)
    assert "Cancel **Brainstorming**? What you typed here would be dropped." in said[0].text
    said = await fake.say("ana", "yes", dm=True)
    assert said[0].text == "Cancelled **Brainstorming**. Your toolbox item stays as it was."
    shown = (await fake.say("ana", "!toolbox view 1"))[0].text
    assert "talk to neighbours" in shown and "earplugs" not in shown.split("Which idea")[0]
    assert "noisy flat" in shown  # the cancelled edit left the first answer alone
    said = await fake.say("ana", "!toolbox edit 1 9")
    assert "numbered 1 to 5" in said[0].text
    assert "Which answer" in said[-2].text  # the dialogue is open to pick one
    assert "I removed your message from #general" in said[-1].text


async def test_another_members_items_behave_exactly_like_missing_ones(
    app_factory: AppFactory,
) -> None:
    _app, fake = await open_app(app_factory)
    await fake.say("ana", "!urge log 5 stress")
    fake.actor("ana")
    for command in ("view", "edit", "export", "delete", "share", "unshare"):
        suffix = " ana" if command == "share" else ""
        theirs = await fake.say("ben", f"!toolbox {command} 1{suffix}")
        missing = await fake.say("ben", f"!toolbox {command} 2{suffix}")
        assert theirs[0].text.replace("#1", "#2") == missing[0].text, command
        assert "no item #1" in theirs[0].text
        assert theirs[0].where == "ephemeral" and len(theirs) == 1
    assert "strength 5" in (await fake.say("ana", "!toolbox"))[0].text
    assert "empty" in (await fake.say("ben", "!toolbox"))[0].text
    assert "No urges logged yet" in (await fake.say("ben", "!urge insights"))[0].text


async def test_share_sends_exactly_the_item_and_unshare_withdraws_it(
    app_factory: AppFactory,
) -> None:
    app, fake = await open_app(app_factory)
    fake.actor("fay", Tier.FACILITATOR)
    await fake.say("ana", "!me name Willow")
    await fake.say("ana", "!urge log 4 payday; called a friend")
    await fake.say("ana", "!urge log 8 row at home")
    said = await fake.say("ana", "!toolbox share 1 fay")
    assert said[0].where == "ephemeral" and "Sent **#1** to fay" in said[0].text
    await app.scheduler.advance(timedelta(seconds=5))
    to_fay = [s for s in fake.said if s.where == "dm" and s.to == "fake:fay"]
    assert len(to_fay) == 1
    assert "**Willow** shared this" in to_fay[0].text
    assert "payday" in to_fay[0].text and "row at home" not in to_fay[0].text
    assert "shared with fay" in (await fake.say("ana", "!toolbox"))[0].text
    said = await fake.say("ana", "!toolbox unshare 1")
    assert "The copy I had sent fay was deleted from their messages." in said[0].text
    await app.scheduler.advance(timedelta(seconds=5))
    visible = [s for s in fake.visible() if s.where == "dm" and s.to == "fake:fay"]
    assert not any("payday" in s.text for s in visible)  # gone from fay's messages
    assert "shared with" not in (await fake.say("ana", "!toolbox"))[0].text
    # the platform is down when the member withdraws: deleted once it is back
    await fake.say("ana", "!toolbox share 1 fay")
    await app.scheduler.advance(timedelta(seconds=5))
    fake.reachable = False
    said = await fake.say("ana", "!toolbox unshare 1")
    assert "will be deleted from their messages when I reach" in said[0].text
    assert any("payday" in s.text for s in fake.visible() if s.to == "fake:fay")
    fake.reachable = True
    await app.scheduler.advance(timedelta(minutes=1))
    assert not any("payday" in s.text for s in fake.visible() if s.to == "fake:fay")
    said = await fake.say("ana", "!toolbox unshare 1")
    assert "isn't shared with anyone" in said[0].text
    # withdrawn before delivery: the facilitator never sees it
    await fake.say("ana", "!toolbox share 2 fay")
    said = await fake.say("ana", "!toolbox delete 2")
    assert "Deleted #2" in said[0].text and "had not received it yet" in said[0].text
    await app.scheduler.advance(timedelta(seconds=5))
    assert not any("row at home" in s.text for s in fake.said if s.to == "fake:fay")
    said = await fake.say("ana", "!toolbox share 1 ana")
    assert "That's you" in said[0].text


async def test_quick_urge_log_and_insights_with_a_chart_of_every_urge(
    app_factory: AppFactory,
) -> None:
    app, fake = await open_app(app_factory)
    await fake.say("ana", "!me timezone America/New_York")
    checked: list[tuple[str, str]] = []

    async def check(ctx: Context, text: str, source: str) -> None:
        checked.append((text, source))

    app.text_checks.add(check)
    lines = (
        "!urge log 6 after work; walked it off 20 min",  # 04:00 New York: night
        "!urge log 3 after work | tea",
        "!urge log 8 payday",
        "!urge log 2",
    )
    for line in lines:
        said = await fake.say("ana", line)
        assert said[0].where == "ephemeral" and "Logged as" in said[0].text
        await app.scheduler.advance(timedelta(hours=5))
    # The note itself is checked by the worksheet cog (a bare number has no note to check);
    # the core also checks the whole command line once, as it does for every command, as
    # private words (the note is `private_text`).
    notes = [text for text, source in checked if source == "worksheet"]
    assert notes == ["after work; walked it off 20 min", "after work | tea", "payday"]
    assert [text for text, source in checked if source == "private:command:worksheets"] == [
        line.removeprefix("!urge log ") for line in lines
    ]
    said = await fake.say("ana", "!urge log 11 too much")
    assert said[0].where == "ephemeral" and "Logged" not in said[0].text
    said = await fake.say("ana", "!urge insights")
    assert len(said) == 1 and said[0].where == "ephemeral"
    text = said[0].text
    assert "You have logged 4 urges." in text
    assert "Most common triggers: after work (2)" in text
    assert "about 20 minutes" in text and "passed" in text
    assert "streak" not in text.lower()
    attachment = said[0].message.attachment
    assert attachment is not None and attachment.mime == "image/png"
    assert attachment.data.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(attachment.data))
    image.load()
    assert image.size == (800, 360)
    assert said[0].message.meta["points"] == "4"


async def test_a_broken_worksheet_file_is_reported_and_the_others_load(
    app_factory: AppFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "sheets"
    shutil.copytree(DATA_DIR / "worksheets", folder)
    abc = folder / "abc.toml"
    abc.write_text(abc.read_text().replace('kind = "list"', 'kind = "essay"', 1))
    (folder / "hov.toml").write_text('id = "hov"\ntitle = "unclosed\n')
    caplog.set_level(logging.WARNING, "circlebot.worksheets")
    app = await app_factory(config(directory=str(folder)), fast_typing=True)
    fake = FakePlatform(app)
    assert sorted(cog_of(app).sheets) == sorted(set(SHIPPED) - {"abc", "hov"})
    assert "abc.toml: line 33: step 3 (beliefs).kind: must be one of 'text', 'list'" in caplog.text
    assert "hov.toml: line 2: this is not valid TOML" in caplog.text
    member = (await fake.say("ana", "!worksheet list"))[0].text
    assert "Cost-benefit" in member and "problems" not in member
    fake.actor("mo", Tier.MODERATOR)
    shown = (await fake.say("mo", "!worksheet list"))[0].text
    assert "Files with problems" in shown and "abc.toml: line 33: step 3 (beliefs).kind" in shown
    said = await fake.say("ana", "!worksheet start abc")
    assert "no worksheet called" in said[0].text


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"tags": ["cravings"]}, "tag 1: must be one of 'motivation'"),
        ({"id": "other"}, "id: must match the file name"),
        ({"colour": "blue"}, "colour: unknown key"),
        ({"steps": []}, "steps: needs at least 1 steps"),
        ({"suggest_from": "behaviour"}, "suggest_from: must name a choice step"),
    ],
)
def test_worksheet_validation_names_the_file_and_field(
    tmp_path: Path, change: dict[str, object], problem: str
) -> None:
    import tomllib

    data = tomllib.loads((DATA_DIR / "worksheets" / "cba.toml").read_text())
    data.update(change)
    from cogs.worksheets.definitions import parse

    sheet, problems = parse(data, "cba.toml")
    assert sheet is None
    assert any(str(p).startswith("cba.toml: ") and problem in str(p) for p in problems)


@pytest.mark.parametrize(
    ("step", "problem"),
    [
        ({"id": "a", "prompt": "?", "kind": "choice"}, "step 1 (a).choices: a choice step needs"),
        ({"id": "a", "prompt": "?", "kind": "scale", "high": 99}, "step 1 (a).high"),
        ({"id": "a", "prompt": ""}, "step 1 (a).prompt: must not be empty"),
        ({"id": "a"}, "step 1 (a).prompt: is required"),
        ({"id": "a", "prompt": "?", "terms": True}, "step 1 (a).terms"),
        ({"id": "a", "prompt": "?", "check": "weeks"}, "step 1 (a).check: unknown check"),
        (
            {
                "id": "a",
                "prompt": "?",
                "kind": "choice",
                "choices": [{"value": "x"}],
                "branches": {"x": "nowhere"},
            },
            "step 1 (a).branches.x: unknown step 'nowhere'",
        ),
    ],
)
def test_step_validation(step: dict[str, object], problem: str) -> None:
    from cogs.worksheets.definitions import parse

    data = {"id": "t", "title": "T", "tags": ["urges"], "steps": [step]}
    sheet, problems = parse(data, "t.toml")
    assert sheet is None and any(problem in str(p) for p in problems), problems


async def test_topics_unknown_names_and_nothing_to_resume(app_factory: AppFactory) -> None:
    app, fake = await open_app(app_factory)
    listed = (await fake.say("ana", "!worksheet list preparation"))[0].text
    assert "Change plan" in listed and "Hierarchy of values" not in listed
    said = await fake.say("ana", "!worksheet list cravings")
    assert "not a topic I know" in said[0].text
    said = await fake.say("ana", "!worksheet start cbx")
    assert "Did you mean `cba` (Cost-benefit analysis)?" in said[0].text
    said = await fake.say("ana", "!worksheet resume")
    assert "nothing paused" in said[0].text
    said = await fake.say("ana", "!toolbox export everything")
    assert "number, or `all`" in said[0].text
    said = await fake.say("ana", "!toolbox export all")
    assert "empty" in said[0].text
    choices = await cog_of(app).complete_worksheet(None, "val")  # type: ignore[arg-type]
    assert [c.value for c in choices] == ["hov"]


async def test_starting_a_paused_worksheet_again_continues_it(app_factory: AppFactory) -> None:
    _app, fake = await open_app(app_factory)
    await fake.say("ana", "!worksheet start role_play")
    await fake.say("ana", "asking for a day off", dm=True)
    await fake.say("ana", "pause", dm=True)
    said = await fake.say("ana", "!worksheet start role_play")
    assert "Welcome back" in said[1].text and "What do you want to say" in said[2].text


async def test_export_all_and_erasing_a_member(app_factory: AppFactory) -> None:
    app, fake = await open_app(app_factory)
    await fake.say("ana", "!urge log 5 stress; ran")
    await fake.say("ana", "!urge log 4 noise")
    await fake.say("ben", "!urge log 4 bills")
    md, js = (s.message.attachment for s in await fake.say("ana", "!toolbox export all"))
    assert md is not None and js is not None
    assert md.data.decode().count("# Urge log") == 2 and "bills" not in md.data.decode()
    assert [i["number"] for i in json.loads(js.data)] == [1, 2]
    for n in range(23):
        await fake.say("ana", f"!urge log 3 noise {n}")
    listed = (await fake.say("ana", "!toolbox"))[0].text
    assert "**#25**" in listed and "**#6**" in listed and "**#5**" not in listed
    assert "Page 1 of 2" in listed
    listed = (await fake.say("ana", "!toolbox list 2"))[0].text
    assert "**#5**" in listed and "**#1**" in listed and "**#6**" not in listed
    await cog_of(app).delete_user_data("fake:ana")
    assert "empty" in (await fake.say("ana", "!toolbox"))[0].text
    assert "strength 4" in (await fake.say("ben", "!toolbox"))[0].text


async def test_on_postgresql_a_restart_mid_worksheet_resumes_and_saves(
    app_factory: AppFactory,
) -> None:
    async with fresh_pg_schema(migrated=True) as schema:
        app, fake = await open_app(app_factory, db_url=pg_url(), db_schema=schema)
        await fake.say("ana", "!worksheet start disarm")
        await fake.say("ana", "the Bargainer", dm=True)
        await app.close()
        app, fake = await open_app(app_factory, db_url=pg_url(), db_schema=schema)
        for line in ("Friday", "you deserve it", "done", "skip", "No.", "done"):
            await fake.say("ana", line, dm=True)
        await fake.say("ana", "a rough Saturday", dm=True)
        said = await fake.say("ana", "go for a run", dm=True)
        assert "saved in your toolbox as **#1**" in said[-1].text
        shown = (await fake.say("ana", "!toolbox view 1"))[0].text
        assert "the Bargainer" in shown and "- No." in shown
        fake.actor("ben")
        await fake.say("ana", "!toolbox share 1 ben")
        assert "shared with ben" in (await fake.say("ana", "!toolbox"))[0].text
        await app.close()


CONSOLE_SCRIPT = """\
@ana !worksheet start brainstorm
@ana dm too much screen time at night
@ana dm phone in the kitchen
@ana dm read instead
@ana dm done
@ana dm pause
@ana !worksheet resume
@ana dm skip
@ana dm phone in the kitchen
@ana dm tonight at ten
@ana !toolbox view 1
@ana !toolbox export 1
@ana !urge log 6 after work; walked it off 20 min
:advance 3h
@ana !urge log 4 bored
@ana !urge insights
@ben !toolbox view 1
"""


def test_a_console_session_from_worksheet_to_chart(tmp_path: Path) -> None:
    from tests.harness.console import circlebot

    files = tmp_path / "files"
    result = circlebot(
        "console",
        "--db",
        str(tmp_path / "w.sqlite3"),
        "--clock",
        "2026-12-01T09:00:00Z",
        "--files",
        str(files),
        stdin=CONSOLE_SCRIPT,
        cwd=tmp_path,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "[#general, private to ana] I've sent you a direct message" in out
    assert "[dm ana] What problem would you like to work on?" in out
    assert "[dm ana] Paused Brainstorming." in out
    assert "[dm ana] Welcome back to Brainstorming." in out
    assert "saved in your toolbox as #1" in out
    assert "too much screen time at night" in out
    assert (files / "toolbox-1-brainstorm.md").read_text().startswith("# Brainstorming (#1)")
    assert json.loads((files / "toolbox-1-brainstorm.json").read_text())["answers"]["ideas"] == [
        "phone in the kitchen",
        "read instead",
    ]
    chart = (files / "urge-insights.png").read_bytes()
    assert chart.startswith(b"\x89PNG") and Image.open(io.BytesIO(chart)).size == (800, 360)
    assert "You have logged 2 urges." in out
    assert "[#general, private to ben] There is no item #1 in your toolbox." in out
    raw = db_bytes(tmp_path / "w.sqlite3")
    assert b"screen time" not in raw and b"walked it off" not in raw


async def test_share_into_a_group_journal_and_take_it_out_again(
    app_factory: AppFactory,
) -> None:
    _app, fake = await app_factory.on_platform(
        ["general", "worksheets", "journal"], clock=VirtualClock(START)
    )
    await fake.say("ana", "!group create Evening")
    await fake.say("ana", "!urge log 5 payday; went for a run")
    said = await fake.say("ana", "!toolbox share 1")
    assert "Name one facilitator, or a group journal" in said[0].text
    said = await fake.say("ana", "!toolbox share 1 group:Nowhere")
    assert said[0].where == "ephemeral" and "Posted" not in said[0].text
    said = await fake.say("ana", "!toolbox share 1 group:Evening")
    assert "Posted **#1** in the group journal **Evening**" in said[0].text
    shown = (await fake.say("ana", "!group read Evening"))[0].text
    assert "payday" in shown and "went for a run" in shown
    outsider = (await fake.say("ben", "!group read Evening"))[0].text
    assert "payday" not in outsider
    assert "shared with group Evening" in (await fake.say("ana", "!toolbox"))[0].text
    said = await fake.say("ana", "!toolbox unshare 1")
    assert "Taken out of the group Evening journal." in said[0].text
    assert "payday" not in (await fake.say("ana", "!group read Evening"))[0].text


async def test_a_group_name_of_two_words_typed_without_quotes_is_that_group(
    app_factory: AppFactory,
) -> None:
    """The fault as found: `!toolbox share 1 Monday crew` looked for a person `Monday`, and
    `!group read Monday crew` read `crew` as the page. The last words, together one of the
    member's groups, are that group; a name no group has is asked about, quoted."""
    _app, fake = await app_factory.on_platform(
        ["general", "worksheets", "journal"], clock=VirtualClock(START)
    )
    await fake.say("ana", "!group create Monday crew")
    await fake.say("ana", "!urge log 5 payday; went for a run")
    said = await fake.say("ana", "!toolbox share 1 Monday crew")
    assert "Posted **#1** in the group journal **Monday-crew**" in said[0].text, said
    shown = (await fake.say("ana", "!group read Monday crew"))[0].text
    assert "payday" in shown and "went for a run" in shown
    said = await fake.say("ana", "!group read Tuesday crew")
    assert said[0].where == "ephemeral" and '`group:"Tuesday crew"`' in said[0].text
    assert "changed nothing" in said[0].text


class Crash(BaseException):
    """The process dying between the toolbox commit and the dialogue's close."""


async def test_a_crash_after_saving_but_before_closing_saves_the_item_once(
    app_factory: AppFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'crash.sqlite3'}"
    app, fake = await open_app(app_factory, db_url=url)
    await fake.say("ana", "!worksheet start stage_check")
    await fake.say("ana", "2", dm=True)

    async def die(self: object, state_id: int) -> None:
        raise Crash

    from bot.core.dialogue import Dialogues

    with monkeypatch.context() as patch:
        patch.setattr(Dialogues, "_close", die)
        with pytest.raises(Crash):
            await fake.say("ana", "reading about it", dm=True)
    await app.close()

    again = await app_factory(config(), clock=VirtualClock(START), db_url=url, name="again")
    fake = FakePlatform(again)
    said = await fake.say("ana", "resume", dm=True)  # the member never saw the closing words
    said = await fake.say("ana", "reading about it", dm=True)
    assert "Tools that often help" in said[-1].text
    items = await cog_of(again).toolbox.items("fake:ana")
    assert len(items) == 1
