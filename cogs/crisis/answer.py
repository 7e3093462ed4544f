"""The crisis answer's words: emergency numbers by country and the answer text by language.

Both are data in data/crisis (`emergency.toml`, `answers.toml`), read once at start-up and
checked here; a broken row is a problem the cog logs, never a crash. The answer is composed from
a concern kind (what the words suggest) and a language, so the phrase detector can report both.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from bot.core import plural_rule
from cogs.crisis.directory import COUNTRIES, check_url
from cogs.crisis.phrases import normalise

# What the words suggest. "overdose" also covers poisoning, trouble breathing and someone who
# will not wake up: the emergency number then comes before any helpline.
CONCERN_KINDS: tuple[str, ...] = ("suicide", "overdose", "self-harm", "domestic-violence")
DEFAULT_KIND = "suicide"
URGENT_KINDS = frozenset({"overdose"})
DEFAULT_LANGUAGE = "en"
TEXT_KEYS = (
    "urgent",
    "emergency",
    "danger",
    "still_here",
    "still_here_closed",
    "not_a_service",
    "moderators_told",
)
SERVICES = ("general", "ambulance", "police", "fire and rescue")
_NUMBER = re.compile(r"^[0-9]{2,6}$")
# Words people reach for first, in any language: typed as a command (`!sos`, `!911`) they run
# the crisis command (its one-word aliases), and in a watched channel they are a plea on their
# own (`Answers.plea_language`). Emergency numbers of several countries, not only the member's.
CALL_WORDS: tuple[str, ...] = (
    "help-now",
    "sos",
    "helpline",
    "helplines",
    "hotline",
    "hotlines",
    "emergency",
    "helpme",
    "911",
    "999",
    "112",
    "988",
)
# A plea in a channel is short: a longer message is chat, whatever words it shares with one.
MAX_PLEA_WORDS = 12
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class EmergencyNumber:
    """The numbers to dial in one country for an ambulance or any emergency.

    `numbers` are short codes dialled inside `country` (ISO 3166-1 alpha-2), the first shown
    first; `service` is what the first reaches; `source` is the https page the fact comes from.
    """

    country: str
    numbers: tuple[str, ...]
    service: str
    source: str
    metadata_gap: str = ""


@dataclass(frozen=True)
class AnswerText:
    """One language's crisis answer sentences (see data/crisis/answers.toml)."""

    language: str
    intro: dict[str, str]
    urgent: str
    emergency: str
    danger: str
    still_here: str  # the quiet period's short answer while a listed line is open
    still_here_closed: str  # the same when no listed line is open, or none is listed
    not_a_service: str
    moderators_told: str  # the community's moderators were told (the name, never the words)
    overdose_words: tuple[str, ...] = field(default=())
    help_words: tuple[str, ...] = field(default=())  # a plain ask for help: "help me", "sos"
    plea_words: tuple[str, ...] = field(default=())  # around help words in a plea: "please"
    words: dict[str, str] = field(default_factory=dict)  # lines block: English -> this language
    # Lines-block texts that depend on a count, by their English singular: this language's
    # form for each CLDR plural category (`one`, `other`, ...), e.g. "closes in 1 minute".
    plurals: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class Answers:
    """Every language's answer text and every country's emergency number."""

    texts: dict[str, AnswerText] = field(default_factory=dict)
    emergency: dict[str, EmergencyNumber] = field(default_factory=dict)
    verified_at: date | None = None
    _overdose: dict[str, re.Pattern[str]] = field(default_factory=dict, repr=False)
    _help: dict[str, re.Pattern[str]] = field(default_factory=dict, repr=False)
    _help_words: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    _plea: dict[str, tuple[frozenset[str], frozenset[str], int]] = field(
        default_factory=dict, repr=False
    )

    def text(self, language: str) -> AnswerText:
        """The answer text in `language` (`pt-BR` falls back to `pt`), else English."""
        for tag in (language, language.split("-")[0].split("_")[0], DEFAULT_LANGUAGE):
            if tag in self.texts:
                return self.texts[tag]
        return FALLBACK_TEXT

    def concern_kind(self, text: str, languages: Iterable[str] = ()) -> str:
        """What the words suggest: "overdose" when they name an overdose, poisoning, trouble
        breathing or someone not waking up (in any language known here), else "suicide".

        A stand-in until the phrase detector reports the concern kind itself.
        """
        norm = normalise(text)
        if not norm:
            return DEFAULT_KIND
        order = [*languages, *self.texts]
        for language in dict.fromkeys(order):
            pattern = self._overdose.get(language)
            if pattern is not None and pattern.search(norm):
                return "overdose"
        return DEFAULT_KIND

    def language_of(self, text: str, prefer: str = "") -> str | None:
        """The language whose urgent words appear in `text` (`prefer` first), if any."""
        return _first_language(self._overdose, text, prefer)

    def asks_for_help(self, text: str, prefer: str = "") -> str | None:
        """The language whose help words (`help_words`: "help me", "crisis", "sos") appear in
        `text` as whole words, any case or punctuation (`prefer` first); None when none do."""
        return _first_language(self._help, text, prefer)

    def help_word_language(self, text: str, *, whole: bool, prefer: str = "") -> str | None:
        """The language (`prefer` first) one of whose help words is the whole of `text`
        (`whole`), else its beginning (`hilfe bitte`), any case or punctuation (`Hilfe!`,
        `help-me`); None when none is."""
        norm = normalise(text)
        if not norm:
            return None
        for language, words in sorted(self._help_words.items(), key=lambda i: i[0] != prefer):
            if norm in words or (not whole and any(norm.startswith(w + " ") for w in words)):
                return language
        return None

    def plea_language(self, text: str, prefer: str = "") -> str | None:
        """The language (`prefer` first) in which `text` is a plea: nothing but its help words
        (`help_words`) or the words people reach for in any language (`CALL_WORDS`: `sos`,
        `911`, `hotline`), with at least one of them, and that language's `plea_words` around
        or between them (`please`, `somebody`, `now`, `i can't do this`); at most
        `MAX_PLEA_WORDS` words, any case or punctuation. "somebody help me please" and "SOS
        please i cant do this" are pleas; "thanks for the help", "help wanted: volunteers",
        "can someone help me set up the bot?" and "911 was the year..." are not (a word outside
        those lists makes the message chat). None when it is no plea in any language."""
        words = normalise(text).split()
        if not words or len(words) > MAX_PLEA_WORDS:
            return None
        for language, (helping, around, longest) in sorted(
            self._plea.items(), key=lambda i: i[0] != prefer
        ):
            if _is_plea(words, helping, around, longest):
                return language
        return None

    def compile(self) -> None:
        """Build the word matchers once after loading."""
        self._overdose = {}
        self._help = {}
        self._help_words = {}
        self._plea = {}
        calls = frozenset(normalise(w) for w in CALL_WORDS) - {""}
        for language, text in self.texts.items():
            helping = frozenset(normalise(w) for w in text.help_words) - {""}
            if helping:
                self._help_words[language] = helping
                around = frozenset(normalise(w) for w in text.plea_words) - {""}
                asking = helping | calls
                longest = max(len(w.split()) for w in asking | around)
                self._plea[language] = (asking, around, longest)
            for table, source in (
                (self._overdose, text.overdose_words),
                (self._help, text.help_words),
            ):
                words = sorted({normalise(w) for w in source if normalise(w)}, key=len)
                if words:
                    body = "|".join(re.escape(w) for w in reversed(words))
                    table[language] = re.compile(rf"(?<!\w)(?:{body})(?!\w)")


FALLBACK_TEXT = AnswerText(
    language=DEFAULT_LANGUAGE,
    intro={
        DEFAULT_KIND: "It sounds like things are really hard right now. You don't have to carry "
        "this alone: these people are there to listen, now."
    },
    urgent="If someone may have taken too much, is struggling to breathe or will not wake up, "
    "call {numbers} now.",
    emergency="Emergency number in {country}: {numbers}.",
    danger="If you are in danger right now, call your local emergency number.",
    still_here="I'm still here. The lines I sent are there for you now, day or night.",
    still_here_closed="I'm still here. No line I know of is open right now, but the emergency "
    "number answers day and night.",
    not_a_service="I'm a peer-support bot, not a crisis service, and nobody watches these "
    "messages around the clock.",
    moderators_told="I have also let this community's moderators know, so one of them may check "
    "in with you (your name, never your words). They are volunteers and may not see it for a "
    "while, so please use the lines above if you need someone now.",
)


def load_answers(folder: Path) -> tuple[Answers, list[str]]:
    """`answers.toml` and `emergency.toml` from `folder`, and one problem per broken row."""
    answers = Answers()
    problems: list[str] = []
    try:
        texts = tomllib.loads((folder / "answers.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        problems.append(f"answers.toml: {exc}")
        texts = {}
    for language, raw in texts.items():
        try:
            answers.texts[language] = _answer_text(language, raw)
        except (ValueError, TypeError, KeyError) as exc:
            problems.append(f"answers.toml [{language}]: {exc}")
    try:
        data = tomllib.loads((folder / "emergency.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        problems.append(f"emergency.toml: {exc}")
        data = {}
    stamp = data.get("verified_at")
    answers.verified_at = stamp if isinstance(stamp, date) else None
    for code, raw in (data.get("countries") or {}).items():
        try:
            answers.emergency[code] = _emergency(code, raw)
        except (ValueError, TypeError, KeyError) as exc:
            problems.append(f"emergency.toml {code}: {exc}")
    answers.compile()
    return answers, problems


def _answer_text(language: str, raw: dict[str, object]) -> AnswerText:
    intro = raw.get("intro")
    if not isinstance(intro, dict) or DEFAULT_KIND not in intro:
        raise ValueError(f"intro.{DEFAULT_KIND} is needed")
    unknown = sorted(set(intro) - set(CONCERN_KINDS))
    if unknown:
        raise ValueError(f"unknown concern kind(s) {', '.join(unknown)}")
    values = {key: str(raw[key]) for key in TEXT_KEYS}
    for key in ("urgent",):
        if "{numbers}" not in values[key]:
            raise ValueError(f"{key} must name {{numbers}}")
    if "{numbers}" not in values["emergency"] or "{country}" not in values["emergency"]:
        raise ValueError("emergency must name {country} and {numbers}")
    words = raw.get("overdose_words", [])
    if not isinstance(words, list):
        raise ValueError("overdose_words must be a list")
    help_words = raw.get("help_words", [])
    if not isinstance(help_words, list):
        raise ValueError("help_words must be a list")
    plea_words = raw.get("plea_words", [])
    if not isinstance(plea_words, list):
        raise ValueError("plea_words must be a list")
    table = raw.get("words", {})
    if not isinstance(table, dict):
        raise ValueError("words must be a table")
    plurals: dict[str, dict[str, str]] = {}
    for english, translated in table.items():
        forms = translated if isinstance(translated, dict) else {"": translated}
        for form in forms.values():
            if set(_PLACEHOLDER.findall(english)) != set(_PLACEHOLDER.findall(str(form))):
                raise ValueError(
                    f"words {english[:30]!r}: the translation must keep its placeholders"
                )
        if isinstance(translated, dict):
            plurals[str(english)] = _plural_forms(language, english, translated)
    return AnswerText(
        language=language,
        intro={str(k): str(v) for k, v in intro.items()},
        overdose_words=tuple(str(w) for w in words),
        help_words=tuple(str(w) for w in help_words),
        plea_words=tuple(str(w) for w in plea_words),
        words={str(k): str(v) for k, v in table.items() if not isinstance(v, dict)},
        plurals=plurals,
        **values,
    )


# The plural categories of CLDR (https://cldr.unicode.org/index/cldr-spec/plural-rules).
PLURAL_CATEGORIES = frozenset({"zero", "one", "two", "few", "many", "other"})


def plural_category(language: str, count: int) -> str:
    """The CLDR plural category of `count` in `language` (`one` for 1 in English)."""
    rule = plural_rule(language)
    if rule is None:
        return "one" if count == 1 else "other"
    return str(rule(count))


def _plural_forms(language: str, english: str, forms: dict[str, object]) -> dict[str, str]:
    """A count-dependent text's forms by plural category; every category that a count up to
    999 falls in must be given (`other` stands in for the rest, e.g. `many` for millions)."""
    unknown = sorted(set(forms) - PLURAL_CATEGORIES)
    if unknown:
        raise ValueError(f"words {english[:30]!r}: {', '.join(unknown)} is no plural category")
    needed = {plural_category(language, n) for n in range(1000)} | {"other"}
    missing = sorted(needed - set(forms))
    if missing:
        raise ValueError(f"words {english[:30]!r}: give the plural form(s) {', '.join(missing)}")
    return {str(k): str(v) for k, v in forms.items()}


def _emergency(code: str, raw: dict[str, object]) -> EmergencyNumber:
    if code not in COUNTRIES:
        raise ValueError("not an ISO 3166-1 alpha-2 code")
    numbers = raw["numbers"]
    if not isinstance(numbers, list) or not numbers:
        raise ValueError("numbers must be a non-empty list")
    for number in numbers:
        if not _NUMBER.match(str(number)):
            raise ValueError(f"{number!r} is not a short number dialled inside the country")
    service = str(raw.get("service", ""))
    if service not in SERVICES:
        raise ValueError(f"service must be one of {', '.join(SERVICES)}")
    return EmergencyNumber(
        country=code,
        numbers=tuple(str(n) for n in numbers),
        service=service,
        source=check_url(raw["source"]),
        metadata_gap=str(raw.get("metadata_gap", "")),
    )


def _first_language(patterns: dict[str, re.Pattern[str]], text: str, prefer: str) -> str | None:
    """The first language (`prefer` first) whose pattern finds something in `text`."""
    norm = normalise(text)
    if not norm:
        return None
    for language, pattern in sorted(patterns.items(), key=lambda item: item[0] != prefer):
        if pattern.search(norm):
            return language
    return None


def _is_plea(
    words: list[str], asking: frozenset[str], around: frozenset[str], longest: int
) -> bool:
    """Whether `words` split wholly into phrases of `asking` and `around` (each at most
    `longest` words), with at least one of `asking`."""
    # reached[i]: whether words[:i] split so, as the set of "an asking phrase was seen" flags
    reached: list[set[bool]] = [set() for _ in range(len(words) + 1)]
    reached[0].add(False)
    for start in range(len(words)):
        if not reached[start]:
            continue
        for end in range(start + 1, min(len(words), start + longest) + 1):
            phrase = " ".join(words[start:end])
            if phrase in asking:
                reached[end].add(True)
            if phrase in around:
                reached[end].update(reached[start])
    return True in reached[len(words)]
