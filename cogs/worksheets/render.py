"""How a saved worksheet looks: a card in chat, and Markdown or JSON files to keep."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.core import N_, AnswerKind, Card, Field, _, escape_markdown
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


def item_choice(item: Item, sheet: Worksheet, preview: str) -> str:
    """An autocomplete suggestion for one of the member's items: `#3 Cost-benefit analysis ·
    late nights`, at most 100 characters (Discord's limit for a choice's name)."""
    line = f"#{item.number} {_(sheet.title)}" + (f" · {preview}" if preview else "")
    return line[:100]


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


# The cog's replies: errors, questions and confirmations, each in the reader's language
# (cog.py only chooses which one to send).


def tools_heading() -> str:
    return _("Tools that often help right now:")


def term_hint() -> str:
    return _("Start an item with `long:` or `short:` to mark it, if you like.")


def lost_item() -> str:
    return _("I lost track of which item to change; nothing was changed.")


def share_target_expected() -> str:
    return _("Name one facilitator, or a group journal with `group:NAME`.")


def share_with_self() -> str:
    return _("That's you; your toolbox is already yours to see.")


def shared_notice(name: object) -> str:
    return _(
        "**{name}** shared this from their toolbox with you. Please keep it private; they "
        "can withdraw it at any time."
    ).format(name=name)


def no_group_journals() -> str:
    return _("Group journals are not available here.")


def withdrawn_notice() -> str:
    return _(
        "A member has withdrawn a worksheet they shared with you. Please delete the "
        "copy above in this conversation. Thank you for respecting their choice."
    )


def ask_answer_number() -> str:
    return _("Which answer would you like to change? Its number is enough.")


def sheet_saved(n: object, prefix: object) -> str:
    return _(
        "Well done for working through this. It's saved in your toolbox as **#{n}**; "
        "only you can see it. `{prefix}toolbox view {n}` shows it."
    ).format(n=n, prefix=prefix)


def item_updated(n: object, prefix: object) -> str:
    return _("Updated **#{n}**. `{prefix}toolbox view {n}` shows it.").format(n=n, prefix=prefix)


def did_you_mean(id: object) -> str:
    return _(" Did you mean `{id}`?").format(id=id)


# What cancelling an edit leaves as it was (translated where the dialogue shows it).
EDIT_KEPT = N_("Your toolbox item stays as it was.")


def did_you_mean_sheet(id: object, title: object) -> str:
    return _(" Did you mean `{id}` ({title})?").format(id=id, title=title)


def sheet_not_paused(title: object, paused: object, prefix: object) -> str:
    if not paused:
        return _(
            "You have no paused **{title}**, nor any other paused worksheet. "
            "`{prefix}worksheet start` begins one."
        ).format(title=title, prefix=prefix)
    return _(
        "You have no paused **{title}**. Paused: {paused}; `{prefix}worksheet resume` "
        "continues the last one, or name it."
    ).format(title=title, paused=paused, prefix=prefix)


def no_worksheet(name: object, hint: object, prefix: object) -> str:
    return _(
        "There is no worksheet called `{name}`.{hint} `{prefix}worksheet list` shows them."
    ).format(name=name, hint=hint, prefix=prefix)


def strength(n: object) -> str:
    return _("strength {n}").format(n=n)


def nothing_to_export() -> str:
    return _("Your toolbox is empty, so there is nothing to export.")


def item_number_expected() -> str:
    return _("Give an item's number, or `all`.")


def item_deleted(n: object) -> str:
    return _("Deleted #{n}.").format(n=n)


def item_unshared(n: object) -> str:
    return _("**#{n}** is no longer shared.").format(n=n)


def urge_log_unavailable() -> str:
    return _("The urge log dialogue isn't available right now.")


def urge_insights_hint(prefix: object) -> str:
    return _("Noticing an urge is a skill. `{prefix}urge insights` shows patterns.").format(
        prefix=prefix
    )


def nothing_paused(prefix: object) -> str:
    return _("You have nothing paused. `{prefix}worksheet list` shows what you can start.").format(
        prefix=prefix
    )


def sheet_unavailable(n: object) -> str:
    return _(
        "That worksheet isn't available right now, so I can't reopen it. You can "
        "still view, export or delete #{n}."
    ).format(n=n)


def item_sent(n: object, name: object, prefix: object) -> str:
    return _(
        "Sent **#{n}** to {name}. They see exactly what `{prefix}toolbox view {n}` "
        "shows now. `{prefix}toolbox unshare {n}` withdraws it."
    ).format(n=n, name=name, prefix=prefix)


def sent_unnamed(name: object, prefix: object) -> str:
    """After `item_sent`, for a sharer without a pseudonym here."""
    return _(
        'It reaches them as shared by "{name}", as you have no pseudonym here; '
        "`{prefix}me name` sets one."
    ).format(name=name, prefix=prefix)


def item_not_shared(n: object) -> str:
    return _("#{n} isn't shared with anyone.").format(n=n)


def group_label(name: object) -> str:
    return _("group {name}").format(name=name)


def item_posted(n: object, group: object, code: object, prefix: object) -> str:
    return _(
        "Posted **#{n}** in the group journal **{group}** as entry `{code}`. "
        "`{prefix}toolbox unshare {n}` takes it out again."
    ).format(n=n, group=group, code=code, prefix=prefix)


def copy_asked_deleted(name: object) -> str:
    return _("{name} already had a copy; I've asked them to delete it.").format(name=name)


def answer_kept(n: object) -> str:
    return _("Nothing changed; **#{n}** keeps its answer.").format(n=n)


def export_markdown_caption() -> str:
    return _("Your export, as Markdown. Keep it somewhere safe.")


def export_json_caption() -> str:
    return _("And the same as JSON.")


def taken_out_of_journal(name: object) -> str:
    return _("Taken out of the {name} journal.").format(name=name)


def copy_withdrawn(name: object) -> str:
    return _("{name} had not received it yet and now won't.").format(name=name)


def copy_deleted(name: object) -> str:
    return _("The copy I had sent {name} was deleted from their messages.").format(name=name)


def copy_delete_pending(name: object) -> str:
    return _(
        "The copy I had sent {name} will be deleted from their messages when I "
        "reach the platform again."
    ).format(name=name)


def no_urges(prefix: object) -> str:
    return _(
        "No urges logged yet. `{prefix}urge log 6 after work; walked it off` notes one in a line."
    ).format(prefix=prefix)


def edit_intro(title: object) -> str:
    return _(
        "Let's change one answer in **{title}**. A new answer replaces the old "
        "one, `keep` leaves it as it is, and `cancel` stops without changing "
        "anything."
    ).format(title=title)


def no_such_answer(title: object, answer: object, n: object) -> str:
    return _(
        "**{title}** has no answer “{answer}”; its answers are numbered 1 to {n}. "
        "Pick one in the dialogue."
    ).format(title=title, answer=answer, n=n)
