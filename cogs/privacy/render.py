"""A member's export as a document for a person, and short counts for the erase confirmation.

The Markdown reads top to bottom: one heading per part of the bot with what it keeps and why,
one heading per kind of record, then each record as labelled lines in plain words (dates
written out, yes/no, community names instead of numbers). Internal fields (row numbers,
version counters, delivery keys) are left out; the JSON file beside it has everything.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.core import _

# Fields that mean nothing to a person: database row numbers, counters, delivery bookkeeping.
HIDDEN = {"id", "version", "token", "key", "attempts", "source", "outbox_key", "format"}
SUFFIXES = ("_key", "_at", "_id")


def _label(key: str) -> str:
    """`created_at` -> "Created", `author_key` -> "Author", `created_by` -> "Created by"."""
    base = key
    for suffix in SUFFIXES:
        if base.endswith(suffix) and len(base) > len(suffix):
            base = base[: -len(suffix)]
            break
    return base.replace("_", " ").strip().capitalize() or key


def _when(text: str) -> str | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.strftime("%d %B %Y") if len(text) <= 10 else None
    return moment.strftime("%d %B %Y, %H:%M UTC")


def _value(key: str, value: Any, communities: dict[str, str]) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if key == "community_id" and value is not None:
        return communities.get(str(value), _("community {n}").format(n=value))
    text = str(value)
    if key.endswith(("_at", "_on", "date")) or key in {"occurrence", "when"}:
        text = _when(text) or text
    if "\n" in text:
        return "\n" + "\n".join(f"  > {line}" for line in text.split("\n"))
    return text


def _record(record: Any, communities: dict[str, str], depth: int = 0) -> list[str]:
    pad = "  " * depth
    if not isinstance(record, dict):
        if isinstance(record, list):
            return [line for item in record for line in _record(item, communities, depth)]
        return [f"{pad}- {_value('', record, communities)}"]
    lines: list[str] = []
    for key, value in record.items():
        if key in HIDDEN or value is None or value == "" or value == [] or value == {}:
            continue
        if isinstance(value, dict | list) and any(isinstance(v, dict | list) for v in value):
            lines.append(f"{pad}- **{_label(key)}**:")
            for item in value.values() if isinstance(value, dict) else value:
                lines.extend(_record(item, communities, depth + 1))
        elif isinstance(value, dict):
            inner = "; ".join(
                f"{_label(k)}: {_value(k, v, communities)}" for k, v in value.items()
            )
            lines.append(f"{pad}- **{_label(key)}**: {inner}")
        elif isinstance(value, list):
            joined = ", ".join(_value(key, v, communities) for v in value)
            lines.append(f"{pad}- **{_label(key)}**: {joined}")
        else:
            lines.append(f"{pad}- **{_label(key)}**: {_value(key, value, communities)}")
    return lines


def _section(data: dict[str, Any], communities: dict[str, str]) -> list[str]:
    if not any(v for v in data.values()):
        return [_("Nothing stored."), ""]
    lines: list[str] = []
    for kind, value in data.items():
        if not value:
            continue
        lines += [f"### {_label(kind)}", ""]
        items = value if isinstance(value, list) else [value]
        for number, item in enumerate(items, 1):
            body = _record(item, communities)
            if len(items) > 1:
                lines.append(f"**{number}.**")
            lines += [*(body or [f"- {_value(kind, item, communities)}"]), ""]
    return lines


def markdown(
    export: dict[str, Any], titles: dict[str, str], statements: dict[str, str] | None = None
) -> str:
    """The whole export as a Markdown document for a person, one section per part of the bot.

    Args:
        export: what `PrivacyService.export` returns.
        titles: cog name -> its description, as the section heading.
        statements: cog name -> what it stores and why, shown under the heading.
    """
    statements = statements or {}
    communities: dict[str, str] = export.get("communities", {})
    made = _when(str(export["exported_at"])) or export["exported_at"]
    lines = [
        "# " + _("Everything this bot stores about you"),
        "",
        _("Made on {when}, for the account {account}.").format(
            when=made, account=export["account"]
        ),
        _(
            "Other people appear by the name they chose in a community you share, or as "
            "“another member”; never by their account. The JSON file sent with this one holds "
            "the same, for programs."
        ),
        "",
    ]
    if communities:
        lines += [
            _("Communities you are in: {names}.").format(names=", ".join(communities.values())),
            "",
        ]
    for name, data in export["cogs"].items():
        lines += [f"## {titles.get(name, name)}", ""]
        if statements.get(name):
            lines += [f"*{statements[name]}*", ""]
        lines += _section(data, communities)
    lines += ["## " + _("The bot itself"), ""]
    lines += _section(export["core"], communities)
    return "\n".join(lines).rstrip() + "\n"


def counts(export: dict[str, Any], titles: dict[str, str]) -> list[str]:
    """One line per part of the bot that holds something: how many records of each kind."""
    out: list[str] = []
    sections = [*export["cogs"].items(), ("core", export["core"])]
    for name, data in sections:
        parts: list[str] = []
        for key, value in data.items():
            if isinstance(value, list) and value:
                parts.append(f"{_label(key).lower()}: {len(value)}")
            elif isinstance(value, dict | str) and value:
                parts.append(_label(key).lower())
        if parts:
            title = titles.get(name, _("The bot itself") if name == "core" else name)
            out.append(f"- **{title}**: " + ", ".join(parts))
    return out
