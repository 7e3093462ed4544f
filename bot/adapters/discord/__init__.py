"""Discord: slash commands, buttons, forms and DMs through discord.py.

Only this package imports `discord`; the core never sees a Discord object.
"""

from __future__ import annotations

from bot.adapters.discord.adapter import DiscordAdapter
from bot.platform import Host

__all__ = ["DiscordAdapter", "create"]


def create(app: Host) -> DiscordAdapter:
    """The adapter `circlebot run` starts when `discord.enabled` is set."""
    return DiscordAdapter(app)
