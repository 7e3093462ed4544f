"""Time zones as people type them, read against the IANA tz database (tzdata via zoneinfo).

A community's meetings keep their wall time "also when clocks change", which only a place's
zone (Europe/London) can promise. So abbreviations (EST, BST) and fixed offsets (UTC+2,
Etc/GMT+2) are refused with the places they likely mean, and so are the database's technical
entries (localtime, posixrules, Factory). Names match case-insensitively and by city
("berlin" -> Europe/Berlin). Suggestions come from the database itself: which zones use an
abbreviation, or which sit at an offset now.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo, available_timezones

from bot.core.errors import ArgumentError
from bot.i18n import _

REGIONS = (
    "Africa",
    "America",
    "Antarctica",
    "Arctic",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)
# Where several places share an abbreviation or offset, these come first in suggestions:
# the largest cities of the usual zones. Everything else follows alphabetically.
PREFERRED = (
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Denver",
    "America/Phoenix",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Toronto",
    "America/Vancouver",
    "America/Halifax",
    "America/Mexico_City",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Madrid",
    "Europe/Athens",
    "Europe/Helsinki",
    "Europe/Moscow",
    "Africa/Johannesburg",
    "Africa/Lagos",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Asia/Singapore",
    "Asia/Jakarta",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Australia/Melbourne",
    "Australia/Brisbane",
    "Australia/Perth",
    "Australia/Adelaide",
    "Pacific/Auckland",
)
# The country a text names, as (ISO 3166 code, name to show), or None: given by the caller
# (bot.core.convert reads country names), so this module does not import that one.
CountryOf = Callable[[str], tuple[str, str] | None]
SUGGEST = 3  # places named in a refusal
SUGGEST_IN_COUNTRY = 5  # places named for a country with several clocks
_OFFSET = re.compile(r"^(?:utc|gmt|z)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
_ETC = re.compile(r"^etc/gmt([+-])(\d{1,2})$", re.IGNORECASE)


@cache
def place_zones() -> tuple[str, ...]:
    """The zones of places (Region/City), from tzdata; no Etc/, US/ or technical entries."""
    return tuple(
        sorted(z for z in available_timezones() if z.split("/", 1)[0] in REGIONS and "/" in z)
    )


@cache
def current_names() -> frozenset[str]:
    """The zone names tzdata lists per country today (zone.tab): Asia/Kolkata, not its old
    alias Asia/Calcutta. Suggestions name only these; old aliases are still accepted."""
    table = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text("utf-8")
    rows = (line.split("\t") for line in table.splitlines() if line and line[0] != "#")
    return frozenset(row[2] for row in rows if len(row) > 2)


def _rank(zones: set[str] | list[str]) -> list[str]:
    order = {z: i for i, z in enumerate(PREFERRED)}
    current = [z for z in zones if z in current_names()] or list(zones)
    return sorted(current, key=lambda z: (order.get(z, len(order)), z))


@cache
def _by_lower() -> dict[str, str]:
    names = {z.lower(): z for z in place_zones()}
    names["utc"] = names["etc/utc"] = "UTC"
    return names


@cache
def _current_keys() -> list[str]:
    """What a typo is compared with: today's zone names and their cities, lower case (an old
    alias such as Europe/Belfast or Africa/Asmera is accepted when typed, never suggested)."""
    current = sorted(current_names())
    return [*(z.lower() for z in current), *{z.rsplit("/", 1)[1].lower() for z in current}]


@cache
def _by_city() -> dict[str, list[str]]:
    cities: dict[str, list[str]] = {}
    for z in place_zones():
        city = z.rsplit("/", 1)[1].lower()
        cities.setdefault(city, []).append(z)
    return cities


@cache
def _by_abbreviation(year: int) -> dict[str, set[str]]:
    """Abbreviation (EST, BST, AEDT) -> the place zones using it in `year` (January or July)."""
    found: dict[str, set[str]] = {}
    for z in place_zones():
        zone = ZoneInfo(z)
        for month in (1, 7):
            name = datetime(year, month, 15, 12, tzinfo=zone).tzname() or ""
            if name.isalpha():
                found.setdefault(name.upper(), set()).add(z)
    return found


def zones_at_offset(offset: timedelta, now: datetime) -> list[str]:
    """Place zones whose UTC offset is `offset` at `now` (aware), best known first."""
    return _rank({z for z in place_zones() if now.astimezone(ZoneInfo(z)).utcoffset() == offset})


def _refuse(text: str, reason: str, suggestions: list[str], count: int = SUGGEST) -> ArgumentError:
    picks = ", ".join(suggestions[:count])
    hint = (
        _("Did you mean {zones}?").format(zones=picks)
        if picks
        else _("Type a city near you (such as Berlin or Chicago) or a zone such as Europe/Berlin.")
    )
    return ArgumentError(f"{reason} {hint}")


def find_zone(
    text: str, now: datetime | None = None, country_of: CountryOf | None = None
) -> ZoneInfo:
    """A place's IANA zone (or UTC) from typed text: `Europe/London`, `europe/london`,
    `berlin`, `new york`, `UTC`. Raises `ArgumentError` with likely places for abbreviations
    (`EST`), fixed offsets (`UTC+2`, `Etc/GMT+2`), technical entries (`localtime`) and typos.
    `now` (aware) picks the offsets suggested; default the system clock."""
    raw = text.strip()
    now = now or datetime.now(UTC)
    key = raw.lower().replace(" ", "_")
    if key in _by_lower():
        return ZoneInfo(_by_lower()[key])
    # An abbreviation before a city: WEST is Lisbon's summer time, not the old Australia/West.
    abbreviation = raw.upper()
    used = _by_abbreviation(now.year).get(abbreviation) if raw.isalpha() else None
    if used:
        raise _refuse(
            raw,
            _(
                "{abbr} is an abbreviation, not a place: it names only part of the year's "
                "clock, so meetings would shift when clocks change."
            ).format(abbr=abbreviation),
            _rank(used),
        )
    cities = _by_city().get(key.rsplit("/", 1)[-1] if "/" not in key else "", [])
    if cities and country_of is not None and not set(cities) & current_names():
        # A country's name that is also an old alias of another place's zone (`Samoa`:
        # Pacific/Samoa is American Samoa's clock) is read as the country.
        country = country_of(raw)
        if country is not None and not set(cities) & set(country_zones(country[0])):
            cities = []
    if len(cities) == 1:
        return ZoneInfo(cities[0])
    if cities:
        raise _refuse(
            raw, _("`{zone}` is a city in more than one zone.").format(zone=raw[:40]), cities
        )
    if m := _ETC.match(raw):
        hours = int(m.group(2)) * (-1 if m.group(1) == "+" else 1)  # POSIX: the sign is reversed
        if hours == 0:
            return ZoneInfo("UTC")
        return _raise_offset(raw, timedelta(hours=hours), now)
    if m := _OFFSET.match(raw):
        sign = -1 if m.group(1) == "-" else 1
        offset = sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))
        if offset == timedelta(0):
            return ZoneInfo("UTC")
        return _raise_offset(raw, offset, now)
    in_country = (
        _country_zone(raw, now, country_of) if country_of is not None and "/" not in raw else None
    )
    if in_country is not None:
        return in_country
    close = difflib.get_close_matches(key, _current_keys(), n=SUGGEST, cutoff=0.75)
    picks = [_by_lower().get(c) or _rank(_by_city()[c])[0] for c in close]
    raise _refuse(
        raw,
        _("`{zone}` is not a time zone I know.").format(zone=raw[:60]),
        list(dict.fromkeys(picks)),
    )


def country_zones(code: str) -> list[str]:
    """The zones tzdata's zone.tab lists for an ISO 3166 alpha-2 `code`, best known first
    (empty for a code it has none for)."""
    return list(_country_zones().get(code, []))


@cache
def _country_zones() -> dict[str, list[str]]:
    """ISO 3166 country code -> the zones tzdata's zone.tab lists for it, best known first:
    `PREFERRED`, then the zones zone.tab's comment says cover most of the country ("most
    areas"), then the CLDR's golden zones (the one place Windows' zone names map to, via
    Babel), then zone.tab's order."""
    from babel.core import get_global

    golden = set(get_global("windows_zone_mapping").values())
    order = {z: i for i, z in enumerate(PREFERRED)}
    table = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text("utf-8")
    found: dict[str, list[tuple[int, bool, bool, int, str]]] = {}
    for n, line in enumerate(table.splitlines()):
        row = line.split("\t")
        if line and line[0] != "#" and len(row) > 2:
            most = len(row) > 3 and "most" in row[3].lower()
            key = (order.get(row[2], len(order)), not most, row[2] not in golden, n, row[2])
            found.setdefault(row[0], []).append(key)
    return {code: [key[-1] for key in sorted(keys)] for code, keys in found.items()}


def _country_zone(raw: str, now: datetime, country_of: CountryOf) -> ZoneInfo | None:
    """The zone of a country typed for one (`UK`, `Germany`, `Deutschland`): its place when
    all its zones keep the same clock all year (Germany: Europe/Berlin); None when `raw`
    names no country. Raises `ArgumentError` naming its best-known places when its zones
    differ (the United States)."""
    country = country_of(raw)
    if country is None:
        return None
    code, name = country
    zones = country_zones(code)
    if not zones:
        return None
    clocks = {
        tuple(
            datetime(now.year, month, 15, 12, tzinfo=ZoneInfo(z)).utcoffset() for month in (1, 7)
        )
        for z in zones
    }
    if len(clocks) == 1:
        return ZoneInfo(zones[0])
    raise _refuse(
        raw,
        _("{country} has more than one time zone.").format(country=name),
        zones,
        SUGGEST_IN_COUNTRY,
    )


def _raise_offset(raw: str, offset: timedelta, now: datetime) -> ZoneInfo:
    total = int(offset.total_seconds() // 60)
    shown = "UTC{sign}{h}{m}".format(
        sign="+" if total >= 0 else "-",
        h=abs(total) // 60,
        m=f":{abs(total) % 60:02d}" if total % 60 else "",
    )
    reason = _(
        "`{zone}` is a fixed offset ({shown}); it ignores summer time, so meetings would "
        "shift when clocks change."
    ).format(zone=raw[:40], shown=shown)
    raise _refuse(raw, reason, zones_at_offset(offset, now))


def utc_offset_text(moment: datetime) -> str:
    """`UTC-03:00`, `UTC+05:45`, `UTC+00:00`: an aware moment's offset. Written out because
    strftime's `%:z` exists only from Python 3.12 (3.11 prints it literally)."""
    total = int((moment.utcoffset() or timedelta()).total_seconds() // 60)
    sign = "+" if total >= 0 else "-"
    return f"UTC{sign}{abs(total) // 60:02d}:{abs(total) % 60:02d}"


def local_time_note(zone: ZoneInfo, now: datetime) -> str:
    """`It is now 18:20 (CET) in Europe/Berlin.` for a zone confirmation; `now` aware."""
    here = now.astimezone(zone)
    name = here.tzname() or ""
    label = name if name.isalpha() else utc_offset_text(here)
    if label == zone.key:  # UTC: its name once
        return _("It is now {time} in {zone}.").format(
            time=here.strftime("%a %H:%M"), zone=zone.key
        )
    return _("It is now {time} ({label}) in {zone}.").format(
        time=here.strftime("%a %H:%M"), label=label, zone=zone.key
    )
