"""How directory entries read in a message: how to reach each line now, hours, languages."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

import phonenumbers
from babel import Locale, UnknownLocaleError

from bot.core import _ as catalog_text
from bot.core import current_language, escape_markdown
from cogs.crisis.answer import EmergencyNumber
from cogs.crisis.directory import CATEGORIES, COUNTRIES, Contact, Entry

# The crisis answer's own reviewed wording for this block (data/crisis/answers.toml), by the
# English text; set while an answer is composed in a language that has no gettext catalog yet.
_WORDS: ContextVar[Mapping[str, str] | None] = ContextVar("crisis_answer_words", default=None)


def _(message: str) -> str:
    """`message` in the answer's language: the reviewed table, else the project's catalogs.

    Named `_` so the usual extraction still finds every string here.
    """
    table = _WORDS.get()
    return (table.get(message) if table else None) or catalog_text(message)


@contextmanager
def answer_words(table: Mapping[str, str]) -> Iterator[None]:
    """Compose a block with `table` (English text -> translation) in force."""
    token = _WORDS.set(table)
    try:
        yield
    finally:
        _WORDS.reset(token)


# Lines a person in crisis most likely needs come first.
ORDER = {c: n for n, c in enumerate(("suicide_prevention", "general_crisis", *CATEGORIES))}


def _locale() -> Locale:
    try:
        return Locale.parse(current_language())
    except (ValueError, UnknownLocaleError):
        return Locale("en")


def country_name(code: str) -> str:
    """The country's name in the reader's language."""
    return str(_locale().territories.get(code) or COUNTRIES.get(code) or code)


def country_names() -> dict[str, str]:
    """Every country's name in the reader's language, by ISO 3166-1 alpha-2 code."""
    return {code: str(name) for code, name in _locale().territories.items() if code in COUNTRIES}


def emergency_numbers(emergency: EmergencyNumber) -> str:
    """`**112**` or `**15** (ambulance) or **112**`, the first number first."""
    first, *others = emergency.numbers
    shown = f"**{first}**"
    if emergency.service not in ("general", "ambulance") or others:
        shown += f" ({service_name(emergency.service)})"
    for number in others:
        shown += " " + _("or") + f" **{number}**"
    return shown


def service_name(service: str) -> str:
    """What an emergency number reaches, in words."""
    return {
        "general": _("any emergency"),
        "ambulance": _("ambulance"),
        "police": _("police"),
        "fire and rescue": _("fire and rescue"),
    }.get(service, service)


def language_names(tags: tuple[str, ...]) -> str:
    """`en, es` as `English, Spanish` in the reader's language."""
    locale = _locale()
    names = []
    for tag in tags:
        try:
            names.append(Locale.parse(tag, sep="-").get_display_name(locale) or tag)
        except (ValueError, UnknownLocaleError):
            names.append(tag)
    return ", ".join(names)


def topic_name(topic: str) -> str:
    """A category id in words."""
    return {
        "suicide_prevention": _("suicide prevention"),
        "mental_health": _("mental health"),
        "substance_use": _("substance use"),
        "domestic_violence": _("domestic violence"),
        "sexual_violence": _("sexual violence"),
        "youth": _("young people"),
        "lgbtq": _("LGBTQ+"),
        "veterans": _("veterans"),
        "family": _("family and friends"),
        "general_crisis": _("any crisis"),
    }.get(topic, topic)


def show_number(number: str, country: str) -> str:
    """A stored number the way people in that country write it (short codes as they are)."""
    if not number.startswith("+"):
        # The harmonised European 116 numbers are written in two groups: 116 123.
        return f"116 {number[3:]}" if len(number) == 6 and number.startswith("116") else number
    parsed = phonenumbers.parse(number)
    if phonenumbers.region_code_for_number(parsed) == country:
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _how(contact: Contact, country: str) -> str:
    number = f"**{show_number(contact.number, country)}**" if contact.number else ""
    if contact.method == "phone":
        text = _("call {number}").format(number=number)
        if contact.options:
            text += (
                " ("
                + "; ".join(
                    _("press {key}: {label}").format(key=o.key, label=escape_markdown(o.label))
                    for o in contact.options
                )
                + ")"
            )
        return text
    if contact.method == "text":
        if contact.keyword:
            return _("text {keyword} to {number}").format(
                keyword=f"**{contact.keyword}**", number=number
            )
        return _("text {number}").format(number=number)
    label = {"chat": _("chat online"), "email": _("email"), "app": _("app")}[contact.method]
    return f"[{label}]({contact.url})"


def entry_line(entry: Entry, *, with_id: bool = False) -> str:
    """One bullet: the name, every way to reach it, hours, languages, and cost."""
    ways = []
    for contact in entry.contacts:
        way = _how(contact, entry.country)
        if contact.languages != entry.contacts[0].languages:
            way += f" ({language_names(contact.languages)})"
        if contact.hours != entry.contacts[0].hours:
            way += f" ({escape_markdown(contact.hours)})"
        ways.append(way)
    first = entry.contacts[0]
    details = [
        _("open 24/7") if first.hours == "24/7" else escape_markdown(first.hours),
        language_names(first.languages),
    ]
    if all(c.free for c in entry.contacts):
        details.append(_("free"))
    if all(c.anonymous for c in entry.contacts):
        details.append(_("anonymous"))
    name = escape_markdown(entry.name)
    if entry.region:
        name += f" ({escape_markdown(entry.region)})"
    line = f"- **{name}**: " + "; ".join(ways) + ". " + " · ".join(details)
    if with_id:
        line += f" · `{entry.id}`"
    return line


def member_order(entries: list[Entry], topic: str | None = None) -> list[Entry]:
    """Entries to show, most urgent kind first; a pair is shown whole or not at all."""
    chosen = [e for e in entries if topic is None or topic in e.all_topics]
    pairs = {(e.country, e.pair) for e in chosen if e.pair}
    chosen += [e for e in entries if e.pair and (e.country, e.pair) in pairs and e not in chosen]
    chosen.sort(key=lambda e: (ORDER.get(e.category, 99), e.pair or e.id, e.name.casefold()))
    return chosen


def fallback_line(name: str, url: str) -> str:
    """The international directory, always offered."""
    return _(
        "Anywhere in the world: [{name}]({url}) lists free, human-answered lines by country."
    ).format(name=escape_markdown(name), url=url)


def lines_block(
    entries: list[Entry], country: str | None, fallback_name: str, fallback_url: str
) -> str:
    """The member's country lines, then the fallback (Markdown)."""
    out: list[str] = []
    if not country:
        out.append(
            _(
                "I don't know which country you are in. Set it with `me country` "
                "(for example `me country GB`) and I will show lines near you."
            )
        )
    elif entries:
        out.append(_("**Lines in {country}**").format(country=country_name(country)))
        out.extend(entry_line(e) for e in member_order(entries))
    else:
        out.append(
            _("I have no lines for {country} in my directory yet.").format(
                country=country_name(country)
            )
        )
    out.append(fallback_line(fallback_name, fallback_url))
    return "\n".join(out)
