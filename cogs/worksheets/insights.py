"""Urge-log entries: one-line parsing, a summary in words, and a chart to look at.

Insights describe patterns (time of day, triggers, how long urges last); they never count
days or streaks.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.core import UserError, _, clock_time_in, ngettext, time_text

# `20 min`, `for 90m`; never the minutes of a time of day (`7:30 min`, `19.45m`), matched in
# text as times are read (`_as_times`: `7：30 min` and `7∶30 min` are `7:30 min`)
MINUTES_RE = re.compile(
    r"(?:\bfor\s+)?(?<![\d:.])\b(\d{1,4})\s*(?:minutes|minute|mins|min|m)\b", re.I
)
SEPARATORS = (";", "|", " - ", " / ")
MAX_MINUTES = 1440
PERIODS = ("night", "morning", "afternoon", "evening")  # 0-6, 6-12, 12-18, 18-24


def check_minutes(value: Any) -> int:
    """A duration in whole minutes (the `minutes` check of a worksheet step). Raises
    `UserError` for a time of day (`1:30`, `7pm`) and for anything but 0 to 1440 minutes."""
    text = str(value).strip().lower()
    time = clock_time_in(text)
    if time is not None:
        raise UserError(
            _(
                "`{time}` looks like a time of day; here I need how long it lasted, in "
                "minutes, e.g. 20 or 90."
            ).format(time=time)
        )
    match = re.fullmatch(r"(\d{1,4})\s*(?:minutes|minute|mins|min|m)?", text)
    if match is None or int(match.group(1)) > MAX_MINUTES:
        raise UserError(
            _("Please give a number of minutes from 0 to {most}.").format(most=MAX_MINUTES)
        )
    return int(match.group(1))


def _as_times(text: str) -> tuple[str, list[int]]:
    """`text` as times are read in it (`time_text`, character by character), and for each
    character of that, plus its end, the index in `text` it came from."""
    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        part = time_text(char)
        folded.append(part)
        origin.extend([index] * len(part))
    origin.append(len(text))
    return "".join(folded), origin


def parse_quick(text: str) -> dict[str, Any]:
    """`after work; walked it off 20 min` -> trigger, coping and minutes (0-1440, never
    those of a time of day however its colon or digits are typed); the member's words are
    kept as typed. Raises `UserError` for more than 1440 minutes."""
    answers: dict[str, Any] = {}
    rest = text.strip()
    folded, origin = _as_times(rest)
    match = MINUTES_RE.search(folded)
    if match is not None:
        minutes = int(match.group(1))
        if minutes > MAX_MINUTES:
            raise UserError(
                _("Please give a number of minutes from 0 to {most}.").format(most=MAX_MINUTES)
            )
        answers["minutes"] = minutes
        start, end = origin[match.start()], origin[match.end()]
        rest = (rest[:start] + rest[end:]).strip(" ,")
    for sep in SEPARATORS:
        if sep in rest:
            trigger, coping = (part.strip(" ,") for part in rest.split(sep, 1))
            if trigger:
                answers["trigger"] = trigger
            if coping:
                answers["coping"] = coping
            return answers
    if rest:
        answers["trigger"] = rest
    return answers


def period(hour: int) -> str:
    """night, morning, afternoon or evening."""
    return PERIODS[hour // 6]


def period_name(name: str) -> str:
    """A period in the member's language."""
    return {
        "night": _("at night"),
        "morning": _("in the morning"),
        "afternoon": _("in the afternoon"),
        "evening": _("in the evening"),
    }[name]


def period_short(name: str) -> str:
    """A period as a chart label."""
    return {
        "night": _("night"),
        "morning": _("morning"),
        "afternoon": _("afternoon"),
        "evening": _("evening"),
    }[name]


@dataclass(frozen=True)
class Entry:
    """One logged urge in the member's local time."""

    at: datetime
    intensity: int
    trigger: str
    minutes: int | None


def entries_from(
    answers_list: list[tuple[dict[str, Any], datetime]], zone: ZoneInfo
) -> list[Entry]:
    """Entries from stored answers (falling back to the save time when `when` is missing)."""
    found = []
    for answers, saved in answers_list:
        try:
            at = datetime.fromisoformat(str(answers["when"])) if "when" in answers else saved
        except ValueError:
            at = saved
        intensity = answers.get("intensity")
        if not isinstance(intensity, int):
            continue
        minutes = answers.get("minutes")
        found.append(
            Entry(
                at=at.astimezone(zone),
                intensity=intensity,
                trigger=" ".join(str(answers.get("trigger", "")).split()).casefold(),
                minutes=minutes if isinstance(minutes, int) else None,
            )
        )
    return sorted(found, key=lambda e: e.at)


def summary(entries: list[Entry]) -> list[str]:
    """Patterns in words: when urges come, what sets them off, and that they pass."""
    if not entries:
        return []
    lines = [
        ngettext("You have logged {n} urge.", "You have logged {n} urges.", len(entries)).format(
            n=len(entries)
        )
    ]
    by_period = Counter(period(e.at.hour) for e in entries)
    for name in PERIODS:
        if by_period[name]:
            strengths = [e.intensity for e in entries if period(e.at.hour) == name]
            lines.append(
                _("- {when}: {n}, average strength {avg:.1f} of 10").format(
                    when=period_name(name).capitalize(),
                    n=by_period[name],
                    avg=sum(strengths) / len(strengths),
                )
            )
    busiest, count = by_period.most_common(1)[0]
    if count > 1 and len(by_period) > 1:
        lines.append(
            _("Urges came most often {when}. That's a time to plan something for.").format(
                when=period_name(busiest)
            )
        )
    triggers = Counter(e.trigger for e in entries if e.trigger)
    if triggers:
        top = ", ".join(f"{t} ({n})" for t, n in triggers.most_common(3))
        lines.append(_("Most common triggers: {top}.").format(top=top))
    timed = [e.minutes for e in entries if e.minutes is not None]
    if timed:
        lines.append(
            _(
                "On average an urge lasted about {avg:.0f} minutes ({n} with a duration), "
                "then it passed. Urges rise, peak and fade."
            ).format(avg=sum(timed) / len(timed), n=len(timed))
        )
    return lines


@dataclass(frozen=True)
class Chart:
    """A PNG image and how many urges it plots."""

    png: bytes
    points: int
    width: int
    height: int


def chart(entries: list[Entry]) -> Chart:
    """Strength by hour of day (one dot per urge) and how many came in each part of the day.

    matplotlib is imported here, not at module load, so the bot starts fast and only pays for
    it when someone asks for a chart.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(8, 3.6), dpi=100)
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    hours = [e.at.hour + e.at.minute / 60 for e in entries]
    strengths = [e.intensity for e in entries]
    dots = left.scatter(hours, strengths, s=40, color="#3b7ea1", alpha=0.8)
    left.set_xlim(0, 24)
    left.set_ylim(0.5, 10.5)
    left.set_xticks([0, 6, 12, 18, 24])
    left.set_xlabel(_("hour of the day"))
    left.set_ylabel(_("strength (1-10)"))
    left.set_title(_("Each urge you logged"))
    counts = Counter(period(e.at.hour) for e in entries)
    right.bar([period_short(p) for p in PERIODS], [counts[p] for p in PERIODS], color="#8fb996")
    right.yaxis.set_major_locator(MaxNLocator(integer=True))
    right.set_title(_("Urges by part of the day"))
    right.tick_params(axis="x", labelsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    width, height = (int(v) for v in figure.canvas.get_width_height())
    return Chart(buffer.getvalue(), len(dots.get_offsets()), width, height)
