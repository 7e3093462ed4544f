"""Worksheets in private DMs, the member's toolbox, and the urge log."""

from __future__ import annotations

from cogs.worksheets.cog import WorksheetsCog

COG = WorksheetsCog
