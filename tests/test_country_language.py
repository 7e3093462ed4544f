"""What people type for their country and language is read as they mean it."""

from __future__ import annotations

from collections import Counter

import pytest
from babel import Locale
from hypothesis import given
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
