"""The words of the meetings cog: how its facts read to members."""

from __future__ import annotations

from babel.lists import format_list

from bot.core import _, current_language, ngettext


def span(minutes: int) -> str:
    """`1 day`, `3 hours`, `90 minutes`: the largest whole unit that states `minutes` exactly."""
    if minutes and minutes % 1440 == 0:
        days = minutes // 1440
        return ngettext("{n} day", "{n} days", days).format(n=days)
    if minutes and minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("{n} hour", "{n} hours", hours).format(n=hours)
    return ngettext("{n} minute", "{n} minutes", minutes).format(n=minutes)


def announced(offsets_minutes: list[int]) -> str:
    """When announcements go out: `Meetings here are announced 1 day before, 1 hour before
    and when they start.`"""
    moments = [
        _("when they start") if m == 0 else _("{span} before").format(span=span(m))
        for m in sorted(offsets_minutes, reverse=True)
    ]
    listed = format_list(moments, locale=current_language().replace("-", "_"))
    return _("Meetings here are announced {moments}.").format(moments=listed)
