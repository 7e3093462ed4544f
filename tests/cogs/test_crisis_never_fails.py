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

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.app import App
from bot.clock import VirtualClock
from bot.core.commands import OptionType
from bot.core.convert import find_country
from bot.core.permissions import Tier
from bot.models import Member
from cogs.crisis.answer import load_answers
from cogs.crisis.cog import CRISIS_DIR, CrisisCog
from cogs.crisis.directory import COUNTRIES, country_in_words
from cogs.crisis.phrases import load_phrase_lists
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
    assert "**Líneas en España**" not in text  # no Spanish lines yet: said in Spanish
    assert "Todavía no tengo líneas para España en mi directorio." in text
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


def test_every_language_words_the_whole_lines_block() -> None:
    """Each translation table covers every string of the lines block, and only those."""
    answers, problems = load_answers(CRISIS_DIR)
    assert problems == []
    tree = ast.parse((ROOT / "cogs" / "crisis" / "render.py").read_text(encoding="utf-8"))
    texts = {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "_"
        and isinstance(node.args[0], ast.Constant)
    }
    keys = set(answers.texts["es"].words)
    assert len(keys) >= 15
    assert keys <= texts, keys - texts  # a reworded English text orphans no translation
    for language, text in answers.texts.items():
        if language != "en":
            assert set(text.words) == keys, language


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
