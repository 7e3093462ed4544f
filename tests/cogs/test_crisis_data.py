"""The shipped crisis data: every number checked against phonenumbers, and the conversion of
the open-helplines records (run here on a small vendored sample, never on a shared copy)."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from pathlib import Path

import phonenumbers
from babel import Locale, UnknownLocaleError, localedata
from babel.core import get_global
from hypothesis import example, given, settings
from hypothesis import strategies as st
from phonenumbers import shortnumberinfo

from cogs.crisis import directory
from cogs.crisis.answer import load_answers, plural_category
from cogs.crisis.cog import CRISIS_DIR, CURATED_FILE, SEED_GLOB
from cogs.crisis.directory import Entry
from cogs.crisis.open_helplines import _SAID, convert, read_records

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "open-helplines"
TODAY = date(2026, 12, 3)  # the newest check in seed.toml (es-linea-024)
SUPERSEDED = directory.load_superseded(CRISIS_DIR / "superseded.toml")
SHORT_CODES = directory.load_short_codes(CRISIS_DIR / "short-codes.toml")
# The 60 most populous countries (UN World Population Prospects 2024, 2025 estimates).
MOST_POPULOUS = [
    "IN",
    "CN",
    "US",
    "ID",
    "PK",
    "NG",
    "BR",
    "BD",
    "RU",
    "ET",
    "MX",
    "JP",
    "EG",
    "PH",
    "CD",
    "VN",
    "IR",
    "TR",
    "DE",
    "TH",
    "TZ",
    "GB",
    "FR",
    "ZA",
    "IT",
    "KE",
    "MM",
    "CO",
    "KR",
    "SD",
    "UG",
    "ES",
    "DZ",
    "IQ",
    "AR",
    "AF",
    "YE",
    "CA",
    "AO",
    "UA",
    "MA",
    "PL",
    "UZ",
    "MY",
    "MZ",
    "GH",
    "PE",
    "SA",
    "MG",
    "CI",
    "NP",
    "CM",
    "VE",
    "NE",
    "AU",
    "KP",
    "SY",
    "ML",
    "BF",
    "TW",
]


def shipped() -> dict[str, list[Entry]]:
    """Every seed file's entries, each parsed with no problem."""
    out: dict[str, list[Entry]] = {}
    for path in sorted(CRISIS_DIR.glob(SEED_GLOB)):
        result = directory.parse(
            path.read_text(encoding="utf-8"),
            today=TODAY,
            superseded=SUPERSEDED,
            fmt="toml",
            require_verified=True,
            short_codes=SHORT_CODES,
        )
        assert result.problems == [], (path.name, result.problems)
        out[path.name] = result.entries
    return out


def is_short(number: str, country: str) -> bool:
    return bool(
        shortnumberinfo.is_valid_short_number_for_region(
            phonenumbers.parse(number, country), country
        )
    )


def test_every_seed_number_validates_with_phonenumbers() -> None:
    files = shipped()
    assert set(files) == {"seed-open-helplines.toml", CURATED_FILE}
    checked = 0
    for entries in files.values():
        for entry in entries:
            assert entry.source.startswith("https://") and entry.verified_at is not None
            for contact in entry.contacts:
                if not contact.number:
                    continue
                checked += 1
                if contact.number.startswith("+"):
                    parsed = phonenumbers.parse(contact.number)
                    assert phonenumbers.is_valid_number(parsed), (entry.id, contact.number)
                    assert phonenumbers.region_code_for_number(parsed) == entry.country
                elif not is_short(contact.number, entry.country):
                    assert (entry.country, contact.number) in SHORT_CODES, (entry.id, contact)
                emergency = shortnumberinfo.connects_to_emergency_number(
                    contact.number, entry.country
                )
                assert not emergency or contact.options, f"{entry.id}: an emergency number"
                assert contact.number not in SUPERSEDED
    assert checked >= 30


def test_short_codes_the_library_lacks_are_still_unknown_to_it() -> None:
    """Each row of short-codes.toml is needed: the library does not know the code yet."""
    rows = tomllib.loads((CRISIS_DIR / "short-codes.toml").read_text(encoding="utf-8"))
    for row in rows["short_code"]:
        country, number = row["country"], row["number"]
        assert not is_short(number, country), f"{country} {number}: the library knows it now"
        assert not shortnumberinfo.connects_to_emergency_number(number, country)
        assert directory.check_url(row["source"])


def test_emergency_numbers_cover_the_most_populous_and_every_directory_country() -> None:
    answers, problems = load_answers(CRISIS_DIR)
    assert problems == []
    data = tomllib.loads((CRISIS_DIR / "emergency.toml").read_text(encoding="utf-8"))
    not_listed = data["not_listed"]
    assert set(not_listed) <= set(MOST_POPULOUS) and len(not_listed) <= 1
    for code in MOST_POPULOUS:
        assert code in answers.emergency or code in not_listed, code
    covered = sum(code in answers.emergency for code in MOST_POPULOUS)
    assert covered >= 59
    directory_countries = {e.country for entries in shipped().values() for e in entries}
    assert len(directory_countries) == 17
    assert directory_countries <= set(answers.emergency)


def test_every_emergency_number_validates_with_phonenumbers() -> None:
    answers, _problems = load_answers(CRISIS_DIR)
    gaps = 0
    for code, emergency in answers.emergency.items():
        for index, number in enumerate(emergency.numbers):
            known = shortnumberinfo.connects_to_emergency_number(number, code) or is_short(
                number, code
            )
            if index == 0 and emergency.metadata_gap:
                # The gap note must stay true: once the library knows it, drop the note.
                assert not known, f"{code} {number}: remove metadata_gap, the library knows it"
                gaps += 1
            else:
                assert known, f"{code} {number} is unknown to phonenumbers"
        assert emergency.source.startswith("https://")
    assert gaps <= 5
    # Spot checks of well-known ambulance numbers (not police lines).
    assert answers.emergency["FR"].numbers[0] == "15"
    assert answers.emergency["JP"].numbers[0] == "119"
    assert answers.emergency["BR"].numbers[0] == "192"
    assert answers.emergency["CN"].numbers[0] == "120"


def test_the_converted_seed_holds_every_record_with_its_source() -> None:
    converted = shipped()["seed-open-helplines.toml"]
    assert len(converted) == 21
    assert len({e.country for e in converted}) == 15
    for entry in converted:
        assert entry.verified_by == f"open-helplines (CC0 data), record {entry.id}"
        assert entry.verified_at == date(2026, 6, 2)
    header = (CRISIS_DIR / "seed-open-helplines.toml").read_text(encoding="utf-8")
    assert "21 records from 15 countries" in header and "CC0" in header


def sample_conversion() -> dict[str, Entry]:
    records = read_records(SAMPLE)
    conversion = convert(records, today=TODAY, superseded=SUPERSEDED, short_codes=SHORT_CODES)
    by_id = {e.id: e for e in conversion.entries}
    assert sorted(by_id) == sorted(r["id"] for r in records), "a record was dropped"
    return by_id


def test_the_vendored_sample_converts_to_the_shipped_entries() -> None:
    converted = sample_conversion()
    shipped_by_id = {e.id: e for e in shipped()["seed-open-helplines.toml"]}
    assert (SAMPLE / "LICENSE-DATA").read_text(encoding="utf-8").find("CC0 1.0 Universal") >= 0
    for rid, entry in converted.items():
        assert entry == shipped_by_id[rid], rid


def test_the_sources_quirks_are_repaired() -> None:
    by_id = sample_conversion()

    def numbers(rid: str, method: str = "phone") -> list[str]:
        return [c.number for c in by_id[rid].contacts if c.method == method]

    # Short codes written as E.164 are dialled inside the country.
    assert numbers("br-cvv-188") == ["188"]
    assert numbers("gb-samaritans") == ["116123"]
    assert numbers("kr-109-suicide-crisis") == ["109"]
    # A number that is no number but ends with the code the record names.
    assert numbers("fr-3114") == ["3114"]
    assert numbers("ph-ncmh-crisis-hotline") == ["1553", "+639178998727"]
    # The former Lifeline number is replaced by 988; "Dial or text 988" adds the text line.
    assert numbers("us-988-lifeline") == ["988"] and numbers("us-988-lifeline", "text") == ["988"]
    assert numbers("ca-988-suicide-crisis-helpline", "text") == ["988"]
    # Numbers, words to text and extensions that were only in the description.
    assert "+9118008914416" in numbers("in-tele-manas")
    assert "+861082951332" in numbers("cn-beijing-crisis-hotline")
    text_line = by_id["us-crisis-text-line"].contacts[0]
    assert (text_line.number, text_line.keyword) == ("741741", "HOME")
    assert by_id["gb-shout-crisis-text-line"].contacts[0].keyword == "SHOUT"
    sejiwa = by_id["id-sejiwa-119"].contacts[0]
    assert sejiwa.number == "119" and [o.key for o in sejiwa.options] == ["8"]
    # A former number mentioned in passing is not a contact.
    assert "1393" not in numbers("kr-109-suicide-crisis")


def test_no_number_is_left_only_in_a_description() -> None:
    """Every number a description gives to call or text ends up a contact."""
    for entry in sample_conversion().values():
        have = {c.number for c in entry.contacts}
        for match in phonenumbers.PhoneNumberMatcher(entry.description, entry.country):
            e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            assert e164 in have, (entry.id, match.raw_string)
        for said in _SAID.finditer(entry.description):
            number = re.sub(r"\D", "", said.group("number"))
            assert number in have, (entry.id, said.group(0))


# Every locale Babel knows, as BCP-47 tags (`pt-BR`), and tags it does not know.
BABEL_TAGS = sorted(tag.replace("_", "-") for tag in localedata.locale_identifiers())


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    st.one_of(st.sampled_from(BABEL_TAGS), st.sampled_from(["xx", "zz-ZZ", "", "en-", "q"])),
    st.integers(0, 2_000_000),
)
@example("pt-PT", 0)  # a region's own rule: "one" is 1 alone there, 0 and 1 in Brazil
@example("pt", 0)
@example("sr-Latn", 21)
@example("zh-Hant-TW", 1)
def test_plural_categories_are_babels_own(tag: str, count: int) -> None:
    """`plural_category` reads the rule from the locale's own data file (not the whole locale,
    about 1 MB a language kept for good); its answer is Babel's `Locale.plural_form` for every
    locale, and one/other where Babel knows no such locale."""
    assert plural_category(tag, count) == _babels_category(tag, count)


def _babels_category(tag: str, count: int) -> str:
    try:
        return str(Locale.parse(tag, sep="-").plural_form(count))
    except (ValueError, UnknownLocaleError):
        return "one" if count == 1 else "other"


# Locales whose parent is not their language (`pt-AO` inherits from `pt-PT`): CLDR's parent
# exceptions, where reading the language's rule alone went wrong.
PARENT_EXCEPTION_TAGS = sorted(
    str(tag).replace("_", "-") for tag in get_global("parent_exceptions")
)


@settings(max_examples=120, derandomize=True, deadline=None)
@given(st.sampled_from(PARENT_EXCEPTION_TAGS), st.integers(0, 3))
def test_plural_categories_follow_babels_parent_locales(tag: str, count: int) -> None:
    assert plural_category(tag, count) == _babels_category(tag, count)
