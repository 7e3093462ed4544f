"""Platform adapters. Only bot/adapters/discord imports discord; only bot/adapters/matrix, nio."""

from __future__ import annotations

import asyncio
from typing import Protocol


class PlatformAdapter(Protocol):
    """What `circlebot run` starts for each enabled platform."""

    platform: str

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, handle events until `stop` is set, then disconnect cleanly."""
