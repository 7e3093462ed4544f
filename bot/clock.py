"""The app's notion of now: the system clock, or a virtual one that tests and the console move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the time in UTC."""

    def now(self) -> datetime:
        """Aware UTC now."""
        ...


class SystemClock:
    """Real time."""

    virtual = False

    def now(self) -> datetime:
        """Aware UTC now."""
        return datetime.now(UTC)


class VirtualClock:
    """Time that only moves when told, so a week of meetings runs in a second."""

    virtual = True

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the virtual clock needs an aware start time")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        """The current virtual time."""
        return self._now

    def set(self, moment: datetime) -> None:
        """Jump to `moment` (never backwards)."""
        moment = moment.astimezone(UTC)
        if moment < self._now:
            raise ValueError("the virtual clock cannot go backwards")
        self._now = moment

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by `delta` and return the new time."""
        self.set(self._now + delta)
        return self._now
