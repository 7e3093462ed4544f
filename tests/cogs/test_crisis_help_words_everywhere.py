"""A help word of any language gets the lines however it is typed: as a command (`!hilfe`,
`!ayuda por favor`), in a channel or a DM, or as the whole answer to a dialogue's question;
and the crisis answer tells the member the moderators were told in the member's language.

The faults this holds down: in a channel `!hilfe`, `!ayuda`, `!aide`, `!aiuto`, `!hulp`,
`!ajuda`, `!suicide`, `!crisislines` and `!crisis-lines` got no reply at all, and in a DM
"I don't know the command hilfe"; inside a worksheet `hilfe`, `I need help` and `help me
please` were saved as answers. Commands and dialogue answers were checked against the English
command names only, while a plain DM was checked against every language's help words
(data/crisis/answers.toml). Now all three ask the crisis cog the same question
(`CogHooks.help_words`). And "I have also let this community's moderators know..." was English
in every language's answer.
"""

from __future__ import annotations

import io
import weakref
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from benchmarks.crisis_phrases import load_test_sets
from bot.adapters.console import ConsoleAdapter
from bot.app import App
from bot.clock import VirtualClock
from bot.core.dialogue import control_word
from bot.core.permissions import Tier
from bot.paths import DATA_DIR
from cogs.crisis.answer import load_answers
from cogs.crisis.cog import CRISIS_DIR
from cogs.crisis.phrases import Concern, shipped_detector
from tests.harness.app import AppFactory, make_config
from tests.harness.platform import FakePlatform, Said

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
COGS = ["general", "crisis", "worksheets"]
ANSWERS, _problems = load_answers(CRISIS_DIR)
# Every shipped language's help words, with the language they belong to.
HELP_WORDS = sorted(
    {(language, word) for language, text in ANSWERS.texts.items() for word in text.help_words}
)
AROUND = ["please", "bitte", "por favor", "now", "jetzt", "svp", "agora", "adesso", "nu"]
MARKS = ["", "!", "?", "...", " :("]
# `help` in a dialogue is its steering word (a hint); `!help` is the help command (`!help me`:
# the `me` commands). Both name the way to the lines.
POINTER = "If you need someone to talk to right now, type"
PROPERTY = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def gives_lines(text: str) -> bool:
    """A crisis line of the member's country (US: 988) or its emergency number (911)."""
    return "988" in text or "911" in text


def cased(word: str, ups: list[bool]) -> str:
    return "".join(
        c.upper() if up else c for c, up in zip(word, ups + [False] * len(word), strict=False)
    )


_APPS: weakref.WeakKeyDictionary[
    AppFactory, tuple[App, FakePlatform, ConsoleAdapter, io.StringIO]
] = weakref.WeakKeyDictionary()


async def apps(app_factory: AppFactory) -> tuple[App, FakePlatform, ConsoleAdapter, io.StringIO]:
    """A typed-command platform (`!`) with `ana` and the console with `ben`, both in the
    United States; one pair per test, shared by its examples."""
    if app_factory not in _APPS:
        app, fake = await app_factory.on_platform(COGS, clock=VirtualClock(START))
        await fake.say("ana", "!me country US")
        typed = await app_factory(
            make_config(cogs={"enabled": COGS}),
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


@PROPERTY
@given(
    ask=st.sampled_from(HELP_WORDS),
    ups=st.lists(st.booleans(), min_size=12, max_size=12),
    mark=st.sampled_from(MARKS),
    form=st.sampled_from(["command", "command with words", "dialogue answer"]),
    dm=st.booleans(),
    after=st.lists(st.sampled_from(AROUND), min_size=1, max_size=3),
    console=st.booleans(),
)
@example(("de", "hilfe"), [], "", "command", False, ["x"], True)
@example(("de", "hilfe"), [], "", "command", True, ["x"], True)
@example(("en", "suicide"), [], "", "command", True, ["x"], True)
@example(("en", "crisis lines"), [], "", "command", False, ["x"], True)
@example(("en", "crisislines"), [], "", "command", False, ["x"], True)
@example(("de", "hilfe"), [], "", "dialogue answer", True, ["x"], True)
@example(("en", "i need help"), [True], "", "dialogue answer", True, ["x"], True)
@example(("en", "help me please"), [], "", "dialogue answer", True, ["x"], True)
async def test_any_help_word_as_a_command_or_a_whole_answer_gets_the_lines(
    app_factory: AppFactory,
    ask: tuple[str, str],
    ups: list[bool],
    mark: str,
    form: str,
    dm: bool,
    after: list[str],
    console: bool,
) -> None:
    """Every help word of every language in answers.toml, typed `!word`, `!word words...`
    (in a DM or a channel) or as the whole answer to a worksheet's question: the member sees
    a crisis line or the emergency number, in the language of the words when only one
    language has them, and nothing is saved as an answer."""
    _app, fake, adapter, out = await apps(app_factory)
    _language, word = ask
    typed = cased(word, ups) + mark
    if ask == ("en", "crisis lines") and form == "command":
        typed = "crisis-lines"  # as the reviewer typed it
    if form == "command with words":
        typed = " ".join([typed, *after])

    async def say(line: str, *, in_dm: bool) -> str:
        if console:
            return await on_console(adapter, out, f"@ben {'dm ' if in_dm else ''}{line}")
        return said_text(await fake.say("ana", line, dm=in_dm))

    if form == "dialogue answer":
        await say("!worksheet start cba", in_dm=False)
        await say("drinking", in_dm=True)  # the next question takes a list: "Added (1)"
        shown = await say(typed, in_dm=True)
        await say("cancel", in_dm=True)
        assert "Added (" not in shown, (typed, shown)
        if control_word(typed) == "help":  # the dialogue's own `help`: the hint and the way
            assert POINTER in shown, (typed, shown)
            return
    else:
        shown = await say("!" + typed, in_dm=dm)
        if typed.split()[0].lower().strip("!?.:(") == "help":
            # `!help`, `!help me`: the help command, which names the way to the lines
            assert POINTER in shown or "crisis now" in shown, (typed, shown)
            return
    assert gives_lines(shown), (form, typed, dm, console, shown)
    assert "I don't know the command" not in shown, (typed, shown)
    expected = ANSWERS.asks_for_help(typed, "en")
    assert expected is not None, typed
    assert ANSWERS.texts[expected].not_a_service in shown, (expected, typed, shown)


async def test_the_reported_console_session(app_factory: AppFactory) -> None:
    _app, _fake, adapter, out = await apps(app_factory)
    for line in ("!hilfe", "!ayuda", "!aide", "!aiuto", "!hulp", "!ajuda", "!suicide"):
        for where in ("", "dm "):
            shown = await on_console(adapter, out, f"@ben {where}{line}")
            assert gives_lines(shown), (where, line, shown)
    for line in ("!crisislines", "!crisis-lines"):
        assert gives_lines(await on_console(adapter, out, f"@ben {line}")), line
    await on_console(adapter, out, "@ben !worksheet start cba")
    await on_console(adapter, out, "@ben dm drinking")
    for line in ("hilfe", "I need help", "help me please"):
        shown = await on_console(adapter, out, f"@ben dm {line}")
        assert gives_lines(shown) and "Added (" not in shown, (line, shown)
        assert "your answers are kept" in shown, shown  # and the question again
    assert "Added (1)" in await on_console(adapter, out, "@ben dm it calms me down")


# ---------------------------------------------------------------------------------------------
# The moderators-told sentence in the member's language


def _distress_phrase(language: str) -> str:
    """A suicide phrase of the language's test set the shipped phrases find at once, in it."""
    detector, problems = shipped_detector(DATA_DIR / "crisis" / "phrases")
    assert problems == []
    for text in load_test_sets()[language][Concern.SUICIDE.value]:
        answered, found = detector.detect_without_lookup(text, language)
        if answered and found is not None and found.language == language:
            return text
    raise AssertionError(f"no quick {language} phrase")


def test_every_language_has_its_own_moderators_told_sentence() -> None:
    english = ANSWERS.texts["en"].moderators_told
    assert "moderators know" in english
    for language, text in ANSWERS.texts.items():
        assert text.moderators_told, language
        assert language == "en" or text.moderators_told != english, language


async def test_the_answer_says_the_moderators_were_told_in_the_members_language(
    app_factory: AppFactory,
) -> None:
    _app, fake = await app_factory.on_platform(
        ["general", "crisis"], clock=VirtualClock(START), actors={"mod": Tier.MODERATOR}
    )
    await fake.say("mod", "!crisis alerts #mods")
    english = ANSWERS.texts["en"].moderators_told
    for language, text in sorted(ANSWERS.texts.items()):
        who = f"member-{language}"  # each their own quiet period
        await fake.say(who, "!me country US")
        said = await fake.say(who, f"!crisis now {_distress_phrase(language)}", dm=True)
        private = "\n".join(s.text for s in said if s.to == who)
        assert any(s.to == "mods" for s in said), (language, said)  # the alert was sent
        assert text.moderators_told in private, (language, private)
        assert language == "en" or english not in private, (language, private)
