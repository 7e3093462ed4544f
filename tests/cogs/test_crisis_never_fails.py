"""Asking for help never fails: any phrasing, the right country, the emergency number.

Each test types what a member would and checks what they see, through the recording platform.
"""

from __future__ import annotations

import ast
import logging
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest.mock import patch
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.app import App
from bot.clock import VirtualClock
from bot.core.commands import OptionType
from bot.core.convert import find_country
from bot.core.permissions import Tier
from bot.i18n import using_language
from bot.models import Member
from cogs.crisis import render
from cogs.crisis.answer import EmergencyNumber, load_answers, plural_category
from cogs.crisis.cog import CRISIS_DIR, CrisisCog
from cogs.crisis.directory import COUNTRIES, Contact, Entry, MenuChoice, country_in_words
from cogs.crisis.phrases import load_phrase_lists
from cogs.crisis.render import (
    CLOSED,
    OPEN,
    answer_words,
    commands_pointer,
    emergency_numbers,
    lines_again,
    lines_block,
    none_open_now,
    reach,
)
from tests.harness.app import AppFactory
from tests.harness.platform import COMMUNITY, FakePlatform, Said

START = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
FALLBACK = "[Find A Helpline](https://findahelpline.com/)"
CARING = "You don't have to carry this alone"
STILL_HERE = "I'm still here."
US_LINES = "**Lines in United States**"
US_EMERGENCY = "Emergency number in United States: **911**."
PROPERTY = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def started(
    app_factory: AppFactory, *, rate_limit: bool = False
) -> tuple[App, FakePlatform]:
    return await app_factory.on_platform(
        ["general", "crisis"],
        clock=VirtualClock(START),
        actors={"mod": Tier.MODERATOR},
        fast_typing=not rate_limit,
    )


async def us_member(fake: FakePlatform, name: str = "ana") -> None:
    await fake.say(name, "!me country US")


def only(said: list[Said]) -> Said:
    assert len(said) == 1, said
    return said[0]


def crisis(app: App) -> CrisisCog:
    cog = app.cogs["crisis"]
    assert isinstance(cog, CrisisCog)
    return cog


@pytest.mark.parametrize(
    "line",
    [
        "!crisis help me",
        "!crisis I need someone to talk to",
        "!help-now please",
        "!crisis now please help",
        "!crisis now I'm not sure what to say",
    ],
)
async def test_any_trailing_words_still_show_the_lines(app_factory: AppFactory, line: str) -> None:
    _app, fake = await started(app_factory)
    await us_member(fake)
    reply = only(await fake.say("ana", line))
    assert reply.where == "ephemeral"
    assert "Too many values" not in reply.text
    assert US_LINES in reply.text and "988" in reply.text
    assert US_EMERGENCY in reply.text and FALLBACK in reply.text


@pytest.mark.parametrize(
    ("words", "country"),
    [
        ("help me", "United States"),  # not Montenegro
        ("in", "United States"),  # not India
        ("us", "United States"),  # "us" is a word; the member's own country applies
        ("me", "United States"),
        ("I AM IN PAIN", "United States"),  # shouting is not a list of country codes
        ("US", "United States"),
        ("GB", "United Kingdom"),
        ("country:gb help me", "United Kingdom"),
        ("country=IE", "Ireland"),
        ("country:germany", "Germany"),
        ("United Kingdom", "United Kingdom"),
        ("germany", "Germany"),
    ],
)
async def test_a_country_is_chosen_only_explicitly(
    app_factory: AppFactory, words: str, country: str
) -> None:
    _app, fake = await started(app_factory)
    await us_member(fake)
    text = only(await fake.say("ana", f"!crisis now {words}")).text
    assert f"Emergency number in {country}:" in text, text
    for other in ("Montenegro", "India"):
        assert other not in text


async def test_crisis_list_names_the_emergency_number_too(app_factory: AppFactory) -> None:
    _app, fake = await started(app_factory)
    text = only(await fake.say("ana", "!crisis list FR")).text
    assert "3114" in text
    assert "Emergency number in France: **15** (ambulance) or **112**." in text
    assert (
        "Emergency number in Japan: **119**."
        in only(await fake.say("ana", "!crisis list JP")).text
    )


async def test_now_us_shows_the_us_lines_for_a_member_elsewhere(app_factory: AppFactory) -> None:
    _app, fake = await started(app_factory)
    await fake.say("ana", "!me country DE")
    text = only(await fake.say("ana", "!crisis now US")).text
    assert US_LINES in text and US_EMERGENCY in text
    text = only(await fake.say("ana", "!crisis now")).text
    assert "Emergency number in Germany: **112**." in text


async def test_a_parse_error_under_crisis_still_shows_the_lines(app_factory: AppFactory) -> None:
    _app, fake = await started(app_factory)
    await us_member(fake)
    reply = only(await fake.say("ana", "!crisis list I want to die"))
    assert CARING in reply.text and US_LINES in reply.text and US_EMERGENCY in reply.text
    assert "Too many values" not in reply.text
    await fake.say("ben", "!me country US")
    reply = only(await fake.say("ben", "!crisis list United Kingdom youth extra words"))
    assert "Too many values" in reply.text and US_LINES in reply.text


@pytest.mark.parametrize(
    "line",
    ["!crisis stale", "!crisis remove us-988-lifeline", "!crisis verify gb-samaritans"],
)
async def test_a_member_in_a_moderator_subcommand_gets_the_way_to_the_lines(
    app_factory: AppFactory, line: str
) -> None:
    """The refusal and how to get the lines; the whole crisis answer would read as "are you
    OK?" to a member who was only looking around."""
    app, fake = await started(app_factory)
    await us_member(fake)
    reply = only(await fake.say("ana", line))
    assert "Only a moderator can use" in reply.text
    assert reply.text.endswith("If you need a crisis line, type `!crisis`.")
    assert US_LINES not in reply.text
    assert len(await crisis(app).service.directory(None, "US")) >= 2


async def test_rate_limited_crisis_still_shows_the_lines(app_factory: AppFactory) -> None:
    _app, fake = await started(app_factory, rate_limit=True)
    await us_member(fake)
    for _n in range(12):
        reply = only(await fake.say("ana", "!crisis"))
        assert US_LINES in reply.text and US_EMERGENCY in reply.text
    assert "slow down" in reply.text


async def test_help_with_distress_words_leads_to_the_lines(app_factory: AppFactory) -> None:
    _app, fake = await started(app_factory)
    await us_member(fake)
    reply = only(await fake.say("ana", "!help me please i want to die"))
    assert CARING in reply.text and US_LINES in reply.text and US_EMERGENCY in reply.text
    assert "There is no command" not in reply.text
    # Within the hour, a command still gets a short private answer, never silence.
    reply = only(await fake.say("ana", "!help i want to kill myself"))
    assert reply.where == "ephemeral" and STILL_HERE in reply.text and US_EMERGENCY in reply.text
    # Help with ordinary words is unchanged.
    assert "There is no command" in only(await fake.say("ana", "!help flying saucers")).text


async def test_unknown_command_with_distress_words_leads_to_the_lines(
    app_factory: AppFactory,
) -> None:
    _app, fake = await started(app_factory)
    await us_member(fake)
    reply = only(await fake.say("ana", "!please i want to end my life"))
    assert reply.where == "ephemeral" and CARING in reply.text and US_LINES in reply.text
    assert await fake.say("ana", "!play some music") == []  # another bot's command


async def test_another_bots_command_records_nobody(app_factory: AppFactory) -> None:
    app, fake = await started(app_factory)
    await fake.say("ana", "!ping")
    assert await fake.say("cai", "!play some music") == []
    async with app.db.sessions() as session:
        keys = set(await session.scalars(select(Member.actor_key)))
    assert "fake:ana" in keys and "fake:cai" not in keys


async def test_a_failure_inside_crisis_still_shows_a_way_to_help(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, fake = await started(app_factory)
    await us_member(fake)

    async def broken(*_args: object, **_kw: object) -> None:
        raise RuntimeError("the database is unreachable")

    monkeypatch.setattr(crisis(app).service, "directory", broken)
    text = only(await fake.say("ana", "!crisis help me")).text
    assert FALLBACK in text and "call your local emergency number" in text
    assert "something went wrong on my side" in text


async def test_a_distress_pseudonym_is_not_published(app_factory: AppFactory) -> None:
    app, fake = await started(app_factory)
    await us_member(fake)
    said = await fake.say("ana", "!me name i want to kill myself")
    assert [s.where for s in said] == ["ephemeral", "ephemeral"]
    assert CARING in said[0].text and US_EMERGENCY in said[0].text
    assert "haven't shown those words to anyone" in said[1].text
    info = await app.members.community("fake", COMMUNITY)
    assert await app.members.pseudonym(info.id, "fake:ana") is None
    assert "River" in only(await fake.say("ana", "!me name River")).text
    assert await app.members.pseudonym(info.id, "fake:ana") == "River"


async def test_distress_in_any_member_written_argument_is_answered(
    app_factory: AppFactory,
) -> None:
    _app, fake = await started(app_factory)
    await us_member(fake)
    # A time zone is no place for these words, and the refusal would be cold: care instead.
    reply = only(await fake.say("ana", "!me timezone i dont want to be alive anymore"))
    assert CARING in reply.text and "is not a time zone" not in reply.text


async def test_a_dm_always_gets_a_caring_answer(app_factory: AppFactory) -> None:
    app, fake = await started(app_factory)
    await us_member(fake)
    text = only(await fake.say("ana", "! crisis", dm=True)).text
    assert US_LINES in text and "only understand commands" not in text
    first = only(await fake.say("ana", "I want to die", dm=True)).text
    assert CARING in first and US_EMERGENCY in first
    for _n in range(3):
        again = only(await fake.say("ana", "I still want to die", dm=True)).text
        assert STILL_HERE in again and US_EMERGENCY in again
        assert "only understand commands" not in again
        await app.scheduler.advance(timedelta(minutes=5))
    assert "only understand commands" in only(await fake.say("ana", "hello", dm=True)).text


@pytest.mark.parametrize("country", ["US", "GB", "ES", ""])
async def test_a_repeat_answer_within_the_quiet_hour_still_carries_a_line(
    app_factory: AppFactory, country: str
) -> None:
    """Within the hour after a first answer, words addressed to the bot get the short answer;
    it carries the member's country lines (when the directory has some) and the worldwide
    fallback, in a DM and in a command typed in a channel, so help is on the screen wherever
    the member is now, also with no country set."""
    app, fake = await started(app_factory)
    if country:
        await fake.say("ana", f"!me country {country}")
    first = only(await fake.say("ana", "I want to die", dm=True)).text
    assert CARING in first
    cog = crisis(app)
    lines = await cog.service.directory(None, country) if country else []
    for said in (
        await fake.say("ana", "I still want to die", dm=True),
        await fake.say("ana", "!journal write i want to die tonight"),
    ):
        again = said[0].text
        assert STILL_HERE in again and FALLBACK in again, again
        assert all(entry.name in again for entry in lines), again
    assert country != "US" or US_LINES in again


async def test_full_width_and_spaced_prefixes(app_factory: AppFactory) -> None:
    _app, fake = await started(app_factory)
    await us_member(fake)
    assert US_LINES in only(await fake.say("ana", "！crisis")).text
    assert US_LINES in only(await fake.say("ana", "! help-now")).text
    assert CARING in only(await fake.say("ana", "！ i want to kill myself")).text
    assert await fake.say("ana", "! wow, nice") == []  # an exclamation, not a command


async def test_the_emergency_number_comes_first_for_an_overdose(app_factory: AppFactory) -> None:
    _app, fake = await started(app_factory)
    await us_member(fake)
    text = only(await fake.say("ana", "!help-now my friend took too many pills")).text
    first = text.split("\n")[0]
    assert first.startswith("If someone may have taken too much") and "**911**" in first
    assert text.index("**911**") < text.index("988")
    text = only(await fake.say("ben", "!crisis now he is not breathing country:GB")).text
    assert "**999**" in text.split("\n")[0]
    text = only(await fake.say("cai", "!crisis now she will not wake up")).text
    assert text.split("\n")[0] == (
        "If you are in danger right now, call your local emergency number."
    )


async def test_the_answer_follows_the_language_of_the_words(app_factory: AppFactory) -> None:
    _app, fake = await started(app_factory)
    await fake.say("ana", "!me country ES")
    text = only(await fake.say("ana", "!crisis now mi amigo tomó demasiadas pastillas")).text
    assert (
        text.split("\n")[0]
        == "Si alguien ha tomado demasiado, le cuesta respirar o no despierta, llama ya al "
        "**112**."
    )
    assert "no un servicio de crisis" in text
    assert "**Líneas en España**" in text and "Línea 024" in text
    await fake.say("eva", "!me country AR")
    text = only(await fake.say("eva", "!crisis now quiero morir")).text
    assert "**Líneas en Argentina**" not in text  # no lines there yet: said in Spanish
    assert "Todavía no tengo líneas para Argentina en mi directorio." in text
    assert "En cualquier parte del mundo: [Find A Helpline]" in text
    await fake.say("ben", "!me country DE")
    text = only(await fake.say("ben", "!crisis now er wacht nicht auf")).text
    assert text.split("\n")[0].startswith("Wenn jemand zu viel genommen hat")
    assert "**Hilfetelefone – Deutschland**" in text and "ruf **0800 1110111** an" in text
    assert "rund um die Uhr erreichbar" in text and "kostenlos" in text
    # A word several languages share is answered in the member's own language.
    text = only(await fake.say("cai", "!crisis now I overdosed")).text
    assert text.split("\n")[0].startswith("If you are in danger right now")
    assert "I'm a peer-support bot" in text


async def test_every_language_has_a_complete_answer(app_factory: AppFactory) -> None:
    app, fake = await started(app_factory)
    await us_member(fake)
    cog = crisis(app)
    ctx = await app.dispatcher.context(fake.incoming("ana"))
    languages = {"en", "es", "de", "fr", "pt", "it", "nl"}
    phrase_lists, _problems = load_phrase_lists(CRISIS_DIR / "phrases")
    languages |= {pl.language for pl in phrase_lists}
    assert languages <= set(cog.answers.texts), "a detector language has no crisis answer"
    seen: set[str] = set()
    for language in sorted(languages):
        for kind in ("suicide", "overdose", "self-harm", "domestic-violence"):
            message = await cog.answer(ctx, distress=True, kind=kind, language=language)
            text = message.text[0]
            assert isinstance(text, str)
            assert "**911**" in text and FALLBACK in text
            first = text.split("\n")[0]
            assert first not in seen, f"{language} {kind} repeats another language's text"
            seen.add(first)
            for word in ("committed", "successful"):
                assert word not in text.lower()
        still = (await cog.still_here(ctx)).text[0]
        assert isinstance(still, str) and "**911**" in still


# What the crisis answer shows from cogs/crisis/render.py: the lines block (`lines_block`), the
# short answer's lines (`lines_again`), the emergency number, the sentence when no line is open
# (`none_open_now`) and, after an answer to plain words, where the commands are. Every text these
# and the functions they call can show needs a reviewed translation in every language of
# data/crisis/answers.toml.
ANSWER_PARTS = (
    "lines_block",
    "lines_again",
    "emergency_numbers",
    "none_open_now",
    "commands_pointer",
)


def render_texts(roots: tuple[str, ...] | None = None) -> dict[str, str]:
    """The English texts of render.py, each with how it is translated (`_` or `ngettext`,
    by its singular): of the functions `roots` reach within render.py, else of all of it."""
    tree = ast.parse((ROOT / "cogs" / "crisis" / "render.py").read_text(encoding="utf-8"))
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    todo = list(roots) if roots is not None else list(functions)
    reached: set[str] = set()
    texts: dict[str, str] = {}
    while todo:
        name = todo.pop()
        if name in reached or name not in functions:
            continue
        reached.add(name)
        for node in ast.walk(functions[name]):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            todo.append(node.func.id)
            first = node.args[0] if node.args else None
            if node.func.id in ("_", "ngettext") and isinstance(first, ast.Constant):
                texts[str(first.value)] = node.func.id
    return texts


def test_every_language_words_everything_the_answer_shows() -> None:
    """Each language's table translates every text the answer's lines block can show, in
    every opening-hours state (texts that depend on a count in every plural form the
    language uses), and only texts of render.py."""
    answers, problems = load_answers(CRISIS_DIR)
    assert problems == []
    shown = render_texts(ANSWER_PARTS)
    for needed in ("open, closes in {n} minute ({hours})", "closed now, opens {when}", "email"):
        assert needed in shown  # the walk reaches the hours and the ways to reach a line
    everything = render_texts()
    for language, text in answers.texts.items():
        if language == "en":
            continue
        words, plurals = set(text.words), set(text.plurals)
        missing = {
            t for t, how in shown.items() if t not in (plurals if how == "ngettext" else words)
        }
        assert not missing, (language, sorted(missing))
        # a reworded English text orphans no translation
        assert words <= {t for t, how in everything.items() if how == "_"}, language
        assert plurals <= {t for t, how in everything.items() if how == "ngettext"}, language
        for singular, forms in text.plurals.items():
            assert len(set(forms.values())) == len(forms), (language, singular)  # "1 minutos"
            for count in range(200):
                assert plural_category(language, count) in forms, (language, singular, count)


# ---------------------------------------------------------------------------------------------
# Properties

WORD = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12
).filter(lambda w: w.strip() != "" and not w.startswith(("country:", "country=")))


@PROPERTY
@given(
    words=st.lists(WORD, min_size=1, max_size=8),
    path=st.sampled_from(["!crisis", "!crisis now", "!help-now", "!crisis list", "! crisis"]),
)
async def test_any_trailing_words_never_lose_the_lines(
    app_factory: AppFactory, words: list[str], path: str
) -> None:
    """Whatever follows `crisis` or `help-now`, the member sees lines and an emergency number.
    (A moderators' command such as `crisis stale` gets the refusal and how to get the lines:
    tests/cogs/test_crisis_refusal_order.py.)"""
    _app, fake = await started(app_factory)
    await us_member(fake)
    said = await fake.say("ana", f"{path} {' '.join(words)}")
    assert said, "no answer at all"
    text = "\n".join(s.text for s in said)
    assert all(s.where == "ephemeral" for s in said)
    assert FALLBACK in text
    assert "Emergency number in" in text or "call **" in text.split("\n")[0]


ANSWERS, _ANSWER_PROBLEMS = load_answers(CRISIS_DIR)
LINE_ZONE = ZoneInfo("Europe/Berlin")  # Germany keeps one clock: its lines' hours need no zone
READERS = ("Europe/Madrid", "America/Mexico_City", "Asia/Dubai", "UTC", "Australia/Sydney")
FIRST_MINUTE = datetime(2026, 1, 5, tzinfo=UTC)


def every_hours_state(now: datetime, minutes_left: int) -> list[Entry]:
    """German lines that, at `now`, are open 24/7, open with no closing in sight, closing in
    `minutes_left` minutes, open for hours yet, closed until later today, with hours in free
    text, with no hours, and one whose ways to reach it keep hours of their own."""
    local = now.astimezone(LINE_ZONE)

    def daily(start: timedelta, end: timedelta) -> str:
        return f"Daily {local + start:%H:%M}-{local + end:%H:%M}"

    closing = daily(-timedelta(hours=2), timedelta(minutes=minutes_left))
    later = daily(timedelta(hours=1), timedelta(hours=2))

    def line(key: str, *contacts: Contact) -> Entry:
        return Entry(f"de-{key}", "DE", f"Line {key}", "mental_health", contacts)

    def phone(hours: str, number: str = "+4930123456") -> Contact:
        return Contact("phone", number, languages=("de",), hours=hours, free=True)

    return [
        line("always", phone("24/7")),
        line("open", phone("Mon-Sun 00:00-24:00")),
        line("closing", phone(closing)),
        line("until", phone(daily(-timedelta(hours=1), timedelta(hours=3)))),
        line("later", phone(later)),
        line("words", phone("ring the office first")),
        line("none", phone("")),
        line(
            "ways",
            Contact(
                "phone",
                "+4930123457",
                languages=("de", "en"),
                hours=closing,
                options=(MenuChoice("1", "Jugend"),),
            ),
            Contact("text", "+4915112345678", keyword="HALLO", languages=("de",), hours=later),
            Contact("text", "+4915112345679", languages=("de",), hours="ring first"),
            Contact("chat", url="https://example.org/chat", languages=("de",), hours=""),
            Contact("email", url="mailto:hilfe@example.org", languages=("de",), hours="24/7"),
            Contact("app", url="https://example.org/app", languages=("de",), hours=later),
        ),
    ]


def answer_parts(entries: list[Entry], now: datetime, reader: ZoneInfo) -> str:
    """Every part of the crisis answer render.py words, for `entries` at `now`."""
    police = EmergencyNumber("DE", ("110", "112"), "police", "https://example.org")
    closed = [e for e in entries if reach(e, now).state == CLOSED]
    unsure = [e for e in entries if reach(e, now).state != OPEN]
    return "\n".join(
        [
            lines_block(entries, "DE", "Find A Helpline", FIND, "!", now=now, zone=reader),
            lines_block([], "DE", "Find A Helpline", FIND, "!", now=now, zone=reader),
            lines_block(entries, None, "Find A Helpline", FIND, "!", now=now, zone=reader),
            lines_again(entries, "DE", "Find A Helpline", FIND, now=now, zone=reader),
            emergency_numbers(police),
            none_open_now("DE", closed, now) if closed else "",
            none_open_now("DE", unsure, now) if unsure else "",
            commands_pointer(prefix="!"),
        ]
    )


def english_fragments(texts: dict[str, str]) -> set[str]:
    """The fixed words of English texts (between their placeholders), two words or more."""
    found: set[str] = set()
    for text in texts:
        for part in re.split(r"\{\w+\}|[()*`\[\],—]", text):
            part = part.strip(" .,:;—-")
            if len(part.split()) >= 2:
                found.add(part)
    return found


FIND = "https://findahelpline.com/"


@pytest.mark.parametrize("language", sorted(set(ANSWERS.texts) - {"en"}))
@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    minute=st.integers(0, 2 * 366 * 24 * 60),
    minutes_left=st.integers(1, 15),
    reader=st.sampled_from(READERS),
)
def test_no_english_in_an_answer_in_another_language(
    language: str, minute: int, minutes_left: int, reader: str
) -> None:
    """At any moment, in every opening-hours state (24/7, open now, closing within minutes,
    open until later, closed and when it opens, hours in free text, no hours, a way to reach a
    line with hours of its own), an answer in another language shows none of the English
    texts: nothing falls back to English, no English words are left, and "closes in N minutes"
    takes the language's plural form for N."""
    now = FIRST_MINUTE + timedelta(minutes=minute)
    local = now.astimezone(LINE_ZONE)
    # Hours a clock change falls within read differently: not what this property is about.
    assume(
        all(
            (now + timedelta(hours=h)).astimezone(LINE_ZONE).utcoffset() == local.utcoffset()
            for h in (-3, 3)
        )
    )
    entries = every_hours_state(now, minutes_left)
    zone = ZoneInfo(reader)
    text = ANSWERS.text(language)
    with using_language("en"):
        english = answer_parts(entries, now, zone)
    for state in (
        "open 24/7",
        "open now (",
        f"closes in {minutes_left} minute{'s' if minutes_left > 1 else ''} (",
        f"open, closes in {minutes_left} minute",
        "open until ",
        "closed now, opens ",
        "hours: ring the office first (check with the line)",
        "hours not given",
        "[email](",
        "[app](",
        "No line in Germany is open right now.",
        "No line in Germany is sure to be open right now.",
    ):
        assert state in english, (state, english)

    def fallback(message: str, *_rest: object) -> str:
        return f"<English: {message}>"

    with (
        using_language(language),
        answer_words(text),
        patch.object(render, "catalog_text", fallback),
        patch.object(render, "catalog_plural", fallback),
    ):
        shown = answer_parts(entries, now, zone)
    assert "<English:" not in shown, shown
    own = " ".join([*text.words.values(), *(f for p in text.plurals.values() for f in p.values())])
    for fragment in english_fragments(render_texts(ANSWER_PARTS)):
        if fragment not in own:  # a word a language shares with English ("chat online")
            assert fragment not in shown, (fragment, shown)
    forms = text.plurals["open, closes in {n} minute ({hours})"]
    closing = every_hours_state(now, minutes_left)[2].contacts[0].hours
    assert (
        forms[plural_category(language, minutes_left)].format(n=minutes_left, hours=closing)
        in shown
    )


@settings(max_examples=300, deadline=None, derandomize=True)
@given(words=st.lists(st.text(min_size=1, max_size=15), min_size=1, max_size=6))
def test_only_explicit_forms_choose_a_country(words: list[str]) -> None:
    """No everyday words select a country: only `country:`, or the words standing alone as a
    code in capitals (`US`, `UK`) or a country's name, read as `me country` reads them."""
    text = " ".join(words)
    code, _rest = country_in_words(text)
    if code is None:
        return
    stripped = " ".join(text.split())
    explicit = re.search(r"(?<!\S)country[:=]", text, re.IGNORECASE) is not None
    alone = find_country(stripped, loose=False) == code
    assert explicit or alone, (text, code)
    if not explicit:  # never a code in lower case (`us`, `in`) nor a number (`112`)
        assert len(stripped) > 3 or (stripped.isalpha() and stripped.isupper()), (text, code)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    before=st.lists(
        st.sampled_from(["help", "me", "in", "us", "please", "I", "AM", "IN"]), max_size=4
    ),
    code=st.sampled_from(sorted(COUNTRIES)),
)
def test_a_code_among_words_is_not_a_choice(before: list[str], code: str) -> None:
    """An upper-case code counts only standing alone; with other words it is just a word."""
    assert country_in_words(code) == (code, "")
    if before:
        assert country_in_words(" ".join([*before, code]))[0] is None
        assert country_in_words(" ".join([*before, f"country:{code.lower()}"]))[0] == code


# ---------------------------------------------------------------------------------------------
# The console, as a newcomer tries it first

CONSOLE = """\
!crisis alerts #mods
@ana !me country US
@ana !crisis help me
@ana !crisis now in
@ana !me name i want to kill myself
@ana #mods hello?
:advance 2h
@ana !help me please i want to die
@ana dm ! crisis
@ana dm I want to die
#mods !crisis stale
:quit
"""


def test_a_console_session_never_fails_someone_asking_for_help(tmp_path: Path) -> None:
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
    blocks = re.split(r"\n(?=\[)", out)
    to_ana = [b for b in blocks if b.startswith(("[#general, private to ana]", "[dm ana]"))]
    # crisis help me; crisis now in: the US lines and 911, never "Too many values" or India
    assert all("Emergency number in United States: 911." in b for b in to_ana[1:3]), to_ana
    assert "India" not in out and "Too many values" not in out
    # the pseudonym: a caring answer, and it is not set
    assert "You don't have to carry this alone" in to_ana[3]
    assert "haven't shown those words to anyone" in to_ana[4]
    assert "[console] #mods is for moderators; ana cannot write there." in out
    # the alert went to #mods, with no words of hers
    assert "[#mods] A member may need support: something they wrote suggests" in out
    assert "kill" not in "".join(b for b in blocks if b.startswith("[#mods]"))
    # after two hours: help with distress words, the spaced prefix in a DM, a second DM
    assert "You don't have to carry this alone" in to_ana[5] and "no command" not in to_ana[5]
    assert to_ana[6].startswith("[dm ana] Lines in United States")
    assert to_ana[7].startswith("[dm ana] I'm still here.") and "911" in to_ana[7]
    assert "only understand commands" not in out
    assert "[#mods, private to you] Every entry was checked in the last 24 months." in out


async def test_every_member_written_argument_is_checked_and_never_echoed_in_public(
    app_factory: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """The kind, not the instance: every text option of every command, in every cog."""
    # a moderator reaches every command
    app, fake = await app_factory.on_platform(
        clock=VirtualClock(START), actors={"mod": Tier.MODERATOR}
    )
    await fake.say("mod", "!me country US")
    checked = 0
    for spec in sorted(app.registry.specs, key=lambda s: s.name):
        if spec.cog == "crisis":
            continue  # its own commands answer the words themselves (tested above)
        for option in spec.options:
            if option.type is not OptionType.STRING:
                continue
            said = await fake.say("mod", f'!{spec.name} {option.name}:"I want to kill myself"')
            private = [s for s in said if s.where in ("ephemeral", "dm")]
            assert any(CARING in s.text or STILL_HERE in s.text for s in private), (
                spec.name,
                option.name,
                said,
            )
            checked += 1
    assert checked >= 60
    await app.scheduler.advance(timedelta(days=8))
    await app.outbox.deliver_due()
    public = [s.text for s in fake.said if s.where == "channel"]
    assert not any("kill myself" in text.lower() for text in public), public
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []  # e.g. no private answer from a command not declared private
