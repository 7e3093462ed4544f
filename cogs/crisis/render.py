"""How directory entries read in a message: how to reach each line now, hours, languages."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime

from bot.core import _ as catalog_text
from bot.core import current_language, escape_markdown, zone_label
from bot.core import ngettext as catalog_plural
from cogs.crisis.answer import AnswerText, EmergencyNumber, plural_category
from cogs.crisis.directory import CATEGORIES, COUNTRIES, Contact, Entry
from cogs.crisis.hours import ALWAYS, hours_or_none

# The crisis answer's own reviewed wording for this block (data/crisis/answers.toml), by the
# English text; set while an answer is composed in a language that has no gettext catalog yet.
# Count-dependent texts are there by their English singular, one form per plural category.
_WORDS: ContextVar[Mapping[str, str] | None] = ContextVar("crisis_answer_words", default=None)
_PLURALS: ContextVar[Mapping[str, Mapping[str, str]] | None] = ContextVar(
    "crisis_answer_plurals", default=None
)


def _(message: str) -> str:
    """`message` in the answer's language: the reviewed table, else the project's catalogs.

    Named `_` so the usual extraction still finds every string here.
    """
    table = _WORDS.get()
    return (table.get(message) if table else None) or catalog_text(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The form for `count` in the answer's language (its plural rule chooses among the
    reviewed table's forms), else the project's catalogs. Named so extraction finds it."""
    forms = (_PLURALS.get() or {}).get(singular) or {}
    category = plural_category(current_language(), count)
    return forms.get(category) or forms.get("other") or catalog_plural(singular, plural, count)


@contextmanager
def answer_words(text: AnswerText) -> Iterator[None]:
    """Compose a block with `text`'s reviewed words in force: `words` (English text ->
    translation) and `plurals` (English singular -> form by plural category)."""
    token = _WORDS.set(text.words)
    plural_token = _PLURALS.set(text.plurals)
    try:
        yield
    finally:
        _PLURALS.reset(plural_token)
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


OPEN, UNKNOWN, CLOSED = "open", "unknown", "closed"


@dataclass(frozen=True)
class Reach:
    """Whether a line can be reached at one moment.

    `state` is OPEN (a way to reach it is open; `closes` is the instant, aware UTC, at which
    the last open way closes, None for 24/7), CLOSED (every way is closed; `opens` is the
    next instant, aware UTC, at which one opens) or UNKNOWN (some hours are free text or not
    given, which is never read as open or closed)."""

    state: str
    opens: datetime | None = None
    closes: datetime | None = None


CLOSING_SOON = timedelta(minutes=15)


def contact_reach(contact: Contact, country: str, now: datetime) -> Reach:
    """One contact's `Reach` at `now` (aware), its hours read in the line's zone."""
    hours = hours_or_none(contact.hours, country)
    if hours is None:
        return Reach(UNKNOWN)
    if hours.is_open(now):
        return Reach(OPEN, closes=hours.next_closing(now))
    return Reach(CLOSED, hours.next_opening(now))


def reach(entry: Entry, now: datetime) -> Reach:
    """The entry's `Reach` at `now` (aware): open when any contact is open, until the latest
    of their closings (None when one is 24/7); closed, opening at the earliest next opening,
    only when every contact's hours say closed."""
    found = [contact_reach(c, entry.country, now) for c in entry.contacts]
    open_ways = [r for r in found if r.state == OPEN]
    if open_ways:
        closings = [r.closes for r in open_ways]
        return Reach(OPEN, closes=None if None in closings else max(c for c in closings if c))
    if any(r.state == UNKNOWN for r in found):
        return Reach(UNKNOWN)
    opens = [r.opens for r in found if r.opens is not None]
    return Reach(CLOSED, min(opens) if opens else None)


def reach_order(
    entries: list[Entry], now: datetime, topic: str | None = None
) -> list[tuple[Entry, Reach]]:
    """`member_order`'s entries with their `Reach` at `now`: lines open 24/7 first, then other
    open lines by how long they stay open (latest closing first, so one closing within
    minutes comes last among them), then those whose hours are free text or not given, then
    closed ones by their next opening (ties in `member_order`'s order)."""
    found = [(e, reach(e, now)) for e in member_order(entries, topic)]
    return sorted(found, key=lambda pair: _reach_key(pair[1]))


def _reach_key(found: Reach) -> tuple[int, float]:
    if found.state == OPEN:
        return (0, float("-inf") if found.closes is None else -found.closes.timestamp())
    if found.state == CLOSED:
        return (2, float("inf") if found.opens is None else found.opens.timestamp())
    return (1, 0.0)


def opens_at(moment: datetime, zone: ZoneInfo) -> str:
    """`Tue 09:00 GMT`: an aware moment on the reader's clock, weekday in their language."""
    local = moment.astimezone(zone)
    day = format_datetime(local, "EEE HH:mm", locale=_locale())
    return f"{day} {zone_label(local)}"


def closed_now(found: Reach, zone: ZoneInfo) -> str:
    """`closed now, opens Tue 09:00 GMT` (the next opening on the reader's clock)."""
    if found.opens is None:
        return _("closed now")
    return _("closed now, opens {when}").format(when=opens_at(found.opens, zone))


def entry_line(
    entry: Entry,
    *,
    with_id: bool = False,
    now: datetime | None = None,
    zone: ZoneInfo | None = None,
) -> str:
    """One bullet: the name, every way to reach it, hours, languages, and cost.

    Given `now` (aware) and the reader's `zone`, a closed line says so after its name with
    when it opens on the reader's clock, a contact closed while another is open says so, and
    hours the directory cannot read as data are shown as written, never as open or closed."""
    zone = zone or ZoneInfo("UTC")
    ways = []
    for contact in entry.contacts:
        way = _how(contact, entry.country)
        if contact.languages != entry.contacts[0].languages:
            way += f" ({language_names(contact.languages)})"
        if contact.hours != entry.contacts[0].hours:
            way += f" ({_hours_text(contact, entry.country, now, zone)})"
            if now is not None:
                found = contact_reach(contact, entry.country, now)
                if found.state == CLOSED:
                    way += f" ({closed_now(found, zone)})"
        ways.append(way)
    first = entry.contacts[0]
    details = [_hours_text(first, entry.country, now, zone), language_names(first.languages)]
    if all(c.free for c in entry.contacts):
        details.append(_("free"))
    if all(c.anonymous for c in entry.contacts):
        details.append(_("anonymous"))
    name = escape_markdown(entry.name)
    if entry.region:
        name += f" ({escape_markdown(entry.region)})"
    state = ""
    if now is not None:
        found = reach(entry, now)
        if found.state == CLOSED:
            state = f" ({closed_now(found, zone)})"
    line = f"- **{name}**{state}: " + "; ".join(ways) + ". " + " · ".join(details)
    if with_id:
        line += f" · `{entry.id}`"
    return line


def _hours_text(contact: Contact, country: str, now: datetime | None, zone: ZoneInfo) -> str:
    """`open 24/7`; weekly hours as written, before them `open until Tue 02:00 CET` (on the
    reader's `zone`) or `closes in 5 minutes` when open at `now`; free text the directory
    cannot read as hours marked as the line's own words; no hours at all never read as 24/7."""
    if not contact.hours.strip():
        return _("hours not given — check with the line")
    hours = hours_or_none(contact.hours, country)
    if contact.hours == ALWAYS or (hours is not None and hours.always):
        return _("open 24/7")
    shown = escape_markdown(contact.hours)
    if hours is None:
        return _("hours: {hours} (check with the line)").format(hours=shown)
    if now is not None and hours.is_open(now):
        closes = hours.next_closing(now)
        if closes is None:
            return _("open now ({hours})").format(hours=shown)
        if closes - now <= CLOSING_SOON:
            left = max(1, int((closes - now).total_seconds()) // 60)
            return ngettext(
                "open, closes in {n} minute ({hours})",
                "open, closes in {n} minutes ({hours})",
                left,
            ).format(n=left, hours=shown)
        return _("open until {when} ({hours})").format(when=opens_at(closes, zone), hours=shown)
    return shown


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


def reach_lines(entries: list[Entry], now: datetime | None, zone: ZoneInfo | None) -> list[str]:
    """The bullets of `entries`: open lines first when `now` is given (`reach_order`)."""
    if now is None:
        return [entry_line(e) for e in member_order(entries)]
    return [entry_line(e, now=now, zone=zone) for e, _found in reach_order(entries, now)]


def none_open(entries: list[Entry], now: datetime) -> bool:
    """Whether no line among `entries` is known to be open at `now` (aware): every one is
    closed or has hours the directory cannot read."""
    return bool(entries) and all(reach(e, now).state != OPEN for e in entries)


def none_open_now(country: str, entries: list[Entry], now: datetime) -> str:
    """The plain sentence for `none_open`: all closed, or none known to be open."""
    if all(reach(e, now).state == CLOSED for e in entries):
        return _("No line in {country} is open right now.").format(country=country_name(country))
    return _("No line in {country} is sure to be open right now.").format(
        country=country_name(country)
    )


def lines_again(
    entries: list[Entry],
    country: str | None,
    fallback_name: str,
    fallback_url: str,
    *,
    now: datetime | None = None,
    zone: ZoneInfo | None = None,
) -> str:
    """The lines once more, short (Markdown): the member's country lines if any (open ones
    first given `now`), then the fallback; for a repeat answer, so help is on the screen
    wherever the member is now."""
    out: list[str] = []
    if country and entries:
        out.append(_("**Lines in {country}**").format(country=country_name(country)))
        out.extend(reach_lines(entries, now, zone))
    out.append(fallback_line(fallback_name, fallback_url))
    return "\n".join(out)


def lines_block(
    entries: list[Entry],
    country: str | None,
    fallback_name: str,
    fallback_url: str,
    prefix: str,
    *,
    now: datetime | None = None,
    zone: ZoneInfo | None = None,
) -> str:
    """The member's country lines, then the fallback (Markdown); `prefix` starts the command
    named to someone without a country (`!` or `/`), so it works when copied. Without a
    country the fallback comes first and how to see nearer lines after it: help before a
    setting. Given `now` (aware) and the reader's `zone`, open lines come first and closed
    ones say when they open."""
    out: list[str] = []
    if not country:
        out.append(fallback_line(fallback_name, fallback_url))
        out.append(
            _(
                "I don't know which country you are in. Set it with `{prefix}me country` "
                "(for example `{prefix}me country GB`) and I will show lines near you."
            ).format(prefix=prefix)
        )
        return "\n".join(out)
    if entries:
        out.append(_("**Lines in {country}**").format(country=country_name(country)))
        out.extend(reach_lines(entries, now, zone))
    else:
        out.append(
            _("I have no lines for {country} in my directory yet.").format(
                country=country_name(country)
            )
        )
    out.append(fallback_line(fallback_name, fallback_url))
    return "\n".join(out)


# The cog's replies: errors, questions and confirmations, each in the reader's language
# (cog.py only chooses which one to send).


def note_label() -> str:
    return _("note")


def no_languages() -> str:
    return _("none")


def never_checked() -> str:
    return _("never")


def import_found_nothing() -> str:
    return _("I found no entries in that text.")


def phrases_added_heading() -> str:
    return _("Added here:")


def no_phrases_added() -> str:
    return _("This community has added no phrases.")


def phrase_known() -> str:
    return _("That phrase is already on the list.")


def phrase_added() -> str:
    return _("Added. It counts from now on.")


def phrase_not_added() -> str:
    return _("This community has not added that phrase.")


def phrase_removed() -> str:
    return _("Removed.")


def report_more(n: object) -> str:
    return _("…and {n} more; the attached file lists every row.").format(n=n)


def none_chosen() -> str:
    """The alert's pseudonym when the member chose none."""
    return _("none chosen")


def alert_text(name: object) -> str:
    return _(
        "A member may need support: something they wrote suggests that they, or someone "
        "they wrote about, may be at risk. Please check in with them privately. "
        "Pseudonym: **{name}**. Their account:"
    ).format(name=name)


def lines_heading(country: object) -> str:
    return _("**Lines in {country}**").format(country=country)


def countries_heading(prefix: object) -> str:
    return _("Countries with lines (type `{prefix}crisis list CODE`):").format(prefix=prefix)


def all_checked() -> str:
    return _("Every entry was checked in the last 24 months.")


def check_due_heading(n: object, prefix: object) -> str:
    return _("{n} entries need a check (`{prefix}crisis verify ID` after checking):").format(
        n=n, prefix=prefix
    )


def import_text_and_file() -> str:
    return _("Give the entries as text or as a file, not both.")


def entry_count(n: object) -> str:
    return _("{n} entries.").format(n=n)


def alerts_off() -> str:
    return _("Crisis alerts are off.")


def shipped_phrases(languages: object) -> str:
    return _("Shipped phrase lists: {languages}.").format(languages=languages)


def alert_dms_closed() -> str:
    return _(
        "Their direct messages are closed, so I could not answer them "
        "privately and said nothing in public."
    )


def which_country(prefix: object) -> str:
    return _("Which country? For example `{prefix}crisis list GB`.").format(prefix=prefix)


def no_lines(country: object, topic: object) -> str:
    return _("I have no lines for {country}{topic} yet.").format(country=country, topic=topic)


def unknown_country_here(text: object) -> str:
    """`crisis country:ZZ`: the value named no country; the lines shown are the member's own."""
    return _("`{text}` is not a country I know; here are the lines I can show you.").format(
        text=text
    )


def commands_pointer(prefix: object) -> str:
    """After the lines given for plain words in a direct message: where the commands are."""
    return _("Type `{prefix}help` to see what else I can do.").format(prefix=prefix)


def no_entry(id: object, prefix: object) -> str:
    return _("There is no entry `{id}`. `{prefix}crisis list` shows the ids.").format(
        id=id, prefix=prefix
    )


def nothing_saved() -> str:
    return _("Nothing was saved:")


def entry_exists(id: object, prefix: object) -> str:
    return _("An entry `{id}` exists already; change it with `{prefix}crisis edit`.").format(
        id=id, prefix=prefix
    )


def cannot_clear(field: object) -> str:
    return _("`{field}` cannot be cleared.").format(field=field)


def entry_removed(id: object) -> str:
    return _("Removed `{id}` from this community's directory.").format(id=id)


def entry_checked(id: object, date: object) -> str:
    return _("`{id}` is marked as checked today ({date}) by you.").format(id=id, date=date)


def csv_cannot_hold(ids: object) -> str:
    return _(
        "CSV cannot hold menu options, text keywords or per-contact hours for: {ids}. "
        "Use TOML to keep them."
    ).format(ids=ids)


def too_many_phrases(n: object) -> str:
    return _("A community can add at most {n} phrases.").format(n=n)


def import_nothing_given() -> str:
    return _("Give the entries as TOML, CSV or JSON text, or as a file.")


def imported(n: object, bad: object) -> str:
    return _("Imported {n} entries; {bad} problem(s) refused.").format(n=n, bad=bad)


def alert_channel_readable(channel: object, why: object) -> str:
    return _(
        "Alerts name a member who may be struggling, so they go only to a "
        "channel that only moderators can read. {channel}: {why} Nothing was "
        "changed."
    ).format(channel=channel, why=why)


def alert_channel_unusable(channel: object, why: object) -> str:
    return _("I cannot post in {channel}: {why} Nothing was changed.").format(
        channel=channel, why=why
    )


def alerts_on(channel: object) -> str:
    return _(
        "When someone writes a crisis phrase in a command, in a direct message to the bot "
        "or in a watched channel, {channel} will get their pseudonym, a link to their "
        "account and a request to check in with them, never what they wrote, and the "
        "bot's private answer tells them so. Words written into a journal, a worksheet "
        "or the urge log never alert anyone. The bot keeps no copy of the alert."
    ).format(channel=channel)


def phrase_unusable(reason: object) -> str:
    return _("That phrase cannot be used: {reason}.").format(reason=reason)


def entry_added(id: object) -> str:
    return _("Added `{id}`:").format(id=id)


def no_value() -> str:
    """An empty field, as `crisis edit` echoes it."""
    return _("(none)")


def field_change(field: object, old: object, new: object) -> str:
    return _("{field}: {old} -> {new}").format(field=field, old=old, new=new)


def details_kept(hours: object) -> str:
    return _(
        "The name, the hours ({hours}) and whether it is free or anonymous were kept from "
        "before; change them if they differ for the new number."
    ).format(hours=hours)


def duplicate_number(number: object, id: object) -> str:
    return _(
        "Warning: `{id}` in this country lists {number} too, so members may see one line "
        "twice. If they are the same line, remove one."
    ).format(number=number, id=id)


def last_round_the_clock(id: object, country: object, command: object) -> str:
    return _(
        "`{id}` is the last line open 24/7 for {country} in this community's directory. "
        "Without it, members in {country} who reach for help at night or at a weekend may "
        "find no line open, only the emergency number. Nothing was changed. To go ahead "
        "anyway: `{command}`"
    ).format(id=id, country=country, command=command)


def confirm_word(word: object) -> str:
    return _("`confirm` takes yes, not `{word}`. Nothing was changed.").format(word=word)


def entry_changed(id: object) -> str:
    return _("Changed `{id}`:").format(id=id)


def import_refused(bad: object, rows: object) -> str:
    return _(
        "Nothing was imported: {bad} problem(s) in {rows} row(s). Fix them, or "
        "add `partial:true` to import the good rows."
    ).format(bad=bad, rows=rows)


def crisis_pointer(*, prefix: str) -> str:
    """After the refusal of a staff command tried by a member: where the lines are."""
    return _("If you need a crisis line, type `{prefix}crisis`.").format(prefix=prefix)
