"""Help, about, and the member settings every other cog reads (`me`)."""

from cogs.general.cog import GeneralCog

COG = GeneralCog

__all__ = ["COG", "GeneralCog"]
