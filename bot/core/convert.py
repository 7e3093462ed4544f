"""Text arguments shared by the console and Matrix, and typed conversion for every platform.

Syntax: positional words in option order, `name:value` or `name=value` for any option, quotes
of any keyboard ("..." '...' “...” „...“ ”...” «...») for values with spaces. Extra words flow
into the last text option, so `!journal write I had a good day` needs no quotes. An unknown
`key:value` is refused, not taken as a value (in free text, only a near miss of an option).
A date and its time of day need no quotes where an option takes a moment (`2026-12-10 19:00`).
An unnamed word that reads as a date, time, length of time or person goes to the next optional
option that takes such a word, never into free text such as a title (`_assign`). Where the words
leave two readings, nothing is guessed and the member is told how to write each (`Misread`): a
word of two kinds (`2h`, `1h30`: a length or a time of day), a word of letters that is a time
or a name (`Noon`), or a plain word that cannot be the option it falls to right after the words
of a text option (`edit Circle Weekly Friends 20:00`: `title:"Weekly Friends"`?). The last
words, together a known value of a text option (a group's name from its autocomplete), are
that value whole (`group read Monday crew`).
When the leading words could name either of two things (meetings `Circle` and `Circle next`:
`move Circle next 2026-12-10 19:00`), nothing is guessed: the member is asked which.

Files never come from free words: Discord hands over its attachment, the Matrix adapter the file
a command replies to, and on the console `file:PATH` names a file on disk.
"""

from __future__ import annotations

import difflib
import functools
import math
import mimetypes
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Any, Literal, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError

from bot.core.commands import CommandSpec, Option, OptionType
from bot.core.context import Context
from bot.core.errors import ArgumentError, UserError
from bot.core.message import Attachment
from bot.core.zones import utc_offset_text
from bot.i18n import _, available_languages
from bot.safety import unstorable

# Quotes as keyboards type them: straight, English “…”, German „…“ and ‚…‘, Swedish ”…”,
# French «…», Danish »…«, full-width ＂…＂. A value opened by a double quote closes at the next
# double quote of any style (phones pick the style), and the same for single quotes.
DOUBLE_QUOTES = frozenset('"“”„‟«»＂')
SINGLE_QUOTES = frozenset("'‘’‚‛‹›")
QUOTES = DOUBLE_QUOTES | SINGLE_QUOTES
APOSTROPHES = SINGLE_QUOTES  # an unmatched one is just an apostrophe ('cause, ’til)


def _closing(text: str, opener: str, start: int) -> int:
    """Where the quote opened by `opener` closes in `text` from `start`, or -1."""
    family = DOUBLE_QUOTES if opener in DOUBLE_QUOTES else SINGLE_QUOTES
    return next((i for i in range(start, len(text)) if text[i] in family), -1)


_NAMED = re.compile(r"^([a-z][a-z0-9_-]*)[:=]", re.IGNORECASE)
FILE_WORD = "file"  # `file:PATH` fills a command's file option whatever its name
MAX_SAFE_INTEGER = 2**53 - 1  # Discord's bound for numbers; far inside SQL's 64-bit integers
MIN_YEAR, MAX_YEAR = 1900, 2999  # dates a person means; far from datetime's own limits
MAX_FILE_BYTES = 2 * 1024 * 1024  # imports are text; this is far above any real directory


@runtime_checkable
class RemoteFile(Protocol):
    """A file a platform holds for a command; its size is known before `read` fetches it.

    `discord.Attachment` fits as it is; the Matrix adapter and the console wrap theirs.
    """

    @property
    def filename(self) -> str: ...

    @property
    def size(self) -> int: ...

    @property
    def content_type(self) -> str | None: ...

    async def read(self) -> bytes: ...


@runtime_checkable
class LocalFiles(Protocol):
    """A responder that may open files on this machine: the console, never a chat platform."""

    def open_file(self, path: str) -> RemoteFile:
        """The file at `path`; `ArgumentError` when it cannot be read."""
        ...


@dataclass(frozen=True)
class Token:
    """A word of the command line with where it sits in the raw text."""

    value: str
    start: int
    end: int
    quoted: bool
    names: str = ""  # the option whose known value these words are, together (`_known_names`)


def tokenize(text: str) -> list[Token]:
    """Split a command line into words (`Token`: the value without its quotes, its start and
    end offsets in `text`, and whether it was quoted), honouring quotes anywhere in a word;
    an unmatched quote runs to the end of the line. Never raises."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start = i
        buf: list[str] = []
        quoted = False
        while i < n and not text[i].isspace():
            ch = text[i]
            end = _closing(text, ch, i + 1) if ch in QUOTES else -1
            opens = ch in QUOTES and (i == start or (bool(buf) and buf[-1] in ":="))
            if opens and end < 0 and ch not in APOSTROPHES:
                raise ArgumentError(
                    _("A quote is not closed: {fragment}").format(fragment=text[i : i + 30])
                )
            if opens and end >= 0:
                buf.append(text[i + 1 : end])
                quoted = True
                i = end + 1
            else:
                buf.append(ch)
                i += 1
        tokens.append(Token("".join(buf), start, i, quoted))
    return tokens


def bind_text(
    spec: CommandSpec,
    text: str,
    known: Mapping[str, Iterable[str]] | None = None,
    filled: list[str] | None = None,
) -> dict[str, str]:
    """Assign the words of `text` to the command's options (no type conversion yet).

    `filled`: when given, the names of the options filled by unnamed words are appended
    to it, in order (so a refusal can say which word went where).

    `known`: for each `known_only` option, the values it may take (the member's group names).
    Such an option takes the longest run of leading words that names one of them (by
    `name_key`); when none does it stays empty and the words fill the next options. Without
    `known` an option marked `known_only` takes no positional word at all.
    """
    values: dict[str, str] = {}
    positional: list[Token] = []
    names = {o.name for o in spec.options}
    files = [o.name for o in spec.options if o.type is OptionType.ATTACHMENT]
    worded = [o for o in spec.options if o.type is not OptionType.ATTACHMENT]
    greedy = bool(worded) and worded[-1].type is OptionType.STRING
    for tok in tokenize(text):
        raw = text[tok.start : tok.end]
        m = None if raw[:1] in QUOTES else _NAMED.match(raw)
        name = m.group(1).lower() if m else ""
        if name == FILE_WORD and name not in names and files:
            name = files[0]
        if m and name in names:
            if name in values:
                raise ArgumentError(_("The `{name}` option is given twice.").format(name=name))
            values[name] = tok.value[len(m.group(0)) :]
        elif m and _unknown_option(name, raw[len(m.group(0)) :], spec, greedy):
            close = difflib.get_close_matches(name, sorted(names), n=1, cutoff=0.6)
            hint = _("Did you mean `{name}`?").format(name=close[0]) + " " if close else ""
            raise ArgumentError(
                _("Unknown option `{name}`. {hint}Options: {options}").format(
                    name=name,
                    hint=hint,
                    options=", ".join(o.name for o in spec.options) or _("none"),
                )
            )
        else:
            positional.append(tok)
    free = [o for o in worded if o.name not in values]
    free, positional = _known_words(free, positional, known or {}, text)
    positional = _known_names(free, positional, known or {})
    bound, extra = _assign(free, positional, spec.options)
    if extra:
        raise ArgumentError(
            _("Too many values for `{command}`: {extra}").format(
                command=spec.name, extra=" ".join(t.value for t in extra)[:80]
            )
        )
    for option, run in bound:
        # several words: the last free-text option keeps the rest of the line as typed
        values[option.name] = text[run[0].start : run[-1].end] if len(run) > 1 else run[0].value
        if filled is not None:
            filled.append(option.name)
    return values


def _known_words(
    free: list[Option], positional: list[Token], known: Mapping[str, Iterable[str]], text: str
) -> tuple[list[Option], list[Token]]:
    """The options positional words fill, and the words, after `known_only` options took
    the leading words that name a known value (merged into one word) or were left out.
    Raises `AmbiguousWords` when the words fit an `Option.names` option in ways that name
    different things (see `_readings`)."""
    kept: list[Option] = []
    words = list(positional)
    for index, option in enumerate(free):
        at = len(kept)
        if option.names and not option.known_only:
            readings = _readings(words[at:], known.get(option.name, ()), free[index + 1 :])
            if len(readings) > 1:
                raise AmbiguousWords(option.name, text, readings)
            needed = sum(1 for later in free[index + 1 :] if later.required)
            taken = (
                readings[0].count
                if readings
                else _named_run(words[at:], known.get(option.name, ()), needed)
            )
            if taken > 1:
                run = words[at : at + taken]
                value = " ".join(t.value for t in run)
                words[at : at + taken] = [Token(value, run[0].start, run[-1].end, False)]
            kept.append(option)
            continue
        if not option.known_only:
            kept.append(option)
            continue
        keys = {name_key(v) for v in known.get(option.name, ())} - {""}
        taken = next(
            (
                n
                for n in range(len(words) - at, 0, -1)
                if name_key(" ".join(t.value for t in words[at : at + n])) in keys
            ),
            0,
        )
        if not taken:
            continue  # not one of the member's names: these words belong to what follows
        run = words[at : at + taken]
        value = " ".join(t.value for t in run)
        words[at : at + taken] = [Token(value, run[0].start, run[-1].end, run[0].quoted)]
        kept.append(option)
    return kept, words


def _known_names(
    free: list[Option], words: list[Token], known: Mapping[str, Iterable[str]]
) -> list[Token]:
    """`words` with the unquoted last words merged into one word when together (two or more)
    they are one of the known values of an option still to fill that is neither `names` nor
    `known_only` (those took their words in `_known_words`): a group's name from its
    autocomplete (`group read Monday crew`, `toolbox share 1 Monday crew`). The word carries
    that option's name (`Token.names`), so `_assign` gives it there, whole. The words the
    required options before that option need are never taken."""
    for index, option in enumerate(free):
        if option.names or option.known_only or option.required:
            continue
        keys = {name_key(v) for v in known.get(option.name, ())} - {""}
        if not keys:
            continue
        first = sum(1 for o in free[:index] if o.required)
        for at in range(first, len(words) - 1):
            run = words[at:]
            if any(t.quoted or t.names for t in run):
                continue
            if name_key(" ".join(t.value for t in run)) in keys:
                value = " ".join(t.value for t in run)
                merged = Token(value, run[0].start, run[-1].end, False, option.name)
                return [*words[:at], merged]
    return words


def weighs_known(spec: CommandSpec, option: Option) -> bool:
    """Whether `bind_text` weighs the values `option`'s autocomplete offers (its `known`): a
    `known_only` option; and an optional free-text option with an autocomplete that words
    for another option may come before or after (`group read [group] [page]`, `toolbox share
    id [person] [group]`), where a name of several words typed last is read whole
    (`_known_names`): values it offers are values that exist, though it may offer only some
    (25 time zones), so no word is refused for being none of them. `Option.names` options
    have their own method."""
    if option.known_only:
        return option.autocomplete is not None
    if option.required or option.autocomplete is None or not free_text(option):
        return False
    worded = [o for o in spec.options if o.type is not OptionType.ATTACHMENT]
    at = worded.index(option)
    return at < len(worded) - 1 or any(not o.required for o in worded[:at])


def _named_run(words: list[Token], names: Iterable[str], needed: int) -> int:
    """How many of the leading unquoted `words` name one of `names`: all of them when together
    they are a name (by `name_key`; a title typed whole); else the longest run that is a name,
    or word by word the start of just one, and leaves `needed` words for the required options
    after it; but a longer whole name over a mere start of one, though it leaves too few (what
    is missing is then asked for the meeting meant: `move Circle of friends 2026-12-08`). 0
    when no run of two or more words does."""
    by_name, by_key = _keyed(tuple(names))
    keyed, whole = list(by_name.values()), set(by_key)

    def names_one(n: int, *, start: bool) -> bool:
        run = words[:n]
        typed = [k for k in (name_key(t.value) for t in run) if k]
        if not typed or any(t.quoted for t in run):
            return False
        if "".join(typed) in whole:
            return True
        return start and len({tuple(k) for k in keyed if k[: len(typed)] == typed}) == 1

    if needed and len(words) > 1 and names_one(len(words), start=False):
        return len(words)  # every word, together a name: a title typed whole
    fit = next((n for n in range(len(words) - needed, 0, -1) if names_one(n, start=True)), 0)
    if not fit or not names_one(fit, start=False):  # none, or only the start of a name: a
        longer = range(len(words), max(fit, 1), -1)  # longer whole name wins, though it
        # leaves too few words for the options after it
        fit = next((n for n in longer if names_one(n, start=False)), fit)
    return fit if fit > 1 else 0


@dataclass(frozen=True)
class Reading:
    """One way the leading words of a line fill an `Option.names` option: the `words` taken
    (as typed: `count` tokens, offsets `start`-`end` in the line), the known `name` they
    stand for, and `missing`, the first required option after it that the rest of the line
    leaves without a word ("" when the line reads whole: `complete`)."""

    words: str
    name: str
    count: int  # how many words (tokens) it takes
    start: int
    end: int
    missing: str  # the first required option left without a word ("" when none is)

    @property
    def complete(self) -> bool:
        """Whether the rest of the line fills the options after it."""
        return not self.missing

    @property
    def name_key(self) -> str:
        """The name as people match it (`name_key`): readings of one name are one reading."""
        return name_key(self.name)


class AmbiguousWords(ArgumentError):
    """The words of a line fit several readings that name different things (two meeting
    titles, one the start of the other). Nothing is guessed: `question` asks which was meant.

    `option`: the option's name (`meeting`); `text`: the line after the command's words;
    `readings`: the readings, shortest run of words first."""

    def __init__(self, option: str, text: str, readings: list[Reading]) -> None:
        self.option, self.text, self.readings = option, text, readings
        super().__init__(self.question(""))

    def question(self, command: str) -> str:
        """The question for the member: each reading's name and the line that says it alone
        (its words quoted), as `command` (prefix and command words, e.g. `!meeting move`)
        followed by the line. Markdown."""
        from bot.safety import escape_markdown

        lines = [
            _(
                "I can read that in {count} ways, each naming a different {option}, so I have "
                "changed nothing. Which did you mean?"
            ).format(count=len(self.readings), option=self.option)
        ]
        for reading in self.readings[:MAX_READINGS]:
            quote = '"' if '"' not in reading.words else "'"
            line = " ".join(
                part
                for part in (
                    command,
                    self.text[: reading.start].strip(),
                    f"{quote}{reading.words}{quote}",
                    self.text[reading.end :].strip(),
                )
                if part
            )
            shown = _("**{name}**: `{line}`").format(name=escape_markdown(reading.name), line=line)
            if reading.missing:
                shown += " " + _("(then add `{option}:`)").format(option=reading.missing)
            lines.append("- " + shown)
        lines.append(_("Quotes keep a name together; send the line you meant."))
        return "\n".join(lines)


MAX_READINGS = 5  # readings listed in a question; more would not be read


def _readings(words: list[Token], names: Iterable[str], later: list[Option]) -> list[Reading]:
    """Every way the leading unquoted `words` can name one of `names` (by `name_key`: a whole
    name, or word by word the start of just one) that a member may have meant: the rest of the
    line then fills the `later` options (enough words for the required ones, none too many,
    each fitting its option's type and `Option.shape`), or the run is a whole name and too
    few words are left (what is missing would be asked for that name). Empty when the first
    word is quoted (a quoted name is taken as it is) or no run names anything."""
    if not words or words[0].quoted:
        return []
    keyed, whole = _keyed(tuple(names))
    found: list[Reading] = []
    typed_whole: dict[str, int] = {}  # a name's key: how many words typed it whole
    for n in range(1, len(words) + 1):
        run = words[:n]
        if any(t.quoted for t in run):
            break
        typed = [k for k in (name_key(t.value) for t in run) if k]
        if not typed:
            continue
        starts = {tuple(k): m for m, k in keyed.items() if k[: len(typed)] == typed}
        if not starts and not any(k.startswith("".join(typed)) for k in whole):
            break  # no name goes on like this: longer runs name nothing either
        meant = whole.get("".join(typed))
        if meant is None and len(starts) == 1:
            meant = next(iter(starts.values()))
        if meant is None:
            continue
        whole_run = name_key(meant) == "".join(typed)
        if whole_run:
            typed_whole[name_key(meant)] = n
        fit = _fills(later, words[n:])
        if fit == "fits" or (fit == "few" and whole_run):
            text = " ".join(t.value for t in run)
            try:
                missing = _missing(later, _assign(later, words[n:])[0])
            except Misread:
                missing = ""
            found.append(Reading(text, meant, n, run[0].start, run[-1].end, missing))
    # The start of a name whose words go on to be that name whole is no reading of its own:
    # `circle circle next 19:00` never takes `next` as the date of `circle circle next`.
    found = [r for r in found if typed_whole.get(r.name_key, 0) <= r.count]
    if not any(r.complete for r in found):
        return []  # nothing reads whole: what is missing is asked, as before
    best: dict[str, Reading] = {}  # one reading a name, by `_rank`
    for reading in found:
        kept = best.get(reading.name_key)
        if kept is None or _rank(reading) > _rank(kept):
            best[reading.name_key] = reading
    return sorted(best.values(), key=lambda r: r.count)


@functools.lru_cache(maxsize=16)
def _keyed(names: tuple[str, ...]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Each name's words as `name_key`s, and each whole name's key to the name (the first
    of those sharing a key). Cached: a community's names are read again on every command."""
    keyed = {name: [k for k in (name_key(w) for w in name.split()) if k] for name in names}
    whole: dict[str, str] = {}
    for name, keys in keyed.items():
        if keys:
            whole.setdefault("".join(keys), name)
    return keyed, whole


def _rank(reading: Reading) -> tuple[bool, bool, int]:
    """Of one name's readings the one taken: the name typed whole first (the rest of `Circle
    next` is never read as `when` to act on a meeting `Circle next` whose date was left
    out), then one that reads the line whole, then the longest."""
    whole = name_key(reading.words) == reading.name_key
    return whole, reading.complete, reading.count


def _fills(options: list[Option], words: list[Token]) -> Literal["fits", "few", "many", "odd"]:
    """Whether `words` fill `options` as `_assign` binds them: `fits`, too `few` for the
    required ones, too `many` (and no last free-text option to take them), or `odd` (a word
    that cannot be what its option takes, or one `_assign` would ask about)."""
    try:
        bound, extra = _assign(options, words)
    except Misread:
        return "odd"
    if _missing(options, bound):
        return "few"
    if extra:
        return "many"
    for option, run in bound:
        if not _plausible(option, " ".join(t.value for t in run)):
            return "odd"
    return "fits"


def _missing(options: list[Option], bound: list[tuple[Option, tuple[Token, ...]]]) -> str:
    """The first required option of `options` no word was bound to ("" when none)."""
    given = {option.name for option, _run in bound}
    return next((o.name for o in options if o.required and o.name not in given), "")


def _plausible(option: Option, value: str) -> bool:
    """Whether a typed word could be the option's value (its `shape`, a time of day for an
    `Option.moment` option, a number, yes or no, a choice, a duration); other kinds are not
    judged from words."""
    if option.shape is not None and not re.fullmatch(option.shape, value.strip(), re.I):
        return False
    if option.moment and not has_time_of_day(value):
        return False  # a date alone is refused there ("needs a time of day too")
    kind = option.type
    try:
        if kind in (OptionType.INTEGER, OptionType.NUMBER):
            _number(option, value)
        elif kind is OptionType.BOOLEAN:
            return value.lower() in TRUE_WORDS | FALSE_WORDS
        elif kind is OptionType.CHOICE:
            word = _choice_key(value)
            return any(
                word in (_choice_key(c.value), _choice_key(c.display)) for c in option.choices
            )
        elif kind is OptionType.DURATION:
            parse_duration(value)
    except UserError:
        return False
    return True


_DAY_NAME = (
    r"(?:mon(?:day)?|tue(?:s|sday)?|wed(?:nesday)?|thu(?:rs|rsday)?|fri(?:day)?|"
    r"sat(?:urday)?|sun(?:day)?)\.?"
)
_DATE_WORD = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}(?:[./-]\d{2,4}|\.)?|today|tomorrow|tonight|"
    + _DAY_NAME,
    re.IGNORECASE,
)
_NEXT_WEEKDAY = re.compile(r"(?:next|this)\s+" + _DAY_NAME, re.IGNORECASE)
_TIME_WORD = re.compile(
    r"\d{1,2}(?:[:.]\d{2})?\s*[ap]\.?m\.?|\d{1,2}[:.h]\d{2}|\d{1,2}h|noon|midday|midnight",
    re.IGNORECASE,
)


def _assign(
    options: list[Option], words: list[Token], every: Iterable[Option] = ()
) -> tuple[list[tuple[Option, tuple[Token, ...]]], list[Token]]:
    """Which unnamed `words` fill which of `options` (in order), and the words left over.

    Words go to the options in order, except that a word that reads as a date or time, a
    length of time or a person (`reads_as`) passes over optional options that do not take
    such a word (`takes`) to the next one that does, so `edit Circle "2026-12-01 20:00"` sets
    `start`, never the title. Where no option after it takes it and the option it falls to is
    free text (`free_text`) while some option of the command (`every`) would take it,
    `Misread` is raised: the member is asked, nothing is guessed; so too where a word reads as
    two kinds (`2h`, `1h30`: a length or a time of day) and optional options of both kinds
    could take it (`_check_two_readings`), where a word of letters (`Noon`) would pass over a
    free-text option to the option of its kind (`_check_word_or_name`), and where a plain word
    right after the words of a text option would fill an option it cannot be (`_check_split`:
    `Weekly Friends` typed as a title without quotes). A word that is a known value of an
    option (`Token.names`, from `_known_names`) passes over optional options to it. A date and
    the time of day after it (`2026-12-10 19:00`, `tomorrow 7pm`, `next tue 19:00`, and a zone
    such as `Europe/Berlin` or `UTC` after those) are one word where they fall to an
    `Option.moment` option, so a moment needs no quotes; such an option's own name typed
    unquoted where its value would begin, with words after it, is a connecting word and is
    dropped (`move Circle next to 2026-12-10 20:00`: `to`); quoted, it is a value. When more
    words are left than options, the last option takes them all when it takes free words (a
    run of several tokens)."""
    every = tuple(every) or tuple(options)
    out = list(words)
    bound: list[tuple[Option, tuple[Token, ...]]] = []
    i = k = 0
    while k < len(out) and i < len(options):
        option = options[i]
        if option.moment and k + 1 < len(out) and _is_lead(out[k], option):
            del out[k]
        last = i == len(options) - 1
        greedy = last and option.type is OptionType.STRING and len(out) - k > 1
        if greedy and (not option.moment or _moment_size(out[k : k + 4]) < len(out) - k):
            rest = tuple(out[k:])
            if not option.required:
                _check_misread(option, " ".join(t.value for t in rest), every)
            bound.append((option, rest))
            k = len(out)
            break
        size = _moment_size(out[k : k + 4])
        joined, word, target = _merged(out[k : k + size]), out[k], i
        if option.moment:
            word = joined
        if not option.required:
            _check_two_readings(options[i : _next_required(options, i + 1)], word.value)
        if not option.required and word.names and word.names != option.name:
            reachable = options[i + 1 : _next_required(options, i + 1)]
            known = next((o for o in reachable if o.name == word.names), None)
            target = options.index(known) if known is not None else i
        elif not option.required and not takes(option, word.value):
            reachable = options[i + 1 : _next_required(options, i + 1)]
            joins = size > 1 and not option.moment
            moment = next((o for o in reachable if o.moment), None) if joins else None
            fit = next((o for o in reachable if takes(o, word.value)), None)
            if moment is not None:
                target, word = options.index(moment), joined
            elif fit is not None:
                target = options.index(fit)
            else:
                _check_misread(option, joined.value, every)
            if target != i:
                _check_word_or_name(option, options[target], word)
        if bound and k and bound[-1][1][-1] is out[k - 1]:
            _check_split(bound[-1][0], bound[-1][1], options[target], word)
        bound.append((options[target], (word,)))
        k += size if word is joined else 1
        i = target + 1
    return bound, out[k:]


def _merged(run: list[Token]) -> Token:
    """The words of `run` as one unquoted word (a date and its time of day)."""
    if len(run) == 1:
        return run[0]
    return Token(" ".join(t.value for t in run), run[0].start, run[-1].end, False)


def _next_required(options: list[Option], start: int) -> int:
    """The index of the first required option from `start` on (`len(options)` if none): an
    unnamed word never passes over a required option."""
    return next((j for j in range(start, len(options)) if options[j].required), len(options))


# What an unnamed word may read as (`reads_as`), in the words a refusal uses
_READS_AS = {
    "moment": lambda: _("a date or time"),
    "duration": lambda: _("a length of time"),
    "person": lambda: _("a person"),
}
_SINGLE_DATE = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}(?:[./-]\d{2,4}|\.)?|today|tomorrow|tonight",
    re.IGNORECASE,
)
_PERSON = re.compile(r"<@!?\d+>|@[^\s@:]+(?::\S+)?")
_UNIT_DURATION = re.compile(r"(?:\d+\s*(?:d|h|m)[a-z]*\s*)+", re.IGNORECASE)
# Hours and minutes without the minutes' unit, for an hour a 12-hour day has (`1h30`, `0h45`):
# as likely a length (1 h 30 min) as a time of day (01:30), so `reads_as` gives both and such
# a word is asked about where options of both kinds could take it. `19h30` is a time alone.
_HOURS_MINUTES = re.compile(r"(?:0?\d|1[0-2])h[0-5]\d", re.IGNORECASE)


def reads_as(value: str) -> frozenset[str]:
    """What a typed value reads as, whole: `moment` (a date, a time of day, or both: `2026-12-01
    20:00`, `tomorrow`, `7pm`, `next tue 19:00`; a weekday's name alone is a word), `duration`
    (a length with its unit: `90m`, `1h30m`; a bare number is a number) and/or `person` (a
    mention: `@ana`, `<@123>`, `@ana:example.org`). Empty for other words."""
    text = " ".join(value.split())
    kinds: set[str] = set()
    words = [Token(w, 0, 0, False) for w in text.split(" ")] if text else []
    if len(words) == 1:
        if _SINGLE_DATE.fullmatch(text) or _TIME_WORD.fullmatch(text):
            kinds.add("moment")
    elif len(words) > 1 and (
        _moment_size(words) == len(words) or (len(words) == 2 and _NEXT_WEEKDAY.fullmatch(text))
    ):
        kinds.add("moment")
    if _UNIT_DURATION.fullmatch(text) or _HOURS_MINUTES.fullmatch(text):
        try:
            parse_duration(text)
            kinds.add("duration")
        except UserError:
            pass
    if _PERSON.fullmatch(text):
        kinds.add("person")
    return frozenset(kinds)


def free_text(option: Option) -> bool:
    """Whether an option takes any words, with nothing about them weighed: a string that is
    no moment, has no `shape`, names nothing known, and is not the member's own words (those
    are theirs, whatever they read as)."""
    return option.type is OptionType.STRING and not (
        option.moment or option.shape or option.names or option.known_only or option.private_text
    )


def takes(option: Option, value: str) -> bool:
    """Whether an unnamed word that reads as something (`reads_as`) is the kind of word
    `option` takes: one fitting its `shape`; a date or time for a moment or a date and time; a
    length of time for a duration; a mention for a person or a role. False for free text and
    for words that read as nothing."""
    kinds = reads_as(value)
    if not kinds:
        return False
    if option.shape is not None:
        return re.fullmatch(option.shape, value.strip(), re.IGNORECASE) is not None
    if option.moment or option.type is OptionType.DATETIME:
        return "moment" in kinds
    if option.type is OptionType.DURATION:
        return "duration" in kinds
    if option.type in (OptionType.USER, OptionType.ROLE):
        return "person" in kinds
    return False


class Misread(ArgumentError):
    """An unnamed word that reads as a date, a length of time or a person fell to a free-text
    option while another option of the command takes such words: nothing is guessed."""


def _check_misread(option: Option, value: str, every: Iterable[Option]) -> None:
    """Raise `Misread` when `value`, unnamed, would fill the free-text `option` though it
    reads as something another of `every` takes."""
    if not free_text(option):
        return
    kinds = reads_as(value)
    other = next((o for o in every if o is not option and takes(o, value)), None)
    if not kinds or other is None:
        return
    what = _READS_AS[sorted(kinds)[0]]()
    word = value[:60].replace("`", "'")  # shown in code spans
    raise Misread(
        _(
            "I read `{word}` as {what}, not as `{option}` ({description}), so I have changed "
            'nothing. Did you mean `{other}:"{word}"`? To give `{option}` those words, name it: '
            '`{option}:"{word}"`.'
        ).format(
            word=word,
            what=what,
            option=option.name,
            description=lower_first(option.description),
            other=other.name,
        )
    )


def _check_two_readings(options: list[Option], value: str) -> None:
    """Raise `Misread` when `value` reads as two kinds of word (`2h`: two hours, or 02:00)
    and two of `options` (the optional ones it could fill, in order) take it, each as a
    different kind: which was meant is asked, never decided by the options' order."""
    kinds = reads_as(value)
    if len(kinds) < 2:
        return
    by_kind: dict[str, Option] = {}  # the first option taking it as each kind
    for option in options:
        if takes(option, value):
            by_kind.setdefault(_kind_taken(option), option)
    fits = list(by_kind.values())
    if len(fits) < 2:
        return
    word = value[:60].replace("`", "'")  # shown in code spans
    raise Misread(
        _(
            "I can read `{word}` in two ways, so I have changed nothing. Did you mean "
            '`{one}:"{one_word}"` ({one_description}) or `{other}:"{other_word}"` '
            "({other_description})?"
        ).format(
            word=word,
            one_word=_written(fits[0], word),
            other_word=_written(fits[1], word),
            one=fits[0].name,
            one_description=lower_first(fits[0].description),
            other=fits[1].name,
            other_description=lower_first(fits[1].description),
        )
    )


def _written(option: Option, value: str) -> str:
    """`value` as `option`, named, takes it in the sense it has there: a length written
    `1h30` as `1h30m` (so it never reads as 01:30)."""
    if _kind_taken(option) == "duration" and _HOURS_MINUTES.fullmatch(value.strip()):
        return value.strip() + "m"
    return value


_LETTERS = re.compile(r"[^\W\d_]+")  # a word of letters alone (`noon`, `tonight`)


def _check_word_or_name(option: Option, target: Option, word: Token) -> None:
    """Raise `Misread` when the unnamed `word` would pass over the free-text `option` to
    `target` (the option of its kind) though it is a plain word of letters, which is as
    likely a name (`Noon`, `Tonight`) as a time: which was meant is asked."""
    if word.quoted or not free_text(option) or not _LETTERS.fullmatch(word.value):
        return
    shown = word.value[:60]
    raise Misread(
        _(
            "`{word}` could be `{option}` ({one_description}) or `{other}` "
            "({other_description}), "
            'so I have changed nothing. Did you mean `{option}:"{word}"` or '
            '`{other}:"{word}"`?'
        ).format(
            word=shown,
            option=option.name,
            one_description=lower_first(option.description),
            other=target.name,
            other_description=lower_first(target.description),
        )
    )


def _check_split(before: Option, run: tuple[Token, ...], option: Option, word: Token) -> None:
    """Raise `Misread` when the unnamed `word`, right after the words `run` given to the text
    option `before`, would fill `option` though it cannot be such a value (`Friends` as a
    start, `crew` as a page): the words are most likely one value of `before` typed without
    quotes (`Weekly Friends`, `Monday crew`), so nothing is guessed and the member is told
    how to write each. Not after an `Option.names` option: a meeting's title is weighed
    against the titles known (`_known_words`)."""
    if before.type is not OptionType.STRING or before.moment or before.shape or before.names:
        return
    if word.quoted or word.names:
        return
    if run[-1].quoted or reads_as(word.value) or _plausible(option, word.value):
        return
    words = " ".join([*(t.value for t in run), word.value])[:80].replace("`", "'")
    quote = '"' if '"' not in words else "'"
    raise Misread(
        _(
            "`{word}` cannot be `{option}` ({description}), so I have changed nothing. Did you "
            "mean `{before}:{quote}{words}{quote}`? Quotes keep the words of one value "
            "together; to give `{option}`, name it: `{option}:…`."
        ).format(
            word=word.value[:60].replace("`", "'"),
            option=option.name,
            description=lower_first(option.description),
            before=before.name,
            quote=quote,
            words=words,
        )
    )


def _kind_taken(option: Option) -> str:
    """What an option takes a word as (`takes`): `moment`, `duration`, `person`, or, for an
    option judged by its `shape`, its own name."""
    if option.shape is not None:
        return option.name
    if option.moment or option.type is OptionType.DATETIME:
        return "moment"
    if option.type is OptionType.DURATION:
        return "duration"
    return "person"


def lower_first(text: str) -> str:
    """`New date and time` as `new date and time`, to follow on in a sentence; a word in
    capitals (`IANA time zone`) keeps them."""
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text


def _is_lead(token: Token, option: Option) -> bool:
    """Whether `token` is the option's name typed unquoted as a connecting word (`to`)."""
    return not token.quoted and token.value.casefold() == option.name.casefold()


def _moment_size(run: list[Token]) -> int:
    """How many of the unquoted words of `run` (up to four) are one date, a time of day and
    an optional zone; 1 when they are not a date followed by a time."""
    if any(t.quoted for t in run):
        run = run[: next(i for i, t in enumerate(run) if t.quoted)]
    values = [t.value for t in run]
    date_words = 2 if len(values) > 2 and _NEXT_WEEKDAY.fullmatch(" ".join(values[:2])) else 1
    if not values or not _DATE_WORD.fullmatch(values[date_words - 1]):
        return 1
    if len(values) <= date_words or not _TIME_WORD.fullmatch(values[date_words]):
        return 1
    size = date_words + 1
    if len(values) > size and ("/" in values[size] or values[size].upper() == "UTC"):
        size += 1
    return size


def _unknown_option(name: str, value: str, spec: CommandSpec, greedy: bool) -> bool:
    """Whether `name:value` names an option the command lacks (and is not text or a link).

    In a command whose last option takes free text, `word:` may be part of that text, so only
    a near miss of a real option (`repat:weekly`) is refused there."""
    if not value or value.startswith("//") or name == FILE_WORD:
        return False  # https://... is a link, not an option
    if not greedy:
        return True
    names = [o.name for o in spec.options]
    return bool(difflib.get_close_matches(name, names, n=1, cutoff=0.75))


TRUE_WORDS = {"yes", "y", "true", "on", "1"}
FALSE_WORDS = {"no", "n", "false", "off", "0"}
_DURATION = re.compile(
    r"^\s*(?:(?P<d>\d+)\s*d(?:ays?)?)?\s*(?:(?P<h>\d+)\s*h(?:ours?|rs?)?)?\s*"
    r"(?:(?P<m>\d+)\s*m(?:in(?:utes?|s)?)?)?\s*$",
    re.IGNORECASE,
)


def name_key(text: str) -> str:
    """A name as people match it: case, width, spaces, punctuation and emoji ignored
    (`🌱 Newcomers` and `newcomers` are the same key)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def closest_name(text: str, names: Iterable[str]) -> str | None:
    """The one name in `names` that `text` means: the same `name_key`, else the nearest
    spelling (difflib ratio at least 0.6); None when there is none."""
    by_key: dict[str, str] = {}
    for name in names:
        by_key.setdefault(name_key(name), name)
    wanted = name_key(text)
    if wanted in by_key:
        return by_key[wanted]
    close = difflib.get_close_matches(wanted, list(by_key), n=1, cutoff=0.6)
    return by_key[close[0]] if close else None


def parse_zone(text: str, now: datetime | None = None) -> ZoneInfo:
    """A place's IANA zone (or UTC) from typed text, also a country's name (`UK`, `Germany`);
    see `bot.core.zones.find_zone` for what is accepted and refused (with likely places
    suggested). Raises `ArgumentError`."""
    from bot.core.zones import find_zone

    return find_zone(text, now, _country_named)


def _country_named(text: str) -> tuple[str, str] | None:
    """(ISO 3166 code, English name) of the country `text` names (`check_country`), or None."""
    try:
        code = check_country(text)
    except UserError:
        return None
    return code, COUNTRY_NAMES[code]


COUNTRY_NAMES: dict[str, str] = {
    code: name
    for code, name in Locale("en").territories.items()
    if len(code) == 2 and code.isalpha() and code not in {"ZZ", "QO", "EU", "EZ", "UN", "XA", "XB"}
}


# Parts of a country people commonly type for it; the CLDR has them as subdivisions only.
_COUNTRY_PARTS = {
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "great britain": "GB",
}
# A locale tag such as `en-GB` or `pt_BR`: its region part names the country.
_LOCALE_TAG = re.compile(r"^[a-z]{2,3}[-_]([a-z]{2})$", re.IGNORECASE)


def _country_aliases() -> dict[str, str]:
    """Other codes the CLDR reads as one country: `UK`, alpha-3 (`GBR`), numeric (`826`)."""
    from babel.core import get_global

    aliases: dict[str, str] = {}
    for alias, targets in get_global("territory_aliases").items():
        if len(targets) == 1 and targets[0] in COUNTRY_NAMES:
            aliases[str(alias).upper()] = targets[0]
    return aliases


COUNTRY_ALIASES = _country_aliases()


def _name_key(text: str) -> str:
    words = " ".join(text.replace(".", "").split()).casefold()
    return words.removeprefix("the ")


def _folded_key(text: str) -> str:
    """`_name_key` without accents: `España` and `Espana` read alike."""
    decomposed = unicodedata.normalize("NFKD", _name_key(text))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@functools.cache
def _names_in_every_language() -> dict[str, str]:
    """Accent-folded country names in every language the CLDR (via Babel) has that name one
    country alone (30,000 of them), each with its code; built once on first use (about a
    second). Each language's names are read from its own data file (`bot.cldr`): through
    `Locale` the 330 locales stayed loaded, about 146 MB for the life of the process."""
    from babel import localedata

    from bot import cldr

    shared = {code: code for code in COUNTRY_NAMES}  # one string per code, not one per name
    several = ""  # a name of more than one country
    found: dict[str, str] = {}
    for identifier in localedata.locale_identifiers():
        if "_" in identifier:
            continue  # regional variants repeat their language's names
        # A language's own file holds all its country names (root, its parent, has none).
        names = cldr.own_data(identifier).get("territories", {})
        for code, name in names.items():
            if code in shared:
                key = _folded_key(name)
                seen = found.setdefault(key, shared[code])
                if seen != code:
                    found[key] = several
    return {key: code for key, code in found.items() if code != several}


def country_in_any_language(text: str) -> str | None:
    """The code of the one country named `text` in any CLDR language (`Deutschland`,
    `Espana`, `Nederland`), accents ignored; None when no country or several have that name."""
    return _names_in_every_language().get(_folded_key(text))


def find_country(text: str, *, loose: bool = True) -> str | None:
    """The ISO 3166-1 alpha-2 code (`"DE"`) `text` names, else None: the one reading of a
    country wherever one is typed (`me country`, `crisis country:`, `crisis list`, a
    directory row).

    Read: a code in any case (`de`, `US`), another code the CLDR knows (`UK`, `GBR`, `826`),
    a part of a country people name for it (`England`, `Great Britain`), a country's name in
    the language in use or in English (`the United Kingdom`), a locale tag's region (`en-GB`),
    or a name in any CLDR language when only one country has it (`Deutschland`, `Espana`;
    names via Babel). `loose=False` is for words that may only happen to name a country
    (`crisis help me`, `crisis end`): a code only in capitals and letters (`GB`, `UK`,
    `USA`, never `us`, `in` or `112`), and names only in the language in use or English."""
    from bot.i18n import current_language

    raw = " ".join(text.split())
    code = raw.replace(".", "")
    if loose or (code.isalpha() and code.isupper()):
        code = code.upper()
        if code in COUNTRY_NAMES:
            return code
        if code in COUNTRY_ALIASES:
            return COUNTRY_ALIASES[code]
    if not loose and len(code) <= 3:
        return None
    key = _name_key(raw)
    if key in _COUNTRY_PARTS:
        return _COUNTRY_PARTS[key]
    for language in dict.fromkeys((current_language(), "en")):
        try:
            names = Locale.parse(language).territories
        except (ValueError, UnknownLocaleError):
            continue
        for found, name in names.items():
            if found in COUNTRY_NAMES and _name_key(name) == key:
                return str(found)
    if not loose:
        return None
    tag = _LOCALE_TAG.match(raw)
    if tag and tag.group(1).upper() in COUNTRY_NAMES:
        return tag.group(1).upper()
    return country_in_any_language(raw)


def check_country(text: str) -> str:
    """`find_country`'s code for `text`; raises `UserError` saying how to name a country for
    anything else."""
    code = find_country(text)
    if code is not None:
        return code
    raise UserError(
        _(
            "`{text}` is not a country I know. Use its name or a two-letter code such as US, "
            "GB, DE or IE."
        ).format(text=text.strip()[:40])
    )


def language_name(code: str) -> str:
    """A language's own name (`Deutsch` for `de`), or the code when Babel has none."""
    try:
        return Locale.parse(code).get_display_name(code) or code
    except (ValueError, UnknownLocaleError):
        return code


def check_language(text: str) -> str:
    """A language code the bot has texts for (`"en"`), lower-cased, from its code, its own or
    English name, or the suggestion's label (`Deutsch (de)`); raises `UserError` naming the
    languages there are for anything else."""
    raw = " ".join(text.split())
    code = raw.lower()
    languages = available_languages()
    if code in languages:
        return code
    for known in languages:
        own = language_name(known)
        try:
            english = Locale.parse(known).get_display_name("en") or known
        except (ValueError, UnknownLocaleError):
            english = known
        if raw.casefold() in {n.casefold() for n in (own, english, f"{own} ({known})")}:
            return known
    raise UserError(
        _("`{text}` is not a language I have texts in. I have: {languages}.").format(
            text=raw[:40], languages=", ".join(f"{language_name(c)} ({c})" for c in languages)
        )
    )


def zone_label(moment: datetime) -> str:
    """The zone of an aware moment as people read it: `BST`, `AEDT`, `CET` where the tz
    database has a name, else the IANA name (`Asia/Dubai`, whose database name is `+04`),
    else `UTC+01:00`."""
    name = moment.tzname() or ""
    if name.isalpha():
        return name
    key = getattr(moment.tzinfo, "key", None)
    if key:
        return str(key)
    return utc_offset_text(moment) if name else "UTC"


# Colon look-alikes NFKC leaves as they are: the ratio sign (`7∶30`) and the modifier letter
# colon (`7꞉30`). NFKC itself folds the full-width (`7：30`), small and vertical colons.
_COLON_LIKE = str.maketrans({"\u2236": ":", "\ua789": ":"})


def time_text(text: str) -> str:
    """`text` as times are read in it: NFKC-normalised (full-width digits and colons as
    ASCII) and any colon look-alike as `:`. The same length for ASCII text."""
    return unicodedata.normalize("NFKC", text).translate(_COLON_LIKE)


# A time of day as people type one where a length is asked for: `19:00`, `1:30`, `7:30:15`,
# `7pm`, `7.30 p.m.`, `19.30`, `19h30`, `noon`, `7 o'clock` (hours 0-23, minutes 0-59), and
# `0730`: four digits with a leading zero and minutes 00-59 are a 24-hour time (no one writes
# a number of minutes with a leading zero), also with an hours word after it (`0730h`,
# `0730 hrs`, `0800 hours`: not 730 or 800 hours). `19h` is not among them: it stays 19
# hours. `NhMM` is a time of day only for an hour a 24-hour clock alone has (`19h30`);
# `1h30` and `7h15` are no time here: as a length they are 1 h 30 min and 7 h 15 min (an
# unnamed one is asked about, `_HOURS_MINUTES`). `1900` stays 1900 minutes: it could be 19:00,
# but `1440` (a day) and `90` are lengths too and nothing tells them apart.
_CLOCK_FORMS = re.compile(
    r"(?:at\s*)?(?:"
    r"(?P<h1>\d{1,2})(?:[:.](?P<m1>\d{2})(?::(?P<s1>\d{2}))?)?\s*(?P<half>[ap]\.?\s?m\b\.?)"
    r"|(?P<h2>\d{1,2}):(?P<m2>\d{2})(?::(?P<s2>\d{2}))?"
    r"|(?P<h3>\d{1,2})\.(?P<m3>\d{2})"
    r"|(?P<h4>1[3-9]|2[0-3])h(?P<m4>\d{2})"
    r"|(?P<h5>\d{1,2})\s*o'?\s?clock"
    r"|0(?P<h6>\d)(?P<m6>[0-5]\d)(?:\s?h(?:rs?|ours?)?)?"
    r"|noon|midday|midnight"
    r")",
    re.IGNORECASE,
)


def clock_time_in(text: str) -> str | None:
    """The time of day `text` is, as typed (spaces collapsed, at most 20 characters), when it
    reads as one rather than as a length (see `_CLOCK_FORMS`: `19:00`, `1:30`, `7pm`,
    `7:30:15 am`, `19.30`, `19h30`, `noon`, `0730`, `0730 hrs`, `7：30`); None for anything
    else (`90m`, `1h30`, `19h`, `45`, `1900`)."""
    typed = " ".join(time_text(text).split())
    m = _CLOCK_FORMS.fullmatch(typed)
    if m is None:
        return None
    parts = m.groupdict()
    hour = next((int(parts[k]) for k in ("h1", "h2", "h3", "h4", "h5", "h6") if parts[k]), 12)
    minute = next((int(parts[k]) for k in ("m1", "m2", "m3", "m4", "m6") if parts[k]), 0)
    second = next((int(parts[k]) for k in ("s1", "s2") if parts[k]), 0)
    if hour > (12 if parts["half"] or parts["h5"] else 23) or minute > 59 or second > 59:
        return None
    return typed[:20]


def clock_time_refusal(time: str, option: str = "") -> str:
    """What a member is told who typed the time of day `time` where a length of time (a
    duration, an offset before something) is asked for; `option` names the option when known.
    Nothing is done with such a value."""
    if option:
        asked = _(
            "`{time}` looks like a time of day, but the `{option}` option takes a length of "
            "time, so nothing was done with it."
        ).format(time=time, option=option)
    else:
        asked = _(
            "`{time}` looks like a time of day, but a length of time is asked for here, so "
            "nothing was done with it."
        ).format(time=time)
    return asked + " " + _("For a length, write e.g. 90m or 1h30m.")


def parse_duration(text: str) -> timedelta:
    """A positive duration from `90m`, `1h30m`, `1h30` (an hour of a 12-hour day and minutes),
    `2d`, `19h` (19 hours) or a bare number of minutes, whole minutes only. Raises
    `ArgumentError` for a time of day (`1:30`, `19:00`, `7pm`, `19h30`: see `clock_time_in`),
    for anything else and for zero."""
    raw = text.strip()
    time = clock_time_in(raw)
    if time is not None:
        raise ArgumentError(clock_time_refusal(time))
    if re.fullmatch(r"\d{1,5}", raw):
        minutes = int(raw)
    elif _HOURS_MINUTES.fullmatch(raw):
        hours, _h, rest = raw.lower().partition("h")
        minutes = int(hours) * 60 + int(rest)
    elif (m := _DURATION.match(raw)) and any(m.groupdict().values()):
        parts = {k: int(v or 0) for k, v in m.groupdict().items()}
        minutes = parts["d"] * 1440 + parts["h"] * 60 + parts["m"]
    else:
        raise ArgumentError(
            _("`{text}` is not a duration. Try 90m, 1h30m or 2h.").format(text=raw[:40])
        )
    if minutes <= 0:
        raise ArgumentError(_("A duration must be longer than zero."))
    return timedelta(minutes=minutes)


_HAS_TIME = re.compile(
    r"\d\s*(?::\d|[ap]\.?m\b|h(?:\d\d)?\b|o'?clock)|\b(?:noon|midday|midnight|now)\b|\bin\s+\d+\s*(?:h|min)",
    re.IGNORECASE,
)


_ONLY_TIME = re.compile(
    r"(?:at\s*)?\d{1,2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?|noon|midday|midnight", re.IGNORECASE
)


def has_time_of_day(text: str) -> bool:
    """Whether typed text names a time of day (`7pm`, `19:00`, `19.30`, `noon`, `now`), not
    only a date."""
    return bool(_HAS_TIME.search(_hhmm_times(_dot_times(" ".join(text.split())))))


def read_wall_time(
    text: str,
    zone: ZoneInfo,
    now: datetime | None = None,
    *,
    prefer: Literal["future", "past"] = "future",
    country: str = "",
) -> datetime:
    """Typed text (`2026-12-01 19:00`, `tomorrow 6:30pm`, `next tuesday 19:00`, `7:30 PM`,
    `19h30`, `5 March 2026`, `01/02 7pm`, `now`, `yesterday 22:00`) as a naive wall time in
    `zone`, relative words read from `now` (aware; default the system clock). A bare time of
    day is the next such time when `prefer` is future, the last when past. Day and month in
    digits without a year follow `country` (ISO 3166-1 alpha-2; empty: the country of `zone`,
    else day first). Natural language is read by dateparser; raises `ArgumentError` for text
    it cannot read, and for a date whose year was not written but came from a number that is
    no day (`dec 32`)."""
    typed = " ".join(text.split())
    raw = _hhmm_times(_dot_times(_h_times(typed)))
    # The minute being typed in counts as now: `sat 17:00` at 17:00:00.5 is today, as at 17:00.
    base = (
        (now or datetime.now(ZoneInfo("UTC")))
        .astimezone(zone)
        .replace(tzinfo=None, second=0, microsecond=0)
    )
    try:
        return _in_range(datetime.fromisoformat(raw.replace(" ", "T", 1)))
    except ValueError:
        pass
    if raw.lower() == "now":
        return base.replace(second=0, microsecond=0)
    _check_typed_times(raw, now)
    _check_bare_hour(typed, raw)
    _check_signs(raw)
    _check_numeric_date(raw)
    raw = _day_month(raw, day_first(country, zone))
    ordinal = _ORDINAL_DAY.fullmatch(raw) or _WEEKDAY_DAY.fullmatch(raw)
    if ordinal is not None:
        return _in_range(_day_of_month(ordinal, zone, base, now, prefer))
    import dateparser  # imported on first use: it loads its language data then

    # dateparser reads `mon feb 9 2026 19:00` but not `19:00 mon feb 9 2026`: a clock time
    # typed first goes last, where it reads the same.
    if (lead := _LEADING_CLOCK.match(raw)) is not None and lead.group(2):
        raw = f"{lead.group(2)} {lead.group(1)}"
    found = dateparser.parse(
        raw,
        languages=["en"],
        settings={
            "TIMEZONE": zone.key,
            "RETURN_AS_TIMEZONE_AWARE": False,
            "RELATIVE_BASE": base,
            "PREFER_DATES_FROM": prefer,
        },
    )
    if found is None or re.fullmatch(r"[\d\s]+", raw):
        raise ArgumentError(
            _(
                "`{text}` is not a date and time I can read. Try 2026-12-01 19:00, "
                "tomorrow 7pm or next tuesday 19:00."
            ).format(text=typed[:60])
        )
    _check_day_written(typed, raw, found)
    _check_year_written(typed, raw, found, base)
    found = found.replace(second=0, microsecond=0)
    found = _this_weekday(raw, found, base, prefer)
    _check_weekday(typed, raw, found)
    if _ONLY_TIME.fullmatch(raw):
        found = datetime.combine(base.date(), found.time())
        # only a time of day: the next (or last) such time, never today's if it has passed
        if prefer == "future" and found < base:
            found += timedelta(days=1)
        elif prefer == "past" and found > base:
            found -= timedelta(days=1)
    return _in_range(found)


# `19h`, `19h30`, `7h15`: the hour-h-minutes form much of Europe writes; dateparser reads `19h`
# as 19 hours from now. `in 2h` stays a span.
_H_TIME = re.compile(r"(?<![\w:.])(\d{1,2})h(\d{2})?\b", re.IGNORECASE)


def _h_times(raw: str) -> str:
    """`19h30` as `19:30`, `19h` as `19:00`; `in 2h` is left as it is."""

    def colon(m: re.Match[str]) -> str:
        if re.search(r"\bin\s*$", raw[: m.start()], re.IGNORECASE):
            return m.group(0)
        return f"{m.group(1)}:{m.group(2) or '00'}"

    return _H_TIME.sub(colon, raw)


# `19.30`, `7.30pm`: a time of day with a dot, as much of Europe writes it. dateparser reads
# `tomorrow 19.30` as tomorrow at this minute and `7.30pm` not at all. `01.02.` and `01.02.2027`
# (a dot or digits after) stay dates.
_DOT_TIME = re.compile(
    r"(?<![\w:./+-])(\d{1,2})\.(\d{2})(?=(?P<half>\s*[ap]\.?m\b)|[^\w.:/]|$)", re.IGNORECASE
)
_DAY_WORD = re.compile(
    r"\b(?:today|tonight|tomorrow|yesterday|(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*)\b",
    re.IGNORECASE,
)


# Four digits that can only be a 24-hour time in a date phrase: 00-19 hours and 00-59 minutes
# (a year 0000-1959 is never a meeting's), not part of a longer number, date or time.
_HHMM = re.compile(
    r"(?<![\d:/.\-])([01]\d)([0-5]\d)(?:\s*(?:hours|hour|hrs|hr|h)\b)?(?![\d:/.\-])", re.I
)


def _hhmm_times(raw: str) -> str:
    """`tomorrow 0730` as `tomorrow 07:30` (it was read as tomorrow at the time it was typed;
    `fri 0730` as a year 730): four digits of a 24-hour time from 0000 to 1959, when no other
    time of day is typed. 2000-2359 stay as typed: they are years too (`dec 5 2030`)."""

    def colon(m: re.Match[str]) -> str:
        rest = raw[: m.start()] + " " + raw[m.end() :]
        return m.group(0) if _HAS_TIME.search(rest) else f"{m.group(1)}:{m.group(2)}"

    return _HHMM.sub(colon, raw)


def _dot_times(raw: str) -> str:
    """`7.30pm` as `7:30pm`; `19.30` (an hour of 13-23) and `tomorrow 10.30` (next to a day
    word) as `19:30` and `10:30` when no other time of day is typed; other text as it is."""

    def colon(m: re.Match[str]) -> str:
        hour, minute = int(m.group(1)), int(m.group(2))
        as_time = f"{m.group(1)}:{m.group(2)}"
        if m.group("half"):
            return as_time  # `_check_typed_times` refuses `19.30pm` and `7.75pm`, naming them
        rest = raw[: m.start()] + " " + raw[m.end() :]
        if minute > 59 or _HAS_TIME.search(rest):
            return m.group(0)
        return as_time if 13 <= hour <= 23 or _DAY_WORD.search(rest) else m.group(0)

    return _DOT_TIME.sub(colon, raw)


# A bare hour after `at` or a relative day (`sunday at 10`, `tomorrow at 7`, `today 8`, `the
# 5th at 7`): a bare number is no time of day anywhere else (`7`, `sat 5 7`), and dateparser
# read it as the day at the time it was typed, as midnight, or as a month (`sunday at 10`:
# 1 October). A month word after it makes it a day (`at 5 dec`).
_BARE_HOUR = re.compile(
    r"(?:\bat|\b(?:today|tonight|tomorrow|yesterday)(?:\s+at)?)\s+(?P<hour>\d{1,2})"
    r"(?![\w:./])(?!\s*(?:[ap]\.?m\b|o'?\s?clock\b|h\b))",
    re.IGNORECASE,
)


def _check_bare_hour(typed: str, raw: str) -> None:
    """Refuse a bare hour (0-23, no minutes, no am or pm) after `at` or a relative day when
    no other time of day is typed, asking which time is meant; it is never read as the time
    it was typed, as midnight or as a month. Raises `ArgumentError`."""
    for m in _BARE_HOUR.finditer(raw):
        hour = int(m.group("hour"))
        rest = raw[: m.start()] + " " + raw[m.end() :]
        if hour > 23 or _HAS_TIME.search(rest) or _MONTH_WORD.match(raw[m.end() :].lstrip()):
            continue
        if 1 <= hour <= 11:
            raise ArgumentError(
                _(
                    "`{text}`: {hour} in the morning or the evening? Write {hour}am, {hour}pm "
                    "or {evening}:00."
                ).format(text=typed[:60], hour=hour, evening=hour + 12)
            )
        raise ArgumentError(
            _("`{text}`: write the time with its minutes, e.g. {time}.").format(
                text=typed[:60], time=f"{hour:02d}:00"
            )
        )


# A number with a sign (`-1/12`, `dec +5`): no day, month or year has one.
_SIGNED = re.compile(r"(?:^|(?<=[\s/.,]))[+-]\d{1,4}(?![\d:])")


def _check_signs(raw: str) -> None:
    """Refuse a date part with a sign instead of dropping the sign."""
    m = _SIGNED.search(raw)
    if m is not None:
        raise ArgumentError(
            _(
                "`{part}`: a date is written without + or -. Try 5/12 19:00, dec 5 7pm or "
                "2026-12-05 19:00."
            ).format(part=m.group(0))
        )


# Day and month in digits without a year (`01/02`); a year after it is `_YEAR_LAST`'s.
_DAY_MONTH = re.compile(r"(?<![\d/.:-])(\d{1,2})/(\d{1,2})(?![\d/])")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def day_first(country: str, zone: ZoneInfo | None = None) -> bool:
    """Whether `country` (ISO 3166-1 alpha-2; empty: the one country of `zone` in tzdata's
    zone.tab) writes the day before the month in digits: False for the United States and
    the other month-first countries, per the CLDR's short date pattern (via Babel); True
    when the country is unknown, as most of the world writes it."""
    code = country.strip().upper() or _zone_country(zone.key if zone else "")
    if len(code) != 2 or code not in Locale("en").territories:
        return True
    try:
        locale = Locale.parse(f"und_{code}")
    except (ValueError, UnknownLocaleError):
        return True
    if locale.territory != code:
        return True
    pattern = str(locale.date_formats["short"].pattern)
    day, month = pattern.find("d"), pattern.find("M")
    return not (0 <= month < day)


def _zone_country(key: str) -> str:
    """The country tzdata's zone.tab gives `key` (`Europe/Berlin`: DE); empty when none."""
    from importlib import resources

    if not key:
        return ""
    table = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text("utf-8")
    for line in table.splitlines():
        row = line.split("\t")
        if len(row) > 2 and row[0][:1] != "#" and row[2] == key:
            return row[0]
    return ""


def _day_month(raw: str, first_is_day: bool) -> str:
    """`01/02` as `1 February` or `January 2` by the member's order; a number over 12 can
    only be the day. Raises `ArgumentError` for a pair that names no day (`13/13`, `31/02`)."""
    m = _DAY_MONTH.search(raw)
    if m is None:
        return raw
    first, second = int(m.group(1)), int(m.group(2))
    day, month = (first, second) if first_is_day else (second, first)
    if month > 12 and day <= 12:
        day, month = month, day
    if not (1 <= month <= 12 and 1 <= day <= (29 if month == 2 else _days_in(2025, month))):
        raise ArgumentError(
            _(
                "`{date}` is not a day and month I can read. Try 5 dec 7pm, "
                "2026-12-05 19:00 or tomorrow 19:00."
            ).format(date=m.group(0))
        )
    return raw[: m.start()] + f"{day} {_MONTHS[month - 1]}" + raw[m.end() :]


_LEADING_CLOCK = re.compile(
    r"^\s*(\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?)\s+(.*\S)\s*$", re.IGNORECASE
)


def _check_year_written(typed: str, raw: str, found: datetime, base: datetime) -> None:
    """Refuse a reading whose year the member did not write: dateparser takes a number that
    is no day (`dec 32`, `13/13`) as a year (2032, 2113). A year counts as written in four
    digits or as the two-digit year of a full date (`01/02/27`)."""
    written = {int(y) for y in re.findall(r"(?<!\d)\d{4}(?!\d)", raw)}
    written |= {2000 + int(m.group(3)) for m in _YEAR_LAST.finditer(raw) if len(m.group(3)) == 2}
    if found.year in written or re.search(r"\byears?\b", raw, re.IGNORECASE):
        return
    bare = [
        m.group(1)
        for m in re.finditer(r"(?<![\d:])(\d{1,2})(?![\d:])(?!\s*(?:[ap]\.?m|h)\b)", raw)
    ]
    as_year = [n for n in bare if int(n) == found.year % 100 and int(n) != found.day]
    days = {int(n) for n in bare}
    far = abs(found - base) > timedelta(days=400)
    # A number read as this year's own, the day then taken from nowhere typed (`34 jan` in
    # 2034 became 1 January): as wrong as a far year, only nearer.
    no_day = bool(as_year) and found.day not in days
    if not (far or (found.year != base.year and as_year) or no_day):
        return
    if not as_year and found.day in days:  # the day as typed, only years away (29 February)
        raise ArgumentError(
            _("`{text}`: that day next comes in {year}; write the year, e.g. {example}.").format(
                text=typed[:60], year=found.year, example=found.strftime("%Y-%m-%d %H:%M")
            )
        )
    part = (as_year or bare or [typed])[0][:20]
    if as_year and found.day in days - {int(part)}:  # another number was the day: a short year
        raise ArgumentError(
            _(
                "`{text}`: I could not read `{part}` as a day of the month, and a year must be "
                "written in full. Try dec 5 7pm, 5/12 19:00 or 2026-12-05 19:00."
            ).format(text=typed[:60], part=part)
        )
    raise ArgumentError(
        _(
            "`{text}`: I could not read `{part}` as a day of the month. Try dec 5 7pm, "
            "5/12 19:00 or 2026-12-05 19:00."
        ).format(text=typed[:60], part=part)
    )


_WEEKDAY = re.compile(
    r"\b(mon|tue|wed|thu|fri|sat|sun)(?:day|s|sday|nesday|rsday|r|rs|urday)?\b"
    r"|\b(next|last|this|coming|past|previous)\b",
    re.IGNORECASE,
)


def _this_weekday(raw: str, found: datetime, base: datetime, prefer: str) -> datetime:
    """`mon 7pm` typed on a Monday morning means tonight: dateparser reads a bare weekday
    naming today as a week away (ahead or back). Keep today when that time is still to come
    (or, preferring the past, has already been); `next monday` stays dateparser's reading."""
    words = [m for m in _WEEKDAY.finditer(raw)]
    if any(m.group(2) for m in words) or not words:
        return found
    if any(form.search(raw) for form in (_MONTH_WORD, _YEAR_FIRST, _YEAR_LAST)):
        return found  # a date typed (`sun 1 feb 7pm`) is that date, never today
    days = {m.group(1).lower() for m in words}
    if days != {f"{base:%a}".lower()} or found.weekday() != base.weekday():
        return found
    today = datetime.combine(base.date(), found.time())
    if prefer == "future" and found.date() > base.date() and today >= base:
        return today
    if prefer == "past" and found.date() < base.date() and today <= base:
        return today
    return found


def _check_weekday(typed: str, raw: str, found: datetime) -> None:
    """Refuse a reading on another weekday than the one typed (`fri 19 7pm` when the 19th is
    a Saturday, `tue 1 dec 7pm` when 1 December is a Wednesday): dateparser drops a weekday a
    date contradicts."""
    days = {m.group(1).lower() for m in _WEEKDAY.finditer(raw) if m.group(1)}
    if not days or f"{found:%a}".lower() in days:
        return
    from babel.dates import format_date

    from bot.i18n import current_language

    raise ArgumentError(
        _("`{text}`: {date} is a {weekday}; say the date, e.g. {example}.").format(
            text=typed[:60],
            date=format_date(found, "long", locale=current_language()),
            weekday=format_date(found, "EEEE", locale=current_language()),
            example=found.strftime("%Y-%m-%d"),
        )
    )


# A month's name (`feb`, `February`, `sept.`), and a number that can be a day of the month
# (`5`, `5th`; not `7pm`, `19:00`, `2027`, `7 o'clock`).
_MONTH_WORD = re.compile(
    r"\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?",
    re.IGNORECASE,
)
_DAY_NUMBER = re.compile(
    r"(?<![\d:])\d{1,2}(?:st|nd|rd|th)?(?![\d:])(?!\s*(?:[ap]\.?m|o'?\s?clock)\b)",
    re.IGNORECASE,
)


def _check_day_written(typed: str, raw: str, found: datetime) -> None:
    """Refuse a month named with no day (`feb 2027 7pm`): dateparser takes today's day of
    the month for it, which is no day the member chose (and may be in the past)."""
    month = _MONTH_WORD.search(raw)
    if month is None or _DAY_NUMBER.search(raw):
        return
    example = raw[: month.end()] + " 5" + raw[month.end() :]
    raise ArgumentError(
        _("`{text}`: which day of {month}? e.g. {example}").format(
            text=typed[:60], month=_month_name(found.year, found.month), example=example[:60]
        )
    )


# A date in digits, year first (`2026-12-05`, `2026/2/30`), and day and month in either order
# (`05/12/2026`). dateparser quietly swaps a month over 12 with the day and reads an ambiguous
# `05/12/2026` the American way, so these are checked here first.
_YEAR_FIRST = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?![\d:])")
_YEAR_LAST = re.compile(r"(?<![\d:])(\d{1,2})[/.](\d{1,2})[/.](\d{2}|\d{4})(?!\d)")
# A day of the month alone, as an ordinal (`the 5th at 7pm`, `on the 21st 19:00`, `sat the 5th`):
# dateparser reads `5th` as May and `1st` as January, and ignores PREFER_DATES_FROM for it.
_ORDINAL_DAY = re.compile(
    r"(?:(?P<weekday>mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+)?(?:on\s+)?(?:the\s+)?"
    r"(?P<day>\d{1,2})(?P<suffix>st|nd|rd|th)(?:\s+(?:at\s+)?(?P<time>.+))?",
    re.IGNORECASE,
)


# A weekday and a bare number (`sat 5 2pm`, `fri 19`): the number is a day of the month, as
# `sat the 5th` (dateparser reads `sat 5` as 5 May, on today's day of the month). A time after
# it must be one (`fri 7 pm` is Friday at 7pm).
_WEEKDAY_DAY = re.compile(
    r"(?P<weekday>mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+(?:on\s+)?(?:the\s+)?"
    r"(?P<day>\d{1,2})(?P<suffix>)(?:\s+(?:at\s+)?(?P<time>\d{1,2}(?::\d{2})?\s*[ap]\.?m\.?"
    r"|\d{1,2}:\d{2}|noon|midday|midnight))?",
    re.IGNORECASE,
)


def _ordinal(day: int) -> str:
    """`5th`, `21st`: a day of the month as English writes it."""
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _days_in(year: int, month: int) -> int:
    import calendar

    return calendar.monthrange(year, month)[1]


def _month_name(year: int, month: int) -> str:
    from babel.dates import format_date

    from bot.i18n import current_language

    return str(format_date(datetime(year, month, 1), "LLLL y", locale=current_language()))


def _check_numeric_date(raw: str) -> None:
    """Refuse a date in digits that names no day (`2027-02-30`, `2026-13-01`) with the reason,
    and one whose day and month could be swapped (`05/12/2026`), instead of a guess."""
    m = _YEAR_FIRST.search(raw)
    if m is not None:
        year, month, day = (int(g) for g in m.groups())
        if not 1 <= month <= 12:
            raise ArgumentError(
                _(
                    "`{date}`: there is no month {month}. Write dates as year-month-day, "
                    "e.g. 2026-12-05."
                ).format(date=m.group(0), month=month)
            )
        if not MIN_YEAR <= year <= MAX_YEAR:
            return  # `_in_range` names the years allowed
        if not 1 <= day <= _days_in(year, month):
            raise ArgumentError(
                _("`{date}`: {month} has {days} days.").format(
                    date=m.group(0), month=_month_name(year, month), days=_days_in(year, month)
                )
            )
        return
    m = _YEAR_LAST.search(raw)
    if m is not None:
        first, second = int(m.group(1)), int(m.group(2))
        if first != second and first <= 12 and second <= 12:
            raise ArgumentError(
                _(
                    "`{date}` could be read two ways (day and month). Write it as "
                    "year-month-day, e.g. 2026-12-05."
                ).format(date=m.group(0))
            )


def _day_of_month(
    found: re.Match[str],
    zone: ZoneInfo,
    base: datetime,
    now: datetime | None,
    prefer: Literal["future", "past"],
) -> datetime:
    """`the 5th at 7pm`: the next (or, preferring the past, the last) 5th, skipping months
    too short for it; a weekday typed with it must be that date's."""
    day = int(found.group("day"))
    if not 1 <= day <= 31:
        raise ArgumentError(_("`{text}` is not a day of the month.").format(text=found.group(0)))
    at = datetime.min.time()
    if found.group("time"):
        clock = found.group("time").strip()
        if not _ONLY_TIME.fullmatch(clock):
            raise ArgumentError(
                _(
                    "`{text}` is not a date and time I can read. Try 2026-12-01 19:00, "
                    "tomorrow 7pm or next tuesday 19:00."
                ).format(text=found.group(0)[:60])
            )
        at = read_wall_time(clock, zone, now).time()
    step = 1 if prefer == "future" else -1
    year, month = base.year, base.month
    candidate: datetime | None = None
    for _tries in range(13):  # every day 1-31 comes within a year
        if day <= _days_in(year, month):
            at_day = datetime.combine(datetime(year, month, day).date(), at)
            if (at_day >= base) if prefer == "future" else (at_day <= base):
                candidate = at_day
                break
        month += step
        if month == 13:
            year, month = year + 1, 1
        elif month == 0:
            year, month = year - 1, 12
    if candidate is None:  # not reached: a day of 1-31 comes round within 13 months
        raise ArgumentError(_("`{text}` is not a day of the month.").format(text=found.group(0)))
    weekday = found.group("weekday")
    if weekday and f"{candidate:%a}".lower() != weekday.lower()[:3]:
        from babel.dates import format_date

        from bot.i18n import current_language

        raise ArgumentError(
            _("The {day} is a {weekday}; say the date, e.g. {example}.").format(
                day=found.group("day") + found.group("suffix")
                if found.group("suffix")
                else _ordinal(int(found.group("day"))),
                weekday=format_date(candidate, "EEEE", locale=current_language()),
                example=candidate.strftime("%Y-%m-%d"),
            )
        )
    return candidate


_CLOCK = re.compile(r"\b(\d{1,2})(?::(\d{2}))?\s*([ap]\.?m\b\.?)?", re.IGNORECASE)


def _check_typed_times(raw: str, now: datetime | None) -> None:
    """Refuse what dateparser would quietly drop or convert: a time of day that does not
    exist (`25:00`, `13pm`) and a zone abbreviation (`7pm EST`), which names only part of a
    place's year."""
    for m in _CLOCK.finditer(raw):
        if m.group(2) is None and m.group(3) is None:
            continue  # a bare number: a day, a count
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        if hour > (12 if m.group(3) else 23) or minute > 59 or (m.group(3) and hour == 0):
            raise ArgumentError(
                _("`{time}` is not a time of day.").format(time=m.group(0).strip()[:12])
            )
    from dateparser.timezone_parser import pop_tz_offset_from_string

    from bot.core.zones import find_zone

    # What dateparser would read as a zone, in any case ("7pm est"), and what tzdata knows as
    # an abbreviation in capitals; a place's name or UTC is the only zone a time may carry.
    read_as_zone = [w for w in raw.split() if pop_tz_offset_from_string(" " + w)[1] is not None]
    for word in [*read_as_zone, *re.findall(r"\b[A-Z]{3,5}\b", raw)]:
        if word.upper() not in {"UTC", "Z"}:
            try:
                find_zone(word, now)
            except ArgumentError as exc:
                if word in read_as_zone or "abbreviation" in exc.message:
                    raise ArgumentError(
                        exc.message
                        + " "
                        + _("Put the place after the time, e.g. `tomorrow 7pm Europe/London`.")
                    ) from None


def parse_datetime(
    text: str,
    default_zone: str,
    now: datetime | None = None,
    *,
    prefer: Literal["future", "past"] = "future",
    country: str = "",
) -> datetime:
    """`2026-12-01 19:00`, `tomorrow 7pm`, `yesterday 22:00` (in the member's zone) with an
    optional zone name after, as an aware datetime. See `read_wall_time` (`country` sets the
    order of day and month in digits)."""
    raw = text.strip()
    zone_name = default_zone
    parts = raw.rsplit(" ", 1)
    if (len(parts) == 2 and "/" in parts[1]) or (len(parts) == 2 and parts[1].upper() == "UTC"):
        raw, zone_name = parts[0], parts[1]
    zone = parse_zone(zone_name)
    try:
        aware = datetime.fromisoformat(raw.replace(" ", "T", 1) if " " in raw else raw)
        if aware.tzinfo is not None:
            return _in_range(aware)
    except ValueError:
        pass
    value = read_wall_time(raw, zone, now, prefer=prefer, country=country)
    local = value.replace(tzinfo=zone)
    round_trip = local.astimezone(ZoneInfo("UTC")).astimezone(zone)
    if round_trip.replace(tzinfo=None) != value:
        raise ArgumentError(
            _(
                "{time} does not exist in {zone}: the clocks jump forward then. Pick a time "
                "outside the gap."
            ).format(time=value.strftime("%Y-%m-%d %H:%M"), zone=zone.key)
        )
    return local


def _in_range(value: datetime) -> datetime:
    """Refuse far-off years, so a command adding a day or a week to a date cannot overflow."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ArgumentError(
            _("Please pick a date between the years {low} and {high}.").format(
                low=MIN_YEAR, high=MAX_YEAR
            )
        )
    return value


async def convert_option(option: Option, raw: Any, ctx: Context) -> Any:
    """Turn a raw value (typed text, or a platform's typed value) into the option's type.

    Raises `ArgumentError` with a message for the member when the value does not fit.
    """
    kind = option.type
    if isinstance(raw, str):
        if len(raw) > option.limit:
            raise ArgumentError(
                _(
                    "The `{name}` option is too long ({length} characters; the limit is {limit})."
                ).format(name=option.name, length=len(raw), limit=option.limit)
            )
        if unstorable(raw):
            raise ArgumentError(
                _("The `{name}` option contains a character I cannot store.").format(
                    name=option.name
                )
            )
        raw = raw.strip() if kind is not OptionType.STRING else raw
        if option.required and raw == "":
            raise ArgumentError(_("The `{name}` option cannot be empty.").format(name=option.name))
    if kind is OptionType.STRING:
        value = str(raw)
        if option.min_length is not None and len(value) < option.min_length:
            raise ArgumentError(
                _("The `{name}` option needs at least {n} characters.").format(
                    name=option.name, n=option.min_length
                )
            )
        return value
    if kind in (OptionType.INTEGER, OptionType.NUMBER):
        return _number(option, raw)
    if kind is OptionType.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        word = str(raw).lower()
        if word in TRUE_WORDS or word in FALSE_WORDS:
            return word in TRUE_WORDS
        raise ArgumentError(_("The `{name}` option takes yes or no.").format(name=option.name))
    if kind is OptionType.CHOICE:
        word = _choice_key(str(raw))
        for c in option.choices:
            if word in (_choice_key(c.value), _choice_key(c.display)):
                return c.value
        raise ArgumentError(
            _("`{value}` is not one of the choices for `{name}`: {choices}").format(
                value=str(raw)[:40],
                name=option.name,
                choices=", ".join(c.display for c in option.choices),
            )
        )
    if kind is OptionType.DURATION:
        if not isinstance(raw, timedelta):
            time = clock_time_in(str(raw))
            if time is not None:
                raise ArgumentError(clock_time_refusal(time, option.name))
            return parse_duration(str(raw))
        if raw <= timedelta(0):
            raise ArgumentError(_("A duration must be longer than zero."))
        return raw
    if kind is OptionType.DATETIME:
        if not isinstance(raw, datetime):
            return parse_datetime(str(raw), ctx.timezone, ctx.now(), country=ctx.country)
        if raw.tzinfo is None:  # a wall-clock time: read it in the member's zone, gap-checked
            return parse_datetime(raw.isoformat(sep=" "), ctx.timezone, ctx.now())
        return _in_range(raw)
    if kind is OptionType.USER:
        actor = await ctx.responder.resolve_actor(str(raw))
        if actor is None:
            raise ArgumentError(
                _("I could not find the person `{who}` here.").format(who=str(raw)[:60])
            )
        return actor
    if kind is OptionType.CHANNEL:
        place = await ctx.responder.resolve_place(str(raw))
        if place is None:
            raise ArgumentError(
                _("I could not find the channel `{where}` here.").format(where=str(raw)[:60])
            )
        return place
    if kind is OptionType.ROLE:  # Discord's picker gives the role's id; text platforms the words
        return str(raw)
    if kind is OptionType.ATTACHMENT:
        return await _file(option, raw, ctx)
    raise ArgumentError(f"unsupported option type {kind}")  # pragma: no cover


async def _file(option: Option, raw: Any, ctx: Context) -> Attachment:
    """An attachment, read only once its announced size passed the cap."""
    if isinstance(raw, Attachment):
        _check_size(option, len(raw.data))
        return raw
    if isinstance(raw, str):
        if not isinstance(ctx.responder, LocalFiles):
            raise ArgumentError(
                _("The `{name}` option takes a file, not text.").format(name=option.name)
                + " "
                + file_hint(ctx, option=option.name)
            )
        raw = ctx.responder.open_file(raw)
    if not isinstance(raw, RemoteFile):
        raise ArgumentError(_("The `{name}` option takes a file.").format(name=option.name))
    _check_size(option, raw.size)
    data = await raw.read()
    _check_size(option, len(data))  # a platform's announced size may be missing or wrong
    name = PurePosixPath(raw.filename.replace("\\", "/")).name[-100:] or "file"
    mime = raw.content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Attachment(name, data, mime.split(";")[0].strip())


def _check_size(option: Option, size: int) -> None:
    if size > MAX_FILE_BYTES:
        raise ArgumentError(
            _(
                "That file is too large for `{name}`: {size} MB, and I accept files up to "
                "{limit} MB. Split it into smaller files and import them one by one."
            ).format(
                name=option.name,
                size=f"{size / 1_048_576:.1f}",
                limit=MAX_FILE_BYTES // 1_048_576,
            )
        )


def file_hint(ctx: Context, command: str = "", option: str = FILE_WORD) -> str:
    """How a member attaches a file here (to `command` when given), for messages asking one."""
    platform, line = ctx.place.platform, f"{ctx.prefix}{command}"
    if platform == "discord":
        return _("Choose the file in the `{option}` option of the command.").format(option=option)
    if platform == "matrix":
        if not command:
            return _("Upload the file to this room, then reply to it with the command.")
        return _("Upload the file to this room, then reply to it with `{line}`.").format(line=line)
    if platform == "console":
        if not command:
            return _("Add `file:PATH` to the command.")
        return _("Add `file:PATH`, for example `{line} file:/tmp/list.csv`.").format(line=line)
    return _("Send the file together with the command.")


def file_text(attachment: Attachment) -> str:
    """An uploaded file's text (UTF-8, with or without a byte-order mark). Raises
    `ArgumentError` naming the file when it is not UTF-8."""
    try:
        return attachment.data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ArgumentError(
            _("`{filename}` is not UTF-8 text. Save it as UTF-8 and send it again.").format(
                filename=attachment.filename
            )
        ) from None


def _number(option: Option, raw: Any) -> int | float:
    integer = option.type is OptionType.INTEGER
    try:
        if isinstance(raw, bool):
            raise ValueError
        value: int | float = int(str(raw)) if integer else float(str(raw).replace(",", "."))
        if not integer and not math.isfinite(value):
            raise ValueError
    except ValueError:
        kind = _("a whole number") if integer else _("a number")
        raise ArgumentError(
            _("The `{name}` option takes {kind}, not `{value}`.").format(
                name=option.name, kind=kind, value=str(raw)[:40]
            )
        ) from None
    if (option.min_value is not None and value < option.min_value) or (
        option.max_value is not None and value > option.max_value
    ):
        low, high = _fmt(option.min_value), _fmt(option.max_value)
        if option.max_value is None:
            message = _("The `{name}` option must be at least {low}.")
        elif option.min_value is None:
            message = _("The `{name}` option must be at most {high}.")
        else:
            message = _("The `{name}` option must be between {low} and {high}.")
        raise ArgumentError(message.format(name=option.name, low=low, high=high))
    if abs(value) > MAX_SAFE_INTEGER:  # beyond what SQL integers and Discord carry
        raise ArgumentError(
            _("The `{name}` option is too large a number.").format(name=option.name)
        )
    return value


def _fmt(bound: float | None) -> str:
    if bound is None:
        return ""
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def _choice_key(text: str) -> str:
    """A choice as typed, compared without case, and `_`, `-` and spaces alike."""
    return re.sub(r"[\s_-]+", " ", text.strip().lower())
