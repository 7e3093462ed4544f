"""In a watched channel a plea for help ("sos", "911", "help me", "somebody help me please",
"SOS please i cant do this", "ayuda por favor") gets the crisis lines privately, once in the
quiet period, in the plea's language; ordinary chat that uses a help word ("thanks for the
help", "help wanted: volunteers for Tuesday", "911 was the year...") gets nothing. A staff
crisis command a member tries gets the refusal and a short pointer, not the whole crisis block.

The faults this holds down: channel watch looked only for crisis phrases, so a message that was
only a call for help got no answer at all in a watched channel, though the same words in a DM
or as a command (`!sos`) got the lines; and `@zed !crisis watch on` showed a plain member the
whole crisis block before "Only a moderator can use crisis watch on.".
"""

from __future__ import annotations

import itertools
import weakref
from datetime import UTC, datetime

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.clock import VirtualClock
from bot.core.permissions import Tier
from cogs.crisis.answer import CALL_WORDS, load_answers
from cogs.crisis.cog import CRISIS_DIR, CrisisCog
from tests.harness.app import AppFactory
from tests.harness.platform import FakePlatform, Said

START = datetime(2026, 12, 1, 2, 30, tzinfo=UTC)
ANSWERS, _problems = load_answers(CRISIS_DIR)
LANGUAGES = ["en", "es", "de", "fr", "pt", "it", "nl"]
# Words people put around a call for help, as newcomers wrote them (not read from the data).
LEADS = {
    "en": ["someone", "somebody", "please", "hey guys", "anyone", "oh god"],
    "es": ["alguien", "por favor", "dios mío"],
    "de": ["bitte", "jemand", "leute"],
    "fr": ["quelqu'un", "svp", "mon dieu"],
    "pt": ["alguém", "por favor", "gente"],
    "it": ["qualcuno", "per favore", "ti prego"],
    "nl": ["iemand", "alsjeblieft", "jongens"],
}
TAILS = {
    "en": ["please", "now", "pls", "i can't do this", "i cant do this anymore", "im scared"],
    "es": ["por favor", "ya", "no puedo más", "tengo miedo"],
    "de": ["bitte", "jetzt", "ich kann nicht mehr", "ich habe angst"],
    "fr": ["svp", "vite", "je n'en peux plus", "j'ai peur"],
    "pt": ["por favor", "agora", "não aguento mais", "tenho medo"],
    "it": ["per favore", "subito", "non ce la faccio più", "ho paura"],
    "nl": ["alsjeblieft", "nu", "ik kan niet meer", "ik ben bang"],
}
# Ordinary chat around a help word: (before, after); at least one of them is there.
CHAT = {
    "en": (
        ["thanks for the", "can someone", "is there a", "who can", "i called the"],
        [
            "me set up the bot?",
            "wanted: volunteers for Tuesday",
            "was the year everything changed",
            "number on the website is out of date",
            "with the meeting link",
            "was a great song",
        ],
    ),
    "es": (
        ["gracias por la", "alguien sabe si la", "la"],
        ["con el enlace de la reunión", "para configurar el bot", "de la web está desactualizada"],
    ),
    "de": (
        ["danke für die", "wo finde ich die", "die"],
        ["beim einrichten des bots", "gesucht: freiwillige für dienstag", "nummer ist veraltet"],
    ),
    "fr": (
        ["merci pour l'", "où est la", "la"],
        ["pour configurer le bot", "recherchée : bénévoles pour mardi", "du site est périmée"],
    ),
    "pt": (
        ["obrigado pela", "onde está a", "a"],
        ["com o link da reunião", "para configurar o bot", "do site está desatualizada"],
    ),
    "it": (
        ["grazie per l'", "dove trovo la", "la"],
        ["per il link della riunione", "per configurare il bot", "del sito è vecchia"],
    ),
    "nl": (
        ["bedankt voor de", "waar vind ik de", "de"],
        ["met de link van de meeting", "om de bot in te stellen", "op de website is oud"],
    ),
}
# Whole words of crisis phrases ("suicide") belong to the phrase detector's answer, not here.
TOPICS = {"suicide", "suicidio", "suizid", "suicídio", "zelfmoord"}
MARKS = ["", "!", "?", "...", "!!!", " :("]
PROPERTY = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_APPS: weakref.WeakKeyDictionary[AppFactory, tuple[App, FakePlatform]] = (
    weakref.WeakKeyDictionary()
)
_PEOPLE = itertools.count()


def asks(language: str) -> list[str]:
    return sorted({*ANSWERS.text(language).help_words, *CALL_WORDS} - TOPICS)


def languages_of(word: str) -> set[str]:
    """The answer languages a help word may be answered in (every one for `sos`, `911`)."""
    if word in CALL_WORDS:
        return set(LANGUAGES)
    return {lang for lang in LANGUAGES if word in ANSWERS.text(lang).help_words}


async def watched(app_factory: AppFactory) -> tuple[App, FakePlatform]:
    """Channel watch on for every channel, alerts off; one app per test, shared by examples."""
    if app_factory not in _APPS:
        app, fake = await app_factory.on_platform(
            ["general", "crisis"], clock=VirtualClock(START), actors={"mod": Tier.MODERATOR}
        )
        said = await fake.say("mod", "!crisis watch on")
        assert "Channel watch is on for every channel." in said[0].text
        _APPS[app_factory] = (app, fake)
    return _APPS[app_factory]


def answered_in(said: Said) -> set[str]:
    return {lang for lang in LANGUAGES if ANSWERS.text(lang).not_a_service in said.text}


@st.composite
def pleas(draw: st.DrawFn) -> tuple[str, str]:
    """(a plea, its help word): a help word alone or with a few words around it."""
    language = draw(st.sampled_from(LANGUAGES))
    word = draw(st.sampled_from(asks(language)))
    lead = draw(st.lists(st.sampled_from(LEADS[language]), max_size=1))
    tail = draw(st.lists(st.sampled_from(TAILS[language]), max_size=2))
    ups = draw(st.booleans())
    text = " ".join([*lead, word.upper() if ups else word, *tail]) + draw(st.sampled_from(MARKS))
    return text, word


@st.composite
def chats(draw: st.DrawFn) -> str:
    """Ordinary chat using a help word: a help word with chat before or after it."""
    language = draw(st.sampled_from(LANGUAGES))
    word = draw(st.sampled_from(asks(language)))
    before, after = CHAT[language]
    pre = draw(st.sampled_from(["", *before]))
    post = draw(st.sampled_from(["", *after]) if pre else st.sampled_from(after))
    return " ".join(p for p in (pre, word, post) if p) + draw(st.sampled_from(MARKS))


@PROPERTY
@given(plea=pleas())
@example(("sos", "sos"))
@example(("911", "911"))
@example(("help me", "help me"))
@example(("somebody help me please", "help me"))
@example(("SOS please i cant do this", "sos"))
@example(("ayuda por favor", "ayuda por favor"))
async def test_a_plea_in_a_watched_channel_gets_one_private_answer(
    app_factory: AppFactory, plea: tuple[str, str]
) -> None:
    text, word = plea
    _app, fake = await watched(app_factory)
    person = f"p{next(_PEOPLE)}"
    said = await fake.say(person, text)
    assert [(s.where, s.to) for s in said] == [("dm", person)], (text, said)
    assert "findahelpline.com" in said[0].text
    assert answered_in(said[0]) & languages_of(word.lower()), (text, said[0].text)
    # The quiet period: a second plea within the hour gets nothing more.
    assert await fake.say(person, text) == []


@PROPERTY
@given(text=chats())
@example("can someone help me set up the bot?")
@example("thanks for the help")
@example("911 was the year everything changed")
@example("help wanted: volunteers for Tuesday")
async def test_ordinary_chat_using_a_help_word_gets_nothing(
    app_factory: AppFactory, text: str
) -> None:
    app, fake = await watched(app_factory)
    cog = app.cogs["crisis"]
    assert isinstance(cog, CrisisCog)
    assume(cog.detector.detect(text) is None)  # a crisis phrase has its own answer
    assert await fake.say(f"p{next(_PEOPLE)}", text) == [], text


async def test_a_plea_gets_the_lines_without_alerting_the_moderators(
    app_factory: AppFactory,
) -> None:
    """With alerts on, a plea in a watched channel asks for the lines as `!sos` does: the
    member gets them privately and no moderator is alerted; a crisis phrase still alerts."""
    _app, fake = await app_factory.on_platform(
        ["general", "crisis"], clock=VirtualClock(START), actors={"mod": Tier.MODERATOR}
    )
    await fake.say("mod", "!crisis alerts #mods")
    await fake.say("mod", "!crisis watch on")
    said = await fake.say("ana", "somebody help me please")
    assert [s.where for s in said] == ["dm"]
    assert ANSWERS.text("en").moderators_told not in said[0].text
    assert await fake.say("ana", "sos") == []
    phrase = await fake.say("cat", "i want to die")  # a crisis phrase alerts as before
    alert = [s for s in phrase if s.where == "channel"]
    assert [s.to for s in alert] == ["mods"] and "die" not in alert[0].text
    # Watch off: the same plea is not read.
    await fake.say("mod", "!crisis watch off")
    assert await fake.say("ben", "sos") == []


async def test_a_member_trying_a_staff_crisis_command_gets_a_pointer_not_the_lines(
    app_factory: AppFactory,
) -> None:
    _app, fake = await app_factory.on_platform(["general", "crisis"], clock=VirtualClock(START))
    said = await fake.say("zed", "!crisis watch on")
    assert [s.where for s in said] == ["ephemeral"]
    assert said[0].text.splitlines() == [
        "Only a moderator can use `crisis watch on`.",
        "If you need a crisis line, type `!crisis`.",
    ]
