"""When a crisis phrase reaches the moderators, decided by where the member wrote it.

Words written where others read them or addressed to the bot (a watched channel, a published
or ordinary command option, a command or a message in a DM) may alert the community's
moderators, and the member's private answer then says so. Words written into a space the bot
keeps for the member alone (a journal entry, a worksheet answer, the urge log, any
`Option.private_text`, an answer to an open dialogue) get the private answer only: nothing
reaches the moderators, whether channel watch is on or alerts are set.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from benchmarks.crisis_phrases import load_test_sets
from bot.app import App
from bot.core import Written
from bot.core.errors import DeliveryError
from bot.core.message import Message
from bot.core.permissions import Tier
from bot.paths import DATA_DIR
from cogs.crisis import render
from cogs.crisis.answer import load_answers
from cogs.crisis.cog import CRISIS_DIR
from cogs.crisis.phrases import Concern, shipped_detector
from tests.harness.app import AppFactory
from tests.harness.console import circlebot
from tests.harness.platform import FakePlatform, FakeResponder, Said

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TOLD = "I have also let this community's moderators know"
# The same sentence in every language of the answer (data/crisis/answers.toml).
ANSWERS, _answer_problems = load_answers(CRISIS_DIR)
TOLD_ANY = tuple(text.moderators_told for text in ANSWERS.texts.values())


def told(answer: str) -> bool:
    """Whether the answer says the moderators were told, in any language of the answer."""
    return any(sentence in answer for sentence in TOLD_ANY)


def _corpus() -> list[str]:
    """Distress texts of the detector's test set (every language and kind) that the shipped
    phrases find without a fuzzy lookup (so each example stays quick)."""
    detector, problems = shipped_detector(DATA_DIR / "crisis" / "phrases")
    assert problems == []
    found = []
    for cases in load_test_sets().values():
        for kind in Concern:
            for text in cases.get(kind.value, []):
                answered, detection = detector.detect_without_lookup(text)
                if answered and detection is not None and not text.startswith(("!", "/")):
                    found.append(text)
    return found


CORPUS = _corpus()
# An index into the corpus: hypothesis would print all of it for `sampled_from`.
TEXTS = st.integers(0, len(CORPUS) - 1).map(CORPUS.__getitem__)

Say = Callable[[FakePlatform, str, str], Awaitable[list[Said]]]


async def _channel(fake: FakePlatform, who: str, text: str) -> list[Said]:
    return await fake.say(who, text)


async def _published(fake: FakePlatform, who: str, text: str) -> list[Said]:
    return await fake.say(who, f"!me name {text}")  # a pseudonym: others would see it


async def _private_option(fake: FakePlatform, who: str, text: str) -> list[Said]:
    return await fake.say(who, f"!journal write {text}")  # `Option.private_text`, in a channel


async def _dm_command(fake: FakePlatform, who: str, text: str) -> list[Said]:
    return await fake.say(who, f"!crisis now {text}", dm=True)


async def _dm_published(fake: FakePlatform, who: str, text: str) -> list[Said]:
    return await fake.say(who, f"!me name {text}", dm=True)


async def _journal(fake: FakePlatform, who: str, text: str) -> list[Said]:
    before = len(fake.said)
    await fake.say(who, "!journal write", dm=True)  # the entry's form: a dialogue
    await fake.say(who, text, dm=True)
    return fake.said[before:]


async def _worksheet(fake: FakePlatform, who: str, text: str) -> list[Said]:
    before = len(fake.said)
    await fake.say(who, "!worksheet start cba")
    await fake.say(who, "drinking", dm=True)
    await fake.say(who, text, dm=True)
    return fake.said[before:]


async def _urge_log(fake: FakePlatform, who: str, text: str) -> list[Said]:
    return await fake.say(who, f"!urge log 9 {text}")


async def _dm_text(fake: FakePlatform, who: str, text: str) -> list[Said]:
    return await fake.say(who, text, dm=True)


# Each source: how the member writes there, and whether its words may alert the moderators.
SOURCES: dict[str, tuple[Say, bool]] = {
    "channel message": (_channel, True),
    "published command option": (_published, True),
    "private command option": (_private_option, False),
    "DM command": (_dm_command, True),
    "DM published command option": (_dm_published, True),
    "journal": (_journal, False),
    "worksheet answer": (_worksheet, False),
    "urge log": (_urge_log, False),
    "DM free text": (_dm_text, True),
}
_names = itertools.count()


@pytest_asyncio.fixture
async def world(app_factory: AppFactory) -> AsyncIterator[tuple[App, FakePlatform]]:
    app, fake = await app_factory.on_platform(actors={"mod": Tier.MODERATOR})
    yield app, fake


async def _set(fake: FakePlatform, *, watch: bool, alerts: bool) -> None:
    await fake.say("mod", "!crisis watch on" if watch else "!crisis watch off")
    await fake.say("mod", "!crisis alerts #mods" if alerts else "!crisis alerts")


def _alerts(said: list[Said]) -> list[Said]:
    return [s for s in said if s.where == "channel" and s.to == "mods"]


def _private_to(said: list[Said], who: str) -> str:
    return "\n".join(s.text for s in said if s.where in ("dm", "ephemeral") and s.to == who)


@PROPERTY
@given(
    source=st.sampled_from(sorted(SOURCES)),
    text=TEXTS,
    watch=st.booleans(),
    alerts=st.booleans(),
)
@example(
    source="journal",
    text="Last year I wanted to kill myself. Now I'm 200 days sober.",
    watch=False,
    alerts=True,
)
@example(source="worksheet answer", text="honestly I just want to die", watch=False, alerts=True)
@example(source="urge log", text="I want to kill myself", watch=True, alerts=True)
@example(source="private command option", text="I want to kill myself", watch=True, alerts=True)
@example(source="channel message", text="honestly I want to kill myself", watch=True, alerts=True)
async def test_only_shared_words_alert_and_every_alert_is_disclosed(
    world: tuple[App, FakePlatform], source: str, text: str, watch: bool, alerts: bool
) -> None:
    _app, fake = world
    await _set(fake, watch=watch, alerts=alerts)
    who = f"m{next(_names)}"  # a new member: no quiet period yet
    write, shared = SOURCES[source]
    said = await write(fake, who, text)
    sent = _alerts(said)
    answer = _private_to(said, who)
    read = source != "channel message" or watch  # plain chat is read only under watch
    assert len(sent) == (1 if shared and alerts and read else 0), (source, sent)
    # Every alert is matched by the disclosure in the member's private answer, and the answer
    # never claims an alert that was not sent.
    assert told(answer) == bool(sent), answer
    if read:  # the private answer with the lines, in the words' language
        assert "findahelpline.com" in answer, answer
    for alert in sent:  # who, never what: the fixed text; no pseudonym chosen, the mention
        assert alert.text == render.alert_text(name=render.none_chosen())
        assert alert.message.mention == f"fake:{who}"
    # Nothing of the member's words reaches any channel, whatever the source.
    assert all(s.where != "channel" or text not in s.text for s in said)
    if not shared:
        assert [s for s in said if s.where == "channel"] == []


def test_every_source_tag_is_classified_as_the_rule_says() -> None:
    shared = [Written.CHANNEL, Written.DM, Written.MEETINGS, Written.command("general")]
    private = [
        Written.DIALOGUE,
        Written.JOURNAL,
        Written.WORKSHEET,
        Written.DM_UNANSWERED,
        Written.command("journal", private=True),
        "something-new",  # a source nobody classified is private until it is
    ]
    assert all(Written.shared(s) for s in shared)
    assert not any(Written.shared(s) for s in private)


async def test_a_third_person_report_does_not_name_the_writer_as_the_one_at_risk(
    world: tuple[App, FakePlatform],
) -> None:
    _app, fake = world
    await _set(fake, watch=True, alerts=True)
    said = await fake.say("dan", "I'm not suicidal but my friend said she wants to kill herself")
    alert = _alerts(said)[0].text
    assert "they, or someone they wrote about, may be at risk" in alert
    answer = _private_to(said, "dan")
    assert TOLD in answer and "you may need support" not in answer


async def test_closed_dms_under_watch_post_nothing_public_and_the_alert_says_so(
    world: tuple[App, FakePlatform], monkeypatch: pytest.MonkeyPatch
) -> None:
    _app, fake = world
    await _set(fake, watch=True, alerts=True)

    async def closed(self: FakeResponder, message: Message) -> None:
        raise DeliveryError("their DMs are closed")

    monkeypatch.setattr(FakeResponder, "dm", closed)
    said = await fake.say("bo", "I want to kill myself")
    assert [s for s in said if s.where == "channel" and s.to != "mods"] == []
    sent = _alerts(said)
    # The alert went first (so an answer could tell them), then the closed DMs were reported.
    assert sent[-1].text.startswith(render.alert_dms_closed())
    assert all("kill" not in s.text for s in sent)


def test_console_private_spaces_never_alert(tmp_path: Path) -> None:
    """The reported case: journal, worksheet answers and the urge log, alerts on, watch off."""
    result = circlebot(
        "console",
        "--db",
        str(tmp_path / "c.sqlite3"),
        stdin=(
            "!crisis alerts #mods\n"
            "@cat dm !journal write Last year I wanted to kill myself. Now I'm 200 days sober.\n"
            "@ben !worksheet start cba\n"
            "@ben dm drinking\n"
            "@ben dm honestly I just want to die\n"
            "@dan !urge log 9 I want to kill myself\n"
            ":quit\n"
        ),
        cwd=tmp_path,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "[#mods]" not in out
    assert "moderators know" not in out
    assert out.count("You don't have to carry this alone") == 3
    assert "Saved privately" in out and "Only you can read it." in out


def test_console_watch_alerts_are_disclosed_and_the_watch_reply_says_where(
    tmp_path: Path,
) -> None:
    """The reported case: watch on, alerts to #mods; ana and dan are told, dan is not named
    as the one at risk, and `watch on` names #mods and says members are told."""
    result = circlebot(
        "console",
        "--db",
        str(tmp_path / "c.sqlite3"),
        stdin=(
            "!crisis alerts #mods\n"
            "!crisis watch on\n"
            "@ana honestly I want to kill myself\n"
            "@dan I'm not suicidal but my friend said she wants to kill herself\n"
            ":quit\n"
        ),
        cwd=tmp_path,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Crisis alerts are on: #mods gets the writer's pseudonym" in out
    assert "the private message tells the writer that the moderators know" in out
    for who in ("ana", "dan"):
        dm = out.split(f"[dm {who}]", 1)[1].split("\n[", 1)[0]
        assert TOLD in dm
        # no pseudonym chosen: the account comes as the mention, never in the text
        assert f"Pseudonym: none chosen. Their account:\n  @{who}\n" in out
    assert "you may need support" not in out
    assert "someone they wrote about" in out
    assert "kill" not in "".join(line for line in out.split("\n[") if line.startswith("#mods]"))


PRIVATE_SOURCES = sorted(name for name, (_w, shared) in SOURCES.items() if not shared)
SHARED_SOURCES = sorted(name for name, (_w, shared) in SOURCES.items() if shared)
DIALOGUES = {"journal", "worksheet answer"}  # still open after: a DM's free text answers them


@PROPERTY
@given(
    first=st.sampled_from(PRIVATE_SOURCES),
    then=st.sampled_from(SHARED_SOURCES),
    private_text=TEXTS,
    text=TEXTS,
    watch=st.booleans(),
)
@example(
    first="journal",
    then="channel message",
    private_text="Last year I wanted to kill myself. Now I'm 200 days sober.",
    text="I want to kill myself tonight",
    watch=True,
)
@example(
    first="private command option",
    then="DM free text",
    private_text="Last year I wanted to kill myself. Now I'm 200 days sober.",
    text="I want to kill myself tonight",
    watch=False,
)
async def test_private_words_first_never_hold_back_the_alert_for_shared_words_after(
    world: tuple[App, FakePlatform],
    first: str,
    then: str,
    private_text: str,
    text: str,
    watch: bool,
) -> None:
    """Within one quiet period: words written privately first start the answer's period but
    not the alert's, so shared words after them still alert, and the member is told."""
    if first in DIALOGUES and then == "DM free text":
        return  # that DM is the open dialogue's next answer: private words again
    _app, fake = world
    await _set(fake, watch=watch, alerts=True)
    who = f"m{next(_names)}"
    before = await SOURCES[first][0](fake, who, private_text)
    assert _alerts(before) == []
    said = await SOURCES[then][0](fake, who, text)
    read = then != "channel message" or watch
    sent = _alerts(said)
    assert len(sent) == (1 if read else 0), (first, then, sent)
    assert told(_private_to(said, who)) == bool(sent)
    again = await SOURCES[then][0](fake, who, text)
    assert _alerts(again) == []  # one alert per period
