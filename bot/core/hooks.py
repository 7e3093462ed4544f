"""Checks that run on what members write (DMs, journal entries, worksheet answers).

The crisis cog registers its phrase detector here; other cogs call `run` on text they receive,
so no cog needs to import another.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.core.context import Context

log = logging.getLogger("circlebot.hooks")

TextCheck = Callable[[Context, str, str], Awaitable[bool | None]]  # True: it answered


class TextChecks:
    """An ordered list of checks; a failing check is logged and never blocks the member."""

    def __init__(self) -> None:
        self._checks: list[TextCheck] = []

    def add(self, check: TextCheck) -> None:
        """Register a check `(ctx, text, source)`; adding one again keeps one copy."""
        if check not in self._checks:
            self._checks.append(check)

    def remove(self, check: TextCheck) -> None:
        """Unregister (a cog unloading)."""
        if check in self._checks:
            self._checks.remove(check)

    async def run(self, ctx: Context, text: str, source: str) -> bool:
        """Run every check on one piece of member-written text; True if one answered."""
        answered = False
        for check in list(self._checks):
            try:
                answered = bool(await check(ctx, text, source)) or answered
            except Exception:
                log.exception("a text check failed on %s text", source)
        return answered
