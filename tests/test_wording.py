"""Words that read like a person wrote them: no "in 0 seconds", no raw minute lists, no
snake_case choices, no "(optional) (optional)"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.commands import Choice, Option, OptionType, SpecError
from bot.core.convert import convert_option
from bot.core.message import relative_time
from cogs.meetings.render import announced

NOW = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)


@given(st.integers(min_value=-400 * 86400, max_value=400 * 86400))
def test_a_relative_time_points_the_right_way(seconds: int) -> None:
    text = relative_time(NOW + timedelta(seconds=seconds), NOW)
    if abs(seconds) < 60:
        assert text == "now"
    elif seconds < 0:
        assert text.endswith(" ago") and not text.startswith("in "), text
    else:
        assert text.startswith("in ") and not text.endswith(" ago"), text
    assert " 0 " not in f" {text} "


def test_announcement_times_read_as_words() -> None:
    assert announced([1440, 60, 0]) == (
        "Meetings here are announced 1 day before, 1 hour before, and when they start."
    )
    assert (
        announced([10, 2880]) == "Meetings here are announced 2 days before and 10 minutes before."
    )
    assert announced([90]) == "Meetings here are announced 90 minutes before."


async def test_choices_show_words_and_accept_either_spelling() -> None:
    option = Option("field", OptionType.CHOICE, "What to change", choices=(Choice("verified_at"),))
    assert option.choices[0].display == "verified at"
    for typed in ("verified_at", "verified at", "Verified-At"):
        assert await convert_option(option, typed, cast(Any, None)) == "verified_at"


def test_an_option_cannot_say_optional_itself() -> None:
    with pytest.raises(SpecError, match="required"):
        Option("script", OptionType.STRING, "Script name (optional)", required=False)
