"""Moderators' set-up, validated settings, cogs per community, and the audit log."""

from cogs.admin.cog import AdminCog

COG = AdminCog

__all__ = ["COG", "AdminCog"]
