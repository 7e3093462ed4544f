"""One place for outbound sanitising, shared by every adapter.

Nothing a member typed may ping anyone: mass mentions (@everyone, @here, @room) and mention
tokens (<@id>, <@!id>, <@&id>) are defused with a zero-width space before they leave the bot.
Platform-level guards (allowed_mentions on Discord, empty m.mentions on Matrix) sit on top.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.core.message import Action, Card, Field, Message, Part

ZWSP = "\u200b"
_MASS = re.compile(r"[@＠](everyone|here|room|channel)\b", re.IGNORECASE)
_TOKEN = re.compile(r"<(@[!&]?|#)(\d+)>")
_MARKDOWN_SPECIAL = re.compile(r"([\\*_`~|>\[\]])")


def defuse(text: str) -> str:
    """Make mentions in `text` inert while keeping them readable."""
    text = _MASS.sub(lambda m: f"@{ZWSP}{m.group(1)}", text)
    return _TOKEN.sub(lambda m: f"<{m.group(1)}{ZWSP}{m.group(2)}>", text)


def escape_markdown(text: str) -> str:
    """Escape member-written text before putting it inside our Markdown."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def clean(message: Message) -> Message:
    """Defuse every piece of text in an outgoing message; adapters call this before sending."""

    def part(p: Part) -> Part:
        return defuse(p) if isinstance(p, str) else p

    card = message.card
    if card is not None:
        card = Card(
            title=defuse(card.title),
            description=defuse(card.description),
            fields=tuple(Field(defuse(f.name), defuse(f.value), f.inline) for f in card.fields),
            footer=defuse(card.footer),
        )
    return replace(
        message,
        text=tuple(part(p) for p in message.text),
        card=card,
        actions=tuple(Action(a.id, defuse(a.label), a.style) for a in message.actions),
    )
