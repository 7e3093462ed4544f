"""What an edit and a live post say stays true.

- A series' start moved to another weekday moves the series there when its rule took the day
  from the old start (`weekly`, `every 2 weeks`, `monthly`, `monthly on the 1st wed`); a rule
  that names other days keeps them and the answer says so, with the line that changes them.
  (A weekly-on-Wednesday series edited to a Thursday answered "Next: Wed 9 Dec".)
- A post made before an occurrence is no longer rewritten once the occurrence began: kept
  current by an RSVP, it read "Reminder: Soon begins ... (50 minutes ago)".
- "Remind me" is offered only on a post made before the default reminder could fall: on the
  10-minute and "starting now" posts it could never come.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.clock import VirtualClock
from bot.core.message import Message
from bot.core.permissions import Tier
from bot.outbox import Target
from bot.platform import Capabilities
from tests.harness.app import AppFactory
from tests.harness.meetings import circle, cog
from tests.harness.platform import FakePlatform, Said

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NTH = ("1st", "2nd", "3rd", "4th")
KEEPS = "The series keeps its days"


def public(said: list[Said]) -> str:
    return "\n".join(s.text for s in said if s.where == "channel")


# --- a moved start takes the series' day with it ------------------------------------------


def shape_of(kind: str, first: date) -> tuple[str, frozenset[int]]:
    """The repeat typed for `kind` on a series starting `first`, and the weekdays it names
    beyond the start's own (empty: every day the rule has follows the start)."""
    day = first.weekday()
    other = (day + 3) % 7
    return {
        "weekly": ("weekly", frozenset()),
        "weekly on its day": (f"weekly on {DAYS[day]}", frozenset()),
        "every 2 weeks": ("every 2 weeks", frozenset()),
        "daily": ("daily", frozenset()),
        "monthly": ("monthly", frozenset()),
        "monthly on its nth day": (
            f"monthly on the {NTH[(first.day - 1) // 7]} {DAYS[day]}",
            frozenset(),
        ),
        "weekly on two days": (
            f"weekly on {DAYS[day]} and {DAYS[other]}",
            frozenset({day, other}),
        ),
        "every 2 weeks on two days": (
            f"every 2 weeks on {DAYS[day]} and {DAYS[other]}",
            frozenset({day, other}),
        ),
    }[kind]


KINDS = (
    "weekly",
    "weekly on its day",
    "every 2 weeks",
    "daily",
    "monthly",
    "monthly on its nth day",
    "weekly on two days",
    "every 2 weeks on two days",
)


async def moved(
    app: App, fake: FakePlatform, title: str, first: date, new: date, repeat: str
) -> tuple[str, datetime]:
    """Schedule `title` from `first` 06:00 UTC with `repeat`, edit its start to `new` 06:00;
    (the public answer to the edit, the series' next meeting after that, in UTC)."""
    said = await fake.say(
        "fac", f'!meeting schedule {title} "{first} 06:00" 60m repeat:"{repeat}" zone:UTC'
    )
    assert "Scheduled" in public(said), said
    said = await fake.say("fac", f'!meeting edit {title} start:"{new} 06:00"')
    answer = public(said)
    assert answer.startswith(f"Updated **{title}**"), said
    view = await cog(app).service.find(1, title)
    nxt = view.next_occurrence(app.clock.now())
    assert nxt is not None
    return answer, nxt.start


def test_a_moved_start_takes_the_series_to_its_weekday_unless_the_rule_names_days(
    tmp_path: Path,
) -> None:
    """Over weekdays (old and new start, 1 to 27 days apart) and rule shapes: the next
    meeting after the edit is on the new start, on its weekday, unless the rule names other
    days; then the next meeting is on one of those, and the answer says the series keeps its
    days and how to change them."""
    loop = asyncio.new_event_loop()
    factory = AppFactory(tmp_path)
    titles = (f"Series{n}" for n in itertools.count())
    try:
        app, fake = loop.run_until_complete(
            factory.on_platform(
                ["general", "meetings"],
                clock=VirtualClock(START),
                actors={"fac": Tier.FACILITATOR},
            )
        )

        @settings(max_examples=60, deadline=None)
        @given(
            kind=st.sampled_from(KINDS),
            first=st.dates(date(2026, 12, 1), date(2026, 12, 28)),
            later=st.integers(1, 27),
        )
        def check(kind: str, first: date, later: int) -> None:
            repeat, named = shape_of(kind, first)
            new = first + timedelta(days=later)
            answer, nxt = loop.run_until_complete(
                moved(app, fake, next(titles), first, new, repeat)
            )
            if not named or new.weekday() in named:
                assert nxt == datetime(new.year, new.month, new.day, 6, 0, tzinfo=UTC), answer
                assert KEEPS not in answer
            else:
                assert nxt.weekday() in named, answer
                assert KEEPS in answer and f"To meet on {new:%A} instead" in answer, answer
                assert f'repeat:"every 2 weeks on {DAYS[new.weekday()]}"' in answer or (
                    f'repeat:"weekly on {DAYS[new.weekday()]}"' in answer
                ), answer

        check()
    finally:
        loop.run_until_complete(factory.close())
        loop.close()


async def test_a_weekly_wednesday_series_moved_to_a_thursday_meets_on_thursdays(
    app_factory: AppFactory,
) -> None:
    """The fault as found: "Updated ... Next: Wed 9 Dec"."""
    app, fake = await circle(app_factory, clock=VirtualClock(START))
    answer, _next = await moved(
        app, fake, "Circle", date(2026, 12, 2), date(2026, 12, 3), "weekly on wed"
    )
    assert "every week on Thu" in answer and "Next: 2026-12-03T06:00:00+00:00" in answer
    view = await cog(app).service.find(1, "Circle")
    assert view.rrule == "FREQ=WEEKLY;BYDAY=TH"
    after = [o.start.weekday() for o in view.occurrences(START, START + timedelta(days=30))]
    assert set(after) == {3}


async def test_a_time_alone_changes_the_time_and_keeps_the_day(app_factory: AppFactory) -> None:
    """`edit Circle 20:00` (a time alone, now read as `start`) is the series' next day at that
    time, as `move` reads it; read as today it would move a weekly series to a Monday."""
    app, fake = await circle(app_factory, clock=VirtualClock(START))
    await fake.say("fac", '!meeting schedule Circle "2026-12-08 19:00" 60m repeat:weekly zone:UTC')
    for typed, hour in (("20:00", 20), ("start:7pm", 19)):
        said = await fake.say("fac", f"!meeting edit Circle {typed}")
        assert "every week on Tue" in public(said), said
        view = await cog(app).service.find(1, "Circle")
        assert view.start_local == datetime(2026, 12, 8, hour, 0), typed


# --- posts made before a meeting, once it began -------------------------------------------


@dataclass
class EditingRecorder(FakePlatform):
    """The recording platform that also edits what it posted, noting when."""

    capabilities = Capabilities(retracts=True, edits=True)
    edited: list[tuple[datetime, str, str]] = field(default_factory=list)

    async def edit(
        self, target: Target, message_id: str, message: Message, idempotency_key: str
    ) -> None:
        for said in self.said:
            if said.message_id == message_id:
                said.message = message
        self.edited.append((self.app.clock.now(), message_id, Said("channel", "", message).text))


async def test_a_reminder_post_is_not_rewritten_after_its_meeting_began(
    app_factory: AppFactory,
) -> None:
    """The 10-minute post keeps its count current until the start; an RSVP after the start
    updates the "starting now" post only, never the reminder that the meeting "begins"."""
    app = await app_factory(clock=VirtualClock(START))
    fake = EditingRecorder(app)
    app.add_transport(fake)
    fake.actor("fac", Tier.FACILITATOR)
    await fake.say("fac", '!meeting schedule Soon "2026-11-30 12:00" 90m zone:UTC')
    await app.scheduler.advance(timedelta(hours=2, minutes=55))  # 11:55
    reminder = next(s for s in fake.said if s.text.startswith("Reminder: **Soon**"))
    await fake.say("ben", "!meeting rsvp Soon")
    assert [m for _at, m, _t in fake.edited] == [reminder.message_id]  # kept current
    assert "1 member plans to come." in reminder.text
    await app.scheduler.advance(timedelta(minutes=5))  # 12:00, the meeting begins
    starting = next(s for s in fake.said if "**Soon** is starting now." in s.text)
    await fake.say("cat", "!meeting rsvp Soon")
    await app.scheduler.advance(timedelta(minutes=50))  # 12:50, under way
    said = await fake.say("dan", "!meeting rsvp Soon")
    assert "It is under way now." in said[-1].text
    began = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    after = [(m, t) for at, m, t in fake.edited if at >= began]
    assert after and {m for m, _t in after} == {starting.message_id}, after
    assert "3 members plan to come." in starting.text
    assert reminder.text.startswith("Reminder: **Soon** begins")
    assert "1 member plans to come." in reminder.text  # as it was when the meeting began


# --- "Remind me" only where the reminder can still come ------------------------------------


async def test_remind_me_is_offered_only_where_the_default_reminder_can_come(
    app_factory: AppFactory,
) -> None:
    """Default offsets (a day, 10 minutes, the start) and reminder (15 minutes): only the
    day-before post offers it; with a 5-minute default the 10-minute post offers it too."""
    for remind, expected in ((15, [True, False, False]), (5, [True, True, False])):
        app, fake = await circle(
            app_factory, clock=VirtualClock(START), meetings={"rsvp_remind_minutes": remind}
        )
        # both apps share one database: the second circle has a name of its own, as the
        # same meeting twice is refused
        await fake.say("fac", f'!meeting schedule Circle{remind} "2026-12-02 19:00" 60m zone:UTC')
        await app.scheduler.advance(timedelta(days=2, hours=10, minutes=1))
        posts = [
            s for s in fake.said if s.where == "channel" and s.message_id and s.message.actions
        ]
        offers = [any(a.id.endswith(":remind") for a in s.message.actions) for s in posts]
        assert offers == expected, [s.text.split("\n")[0] for s in posts]
        come = [any(a.id.endswith(":come") for a in s.message.actions) for s in posts]
        assert come == [True, True, True]  # "I'll come" stays on every post
