"""A language option takes what its suggestions show as well as the code, like zones and
countries do; anything else is refused with the text and the languages there are."""

from __future__ import annotations

import pytest
from babel import Locale
from hypothesis import given
from hypothesis import strategies as st

from bot.core import suggest
from bot.core.convert import check_language, language_name
from bot.core.errors import UserError
from bot.i18n import available_languages


@pytest.mark.parametrize("code", available_languages())
def test_every_offered_language_is_taken_by_code_name_or_label(code: str) -> None:
    offered = {choice.value: choice.display for choice in suggest.languages("")}
    assert code in offered
    english = Locale.parse(code).get_display_name("en")
    for typed in (code, code.upper(), offered[code], language_name(code), f" {english} "):
        assert check_language(typed) == code


@given(st.text(max_size=60))
def test_anything_else_is_refused_with_the_text_and_the_languages(text: str) -> None:
    known = {
        name.casefold()
        for code in available_languages()
        for name in (
            code,
            language_name(code),
            Locale.parse(code).get_display_name("en"),
            f"{language_name(code)} ({code})",
        )
    }
    if " ".join(text.split()).casefold() in known:
        return
    with pytest.raises(UserError) as refused:
        check_language(text)
    assert "is not a language I have texts in" in refused.value.message
    for code in available_languages():
        assert f"({code})" in refused.value.message
