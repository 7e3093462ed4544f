"""Facilitator scripts: run a meeting step by step, with quiet timers and a speaking queue."""

from cogs.scripts.cog import ScriptsCog

COG = ScriptsCog

__all__ = ["COG", "ScriptsCog"]
