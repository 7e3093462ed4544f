"""The crisis directory's data: entries, validation, and the TOML/CSV/open-helplines formats.

Pure functions, no storage. Every row read from a file or an import is checked the same way:
countries are ISO 3166-1 alpha-2, numbers are E.164 or a short code the `phonenumbers` library
knows for the entry's country, links are https, languages are BCP-47 tags. What cannot be
trusted is a problem (the row is refused); what was repaired or looks old is a note, so no
quirk of a source is accepted silently.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import phonenumbers
from babel import Locale
from phonenumbers import shortnumberinfo
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.core import (
    COUNTRY_NAMES,
    Locator,
    Problem,
    find_country,
    problems_from,
    syntax_problem,
    toml_spelling,
)
from cogs.crisis.hours import EXAMPLE as HOURS_EXAMPLE
from cogs.crisis.hours import HoursError, read_hours

CATEGORIES: tuple[str, ...] = (
    "suicide_prevention",
    "mental_health",
    "substance_use",
    "domestic_violence",
    "sexual_violence",
    "youth",
    "lgbtq",
    "veterans",
    "family",
    "general_crisis",
)
METHODS: tuple[str, ...] = ("phone", "text", "chat", "email", "app")
# open-helplines spells one category differently; the others it has and we lack are refused.
OPEN_HELPLINES_CATEGORIES = {"substance_abuse": "substance_use"}
STALE_AFTER_MONTHS = 24
BULK_STAMP_MIN = 5  # this many rows sharing one verified date looks like a bulk stamp

_ENGLISH = Locale("en")
COUNTRIES: dict[str, str] = COUNTRY_NAMES  # ISO 3166-1 alpha-2 code -> English name
_LANGUAGE_TAG = re.compile(r"^([a-z]{2,3})(-[A-Z][a-z]{3})?(-[A-Z]{2}|-[0-9]{3})?$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
_KEYWORD = re.compile(r"^[A-Za-z0-9]{1,20}$")
_MENU_KEY = re.compile(r"^[0-9*#]{1,4}$")

ENTRY_KEYS = {
    "id",
    "country",
    "region",
    "name",
    "category",
    "topics",
    "contacts",
    "description",
    "website",
    "source",
    "verified_at",
    "verified_by",
    "pair",
}
CONTACT_KEYS = {
    "method",
    "number",
    "url",
    "keyword",
    "languages",
    "hours",
    "free",
    "anonymous",
    "options",
}
# open-helplines fields we read elsewhere or deliberately leave out (not shown to members).
OPEN_HELPLINES_IGNORED = {"$comment", "local_name", "government_backed", "donate_url", "tags"}
CSV_COLUMNS = (
    "id",
    "country",
    "region",
    "name",
    "category",
    "topics",
    "phone",
    "text",
    "chat",
    "hours",
    "languages",
    "free",
    "anonymous",
    "description",
    "website",
    "source",
    "verified_at",
    "verified_by",
    "pair",
)


@dataclass(frozen=True)
class MenuChoice:
    """A key to press after calling (988: press 1 for the Veterans Crisis Line)."""

    key: str
    label: str


@dataclass(frozen=True)
class Contact:
    """One way to reach a line now.

    `number` is E.164 (`+18006624357`) or a short code dialled inside the entry's country
    (`988`, `116123`); `keyword` is a word to text (`AYUDA`).
    """

    method: str
    number: str = ""
    url: str = ""
    keyword: str = ""
    languages: tuple[str, ...] = ()
    hours: str = ""
    free: bool | None = None
    anonymous: bool | None = None
    options: tuple[MenuChoice, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Only the fields that are set, in a stable order (storage and TOML export)."""
        out: dict[str, Any] = {"method": self.method}
        for key in ("number", "url", "keyword"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.languages:
            out["languages"] = list(self.languages)
        if self.hours:
            out["hours"] = self.hours
        for key in ("free", "anonymous"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.options:
            out["options"] = [{"key": o.key, "label": o.label} for o in self.options]
        return out


@dataclass(frozen=True)
class Entry:
    """A helpline, as the directory keeps it."""

    id: str
    country: str
    name: str
    category: str
    contacts: tuple[Contact, ...]
    region: str = ""
    topics: tuple[str, ...] = ()
    description: str = ""
    website: str = ""
    source: str = ""
    verified_at: date | None = None
    verified_by: str = ""
    pair: str = ""
    origin: str = field(default="", compare=False)  # "seed" or "community" when read from the DB

    @property
    def all_topics(self) -> tuple[str, ...]:
        """The main category and the others it serves."""
        return (self.category, *(t for t in self.topics if t != self.category))

    def to_dict(self) -> dict[str, Any]:
        """Every set field, for TOML export."""
        out: dict[str, Any] = {
            "id": self.id,
            "country": self.country,
            "name": self.name,
            "category": self.category,
        }
        for key in ("region", "description", "website", "source", "verified_by", "pair"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.topics:
            out["topics"] = list(self.topics)
        if self.verified_at is not None:
            out["verified_at"] = self.verified_at
        out["contacts"] = [c.to_dict() for c in self.contacts]
        return out


@dataclass(frozen=True)
class Superseded:
    """A number that used to reach a line and should no longer be listed."""

    number: str
    replacement: str
    note: str


def row_of(problem: Problem) -> str:
    """The id of the row a problem or note is about (its key's first part; "" for the file)."""
    return problem.key.split(".", 1)[0].split("[", 1)[0]


@dataclass
class ParseResult:
    """Entries that passed, refused rows (problems) and repairs or warnings (notes)."""

    entries: list[Entry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)
    rows: int = 0


def country_code(text: str) -> str | None:
    """An ISO 3166-1 alpha-2 code from anything `me country` reads as a country (a code,
    `UK`, a name: `find_country`), else None."""
    return find_country(text)


def stale_cutoff(today: date) -> date:
    """Entries verified before this date are over 24 months old."""
    year = today.year - STALE_AFTER_MONTHS // 12
    day = min(today.day, 28) if today.month == 2 else today.day
    return date(year, today.month, day)


def is_stale(entry: Entry, today: date) -> bool:
    """Never verified, or verified more than 24 months ago."""
    return entry.verified_at is None or entry.verified_at < stale_cutoff(today)


def check_url(value: Any) -> str:
    """An absolute https URL, or ValueError."""
    text = _text(value).strip()
    parts = urlsplit(text)
    if parts.scheme != "https" or not parts.netloc or any(ch.isspace() for ch in text):
        raise ValueError(f"{text[:80]!r} is not an https:// link")
    return text


def check_language(tag: Any) -> str:
    """A BCP-47 tag whose language the Unicode data knows (`en`, `fr-CA`, `zh-Hans`)."""
    text = _text(tag).strip()
    m = _LANGUAGE_TAG.match(text)
    if not m or m.group(1) not in _ENGLISH.languages:
        raise ValueError(f"{text[:20]!r} is not a BCP-47 language tag such as en, es or fr-CA")
    return text


ShortCodes = frozenset[tuple[str, str]]


def load_short_codes(path: Path) -> ShortCodes:
    """(country, code) pairs from data/crisis/short-codes.toml: helpline short codes that the
    phone-number library's short-number data does not know yet (each row names its source)."""
    if not path.exists():
        return frozenset()
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return frozenset((str(i["country"]), str(i["number"])) for i in data.get("short_code", []))


def load_superseded(path: Path) -> dict[str, Superseded]:
    """Old numbers from data/crisis/superseded.toml, by normalised number."""
    if not path.exists():
        return {}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {
        str(item["number"]): Superseded(
            str(item["number"]), str(item["replacement"]), str(item["note"])
        )
        for item in data.get("superseded", [])
    }


def normalise_number(
    raw: Any,
    country: str,
    method: str,
    *,
    short_codes: ShortCodes = frozenset(),
    menu: bool = False,
) -> tuple[str, str]:
    """(number, note): E.164, or a short code valid in `country`; ValueError otherwise.

    A short code is valid when the phone-number library's short-number data knows it, or when
    `short_codes` lists it as (country, code): helpline codes that data lacks, each with its
    source in data/crisis/short-codes.toml. A short code written as if it were E.164 (`+1988`,
    `+44116123`, as open-helplines does) is recognised and stored as the short code, with a note
    saying so. An emergency-services number is refused unless `menu` (the contact names the menu
    choice that reaches the helpline, as Indonesia's 119 extension 8 does).
    """
    text = _text(raw).strip()
    digits = re.sub(r"[\s\-.()/]", "", text)
    if not re.fullmatch(r"\+?[0-9]{2,15}", digits):
        raise ValueError(f"{text[:30]!r} is not a phone number")
    region_cc = phonenumbers.country_code_for_region(country)
    if digits.startswith("+"):
        try:
            parsed = phonenumbers.parse(digits)
        except phonenumbers.NumberParseException as exc:
            raise ValueError(f"{digits} is not a valid phone number") from exc
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), ""
        national = digits[1 + len(str(region_cc)) :]
        if digits[1:].startswith(str(region_cc)) and _valid_short(national, country, short_codes):
            _refuse_emergency(national, country, menu)
            return national, (
                f"{digits} is not a real E.164 number but the short code {national} "
                f"written in E.164 form; kept as the short code {national}, dialled "
                f"inside {country} only"
            )
        raise ValueError(f"{digits} is not a valid phone number (nor a known short code)")
    try:
        parsed = phonenumbers.parse(digits, country)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{text[:30]!r} is not a phone number") from exc
    if phonenumbers.is_valid_number(parsed) and len(digits) > 6:
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), ""
    if _valid_short(digits, country, short_codes):
        _refuse_emergency(digits, country, menu)
        return digits, ""
    raise ValueError(
        f"{text[:30]!r} is neither an E.164 number (+ and country code) nor a short code the "
        f"phone-number library knows for {country}"
    )


def _valid_short(digits: str, country: str, short_codes: ShortCodes = frozenset()) -> bool:
    if not digits.isdigit():
        return False
    if (country, digits) in short_codes:
        return True
    try:
        parsed = phonenumbers.parse(digits, country)
    except phonenumbers.NumberParseException:
        return False
    return bool(shortnumberinfo.is_valid_short_number_for_region(parsed, country))


def _refuse_emergency(digits: str, country: str, menu: bool = False) -> None:
    if not menu and shortnumberinfo.connects_to_emergency_number(digits, country):
        raise ValueError(
            f"{digits} is an emergency-services number in {country}, not a helpline; "
            "list the helpline's own number"
        )


class RowChecker:
    """Checks rows one by one, collecting problems and notes for the whole text."""

    def __init__(
        self,
        today: date,
        superseded: dict[str, Superseded],
        *,
        require_verified: bool = False,
        short_codes: ShortCodes = frozenset(),
        file: str = "",
        strict_hours: bool = False,
        future_ok: bool = False,
    ) -> None:
        self.file = file  # named in every problem and note
        # The shipped files' check dates are real dates: a clock that reads earlier (a server's
        # wrong clock, a test's virtual one) must not refuse a line as checked in the future.
        self.future_ok = future_ok
        # Hours typed by a moderator must read as opening hours (`hours.read_hours`); shipped
        # and imported free text is kept as written and never shown as open or closed.
        self.strict_hours = strict_hours
        self.today = today
        self.superseded = superseded
        self.short_codes = short_codes
        self.require_verified = require_verified
        self.result = ParseResult()
        self._seen: dict[str, int] = {}

    def check(
        self,
        raw: dict[str, Any],
        line: int,
        locator: Locator | None = None,
        at: tuple[str | int, ...] = (),
    ) -> Entry | None:
        """One row to an Entry, or None when it is refused (its problems are recorded).

        The row's shape and each value's rules are `EntryRow`'s (pydantic, with this
        checker's date, short codes and superseded numbers as its context); only the rule
        across rows (an id used twice) is checked here."""
        self.result.rows += 1
        row_id = _text(raw.get("id", "")).strip()
        notes: list[str] = []
        context = {
            "today": self.today,
            "country": country_code(_text(raw.get("country", ""))),
            "superseded": self.superseded,
            "short_codes": self.short_codes,
            "require_verified": self.require_verified,
            "strict_hours": self.strict_hours,
            "future_ok": self.future_ok,
            "notes": notes,
        }
        problems: list[Problem] = []
        row: EntryRow | None = None
        try:
            row = EntryRow.model_validate(raw, context=context)
        except ValidationError as exc:
            # `at` is where the row sits in a TOML text: its keys' own lines come from there;
            # keys count as the author does ('contact 1.languages'), inside the row's id
            located = problems_from(exc, EntryRow, self.file, locator, at)
            named = problems_from(exc, EntryRow, self.file, data=raw)
            problems = [
                Problem(
                    self.file,
                    p.line or line,
                    f"{row_id}.{key.key}" if key.key else row_id,
                    p.message,
                )
                for p, key in zip(located, named, strict=True)
            ]
        if _SLUG.match(row_id):
            if row_id in self._seen:
                message = f"is used twice (first on line {self._seen[row_id]})"
                problems.append(Problem(self.file, line, f"{row_id}.id", message))
            else:
                self._seen[row_id] = line
        self.result.notes.extend(Problem(self.file, line, row_id, note) for note in notes)
        if problems or row is None:
            self.result.problems.extend(problems)
            return None
        entry = row.entry()
        self.result.entries.append(entry)
        return entry

    def finish(self) -> ParseResult:
        """Whole-text checks: pairs need a partner, and bulk verification stamps are noted."""
        result = self.result
        pairs = Counter((e.country, e.pair) for e in result.entries if e.pair)
        for entry in list(result.entries):
            if entry.pair and pairs[(entry.country, entry.pair)] < 2:
                result.entries.remove(entry)
                result.problems.append(
                    Problem(
                        self.file,
                        self._seen.get(entry.id, 0),
                        f"{entry.id}.pair",
                        f"pair {entry.pair} has no partner in {entry.country}; pairs are shown "
                        "both or neither",
                    )
                )
        stamps = Counter(e.verified_at for e in result.entries if e.verified_at)
        for stamp, count in stamps.items():
            if count >= BULK_STAMP_MIN and count == len(result.entries):
                result.notes.append(
                    Problem(
                        self.file,
                        0,
                        "",
                        f"all {count} entries carry the same verified_at {stamp}: that looks "
                        "like a bulk stamp, not a check of each line",
                    )
                )
        result.problems.sort(key=lambda p: p.line or 0)
        result.notes.sort(key=lambda p: p.line or 0)
        return result


def _text(value: Any) -> str:
    """A cell or TOML value as text; a TOML true, date or list is quoted as written in the file
    (`true`, not Python's `True`)."""
    return value if isinstance(value, str) else toml_spelling(value)


def _as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [v for v in re.split(r"[;,\s]+", value.strip()) if v]
    if isinstance(value, list):
        return [_text(v).strip() for v in value]
    return [_text(value)]


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "yes", "y", "1"}:
        return True
    if text in {"false", "no", "n", "0"}:
        return False
    return None


def _stripped(value: Any) -> str:
    return "" if value is None else _text(value).strip()


def _written_as_text(value: Any) -> Any:
    """An id is a name written in quotes: a TOML or JSON true, number or date would otherwise read
    as the text `true` or `123` and pass as an id."""
    if value is not None and not isinstance(value, str):
        raise ValueError(f'must be text in quotes (like "us-988-lifeline"), not {_text(value)}')
    return value


def _squashed(value: Any) -> str:
    return " ".join(_stripped(value).split())


def _flag(value: Any) -> bool | None:
    if value in (None, ""):
        return None
    flag = _as_bool(value)
    if flag is None:
        raise ValueError("must be true or false")
    return flag


def _cut(value: str, limit: int = 30) -> str:
    """A wrong value as a problem quotes it: at most `limit` characters, a cut marked with an
    ellipsis (a value cut bare after "{" read as Python's spelling of a table)."""
    return value if len(value) <= limit else value[:limit] + "\u2026"


def _check(rule: Callable[[str], bool], message: str) -> AfterValidator:
    def check(value: str) -> str:
        if not rule(value):
            raise ValueError(message.format(value=_cut(value)))
        return value

    return AfterValidator(check)


def _url_or_empty(value: str) -> str:
    return check_url(value) if value else ""


def _context(info: ValidationInfo) -> dict[str, Any]:
    return info.context if isinstance(info.context, dict) else {}


Text = Annotated[str, BeforeValidator(_stripped)]
Squashed = Annotated[str, BeforeValidator(_squashed)]
Names = Annotated[list[str], BeforeValidator(_as_list)]
Flag = Annotated[bool | None, BeforeValidator(_flag)]
Link = Annotated[str, BeforeValidator(_stripped), AfterValidator(_url_or_empty)]
Slug = Annotated[
    Text,
    _check(
        lambda v: not v or bool(_SLUG.match(v)), "must be a short id of letters, digits or dashes"
    ),
]


class MenuChoiceRow(BaseModel):
    """`[[entry.contacts.options]]`: a key to press after calling, and what it reaches."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    key: Annotated[Text, _check(lambda v: bool(_MENU_KEY.match(v)), "is 1-4 digits (or * #)")]
    label: Annotated[Squashed, Field(min_length=1, max_length=80)]


class ContactRow(BaseModel):
    """One way to reach a line, as written in a file (TOML, CSV or open-helplines JSON).

    The entry's country comes in the validation context: numbers are read as E.164 or as a
    short code of that country (`normalise_number`), and checked against superseded ones."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    method: Annotated[
        Text,
        _check(lambda v: v in METHODS, "must be one of " + ", ".join(METHODS)),
    ] = ""
    number: Text = ""
    url: Link = ""
    keyword: Text = ""
    languages: Names = Field(default_factory=list)
    hours: Annotated[Squashed, _check(lambda v: len(v) <= 100, "are at most 100 characters")] = ""
    free: Flag = None
    anonymous: Flag = None
    options: list[MenuChoiceRow] = Field(default_factory=list)

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("list at least one language (BCP-47, e.g. en)")
        return [check_language(tag) for tag in value]

    @model_validator(mode="after")
    def _by_method(self, info: ValidationInfo) -> ContactRow:
        context = _context(info)
        if self.keyword and (self.method != "text" or not _KEYWORD.match(self.keyword)):
            raise ValueError("keyword is one word to text, for text contacts only")
        if self.options and self.method != "phone":
            raise ValueError("options are phone menu choices, for phone contacts only")
        if self.method in ("phone", "text"):
            if not self.number:
                raise ValueError(f"a {self.method} contact needs a number")
            country = context.get("country")
            if country is None:
                return self  # the country's own problem is reported; numbers need it
            self.number, note = normalise_number(
                self.number,
                country,
                self.method,
                short_codes=context.get("short_codes", frozenset()),
                menu=bool(self.options),
            )
            if note:
                context.setdefault("notes", []).append(note)
            old = context.get("superseded", {}).get(self.number)
            if old is not None:
                raise ValueError(
                    f"{self.number} is an old number ({old.note}); list {old.replacement} instead"
                )
        elif self.method and not self.url:
            raise ValueError(f"a {self.method} contact needs an https url")
        country = context.get("country")
        if not self.hours and not context.get("strict_hours"):
            # shipped data names its hours; a moderator may leave them out (shown as not given)
            raise ValueError("hours are needed ('24/7' or a short text)")
        if context.get("strict_hours") and self.hours and country is not None:
            try:
                read_hours(self.hours, country)
            except HoursError as exc:
                raise ValueError(
                    f"hours {_cut(self.hours)!r} cannot be read as opening hours: {exc}. "
                    f"Write 24/7, or days and times in the line's own time such as "
                    f"{HOURS_EXAMPLE!r}"
                ) from None
        return self

    def contact(self) -> Contact:
        """The checked contact, as the directory keeps it."""
        return Contact(
            method=self.method,
            number=self.number,
            url=self.url,
            keyword=self.keyword.upper(),
            languages=tuple(self.languages),
            hours=self.hours,
            free=self.free,
            anonymous=self.anonymous,
            options=tuple(MenuChoice(o.key, o.label) for o in self.options),
        )


class EntryRow(BaseModel):
    """One helpline as written in a file; `entry()` is the checked Entry.

    Context: `today` (dates after it are refused, before the 24-month cutoff noted as stale),
    `require_verified`, `country` (the row's country code, for its numbers), `short_codes`,
    `superseded` and `notes` (a list that collects repairs and warnings)."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    id: Annotated[
        Text,
        BeforeValidator(_written_as_text),
        _check(
            lambda v: bool(_SLUG.match(v)),
            "must be 3-64 lower-case letters, digits or dashes (like us-988-lifeline)",
        ),
    ] = ""
    country: Annotated[Text, BeforeValidator(_text)] = ""
    region: Annotated[Squashed, Field(max_length=100)] = ""
    name: Annotated[Squashed, Field(min_length=1, max_length=200)] = ""
    category: Annotated[
        Text,
        _check(
            lambda v: v in CATEGORIES,
            "{value!r} is unknown; use one of: " + ", ".join(CATEGORIES),
        ),
    ] = ""
    topics: Names = Field(default_factory=list)
    contacts: list[ContactRow] = Field(default_factory=list)
    description: Annotated[Squashed, Field(max_length=280)] = ""
    website: Link = ""
    source: Link = ""
    verified_at: date | None = None
    verified_by: Text = ""
    pair: Slug = ""

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        code = country_code(value)
        if code is None:
            raise ValueError(
                f"{_cut(value, 20)!r} is not an ISO 3166-1 alpha-2 code (US, GB, IE, DE...)"
            )
        return code

    @field_validator("topics")
    @classmethod
    def _topics(cls, value: list[str]) -> list[str]:
        for topic in value:
            if topic not in CATEGORIES:
                raise ValueError(
                    f"{_cut(topic)!r} is unknown; use one of: " + ", ".join(CATEGORIES)
                )
        return value

    @field_validator("contacts")
    @classmethod
    def _some_contact(cls, value: list[ContactRow]) -> list[ContactRow]:
        if not value:
            raise ValueError("at least one contact (phone, text, chat...) is needed")
        return value

    @field_validator("source")
    @classmethod
    def _sourced(cls, value: str) -> str:
        if not value:
            raise ValueError("is required: the https page where these facts come from")
        return value

    @field_validator("verified_at", mode="before")
    @classmethod
    def _verified(cls, value: Any, info: ValidationInfo) -> date | None:
        context = _context(info)
        notes = context.setdefault("notes", [])
        today: date = context.get("today") or date.today()
        if value in (None, ""):
            if context.get("require_verified"):
                raise ValueError("is required (the date someone checked this entry)")
            notes.append("no verified_at date; it will show in `crisis stale`")
            return None
        if isinstance(value, datetime):  # a TOML date-time is a date too, but not one alone
            raise ValueError(
                f"{value.isoformat()} is a date and time; write the date alone, like 2026-06-02"
            )
        try:
            when = value if isinstance(value, date) else date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError(f"{_text(value)[:20]!r} is not a date like 2026-06-02") from None
        if when > today and not context.get("future_ok"):
            raise ValueError(f"{when} is in the future")
        if when < stale_cutoff(today):
            notes.append(f"verified_at {when} is over {STALE_AFTER_MONTHS} months old (stale)")
        return when

    def entry(self) -> Entry:
        """The checked entry (its main category is not repeated among the topics)."""
        topics: list[str] = []
        for topic in self.topics:
            if topic != self.category and topic not in topics:
                topics.append(topic)
        return Entry(
            id=self.id,
            country=self.country,
            name=self.name,
            category=self.category,
            contacts=tuple(c.contact() for c in self.contacts),
            region=self.region,
            topics=tuple(topics),
            description=self.description,
            website=self.website,
            source=self.source,
            verified_at=self.verified_at,
            verified_by=self.verified_by[:300],
            pair=self.pair,
        )


def detect_format(text: str) -> str:
    """`json`, `toml` or `csv`, from the first meaningful character or header."""
    stripped = text.lstrip()
    if stripped[:1] in "{[" and not stripped.startswith("[["):
        return "json"
    first = stripped.splitlines()[0] if stripped else ""
    if first.startswith(("[[", "#")) or "=" in first:
        return "toml"
    return "csv"


def parse(
    text: str,
    *,
    today: date,
    superseded: dict[str, Superseded],
    fmt: str | None = None,
    require_verified: bool = False,
    short_codes: ShortCodes = frozenset(),
    file: str = "",
    future_ok: bool = False,
) -> ParseResult:
    """Check every row of a TOML, CSV or open-helplines JSON text; `file` names it in each
    problem. `future_ok`: a check date after `today` is no problem (the shipped files, whose
    dates are real, read under a clock that may be behind)."""
    fmt = fmt or detect_format(text)
    checker = RowChecker(
        today,
        superseded,
        require_verified=require_verified,
        short_codes=short_codes,
        file=file,
        future_ok=future_ok,
    )
    if fmt == "toml":
        _parse_toml(text, checker)
    elif fmt == "json":
        _parse_json(text, checker)
    else:
        _parse_csv(text, checker)
    return checker.finish()


def _parse_toml(text: str, checker: RowChecker) -> None:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        checker.result.problems.append(syntax_problem(exc, checker.file))
        return
    unknown = sorted(set(data) - {"entry"})
    if unknown:
        checker.result.problems.append(
            Problem(
                checker.file,
                0,
                "",
                f"unknown top-level key(s) {', '.join(unknown)}; use [[entry]] tables",
            )
        )
    lines = [
        n for n, line in enumerate(text.splitlines(), 1) if line.strip().startswith("[[entry]]")
    ]
    entries = data.get("entry", [])
    if not isinstance(entries, list):
        checker.result.problems.append(
            Problem(checker.file, 0, "", "entry must be an array of tables")
        )
        return
    locator = Locator(text)
    for index, raw in enumerate(entries):
        line = lines[index] if index < len(lines) else 0
        if isinstance(raw, dict):
            checker.check(raw, line, locator, ("entry", index))


def _parse_csv(text: str, checker: RowChecker) -> None:
    # newline="" as the csv module asks: a bare CR ends a line like LF does, and a quoted
    # field keeps its line breaks.
    reader = csv.DictReader(io.StringIO(text.strip() + "\n", newline=""))
    try:
        _read_csv(reader, checker)
    except csv.Error as exc:  # e.g. a quote never closed: the file's problem, not ours
        checker.result.problems.append(
            Problem(checker.file, reader.line_num, "", f"this CSV cannot be read: {exc}")
        )


def _read_csv(reader: csv.DictReader[str], checker: RowChecker) -> None:
    header = [h.strip() for h in reader.fieldnames or []]
    unknown = sorted(set(header) - set(CSV_COLUMNS))
    if unknown or "id" not in header:
        checker.result.problems.append(
            Problem(
                checker.file,
                1,
                "",
                f"unknown column(s) {', '.join(unknown) or '(no id column)'}; the columns are "
                + ", ".join(CSV_COLUMNS),
            )
        )
        return
    reader.fieldnames = header
    for row in reader:
        line = reader.line_num
        values = {k: (v or "").strip() for k, v in row.items() if k is not None}
        contact_base = {
            "languages": values.get("languages", ""),
            "hours": values.get("hours", ""),
            "free": values.get("free", ""),
            "anonymous": values.get("anonymous", ""),
        }
        contacts: list[dict[str, Any]] = []
        for method in ("phone", "text"):
            for number in _as_list(values.get(method, "")):
                contacts.append({"method": method, "number": number, **contact_base})
        if values.get("chat"):
            contacts.append({"method": "chat", "url": values["chat"], **contact_base})
        raw: dict[str, Any] = {
            k: values[k] for k in ENTRY_KEYS - {"contacts"} if values.get(k, "") != ""
        }
        raw["contacts"] = contacts
        checker.check(raw, line)


def _parse_json(text: str, checker: RowChecker) -> None:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        checker.result.problems.append(
            Problem(checker.file, exc.lineno, "", f"not valid JSON: {exc.msg}")
        )
        return
    records: Any = data.get("records") if isinstance(data, dict) else data
    if isinstance(data, dict) and "records" not in data and "id" in data:
        records = [data]
    if not isinstance(records, list):
        checker.result.problems.append(
            Problem(checker.file, 0, "", "expected an open-helplines file with a records list")
        )
        return
    file_country = data.get("country") if isinstance(data, dict) else None
    text_lines = text.splitlines()
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            checker.result.problems.append(
                Problem(checker.file, 0, "", f"record {index + 1} is not an object")
            )
            continue
        line = _json_line(text_lines, str(record.get("id", "")))
        raw = dict(record)
        for key in OPEN_HELPLINES_IGNORED:
            raw.pop(key, None)
        category = str(raw.get("category", ""))
        if category in OPEN_HELPLINES_CATEGORIES:
            raw["category"] = OPEN_HELPLINES_CATEGORIES[category]
        if "secondary_categories" in raw:
            raw["topics"] = [
                OPEN_HELPLINES_CATEGORIES.get(str(c), str(c))
                for c in raw.pop("secondary_categories") or []
            ]
        if file_country and raw.get("country") != file_country:
            checker.result.problems.append(
                Problem(
                    checker.file,
                    line,
                    f"{raw.get('id', '')}.country",
                    f"differs from the file's {file_country}",
                )
            )
            continue
        checker.check(raw, line)


def _json_line(lines: list[str], record_id: str) -> int:
    needle = f'"id": "{record_id}"'
    for n, line in enumerate(lines, 1):
        if needle in line.replace('"id":"', '"id": "'):
            return n
    return 0


def to_toml(entries: list[Entry]) -> str:
    """Entries as the TOML the seed and `crisis import` read (round-trips exactly)."""
    out = ["# circlebot crisis directory export", ""]
    for entry in entries:
        out.append("[[entry]]")
        data = entry.to_dict()
        contacts = data.pop("contacts")
        out.extend(f"{k} = {_toml_value(v)}" for k, v in data.items())
        for contact in contacts:
            out.append("")
            out.append("[[entry.contacts]]")
            options = contact.pop("options", [])
            out.extend(f"{k} = {_toml_value(v)}" for k, v in contact.items())
            for opt in options:
                out.append("[[entry.contacts.options]]")
                out.extend(f"{k} = {_toml_value(v)}" for k, v in opt.items())
        out.append("")
    return "\n".join(out)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def to_csv(entries: list[Entry]) -> tuple[str, list[str]]:
    """Entries as CSV (one row each) and the ids whose details CSV cannot hold."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    lossy: list[str] = []
    for e in entries:
        by_method = {m: [c for c in e.contacts if c.method == m] for m in METHODS}
        first = e.contacts[0]
        uniform = all(
            (c.languages, c.hours, c.free, c.anonymous)
            == (first.languages, first.hours, first.free, first.anonymous)
            for c in e.contacts
        )
        if (
            not uniform
            or any(c.options or c.keyword for c in e.contacts)
            or by_method["email"]
            or by_method["app"]
            or len(by_method["chat"]) > 1
        ):
            lossy.append(e.id)
        writer.writerow(
            {
                "id": e.id,
                "country": e.country,
                "region": e.region,
                "name": e.name,
                "category": e.category,
                "topics": ";".join(e.topics),
                "phone": ";".join(c.number for c in by_method["phone"]),
                "text": ";".join(c.number for c in by_method["text"] if not c.keyword),
                "chat": by_method["chat"][0].url if by_method["chat"] else "",
                "hours": first.hours,
                "languages": ";".join(first.languages),
                "free": "" if first.free is None else str(first.free).lower(),
                "anonymous": "" if first.anonymous is None else str(first.anonymous).lower(),
                "description": e.description,
                "website": e.website,
                "source": e.source,
                "verified_at": e.verified_at.isoformat() if e.verified_at else "",
                "verified_by": e.verified_by,
                "pair": e.pair,
            }
        )
    return buf.getvalue(), lossy


def contacts_to_json(contacts: tuple[Contact, ...]) -> str:
    """Contacts for the database column."""
    return json.dumps([c.to_dict() for c in contacts], ensure_ascii=False)


def contacts_from_json(text: str) -> tuple[Contact, ...]:
    """Inverse of `contacts_to_json` (rows were validated when written)."""
    out: list[Contact] = []
    for item in json.loads(text):
        out.append(
            Contact(
                method=item["method"],
                number=item.get("number", ""),
                url=item.get("url", ""),
                keyword=item.get("keyword", ""),
                languages=tuple(item.get("languages", ())),
                hours=item.get("hours", ""),
                free=item.get("free"),
                anonymous=item.get("anonymous"),
                options=tuple(MenuChoice(o["key"], o["label"]) for o in item.get("options", ())),
            )
        )
    return tuple(out)


# `country:` (or `country=`) and what follows it: a quoted value, or the words up to the end.
_EXPLICIT_COUNTRY = re.compile(
    r"(?<!\S)country[:=]\s*(\"[^\"]+\"|“[^”]+”|'[^']+'|\S.*)", re.I | re.S
)
# The most words a country's name typed after `country:` takes (`Bosnia and Herzegovina`).
_NAME_WORDS = 4


def country_in_words(words: str) -> tuple[str | None, str]:
    """(the country the member chose in free words, the words without that choice).

    Every form reads a country as `me country` does (`find_country`): `country:XX` (a code,
    another code such as `UK`, or a name, any case; a name of several words takes as many
    of the words after it as name a country), the words standing alone as a code in
    capitals (`US`, `UK`, `USA`), or the words being exactly a country's name in the
    language in use or English. Everything else is ordinary words: "help me" is not
    Montenegro, "in" is not India, "us" is not the United States, "112" is not Belarus, and
    the member's own country applies. An unknown `country:` value gives None.
    """
    explicit = _explicit_country(words)
    if explicit is not None:
        code, _value, rest = explicit
        return code, rest
    stripped = " ".join(words.split())
    if stripped:
        code = find_country(stripped, loose=False)
        if code is not None:
            return code, ""
    return None, words.strip()


def unknown_country_in_words(words: str) -> str | None:
    """The value of a `country:XX` choice in `words` that names no known country, else None."""
    explicit = _explicit_country(words)
    if explicit is None or explicit[0] is not None:
        return None
    return explicit[1]


def _explicit_country(words: str) -> tuple[str | None, str, str] | None:
    """For `country:VALUE` in `words`: (its code or None, the value as typed, the words
    without the choice); None when there is no such choice."""
    m = _EXPLICIT_COUNTRY.search(words)
    if m is None:
        return None
    before = words[: m.start()]
    value = m.group(1)
    if value[:1] in "\"“'":
        value = value.strip("\"“”'")
        return find_country(value), value, (before + words[m.end() :]).strip()
    parts = value.split()
    for count in range(min(_NAME_WORDS, len(parts)), 0, -1):
        code = find_country(" ".join(parts[:count]))
        if code is not None:
            return (
                code,
                " ".join(parts[:count]),
                " ".join((before.strip(), *parts[count:])).strip(),
            )
    rest = " ".join((before.strip(), *parts[1:])).strip()
    return None, parts[0], rest
