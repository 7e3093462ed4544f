"""What people type for their country and language is read as they mean it."""

from __future__ import annotations

import contextlib
import functools
import unicodedata
from collections import Counter

import pytest
from babel import Locale, localedata
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.convert import COUNTRY_NAMES, check_country
from bot.core.errors import UserError
from bot.i18n import using_language
from tests.harness.app import AppFactory
from tests.harness.platform import FakePlatform


def _unique_names(language: str) -> dict[str, str]:
    names = {c: n for c, n in Locale.parse(language).territories.items() if c in COUNTRY_NAMES}
    counts = Counter(n.casefold() for n in names.values())
    return {c: n for c, n in names.items() if counts[n.casefold()] == 1}


@given(st.sampled_from(sorted(COUNTRY_NAMES)), st.sampled_from(["en", "de", "fr", "es"]))
def test_every_countrys_name_in_the_members_language_and_its_code_are_read(
    code: str, language: str
) -> None:
    name = _unique_names(language).get(code)
    with using_language(language):
        assert check_country(code.lower()) == code
        if name is not None:
            assert check_country(f"  {name.upper()} ") == code


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("UK", "GB"),
        ("u.k.", "GB"),
        ("GBR", "GB"),
        ("USA", "US"),
        ("the United States", "US"),
        ("England", "GB"),
        ("DEU", "DE"),
    ],
)
def test_common_codes_and_names_are_read(typed: str, code: str) -> None:
    assert check_country(typed) == code


def test_what_names_no_country_is_refused_with_how_to_say_it() -> None:
    with pytest.raises(UserError, match="Use its name or a two-letter code"):
        check_country("Narnia")


async def test_me_country_and_language_answer_with_names(app_factory: AppFactory) -> None:
    fake = FakePlatform(await app_factory())
    country = (await fake.say("ana", "!me country UK"))[0].text
    assert "United Kingdom" in country and "GB" in country
    language = (await fake.say("ana", "!me language english"))[0].text
    assert language == "I'll use English (en) with you."


def _fold(text: str) -> str:
    text = " ".join(text.replace(".", "").split()).casefold().removeprefix("the ")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@functools.cache
def _every_name() -> dict[str, set[str]]:
    """Every country name in every CLDR locale (regional ones too), folded, with its codes."""
    names: dict[str, set[str]] = {}
    for identifier in localedata.locale_identifiers():
        for code, name in Locale.parse(identifier).territories.items():
            if code in COUNTRY_NAMES:
                names.setdefault(_fold(name), set()).add(code)
    return names


def _codes_named(folded: str) -> frozenset[str]:
    """Every country some CLDR locale calls `folded`."""
    return frozenset(_every_name().get(folded, set()))


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(sorted(COUNTRY_NAMES)),
    st.sampled_from(["de", "es", "fr", "it", "nl", "pt", "sv", "pl", "ru", "ja", "tr", "fi"]),
)
def test_a_countrys_name_in_any_language_is_read_when_only_one_country_has_it(
    code: str, language: str
) -> None:
    name = Locale.parse(language).territories.get(code)
    if name is None:
        return
    named = _codes_named(_fold(name))
    with using_language("en"):
        if named == {code}:
            assert check_country(name) == code
            plain = "".join(
                c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)
            )
            assert check_country(plain.lower()) == code
        else:  # shared by several countries: English's own reading, or refused
            with contextlib.suppress(UserError):
                assert check_country(name) in named


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("Deutschland", "DE"),
        ("España", "ES"),
        ("espana", "ES"),
        ("Great Britain", "GB"),
        ("en-GB", "GB"),
        ("pt_BR", "BR"),
        ("de-at", "AT"),
        ("Sverige", "SE"),
    ],
)
def test_endonyms_and_locale_tags_are_read(typed: str, code: str) -> None:
    with using_language("en"):
        assert check_country(typed) == code
