"""How a saved worksheet looks: a card in chat, and Markdown or JSON files to keep."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.core import AnswerKind, Card, Field, _, escape_markdown
from cogs.worksheets.definitions import Flags, StepDef, Worksheet
from cogs.worksheets.service import Item

FIELD_LIMIT = 1024  # Discord's limit for one embed field value
SENTENCE_RE = re.compile(r"^(.+?[?.!])(?:\s|$)")
TERM_RE = re.compile(r"^\s*(short|long|s|l)\s*:\s*(.+)$", re.IGNORECASE | re.DOTALL)


def mark_term(value: Any) -> Any:
    """Normalise a `short:`/`long:` marker at the start of a list item."""
    match = TERM_RE.match(str(value))
    if match is None:
        return value
    term = "long" if match.group(1).lower().startswith("l") else "short"
    return f"{term}: {match.group(2).strip()}"


def split_term(item: str) -> tuple[str, str]:
    """('long' | 'short' | '', text) for a stored list item."""
    for term in ("long", "short"):
        if item.startswith(f"{term}: "):
            return term, item[len(term) + 2 :]
    return "", item


def label(step: StepDef) -> str:
    """A short heading for a step: the first sentence of its prompt."""
    first = step.prompt.split("\n", 1)[0]
    sentence = SENTENCE_RE.match(first)
    first = sentence.group(1) if sentence else first
    return first if len(first) <= 100 else first[:99] + "…"


def flagged_words(sheet: Worksheet, answers: dict[str, Any]) -> list[str]:
    """Absolute words (or other flagged words) found in the flagged steps' answers."""
    flags = sheet.flags
    if flags is None:
        return []
    text = " ".join(_flat(answers.get(s)) for s in flags.steps).lower()
    return [w for w in flags.words if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text)]


def _flat(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return "" if value is None else str(value)


def show_value(step: StepDef, value: Any, zone: ZoneInfo, *, markdown: bool = True) -> str:
    """One answer as readable text (escaped Markdown unless `markdown` is False)."""

    def esc(text: str) -> str:
        return escape_markdown(text) if markdown else text

    if value is None or value == [] or value == "":
        return _("(skipped)")
    if step.kind is AnswerKind.LIST and isinstance(value, list):
        lines = []
        for raw in value:
            term, text = split_term(str(raw))
            suffix = ""
            if term == "long":
                suffix = " " + (_("*(long-term)*") if markdown else _("(long-term)"))
            elif term == "short":
                suffix = " " + (_("*(short-term)*") if markdown else _("(short-term)"))
            lines.append(f"- {esc(text)}{suffix}")
        return "\n".join(lines)
    if step.kind is AnswerKind.SCALE:
        return f"{value}/{step.high}"
    if step.kind is AnswerKind.CHOICE:
        return esc(step.label(str(value)))
    if step.kind is AnswerKind.DATETIME:
        try:
            moment = datetime.fromisoformat(str(value)).astimezone(zone)
        except ValueError:
            return esc(str(value))
        return moment.strftime("%Y-%m-%d %H:%M ") + zone.key
    return esc(str(value))


def card(sheet: Worksheet, item: Item, zone: ZoneInfo, prefix: str) -> Card:
    """The item as a card: one field per answered step."""
    fields = []
    for step in sheet.steps:
        if step.id not in item.answers:
            continue
        value = show_value(step, item.answers[step.id], zone)
        if len(value) > FIELD_LIMIT:
            value = value[: FIELD_LIMIT - 1] + "…"
        fields.append(Field(label(step), value))
    words = flagged_words(sheet, item.answers)
    description = sheet.summary
    if words and sheet.flags is not None:
        description += "\n" + flag_note(sheet.flags, words)
    saved = item.created_at.astimezone(zone).strftime("%Y-%m-%d")
    footer = _(
        "#{number} · saved {date} · `{prefix}toolbox edit {number}` changes an answer"
    ).format(number=item.number, date=saved, prefix=prefix)
    return Card(
        title=f"#{item.number} {sheet.title}",
        description=description,
        fields=tuple(fields[:25]),
        footer=footer,
    )


def flag_note(flags: Flags, words: list[str]) -> str:
    """The data file's note plus the words found, bolded."""
    return "{note} {words}".format(
        note=flags.note, words=", ".join(f"**{escape_markdown(w)}**" for w in words)
    )


def markdown(sheet: Worksheet, item: Item, zone: ZoneInfo) -> str:
    """A Markdown document of one item, for keeping outside the bot."""
    lines = [
        f"# {sheet.title} (#{item.number})",
        "",
        _("Saved {date}, last changed {changed}.").format(
            date=item.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            changed=item.updated_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        ),
        "",
    ]
    for step in sheet.steps:
        if step.id not in item.answers:
            continue
        lines += [f"## {label(step)}", "", show_value(step, item.answers[step.id], zone), ""]
    return "\n".join(lines)


def as_json(sheet: Worksheet, item: Item) -> dict[str, Any]:
    """The item as plain data (answers exactly as stored)."""
    return {
        "number": item.number,
        "worksheet": sheet.id,
        "title": sheet.title,
        "created_at": item.created_at.isoformat(),
        "updated_at": item.updated_at.isoformat(),
        "answers": item.answers,
        "questions": {s.id: s.prompt for s in sheet.steps},
    }


def json_bytes(data: Any) -> bytes:
    """Readable UTF-8 JSON for an export file."""
    return json.dumps(data, ensure_ascii=False, indent=2).encode()


def words(names: Sequence[str]) -> str:
    """`problem_solving, balance` as `problem solving, balance`."""
    return ", ".join(n.replace("_", " ") for n in names)


def unknown_topic(topic: str, tags: Sequence[str], stages: Sequence[str]) -> str:
    """`worksheet list TOPIC` with a topic that is neither a 4-Point tag nor a stage."""
    return _("`{topic}` is not a topic I know. Topics: {tags}. Stages: {stages}.").format(
        topic=escape_markdown(topic)[:40], tags=words(tags), stages=words(stages)
    )


def sheet_list(
    sheets: Sequence[Worksheet], topic: str, prefix: str, problems: Sequence[object]
) -> str:
    """`worksheet list`: each worksheet with its summary and topics; broken files for
    moderators (`problems` is empty for everyone else)."""
    lines = [
        _("Worksheets for {topic}:").format(topic=topic.replace("_", " "))
        if topic
        else _("Worksheets you can work through privately:")
    ]
    for sheet in sheets:
        summary = _(sheet.summary) if sheet.summary else ""
        lines.append(f"- **{_(sheet.title)}** (`{sheet.id}`): {summary} *{words(sheet.tags)}*")
    if not sheets:
        lines.append(_("None yet."))
    lines.append(
        _("Start one with `{prefix}worksheet start NAME`; it continues in your DMs.").format(
            prefix=prefix
        )
    )
    if problems:
        lines.append(_("**Files with problems (not loaded):**"))
        lines += [f"- `{escape_markdown(str(p))}`" for p in problems]
    return "\n".join(lines)


def toolbox_empty(prefix: str) -> str:
    """`toolbox list` with nothing saved yet."""
    return _("Your toolbox is empty. `{prefix}worksheet list` shows tools to try.").format(
        prefix=prefix
    )


def toolbox_page(
    rows: Sequence[tuple[Item, Worksheet, str]],
    page: int,
    pages: int,
    zone: ZoneInfo,
    prefix: str,
) -> str:
    """`toolbox list`: one page of (item, its worksheet, a preview of its answers)."""
    lines = [_("Your toolbox (only you can see it):")]
    for item, sheet, preview in rows:
        day = item.created_at.astimezone(zone).strftime("%Y-%m-%d")
        line = f"- **#{item.number}** {_(sheet.title)} · {day}"
        if preview:
            line += f" · {escape_markdown(preview)}"
        if item.shares:
            names = ", ".join(escape_markdown(s.recipient_name) for s in item.shares)
            line += " · " + _("shared with {names}").format(names=names)
        lines.append(line)
    if pages > 1:
        lines.append(
            _("Page {page} of {pages}; `{prefix}toolbox list {next}` shows more.").format(
                page=page, pages=pages, prefix=prefix, next=page % pages + 1
            )
        )
    lines.append(
        _("`{prefix}toolbox view ID` shows one; `{prefix}toolbox export all` saves them.").format(
            prefix=prefix
        )
    )
    return "\n".join(lines)


def urge_logged(
    number: int, intensity: int, answers: dict[str, Any], typed: str, prefix: str
) -> str:
    """The answer to a quick `urge log`: what was noted, and how to add what helped."""
    parts = [_("strength {n}").format(n=intensity)]
    if "trigger" in answers:
        parts.append(_("set off by “{t}”").format(t=escape_markdown(answers["trigger"])))
    if "coping" in answers:
        parts.append(_("you did “{c}”").format(c=escape_markdown(answers["coping"])))
    if "minutes" in answers:
        parts.append(_("{m} minutes").format(m=answers["minutes"]))
    lines = [
        _("Logged as **#{n}**: {parts}. Noticing it is a skill in itself.").format(
            n=number, parts=", ".join(parts)
        )
    ]
    if typed and "coping" not in answers:
        lines.append(
            _(
                "To note what you did as well, put a `;` after the trigger, e.g. "
                "`{prefix}urge log 6 after work; walked it off`."
            ).format(prefix=prefix)
        )
    return "\n".join(lines)
