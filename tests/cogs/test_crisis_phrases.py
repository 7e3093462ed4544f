"""The crisis-phrase detector against its multilingual test set, and the properties behind it.

The test set in data/crisis/phrase_tests/ is written apart from the phrase lists (paraphrases,
slang, typos, idioms); the same numbers are printed by benchmarks/crisis_phrases.py.
"""

from __future__ import annotations

import gc
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from wordfreq import top_n_list, zipf_frequency

from benchmarks.crisis_phrases import (
    FALSE_POSITIVE_GOAL,
    RECALL_GOAL,
    load_test_sets,
    score,
)
from bot.paths import DATA_DIR
from cogs.crisis.phrases import (
    REMEMBERED_MAX_CHARS,
    Concern,
    Detector,
    _Answers,
    expand,
    is_common_word,
    load_phrase_lists,
    normalise,
    shipped_detector,
)

LANGUAGES = ("en", "es", "de", "fr", "pt", "it", "nl")
SETS = load_test_sets()
POSITIVES = [
    (lang, kind, text)
    for lang, cases in SETS.items()
    for kind in Concern
    for text in cases.get(kind.value, [])
]
NEGATIVES = [t for cases in SETS.values() for k in ("everyday", "idiom") for t in cases[k]]
SETTINGS = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def detector() -> Detector:
    found, problems = shipped_detector(DATA_DIR / "crisis" / "phrases")
    assert problems == []
    return found


def test_every_language_has_lists_and_a_test_set_of_every_kind() -> None:
    assert sorted(detector().languages) == sorted(LANGUAGES)
    assert sorted(SETS) == sorted(LANGUAGES)
    for lang, cases in SETS.items():
        for kind in Concern:
            assert len(cases.get(kind.value, [])) >= 7, (lang, kind)
        assert len(cases["everyday"]) >= 20, lang
        assert len(cases["idiom"]) >= 15, lang


@pytest.mark.parametrize("language", LANGUAGES)
def test_recall_and_false_positives_per_language_meet_the_goals(language: str) -> None:
    result = score(detector(), language, SETS[language])
    assert result.recall >= RECALL_GOAL, result.missed
    assert result.everyday_rate <= FALSE_POSITIVE_GOAL, result.false_everyday
    assert result.idiom_rate <= FALSE_POSITIVE_GOAL, result.false_idioms
    assert result.right_kind / result.positives >= RECALL_GOAL, result.wrong_kind


@pytest.mark.parametrize(
    ("text", "kind", "language"),
    [
        ("Ich will nicht mehr leben", Concern.SUICIDE, "de"),
        ("quiero morir", Concern.SUICIDE, "es"),
        ("kms", Concern.SUICIDE, "en"),
        ("gonna end it", Concern.SUICIDE, "en"),
        ("dont wanna live anymore", Concern.SUICIDE, "en"),
        ("I took too much and I can't breathe", Concern.MEDICAL_EMERGENCY, "en"),
        ("he hits me and I'm scared to go home", Concern.DOMESTIC_VIOLENCE, "en"),
        ("I've started cutting myself again", Concern.SELF_HARM, "en"),
        ("j'ai envie de mourir", Concern.SUICIDE, "fr"),
    ],
)
def test_the_reported_messages_get_their_kind_and_language(
    text: str, kind: Concern, language: str
) -> None:
    found = detector().detect(text)
    assert found is not None and found.kind == kind and found.language == language
    assert found.urgent == (kind == Concern.MEDICAL_EMERGENCY)


def test_the_most_urgent_kind_leads_and_every_kind_is_kept() -> None:
    found = detector().detect("I want to die. I took all my pills and my lips are turning blue")
    assert found is not None
    assert found.kind == Concern.MEDICAL_EMERGENCY
    assert {Concern.MEDICAL_EMERGENCY, Concern.SUICIDE} <= found.kinds


@pytest.mark.parametrize(
    "text",
    [
        "I'm dying to try it",
        "this heat is killing me",
        "I nearly died laughing",
        "my phone is dead",
        "we watched Suicide Squad",  # French and Dutch lists know "suicide"; the idiom is English
    ],
)
def test_the_issues_idioms_get_nothing(text: str) -> None:
    assert detector().detect(text) is None


def test_a_typo_of_a_real_word_is_never_bent_into_a_crisis_word() -> None:
    # "putting" is one letter from "cutting", "diet" from "die": both are everyday words.
    assert is_common_word("putting") and is_common_word("diet")
    assert detector().detect("I'm putting myself first") is None
    assert detector().detect("I want to diet") is None
    assert detector().detect("I want to kill myslef") is not None


@SETTINGS
@given(st.sampled_from(POSITIVES), st.data())
def test_case_accents_and_stretched_letters_do_not_matter(
    case: tuple[str, Concern, str], data: st.DataObject
) -> None:
    _lang, kind, text = case
    d = detector()
    found = d.detect(text)
    assume(found is not None and kind in found.kinds)  # the property is about what is found
    variants = [
        text.upper(),
        "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)),
    ]
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    i = data.draw(st.sampled_from(letters))
    n = data.draw(st.integers(2, 5))
    stretched = text[:i] + text[i] * n + text[i + 1 :]
    # A word stretched into another everyday word ("od" into "odd") is that word, not emphasis;
    # one letter stretched ("II") is still the letter.
    word = next(m for m in re.finditer(r"\w+", stretched) if m.start() <= i < m.end())
    was = text[word.start() : word.end() - n + 1]
    assume(len(was) < 2 or not is_common_word(word.group().casefold()))
    variants.append(stretched)
    for variant in variants:
        again = d.detect(variant)
        assert again is not None and kind in again.kinds, variant


@SETTINGS
@given(st.sampled_from(POSITIVES), st.data())
def test_a_one_letter_typo_in_a_long_word_is_forgiven(
    case: tuple[str, Concern, str], data: st.DataObject
) -> None:
    _lang, kind, text = case
    found = detector().detect(text)
    assume(found is not None and kind in found.kinds)
    words = text.split(" ")
    # A word of the phrase as it is spelled ("suicidal"), not a misspelling the positive cases
    # hold already ("suicidle"): a second typo is two letters away from the word.
    long = [
        i
        for i, w in enumerate(words)
        if w.isalpha() and len(w) >= 7 and is_common_word(w.casefold())
    ]
    if not long:
        return
    i = data.draw(st.sampled_from(long))
    word = words[i]
    j = data.draw(st.integers(1, len(word) - 3))
    typo = word[:j] + word[j + 1] + word[j] + word[j + 2 :]  # two neighbours swapped
    if typo == word or is_common_word(typo.casefold()):
        return  # a swap that makes another real word is a different message
    words[i] = typo
    typed = detector().detect(" ".join(words))
    assert typed is not None and kind in typed.kinds, " ".join(words)


@SETTINGS
@given(st.sampled_from(POSITIVES), st.data())
def test_two_swapped_letters_in_a_short_word_are_forgiven(
    case: tuple[str, Concern, str], data: st.DataObject
) -> None:
    """ "i wnat to die": short words take a swap of two neighbouring letters, nothing more."""
    _lang, kind, text = case
    found = detector().detect(text)
    assume(found is not None and kind in found.kinds)
    words = text.split(" ")
    short = [i for i, w in enumerate(words) if w.isalpha() and 3 <= len(w) <= 4]
    if not short:
        return
    i = data.draw(st.sampled_from(short))
    word = words[i]
    j = data.draw(st.integers(0, len(word) - 2))
    typo = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    if typo.casefold() == word.casefold() or is_common_word(typo.casefold()):
        return  # a swap that makes another real word is a different message
    words[i] = typo
    typed = detector().detect(" ".join(words))
    assert typed is not None and kind in typed.kinds, " ".join(words)


@SETTINGS
@given(st.sampled_from(NEGATIVES), st.sampled_from(POSITIVES))
def test_an_idiom_never_hides_a_real_phrase_beside_it(
    negative: str, case: tuple[str, Concern, str]
) -> None:
    _lang, kind, text = case
    found = detector().detect(text)
    assume(found is not None and kind in found.kinds)
    for combined in (f"{negative}. {text}", f"{text}. {negative}"):
        beside = detector().detect(combined)
        assert beside is not None and kind in beside.kinds, combined


@SETTINGS
@given(
    st.sampled_from(POSITIVES + [("", Concern.SUICIDE, t) for t in NEGATIVES]),
    st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyzäéñ/-", min_size=1, max_size=12)),
    st.sampled_from(LANGUAGES),
)
def test_the_check_without_fuzzy_lookups_answers_as_the_full_check_or_not_at_all(
    case: tuple[str, Concern, str], extra: list[str], prefer: str
) -> None:
    """Commands' arguments are checked on the event loop when no word needs the fuzzy search
    (`detect_without_lookup`); that answer must be the full check's, typos and unknown words
    mixed in, or none at all (the text then goes to a worker thread)."""
    _lang, _kind, text = case
    d = detector().keeping_answers(0)  # every answer found afresh, none remembered
    for variant in (text, " ".join([text, *extra]), " ".join(extra), text.replace("e", "", 1)):
        answered, found = d.detect_without_lookup(variant, prefer)
        if answered:
            assert found == d.detect(variant, prefer), variant


def test_everyday_command_words_are_checked_without_a_thread_and_typos_are_not() -> None:
    d = detector().keeping_answers(0)
    assert d.detect_without_lookup("Europe/Berlin") == (True, None)
    assert d.detect_without_lookup("Weekly circle on Friday evening") == (True, None)
    answered, found = d.detect_without_lookup("i want to die")
    assert answered and found is not None and found.kind is Concern.SUICIDE
    # A typo of a crisis word needs the fuzzy search, so the quick check declines it ...
    assert d.detect_without_lookup("i want to kil myselff") == (False, None)
    # ... and the full check still finds it.
    assert d.detect("i want to kil myselff") is not None
    # A long text goes to the thread whatever its words: the everyday-word check reads each
    # word whole (a 60,000-letter word took 150 ms on the event loop).
    assert d.detect_without_lookup("x" * 60_000) == (False, None)
    assert d.detect_without_lookup("i want to die " + "a" * 600) == (False, None)


def test_case_punctuation_and_apostrophes_split_words() -> None:
    assert normalise("Don’t  STOP—now") == "don t stop now"
    assert detector().detect("I DON’T want to be alive anymore!!!") is not None
    assert detector().detect("I dont want to be alive any more") is not None
    assert detector().detect("kill...myself") is not None


def test_a_communitys_phrase_with_alternatives() -> None:
    assert expand("i feel (hopeless|worthless)") == ["i feel hopeless", "i feel worthless"]
    d = detector().with_extra(["i feel (hopeless|worthless)"])
    found = d.detect("Honestly, I feel worthless today")
    assert found is not None and found.kind == Concern.SUICIDE and found.language == ""
    assert d.detect("I feel hopeful") is None
    assert detector().detect("Honestly, I feel worthless today") is None


@pytest.mark.parametrize("bad", ["a", "(a|b) c", "x" * 101, "(open", "close)", "* gap"])
def test_unusable_phrases_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match=r"phrase|letters|brackets|variants|gap"):
        expand(bad)


def test_a_broken_phrase_file_is_reported_line_by_line(tmp_path: Path) -> None:
    (tmp_path / "xx.toml").write_text(
        'language = "xx"\nsuicide = ["(open", "fine words"]\nmood = []\n', "utf-8"
    )
    (tmp_path / "yy.toml").write_text("suicide = [", "utf-8")
    lists, problems = load_phrase_lists(tmp_path)
    assert [pl.language for pl in lists] == ["xx"]
    assert lists[0].phrases[Concern.SUICIDE] == ("fine words",)
    assert any("xx.toml: suicide phrase '(open'" in p for p in problems)
    assert any("unknown key(s) mood" in p for p in problems)
    assert any(p.startswith("yy.toml") for p in problems)


# Short abbreviations in the lists and everyday English words one edit from them ("odd" is "od"
# with a letter doubled; squeezing repeated letters once read it as "od", overdose).
ABBREVIATIONS = ("od", "kms")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _one_edit(word: str) -> set[str]:
    """Every string one insert, delete, substitute or neighbour swap from `word`."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return (
        {a + b[1:] for a, b in splits if b}
        | {a + c + b for a, b in splits for c in _LETTERS}
        | {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
        | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    )


NEIGHBOURS = sorted(
    w
    for w in set().union(*(_one_edit(a) for a in ABBREVIATIONS)) | {"odd", "ode", "old", "god"}
    if 2 <= len(w) <= 5 and w not in ABBREVIATIONS and zipf_frequency(w, "en") >= 3.0
)
ORDINARY = ("I feel {} today", "what {} weather", "{}", "my name is {}", "took an {} photo")


def test_everyday_words_next_to_an_abbreviation_include_the_reported_one() -> None:
    assert "odd" in NEIGHBOURS and len(NEIGHBOURS) >= 10


@SETTINGS
@given(st.sampled_from(NEIGHBOURS), st.sampled_from(ORDINARY), st.booleans())
def test_an_everyday_word_one_edit_from_an_abbreviation_is_not_read_as_it(
    word: str, template: str, capital: bool
) -> None:
    text = template.format(word.capitalize() if capital else word)
    assert detector().detect(text) is None, text
    assert detector().detect_without_lookup(text) in ((True, None), (False, None)), text


@SETTINGS
@given(
    st.sampled_from(
        [
            ("took an od last night", Concern.MEDICAL_EMERGENCY),
            ("I think he OD'd", Concern.MEDICAL_EMERGENCY),
            ("my brother is od", Concern.MEDICAL_EMERGENCY),
            ("honestly kms", Concern.SUICIDE),
            ("i should just kms", Concern.SUICIDE),
        ]
    ),
    st.booleans(),
)
def test_the_abbreviations_themselves_still_count(case: tuple[str, Concern], upper: bool) -> None:
    text, kind = case
    found = detector().detect(text.upper() if upper else text)
    assert found is not None and kind in found.kinds, text


def test_the_reported_odd_messages_get_nothing() -> None:
    for text in ("I feel odd today", "what odd weather", "Odd", 'the "Odd line"'):
        assert detector().detect(text) is None, text


# Letters spelled out with dots: two or more single letters joined by dots are one word
# ("M.o.d.e.s.t" is "modest", "O.D" is "od"), so "o.d" inside them is not "od" (overdose); a
# two- or three-letter acronym with a small-letter English ending ("O.D.d", "O.D.s") is also
# read as the acronym and its ending; a capital one is the acronym ("O.D.D." is ODD).
EVERYDAY = sorted(
    {w for lang in LANGUAGES for w in top_n_list(lang, 3000) if w.isalpha() and len(w) >= 3}
    | {"moderator", "modest"}
)
DOTTED_FRAMES = ("{}", "{} here", "hi, I'm {} and I'm new", "my name is {}")


def test_the_everyday_words_hold_words_with_o_d_inside_in_every_language() -> None:
    # "todo" (es, pt), "oder" (de), "mode" (fr), "modo" (it), "dood" (nl): each was read as
    # "od" when spelled with dots.
    assert {"moderator", "modest", "done", "todo", "oder", "mode", "modo", "dood"} <= set(EVERYDAY)


@pytest.mark.parametrize(
    "text",
    [
        "M.o.d.e.r.a.t.o.r",
        "M.o.d.e.s.t",
        "M.o.d.e.s.t.",
        "D.O.N.E",
        "a.k.a.o.d",
        "t.o.d.o",
        "my son has O.D.D. and it's exhausting",
        "O.D.S.",
    ],
)
def test_the_reported_dotted_words_get_nothing(text: str) -> None:
    assert detector().detect(text) is None, text
    assert detector().detect(f"{text} here") is None, text
    assert detector().detect(f"...{text}") is None, text


@SETTINGS
@given(
    st.one_of(
        st.sampled_from(EVERYDAY),
        st.text(alphabet="abcdefghijklmnopqrstuvwxyzäéñßøç", min_size=3, max_size=12),
    ),
    st.data(),
    st.booleans(),
    st.sampled_from(DOTTED_FRAMES),
)
def test_a_word_spelled_with_dots_is_read_as_the_word(
    word: str, data: st.DataObject, trailing: bool, frame: str
) -> None:
    """Any case, an optional dot after the last letter, alone or in a sentence: what is found
    in the dotted spelling is what is found in the word itself, so a dotted word whose plain
    spelling holds no crisis phrase never gets a crisis answer."""
    upper = data.draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    # A letter whose capital is two letters ("ß" is "SS") stays small: it would be no longer
    # one letter between dots.
    letters = [
        c.upper() if up and len(c.upper()) == 1 else c for c, up in zip(word, upper, strict=True)
    ]
    end = "." if trailing else ""
    plain = frame.format("".join(letters) + end)
    dotted = frame.format(".".join(letters) + end)
    d = detector()
    found = d.detect(dotted)
    assert normalise(dotted) == normalise(plain), dotted
    if d.detect(plain) is not None:
        assert found == d.detect(plain), dotted
        return
    # The one other reading: a two- or three-letter acronym and an English ending ("O.D.d"),
    # found only where the acronym alone is a crisis phrase.
    readings = [
        frame.format("".join(letters[: -len(ending)]))
        for ending in ("d", "s", "ed")
        if 2 <= len(letters) - len(ending) <= 3
        and "".join(letters[-len(ending) :]) == ending  # a small-letter ending
    ]
    if found is not None:
        assert any(d.detect(r) is not None for r in readings), dotted
    quick = d.detect_without_lookup(dotted)
    assert quick[1] == found or quick == (False, None), dotted


@pytest.mark.parametrize(
    "text",
    [
        "I O.D.d last night",
        "I o.d.d",
        "going to o.d.s",
        "I O.D.e.d yesterday",
        "Ｏ．Ｄ．ｄ last night",
        "I want to die. I O.D.d last night",  # the more urgent reading wins
        "kms. i O.D.d an hour ago",
    ],
)
def test_a_dotted_acronym_with_an_ending_is_still_the_abbreviation(text: str) -> None:
    found = detector().detect(text)
    assert found is not None and found.kind is Concern.MEDICAL_EMERGENCY, text
    assert detector().detect_without_lookup(text) in ((True, found), (False, None)), text


@pytest.mark.parametrize(
    "text",
    ["i w.a.n.t t.o d.i.e", "E.n.d i.t a.l.l", "I want to d.i.e", "k.m.s"],
)
def test_dotted_words_of_a_phrase_are_read_as_the_phrase(text: str) -> None:
    found = detector().detect(text)
    assert found is not None and found.kind is Concern.SUICIDE, text


@pytest.mark.parametrize(
    "text",
    [
        "o.d",
        "o.d.",
        "O.D",
        "O.D.",
        "might o.d. tonight",
        "I took too much, might o.d.",
        "going to O.D. tonight",
        "I think he O.D.'d",
    ],
)
def test_one_or_two_dotted_letters_are_still_the_abbreviation(text: str) -> None:
    found = detector().detect(text)
    assert found is not None and found.kind is Concern.MEDICAL_EMERGENCY, text


def test_two_or_more_dotted_single_letters_are_joined() -> None:
    assert normalise("M.o.d.e.s.t.") == "modest"
    assert normalise("I'm D.O.N.E. with it") == "i m done with it"
    assert normalise("going to O.D. tonight") == "going to od tonight"
    assert normalise("e.g. a.m. ok") == "eg am ok"
    assert normalise("ab.c.d.e and x.y") == "ab cde and xy"
    assert normalise("h.e.l.p m.e") == "help me"


# ---------------------------------------------------------------------------------------------
# Answers remembered for recent texts (`_Answers`)

TYPOS = ["i want to kil myselff", "thinking about suicde", "going to overdoze tonight"]
REMEMBERED_TEXTS = [t for _lang, _kind, t in POSITIVES[::7]] + NEGATIVES[::9] + TYPOS


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.sampled_from(REMEMBERED_TEXTS), st.sampled_from(["", *LANGUAGES]), st.booleans()
        ),
        min_size=1,
        max_size=30,
    ),
    st.integers(1, 5),
)
def test_a_remembered_answer_is_the_answer_found_afresh(
    calls: list[tuple[str, str, bool]], kept: int
) -> None:
    """Any order of quick and full checks, the same texts again with other preferred languages,
    a memory small enough to forget: every answer is what a detector that remembers nothing
    finds, and remembering never makes the quick check decline a text it answers afresh."""
    remembering = detector().keeping_answers(kept)
    fresh = detector().keeping_answers(0)
    for text, prefer, quick in calls:
        expected = fresh.detect(text, prefer)
        if quick:
            answered, found = remembering.detect_without_lookup(text, prefer)
            assert answered or not fresh.detect_without_lookup(text, prefer)[0], text
            if answered:
                assert found == expected, (text, prefer)
        else:
            assert remembering.detect(text, prefer) == expected, (text, prefer)


def test_a_text_the_full_check_answered_is_then_answered_without_the_thread() -> None:
    d = detector().keeping_answers(10)
    typo = "i want to kil myselff"
    assert d.detect_without_lookup(typo) == (False, None)
    found = d.detect(typo)
    assert found is not None and found.kind is Concern.SUICIDE
    assert d.detect_without_lookup(typo) == (True, found)
    # ... for the language it was checked with only
    assert d.detect_without_lookup(typo, "de") == (False, None)


def _strings_reachable(root: object, depth: int = 6) -> list[str | bytes]:
    found: list[str | bytes] = []
    seen: set[int] = set()
    level = [root]
    for _ in range(depth):
        following = []
        for obj in level:
            if id(obj) in seen or isinstance(obj, type):
                continue
            seen.add(id(obj))
            if isinstance(obj, str | bytes):
                found.append(obj)
            else:
                following.extend(gc.get_referents(obj))
        level = following
    return found


def test_what_members_wrote_is_not_kept_with_the_answers() -> None:
    d = detector().keeping_answers(10)
    texts = ["my secret: i want to kil myselff", "my secret: a quiet tuesday walk"]
    for text in texts:
        d.detect(text)
        d.detect_without_lookup(text)
    assert d.detect_without_lookup(texts[0])[0]  # remembered
    kept = _strings_reachable(d._answers)
    assert kept  # the digests themselves are found
    words = [s if isinstance(s, str) else s.decode("utf-8", "replace") for s in kept]
    assert not [s for s in words if "secret" in s or "myselff" in s]
    # A new detector for another community's phrases starts with no answers.
    other = d.with_extra(["quiet tuesday"])
    assert other.detect_without_lookup(texts[1])[1] is not None


def test_a_negative_number_of_remembered_texts_is_refused() -> None:
    with pytest.raises(ValueError, match="0 texts or more"):
        detector().keeping_answers(-1)


@SETTINGS
@given(st.text(max_size=6), st.text(max_size=12), st.text(max_size=6), st.text(max_size=12))
@example("a\0b", "c", "a", "b\0c")  # joined with a separator, these two ran together
def test_no_two_checks_share_a_remembered_answer(
    prefer: str, text: str, other_prefer: str, other_text: str
) -> None:
    assume((prefer, text) != (other_prefer, other_text))
    answers = _Answers(4)
    salt = b"s" * 16
    assert answers.digest(salt, text, prefer) != answers.digest(salt, other_text, other_prefer)
    assert answers.digest(salt, text, prefer) != answers.digest(b"t" * 16, text, prefer)


def test_communities_share_one_bounded_memory_and_never_each_others_answers() -> None:
    d = detector().keeping_answers(3)
    communities = [d.with_extra([f"zorblax day number {i}"]) for i in range(5)]
    for i, community in enumerate(communities):
        found = community.detect(f"a zorblax day number {i} again")
        assert found is not None  # its own phrase
        assert communities[(i + 1) % 5].detect(f"a zorblax day number {i} again") is None
    assert len(d._answers._kept or {}) == 3  # the oldest forgotten, whoever checked them
    # A detector that remembers nothing gives detectors that remember nothing.
    forgetful = d.keeping_answers(0).with_extra(["zorblax day"])
    forgetful.detect("i want to kil myselff")
    assert forgetful.detect_without_lookup("i want to kil myselff") == (False, None)


def test_a_long_text_is_checked_every_time_and_not_remembered() -> None:
    d = detector().keeping_answers(10)
    long_text = "a quiet walk " * 400 + "i want to kil myselff"
    assert len(long_text) > REMEMBERED_MAX_CHARS
    found = d.detect(long_text)
    assert found is not None and found.kind is Concern.SUICIDE
    assert d.detect_without_lookup(long_text) == (False, None)  # to the thread again
    assert not d._answers._kept
