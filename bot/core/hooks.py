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


class Written:
    """Where member-written words were written: the `source` every text check is given.

    A check may answer the member privately wherever the words were written. What it may do
    beyond that (the crisis cog telling the community's moderators) depends on where, and
    `Written.shared` is the one rule for it: words the member wrote into a space the bot keeps
    for them alone (a journal entry, a worksheet, an urge log, any `Option.private_text`, an
    answer to an open dialogue) are private, whatever they say.
    """

    CHANNEL = "channel"  # plain chat in a community channel (the crisis cog's channel watch)
    DM = "dm"  # a direct message to the bot that answers no open dialogue
    DM_UNANSWERED = "dm-unanswered"  # such a message no command, dialogue or check took
    DIALOGUE = "dialogue"  # an answer to the member's open dialogue (a worksheet, a journal form)
    JOURNAL = "journal"  # a journal entry, an edit of one, feedback, a group-journal post
    WORKSHEET = "worksheet"  # a worksheet's or the urge log's words
    MEETINGS = "meetings"  # a meeting's title or note: announced to the community
    COMMAND = "command:"  # + the cog: the words typed with one of its commands
    PRIVATE = "private:"  # in front of a command source: its words are `Option.private_text`

    @classmethod
    def command(cls, cog: str, *, private: bool = False) -> str:
        """The source of the words typed with a command of cog `cog`; `private` when they
        fill (or, typed as text, may fill) an `Option.private_text` option."""
        return (cls.PRIVATE if private else "") + cls.COMMAND + cog

    @classmethod
    def shared(cls, source: str) -> bool:
        """True for words written where others read them or addressed to the bot: a channel,
        a command's ordinary or published option (in a channel or a DM), a direct message that
        answers no dialogue, a meeting's title or note. False for words kept for the member
        alone, and for any source not named here (a new one is private until it is added)."""
        return source in (cls.CHANNEL, cls.DM, cls.MEETINGS) or source.startswith(cls.COMMAND)


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
