"""Crisis lines for where a member is, and a calm private answer to crisis phrases."""

from cogs.crisis.cog import CrisisCog

COG = CrisisCog

__all__ = ["COG", "CrisisCog"]
