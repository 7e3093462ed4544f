"""Platform-neutral rich content that every adapter knows how to render.

Text uses a small Markdown subset: **bold**, *italic*, `code`, [label](https://x), `- ` bullets.
A `When` inside the text renders as a Discord timestamp or as the reader's local time elsewhere.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from string import Formatter
from typing import Any, TypeAlias


@dataclass(frozen=True)
class When:
    """A moment in time that each reader should see in their own zone."""

    at: datetime
    style: str = "full"  # full | date | time | relative

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("When needs an aware datetime")


@dataclass(frozen=True)
class Command:
    """A command the reader can type, e.g. `Command("meeting reminders off")`.

    Each adapter shows it as code with its own prefix (`/meeting reminders off` on Discord,
    `!meeting reminders off` on Matrix and the console), so a message written without a
    command context (a reminder from the outbox) still names a command that works when copied.
    """

    words: str


Part: TypeAlias = str | When | Command

NOW_SECONDS = 60  # closer than this to the present reads as "now", not "in 0 seconds"


def relative_time(at: datetime, now: datetime, locale: str = "en") -> str:
    """`in 3 hours` / `2 days ago` in `locale`; within a minute of `now`, the word for now.

    (Babel alone says "in 0 seconds" for a moment that has just passed.)"""
    from babel.dates import format_timedelta

    from bot.i18n import _

    delta = at - now
    if abs(delta.total_seconds()) < NOW_SECONDS:
        return _("now")
    return str(format_timedelta(delta, add_direction=True, locale=locale))


@dataclass(frozen=True)
class Field:
    """One labelled value on a card."""

    name: str
    value: str
    inline: bool = False


@dataclass(frozen=True)
class Card:
    """A titled block (a Discord embed, an HTML block on Matrix)."""

    title: str
    description: str = ""
    fields: tuple[Field, ...] = ()
    footer: str = ""


class ActionStyle(Enum):
    """How prominent a button is."""

    PRIMARY = "primary"
    SECONDARY = "secondary"
    SUCCESS = "success"
    DANGER = "danger"


@dataclass(frozen=True)
class Action:
    """A button with a stable id; the id comes back as untrusted input.

    `emoji` lets a reaction press it where a platform has no buttons (Matrix: a member reacts
    with it on the bot's message); `command` is the text command that does the same, without
    its prefix (`script next`), named beside the reaction as the typed alternative. `undo` is
    the id of the action that takes this press back, pressed for the member when they withdraw
    the press itself (remove the Matrix reaction that pressed it); empty: nothing to undo.
    """

    id: str
    label: str
    style: ActionStyle = ActionStyle.SECONDARY
    emoji: str = ""
    command: str = ""
    undo: str = ""


@dataclass(frozen=True)
class Attachment:
    """A file sent with the message (an .ics, a chart, an export)."""

    filename: str
    data: bytes
    mime: str = "application/octet-stream"


@dataclass(frozen=True)
class Message:
    """What the bot says. Build it with plain text or with `Message.of(...)` for times."""

    text: tuple[Part, ...] = ()
    card: Card | None = None
    actions: tuple[Action, ...] = ()
    attachment: Attachment | None = None
    ping_role: str | None = None  # a role a moderator explicitly opted in for announcements
    # An account (actor key) shown after the text as the platform's clickable name, without
    # notifying that person: how moderators find whom an alert is about.
    mention: str | None = None
    # A message its readers must notice (a crisis alert to moderators): where a platform sends
    # bot messages quietly by default (Matrix `m.notice`), this one is sent so it notifies.
    alert: bool = False
    long_text_prompt: str | None = None  # offer a form (modal) for a long answer where possible
    # A panel: a message with an identity in its place (`scripts` for a meeting's step panel).
    # An answer to a press on the live panel edits that message in place; any other post of
    # the same panel in the same place is a new message, and the previous one is retired (its
    # buttons disabled, its reactions no longer presses). None: an ordinary message.
    panel: str | None = None
    meta: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, *parts: Part, **kwargs: Any) -> Message:
        """Build a message from text parts, some of which may be `When` values."""
        return cls(text=tuple(p for p in parts if p != ""), **kwargs)

    @classmethod
    def coerce(cls, value: Message | str) -> Message:
        """Accept a bare string wherever a message is expected."""
        return value if isinstance(value, Message) else cls(text=(value,) if value else ())

    def with_prefix(self, prefix: str) -> Message:
        """The same message with text in front (e.g. "(late) ")."""
        return Message(
            text=(prefix, *self.text),
            card=self.card,
            actions=self.actions,
            attachment=self.attachment,
            ping_role=self.ping_role,
            mention=self.mention,
            alert=self.alert,
            long_text_prompt=self.long_text_prompt,
            panel=self.panel,
            meta=dict(self.meta),
        )

    def to_json(self) -> dict[str, Any]:
        """Serialise for the outbox table."""
        return {
            "text": [_part_json(p) for p in self.text],
            "card": None
            if self.card is None
            else {
                "title": self.card.title,
                "description": self.card.description,
                "fields": [[f.name, f.value, f.inline] for f in self.card.fields],
                "footer": self.card.footer,
            },
            "actions": [
                [a.id, a.label, a.style.value, a.emoji, a.command, a.undo] for a in self.actions
            ],
            "attachment": None
            if self.attachment is None
            else {
                "filename": self.attachment.filename,
                "mime": self.attachment.mime,
                "data": base64.b64encode(self.attachment.data).decode(),
            },
            "ping_role": self.ping_role,
            "mention": self.mention,
            "alert": self.alert,
            "long_text_prompt": self.long_text_prompt,
            "panel": self.panel,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Message:
        """Inverse of `to_json`."""
        parts: list[Part] = []
        for p in data.get("text", []):
            if isinstance(p, dict) and "command" in p:
                parts.append(Command(str(p["command"])))
            elif isinstance(p, dict):
                parts.append(When(datetime.fromisoformat(p["when"]), p.get("style", "full")))
            else:
                parts.append(str(p))
        card_data = data.get("card")
        card = None
        if card_data:
            card = Card(
                title=card_data["title"],
                description=card_data.get("description", ""),
                fields=tuple(Field(n, v, bool(i)) for n, v, i in card_data.get("fields", [])),
                footer=card_data.get("footer", ""),
            )
        att = data.get("attachment")
        return cls(
            text=tuple(parts),
            card=card,
            actions=tuple(
                Action(a[0], a[1], ActionStyle(a[2]), *a[3:6]) for a in data.get("actions", [])
            ),
            attachment=None
            if not att
            else Attachment(att["filename"], base64.b64decode(att["data"]), att["mime"]),
            ping_role=data.get("ping_role"),
            mention=data.get("mention"),
            alert=bool(data.get("alert", False)),
            long_text_prompt=data.get("long_text_prompt"),
            panel=data.get("panel"),
        )


def _part_json(part: Part) -> str | dict[str, str]:
    if isinstance(part, When):
        return {"when": part.at.isoformat(), "style": part.style}
    if isinstance(part, Command):
        return {"command": part.words}
    return part


def render_parts(
    parts: Sequence[Part], render_when: Callable[[When], str], prefix: str = "!"
) -> str:
    """Join text parts, letting the adapter decide how a `When` looks; a `Command` shows as
    code starting with `prefix` (`/` on Discord, the configured prefix elsewhere)."""
    out: list[str] = []
    for p in parts:
        if isinstance(p, When):
            out.append(render_when(p))
        elif isinstance(p, Command):
            out.append(f"`{prefix}{p.words}`")
        else:
            out.append(p)
    return "".join(out)


def fill_parts(template: str, values: Mapping[str, Sequence[Part]]) -> list[Part]:
    """Fill `{name}` placeholders of a (translated) template with parts, so a `When` or a
    `Command` inside a sentence still renders per reader and platform. A placeholder with no
    value is left out."""
    parts: list[Part] = []
    for literal, name, _spec, _conv in Formatter().parse(template):
        if literal:
            parts.append(literal)
        if name is not None:
            parts.extend(values.get(name, ()))
    return parts


_INLINE = re.compile(
    r"\\(?P<e>[\\*_`~|>\[\]])|\*\*(?P<b>.+?)\*\*|(?<![\w*])\*(?P<i>[^*\n]+?)\*(?!\w)|`(?P<c>[^`\n]+)`"
    r"|\[(?P<lt>[^\]\n]+)\]\((?P<lu>https?://[^)\s]+)\)"
)


def markdown_to_html(text: str) -> str:
    """Render our Markdown subset as the small HTML Matrix clients display."""
    out: list[str] = []
    in_list = False
    for line in text.split("\n"):
        bullet = line.startswith("- ")
        if bullet and not in_list:
            out.append("<ul>")
            in_list = True
        elif not bullet and in_list:
            out.append("</ul>")
            in_list = False
        body = _inline_html(line[2:] if bullet else line)
        out.append(f"<li>{body}</li>" if bullet else body + "<br>")
    if in_list:
        out.append("</ul>")
    rendered = "".join(out)
    return rendered[: -len("<br>")] if rendered.endswith("<br>") else rendered


def _inline_html(line: str) -> str:
    pieces: list[str] = []
    pos = 0
    for m in _INLINE.finditer(line):
        pieces.append(html.escape(line[pos : m.start()], quote=False))
        if m.group("e") is not None:
            pieces.append(html.escape(m.group("e"), quote=False))
        elif m.group("b") is not None:
            pieces.append(f"<strong>{html.escape(m.group('b'), quote=False)}</strong>")
        elif m.group("i") is not None:
            pieces.append(f"<em>{html.escape(m.group('i'), quote=False)}</em>")
        elif m.group("c") is not None:
            pieces.append(f"<code>{html.escape(m.group('c'), quote=False)}</code>")
        else:
            url = html.escape(m.group("lu"), quote=True)
            pieces.append(f'<a href="{url}">{html.escape(m.group("lt"), quote=False)}</a>')
        pos = m.end()
    pieces.append(html.escape(line[pos:], quote=False))
    return "".join(pieces)


def markdown_to_plain(text: str) -> str:
    """Strip our Markdown subset for a plain-text body or a terminal."""

    def plain(m: re.Match[str]) -> str:
        if m.group("lt") is not None:
            return f"{m.group('lt')} ({m.group('lu')})"
        return m.group("e") or m.group("b") or m.group("i") or m.group("c") or ""

    return _INLINE.sub(plain, text)


def spell_commands(
    message: Message, prefix: str, command_words: Callable[[tuple[str, ...]], tuple[str, ...]]
) -> Message:
    """`message` with every command it names (a `Command` part, or code starting with
    `prefix` such as `` `/crisis verify ID` ``) spelled as the platform types it:
    `command_words` maps a command's path to its words there (Discord puts staff commands
    under top-level commands of their own: `/crisis-mod verify ID`). Words after the longest
    known path are kept; text platforms, whose words are the paths, get `message` back."""
    if message.card is None and not any(
        isinstance(p, Command) or (isinstance(p, str) and prefix in p) for p in message.text
    ):
        return message  # names no command (most answers): nothing to look up
    return _spell_every_part(message, prefix, command_words)


def _spell_every_part(
    message: Message, prefix: str, command_words: Callable[[tuple[str, ...]], tuple[str, ...]]
) -> Message:
    """`spell_commands` without its quick answer for a message that names no command."""

    def words(text: str) -> str:
        split = text.split(" ")
        for n in range(min(3, len(split)), 0, -1):
            path = tuple(split[:n])
            spelled = command_words(path)
            if spelled != path:
                return " ".join((*spelled, *split[n:]))
        return text

    code = re.compile("`" + re.escape(prefix) + r"([^`\n]+)`")

    def text(value: str) -> str:
        if prefix not in value:
            return value
        return code.sub(lambda m: f"`{prefix}{words(m.group(1))}`", value)

    parts = tuple(
        Command(words(p.words)) if isinstance(p, Command) else text(p) if isinstance(p, str) else p
        for p in message.text
    )
    card = message.card
    if card is not None:
        card = replace(
            card,
            title=text(card.title),
            description=text(card.description),
            fields=tuple(replace(f, name=text(f.name), value=text(f.value)) for f in card.fields),
            footer=text(card.footer),
        )
    if parts == message.text and card == message.card:
        return message
    return replace(message, text=parts, card=card)
