"""Help arrives when someone reaches for it: every word that plainly asks for help, typed as a
command or in a direct message, on the console or a typed-command platform, reaches the crisis
lines; every place that reads a country reads it as `me country` does.

The faults this holds down: `!crisis country:UK` and `!crisis list UK` answered "UK is not a
country I know" while `!me country UK` was read as the United Kingdom (two country readers);
`!sos`, `!emergency`, `!helpline`, `!hotline`, `!help-me` and `!911` got no reply in a channel
and "I don't know the command" in a DM; `!crsis` got "Did you mean !crisis?" instead of the
lines; `sos` inside a worksheet was saved as an answer, and the worksheet's `help` hint did not
say where the lines are.
"""

from __future__ import annotations

import io
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import discord
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.adapters.console import ConsoleAdapter
from bot.adapters.discord.commands import build_tree
from bot.app import App
from bot.clock import VirtualClock
from bot.core.convert import COUNTRY_ALIASES, COUNTRY_NAMES, check_country, find_country
from bot.i18n import using_language
from cogs.crisis.cog import REACHING_WORDS
from cogs.crisis.directory import country_in_words, unknown_country_in_words
from tests.harness.app import AppFactory, make_config
from tests.harness.discord import NoHandler
from tests.harness.platform import FakePlatform, Said

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
POINTER = "If you need someone to talk to right now, type `!crisis`."
PROPERTY = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# The crisis command's own names, and the words run together or hyphenated as people type them.
NAMES = sorted({"crisis", "help-me", "help_me", "helpme", *(w for (w,) in REACHING_WORDS)})
# Near misses of the longer names: a letter left out, two letters swapped, one changed.
MISSPELT = ["crsis", "crisi", "cirsis", "crises", "crissis", "emergancy", "hepline", "hotlne"]
AROUND = ["please", "hi", "bot", "hey", "someone", "today", "now"]


def gives_lines(text: str) -> bool:
    """A crisis line of the member's country (US: 988) or its emergency number (911)."""
    return "988" in text or "911" in text


def cased(word: str, ups: list[bool]) -> str:
    return "".join(
        c.upper() if up else c for c, up in zip(word, ups + [False] * len(word), strict=False)
    )


# ---------------------------------------------------------------------------------------------
# Apps shared by a property's examples (one app per test: a new one per example is slow)

# By factory, weakly: a later test's factory may reuse a freed one's id, never its apps.
_APPS: weakref.WeakKeyDictionary[
    AppFactory, tuple[App, FakePlatform, ConsoleAdapter, io.StringIO]
] = weakref.WeakKeyDictionary()


async def apps(app_factory: AppFactory) -> tuple[App, FakePlatform, ConsoleAdapter, io.StringIO]:
    """A typed-command platform (`!`, as on Matrix; `/` typed in a Discord DM) and the console,
    with `ana` (and the console's `ben`) in the United States."""
    if app_factory not in _APPS:
        app, fake = await app_factory.on_platform(
            ["general", "crisis", "worksheets"], clock=VirtualClock(START)
        )
        await fake.say("ana", "!me country US")
        typed = await app_factory(
            make_config(cogs={"enabled": ["general", "crisis", "worksheets"]}),
            clock=VirtualClock(START),
            name="console",
            fast_typing=True,
        )
        out = io.StringIO()
        console = ConsoleAdapter(typed, out=out, files_dir=Path(app_factory.directory) / "files")
        typed.add_transport(console)
        await console.handle_line("@ben !me country US")
        _APPS[app_factory] = (app, fake, console, out)
    return _APPS[app_factory]


async def on_console(console: ConsoleAdapter, out: io.StringIO, line: str) -> str:
    start = len(out.getvalue())
    await console.handle_line(line)
    return out.getvalue()[start:]


def said_text(said: list[Said]) -> str:
    return "\n".join(s.text for s in said)


# ---------------------------------------------------------------------------------------------
# (a) every help word, however typed, wherever, gets the lines


@PROPERTY
@given(
    word=st.sampled_from([*NAMES, *MISSPELT]),
    ups=st.lists(st.booleans(), min_size=12, max_size=12),
    prefixed=st.booleans(),
    dm=st.booleans(),
    after=st.lists(st.sampled_from(AROUND), max_size=3),
    path=st.sampled_from(["typed", "console", "slash-typed"]),
)
async def test_every_help_word_however_typed_gets_the_lines(
    app_factory: AppFactory,
    word: str,
    ups: list[bool],
    prefixed: bool,
    dm: bool,
    after: list[str],
    path: str,
) -> None:
    """Any case, with or without the prefix (without it: a direct message; plain chat in a
    channel is not read), with words after it, in a DM or a channel: a crisis line or the
    emergency number. `slash-typed`: `/` as typed in a Discord DM."""
    _app, fake, console, out = await apps(app_factory)
    dm = dm or not prefixed
    prefix = "/" if path == "slash-typed" else "!"
    line = " ".join([(prefix if prefixed else "") + cased(word, ups), *after])
    if path == "console":
        text = await on_console(console, out, f"@ben {'dm ' if dm else ''}{line}")
    elif path == "slash-typed":
        incoming = fake.incoming("ana", dm=True)
        before = len(fake.said)
        await fake.app.dispatcher.handle_text(incoming, line, "/")
        text = said_text(fake.said[before:])
    else:
        text = said_text(await fake.say("ana", line, dm=dm))
    assert gives_lines(text), (path, line, dm, text)
    assert "I don't know the command" not in text and "only understand commands" not in text


async def test_the_newcomers_words_in_a_channel_and_a_dm(app_factory: AppFactory) -> None:
    """The quoted cases: no silence, no "I don't know the command", no "Did you mean"."""
    _app, fake, console, out = await apps(app_factory)
    for line in ("!sos", "!emergency", "!helpline", "!hotline", "!help-me", "!911", "!crsis"):
        for dm in (False, True):
            said = await fake.say("ana", line, dm=dm)
            assert len(said) == 1 and gives_lines(said[0].text), (line, dm, said)
            assert said[0].where == ("dm" if dm else "ephemeral"), (line, said)
            assert "Did you mean" not in said[0].text
        shown = await on_console(console, out, f"@ben {line}")
        assert shown.startswith("[#general, private to ben] Lines in United States"), shown


async def test_help_me_shows_the_me_commands_led_by_the_way_to_the_lines(
    app_factory: AppFactory,
) -> None:
    _app, fake, _console, _out = await apps(app_factory)
    for line in ("!help me", "!Help Me"):
        text = said_text(await fake.say("ana", line))
        assert text.startswith(POINTER) and "!me country" in text, text
    # Help for anything else is not led by it.
    assert POINTER not in said_text(await fake.say("ana", "!help worksheet"))


async def test_near_a_help_word_points_to_crisis_and_unrelated_words_stay_silent(
    app_factory: AppFactory,
) -> None:
    """Other bots may share the prefix: a channel hears nothing for unrelated words, but a
    word near one asking for help is answered with the way to the lines."""
    _app, fake, _console, _out = await apps(app_factory)
    for line in ("!hlep", "!sosos", "!hotlime"):
        text = said_text(await fake.say("ana", line))
        assert POINTER in text or gives_lines(text), (line, text)
    for line in ("!wibble", "!roll 2d6", "!play music"):
        assert await fake.say("ana", line) == [], line
    # A command's own words after its name are still that command's group to answer.
    assert "988" not in said_text(await fake.say("ana", "!me blah"))


# ---------------------------------------------------------------------------------------------
# Inside a dialogue


async def test_inside_a_worksheet_help_says_where_the_lines_are_and_sos_keeps_the_answers(
    app_factory: AppFactory,
) -> None:
    _app, fake, console, out = await apps(app_factory)
    await fake.say("ana", "!worksheet start cba")
    await fake.say("ana", "drinking", dm=True)
    hint = said_text(await fake.say("ana", "help", dm=True))
    assert POINTER in hint and "Words that steer" in hint, hint
    for line in ("sos", "SOS!", "help me", "!crisis", "crsis", "911"):
        said = await fake.say("ana", line, dm=True)
        assert gives_lines(said[0].text), (line, said)
        assert not any("Added (" in s.text for s in said), (line, said)
    # The dialogue goes on where it was, nothing of the words above saved.
    assert "Added (1)" in said_text(await fake.say("ana", "it calms me down", dm=True))
    # The console, as the newcomer typed it.
    await on_console(console, out, "@ben !worksheet start cba")
    await on_console(console, out, "@ben dm drinking")
    shown = await on_console(console, out, "@ben dm help")
    assert "If you need someone to talk to right now, type !crisis." in shown, shown


async def test_a_paused_dialogue_does_not_hide_the_lines(app_factory: AppFactory) -> None:
    _app, fake, _console, _out = await apps(app_factory)
    await fake.say("ana", "!worksheet start cba")
    await fake.say("ana", "pause", dm=True)
    for line in ("sos", "i need help", "911"):
        assert gives_lines(said_text(await fake.say("ana", line, dm=True))), line


# ---------------------------------------------------------------------------------------------
# (b) one country reader


def _accepted_forms() -> list[tuple[str, str]]:
    """(what a member may type to `me country`, the code it is read as): codes in any case,
    the CLDR's other codes (`UK`, `GBR`), English names, parts (`England`), locale tags."""
    forms = [(code, code) for code in COUNTRY_NAMES]
    forms += [(code.lower(), code) for code in COUNTRY_NAMES]
    forms += [(alias, code) for alias, code in COUNTRY_ALIASES.items()]
    forms += [(alias.lower(), code) for alias, code in COUNTRY_ALIASES.items() if alias.isalpha()]
    forms += [(name, check_country(name)) for name in COUNTRY_NAMES.values()]
    forms += [(p, "GB") for p in ("England", "scotland", "Wales", "Great Britain", "u.k.")]
    forms += [("en-GB", "GB"), ("pt_BR", "BR"), ("the United States", "US")]
    return sorted(set(forms))


FORMS = _accepted_forms()
QUOTES: list[Callable[[str], str]] = [lambda v: v, lambda v: f'"{v}"', lambda v: f"“{v}”"]


@settings(max_examples=400, deadline=None, derandomize=True)
@given(
    form=st.sampled_from(FORMS),
    quote=st.sampled_from(QUOTES),
    after=st.lists(st.sampled_from(["I", "need", "help", "please", "now"]), max_size=3),
    before=st.lists(st.sampled_from(["please", "help"]), max_size=2),
    language=st.sampled_from(["en", "de", "fr", "es"]),
)
def test_crisis_country_reads_every_form_me_country_reads(
    form: tuple[str, str],
    quote: Callable[[str], str],
    after: list[str],
    before: list[str],
    language: str,
) -> None:
    typed, code = form
    with using_language(language):
        assert check_country(typed) == find_country(typed)
        if language == "en":
            assert check_country(typed) == code
        meant = check_country(typed)
        words = " ".join([*before, f"country:{quote(typed)}", *after])
        found, rest = country_in_words(words)
        assert found == meant, (words, found, meant)
        assert unknown_country_in_words(words) is None
        assert rest.split() == [*before, *after], (words, rest)


async def test_the_newcomers_countries(app_factory: AppFactory) -> None:
    _app, fake, console, out = await apps(app_factory)
    gb = "**Lines in United Kingdom**"
    for line in (
        "!crisis country:UK",
        "!crisis list UK",
        "!crisis country:uk I need help",
        "!crisis country:England",
        "!crisis list United Kingdom",
        "!crisis list united kingdom suicide_prevention",
        "!crisis UK",
        '!crisis country:"united kingdom" please',
    ):
        text = said_text(await fake.say("ana", line))
        assert gb in text and "not a country I know" not in text, (line, text)
        assert "999" in text, (line, text)
    shown = await on_console(console, out, "@ben !crisis list UK")
    assert "Lines in United Kingdom" in shown and "not a country" not in shown, shown
    # Still named when it is none, with the member's own lines.
    text = said_text(await fake.say("ana", "!crisis country:Narnia"))
    assert "`Narnia` is not a country I know" in text and gives_lines(text), text
    text = said_text(await fake.say("ana", "!crisis list Narnia"))
    assert "`Narnia` is not a country I know" in text and gives_lines(text), text


def test_everyday_words_alone_are_no_country() -> None:
    for words in ("us", "in", "me", "help me", "end", "man", "sin", "cat", "112", "911", "no"):
        assert country_in_words(words)[0] is None, words
    assert country_in_words("UK") == ("GB", "")
    assert country_in_words("USA") == ("US", "")
    assert country_in_words("England") == ("GB", "")


# ---------------------------------------------------------------------------------------------
# Discord: what slash commands can offer


async def test_discord_lists_sos_and_helpline_but_not_every_typed_alias(
    app_factory: AppFactory,
) -> None:
    app, _fake, _console, _out = await apps(app_factory)
    client = discord.Client(intents=discord.Intents.none())
    tree = build_tree(client, app.registry.specs, NoHandler(), lambda group: "Commands")
    top = {c.name for c in tree.get_commands()}
    assert {"crisis", "help-now", "sos", "helpline"} <= top
    assert not {"911", "hotline", "emergency", "helpme"} & top
    assert len(top) <= 100  # Discord's limit of top-level commands
