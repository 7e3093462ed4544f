"""Asking for help never fails: plain help words in a DM, crisis switched off, an unknown
country, and a moderator's mistake answered with the error alone.

Each test types what a member or moderator would and checks what they see, through the
recording platform.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.clock import VirtualClock
from bot.core.permissions import Tier
from cogs.crisis.answer import load_answers
from cogs.crisis.cog import CRISIS_DIR
from tests.harness.app import AppFactory
from tests.harness.platform import FakePlatform, Said

START = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
US_LINES = "**Lines in United States**"
REFUSAL = "only understand commands"
COMMANDS = "Type `!help` to see what else I can do."
ANSWERS, _problems = load_answers(CRISIS_DIR)
# Every shipped language's help words, with the language they belong to.
HELP_WORDS = sorted(
    {(language, word) for language, text in ANSWERS.texts.items() for word in text.help_words}
)
# Everyday words around the ask, in several languages; none is a crisis phrase.
AROUND = ["please", "hi", "bot", "now", "hola", "bitte", "merci", "grazie", "obrigado", "hey"]


async def started(app_factory: AppFactory) -> tuple[App, FakePlatform]:
    app, fake = await app_factory.on_platform(
        ["general", "crisis", "admin"],
        clock=VirtualClock(START),
        actors={"mod": Tier.MODERATOR},
        fast_typing=True,
    )
    await fake.say("ana", "!me country US")
    await fake.say("mod", "!me country US")
    return app, fake


def only(said: list[Said]) -> Said:
    assert len(said) == 1, said
    return said[0]


def test_every_language_ships_help_words() -> None:
    assert {"en", "es", "de", "fr", "pt", "it", "nl"} <= {lang for lang, _w in HELP_WORDS}


async def test_help_words_in_a_dm_get_the_lines_and_other_words_the_pointer(
    app_factory: AppFactory,
) -> None:
    _app, fake = await started(app_factory)
    for text in ("crisis", "help me", "help", "HELPLINE?", "emergency!", "sos", "ayuda"):
        reply = only(await fake.say("ana", text, dm=True))
        assert reply.where == "dm" and "988" in reply.text, text
        # where the commands are, in the language of the words
        pointer = COMMANDS if text != "ayuda" else "Escribe `!help` para ver qué más puedo hacer."
        assert reply.text.endswith(pointer) and REFUSAL not in reply.text, text
    reply = only(await fake.say("ana", "hello there", dm=True))
    assert REFUSAL in reply.text and "988" not in reply.text


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    ask=st.sampled_from(HELP_WORDS),
    cases=st.lists(st.booleans(), min_size=40, max_size=40),
    before=st.lists(st.sampled_from(AROUND), max_size=3),
    after=st.lists(st.sampled_from(AROUND), max_size=3),
    mark=st.sampled_from(["", "!", "?", "...", "!!", ",", " :(", "."]),
)
async def test_any_dm_with_a_help_word_gets_a_helpline_number(
    app_factory: AppFactory,
    ask: tuple[str, str],
    cases: list[bool],
    before: list[str],
    after: list[str],
    mark: str,
) -> None:
    _language, word = ask
    cased = "".join(
        c.upper() if up else c
        for c, up in zip(word, cases[: len(word)] + [False] * len(word), strict=False)
    )
    text = " ".join([*before, cased + mark, *after])
    _app, fake = await started(app_factory)
    reply = only(await fake.say("ana", text, dm=True))
    assert reply.where == "dm" and "988" in reply.text, text
    assert REFUSAL not in reply.text, text


async def test_switching_crisis_off_keeps_the_lines_and_says_so(app_factory: AppFactory) -> None:
    _app, fake = await started(app_factory)
    told = only(await fake.say("mod", "!cogs disable crisis"))
    assert "still get the crisis lines" in told.text
    reply = only(await fake.say("ana", "!crisis help me"))
    assert US_LINES in reply.text and "switched off" not in reply.text
    assert reply.text.startswith(US_LINES)
    reply = only(await fake.say("ana", "help me", dm=True))
    assert "988" in reply.text


async def test_an_unknown_country_is_named_and_the_lines_still_shown(
    app_factory: AppFactory,
) -> None:
    _app, fake = await started(app_factory)
    reply = only(await fake.say("ana", "!crisis country:ZZ"))
    assert "`ZZ` is not a country I know" in reply.text and US_LINES in reply.text
    await fake.say("mod", "!cogs disable crisis")
    reply = only(await fake.say("ana", "!crisis country:ZZ"))
    assert "`ZZ` is not a country I know" in reply.text and US_LINES in reply.text


async def test_a_moderators_mistake_gets_the_error_alone(app_factory: AppFactory) -> None:
    _app, fake = await started(app_factory)
    for line in ("!crisis remove 9999", "!crisis alerts #nonexistent"):
        reply = only(await fake.say("mod", line))
        assert reply.text.strip() and US_LINES not in reply.text, line
    # A member who types a moderator's command gets the refusal and where the lines are, not
    # the whole crisis answer (a false "are you OK?" to someone exploring).
    reply = only(await fake.say("ana", "!crisis remove 9999"))
    assert US_LINES not in reply.text
    assert reply.text.endswith("If you need a crisis line, type `!crisis`.")


async def test_every_member_ask_answers_plainly_where_crisis_is_switched_off(
    app_factory: AppFactory,
) -> None:
    _app, fake = await started(app_factory)
    await fake.say("mod", "!cogs disable crisis")
    for line in ("!crisis list US", "!crisis list", "!crisis countries", "!crisis now"):
        for who in ("ana", "mod"):
            reply = only(await fake.say(who, line))
            assert "switched off" not in reply.text, (who, line)
            assert "988" in reply.text or "(`US`)" in reply.text, (who, line)
    countries = only(await fake.say("ana", "!crisis countries"))
    assert "(`US`)" in countries.text


async def test_a_wrong_value_gets_a_moderator_the_error_and_a_member_also_the_lines(
    app_factory: AppFactory,
) -> None:
    _app, fake = await started(app_factory)
    mod = only(await fake.say("mod", "!crisis list bogus"))
    assert "bogus" in mod.text and US_LINES not in mod.text and "988" not in mod.text
    ana = only(await fake.say("ana", "!crisis list bogus"))
    assert "bogus" in ana.text and US_LINES in ana.text
