"""One place for outbound sanitising, shared by every adapter.

Nothing a member typed may ping anyone: mass mentions (@everyone, @here, @room) and mention
tokens (<@id>, <@!id>, <@&id>) are defused with a zero-width space before they leave the bot.
Platform-level guards (allowed_mentions on Discord, empty m.mentions on Matrix) sit on top.

Text that no platform or database can carry (NUL, lone UTF-16 surrogates, which arrive from
JSON escapes or undecodable terminal bytes) is refused where it comes in (`unstorable`) and
replaced with U+FFFD on the way out, so one odd character never loses a whole reply.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.core.message import Card, Field, Message, Part

ZWSP = "\u200b"
REPLACEMENT = "\ufffd"
_MASS = re.compile(r"[@＠](everyone|here|room|channel)", re.IGNORECASE)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_TOKEN = re.compile(r"<(@[!&]?|#)(\d+)>")
_MARKDOWN_SPECIAL = re.compile(r"([\\*_`~|>\[\]])")


def unstorable(text: str) -> bool:
    """True when `text` holds a character the database drivers cannot encode (NUL, surrogates)."""
    return _UNSTORABLE.search(text) is not None


def defuse(text: str) -> str:
    """Make mentions in `text` inert while keeping them readable."""
    text = _UNSTORABLE.sub(REPLACEMENT, text)
    if "@" not in text and "＠" not in text and "<" not in text:
        return text  # no mention can be in it (most text): the two searches below are skipped
    text = _MASS.sub(lambda m: f"@{ZWSP}{m.group(1)}", text)
    return _TOKEN.sub(lambda m: f"<{m.group(1)}{ZWSP}{m.group(2)}>", text)


def escape_markdown(text: str) -> str:
    """Escape member-written text before putting it inside our Markdown."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def clean(message: Message) -> Message:
    """Defuse every piece of text in an outgoing message; adapters call this before sending."""
    parts: list[Part] = []
    for p in message.text:  # joined first: "@every" + "one" must not meet after defusing
        last = parts[-1] if parts else None
        if isinstance(p, str) and isinstance(last, str):
            parts[-1] = last + p
        else:
            parts.append(p)

    card = message.card
    if card is not None:
        card = Card(
            title=defuse(card.title),
            description=defuse(card.description),
            fields=tuple(Field(defuse(f.name), defuse(f.value), f.inline) for f in card.fields),
            footer=defuse(card.footer),
        )
    text = tuple(defuse(p) if isinstance(p, str) else p for p in parts)
    actions = tuple(replace(a, label=defuse(a.label)) for a in message.actions)
    if text == message.text and card == message.card and actions == message.actions:
        return message  # nothing needed defusing (most answers); a Message is frozen
    return replace(message, text=text, card=card, actions=actions)
