"""Buttons and forms whose custom ids are stable, so they keep working after a restart.

Buttons are discord.py dynamic items: any message the bot ever sent is handled by pattern, not
by an in-memory view. Form (modal) submits are read in `on_interaction` for the same reason, so
a form opened before a restart still arrives. Custom ids come back from Discord as untrusted
input; the core checks them against the member's own state.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from typing import Any

import discord

from bot.adapters.discord.client import events_of
from bot.core.dialogue import ANSWER_MAX
from bot.i18n import _

LONG_TEXT_PREFIX = "cbl:"
FORM_PREFIX = "cbm:"
FORM_INPUT = "text"

Button = discord.ui.Button[discord.ui.View]


def prompt_digest(prompt: str) -> str:
    """A short stable id for a question, so a stale form button can be recognised."""
    return hashlib.sha256(prompt.encode()).hexdigest()[:10]


class ActionButton(
    discord.ui.DynamicItem[Button],
    template=r"(?!" + re.escape(LONG_TEXT_PREFIX) + r")(?P<action>.{1,100})",
):
    """A core `Action`; its id goes to `dispatcher.handle_action` unchanged."""

    def __init__(
        self,
        action_id: str,
        label: str = "…",
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        emoji: str | None = None,
    ) -> None:
        super().__init__(
            discord.ui.Button(label=label, style=style, custom_id=action_id, emoji=emoji)
        )
        self.action_id = action_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> ActionButton:
        return cls(match["action"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await events_of(interaction).on_action(interaction, self.action_id)


class LongTextButton(
    discord.ui.DynamicItem[Button],
    template=re.escape(LONG_TEXT_PREFIX) + r"(?P<digest>[0-9a-f]{10})",
):
    """Opens a form for an answer too long to type comfortably in a chat line."""

    def __init__(self, digest: str, label: str = "…") -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.primary,
                custom_id=LONG_TEXT_PREFIX + digest,
            )
        )
        self.digest = digest

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> LongTextButton:
        return cls(match["digest"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await events_of(interaction).on_long_text(interaction, self.digest)


class LongTextForm(discord.ui.Modal):
    """The form itself: one paragraph field. Its submit is read in `on_interaction`."""

    def __init__(self, digest: str, placeholder: str) -> None:
        super().__init__(title=_("Your answer"), custom_id=FORM_PREFIX + digest, timeout=None)
        self.add_item(
            discord.ui.TextInput(
                label=_("Your answer"),
                style=discord.TextStyle.paragraph,
                custom_id=FORM_INPUT,
                placeholder=placeholder,
                max_length=ANSWER_MAX,
            )
        )


def _walk(components: Any) -> Iterator[Mapping[str, Any]]:
    for component in components or []:
        yield component
        yield from _walk(component.get("components"))
        if isinstance(component.get("component"), Mapping):
            yield from _walk([component["component"]])


def submitted_text(data: Mapping[str, Any]) -> str:
    """The form's text, whether Discord nested it in action rows or in labels."""
    for component in _walk(data.get("components")):
        if component.get("custom_id") == FORM_INPUT and component.get("type") == 4:
            return str(component.get("value") or "")
    return ""
