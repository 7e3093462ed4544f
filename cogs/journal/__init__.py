"""Journals: private entries, entries shared for encouragement, and small group journals."""

from cogs.journal.cog import JournalCog

COG = JournalCog

__all__ = ["COG", "JournalCog"]
