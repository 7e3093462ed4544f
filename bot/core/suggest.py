"""Autocomplete suggestions every cog may offer: time zones, countries and languages, and the
names one cog offers the options of another (`SharedSuggestions`: the scripts cog's script
names for the meetings cog's `script` option), so no cog imports another for them.

A cog names them on an option like its own helpers (`autocomplete="complete_zone"`): the `Cog`
base class has `complete_zone`, `complete_country` and `complete_language`. Each answer is at
most `MAX_SUGGESTIONS` choices with names of at most `MAX_NAME` characters (Discord's limits),
and what the member typed matches anywhere in a name, a code or a label, case-insensitively.
Facts come from tzdata (zones), the CLDR via Babel (country and language names) and the
compiled catalogs (languages the bot speaks).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from bot.core.commands import AutocompleteFn, Choice
from bot.core.convert import COUNTRY_NAMES, language_name
from bot.core.zones import PREFERRED, current_names
from bot.i18n import available_languages

if TYPE_CHECKING:
    from bot.core.context import Context

log = logging.getLogger("circlebot.suggest")

MAX_SUGGESTIONS = 25
MAX_NAME = 100


class SharedSuggestions:
    """Named suggestions a running cog offers other cogs' options (`script`: the community's
    script names). The core adds a cog's `CogHooks.suggestions` when it starts and withdraws
    them when it stops; a cog asks by name and gets no choices when no running cog offers it.
    """

    def __init__(self) -> None:
        self._by_name: dict[str, tuple[str, AutocompleteFn]] = {}

    def offer(self, cog: str, suggestions: Mapping[str, AutocompleteFn]) -> None:
        """Let cog `cog` answer for each name in `suggestions` (again: replaces its own)."""
        for name, fn in suggestions.items():
            self._by_name[name] = (cog, fn)

    def withdraw(self, cog: str) -> None:
        """Forget every name cog `cog` offered (it is stopping)."""
        self._by_name = {n: (c, fn) for n, (c, fn) in self._by_name.items() if c != cog}

    async def choices(self, name: str, ctx: Context, partial: str) -> list[Choice]:
        """At most `MAX_SUGGESTIONS` choices offered under `name` for what was typed; none
        when no running cog offers `name` or its helper fails (logged, never raised)."""
        found = self._by_name.get(name)
        if found is None:
            return []
        try:
            return (await found[1](ctx, partial))[:MAX_SUGGESTIONS]
        except Exception:
            log.exception("shared suggestions %r from %s failed", name, found[0])
            return []


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


def country_names() -> list[Choice]:
    """Every country's name of several words (`United Kingdom`, `New Zealand`), in English
    and the language in use: on text platforms, such a name typed unquoted is one value of an
    option naming a country (`crisis list United Kingdom`), read then as `me country` reads
    it."""
    from babel import Locale, UnknownLocaleError

    from bot.i18n import current_language

    names = dict.fromkeys(n for n in COUNTRY_NAMES.values() if " " in n)
    try:
        local = {str(c): str(n) for c, n in Locale.parse(current_language()).territories.items()}
    except (ValueError, UnknownLocaleError):
        local = {}
    names.update(dict.fromkeys(n for c, n in local.items() if c in COUNTRY_NAMES and " " in n))
    return [Choice(name[:MAX_NAME]) for name in names]


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
