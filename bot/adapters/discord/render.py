"""A core `Message` as what discord.py sends, kept inside Discord's limits on purpose.

Discord rejects a whole message for one field over a limit, and a rejected reminder is a lost
one. So content over 2,000 characters is split at line breaks into several messages, and embed
parts are trimmed with an ellipsis, before anything is sent.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import discord

from bot.adapters.discord.components import ActionButton, LongTextButton, prompt_digest
from bot.core.message import Action, ActionStyle, Attachment, Card, Message, When, render_parts
from bot.i18n import _
from bot.safety import clean

PREFIX = "/"  # how members start a command on Discord: slash commands
CONTENT_MAX = 2000
EMBED_TOTAL_MAX = 6000
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
BUTTON_LABEL_MAX = 80
BUTTONS_MAX = 25
CUSTOM_ID_MAX = 100
PLACEHOLDER_MAX = 100
EMPTY = "\u200b"  # Discord refuses empty embed fields; a zero-width space shows nothing

_STYLES = {
    ActionStyle.PRIMARY: discord.ButtonStyle.primary,
    ActionStyle.SECONDARY: discord.ButtonStyle.secondary,
    ActionStyle.SUCCESS: discord.ButtonStyle.success,
    ActionStyle.DANGER: discord.ButtonStyle.danger,
}


def trim(text: str, limit: int) -> str:
    """Cut `text` to `limit` characters, marking the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    return text[: limit - 1] + "…"


def render_when(when: When) -> str:
    """A Discord timestamp: every reader sees their own local time."""
    unix = int(when.at.timestamp())
    if when.style == "date":
        return f"<t:{unix}:D>"
    if when.style == "time":
        return f"<t:{unix}:t>"
    if when.style == "relative":
        return f"<t:{unix}:R>"
    return f"<t:{unix}:F> (<t:{unix}:R>)"


def split_content(text: str, limit: int = CONTENT_MAX) -> list[str]:
    """Pieces of at most `limit` characters, broken at line breaks (else at spaces)."""
    lines: list[str] = []
    for line in text.split("\n"):
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit + 1)
            cut = cut if cut > 0 else limit
            lines.append(line[:cut])
            line = line[cut:].lstrip(" ")
        lines.append(line)
    chunks: list[str] = []
    current: str | None = None
    for line in lines:
        if current is None:
            current = line
        elif len(current) + 1 + len(line) <= limit:
            current += "\n" + line
        else:
            chunks.append(current)
            current = line
    if current is not None:
        chunks.append(current)
    return [chunk for chunk in chunks if chunk.strip()]


def build_embed(card: Card) -> discord.Embed:
    """The card as an embed, every part trimmed to its own limit and all to 6,000 together."""
    budget = EMBED_TOTAL_MAX

    def take(text: str, limit: int) -> str:
        nonlocal budget
        cut = trim(text, min(limit, budget))
        budget -= len(cut)
        return cut

    title = take(card.title, EMBED_TITLE_MAX)
    footer = take(card.footer, FOOTER_MAX)
    description = take(card.description, EMBED_DESCRIPTION_MAX)
    embed = discord.Embed(title=title or None, description=description or None)
    for item in card.fields[:EMBED_FIELDS_MAX]:
        if budget < 2:
            break
        name = take(item.name or EMPTY, min(FIELD_NAME_MAX, budget - 1))
        value = take(item.value or EMPTY, FIELD_VALUE_MAX)
        embed.add_field(name=name, value=value, inline=item.inline)
    if footer:
        embed.set_footer(text=footer)
    return embed


def build_view(
    actions: tuple[Action, ...], long_text_prompt: str | None, *, disabled: bool = False
) -> discord.ui.View | None:
    """Buttons in rows of five (at most 25); a form button first when a long answer fits.
    `disabled`: shown greyed out and not pressable (a panel a newer one replaced)."""
    if not long_text_prompt and not actions:
        return None  # most answers: no View object to build per message
    view = discord.ui.View(timeout=None)
    if long_text_prompt:
        view.add_item(LongTextButton(prompt_digest(long_text_prompt), _("Write a longer answer")))
    usable = [a for a in actions if 0 < len(a.id) <= CUSTOM_ID_MAX]
    for action in usable[: BUTTONS_MAX - len(view.children)]:
        label = trim(action.label, BUTTON_LABEL_MAX) or "…"
        view.add_item(ActionButton(action.id, label, _STYLES[action.style], action.emoji or None))
    for item in view.children:
        if isinstance(item, discord.ui.DynamicItem):
            item.item.disabled = disabled
    return view if view.children else None


@dataclass(frozen=True)
class Outgoing:
    """One Discord message: text, and on the last piece the embed, buttons and file."""

    content: str | None
    embed: discord.Embed | None = None
    view: discord.ui.View | None = None
    attachment: Attachment | None = None
    allowed_mentions: discord.AllowedMentions = field(default_factory=discord.AllowedMentions.none)

    def kwargs(self, *, editing: bool = False) -> dict[str, Any]:
        """Keyword arguments for `send`, `send_message`, `followup.send` or (editing) `edit_*`.

        A file is built afresh for each call: a `discord.File` is consumed by one upload.
        """
        out: dict[str, Any] = {"allowed_mentions": self.allowed_mentions}
        if self.content is not None:
            out["content"] = self.content
        if self.embed is not None:
            out["embed"] = self.embed
        if self.view is not None or editing:
            out["view"] = self.view  # editing: no buttons now means none left on the message
        if self.attachment is not None:
            file = discord.File(io.BytesIO(self.attachment.data), self.attachment.filename)
            if editing:
                out["attachments"] = [file]
            else:
                out["file"] = file
        return out


def render(message: Message, *, reserve: int = 0) -> list[Outgoing]:
    """Clean (defuse mentions) and split a message; empty when there is nothing to send.

    `reserve` characters of every piece's content are left free (for a delivery marker).
    """
    message = clean(message)
    text = render_parts(message.text, render_when, PREFIX)
    user = (message.mention or "").removeprefix("discord:")
    if user.isdigit():
        # Added after cleaning, so it stays a clickable name; allowed_mentions keeps it silent.
        text = f"{text}\n<@{user}>" if text else f"<@{user}>"
    allowed = discord.AllowedMentions.none()
    if message.ping_role and message.ping_role.isdigit():
        text = f"<@&{message.ping_role}> {text}"
        allowed = discord.AllowedMentions(
            everyone=False, users=False, roles=[discord.Object(int(message.ping_role))]
        )
    pieces: list[str | None] = list(split_content(text, CONTENT_MAX - reserve))
    embed = build_embed(message.card) if message.card is not None else None
    view = build_view(message.actions, message.long_text_prompt)
    if not pieces:
        if embed is None and view is None and message.attachment is None:
            return []
        pieces = [None]
    parts = [Outgoing(piece, allowed_mentions=allowed) for piece in pieces[:-1]]
    parts.append(Outgoing(pieces[-1], embed, view, message.attachment, allowed))
    return parts
