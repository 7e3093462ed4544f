"""The crisis-phrase detector: phrase lists as data, one per language, all checked on every text.

A phrase is plain words; `(a|b)` offers alternatives, `(a|)` makes a part optional, a lone
`*` stands for up to three other words ("want * to die" also finds "want so badly to die") and
a lone `$` says a sentence or clause ends there: a full stop, comma, colon, semicolon, question
or exclamation mark, dash, line break or the end of the text ("i can not go on $" finds "I
can't go on." but not "I can't go on the trip").

Text and phrases go through the same steps for each language, so a phrase is written once:

1. case and accents are dropped and apostrophes split words ("Don't" = "don t", "j'ai" =
   "j ai", "müde" = "mude"); each language's rewrites below join them again. Two or more
   single letters joined by dots are one word spelled out or an acronym, read as the letters
   joined ("M.o.d.e.s.t" = "modest", "D.O.N.E." = "done", "t.o" = "to", "O.D" = "od"), so a
   short phrase is not found inside them ("o.d" in "M.o.d.e.s.t"). A short run ending in a
   small-letter English inflection is also read as an acronym and its ending ("O.D.d" = "od
   d", "O.D.s" = "od s", "O.D.e.d" = "od ed"), and the more urgent of the two readings wins;
   a capital ending is the acronym itself ("O.D.D." is ODD, as "ODD" is);
2. repeated letters are squeezed to one ("diiie" = "die", "kill" = "kil"), except that an
   everyday word is not squeezed into a different short phrase word (two letters up to
   `FUZZY_MIN_LETTERS`) unless a phrase writes it that way: "odd" stays "odd", not
   the abbreviation "od" (overdose), while "diiie", not an everyday word, is still "die";
3. a word that is in none of the seven languages' everyday vocabulary (wordfreq's Zipf
   frequency below `COMMON_ZIPF`) and lies one edit (insert, delete, substitute or swap two
   neighbours: rapidfuzz's OSA distance) from a phrase word of at least `FUZZY_MIN_LETTERS`
   letters is read as that phrase word ("myslef" = "myself"); a real word ("putting",
   "diet") is never bent into a phrase word;
4. the language's `[rewrite]` table turns slang and contractions into plain words ("wanna" =
   "want to", "kms" = "kill myself").

A match does not count when an `exclude` phrase overlaps it and runs at least to its end:
"killing myself laughing" gets no answer, while the same words said plainly elsewhere in the
text still do.

A `topic` phrase names a subject ("suicide", "self-harm", "Suizid", "overdose"): the title of a
meeting or a support group, a talk, the news use it as much as someone speaking of themselves.
It counts only when the text speaks of the writer or the one addressed (a `person` word: "I",
"my", "you", "ich", "mir", "je"; in languages that drop the pronoun, the first-person verbs
too), and never when it is part of a name: right before a `name_words` word ("suicide loss",
"Suizid-Hinterbliebene", "self-harm recovery group") or after one with only `link_words`
between ("survivors of suicide", "bereavement after suicide", "prevención del suicidio"),
within one clause. A topic phrase that is part of a name explains away the other matches it
covers ("suicidal" in "suicidal thoughts peer circle"), as an `exclude` phrase does.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
import threading
import tomllib
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from cachetools import LRUCache
from rapidfuzz import process
from rapidfuzz.distance import OSA
from wordfreq import zipf_frequency

_GROUP = re.compile(r"\(([^()]*)\)")
_APOSTROPHES = re.compile(r"['’‘`´ʼ]")
_NOT_WORD = re.compile(r"[^\w*]+")
_NOT_WORD_TEXT = re.compile(r"[^\w]+")
_REPEATS = re.compile(r"(\w)\1+")
# Two or more single letters joined by dots: a word spelled out ("M.o.d.e.s.t") or an acronym
# ("D.O.N.E", "a.k.a", "O.D"), read as one word (step 1 of the module's steps). The letter before
# the first is no word character, so the whole run is found from its first letter.
_DOTTED_LETTERS = re.compile(r"(?<!\w)[^\W\d_](?:\.[^\W\d_])+(?!\w)")
# A dotted acronym of two or three letters with an English ending spelled the same way ("O.D.d",
# "O.D.s.", "O.D.e.d"): read once more as the acronym and its ending when the word reading finds
# nothing (`_inflected`).
_INFLECTED_RUN = re.compile(r"(?<!\w)([^\W\d_](?:\.[^\W\d_]){1,2})\.((?:e\.)?[ds])(?!\.?\w)")
_PATTERN_WORD = re.compile(r"[^\s()|*$]+")
_PATTERN_TOKEN = re.compile(r"[()|*$]|[^\s()|*$]+")
# Where a clause ends in a text: the words on either side are not read as one name.
_CLAUSE_END = re.compile(r"[.,;:!?…\n\r\u2013\u2014]+|\s-+\s")
_LOOSE_GAP = re.compile(r"[^\s]\*|\*[^\s]|^\s*\*|\*\s*$")
T = TypeVar("T")
GAP = "*"
END = "$"  # a sentence or clause ends here
# In prepared text a word is followed by a space, or by a tab where its clause ends.
_SEP = "[ \t]"
GAP_WORDS = 3
MIN_PHRASE = 4
MAX_PHRASE = 100  # a moderator's phrase; the shipped files may use longer patterns
MAX_FILE_PHRASE = 1000
MAX_EXPANSIONS = 64
FUZZY_MIN_LETTERS = 5  # shorter words ("die", "dead") have too many real neighbours
FUZZY_MIN_TYPED = 4  # a typed word this long may also be one edit from a long phrase word
# `Detector.detect_without_lookup` tries texts up to this many words and characters (a
# command's arguments, a short message): without fuzzy lookups they cost microseconds a word,
# but the everyday-word check reads each word whole, so a 60,000-letter word took 150 ms.
QUICK_MAX_WORDS = 64
QUICK_MAX_CHARS = 500
# A detector and those derived from it remember their answers for this many recent texts, of
# this many characters at most (`_Answers`).
ANSWERS_KEPT = 2048
REMEMBERED_MAX_CHARS = 4000
SWAP_MIN_TYPED = 3  # shorter words take only a swap of two neighbouring letters
COMMON_ZIPF = 3.0  # about once per million words: typos sit far below, real words above
VOCABULARY_LANGUAGES = ("en", "es", "de", "fr", "pt", "it", "nl")


class NeedsLookup(Exception):
    """A word needs the fuzzy search, which the caller asked not to run (`lookup=False`)."""


class Concern(StrEnum):
    """What the words suggest; the crisis answer is shaped by it.

    `medical_emergency` (an overdose, poisoning, trouble breathing, someone who will not wake
    up) wants the local emergency number first; `domestic_violence` wants domestic-violence lines
    where the directory has them, and the emergency number.
    """

    MEDICAL_EMERGENCY = "medical_emergency"
    SUICIDE = "suicide"
    DOMESTIC_VIOLENCE = "domestic_violence"
    SELF_HARM = "self_harm"


URGENCY: tuple[Concern, ...] = tuple(Concern)  # most urgent first
URGENT = frozenset({Concern.MEDICAL_EMERGENCY})


@dataclass(frozen=True)
class Detection:
    """A crisis phrase was found.

    Attributes:
        kind: the most urgent concern found (order of `URGENCY`).
        language: the BCP-47 tag of the phrase list that matched it ("" for a phrase a
            community added).
        kinds: every concern found in the text, `kind` included.
    """

    kind: Concern
    language: str
    kinds: frozenset[Concern] = field(default_factory=frozenset)

    @property
    def urgent(self) -> bool:
        """True when the answer should start with the local emergency number."""
        return self.kind in URGENT


def _strip_accents(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", text) if unicodedata.category(c) != "Mn"
    )


def _fold(text: str) -> str:
    """The text in compatibility form, dotted single letters joined ("M.o.d.e.s.t" = "Modest";
    before case folding, which can turn one letter into two: "ß" = "ss"), case folded."""
    text = unicodedata.normalize("NFKC", text)
    text = _DOTTED_LETTERS.sub(lambda m: m.group(0).replace(".", ""), text)
    return text.casefold()


def _inflected(text: str) -> str | None:
    """`text` with each short dotted acronym that ends in an inflection read as the acronym and
    its ending apart ("I O.D.d" = "I O.D d"), or None when it has none."""
    text = unicodedata.normalize("NFKC", text)  # "Ｏ．Ｄ．ｄ" as "O.D.d"
    if "." not in text:
        return None
    changed = _INFLECTED_RUN.sub(lambda m: f"{m[1]} {m[2].replace('.', '')}", text)
    return changed if changed != text else None


def _more_urgent(one: Detection | None, other: Detection | None) -> Detection | None:
    """What two readings of a text found: the more urgent concern (its language), with every
    concern either found."""
    if one is None or other is None:
        return one or other
    first = one if URGENCY.index(one.kind) <= URGENCY.index(other.kind) else other
    return Detection(first.kind, first.language, one.kinds | other.kinds)


def _words(text: str, pattern: re.Pattern[str] = _NOT_WORD_TEXT) -> list[str]:
    text = _fold(text)
    text = _APOSTROPHES.sub(" ", text)
    return pattern.sub(" ", text).replace("_", " ").split()


@lru_cache(maxsize=65536)
def _key(word: str) -> str:
    """A word as the matcher compares it: without accents, repeated letters squeezed."""
    return _REPEATS.sub(r"\1", _strip_accents(word))


def _words_and_ends(text: str) -> tuple[list[str], frozenset[int]]:
    """The text's words as `_words` gives them, and the indexes of the words a clause ends
    after (the last word always does)."""
    text = _fold(text)
    words: list[str] = []
    ends: set[int] = set()
    for clause in _CLAUSE_END.split(text):
        clause = _APOSTROPHES.sub(" ", clause)
        words.extend(_NOT_WORD_TEXT.sub(" ", clause).replace("_", " ").split())
        if words:
            ends.add(len(words) - 1)
    return words, frozenset(ends)


def normalise(text: str) -> str:
    """Lower-case words separated by single spaces; apostrophes and punctuation split words,
    except the dots of three or more single letters, which are one word ("D.O.N.E" = "done")."""
    return " ".join(_words(text))


def _variants(pattern: str, max_expansions: int) -> list[str]:
    """The bracket alternatives of a pattern spelled out, spaces squeezed; ValueError if bad.

    Brackets hold whole words, as in the compiled matcher: "(un|)alive" is "un alive" or
    "alive".
    """
    pattern = pattern.replace("(", " (").replace(")", ") ")
    if pattern.count("(") != pattern.count(")"):
        raise ValueError("brackets do not match")
    found = [pattern]
    while any("(" in p for p in found):
        nxt: list[str] = []
        for p in found:
            m = _GROUP.search(p)
            if m is None:
                raise ValueError("brackets do not match")
            nxt.extend(p[: m.start()] + alt + p[m.end() :] for alt in m.group(1).split("|"))
        found = nxt
        if len(found) > max_expansions:
            raise ValueError(f"a phrase may stand for at most {max_expansions} variants")
    return sorted({" ".join(p.split()) for p in found})


def expand(
    pattern: str,
    max_length: int = MAX_PHRASE,
    max_expansions: int = MAX_EXPANSIONS,
    min_letters: int = MIN_PHRASE,
) -> list[str]:
    """Every phrase a pattern stands for, normalised; ValueError when it is unusable.

    The defaults are the limits for a moderator's phrase; the shipped files allow more.
    """
    if len(pattern) > max_length:
        raise ValueError(f"a phrase is at most {max_length} characters")
    out = []
    for p in _variants(pattern, max_expansions):
        words = [w for w in _words(p, _NOT_WORD) if w != END]
        if any(GAP in w and w != GAP for w in words):
            raise ValueError("a gap `*` stands alone between words")
        if words and GAP in (words[0], words[-1]):
            raise ValueError("a gap `*` goes between words")
        norm = " ".join(words)
        if len(norm.replace(GAP, "").replace(" ", "")) < min_letters:
            raise ValueError(f"every variant needs at least {min_letters} letters")
        out.append(norm)
    return sorted(set(out))


@lru_cache(maxsize=8192)
def is_common_word(word: str) -> bool:
    """True when `word` is an everyday word in one of the phrase lists' languages (wordfreq),
    or a number."""
    return word.isdigit() or any(
        zipf_frequency(word, lang, wordlist="small") >= COMMON_ZIPF
        for lang in VOCABULARY_LANGUAGES
    )


@dataclass(frozen=True)
class PhraseList:
    """One language's phrases as its data file gives them (patterns, not yet spelled out).

    Attributes:
        language: BCP-47 tag.
        phrases: concern -> patterns (see the module's syntax).
        exclude: patterns of idioms that explain a match away.
        rewrite: slang or contraction -> plain words.
        topics: concern -> patterns of words that name a subject (see the module).
        person: words that show the text speaks of the writer or the one addressed.
        name_words: words that make a topic right before them, or a topic after them and
            `link_words`, part of a name ("loss", "survivors", "group").
        link_words: words that may stand between a name word and a topic after it ("of").
    """

    language: str
    phrases: Mapping[Concern, tuple[str, ...]]
    exclude: tuple[str, ...] = ()
    rewrite: Mapping[str, str] = field(default_factory=dict)
    topics: Mapping[Concern, tuple[str, ...]] = field(default_factory=dict)
    person: tuple[str, ...] = ()
    name_words: tuple[str, ...] = ()
    link_words: tuple[str, ...] = ()


def _to_regex(pattern: str) -> str:
    """A keyed pattern as a regex over prepared text, where every word ends with a space.

    Brackets hold whole words, so spacing inside a pattern does not matter: `(a |)b`,
    `(a|) b` and `(a|)b` all mean "b" or "a b". Nothing is spelled out, so a pattern with
    thousands of variants costs no more than its own length.
    """
    out: list[str] = []
    for token in _PATTERN_TOKEN.findall(pattern):
        if token == "(":
            out.append("(?:")
        elif token in ")|":
            out.append(token)
        elif token == GAP:
            out.append(rf"(?:\S+{_SEP}){{0,{GAP_WORDS}}}")
        elif token == END:
            out.append(r"(?<=\t)")
        else:
            out.append(re.escape(token) + _SEP)
    return "".join(out)


# A parsed pattern: a sequence of words (GAP included) and groups of alternative sequences.
_Seq = list["str | list[_Seq]"]


def _parse(tokens: Sequence[str]) -> _Seq:
    """Tokens of a checked pattern as nested sequences."""
    stack: list[list[_Seq]] = [[[]]]
    for token in tokens:
        if token == "(":
            stack.append([[]])
        elif token == "|":
            stack[-1].append([])
        elif token == ")":
            group = stack.pop()
            stack[-1][-1].append(group)
        else:
            stack[-1][-1].append(token)
    return stack[0][0]


def _nullable(seq: _Seq) -> bool:
    """True when the sequence can match no words at all."""
    return all(i == END or (not isinstance(i, str) and any(_nullable(a) for a in i)) for i in seq)


def _first_words(seq: _Seq) -> set[str] | None:
    """The words a sequence can start with; None when it can start with any word."""
    first: set[str] = set()
    for item in seq:
        if item == GAP:
            return None
        if item == END:
            continue
        if isinstance(item, str):
            first.add(item)
            return first
        for alternative in item:
            words = _first_words(alternative)
            if words is None:
                return None
            first |= words
        if not any(_nullable(a) for a in item):
            return first
    return first


class _Index:
    """Patterns grouped by the words they can start with, so a text position only tries the
    patterns that can start with the word found there (Python's `re` would try every one)."""

    def __init__(self, patterns: Iterable[str]) -> None:
        by_first: dict[str, list[str]] = {}
        anywhere: list[str] = []
        for pattern in patterns:
            first = _first_words(_parse(_PATTERN_TOKEN.findall(pattern)))
            regex = _to_regex(pattern)
            if first is None:
                anywhere.append(regex)
            for word in first or ():
                by_first.setdefault(word, []).append(regex)
        # Compiled on first use: most first words never occur in a community's messages.
        self._sources = {w: "|".join(f"(?:{r})" for r in rs) for w, rs in by_first.items()}
        self._by_first: dict[str, re.Pattern[str]] = {}
        self._anywhere = re.compile("|".join(f"(?:{r})" for r in anywhere)) if anywhere else None
        # The words a match can start with; None when it can start anywhere.
        self.starters = None if anywhere else frozenset(self._sources)

    def _for(self, word: str) -> re.Pattern[str] | None:
        pattern = self._by_first.get(word)
        if pattern is None and word in self._sources:
            pattern = self._by_first[word] = re.compile(self._sources[word])
        return pattern

    def match_at(self, text: str, pos: int, word: str) -> int | None:
        """The end of the longest match starting at `pos` (where `word` begins), or None."""
        for pattern in (self._for(word), self._anywhere):
            if pattern is not None:
                m = pattern.match(text, pos)
                if m is not None and m.end() > pos:
                    return m.end()
        return None


@dataclass(frozen=True)
class _Prepared:
    """A text as one language's phrases are written: each word followed by a space, or by a
    tab where a clause ends (`ends[i]`; the last word always ends one).

    `first[i]`/`last[i]` give the range of original words the i-th prepared word came from (a
    rewrite can turn one word into several or several into one), so matches of different
    languages can be compared by the original words they cover.
    """

    text: str
    keys: tuple[str, ...]
    starts: tuple[int, ...]
    first: tuple[int, ...]
    last: tuple[int, ...]
    ends: tuple[bool, ...]

    def index(self, pos: int) -> int:
        """The prepared word a character position of `text` falls in."""
        return bisect_right(self.starts, pos) - 1

    def words(self, span: tuple[int, int]) -> tuple[int, int]:
        """The original words (first, last) a character span of `text` covers."""
        a, b = span
        return self.first[bisect_right(self.starts, a) - 1], self.last[
            bisect_right(self.starts, b - 2) - 1
        ]


class _Language:
    """One language's compiled matcher."""

    def __init__(self, plist: PhraseList) -> None:
        self.language = plist.language
        rewrite = {self._plain(k): self._plain(v) for k, v in plist.rewrite.items()}
        self._rewrite = rewrite
        self._rewrite_words = {tuple(k.split()): v.split() for k, v in rewrite.items()}
        self._rewrite_starts: dict[str, int] = {}  # first word -> longest key starting so
        for k in self._rewrite_words:
            self._rewrite_starts[k[0]] = max(len(k), self._rewrite_starts.get(k[0], 0))
        keys = "|".join(re.escape(k) for k in sorted(rewrite, key=len, reverse=True))
        # In a pattern a rewrite applies inside one bracket piece: "(dont|wanna) live".
        self._pattern_rewrite_re = (
            re.compile(rf"(?<![^\s(|])(?:{keys})(?![^\s)|])") if rewrite else None
        )
        keyed = {
            kind: [self._keyed(p) for p in patterns] for kind, patterns in plist.phrases.items()
        }
        excluded = [self._keyed(p) for p in plist.exclude]
        topics = {kind: [self._keyed(p) for p in ps] for kind, ps in plist.topics.items() if ps}
        self.size = sum(len(v) for v in keyed.values()) + sum(len(v) for v in topics.values())
        self._kinds = [(kind, _Index(ps)) for kind, ps in keyed.items()]
        self._exclude = _Index(excluded)
        self._kind_starters = self._starters(index for _, index in self._kinds)
        # Few and tried one by one, so the longest wins ("suicide attempt" over "suicide").
        self._topics = [
            (kind, re.compile(_to_regex(p))) for kind, ps in topics.items() for p in ps
        ]
        self._topic_starters = self._starters(_Index(ps) for ps in topics.values())
        self._person = frozenset(w for p in plist.person for w in self._plain(p).split())
        self._names = frozenset(w for p in plist.name_words for w in self._plain(p).split())
        self._links = frozenset(w for p in plist.link_words for w in self._plain(p).split())
        positive = {
            w
            for ps in (*keyed.values(), *topics.values())
            for p in ps
            for w in _PATTERN_WORD.findall(p)
        }
        vocab = positive | {w for p in excluded for w in _PATTERN_WORD.findall(p)}
        vocab |= {w for k in rewrite for w in k.split()}
        vocab |= self._person | self._names | self._links
        self._vocab = frozenset(vocab)
        self._positive = frozenset(positive)
        self._targets = sorted(w for w in vocab if len(w) >= FUZZY_MIN_LETTERS)
        # Short phrase words with two neighbouring letters swapped, as typed (before squeezing:
        # "non" typed "onn" squeezes to "on") and as keyed, each mapped to the word meant.
        self._short_swaps: dict[str, str] = {}
        short: set[tuple[str, str]] = {(w, w) for w in vocab}
        for pattern in self._all_patterns(plist):
            for word in _words(pattern, _NOT_WORD):
                if _key(word) in vocab:
                    short.add((_strip_accents(word.casefold()), _key(word)))
        for typed, key in sorted(short):
            if SWAP_MIN_TYPED <= len(typed) < FUZZY_MIN_LETTERS:
                for i in range(len(typed) - 1):
                    swapped = typed[:i] + typed[i + 1] + typed[i] + typed[i + 2 :]
                    if swapped != typed and swapped not in vocab:
                        self._short_swaps.setdefault(swapped, key)
        # The same words before squeezing: a swap can make a double letter ("viviendo" typed
        # "vviiendo" squeezes to "viendo", two edits away), so typos are compared unsqueezed
        # too.
        self._unsqueezed: dict[str, str] = {}
        for pattern in self._all_patterns(plist):
            for word in _words(pattern, _NOT_WORD):
                key = _key(word)
                if key in self._vocab and len(key) >= FUZZY_MIN_LETTERS:
                    self._unsqueezed[_strip_accents(word)] = key
        self._unsqueezed_targets = sorted(self._unsqueezed)
        # Every word as the lists write it (accents dropped, not squeezed): an everyday word
        # that squeezes into a short phrase word counts only when written so ("ill" = "i will").
        self._written = frozenset(
            _strip_accents(w)
            for text in (
                *self._all_patterns(plist),
                *plist.rewrite,
                *plist.person,
                *plist.name_words,
                *plist.link_words,
            )
            for w in _words(text, _NOT_WORD)
        )
        self._spellings: dict[str, list[str]] = {}  # key -> the words written in patterns
        for raw, key in self._unsqueezed.items():
            self._spellings.setdefault(key, []).append(raw)

    @staticmethod
    def _all_patterns(plist: PhraseList) -> list[str]:
        return [
            *plist.exclude,
            *(p for ps in plist.phrases.values() for p in ps),
            *(p for ps in plist.topics.values() for p in ps),
        ]

    @staticmethod
    def _plain(text: str) -> str:
        return " ".join(_key(w) for w in _words(text, _NOT_WORD))

    def _keyed(self, pattern: str) -> str:
        """A pattern with its words as prepared text has them: keyed, slang rewritten."""
        text = _APOSTROPHES.sub(" ", unicodedata.normalize("NFKC", pattern).casefold())
        text = _PATTERN_WORD.sub(lambda m: self._plain(m.group(0)), text)
        if self._pattern_rewrite_re is not None:
            text = self._pattern_rewrite_re.sub(lambda m: self._rewrite[m.group(0)], text)
        return text

    def _correct(self, word: str, key: str, *, lookup: bool = True) -> str:
        """A typo of a phrase word read as that word; any other word unchanged.

        Raises `NeedsLookup` when `lookup` is False and the word needs the fuzzy search."""
        if key in self._vocab and 2 <= len(key) < FUZZY_MIN_LETTERS:
            # Squeezing is an edit too: an everyday word ("odd") is not read as a different short
            # phrase word ("od", overdose) that no phrase writes that way.
            typed = _strip_accents(word)
            if typed != key and typed not in self._written and is_common_word(word):
                return typed
        if key in self._vocab or is_common_word(word):
            return key
        if len(key) < FUZZY_MIN_LETTERS:
            # A short word has too many real neighbours for any edit, but two neighbouring
            # letters typed the wrong way round ("wnat", "veux" as "vuex") rarely make an
            # unknown word that means something else.
            typed = _strip_accents(word.casefold())
            meant = self._short_swaps.get(typed) or self._short_swaps.get(key)
            if meant is not None or len(key) < FUZZY_MIN_TYPED:
                return meant or key
        if not lookup:
            raise NeedsLookup(word)
        near = process.extract(key, self._targets, scorer=OSA.distance, score_cutoff=1, limit=8)
        if not near:
            raw = _strip_accents(word)
            near = [
                (self._unsqueezed[w], d, i)
                for w, d, i in process.extract(
                    raw, self._unsqueezed_targets, scorer=OSA.distance, score_cutoff=1, limit=8
                )
            ]
        if not near:
            return key
        # Ties: a word of a crisis phrase before an idiom's, then the closest as typed (before
        # squeezing), then the closest length.
        raw = _strip_accents(word)

        def rank(candidate: str) -> tuple[bool, int, int]:
            typed = min(
                (OSA.distance(raw, w) for w in self._spellings.get(candidate, [candidate])),
                default=0,
            )
            return (candidate not in self._positive, typed, abs(len(candidate) - len(key)))

        return min((str(c[0]) for c in near), key=rank)

    def prepare(
        self, words: Sequence[str], ends: frozenset[int] = frozenset(), *, lookup: bool = True
    ) -> _Prepared:
        """The text's words as this language's phrases are written (see the module's steps);
        `ends` holds the indexes of the words a clause ends after.

        Raises `NeedsLookup` when `lookup` is False and a word needs the fuzzy search."""
        keys = [self._correct(w, _key(w), lookup=lookup) for w in words]
        out: list[str] = []
        first: list[int] = []
        last: list[int] = []
        i = 0
        while i < len(keys):
            longest = self._rewrite_starts.get(keys[i], 0)
            for n in range(min(longest, len(keys) - i), 0, -1):
                replacement = self._rewrite_words.get(tuple(keys[i : i + n]))
                if replacement is not None:
                    out.extend(replacement)
                    first.extend([i] * len(replacement))
                    last.extend([i + n - 1] * len(replacement))
                    i += n
                    break
            else:
                out.append(keys[i])
                first.append(i)
                last.append(i)
                i += 1
        starts: list[int] = []
        pos = 0
        for word in out:
            starts.append(pos)
            pos += len(word) + 1
        # A clause ends after the last word a rewrite put for the original word it ends after.
        clause = [
            k == len(out) - 1 or (last[k] in ends and last[k + 1] != last[k])
            for k in range(len(out))
        ]
        text = "".join(w + ("\t" if e else " ") for w, e in zip(out, clause, strict=True))
        return _Prepared(text, tuple(out), tuple(starts), tuple(first), tuple(last), tuple(clause))

    def _spans(
        self,
        prepared: _Prepared,
        indexes: Sequence[tuple[T, _Index]],
        starters: frozenset[str] | None,
    ) -> list[tuple[T, tuple[int, int]]]:
        out: list[tuple[T, tuple[int, int]]] = []
        text = prepared.text
        for word, pos in zip(prepared.keys, prepared.starts, strict=True):
            if starters is not None and word not in starters:
                continue
            for label, index in indexes:
                end = index.match_at(text, pos, word)
                if end is not None:
                    out.append((label, prepared.words((pos, end))))
        return out

    @staticmethod
    def _starters(indexes: Iterable[_Index]) -> frozenset[str] | None:
        words: set[str] = set()
        for index in indexes:
            starters = index.starters
            if starters is None:
                return None
            words |= starters
        return frozenset(words)

    def hits(self, prepared: _Prepared) -> list[tuple[Concern, tuple[int, int]]]:
        """Every concern phrase found, with the original words it covers."""
        return self._spans(prepared, self._kinds, self._kind_starters)

    def topics(
        self, prepared: _Prepared
    ) -> tuple[list[tuple[Concern, tuple[int, int]]], list[tuple[int, int]]]:
        """The topic phrases found: (those that count as concerns, the spans of those that are
        part of a name), each with the original words it covers (see the module)."""
        found: list[tuple[Concern, tuple[int, int]]] = []
        names: list[tuple[int, int]] = []
        if not self._topics:
            return found, names
        text = prepared.text
        person: bool | None = None
        for word, pos in zip(prepared.keys, prepared.starts, strict=True):
            if self._topic_starters is not None and word not in self._topic_starters:
                continue
            longest: tuple[int, Concern] | None = None
            for kind, pattern in self._topics:
                m = pattern.match(text, pos)
                if m is not None and m.end() > pos and (longest is None or m.end() > longest[0]):
                    longest = (m.end(), kind)
            if longest is None:
                continue
            end, kind = longest
            span = prepared.words((pos, end))
            if self._names_a_subject(prepared, prepared.index(pos), prepared.index(end - 2)):
                names.append(span)
                continue
            if person is None:
                person = any(k in self._person for k in prepared.keys)
            if person:
                found.append((kind, span))
        return found, names

    def _names_a_subject(self, prepared: _Prepared, first: int, last: int) -> bool:
        """True when the topic on prepared words `first`..`last` is part of a name: a name
        word right after it, or before it with only link words between, in the same clause."""
        keys, ends = prepared.keys, prepared.ends
        if not ends[last] and keys[last + 1] in self._names:
            return True
        i = first - 1
        while i >= 0 and not ends[i] and keys[i] in self._links and first - i <= GAP_WORDS:
            i -= 1
        return i >= 0 and not ends[i] and keys[i] in self._names

    def idioms(self, prepared: _Prepared) -> list[tuple[int, int]]:
        """The original words each exclusion found covers."""
        return [
            span
            for _, span in self._spans(prepared, [(None, self._exclude)], self._exclude.starters)
        ]


class _Answers:
    """Detectors' answers for recent texts, so a text seen again costs a lookup.

    Commands repeat their arguments (a zone, "yes", a meeting number) and channels repeat their
    greetings; each check of one costs 80-250 us on the event loop, and a text that needs the
    fuzzy search a trip to a worker thread and milliseconds. The key is a BLAKE2b digest of
    the text, keyed with random bytes drawn when the process starts and salted with the
    detector's own random bytes (one detector a set of phrases: a community's additions give
    another), so what members wrote is never kept here, only 16 bytes a text that cannot be
    matched to a guess without those bytes, and the answer (a concern and a language, or
    None). One memory serves a detector and every detector derived from it: `ANSWERS_KEPT`
    texts at most in all (about 350 KB), least recently used out first (cachetools'
    LRUCache); texts longer than `REMEMBERED_MAX_CHARS` are not kept (hashing a long one
    would cost the event loop more than it saves). `Detector.detect` runs in worker threads,
    hence the lock.
    """

    _KEY = os.urandom(32)

    def __init__(self, size: int = ANSWERS_KEPT) -> None:
        self._kept: LRUCache[bytes, Detection | None] | None = LRUCache(size) if size else None
        self._lock = threading.Lock()

    def digest(self, salt: bytes, text: str, prefer: str) -> bytes | None:
        """16 bytes standing for (`text`, `prefer`) checked by the detector of `salt`, in this
        process alone; None when no answer is kept for such a text."""
        if self._kept is None or len(text) > REMEMBERED_MAX_CHARS:
            return None
        return hashlib.blake2b(
            # the preferred language's length first, so no two (prefer, text) pairs run together
            f"{len(prefer)}:{prefer}{text}".encode("utf-8", "surrogatepass"),
            key=self._KEY,
            salt=salt,
            digest_size=16,
        ).digest()

    def get(self, digest: bytes | None) -> tuple[bool, Detection | None]:
        """`(True, answer)` when the text was checked lately, else `(False, None)`."""
        if digest is not None and self._kept is not None:
            with self._lock:
                if digest in self._kept:
                    return True, self._kept[digest]
        return False, None

    def put(self, digest: bytes | None, answer: Detection | None) -> None:
        """Remember the answer for a text (not when kept for no text at all)."""
        if digest is not None and self._kept is not None:
            with self._lock:
                self._kept[digest] = answer


class Detector:
    """Finds crisis phrases of every language in member-written text.

    Args:
        lists: the shipped phrase lists, one per language (compiling them takes a second or
            two; build one Detector and derive community variants with `with_extra`).
        extra: phrases a community added, as `crisis phrases add` takes them; they count as
            `Concern.SUICIDE`, the general crisis answer, with language "".
    Raises:
        ValueError: a pattern is unusable (`load_phrase_lists` reports these beforehand).
    """

    def __init__(self, lists: Sequence[PhraseList], extra: Iterable[str] = ()) -> None:
        self._languages = [_Language(pl) for pl in lists]
        self._exclude = tuple(p for pl in lists for p in pl.exclude)
        self._extra = self._extra_language(tuple(extra))
        self._answers = _Answers()
        self._salt = os.urandom(16)  # this set of phrases' own answers (`_Answers`)

    def _extra_language(self, extra: tuple[str, ...]) -> _Language | None:
        if not extra:
            return None
        plist = PhraseList("", {Concern.SUICIDE: extra}, self._exclude)
        return _Language(plist)

    def with_extra(self, extra: Iterable[str]) -> Detector:
        """This detector plus a community's own phrases, sharing the compiled lists and the
        memory of answers (under a salt of its own: its answers are its own)."""
        derived = copy.copy(self)
        derived._extra = self._extra_language(tuple(extra))
        derived._salt = os.urandom(16)  # its own phrases: its own answers in the shared memory
        return derived

    def keeping_answers(self, texts: int) -> Detector:
        """This detector with a fresh memory of answers for `texts` texts at most, shared by the
        detectors derived from it; with 0 every call checks its text afresh (how the tests
        compare the quick check with the full one). Raises ValueError when `texts` is
        negative."""
        if texts < 0:
            raise ValueError("a detector keeps answers for 0 texts or more")
        derived = copy.copy(self)
        derived._answers = _Answers(texts)
        derived._salt = os.urandom(16)
        return derived

    @property
    def languages(self) -> list[str]:
        """The languages of the shipped lists."""
        return [lang.language for lang in self._languages]

    @property
    def size(self) -> int:
        """How many patterns the shipped lists hold."""
        return sum(lang.size for lang in self._languages)

    def detect_without_lookup(self, text: str, prefer: str = "") -> tuple[bool, Detection | None]:
        """`(True, detect(text, prefer))` when no word of `text` needs the fuzzy search (every
        word is a phrase word, an everyday word or too short to correct), else `(False, None)`.

        That answer costs microseconds a word, so a caller on the event loop may take it there
        and send only the rest to a worker thread (`detect` costs a millisecond or more for each
        word it must look up). Texts of more than `QUICK_MAX_WORDS` words or `QUICK_MAX_CHARS`
        characters are not tried, unless `detect` answered for the same text lately (the
        answers for recent texts are kept: `_Answers`).
        """
        digest = self._answers.digest(self._salt, text, prefer)
        known, found = self._answers.get(digest)
        if known:
            return True, found
        if len(text) > QUICK_MAX_CHARS:
            return False, None
        words, ends = _words_and_ends(text)
        if len(words) > QUICK_MAX_WORDS:
            return False, None
        try:
            found = self._detect_words(words, ends, prefer, lookup=False)
            if (inflected := _inflected(text)) is not None:
                other = self._detect_words(*_words_and_ends(inflected), prefer, lookup=False)
                found = _more_urgent(found, other)
        except NeedsLookup:
            return False, None
        self._answers.put(digest, found)
        return True, found

    def detect(self, text: str, prefer: str = "") -> Detection | None:
        """The most urgent concern in `text` and the language that found it, or None.

        When several languages find the same concern (a loanword such as "overdose"), the
        language `prefer` (the member's own) wins, so the answer comes in their language.

        Every language's phrases are tried. An idiom of any language explains away a match
        it overlaps and that it runs at least to the end of ("suicide squad" in a French
        message is still the film), compared by the original words both cover. The answer
        for a text checked lately is remembered (`_Answers`).
        """
        digest = self._answers.digest(self._salt, text, prefer)
        known, found = self._answers.get(digest)
        if known:
            return found
        words, ends = _words_and_ends(text)
        found = self._detect_words(words, ends, prefer)
        if (inflected := _inflected(text)) is not None:
            # "I O.D.d last night": the dotted acronym and its ending (step 1)
            found = _more_urgent(found, self._detect_words(*_words_and_ends(inflected), prefer))
        self._answers.put(digest, found)
        return found

    def _detect_words(
        self, words: list[str], ends: frozenset[int], prefer: str, *, lookup: bool = True
    ) -> Detection | None:
        if not words:
            return None
        hits: list[tuple[Concern, str, tuple[int, int]]] = []
        names: list[tuple[int, int]] = []
        languages = [*self._languages, *([self._extra] if self._extra else [])]
        prepared = [lang.prepare(words, ends, lookup=lookup) for lang in languages]
        for lang, text_as in zip(languages, prepared, strict=True):
            hits.extend((kind, lang.language, span) for kind, span in lang.hits(text_as))
            topics, named = lang.topics(text_as)
            hits.extend((kind, lang.language, span) for kind, span in topics)
            names.extend(named)
        if not hits:
            return None
        # A topic that is part of a name ("suicidal thoughts peer circle") explains the matches
        # it covers, as an idiom does.
        idioms = names + [
            span
            for lang, text_as in zip(languages, prepared, strict=True)
            for span in lang.idioms(text_as)
        ]
        found_kinds: dict[Concern, str] = {}
        for kind, language, (_a, b) in hits:
            # An idiom explains a hit when it overlaps it and runs at least to its last word:
            # "killing myself laughing", "want to die my hair", "im not suicidal".
            explained = any(s <= b <= e for s, e in idioms)
            if not explained and (language == prefer or kind not in found_kinds):
                found_kinds[kind] = language
        if not found_kinds:
            return None
        kind = next(k for k in URGENCY if k in found_kinds)
        return Detection(kind, found_kinds[kind], frozenset(found_kinds))

    def matches(self, text: str) -> bool:
        """True when the text contains a phrase that no exclusion explains away."""
        return self.detect(text) is not None


def _check_file_pattern(pattern: str) -> None:
    """ValueError when a shipped pattern is unusable (cheaper than spelling out every word)."""
    if len(pattern) > MAX_FILE_PHRASE:
        raise ValueError(f"a phrase is at most {MAX_FILE_PHRASE} characters")
    if _LOOSE_GAP.search(pattern):
        raise ValueError("a gap `*` stands alone between words")
    depth = 0
    for char in pattern:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            raise ValueError("brackets do not match")
    if depth:
        raise ValueError("brackets do not match")
    if not _words(pattern):
        raise ValueError("a phrase needs words")


def _parse_list(path: Path, data: dict[str, object], problems: list[str]) -> PhraseList:
    known = {
        "language",
        "exclude",
        "rewrite",
        "topic",
        "person",
        "name_words",
        "link_words",
        *(c.value for c in Concern),
    }
    unknown = sorted(set(data) - known)
    if unknown:
        problems.append(f"{path.name}: unknown key(s) {', '.join(unknown)}")

    def patterns(key: str, table: Mapping[str, object] = data, where: str = "") -> tuple[str, ...]:
        raw = table.get(key, [])
        key = where + key
        if not isinstance(raw, list):
            problems.append(f"{path.name}: {key} must be a list of phrases")
            return ()
        out: list[str] = []
        for item in raw:
            try:
                _check_file_pattern(str(item))
            except ValueError as exc:
                problems.append(f"{path.name}: {key} phrase {str(item)[:40]!r}: {exc}")
            else:
                out.append(str(item))
        return tuple(out)

    def words(key: str) -> tuple[str, ...]:
        raw = data.get(key, [])
        if not isinstance(raw, list) or not all(isinstance(w, str) and w.strip() for w in raw):
            problems.append(f"{path.name}: {key} must be a list of words")
            return ()
        return tuple(str(w) for w in raw)

    topic = data.get("topic", {})
    if not isinstance(topic, dict):
        problems.append(f"{path.name}: topic must be a table of concern = phrases")
        topic = {}
    unknown_topics = sorted(set(topic) - {c.value for c in Concern})
    if unknown_topics:
        problems.append(f"{path.name}: unknown topic key(s) {', '.join(unknown_topics)}")
    rewrite = data.get("rewrite", {})
    if not isinstance(rewrite, dict) or not all(isinstance(v, str) for v in rewrite.values()):
        problems.append(f"{path.name}: rewrite must be a table of words = words")
        rewrite = {}
    return PhraseList(
        str(data.get("language", path.stem)),
        {c: patterns(c.value) for c in Concern},
        patterns("exclude"),
        {str(k): str(v) for k, v in rewrite.items()},
        {c: patterns(c.value, topic, "topic ") for c in Concern if c.value in topic},
        words("person"),
        words("name_words"),
        words("link_words"),
    )


def load_phrase_lists(folder: Path) -> tuple[list[PhraseList], list[str]]:
    """Every `<language>.toml` in the folder, and one problem per broken file or phrase."""
    lists: list[PhraseList] = []
    problems: list[str] = []
    for path in sorted(folder.glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            problems.append(f"{path.name}: {exc}")
            continue
        lists.append(_parse_list(path, data, problems))
    return lists, problems


def shipped_detector(folder: Path) -> tuple[Detector, list[str]]:
    """The detector over every list in `folder` and the lists' problems, built once per
    process for each state of the files (compiling takes a moment; every app shares it)."""
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.toml")))
    return _shipped(folder, stamp)


@lru_cache(maxsize=4)
def _shipped(folder: Path, stamp: tuple[tuple[str, int], ...]) -> tuple[Detector, list[str]]:
    lists, problems = load_phrase_lists(folder)
    return Detector(lists), problems
