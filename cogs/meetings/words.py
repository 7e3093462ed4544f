"""Words the meetings cog's replies (`render`) and its private notices (`notices`) share: how
long before a meeting something is, and the line for a reminder whose time has passed."""

from __future__ import annotations

from datetime import datetime

from bot.core import Part, When, _, fill_parts, ngettext


def span(minutes: int) -> str:
    """`1 day`, `3 hours`, `90 minutes`: the largest whole unit that states `minutes` exactly."""
    if minutes and minutes % 1440 == 0:
        days = minutes // 1440
        return ngettext("{n} day", "{n} days", days).format(n=days)
    if minutes and minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("{n} hour", "{n} hours", hours).format(n=hours)
    return ngettext("{n} minute", "{n} minutes", minutes).format(n=minutes)


def too_soon(start: datetime, minutes: int, title: str | None = None) -> list[Part]:
    """A reminder `minutes` before a date starting at `start` (aware UTC) whose time has
    passed, so none comes: `It starts in 7 minutes, too soon for a reminder 15 minutes before,
    so none will come.` (`title`, escaped Markdown, names the meeting instead of `It`)."""
    values: dict[str, list[Part]] = {
        "when": [When(start, "relative")],
        "span": [span(minutes)],
    }
    if title is None:
        template = _("It starts {when}, too soon for a reminder {span} before, so none will come.")
    else:
        values["title"] = [title]
        template = _(
            "**{title}** starts {when}, too soon for a reminder {span} before, so none will come."
        )
    return fill_parts(template, values)
