"""The crisis-phrase detector against its test set of plain phrases and tricky everyday idioms."""

from __future__ import annotations

import tomllib

import pytest

from bot.paths import DATA_DIR
from cogs.crisis.phrases import Detector, expand, load_phrase_lists, normalise

CASES = tomllib.loads((DATA_DIR / "crisis" / "phrase_tests" / "en.toml").read_text("utf-8"))


def detector() -> Detector:
    lists, problems = load_phrase_lists(DATA_DIR / "crisis" / "phrases")
    assert problems == []
    return Detector(
        [p for pl in lists for p in (*pl.explicit, *pl.concern)],
        [p for pl in lists for p in pl.exclude],
    )


def test_recall_on_explicit_phrases_is_at_least_95_percent() -> None:
    d = detector()
    missed = [t for t in CASES["explicit"] if not d.matches(t)]
    assert len(CASES["explicit"]) >= 50
    assert 1 - len(missed) / len(CASES["explicit"]) >= 0.95, missed


def test_worry_about_someone_else_is_found() -> None:
    d = detector()
    assert [t for t in CASES["concern"] if not d.matches(t)] == []


def test_the_tricky_negatives_get_no_answer() -> None:
    d = detector()
    assert len(CASES["negative"]) >= 50
    assert [t for t in CASES["negative"] if d.matches(t)] == []


@pytest.mark.parametrize(
    "text",
    [
        "I'm not suicidal but I want to die",
        "this meeting is killing me and I want to kill myself",
        "I was killing myself laughing, then later I thought about ending my life",
    ],
)
def test_an_idiom_does_not_hide_a_real_phrase_beside_it(text: str) -> None:
    assert detector().matches(text)


def test_case_punctuation_and_apostrophes_do_not_matter() -> None:
    d = detector()
    assert d.matches("I DON’T want to be alive anymore!!!")
    assert d.matches("kill...myself")
    assert normalise("Don’t  STOP—now") == "dont stop now"


def test_a_moderators_phrase_with_alternatives() -> None:
    assert expand("i feel (hopeless|worthless)") == ["i feel hopeless", "i feel worthless"]
    d = Detector(expand("i feel (hopeless|worthless)"))
    assert d.matches("Honestly, I feel worthless today")
    assert not d.matches("I feel hopeful")


@pytest.mark.parametrize("bad", ["a", "(a|b) c", "((x))", "x" * 101, "(open"])
def test_unusable_phrases_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match=r"phrase|letters|brackets|variants"):
        expand(bad)
