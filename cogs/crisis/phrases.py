"""The crisis-phrase detector: phrase lists as data, matched on whole words after normalising.

A phrase is plain words; `(a|b)` offers alternatives and `(a|)` makes a part optional.
Apostrophes are ignored ("don't" = "dont"), case and punctuation too. A match that lies inside
an `exclude` phrase ("killing myself laughing", "suicide squad") that runs at least to the
match's end does not count, so everyday
idioms do not trigger an answer while the same words said plainly do.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_GROUP = re.compile(r"\(([^()]*)\)")
_APOSTROPHES = re.compile(r"['’‘`´]")
_NOT_WORD = re.compile(r"[^\w]+")
MIN_PHRASE = 4
MAX_PHRASE = 100  # a moderator's phrase; the shipped files may use longer patterns
MAX_FILE_PHRASE = 400
MAX_EXPANSIONS = 64


def normalise(text: str) -> str:
    """Lower-case words separated by single spaces, without apostrophes or punctuation."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _APOSTROPHES.sub("", text)
    return " ".join(_NOT_WORD.sub(" ", text).replace("_", " ").split())


def expand(pattern: str, max_length: int = MAX_PHRASE) -> list[str]:
    """Every phrase a pattern stands for, normalised; ValueError when it is unusable."""
    if len(pattern) > max_length:
        raise ValueError(f"a phrase is at most {max_length} characters")
    if pattern.count("(") != pattern.count(")"):
        raise ValueError("brackets do not match")
    found = [pattern]
    while any("(" in p for p in found):
        nxt: list[str] = []
        for p in found:
            m = _GROUP.search(p)
            if m is None:
                raise ValueError("brackets cannot be nested")
            nxt.extend(p[: m.start()] + alt + p[m.end() :] for alt in m.group(1).split("|"))
        found = nxt
        if len(found) > MAX_EXPANSIONS:
            raise ValueError(f"a phrase may stand for at most {MAX_EXPANSIONS} variants")
    out = []
    for p in found:
        norm = normalise(p)
        if len(norm) < MIN_PHRASE:
            raise ValueError(f"every variant needs at least {MIN_PHRASE} letters")
        out.append(norm)
    return sorted(set(out))


def _compile(phrases: Iterable[str]) -> re.Pattern[str] | None:
    words = sorted(set(phrases), key=len, reverse=True)
    if not words:
        return None
    body = "|".join(re.escape(w) for w in words)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)")


@dataclass(frozen=True)
class PhraseList:
    """One language's phrases as the data file gives them."""

    language: str
    explicit: tuple[str, ...]
    concern: tuple[str, ...]
    exclude: tuple[str, ...]


class Detector:
    """Finds crisis phrases in member-written text."""

    def __init__(self, phrases: Iterable[str], exclude: Iterable[str] = ()) -> None:
        self._match = _compile(phrases)
        self._exclude = _compile(exclude)

    def matches(self, text: str) -> bool:
        """True when the text contains a phrase that no exclusion explains away."""
        if self._match is None:
            return False
        norm = normalise(text)
        hits = [m.span() for m in self._match.finditer(norm)]
        if not hits:
            return False
        if self._exclude is None:
            return True
        # Exclusions may overlap a hit at any point, so scan every start, not only non-overlapping.
        spans = [
            (m.start(), m.start() + len(m.group(1)))
            for m in re.finditer(rf"(?=({self._exclude.pattern}))", norm)
        ]
        # An exclusion explains a hit when it overlaps it and runs at least to its end:
        # "killing myself laughing", "(i) want to die my hair", "im not suicidal".
        return any(not any(s < b and e >= b for s, e in spans) for a, b in hits)


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
        unknown = sorted(set(data) - {"language", "explicit", "concern", "exclude"})
        if unknown:
            problems.append(f"{path.name}: unknown key(s) {', '.join(unknown)}")
        groups: dict[str, list[str]] = {}
        for key in ("explicit", "concern", "exclude"):
            groups[key] = []
            for raw in data.get(key, []):
                try:
                    groups[key].extend(expand(str(raw), MAX_FILE_PHRASE))
                except ValueError as exc:
                    problems.append(f"{path.name}: {key} phrase {str(raw)[:40]!r}: {exc}")
        lists.append(
            PhraseList(
                str(data.get("language", path.stem)),
                tuple(groups["explicit"]),
                tuple(groups["concern"]),
                tuple(groups["exclude"]),
            )
        )
    return lists, problems
