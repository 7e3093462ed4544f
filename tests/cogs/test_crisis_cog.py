"""The crisis cog as members and moderators meet it, through the recording platform."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.clock import VirtualClock
from bot.core.context import Context
from bot.core.dispatch import Incoming
from bot.core.identity import Place
from bot.core.permissions import Tier
from bot.models import OutboxItem
from cogs.crisis.cog import CrisisCog
from cogs.crisis.phrases import Detection, Detector
from tests.harness.app import AppFactory, make_config
from tests.harness.platform import COMMUNITY, FakePlatform, FakeResponder, Said
from tests.harness.postgres import fresh_pg_schema, pg_url

START = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
NOT_A_SERVICE = "not a crisis service, and nobody watches these messages around the clock"
FALLBACK = "[Find A Helpline](https://findahelpline.com/)"


async def started(
    app_factory: AppFactory, crisis_settings: dict[str, object] | None = None, **kw: object
) -> tuple[App, FakePlatform]:
    app = await app_factory(
        make_config(cogs={"enabled": ["general", "crisis"], "crisis": crisis_settings or {}}),
        clock=VirtualClock(START),
        **kw,
    )
    fake = FakePlatform(app)
    app.add_transport(fake)
    fake.actor("mod", Tier.MODERATOR)
    return app, fake


def only(said: list[Said]) -> Said:
    assert len(said) == 1, said
    return said[0]


def crisis(app: App) -> CrisisCog:
    cog = app.cogs["crisis"]
    assert isinstance(cog, CrisisCog)
    return cog


async def test_crisis_is_private_and_shows_the_members_country_first(
    app_factory: AppFactory,
) -> None:
    _app, fake = await started(app_factory)
    await fake.say("ana", "!me country US")
    reply = only(await fake.say("ana", "!crisis"))
    assert reply.where == "ephemeral"
    text = reply.text
    assert text.index("988 Suicide & Crisis Lifeline") < text.index(FALLBACK)
    assert "call **988** (press 1: Veterans Crisis Line; press 2: Spanish" in text
    assert "text **AYUDA** to **988**" in text
    assert "[chat online](https://988lifeline.org/chat/)" in text
    assert "call **(800) 662-4357**" in text and "open 24/7" in text
    assert NOT_A_SERVICE in text
    assert "Samaritans" not in text
    assert only(await fake.say("ana", "!help-now")).text == text


async def test_without_a_country_or_lines_the_fallback_is_offered(app_factory: AppFactory) -> None:
    _app, fake = await started(app_factory)
    text = only(await fake.say("ana", "!crisis")).text
    assert "I don't know which country you are in" in text and FALLBACK in text
    # help before a setting: the worldwide line comes before how to set a country
    assert text.index(FALLBACK) < text.index("I don't know which country you are in")
    await fake.say("ben", "!me country NZ")
    text = only(await fake.say("ben", "!crisis now")).text
    assert "I have no lines for New Zealand" in text and FALLBACK in text
    assert NOT_A_SERVICE in text


async def test_the_communitys_country_is_used_when_the_member_set_none(
    app_factory: AppFactory,
) -> None:
    app, fake = await started(app_factory)
    await fake.say("ana", "!ping")
    info = await app.members.community("fake", COMMUNITY)
    await app.members.update_community(info.id, country="IE")
    assert "Samaritans Ireland" in only(await fake.say("ana", "!crisis")).text
    block = await crisis(app).lines_for(info.id, None, prefix="!")
    assert "call **116 123**" in block and FALLBACK in block
    assert "988" in await crisis(app).lines_for(None, "US", prefix="!")


async def test_list_by_topic_and_countries(app_factory: AppFactory) -> None:
    _app, fake = await started(app_factory)
    text = only(await fake.say("ana", "!crisis list US substance_use")).text
    assert "SAMHSA National Helpline" in text and "988" in text
    text = only(await fake.say("ana", "!crisis list GB youth")).text
    assert "Shout Crisis Text Line" in text and "Samaritans" not in text
    text = only(await fake.say("ana", "!crisis list IE youth")).text
    assert "I have no lines for Ireland (young people) yet." in text
    bad = only(await fake.say("ana", "!crisis list Atlantis"))
    assert "not a country I know" in bad.text
    text = only(await fake.say("ana", "!crisis countries")).text
    assert "- Ireland (`IE`): 1" in text and "- United States (`US`): 3" in text
    assert len(re.findall(r"^- .* \(`[A-Z]{2}`\): \d+$", text, re.MULTILINE)) == 17


PAIR_TOML = """\
[[entry]]
id = "nz-adult-line"
country = "NZ"
name = "Adult line"
category = "mental_health"
source = "https://example.org/a"
verified_at = 2026-10-01
pair = "nz-lines"
[[entry.contacts]]
method = "phone"
number = "0800 543 354"
languages = ["en"]
hours = "24/7"

[[entry]]
id = "nz-youth-line"
country = "NZ"
name = "Youth line"
category = "youth"
source = "https://example.org/b"
verified_at = 2026-10-01
pair = "nz-lines"
[[entry.contacts]]
method = "phone"
number = "0800 376 633"
languages = ["en"]
hours = "24/7"
"""


async def test_a_pair_is_shown_both_or_neither(app_factory: AppFactory) -> None:
    _app, fake = await started(app_factory)
    reply = only(await fake.say("mod", f"!crisis import {PAIR_TOML}"))
    assert "Imported 2 entries" in reply.text
    text = only(await fake.say("ana", "!crisis list NZ youth")).text
    assert "Youth line" in text and "Adult line" in text
    text = only(await fake.say("ana", "!crisis list NZ suicide_prevention")).text
    assert "Youth line" not in text and "Adult line" not in text


async def test_a_crisis_phrase_in_a_dm_gets_one_calm_answer_an_hour(
    app_factory: AppFactory,
) -> None:
    app, fake = await started(app_factory)
    await fake.say("ana", "!me country GB")
    said = await fake.say("ana", "I don't want to be alive anymore", dm=True)
    answer = said[0]
    assert answer.where == "dm"
    assert "You don't have to carry this alone" in answer.text
    assert "**Samaritans**: call **116 123**" in answer.text
    assert NOT_A_SERVICE in answer.text and FALLBACK in answer.text
    for word in ("committed", "successful", "method"):
        assert word not in answer.text.lower()
    again = await fake.say("ana", "I want to die", dm=True)
    assert not any("carry this alone" in s.text for s in again)
    await app.scheduler.advance(timedelta(minutes=59))
    assert not any(
        "carry this alone" in s.text for s in await fake.say("ana", "suicidal", dm=True)
    )
    await app.scheduler.advance(timedelta(minutes=2))
    assert any("carry this alone" in s.text for s in await fake.say("ana", "suicidal", dm=True))
    # The hour is counted per person.
    assert any("carry this alone" in s.text for s in await fake.say("ben", "kill myself", dm=True))


async def test_everyday_idioms_get_no_crisis_answer(app_factory: AppFactory) -> None:
    _app, fake = await started(app_factory)
    for text in ("this meeting is killing me", "I could kill for a coffee"):
        said = await fake.say("ana", text, dm=True)
        assert not any("carry this alone" in s.text for s in said)


async def test_text_from_a_channel_command_is_answered_privately(app_factory: AppFactory) -> None:
    app, fake = await started(app_factory)
    await fake.say("ana", "!ping")
    incoming = fake.incoming("ana")
    ctx = await app.dispatcher.context(incoming)
    before = len(fake.said)
    await app.text_checks.run(ctx, "my journal: I want to end my life", "journal")
    answer = only(fake.said[before:])
    assert answer.where == "ephemeral" and "carry this alone" in answer.text
    assert isinstance(ctx, Context)


async def test_moderators_get_an_alert_with_the_pseudonym_and_no_content(
    app_factory: AppFactory,
) -> None:
    app, fake = await started(app_factory)
    await fake.say("ana", "!me name River")
    refused = only(await fake.say("mod", "!crisis alerts #general")).text
    assert "only moderators can read" in refused and "Nothing was changed" in refused
    assert "no longer" not in only(await fake.say("mod", "!crisis alerts #mods")).text
    said = await fake.say("ana", "I keep thinking about killing myself tonight", dm=True)
    answer = only([s for s in said if s.where == "dm"]).text
    assert "let this community's moderators know" in answer and "may not see it" in answer
    alerts = [s for s in fake.said if s.where == "channel"]
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.to == "mods"
    assert alert.text == (
        "A member may need support: something they wrote suggests that they, or someone "
        "they wrote about, may be at risk. Please check in with them privately. "
        "Pseudonym: **River**. Their account:"
    )
    assert alert.message.mention == "fake:ana"
    assert "killing" not in alert.text
    async with app.db.sessions() as session:  # sent at once, and nothing kept of it
        assert await session.scalar(select(func.count()).select_from(OutboxItem)) == 0
    await fake.say("ana", "I want to die", dm=True)  # inside the hour: no second alert
    assert len([s for s in fake.said if s.where == "channel"]) == 1
    only(await fake.say("mod", "!crisis alerts"))
    await app.scheduler.advance(timedelta(hours=2))
    answer = only(await fake.say("ana", "I want to die", dm=True)).text
    assert "moderators" not in answer
    assert len([s for s in fake.said if s.where == "channel"]) == 1


async def test_members_cannot_change_the_directory(app_factory: AppFactory) -> None:
    app, fake = await started(app_factory)
    attempts = [
        "!crisis add US Test suicide_prevention https://example.org phone:+18006624357",
        "!crisis edit us-988-lifeline name Other",
        "!crisis remove us-988-lifeline",
        f"!crisis import {PAIR_TOML}",
        "!crisis verify gb-samaritans",
        "!crisis alerts #general",
        "!crisis phrases add i feel hopeless",
    ]
    for line in attempts:
        assert "Only a moderator can use" in only(await fake.say("ana", line)).text, line
    entries = await crisis(app).service.directory(None)
    assert len(entries) == len(crisis(app).load_seed()[0]) == 24
    info = await app.members.community("fake", COMMUNITY)
    assert await app.audit.recent(info.id) == []


async def test_moderators_add_edit_verify_remove_with_an_audit_trail(
    app_factory: AppFactory,
) -> None:
    app, fake = await started(app_factory)
    reply = only(
        await fake.say(
            "mod",
            '!crisis add IE "Test Line" mental_health https://example.org/t '
            "phone:1800-123-456 description:For testing",
        )
    )
    assert reply.where == "ephemeral"
    assert "Nothing was saved" in reply.text  # 1800-123-456 is not a valid Irish number
    reply = only(
        await fake.say(
            "mod",
            '!crisis add IE "Test Line" mental_health https://example.org/t '
            'phone:"+353 1 872 0000"',
        )
    )
    assert "Added `ie-test-line`" in reply.text
    assert "Test Line" in only(await fake.say("ana", "!crisis list IE")).text
    reply = only(await fake.say("mod", "!crisis edit ie-test-line chat http://insecure.example"))
    assert "is not an https:// link" in reply.text
    reply = only(await fake.say("mod", "!crisis edit ie-test-line phone +18002738255"))
    assert "old number" in reply.text and "988" in reply.text
    reply = only(await fake.say("mod", "!crisis edit ie-test-line hours Mon-Fri 09:00-17:00"))
    assert "Mon-Fri 09:00-17:00" in reply.text
    assert "There is no entry" in only(await fake.say("mod", "!crisis verify nope")).text
    assert (
        "checked today (2026-11-25)"
        in only(await fake.say("mod", "!crisis verify gb-samaritans")).text
    )
    assert "Removed" in only(await fake.say("mod", "!crisis remove ie-test-line")).text
    info = await app.members.community("fake", COMMUNITY)
    actions = [r.action for r in reversed(await app.audit.recent(info.id))]
    assert actions == ["crisis.add", "crisis.edit", "crisis.verify", "crisis.remove"]


async def test_removing_a_seed_entry_only_hides_it_for_this_community(
    app_factory: AppFactory,
) -> None:
    app, fake = await started(app_factory)
    # Ireland's last line open 24/7: removed only once the moderator confirms
    assert (
        "last line open 24/7" in only(await fake.say("mod", "!crisis remove ie-samaritans")).text
    )
    only(await fake.say("mod", "!crisis remove ie-samaritans confirm:yes"))
    await fake.say("ana", "!me country IE")
    assert "Samaritans" not in only(await fake.say("ana", "!crisis")).text
    other = Place("fake", "elsewhere", "c2", False, "#elsewhere")
    ana = fake.actor("ana")
    before = len(fake.said)
    await app.dispatcher.handle_text(
        Incoming(ana, other, Tier.MEMBER, FakeResponder(fake, ana, other), "Other circle"),
        "!crisis",
        "!",
    )
    assert "Samaritans Ireland" in only(fake.said[before:]).text


async def test_import_is_all_or_nothing_unless_partial(app_factory: AppFactory) -> None:
    _app, fake = await started(app_factory)
    bad = PAIR_TOML.replace('number = "0800 376 633"', 'number = "12"')
    reply = only(await fake.say("mod", f"!crisis import {bad}"))
    assert "Nothing was imported: 2 problem(s) in 2 row(s)" in reply.text
    assert "line 23: nz-youth-line.contact 1" in reply.text
    assert "pair nz-lines has no partner" in reply.text
    assert "no lines for New Zealand" in only(await fake.say("ana", "!crisis list NZ")).text
    single = PAIR_TOML.replace('pair = "nz-lines"\n', "").replace(
        'number = "0800 376 633"', 'number = "12"'
    )
    reply = only(await fake.say("mod", f"!crisis import partial:true {single}"))
    assert "Imported 1 entries; 1 problem(s) refused." in reply.text
    assert "Adult line" in only(await fake.say("ana", "!crisis list NZ")).text


async def test_export_then_import_round_trips(app_factory: AppFactory) -> None:
    app, fake = await started(app_factory)
    clock = app.clock
    assert isinstance(clock, VirtualClock)
    clock.set(datetime(2026, 12, 3, 12, 0, tzinfo=UTC))  # on or after every shipped check date
    only(await fake.say("mod", f"!crisis import {PAIR_TOML}"))
    exported = only(await fake.say("mod", "!crisis export"))
    assert exported.message.attachment is not None
    assert "26 entries." in exported.text
    data = exported.message.attachment.data.decode()
    for entry_id in ("nz-adult-line", "nz-youth-line"):
        only(await fake.say("mod", f"!crisis remove {entry_id}"))
    spec = app.registry.get(("crisis", "import"))
    assert spec is not None
    before = len(fake.said)
    await app.dispatcher.run(fake.incoming("mod"), spec, {"file": exported.message.attachment})
    reply = only(fake.said[before:])
    assert "Imported 26 entries; 0 problem(s) refused." in reply.text
    again = only(await fake.say("mod", "!crisis export"))
    assert again.message.attachment is not None
    assert again.message.attachment.data.decode() == data
    csv = only(await fake.say("mod", "!crisis export csv"))
    assert "CSV cannot hold menu options" in csv.text and "us-988-lifeline" in csv.text


async def test_stale_entries_are_listed_after_24_months(app_factory: AppFactory) -> None:
    # Two years pass through the scheduler. Nothing here starts a quiet period, so the hourly
    # sweep of ended ones is off (answer_every_minutes 0): otherwise 18,000 sweeps with nothing
    # to end were nearly all of this test's time.
    app, fake = await started(app_factory, {"answer_every_minutes": 0})
    assert "Every entry was checked" in only(await fake.say("mod", "!crisis stale")).text
    clock = app.clock
    assert isinstance(clock, VirtualClock)
    await app.scheduler.advance(timedelta(days=365 * 2 + 30))
    text = only(await fake.say("mod", "!crisis stale")).text
    assert "24 entries need a check" in text and "`gb-samaritans` Samaritans: 2026-06-02" in text
    only(await fake.say("mod", "!crisis verify gb-samaritans"))
    assert "23 entries need a check" in only(await fake.say("mod", "!crisis stale")).text


async def test_moderators_extend_the_phrase_list(app_factory: AppFactory) -> None:
    app, fake = await started(app_factory)
    assert not any(
        "carry this alone" in s.text for s in await fake.say("ana", "i feel hopeless", dm=True)
    )
    assert (
        "Added" in only(await fake.say("mod", "!crisis phrases add i feel (hopeless|empty)")).text
    )
    assert "i feel (hopeless|empty)" in only(await fake.say("mod", "!crisis phrases")).text
    assert any(
        "carry this alone" in s.text for s in await fake.say("ana", "I feel EMPTY", dm=True)
    )
    assert "cannot be used" in only(await fake.say("mod", "!crisis phrases add ab")).text
    assert (
        "Removed"
        in only(await fake.say("mod", "!crisis phrases remove i feel (hopeless|empty)")).text
    )
    # The answer found while the phrase was there is not remembered past its removal.
    await app.scheduler.advance(timedelta(minutes=61))
    assert not any(
        "carry this alone" in s.text for s in await fake.say("ana", "I feel EMPTY", dm=True)
    )


async def test_the_same_words_typed_again_are_answered_again(app_factory: AppFactory) -> None:
    """The detector remembers its answers for recent texts (`_Answers`); a remembered answer
    still reaches the member, in every place the words are typed."""
    app, fake = await started(app_factory)
    words = "!me timezone i want to kil myselff"  # a typo: the first check takes the thread
    first = await fake.say("ana", words)
    assert any("carry this alone" in s.text and s.where == "ephemeral" for s in first)
    again = await fake.say("ana", words)
    assert again and all(s.where == "ephemeral" for s in again)
    assert any(s.text.startswith("I'm still here.") for s in again)
    await app.scheduler.advance(timedelta(minutes=61))
    assert any("carry this alone" in s.text for s in await fake.say("ana", words))
    assert any("carry this alone" in s.text for s in await fake.say("ben", words))


async def test_erasing_a_verifier_keeps_the_entry_unnamed(app_factory: AppFactory) -> None:
    app, fake = await started(app_factory)
    only(await fake.say("mod", "!crisis verify gb-samaritans"))
    await crisis(app).delete_user_data("fake:mod")
    info = await app.members.community("fake", COMMUNITY)
    entry = await crisis(app).service.find(info.id, "gb-samaritans")
    assert entry is not None and entry.verified_by == "a former member"


async def test_the_directory_on_postgresql(app_factory: AppFactory) -> None:
    async with fresh_pg_schema(migrated=True) as schema:
        app, fake = await started(app_factory, db_url=pg_url(), db_schema=schema, name="pg")
        only(await fake.say("mod", f"!crisis import {PAIR_TOML}"))
        only(await fake.say("mod", "!crisis remove us-samhsa-national-helpline"))
        await fake.say("ana", "!me country US")
        text = only(await fake.say("ana", "!crisis")).text
        assert "988" in text and "SAMHSA" not in text
        assert "Youth line" in only(await fake.say("ana", "!crisis list NZ")).text
        await crisis(app).start()  # a restart rewrites the seed; community rows stay
        assert "SAMHSA" not in only(await fake.say("ana", "!crisis")).text
        await app.close()


CONSOLE = """\
@ana !crisis
@ana !me country US
@ana !help-now
@ana dm this meeting is killing me
@ana dm I want to kill myself
@ana dm I want to kill myself
:advance 2h
@ana dm I want to kill myself
!crisis alerts #general
!crisis stale
:quit
"""


def test_a_console_session(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "console",
            "--db",
            str(tmp_path / "c.sqlite3"),
            "--clock",
            "2026-11-25T03:00:00Z",
        ],
        input=CONSOLE,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        timeout=60,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    # with no country yet: the worldwide line first, then how to see lines nearer
    first = out.split("[#general, private to ana] Anywhere in the world: Find A Helpline")[1]
    assert "I don't know which country you are in" in first.split("[")[0], out
    assert "[#general, private to ana] **Lines in United States**" in out or (
        "[#general, private to ana] Lines in United States" in out
    )
    assert out.count("[dm ana] It sounds like things are really hard right now") == 2
    assert "[#general]" not in out.split("It sounds like")[1].split("[dm ana]")[0]
    assert "Every entry was checked in the last 24 months" in out


async def test_phrases_are_checked_while_the_bot_keeps_serving(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long message of words no list knows takes seconds to check; a watched channel line
    and a DM are both checked off the event loop, which keeps serving everyone meanwhile."""
    app, fake = await started(app_factory)
    await fake.say("mod", "!crisis watch on")
    loop = asyncio.get_running_loop()
    real = Detector.detect
    blocked: list[str] = []

    def detect(self: Detector, text: str, prefer: str = "") -> Detection | None:
        # Finishes only after the event loop ran something else while it was checking.
        served = threading.Event()
        loop.call_soon_threadsafe(served.set)
        if not served.wait(timeout=10):
            blocked.append(text)
            return None
        return real(self, text, prefer)

    monkeypatch.setattr(Detector, "detect", detect)
    before = len(fake.said)
    await app.dispatcher.read_channel(fake.incoming("ana"), "i want to die")
    answer = only(fake.said[before:])
    assert answer.where == "dm" and "You don't have to carry this alone" in answer.text
    dm_answer = only(await fake.say("ben", "i want to die", dm=True))
    assert "You don't have to carry this alone" in dm_answer.text
    assert blocked == []


async def test_watch_status_says_when_the_platform_stopped_delivering_channel_text(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Watch was switched on; then the platform stopped delivering channel text (Discord: the
    message-content switch turned off). Moderators asking are told it is not working."""
    _app, fake = await started(app_factory)
    await fake.say("mod", "!crisis watch on")
    working = only(await fake.say("mod", "!crisis watch status")).text
    assert "Channel watch is on (every channel)." in working
    assert "not working" not in working

    async def cannot_read_channels(self: FakeResponder) -> str:
        return "The message-content switch is off."

    monkeypatch.setattr(FakeResponder, "cannot_read_channels", cannot_read_channels, raising=False)
    stale = only(await fake.say("mod", "!crisis watch status")).text
    assert "Channel watch is on (every channel)." in stale
    assert "But it is not working now: The message-content switch is off." in stale


@pytest.mark.parametrize("words", ["", "help me", "necesito ayuda", "ich brauche hilfe"])
async def test_a_member_without_a_country_is_shown_a_command_they_can_copy(
    app_factory: AppFactory, words: str
) -> None:
    """Someone in distress copies what they are shown: the command carries its prefix."""
    _app, fake = await started(app_factory)
    shown = "\n".join(s.text for s in await fake.say("ana", f"!crisis {words}".strip()))
    assert "me country" in shown, shown
    assert "`me country" not in shown, shown  # every mention starts with the prefix
    assert "`!me country" in shown, shown
