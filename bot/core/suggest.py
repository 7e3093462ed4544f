"""Autocomplete suggestions every cog may offer: time zones, countries and languages.

A cog names them on an option like its own helpers (`autocomplete="complete_zone"`): the `Cog`
base class has `complete_zone`, `complete_country` and `complete_language`. Each answer is at
most `MAX_SUGGESTIONS` choices with names of at most `MAX_NAME` characters (Discord's limits),
and what the member typed matches anywhere in a name, a code or a label, case-insensitively.
Facts come from tzdata (zones), the CLDR via Babel (country and language names) and the
compiled catalogs (languages the bot speaks).
"""

from __future__ import annotations

from bot.core.commands import Choice
from bot.core.convert import COUNTRY_NAMES, language_name
from bot.core.zones import PREFERRED, current_names
from bot.i18n import available_languages

MAX_SUGGESTIONS = 25
MAX_NAME = 100


def _needle(partial: str) -> str:
    return partial.strip().casefold().replace(" ", "_")


def zones(partial: str) -> list[Choice]:
    """Zones of places (Region/City) whose name holds what was typed (spaces read as `_`);
    the zones of large cities first, then alphabetical. Nothing typed: the large cities."""
    needle = _needle(partial)
    order = {z: i for i, z in enumerate(PREFERRED)}
    ranked = sorted({*current_names(), "UTC"}, key=lambda z: (order.get(z, len(order)), z))
    found = [z for z in ranked if needle in z.casefold()]
    return [Choice(z, z.replace("_", " ")) for z in found[:MAX_SUGGESTIONS]]


def countries(partial: str) -> list[Choice]:
    """Countries whose English name or two-letter code holds what was typed, codes that
    match exactly first; shown as `Ireland (IE)`, chosen as `IE`."""
    needle = partial.strip().casefold()
    exact = [c for c in COUNTRY_NAMES if c.casefold() == needle]
    rest = sorted(
        (c for c in COUNTRY_NAMES if c not in exact and needle in COUNTRY_NAMES[c].casefold()),
        key=lambda c: (not COUNTRY_NAMES[c].casefold().startswith(needle), COUNTRY_NAMES[c]),
    )
    return [
        Choice(code, f"{COUNTRY_NAMES[code]} ({code})"[:MAX_NAME])
        for code in [*exact, *rest][:MAX_SUGGESTIONS]
    ]


def languages(partial: str) -> list[Choice]:
    """The languages the bot has texts in whose code or own name holds what was typed; shown
    as `Deutsch (de)`, chosen as `de`."""
    needle = partial.strip().casefold()
    found = []
    for code in available_languages():
        label = f"{language_name(code)} ({code})"[:MAX_NAME]
        if needle in label.casefold():
            found.append(Choice(code, label))
    return found[:MAX_SUGGESTIONS]
