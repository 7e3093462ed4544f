"""One translation function for every user-facing string.

The language is a context variable set per command (the member's choice, else the community's),
so cogs call `_("...")` without passing a language around. Catalogs live in data/locale and are
extracted with Babel by `make template` (`bot/i18n_extract.py`).
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache

from bot.paths import DATA_DIR

DOMAIN = "circlebot"
LOCALE_DIR = DATA_DIR / "locale"
DEFAULT_LANGUAGE = "en"

_language: ContextVar[str] = ContextVar("circlebot_language", default=DEFAULT_LANGUAGE)


@cache
def _catalog(language: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)


def available_languages() -> list[str]:
    """Languages with a compiled catalog, plus English, which is the source language."""
    found = {DEFAULT_LANGUAGE}
    if LOCALE_DIR.is_dir():
        for path in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"):
            found.add(path.parent.parent.name)
    return sorted(found)


def current_language() -> str:
    """The language of the command being handled."""
    return _language.get()


def _(message: str) -> str:
    """Translate `message` into the current language."""
    return _catalog(_language.get()).gettext(message)


def N_(message: str) -> str:  # noqa: N802 (the gettext name for it)
    """Mark `message` for the template without translating it here (it is translated where it
    is shown, e.g. an option description passed through a helper)."""
    return message


def ngettext(singular: str, plural: str, count: int) -> str:
    """Translate a message that depends on a count."""
    return _catalog(_language.get()).ngettext(singular, plural, count)


@contextmanager
def using_language(language: str) -> Iterator[None]:
    """Run a block with another language, e.g. an announcement in the community's language."""
    token = _language.set(language or DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        _language.reset(token)


def set_language(language: str) -> None:
    """Set the language for the rest of the current task (dispatch does this per command)."""
    _language.set(language or DEFAULT_LANGUAGE)
