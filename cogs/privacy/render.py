"""A member's export as readable Markdown, and short counts for the erase confirmation."""

from __future__ import annotations

from typing import Any

from bot.i18n import _


def _label(key: str) -> str:
    return key.replace("_", " ").capitalize()


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    text = str(value)
    return text.replace("\n", "\n    ") if "\n" in text else text


def _lines(value: Any, depth: int) -> list[str]:
    pad = "  " * depth
    if isinstance(value, dict):
        out: list[str] = []
        for key, inner in value.items():
            if isinstance(inner, dict | list) and inner:
                out.append(f"{pad}- {_label(str(key))}:")
                out.extend(_lines(inner, depth + 1))
            else:
                out.append(f"{pad}- {_label(str(key))}: {_value(inner if inner != [] else None)}")
        return out
    if isinstance(value, list):
        out = []
        for number, inner in enumerate(value, 1):
            if isinstance(inner, dict | list):
                out.append(f"{pad}- #{number}")
                out.extend(_lines(inner, depth + 1))
            else:
                out.append(f"{pad}- {_value(inner)}")
        return out
    return [f"{pad}- {_value(value)}"]


def markdown(export: dict[str, Any], titles: dict[str, str]) -> str:
    """The whole export as a Markdown document, one section per part of the bot."""
    lines = [
        "# " + _("Everything this bot stores about you"),
        "",
        _("Account: {account}. Made at {when} (UTC).").format(
            account=export["account"], when=export["exported_at"]
        ),
        "",
    ]
    for name, data in export["cogs"].items():
        lines.append(f"## {titles.get(name, name)}")
        lines.append("")
        empty = not any(v for v in data.values())
        lines.extend([_("Nothing stored.")] if empty else _lines(data, 0))
        lines.append("")
    lines.append("## " + _("The bot itself"))
    lines.append("")
    core = export["core"]
    lines.extend([_("Nothing stored.")] if not any(core.values()) else _lines(core, 0))
    lines.append("")
    return "\n".join(lines)


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
