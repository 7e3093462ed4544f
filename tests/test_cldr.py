"""bot/cldr.py: one CLDR field of a locale from Babel's files, as Babel's merged data has it."""

from __future__ import annotations

import pytest
from babel import localedata
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import cldr

IDENTIFIERS = sorted(localedata.locale_identifiers())


@pytest.mark.parametrize(
    "name", ["EN", "en_us", "Sr_latn", "en/../fr", "", "en_", "en__US", "xx", "../en"]
)
def test_a_name_babel_has_no_file_for_gives_nothing(name: str) -> None:
    assert cldr.own_data(name) == {}
    assert cldr.inherited_value(name, "plural_form") is None


@settings(max_examples=150, derandomize=True, deadline=None)
@given(st.sampled_from(IDENTIFIERS))
def test_the_parent_is_the_one_babel_merges_from(name: str) -> None:
    """Babel's merged data of a locale is its parent's with its own on top: every value that
    is not a dict is the locale's own or else its parent's, as `inherited_value` reads it."""
    merged = localedata.load(name)
    own = cldr.own_data(name)
    parent = cldr.parent(name)
    assert parent is not None and (parent == cldr.ROOT or localedata.exists(parent))
    for field in ("plural_form", "ordinal_form", "character_order", "day_period_rules"):
        value = merged.get(field)
        if value is not None and not isinstance(value, dict):
            # PluralRule has no equality of its own: its repr spells the rule out
            assert repr(cldr.inherited_value(name, field)) == repr(value), field
            if field not in own:
                assert repr(cldr.inherited_value(parent, field)) == repr(value), field


def test_root_has_no_parent() -> None:
    assert cldr.parent(cldr.ROOT) is None
    assert cldr.parent("pt_AO") == "pt_PT"  # one of CLDR's parent exceptions
    assert cldr.parent("sr_Latn") == cldr.ROOT  # a script not the language's usual one
    assert cldr.parent("de_AT") == "de"
