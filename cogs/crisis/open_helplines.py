"""Convert the public-domain open-helplines records into the directory's seed format.

    python -m cogs.crisis.open_helplines PATH/TO/open-helplines \
        > data/crisis/seed-open-helplines.toml

Every record becomes an entry (none is dropped: a record that still fails the directory's
checks stops the conversion with its problems). The source's quirks are repaired, each with a
note in the report printed to stderr:

- short codes written as E.164 (`+1988`, `+44116123`) become the short code dialled inside the
  country; a number that is no real number but ends with a short code the record itself names
  (`+33333114` for 3114, `+6321553` for the landline 1553) becomes that code;
- a superseded number (data/crisis/superseded.toml: the former US Lifeline number) is replaced
  by its successor;
- numbers that appear only in the description become contacts: full numbers found by the
  phonenumbers library's matcher, short codes after "call", "dial" or "text", the word to text
  ("Text HOME to 741741") and an extension to press ("119 extension 8").
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import phonenumbers

from bot.core import DATA_DIR
from cogs.crisis import directory
from cogs.crisis.directory import (
    OPEN_HELPLINES_CATEGORIES,
    OPEN_HELPLINES_IGNORED,
    Entry,
    RowChecker,
    ShortCodes,
    Superseded,
    row_of,
)

SOURCE_REPOSITORY = "https://github.com/Kouki-odaka/open-helplines"
LICENCE = "CC0 1.0 Universal (public domain)"
# "Call or text 9-8-8", "Dial 188", "Text SHOUT to 85258": the methods, a keyword, the digits.
_SAID = re.compile(
    r"\b(?P<methods>(?:call|dial|text)(?:\s+or\s+(?:call|dial|text))?)\s+"
    r"(?:(?P<keyword>[A-Z]{2,20})\s+to\s+)?(?P<number>\d(?:[\d-]{0,8}\d)?)\b",
    re.IGNORECASE,
)
_EXTENSION = re.compile(r"\b(?:extension|ext\.?)\s*(?P<key>\d{1,4})\b", re.IGNORECASE)
_DIGIT_GROUP = re.compile(r"\d(?:[\d-]*\d)?")


@dataclass
class Conversion:
    """The converted entries, and one line per repair made (for the reviewer)."""

    entries: list[Entry] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)


class ConversionError(ValueError):
    """A record could not be converted; the message lists every problem."""


def read_records(root: Path) -> list[dict[str, Any]]:
    """Every record of `root/data/countries/*/helplines.json`, in country order."""
    records: list[dict[str, Any]] = []
    for path in sorted(root.glob("data/countries/*/helplines.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        records.extend(data.get("records", []))
    return records


def convert(
    records: list[dict[str, Any]],
    *,
    today: date,
    superseded: dict[str, Superseded],
    short_codes: ShortCodes,
) -> Conversion:
    """Records to checked entries; `ConversionError` when any record fails."""
    out = Conversion()
    checker = RowChecker(today, superseded, require_verified=True, short_codes=short_codes)
    for index, record in enumerate(records, 1):
        raw = _raw(record, superseded, short_codes, out.repairs)
        if checker.check(raw, index) is None:
            continue
    result = checker.finish()
    if result.problems:
        raise ConversionError("\n".join(str(p) for p in result.problems))
    out.entries = result.entries
    out.repairs.extend(f"record {row_of(n)}: {n.message}" for n in result.notes if row_of(n))
    return out


def _raw(
    record: dict[str, Any],
    superseded: dict[str, Superseded],
    short_codes: ShortCodes,
    repairs: list[str],
) -> dict[str, Any]:
    rid = str(record.get("id", ""))
    country = str(record.get("country", ""))
    raw = {k: v for k, v in record.items() if k not in OPEN_HELPLINES_IGNORED}
    raw["category"] = OPEN_HELPLINES_CATEGORIES.get(str(raw.get("category")), raw.get("category"))
    raw["topics"] = [
        OPEN_HELPLINES_CATEGORIES.get(str(c), str(c)) for c in raw.pop("secondary_categories", [])
    ]
    raw["verified_by"] = f"open-helplines (CC0 data), record {rid}"
    description = str(record.get("description", ""))
    named = " ".join(
        str(record.get(k, "")) for k in ("name", "local_name", "description")
    )  # short codes the record itself names, for repairing numbers
    contacts: list[dict[str, Any]] = [dict(c) for c in record.get("contacts", [])]
    for contact in contacts:
        if "number" not in contact:
            continue
        number = _repair(str(contact["number"]), country, named, short_codes, rid, repairs)
        old = superseded.get(number)
        if old is not None:
            repairs.append(
                f"record {rid}: {number} is {old.note}; listed as {old.replacement} instead"
            )
            number = old.replacement
        contact["number"] = number
    name = str(record.get("name", ""))
    _from_description(description, country, contacts, short_codes, name, rid, repairs)
    raw["contacts"] = contacts
    return raw


def _repair(
    number: str, country: str, named: str, short_codes: ShortCodes, rid: str, repairs: list[str]
) -> str:
    """The number itself when the directory accepts it, else a short code the record names."""
    try:
        directory.normalise_number(number, country, "phone", short_codes=short_codes, menu=True)
    except ValueError:
        pass
    else:
        return number
    digits = number.lstrip("+")
    cc = str(phonenumbers.country_code_for_region(country))
    national = digits[len(cc) :] if digits.startswith(cc) else digits
    candidates: list[str] = sorted(
        {str(g).replace("-", "") for g in _DIGIT_GROUP.findall(named)}, key=len, reverse=True
    )
    for code in candidates:
        if len(code) >= 3 and national.endswith(code) and code != national:
            try:
                directory.normalise_number(
                    code, country, "phone", short_codes=short_codes, menu=True
                )
            except ValueError:
                continue
            repairs.append(
                f"record {rid}: {number} is no real number; the record names the short code "
                f"{code}, which it ends with, so {code} is listed"
            )
            return code
    return number  # left for the directory's checks to report


def _normalised(number: str, country: str, short_codes: ShortCodes) -> str:
    try:
        return directory.normalise_number(
            number, country, "phone", short_codes=short_codes, menu=True
        )[0]
    except ValueError:
        return number


def _from_description(
    description: str,
    country: str,
    contacts: list[dict[str, Any]],
    short_codes: ShortCodes,
    name: str,
    rid: str,
    repairs: list[str],
) -> None:
    """Turn numbers, keywords and extensions found only in the description into contacts."""
    template = next((c for c in contacts if "number" in c), contacts[0] if contacts else {})
    base: dict[str, Any] = {
        k: template[k] for k in ("languages", "hours", "free", "anonymous") if k in template
    }

    def have(method: str, number: str) -> dict[str, Any] | None:
        want = _normalised(number, country, short_codes)
        for c in contacts:
            if (
                c.get("method") == method
                and c.get("number")
                and (_normalised(str(c["number"]), country, short_codes) == want)
            ):
                return c
        return None

    for match in phonenumbers.PhoneNumberMatcher(description, country):
        e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        if have("phone", e164) is None and have("text", e164) is None:
            contacts.append({"method": "phone", "number": e164, **base})
            repairs.append(f"record {rid}: {match.raw_string} from the description is a contact")
    for said in _SAID.finditer(description):
        number = said.group("number").replace("-", "")
        methods = {
            "phone" if m in ("call", "dial") else "text"
            for m in re.findall(r"call|dial|text", said.group("methods").lower())
        }
        for method in sorted(methods):
            existing = have(method, number)
            if existing is None:
                contacts.append({"method": method, "number": number, **base})
                repairs.append(
                    f"record {rid}: '{said.group(0)}' in the description: {method} {number} "
                    "is a contact"
                )
                existing = contacts[-1]
            keyword = said.group("keyword")
            if keyword and method == "text" and not existing.get("keyword"):
                existing["keyword"] = keyword
                repairs.append(f"record {rid}: text {keyword} to {number}, from the description")
    for ext in _EXTENSION.finditer(description):
        phones = [c for c in contacts if c.get("method") == "phone"]
        if len(phones) == 1 and not phones[0].get("options"):
            label = re.split(r"\s+[—–-]\s+", name)[0][:80]  # "SEJIWA — Ministry of…"
            phones[0]["options"] = [{"key": ext.group("key"), "label": label}]
            repairs.append(
                f"record {rid}: extension {ext.group('key')} from the description is the menu "
                "choice to press"
            )


def main(argv: list[str]) -> int:
    """Print the converted seed to stdout and the repairs to stderr."""
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = Path(argv[1])
    records = read_records(root)
    crisis = DATA_DIR / "crisis"
    conversion = convert(
        records,
        today=date.today(),
        superseded=directory.load_superseded(crisis / "superseded.toml"),
        short_codes=directory.load_short_codes(crisis / "short-codes.toml"),
    )
    countries = sorted({e.country for e in conversion.entries})
    header = [
        "# Generated from the open-helplines dataset; do not edit by hand. Corrections and richer",
        "# details go in seed.toml, whose entry with the same id replaces the one here.",
        f"# Source: {SOURCE_REPOSITORY} (data licence: {LICENCE}).",
        f"# {len(records)} records from {len(countries)} countries ({' '.join(countries)}),",
        "# every one converted. Regenerate with:",
        "#   python -m cogs.crisis.open_helplines PATH/TO/open-helplines "
        "> data/crisis/seed-open-helplines.toml",
        "# Repairs made to the source's quirks:",
        *(f"# - {line}" for line in conversion.repairs),
        "",
    ]
    body = directory.to_toml(conversion.entries).split("\n", 2)[2]
    sys.stdout.write("\n".join(header) + "\n" + body)
    print(f"{len(conversion.entries)} entries, {len(conversion.repairs)} repairs", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
