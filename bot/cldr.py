"""CLDR data read from Babel's locale files without keeping whole locales in memory.

Babel keeps every locale it loads (`babel.localedata.load`) for the life of the process, about
0.5 MB a locale. Two lookups need one field of many locales: the country names of every
language (`bot.core.convert`: a member may type "Deutschland" or "Alemania"), 330 locales and
about 146 MB kept for good when read through `Locale`, and the plural rules of the crisis
answers' languages, checked at start-up (`plural_rule`, which `bot.core` offers cogs).
Reading the field from each locale's own data file keeps only the field.

The files are Babel's own, shipped with it: one pickled dict a locale identifier (`pt_PT`),
holding what that locale adds to its parent. `parent` follows the inheritance
`babel.localedata.load` applies (CLDR's parent locales); Babel has no public call that gives
one field of a locale without loading and keeping all of it, hence this module.
"""

from __future__ import annotations

import functools
import os
import pickle
from typing import Any

from babel import Locale, UnknownLocaleError, localedata
from babel.core import get_global, parse_locale
from babel.plural import PluralRule

ROOT = "root"


def own_data(name: str) -> dict[str, Any]:
    """What locale `name` (an identifier exactly as Babel spells it, such as `pt_PT`) defines
    itself, read from its data file each call (not cached, nothing kept); empty when Babel
    has no locale of that exact name."""
    path = _file(name)
    if path is None:
        return {}
    with open(path, "rb") as file:
        data = pickle.load(file)  # Babel's own data files, shipped with Babel
    return data if isinstance(data, dict) else {}


def _file(name: str) -> str | None:
    """The data file of the locale named exactly `name`, None when there is none (Babel's own
    `exists` ignores case and path parts; the file name does not)."""
    if not name or os.path.basename(name) != name:
        return None
    path = localedata.resolve_locale_filename(name)
    return path if os.path.isfile(path) and os.path.basename(path) == f"{name}.dat" else None


def parent(name: str) -> str | None:
    """The locale `name` inherits from, as Babel resolves it: CLDR's parent exceptions
    (`pt_AO` -> `pt_PT`), `root` for a language with a script not its usual one (`sr_Latn`),
    else the identifier without its last part; None for `root`."""
    if name == ROOT:
        return None
    exception = get_global("parent_exceptions").get(name)
    if exception:
        return str(exception)
    if _unusual_script(name):
        return ROOT
    parts = name.split("_")
    return ROOT if len(parts) == 1 else "_".join(parts[:-1])


def inherited_value(name: str, field: str) -> Any | None:
    """`field` of locale `name` as Babel's merged data has it, for a field whose value is not
    a dict (a dict would merge with its parents'): the locale's own, else its nearest
    parent's; None when no locale up to `root` has it, or Babel has no locale `name`."""
    if _file(name) is None:
        return None
    current: str | None = name
    while current is not None:
        value = own_data(current).get(field)
        if value is not None:
            return value
        current = parent(current)
    return None


@functools.cache
def plural_rule(language: str) -> PluralRule | None:
    """The CLDR plural rule of `language` (a BCP-47 tag such as `pt-BR`) as Babel's
    `Locale.plural_form` gives it, None when Babel has no such locale.

    The field alone, from the locale's file or the nearest parent's: through `Locale` the
    whole locale stays loaded for the life of the process (the crisis answers' plural forms
    are checked for every language at start-up)."""
    try:
        locale = Locale.parse(language, sep="-")
    except (ValueError, UnknownLocaleError):
        return None
    rule = inherited_value(str(locale), "plural_form")
    return rule if isinstance(rule, PluralRule) else PluralRule({})  # Babel's default


def _unusual_script(name: str) -> bool:
    """`lang_Script` whose script is not the language's likely one (CLDR's nonlikelyScript)."""
    try:
        language, territory, script, variant, *rest = parse_locale(name)
    except ValueError:
        return False
    if not (language and script) or territory or variant or rest:
        return False
    likely = get_global("likely_subtags").get(language)
    return isinstance(likely, str) and script != parse_locale(likely)[2]
