"""Message -> Matrix event content: an `m.notice` with HTML and plain bodies that pings nobody.

An alert (`Message.alert`, a crisis alert to moderators) is an `m.text` instead, so the default
push rules notify the room's readers (`.m.rule.suppress_notices` silences every `m.notice`);
its `m.mentions` stays empty, so nobody is highlighted.

Pure functions, so what members see can be checked without a homeserver. The caller has already
passed the message through `bot.safety.clean`; `"m.mentions": {}` is the platform-level guard
on top, so even a display name in the text never notifies anyone.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from bot.core.convert import zone_label
from bot.core.message import (
    Action,
    Attachment,
    Message,
    When,
    markdown_to_html,
    markdown_to_plain,
    relative_time,
)
from bot.core.message import render_parts as join_parts
from bot.i18n import _

HTML_FORMAT = "org.matrix.custom.html"
_PATTERNS = {"date": "EEE d MMM y", "time": "HH:mm"}


def when_renderer(zone: ZoneInfo, now: datetime, locale: str = "en") -> Callable[[When], str]:
    """Show a moment in the reader's zone, the way the console does."""

    def render(when: When) -> str:
        if when.style == "relative":
            return relative_time(when.at, now, locale)
        pattern = _PATTERNS.get(when.style, "EEE d MMM y, HH:mm")
        local = when.at.astimezone(zone)
        text = str(format_datetime(local, pattern, tzinfo=zone, locale=locale))
        if when.style != "date":  # BST, AEDT: the name people read, not "+0100"
            text += " " + zone_label(local)
        if when.style == "full":
            text += f" ({relative_time(when.at, now, locale)})"
        return text

    return render


def text_content(
    message: Message, render_when: Callable[[When], str], prefix: str
) -> dict[str, Any] | None:
    """The notice for text, card and its buttons; None when the message is only a file.
    `prefix` starts every command the text names (the configured `command_prefix`).

    Buttons that each have an emoji are offered as reactions, each naming its typed command
    (`prefix` + `Action.command`) as the alternative; other buttons become numbered choices
    (the dialogue engine accepts the number as an answer)."""
    markdown = join_parts(message.text, render_when, prefix)
    plain: list[str] = [markdown_to_plain(markdown)] if markdown else []
    rich: list[str] = [markdown_to_html(markdown)] if markdown else []
    card = message.card
    if card is not None:
        plain.append(f"== {markdown_to_plain(card.title)} ==")
        block = [f"<h4>{markdown_to_html(card.title)}</h4>"]
        if card.description:
            plain.append(markdown_to_plain(card.description))
            block.append(f"<p>{markdown_to_html(card.description)}</p>")
        if card.fields:
            block.append("<dl>")
            for f in card.fields:
                plain.append(f"{markdown_to_plain(f.name)}: {markdown_to_plain(f.value)}")
                block.append(
                    f"<dt><strong>{markdown_to_html(f.name)}</strong></dt>"
                    f"<dd>{markdown_to_html(f.value)}</dd>"
                )
            block.append("</dl>")
        if card.footer:
            plain.append(f"({markdown_to_plain(card.footer)})")
            block.append(f"<p><em>{markdown_to_html(card.footer)}</em></p>")
        rich.append("<blockquote>" + "".join(block) + "</blockquote>")
    if message.actions and all(a.emoji for a in message.actions):
        hint, hint_html = reaction_hint(message.actions, prefix)
        plain.append(hint)
        rich.append(hint_html)
    elif message.actions:
        # No buttons on Matrix: numbered choices the dialogue engine accepts as answers.
        labels = [markdown_to_plain(a.label) for a in message.actions]
        if not _already_listed(markdown, labels) and not all(x.isdigit() for x in labels):
            plain.extend(f"{i}. {label}" for i, label in enumerate(labels, start=1))
            items = "".join(f"<li>{html.escape(label, quote=False)}</li>" for label in labels)
            rich.append(f"<ol>{items}</ol>")
    user = (message.mention or "").removeprefix("matrix:")
    if message.mention and message.mention.startswith("matrix:") and user.startswith("@"):
        # A pill that opens the account, and never a ping. Since spec v1.7 (intentional
        # mentions, MSC3952) a client or server highlights a user only when `m.mentions`
        # lists them (`.m.rule.is_user_mention`); with `m.mentions` present, even empty, the
        # legacy rules that matched a display name or user id in the body are off. So the
        # link and id identify the member to moderators without highlighting the member. The
        # alert itself is an `m.text`, so the room's readers (the moderators) are notified as
        # for any message. A pre-1.7 homeserver or client would still match the id in the
        # body. The Synapse e2e test checks the push rules' verdict.
        plain.append(user)
        link = html.escape(f"https://matrix.to/#/{user}", quote=True)
        rich.append(f'<a href="{link}">{html.escape(user, quote=False)}</a>')
    if not plain:
        return None
    return {
        # Bots speak in notices, which notify nobody; an alert must reach its readers.
        "msgtype": "m.text" if message.alert else "m.notice",
        "body": "\n".join(plain),
        "format": HTML_FORMAT,
        "formatted_body": "<br>".join(rich),
        "m.mentions": {},
    }


def reaction_hint(actions: tuple[Action, ...], prefix: str) -> tuple[str, str]:
    """How to press the buttons: react with the emoji, or type the command; plain and HTML."""
    intro = _("React to choose, or type the command:")
    plain: list[str] = []
    rich: list[str] = []
    for action in actions:
        label = markdown_to_plain(action.label)
        typed = f" ({prefix}{action.command})" if action.command else ""
        plain.append(f"{action.emoji} {label}{typed}")
        code = f" (<code>{html.escape(prefix + action.command, quote=False)}</code>)"
        rich.append(
            f"{action.emoji} {html.escape(label, quote=False)}{code if action.command else ''}"
        )
    return (
        intro + " " + " · ".join(plain),
        f"<em>{html.escape(intro, quote=False)}</em> " + " · ".join(rich),
    )


def edit_content(content: dict[str, Any], event_id: str) -> dict[str, Any]:
    """`content` as an edit of `event_id` (`m.replace`): clients show the new content in the
    original's place; the fallback body starts with `* ` for clients without edits."""
    fallback: dict[str, Any] = {
        key: content[key] for key in ("msgtype", "format", "m.mentions") if key in content
    }
    return {
        **fallback,
        "body": "* " + str(content.get("body", "")),
        "formatted_body": "* " + str(content.get("formatted_body", "")),
        "m.new_content": content,
        "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
    }


def _already_listed(markdown: str, labels: list[str]) -> bool:
    """Choice steps already print `1. label` lines (and scales ask for a number); skip those."""
    return all(f"{i}. {label}" in markdown for i, label in enumerate(labels, start=1))


def file_content(attachment: Attachment, uri: str, keys: dict[str, Any] | None) -> dict[str, Any]:
    """An `m.image` or `m.file` event; encrypted rooms carry the key under `file`, not `url`."""
    content: dict[str, Any] = {
        "msgtype": "m.image" if attachment.mime.startswith("image/") else "m.file",
        "body": attachment.filename,
        "filename": attachment.filename,
        "info": {"mimetype": attachment.mime, "size": len(attachment.data)},
        "m.mentions": {},
    }
    if keys is None:
        content["url"] = uri
    else:
        content["file"] = {**keys, "url": uri}
    return content


def pointer_content(text: str) -> dict[str, Any]:
    """A short plain notice (the "I've sent you a private reply" pointer)."""
    return {
        "msgtype": "m.notice",
        "body": text,
        "format": HTML_FORMAT,
        "formatted_body": html.escape(text, quote=False),
        "m.mentions": {},
    }
