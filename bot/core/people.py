"""The words the bot itself uses to stand for people, and the pseudonyms they rule out.

Every label the bot shows in place of a person ("a member", "member 2", "a volunteer
facilitator", "a moderator", "a former member") is defined here and only here, in `LABELS`
(fixed words) and `NUMBERED` (the numbered label of lists). Render modules and the member
service call `person_label`/`numbered` instead of writing the words themselves, so a new label
added here is at once a word no member can take as a pseudonym (`pseudonym_refusal`).

Two names look the same when their `lookalike_key`s are equal: after NFKC, without invisible
format characters, white space or decorating punctuation and symbols, without case, mapped to
their Unicode confusables skeleton (UTS #39, computed by ICU's spoof checker) and without accents
on Latin, Greek and Cyrillic letters, so "Rivеr" with a Cyrillic "е", "R i v e r", "R-i-v-e-r",
"River.", "Rïver" and "ＲＩＶＥＲ" are all "River". Names in any script are fine, and marks that
make another letter elsewhere (Devanagari vowel signs, Japanese "ガ" against "カ") keep two
names apart; only look-alikes are refused.
"""

from __future__ import annotations

import hashlib
import re
import string
import unicodedata
from functools import cache
from typing import TYPE_CHECKING

from bot.i18n import N_, _, available_languages, using_language

if TYPE_CHECKING:
    import icu

# Fixed labels standing for a person, by role; shown with `person_label`.
LABELS: dict[str, tuple[str, str]] = {
    # role: (inside a sentence, opening a sentence)
    "member": (N_("a member"), N_("A member")),
    "facilitator": (N_("a volunteer facilitator"), N_("A volunteer facilitator")),
    "some facilitator": (N_("a facilitator"), N_("A facilitator")),
    "moderator": (N_("a moderator"), N_("A moderator")),
    "former": (N_("a former member"), N_("A former member")),
}
# The numbered label of the nth person without a pseudonym in a list.
NUMBERED: tuple[str, str] = (N_("member {n}"), N_("Member {n}"))

# Words that make a name read as the bot or as the people who run a community. A pseudonym
# is refused when one of its words (split at anything that is not a letter or digit), or a
# run of consecutive words read together ("Ad min"), reads as one of these (`lookalike_key`), in
# any interface language: "Team River", "M0derator" and "a.d.m.i.n" are refused, "Modesty",
# "Abbot" and "Teamwork" are not (whole words only: a name that merely contains one is fine).
STAFF_WORDS: tuple[str, ...] = (
    N_("moderator"),
    N_("moderators"),
    N_("mod"),
    N_("mods"),
    N_("facilitator"),
    N_("facilitators"),
    N_("admin"),
    N_("admins"),
    N_("administrator"),
    N_("administrators"),
    N_("bot"),
    N_("circlebot"),
    N_("staff"),
    N_("team"),
    N_("official"),
    N_("system"),
)

_WORD = re.compile(r"[^\W_]+")


def person_label(role: str, *, opening: bool = False) -> str:
    """The bot's word for a person of `role` (a key of `LABELS`), in the current language;
    capitalised for `opening` (the start of a sentence). Raises KeyError for another role."""
    inside, first = LABELS[role]
    return _(first) if opening else _(inside)


def numbered(n: int, *, opening: bool = False) -> str:
    """The label of the `n`th person without a pseudonym in a list ("member 2")."""
    return _(NUMBERED[1] if opening else NUMBERED[0]).format(n=n)


@cache
def _checker() -> icu.SpoofChecker:
    # ICU (11 MB resident) is loaded the first time a name is checked, not by every process
    # at start (benchmarks/memory.py).
    import icu

    return icu.SpoofChecker()


def _skeleton(text: str) -> str:
    return str(_checker().getSkeleton(0, text))


@cache
def _ascii_by_skeleton() -> dict[str, tuple[str, ...]]:
    """The printable ASCII characters by their skeleton, letters first."""
    found: dict[str, list[str]] = {}
    for a in sorted(string.printable.strip(), key=lambda a: not a.isalpha()):
        found.setdefault(_skeleton(a), []).append(a)
    return {k: tuple(v) for k, v in found.items()}


@cache
def _as_ascii(c: str) -> str:
    """The ASCII character a non-ASCII `c` looks like (UTS #39), of the same case if there is
    one (Greek capital iota is "I", Cyrillic palochka "l"); `c` itself when none."""
    if c.isascii():
        return c
    found = _ascii_by_skeleton().get(_skeleton(c))
    if not found:
        return c
    same_case = [a for a in found if a.isalpha() and a.isupper() == c.isupper()]
    return (same_case or list(found))[0]


def lookalike_key(name: str) -> str:
    """How a name looks whatever its case, for telling two names apart.

    Punctuation and symbols (Unicode categories P and S) that do not look like an ASCII letter
    or digit dropped when the name has a letter or digit ("River.", "R-i-v-e-r", "O’Brien",
    an emoji beside a name; "|" reads as l and stays); NFKC; invisible format characters (Cf)
    and white space dropped; each character that looks like an ASCII character (UTS #39
    skeleton; Cyrillic "Е", Greek "Μ", fullwidth and mathematical letters) written as that
    character; case-folded; mapped to its UTS #39 confusables skeleton, without the combining
    marks (Mn) on Latin, Greek and Cyrillic letters ("Rïver", "Алёна", "Μαρία"; `_sheds_marks`)
    or the strokes of Latin letters ("Łukasz"; `_prototype`), and case-folded again; and "i"
    written as "l", because a capital I looks like l (so "RlVER" reads as "RIVER", which is
    "River"). Equal keys mean two names a reader cannot tell apart, or that differ only in
    case, accents or punctuation. Erring toward refusing, names that differ only by i against
    l ("Eli", "Ell") share a key too. Returns "" for a name of nothing visible.
    """
    if any(unicodedata.category(c)[0] in "LN" for c in unicodedata.normalize("NFKC", name)):
        name = "".join(c for c in name if not _is_decoration(c))
    # Look-alikes of ASCII before NFKC as well as after it: NFKC writes some of them as a
    # letter that looks different (Greek lunate sigma "ϲ", which looks like c, becomes "ς").
    text = unicodedata.normalize("NFKC", "".join(_as_ascii(c) for c in name))
    text = "".join(
        _as_ascii(c) for c in text if unicodedata.category(c) != "Cf" and not c.isspace()
    )
    text = unicodedata.normalize("NFKC", _unmarked_skeleton(text.casefold())).casefold()
    return text.replace("i", "l")


@cache
def _is_decoration(c: str) -> bool:
    """True for punctuation or a symbol that does not look like an ASCII letter or digit
    ("." "-" "’" "—" "★" an emoji; not "|", which looks like l, nor "¢", like c).
    Letters are never decoration, even where their skeleton is punctuation (Hebrew yod, Japanese
    "く")."""
    if unicodedata.category(c)[0] not in "PS":
        return False
    look = unicodedata.normalize("NFD", _skeleton(unicodedata.normalize("NFKC", c)))
    return not any(a.isascii() and a.isalnum() for a in look)


# Scripts whose accents and other combining marks sit on a letter that reads the same without
# them ("Rïver", "Zoë", "Алёна", "Μαρία"). Elsewhere marks can make the letter itself (Devanagari
# vowel signs, Japanese dakuten "ガ" against "カ", Arabic and Hebrew points) and are kept.
_MARKED_SCRIPTS = ("LATIN ", "GREEK ", "CYRILLIC ")


@cache
def _sheds_marks(base: str) -> bool:
    """True when the combining marks (Mn) written after `base` are dropped from its look-alike
    key: a Latin, Greek or Cyrillic letter, an ASCII digit, or punctuation or a symbol."""
    category = unicodedata.category(base)[0]
    return (
        (base.isascii() and base.isalnum())
        or category in "PS"
        or (category == "L" and unicodedata.name(base, "").startswith(_MARKED_SCRIPTS))
    )


@cache
def _prototype(c: str) -> str:
    """The UTS #39 skeleton of one character; for a Latin letter or a symbol, without the
    marks it brings ("ł" is "l" with a stroke, "ø" "o", "¢" "c"). Greek and Cyrillic letters
    keep theirs: there a stroke or a descender makes another letter ("θ" is not "ο", Kazakh
    "қ" is not "к")."""
    look = _skeleton(c)
    category = unicodedata.category(c)[0]
    if category in "PS" or (category == "L" and unicodedata.name(c, "").startswith("LATIN ")):
        look = "".join(
            m for m in unicodedata.normalize("NFD", look) if unicodedata.category(m) != "Mn"
        )
    return look


def _unmarked_skeleton(text: str) -> str:
    """The UTS #39 skeleton of `text` (NFD, each character's prototype, NFD again), without
    the combining marks (Mn) written after a letter that sheds them (`_sheds_marks`) and
    without those a Latin letter's prototype brings (`_prototype`)."""
    out: list[str] = []
    sheds = False
    for c in unicodedata.normalize("NFD", text):
        if unicodedata.category(c) == "Mn":
            if not sheds:
                out.append(_skeleton(c))
            continue
        sheds = _sheds_marks(c)
        out.append(_prototype(c))
    return unicodedata.normalize("NFD", "".join(out))


def stored_key(name: str) -> str:
    """The `member.pseudonym_lookalike` value of a pseudonym: SHA-256 (hex, 64 characters) of
    its `lookalike_key`, unique per community, so a look-alike of a taken name is refused by a
    unique index like an exact one, whatever length the key has."""
    return hashlib.sha256(lookalike_key(name).encode()).hexdigest()


@cache
def _reserved(language: str) -> tuple[frozenset[str], tuple[tuple[str, str], ...], frozenset[str]]:
    """(keys of fixed labels, (prefix key, suffix key) of numbered labels, keys of staff words)
    in `language`."""
    with using_language(language):
        fixed = frozenset(lookalike_key(_(text)) for pair in LABELS.values() for text in pair)
        patterns = []
        for text in NUMBERED:
            before, _sep, after = _(text).partition("{n}")
            patterns.append((lookalike_key(before), lookalike_key(after)))
        staff = frozenset(lookalike_key(_(word)) for word in STAFF_WORDS)
    return fixed, tuple(patterns), staff


@cache
def _digit_keys() -> frozenset[str]:
    return frozenset(lookalike_key(str(d)) for d in range(10))


def _is_number(key: str) -> bool:
    digits = _digit_keys()
    return bool(key) and all(c in digits for c in key)


_NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
        ]
    )
}


@cache
def _number_word_keys() -> tuple[dict[str, str], re.Pattern[str]]:
    """(look-alike key of a spelt-out number -> key of its digits, pattern matching them)."""
    keys = {lookalike_key(w): lookalike_key(d) for w, d in _NUMBER_WORDS.items()}
    return keys, re.compile("|".join(map(re.escape, sorted(keys, key=len, reverse=True))))


_LEET = str.maketrans("013457", "oleast")
# "1. ", "2) ", "(you)", "(2)": the structure of the bot's own numbered lists.
_LIST_NUMBER = re.compile(r"^\W*\d[\d\s]*[.)]")
_PARENTHESISED = re.compile(r"\(([^()]*)\)")
_READER_WORDS = ("you", "me", "myself")


def _structure_refusal(name: str) -> str | None:
    """Why `name` imitates the structure of a list the bot writes ("1. ", "(you)", "(2)", a
    lone "you"), or None."""
    text = unicodedata.normalize("NFKC", name)
    reader = {lookalike_key(w) for w in _READER_WORDS}
    inner = [lookalike_key(m) for m in _PARENTHESISED.findall(text)]
    if (
        _LIST_NUMBER.match(text)
        or any(k in reader or _is_number(k) for k in inner)
        or lookalike_key(re.sub(r"[\W_]+", "", text)) in reader
    ):
        return _(
            "A pseudonym cannot look like part of a list I write (such as \u201c1.\u201d, "
            "\u201c(you)\u201d or \u201c(2)\u201d) or be \u201cyou\u201d or \u201cme\u201d. "
            "Your pseudonym was not changed; please pick another."
        )
    return None


def _plain_key(name: str) -> str:
    """`lookalike_key` of `name` with punctuation dropped and number words as digits
    ("Member One" and "member #1" both read "member1")."""
    joined = "".join(_WORD.findall(unicodedata.normalize("NFKC", name).replace("_", " ")))
    # Spelt-out numbers wherever they are (spaces may split them: "tw o"); only a whole
    # "member N" reading is refused, so "Simone" reading "sim1" here refuses nothing.
    words, pattern = _number_word_keys()
    return pattern.sub(lambda m: words[m[0]], lookalike_key(joined))


def pseudonym_refusal(name: str) -> str | None:
    """Why `name` cannot be a pseudonym because it reads as one of the bot's own labels for a
    person (`LABELS`, `NUMBERED`) or as staff (`STAFF_WORDS`), in any interface language
    (`available_languages`), compared by `lookalike_key` and, for "member N", also with
    punctuation dropped, spelt-out numbers as digits and 0/1/3/4/5/7 read as letters; or because
    it imitates the bot's numbered lists ("1. ", "(you)", "(2)", a lone "you"/"me"/"myself");
    None when it can be one. The reason is
    in the current language and says that nothing changed."""
    structure = _structure_refusal(name)
    if structure:
        return structure
    key = lookalike_key(name)
    plain = _plain_key(name)
    visible = "".join(c for c in name if unicodedata.category(c) != "Cf")
    parts = _WORD.findall(visible)
    # Every run of consecutive words read together, so "mo d" is "mod" as much as "mod" is.
    words = {
        lookalike_key("".join(parts[i:j]))
        for i in range(len(parts))
        for j in range(i + 1, len(parts) + 1)
    }
    words.add(key)
    # "name member #2": a numbered label at the end of a name reads as a second person.
    plain_parts = _WORD.findall(unicodedata.normalize("NFKC", visible).replace("_", " "))
    runs = {_plain_key(" ".join(plain_parts[i:])) for i in range(len(plain_parts))}
    for language in available_languages():
        fixed, patterns, staff = _reserved(language)
        numbered_label = any(
            k[: len(before)].translate(_LEET) == before.translate(_LEET)
            and k.endswith(after)
            and len(k) > len(before) + len(after)
            and _is_number(k[len(before) : len(k) - len(after)])
            for before, after in patterns
            for k in (key, plain, *runs)
        )
        if key in fixed or plain in fixed or numbered_label:
            return _(
                "That reads like a word I use for people without a name (such as "
                "\u201ca member\u201d or \u201cmember 2\u201d), so others could take it for "
                "someone else. Your pseudonym was not changed; please pick another."
            )
        if words & staff:
            return _(
                "A pseudonym cannot read like the bot or the people who run this community "
                "(words such as moderator, facilitator, admin, bot, staff or team). Your "
                "pseudonym was not changed; please pick another."
            )
    return None
