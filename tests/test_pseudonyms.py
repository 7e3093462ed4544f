"""Pseudonyms cannot pass for someone else: not for another member by a look-alike spelling,
not for one of the bot's own words for people, not for staff.

A newcomer's case: "Rivеr" (Cyrillic е) beside "River", and "a volunteer facilitator",
"a member", "a former member", "Moderator team", "Member 2" were all accepted as pseudonyms,
so a speaking queue could read "a volunteer facilitator raised a hand" for a member.
Mechanism: `MemberService.set_pseudonym` checked only length, control characters and the
first character, and compared names by case alone. Now names are also unique by how they
look (`bot.core.people.lookalike_key`: NFKC, no invisible characters or spaces, no case, UTS #39
confusables skeleton), and `bot.core.people.pseudonym_refusal` refuses the labels defined in
`bot.core.people` (the one source of them) and staff words.

Later: "River.", "R-i-v-e-r" and "Rïver" were still accepted beside "River"; the look-alike
key now also drops decorating punctuation and symbols and the accents on Latin, Greek and
Cyrillic letters, and migration 0014 computes the stored keys again.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import sqlite3
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine

from bot.app import App
from bot.core.errors import UserError
from bot.core.people import LABELS, NUMBERED, STAFF_WORDS
from bot.db import alembic_config
from bot.services.members import MemberService
from tests.harness.app import AppFactory, make_config

# Look-alikes written out by hand (not taken from the code under test): Cyrillic, Greek,
# fullwidth and mathematical letters that readers take for the Latin letter.
LOOKALIKES: dict[str, str] = {
    "a": "аａ𝐚",
    "c": "сϲ",
    "e": "еｅ",
    "i": "іｉ",
    "j": "ј",
    "o": "οо0",
    "p": "рρ",
    "s": "ѕ",
    "x": "х",
    "y": "у",
    "A": "АΑ",
    "B": "ВΒ",
    "C": "С",
    "E": "ЕΕ",
    "H": "НΗ",
    "I": "ІΙӀl",
    "K": "КΚ",
    "M": "МΜ",
    "N": "Ν",
    "O": "ОΟ0",
    "P": "РΡ",
    "S": "Ѕ",
    "T": "ТΤ",
    "X": "ХΧ",
    "Y": "ҮΥ",
    "Z": "Ζ",
}
INVISIBLE = "\u200b\u200d\u2060\ufeff"

NAMES = st.text(alphabet="abcdeghijkmnoprstuvwxyzABCEHIKMNOPRSTXYZ ", min_size=2, max_size=20)


@st.composite
def variant(draw: st.DrawFn, name: str, *, invisible: bool = True) -> str:
    """`name` with some letters in the other case, some replaced by a look-alike, spaces
    added or doubled and, when `invisible`, an invisible character slipped in."""
    out: list[str] = []
    for ch in name:
        if draw(st.booleans()):
            ch = ch.swapcase()
        if ch in LOOKALIKES and draw(st.booleans()):
            ch = draw(st.sampled_from(LOOKALIKES[ch]))
        out.append(ch)
        out.append(draw(st.sampled_from(["", "", "", " ", "  "])))
    if invisible and draw(st.integers(0, 4)) == 0:
        at = draw(st.integers(0, len(out)))
        out.insert(at, draw(st.sampled_from(INVISIBLE)))
    return "".join(out)


@st.composite
def name_and_lookalike(draw: st.DrawFn) -> tuple[str, str]:
    name = draw(NAMES.filter(lambda n: len(n.strip()) >= 2))
    name = " ".join(name.split())
    return name, draw(variant(name))


class Service:
    """One app for a whole property run, on its own event loop (an app per example would
    spend the time budget on start-ups); each example takes fresh communities."""

    def __init__(self, folder: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.factory = AppFactory(folder)
        self.app: App = self.loop.run_until_complete(self.factory(start=False))
        self.ids = itertools.count()

    @property
    def members(self) -> MemberService:
        return self.app.members

    def community(self) -> int:
        info = self.loop.run_until_complete(
            self.members.community("fake", f"g{next(self.ids)}", "Circle")
        )
        return info.id

    def choose(self, community_id: int, who: str, name: str) -> str | None:
        """Set the pseudonym; the refusal's text, or None when it was taken."""
        try:
            self.loop.run_until_complete(
                self.members.set_pseudonym(community_id, f"fake:{who}", name)
            )
        except UserError as refused:
            return str(refused)
        return None

    def pseudonym(self, community_id: int, who: str) -> str | None:
        return self.loop.run_until_complete(self.members.pseudonym(community_id, f"fake:{who}"))

    def close(self) -> None:
        self.loop.run_until_complete(self.factory.close())
        self.loop.close()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    made = Service(tmp_path)
    yield made
    made.close()


@settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(pair=name_and_lookalike())
def test_a_lookalike_of_a_taken_name_is_refused_there_and_free_elsewhere(
    service: Service, pair: tuple[str, str]
) -> None:
    """Whatever the case, spacing, look-alike letters or invisible characters, a second person
    cannot take a name that looks like one taken in the same community, and keeps the name
    they had; in another community the same spelling is theirs (an invisible character is
    refused everywhere)."""
    name, lookalike = pair
    here, there = service.community(), service.community()
    if service.choose(here, "ana", name) is not None:
        return  # the name itself is refused (a staff word such as "team"): nothing to copy
    assert service.choose(here, "ben", "Wren Quill") is None
    refusal = service.choose(here, "ben", lookalike)
    assert refusal is not None, (name, lookalike)
    assert "not changed" in refusal or "invisible" in refusal
    assert service.pseudonym(here, "ben") == "Wren Quill"
    assert service.pseudonym(here, "ana") == " ".join(name.split())
    if not any(c in INVISIBLE for c in lookalike):
        assert service.choose(there, "ben", lookalike) is None
        assert service.pseudonym(there, "ben") == " ".join(lookalike.split())


def reserved_names() -> st.SearchStrategy[str]:
    labels = [text for pair in LABELS.values() for text in pair]
    numbered = st.builds(
        lambda form, n: form.format(n=n), st.sampled_from(NUMBERED), st.integers(1, 999)
    )
    staff = st.builds(
        lambda word, other, first: f"{word} {other}" if first else f"{other} {word}",
        st.sampled_from(STAFF_WORDS),
        st.sampled_from(["River", "Wren", "Ana", "x"]),
        st.booleans(),
    )
    return st.one_of(st.sampled_from(labels), numbered, staff, st.sampled_from(STAFF_WORDS))


@st.composite
def reserved_variant(draw: st.DrawFn) -> str:
    return draw(variant(draw(reserved_names()), invisible=False))


@settings(
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=reserved_variant())
def test_no_spelling_of_a_label_of_the_bot_or_a_staff_word_is_a_pseudonym(
    service: Service, name: str
) -> None:
    """The bot's own words for people ("a member", "member 2", "a volunteer facilitator", "a
    moderator", "a former member") and names with a staff word ("Moderator team", "Bot")
    are refused however they are cased, spaced or spelt with look-alike letters, with why,
    and the member keeps the pseudonym they had."""
    here = service.community()
    assert service.choose(here, "ana", "Wren Quill") is None
    refusal = service.choose(here, "ana", name)
    assert refusal is not None and "not changed" in refusal, name
    assert service.pseudonym(here, "ana") == "Wren Quill"


def test_a_newcomers_names_are_refused_with_why_and_nothing_changes(service: Service) -> None:
    here = service.community()
    assert service.choose(here, "ana", "River") is None
    tried = {
        "ben": "Rivеr",  # Cyrillic е
        "cat": "a volunteer facilitator",
        "dan": "a member",
        "eve": "a former member",
        "gus": "Moderator team",
        "hal": "Member 2",
        "ivy": "RIVER",
        "jon": "R i v e r",
        "kim": "ＲＩＶＥＲ",
        "lee": "A MOD",
        "max": "CircleBot",
    }
    for who, name in tried.items():
        refusal = service.choose(here, who, name)
        assert refusal is not None and "not changed" in refusal, (name, refusal)
        assert service.pseudonym(here, who) is None
    assert "looks the same" in (service.choose(here, "ben", "Rivеr") or "")
    assert "member 2" in (service.choose(here, "hal", "Member 2") or "")
    assert "moderator" in (service.choose(here, "gus", "Moderator team") or "")


def test_names_that_only_resemble_a_staff_word_or_use_another_script_are_fine(
    service: Service,
) -> None:
    here = service.community()
    for who, name in {
        "ana": "Modesty",
        "ben": "Abbot",
        "cat": "Teamwork",
        "dan": "Дмитрий",
        "eve": "Αλέξης",
        "gus": "Nikolaï",
        "hal": "Ana Lee",
        "ivy": "Member of the choir",
    }.items():
        assert service.choose(here, who, name) is None, name
        assert service.pseudonym(here, who) == name


def test_lookalikes_stored_before_keep_their_names_and_newer_ones_are_refused(
    tmp_path: Path,
) -> None:
    """Migration 0013: two members who already had "River" and "Rivеr" keep them; the first
    holds the name, so a third look-alike is refused, and the second, renaming, must pick a
    free name."""
    path = tmp_path / "old.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0012")
    engine.dispose()
    db = sqlite3.connect(path)
    db.execute(
        "INSERT INTO community (id, platform, platform_id, name, timezone, country, language,"
        " created_at) VALUES (1, 'fake', 'g1', 'Circle', 'UTC', '', 'en', '2026-01-01 00:00:00')"
    )
    for row_id, who, name, folded in [
        (1, "ana", "River", "river"),
        (2, "ben", "Rivеr", "rivеr"),
    ]:
        db.execute(
            "INSERT INTO member (id, community_id, actor_key, pseudonym, pseudonym_folded,"
            " joined_at) VALUES (?, 1, ?, ?, ?, '2026-01-01 00:00:00')",
            (row_id, f"fake:{who}", name, folded),
        )
    db.commit()
    db.close()

    async def refusal(members: MemberService, who: str, name: str) -> str | None:
        try:
            await members.set_pseudonym(1, f"fake:{who}", name)
        except UserError as error:
            return str(error)
        return None

    async def after_migration() -> list[str | None]:
        app = App(make_config(), db_url=f"sqlite+aiosqlite:///{path}")
        await app.open(migrate=True)
        try:
            members = app.members
            return [
                await members.pseudonym(1, "fake:ana"),
                await members.pseudonym(1, "fake:ben"),
                await refusal(members, "cat", "RIVЕR"),
                await members.pseudonym(1, "fake:cat"),
                await refusal(members, "ben", "Rivеr"),
                await members.pseudonym(1, "fake:ben"),
            ]
        finally:
            await app.close()

    ana, ben, cat_refused, cat, ben_refused, ben_after = asyncio.run(after_migration())
    assert (ana, ben) == ("River", "Rivеr")
    assert cat_refused is not None and "looks the same" in cat_refused
    assert cat is None
    assert ben_refused is not None and "looks the same" in ben_refused
    assert ben_after == "Rivеr"


NUMBER_WORDS = ["one", "two", "three", "Four", "TEN"]


@st.composite
def list_imitation(draw: st.DrawFn) -> str:
    """A name that imitates a line of the bot's numbered lists: "1. member 3", "name (you)",
    "Ana (2)", "you", "member #2", "Member One", "m3mber 2"."""
    base = draw(st.sampled_from(["name", "Ana", "River", "Wren Quill", "x"]))
    n = draw(st.integers(1, 99))
    number = draw(st.one_of(st.just(str(n)), st.sampled_from(NUMBER_WORDS)))
    member = draw(st.sampled_from(["member", "Member", "MEMBER", "m3mber", "MeMbEr"]))
    label = f"{member} {draw(st.sampled_from(['', '#', '-', '.']))}{number}"
    marker = draw(st.sampled_from(["(you)", f"({n})", "( You )", "(YOU)"]))
    forms = [
        f"{n}{draw(st.sampled_from(['.', ')']))} {draw(st.sampled_from([base, label]))}",
        f"{base} {marker}",
        f"{base} {label}",
        label,
        draw(st.sampled_from(["you", "You", "me", "ME", "myself", "you!", "(you)"])),
    ]
    return draw(variant(draw(st.sampled_from(forms)), invisible=False))


@settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=list_imitation())
def test_a_name_imitating_list_structure_or_the_reader_marker_is_refused(
    service: Service, name: str
) -> None:
    """A queue reads "Hands up: 1. member 1, 2. Wren, 3. member 2 (you)."; a pseudonym that
    imitates its numbers, "(you)"/"(2)" markers or "member N" labels (punctuated, spelt out,
    look-alike letters) is refused with why, and the member keeps the name they had."""
    here = service.community()
    assert service.choose(here, "ana", "Wren Quill") is None
    refusal = service.choose(here, "ana", name)
    assert refusal is not None and "not changed" in refusal, name
    assert service.pseudonym(here, "ana") == "Wren Quill"


def test_list_imitations_are_refused_and_plain_names_still_fine(
    service: Service,
) -> None:
    here = service.community()
    for who, name in {
        "ben": "name (you)",
        "cat": "name member #2",
        "dan": "1. member 3",
        "eve": "you",
        "gus": "Member One",
        "hal": "m3mber 2",
        "ivy": "ana (you)",
        "jon": "2) Wren",
    }.items():
        refusal = service.choose(here, who, name)
        assert refusal is not None and "not changed" in refusal, (name, refusal)
        assert service.pseudonym(here, who) is None
    for who, name in {"kim": "Ana (Bea)", "lee": "Seven", "max": "Мария", "ned": "Ann 2"}.items():
        assert service.choose(here, who, name) is None, name
        assert service.pseudonym(here, who) == name


# Letters of one script a reader tells apart, chosen by hand (no two look alike).
ALPHABETS: dict[str, str] = {
    "latin": "abcdefghjkpqstuvwxyz",
    "greek": "αβγδεζηθκλμξπρστφχψω",
    "cyrillic": "бвгджзиклмнптфцчшщыэюяқңғөұ",
    "hiragana": "あいうえおかきくけこさしすせそたちつてとなにぬねの",
    "devanagari": "कखगघचछजझटठडढतथदधनपफबभमयरलवशसह",
    "arabic": "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    "hebrew": "אבגדהוזחטיכלמנסעפצקרשת",
    "hangul": "가나다라마바사아자차카타파하",
}
# Punctuation and symbols that only decorate a name.
DECORATION = [
    ".",
    "-",
    "_",
    "'",
    "\u2019",
    "\u00b7",
    ",",
    "*",
    "~",
    "/",
    "\u2014",
    "\u2605",
    "\U0001f33b",
]
# Combining accents (category Mn): grave, acute, circumflex, tilde, macron, breve, dot above,
# diaeresis, ring above, double acute, caron, cedilla, ogonek.
ACCENTS = "\u0300\u0301\u0302\u0303\u0304\u0306\u0307\u0308\u030a\u030b\u030c\u0327\u0328"


@st.composite
def name_and_near_copies(draw: st.DrawFn) -> tuple[str, str, str]:
    """(a name in one script, the same name decorated, the name with one letter changed).

    The decorated copy has punctuation or symbols put between letters or, for a Latin name,
    accents on some letters (composed to NFC half the time, as a keyboard writes them)."""
    script = draw(st.sampled_from(sorted(ALPHABETS)))
    letters = ALPHABETS[script]
    name = draw(st.text(alphabet=letters, min_size=2, max_size=8))
    parts = list(name)
    if script == "latin" and draw(st.booleans()):
        for i in sorted(draw(st.sets(st.integers(0, len(parts) - 1), min_size=1)), reverse=True):
            parts[i] += "".join(draw(st.lists(st.sampled_from(ACCENTS), min_size=1, max_size=2)))
        copy = "".join(parts)
        if draw(st.booleans()):
            copy = unicodedata.normalize("NFC", copy)
    else:
        gaps = draw(st.sets(st.integers(1, len(parts) - 1), min_size=1))
        for i in sorted(gaps, reverse=True):
            parts.insert(
                i, "".join(draw(st.lists(st.sampled_from(DECORATION), min_size=1, max_size=3)))
            )
        copy = "".join(parts)
    at = draw(st.integers(0, len(name) - 1))
    other = draw(st.sampled_from(letters).filter(lambda c: c != name[at]))
    return name, copy, name[:at] + other + name[at + 1 :]


@settings(
    max_examples=120,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(names=name_and_near_copies())
def test_punctuation_or_accents_do_not_make_a_taken_name_new_but_another_letter_does(
    service: Service, names: tuple[str, str, str]
) -> None:
    """In any script, a second person cannot take a taken name by putting punctuation or
    symbols between its letters ("R-i-v-e-r", "River."), nor, in Latin letters, by adding
    accents ("Rïver"), and keeps the name they had; a name one letter apart is a new name."""
    name, copy, other = names
    here = service.community()
    if service.choose(here, "ana", name) is not None:
        return  # the name itself is refused (a staff word such as "team"): nothing to copy
    assert service.choose(here, "ben", "Wren Quill") is None
    refusal = service.choose(here, "ben", copy)
    assert refusal is not None and "looks the same" in refusal, (name, copy)
    assert service.pseudonym(here, "ben") == "Wren Quill"
    if service.choose(here, "cat", other) is None:
        assert service.pseudonym(here, "cat") == other
    else:  # only a name refused for itself ("bot" one letter from "bat")
        assert service.choose(service.community(), "cat", other) is not None, (name, other)


def test_decorated_or_accented_copies_are_refused_and_other_scripts_stay_distinct(
    service: Service,
) -> None:
    here = service.community()
    assert service.choose(here, "ana", "River") is None
    for who, name in {
        "ben": "River.",
        "cat": "Rïver",
        "dan": "R-i-v-e-r",
        "eve": "Ríver",
        "gus": "Riv\u2019er",
        "hal": "River \U0001f33b",
        "ivy": "R.i.v.e.r!",
    }.items():
        refusal = service.choose(here, who, name)
        assert refusal is not None and "looks the same" in refusal, (name, refusal)
        assert service.pseudonym(here, who) is None
    # Pairs that differ by a letter, a vowel sign or a voicing mark: both are names.
    pairs = [
        ("Rivers", "Riven"),
        ("カナ", "ガナ"),
        ("さくら", "さら"),
        ("אילן", "אלן"),
        ("देव", "दव"),
        ("नेहा", "नहा"),
        ("นิด", "นด"),
        ("سمير", "سمر"),
        ("Қайрат", "Кайрат"),
        ("Θάλεια", "Οάλεια"),
        ("\u2605", "\u2606"),
    ]
    for i, (first, second) in enumerate(pairs):
        assert service.choose(here, f"p{i}", first) is None, first
        assert service.choose(here, f"q{i}", second) is None, second
        assert service.pseudonym(here, f"q{i}") == second
    # Accents and apostrophes in Greek, Cyrillic and Latin names read as the same name.
    for first, second in [("Μαρία", "Μαρια"), ("Алёна", "Алена"), ("O'Brien", "OBrien")]:
        there = service.community()
        assert service.choose(there, "ana", first) is None, first
        assert "looks the same" in (service.choose(there, "ben", second) or ""), second


def test_keys_stored_before_0014_are_computed_again_and_nobody_is_renamed(
    tmp_path: Path,
) -> None:
    """Migration 0014: keys stored by 0013 did not see punctuation or accents as look-alikes.
    After it, "River." and "Rïver" stored beside "River" keep their names, the first of them
    holds the name, and a new "R-i-v-e-r" or "Zoe" (beside a stored "Zoë") is refused."""
    path = tmp_path / "old.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0013")
    engine.dispose()
    db = sqlite3.connect(path)
    db.execute(
        "INSERT INTO community (id, platform, platform_id, name, timezone, country, language,"
        " created_at) VALUES (1, 'fake', 'g1', 'Circle', 'UTC', '', 'en', '2026-01-01 00:00:00')"
    )

    def old(key: str) -> str:  # the look-alike text 0013 stored, as its SHA-256
        return hashlib.sha256(key.encode()).hexdigest()

    # "River." first: its new key is the one "River" holds now, which must not clash.
    for row_id, who, name, key in [
        (1, "ana", "River.", old("rlver.")),
        (2, "ben", "River", old("rlver")),
        (3, "cat", "Rïver", old("rïver")),
        (4, "dan", "Zoë", old("zoë")),
    ]:
        db.execute(
            "INSERT INTO member (id, community_id, actor_key, pseudonym, pseudonym_folded,"
            " pseudonym_lookalike, joined_at) VALUES (?, 1, ?, ?, ?, ?, '2026-01-01 00:00:00')",
            (row_id, f"fake:{who}", name, name.casefold(), key),
        )
    db.commit()
    db.close()

    async def refusal(members: MemberService, who: str, name: str) -> str | None:
        try:
            await members.set_pseudonym(1, f"fake:{who}", name)
        except UserError as error:
            return str(error)
        return None

    async def after_migration() -> tuple[list[str | None], list[str | None]]:
        app = App(make_config(), db_url=f"sqlite+aiosqlite:///{path}")
        await app.open(migrate=True)
        try:
            members = app.members
            names = [await members.pseudonym(1, f"fake:{w}") for w in ("ana", "ben", "cat", "dan")]
            refused = [
                await refusal(members, "eve", "R-i-v-e-r"),
                await refusal(members, "eve", "Zoe"),
                await refusal(members, "cat", "Rivér"),
                await refusal(members, "eve", "Rivers"),
            ]
            return names, refused
        finally:
            await app.close()

    names, refused = asyncio.run(after_migration())
    assert names == ["River.", "River", "Rïver", "Zoë"]
    for text in refused[:3]:
        assert text is not None and "looks the same" in text
    assert refused[3] is None
    db = sqlite3.connect(path)
    keys = dict(db.execute("SELECT id, pseudonym_lookalike FROM member WHERE id <= 4"))
    db.close()
    assert keys == {1: old("rlver"), 2: None, 3: None, 4: old("zoe")}
