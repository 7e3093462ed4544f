"""The crisis directory's data: the shipped seed, the real open-helplines dataset, formats."""

from __future__ import annotations

import json
import tomllib
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.paths import DATA_DIR
from cogs.crisis import directory
from cogs.crisis.directory import ParseResult, is_stale

# A verbatim sample of the CC0 open-helplines dataset (10 of its 15 country files).
OPEN_HELPLINES = Path(__file__).parents[1] / "data" / "open-helplines"
SAMPLE_RECORDS = 13
SUPERSEDED = directory.load_superseded(DATA_DIR / "crisis" / "superseded.toml")
TODAY = date(2026, 12, 3)  # the newest check in seed.toml (es-linea-024)


def parse(text: str, today: date = TODAY, **kw: object) -> ParseResult:
    return directory.parse(text, today=today, superseded=SUPERSEDED, **kw)  # type: ignore[arg-type]


def seed() -> ParseResult:
    text = (DATA_DIR / "crisis" / "seed.toml").read_text(encoding="utf-8")
    return parse(text, fmt="toml", require_verified=True)


def test_every_seed_entry_has_a_source_a_recent_check_and_valid_contacts() -> None:
    result = seed()
    assert result.problems == []
    assert result.rows == len(result.entries) == 6
    for entry in result.entries:
        assert entry.source.startswith("https://")
        assert entry.verified_at is not None and not is_stale(entry, TODAY)
        assert entry.verified_by
        assert entry.contacts and all(c.hours and c.languages for c in entry.contacts)
        assert len(entry.description) <= 280


def test_the_seed_holds_the_well_established_numbers() -> None:
    by_id = {e.id: e for e in seed().entries}
    assert set(by_id) == {
        "us-988-lifeline",
        "us-samhsa-national-helpline",
        "gb-samaritans",
        "ie-samaritans",
        "bd-kaan-pete-roi",  # its hours in Bangladesh's own zone (the record's BST)
        "es-linea-024",
    }
    lifeline = by_id["us-988-lifeline"]
    phone = next(c for c in lifeline.contacts if c.method == "phone")
    assert phone.number == "988"
    assert {(o.key, o.label) for o in phone.options} == {
        ("1", "Veterans Crisis Line"),
        ("2", "Spanish (en español)"),
    }
    texts = {(c.number, c.keyword) for c in lifeline.contacts if c.method == "text"}
    assert texts == {("988", ""), ("988", "AYUDA")}
    assert any(
        c.method == "chat" and c.url.startswith("https://988lifeline.org")
        for c in lifeline.contacts
    )
    assert by_id["us-samhsa-national-helpline"].contacts[0].number == "+18006624357"
    assert [
        (e.country, e.contacts[0].number) for e in (by_id["gb-samaritans"], by_id["ie-samaritans"])
    ] == [("GB", "116123"), ("IE", "116123")]


def test_the_seed_never_lists_the_old_lifeline_number() -> None:
    numbers = {c.number for e in seed().entries for c in e.contacts}
    assert not numbers & set(SUPERSEDED)
    assert "+18002738255" in SUPERSEDED


def open_helplines_files() -> list[Path]:
    files = sorted((OPEN_HELPLINES / "data" / "countries").glob("*/helplines.json"))
    assert len(files) == 10, f"the open-helplines sample is expected at {OPEN_HELPLINES}"
    return files


def import_open_helplines(today: date) -> dict[str, ParseResult]:
    return {
        p.parent.name: parse(p.read_text(encoding="utf-8"), today) for p in open_helplines_files()
    }


def messages(result: ParseResult, row: str, kind: str = "problems") -> str:
    return " | ".join(p.message for p in getattr(result, kind) if directory.row_of(p) == row)


def test_the_real_open_helplines_dataset_imports_with_its_quirks_reported() -> None:
    results = import_open_helplines(TODAY)
    assert sum(r.rows for r in results.values()) == SAMPLE_RECORDS
    # Old number: the dataset's 988 record lists the former Lifeline number.
    us = results["us"]
    assert "+18002738255 is an old number" in messages(us, "us-988-lifeline")
    assert "988" in messages(us, "us-988-lifeline")
    # Short codes written as if they were E.164 are kept as short codes, and said so.
    assert "short code 988" in messages(results["ca"], "ca-988-suicide-crisis-helpline", "notes")
    assert "short code 116123" in messages(results["gb"], "gb-samaritans", "notes")
    assert "short code 85258" in messages(results["gb"], "gb-shout-crisis-text-line", "notes")
    assert "short code 741741" in messages(us, "us-crisis-text-line", "notes")
    # Numbers that are neither valid E.164 nor a known short code are refused, not guessed at.
    for country, row in [
        ("fr", "fr-3114"),
        ("in", "in-tele-manas"),
        ("br", "br-cvv-188"),
        ("kr", "kr-109-suicide-crisis"),
        ("ph", "ph-ncmh-crisis-hotline"),
    ]:
        assert "not a valid phone number" in messages(results[country], row), row
    # An emergency-services number is not a helpline.
    assert "emergency-services number" in messages(results["id"], "id-sejiwa-119")
    # Every problem names the line its record starts on.
    assert all(p.line > 0 for r in results.values() for p in r.problems)
    accepted = {e.id for r in results.values() for e in r.entries}
    assert {"cn-beijing-crisis-hotline", "gb-samaritans"} <= accepted
    assert "us-988-lifeline" not in accepted


def test_open_helplines_dates_are_reported_stale_later_and_as_a_bulk_stamp() -> None:
    later = import_open_helplines(date(2028, 7, 1))
    stale_notes = [n for r in later.values() for n in r.notes if "stale" in n.message]
    accepted = sum(len(r.entries) for r in later.values())
    assert len(stale_notes) == sum(r.rows for r in later.values()) == SAMPLE_RECORDS
    assert all(is_stale(e, date(2028, 7, 1)) for r in later.values() for e in r.entries)
    assert accepted > 0
    records = [r for p in open_helplines_files() for r in json.loads(p.read_text())["records"]]
    combined = parse(json.dumps({"records": records}, indent=2), TODAY)
    assert any("bulk stamp" in n.message for n in combined.notes)


def test_the_open_helplines_index_disagrees_with_its_files() -> None:
    index = json.loads((OPEN_HELPLINES / "data" / "index.json").read_text())
    assert index["total_records"] == 0 and index["countries"] == []  # a quirk we do not rely on


def test_toml_export_round_trips_exactly() -> None:
    entries = seed().entries
    again = parse(directory.to_toml(entries), fmt="toml", require_verified=True)
    assert again.problems == []
    assert again.entries == entries


def test_csv_round_trips_and_names_what_it_cannot_hold() -> None:
    entries = seed().entries
    text, lossy = directory.to_csv(entries)
    assert lossy == ["us-988-lifeline"]
    again = {e.id: e for e in parse(text).entries}
    assert again["us-samhsa-national-helpline"] == next(
        e for e in entries if e.id == "us-samhsa-national-helpline"
    )
    assert again["ie-samaritans"].contacts[0].number == "116123"


BAD_CSV = """\
id,country,name,category,phone,hours,languages,source,verified_at
gb-good,GB,A good line,mental_health,116123,24/7,en,https://example.org/a,2026-01-01
xx-bad,XX,Unknown place,mental_health,+18006624357,24/7,en,https://example.org/b,2026-01-01
us-bad,US,Bad topic,grief,+1 800 662 4357,24/7,en,http://example.org/c,2027-01-01
us-old,US,Old number,suicide_prevention,1-800-273-8255,24/7,en,https://example.org/d,
"""


def test_every_bad_row_is_reported_with_its_line_and_the_valid_choices() -> None:
    result = parse(BAD_CSV)
    assert [e.id for e in result.entries] == ["gb-good"]
    lines = {p.line for p in result.problems}
    assert lines == {3, 4, 5}
    text = "\n".join(str(p) for p in result.problems)
    assert "line 3: xx-bad.country: 'XX' is not an ISO 3166-1 alpha-2 code" in text
    assert "us-bad.category: 'grief' is unknown; use one of: suicide_prevention, mental" in text
    assert "line 4: us-bad.source: 'http://example.org/c' is not an https:// link" in text
    assert "line 4: us-bad.verified_at: 2027-01-01 is in the future" in text
    assert "line 5: us-old.contact 1: +18002738255 is an old number" in text
    assert any("no verified_at" in n.message for n in result.notes)


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("+1 (800) 662-4357", "US", "+18006624357"),
        ("1-800-662-4357", "US", "+18006624357"),
        ("0800 111 0 111", "DE", "+498001110111"),
        ("116 123", "IE", "116123"),
        ("988", "US", "988"),
    ],
)
def test_numbers_are_normalised(raw: str, country: str, expected: str) -> None:
    assert directory.normalise_number(raw, country, "phone")[0] == expected


@pytest.mark.parametrize(
    ("raw", "country"),
    [("911", "US"), ("12345", "US"), ("+1555", "US"), ("call me", "GB"), ("0800123456", "IE")],
)
def test_bad_numbers_are_refused(raw: str, country: str) -> None:
    with pytest.raises(ValueError, match=r"number|short code"):
        directory.normalise_number(raw, country, "phone")


PAIR = """\
[[entry]]
id = "zz-adult"
country = "NZ"
name = "Adult line"
category = "mental_health"
source = "https://example.org/"
verified_at = 2026-01-01
pair = "nz-pair"
[[entry.contacts]]
method = "phone"
number = "0800 543 354"
languages = ["en"]
hours = "24/7"
"""


def test_a_pair_without_its_partner_is_refused() -> None:
    result = parse(PAIR, fmt="toml")
    assert any("pair nz-pair has no partner" in p.message for p in result.problems)
    assert result.entries == []


def test_unknown_fields_are_refused_not_ignored() -> None:
    text = tomllib.loads((DATA_DIR / "crisis" / "seed.toml").read_text())
    text["entry"][0]["verfied_at"] = "2026-01-01"
    entry = text["entry"][0]
    bad = directory.RowChecker(TODAY, SUPERSEDED)
    assert bad.check(entry, 1) is None
    [problem] = bad.finish().problems
    assert problem.key == "us-988-lifeline.verfied_at" and problem.line == 1
    assert problem.message == "unknown key (did you mean `verified_at`?)"


CSV_PIECES = st.sampled_from(
    ["id", "name", "country", "phone", ",", '"', "\r", "\n", "\r\n", "x" * 40, "GB", "+44 116 123"]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(CSV_PIECES | st.text(max_size=5), max_size=40).map("".join))
def test_any_csv_text_ends_in_rows_or_problems_never_an_exception(text: str) -> None:
    """A moderator's CSV, however broken (bare CRs, quotes never closed), is read or refused
    with a problem naming a line; the import never fails with an exception."""
    result = parse("id,name,country,phone\n" + text, fmt="csv")
    assert all(problem.line >= 1 for problem in result.problems)


def test_a_bare_carriage_return_ends_a_row_and_a_huge_field_is_named() -> None:
    rows = parse("id,name,country,phone\rgb-a,A line,GB,116 123\r", fmt="csv")
    assert not any("cannot be read" in p.message for p in rows.problems)
    huge = parse('id,name,country,phone\n"' + "x" * 200_000 + '",B,GB,1\n', fmt="csv")
    assert [p.message.startswith("this CSV cannot be read") for p in huge.problems] == [True]
