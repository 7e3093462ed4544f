"""`meeting delete` of a meeting with dates to come or RSVPs asks first.

A newcomer deleted a whole weekly series with its RSVPs by typing `!meeting delete "Tue
circle"`: no question, no undo, while `cancel` beside it can be taken back. Now the answer says
what would go for good (how many dates to come, how many RSVPs), how to go ahead
(`confirm:yes`) and points to `meeting cancel <name> all`, which `restore` undoes; nothing
changes until confirmed, whatever state the meeting is in.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.app import App
from bot.clock import VirtualClock
from bot.core.permissions import Tier
from bot.models import OutboxItem
from cogs.meetings.models import Meeting, MeetingException, MeetingFacilitator, MeetingRsvp
from tests.harness.app import AppFactory
from tests.harness.console import circlebot
from tests.harness.platform import Said

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday

SCENARIO = """\
:tier ana facilitator
@ana !meeting schedule "Tue circle" "2026-12-01 19:00" 60m repeat:"weekly on tue"
@ben !meeting rsvp "Tue circle"
@cat !meeting rsvp "Tue circle" 2026-12-08
@ana !meeting delete "Tue circle"
@ben !meeting info "Tue circle"
@ana !meeting delete "Tue circle" confirm:no
@ana !meeting delete "Tue circle" confirm:yes
@ben !meeting info "Tue circle"
"""


def test_deleting_a_series_with_rsvps_asks_first_in_the_console(tmp_path: Path) -> None:
    result = circlebot(
        "console",
        "--db",
        str(tmp_path / "m.sqlite3"),
        "--clock",
        "2026-11-30T09:00:00Z",
        "--files",
        str(tmp_path / "files"),
        stdin=SCENARIO,
        cwd=tmp_path,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    asked, _, after = out.partition("Deleting Tue circle (#1) removes")
    assert after, out
    question = after.split("\n[", 1)[0]
    assert question.startswith(" every date to come (it repeats with no end) and 2 RSVPs"), out
    assert "cannot be undone. Nothing was changed." in question, question
    assert "!meeting delete #1 confirm:yes" in question, question
    assert "!meeting cancel #1 all" in question and "!meeting restore #1 all" in question
    # nothing changed: the meeting and both RSVPs are still there, nobody was told anything
    shown = after.split("[#general, private to ben] Tue circle (#1)", 1)
    assert len(shown) == 2, out
    assert "Planning to come next time: 1" in shown[1].split("\n[", 1)[0], out
    assert "[dm " not in asked + after.split("confirm takes yes, not no")[0], out
    assert "confirm takes yes, not no. Nothing was changed." in out
    assert "[#general] Deleted Tue circle (#1)." in out
    assert out.count("[dm ben] Tue circle") == 1 and out.count("[dm cat] Tue circle") == 1, out
    assert "there is no meeting" in out.rsplit("[#general] Deleted", 1)[1].lower(), out


def text(said: list[Said]) -> str:
    return "\n".join(s.text for s in said)


async def everything(app: App) -> list[Any]:
    """What a delete could change: the meetings with their facilitators, exceptions, RSVPs,
    and every outbox row (pending or settled)."""
    async with app.db.sessions() as session:
        found: list[Any] = []
        for model in (Meeting, MeetingFacilitator, MeetingException, MeetingRsvp, OutboxItem):
            columns = list(model.__table__.columns)
            rows = await session.execute(select(*columns))
            found.append(sorted(map(str, rows.all())))
        return found


STATES = st.fixed_dictionaries(
    {
        "repeat": st.sampled_from(["", "repeat:weekly", "repeat:weekly count:3"]),
        "rsvps": st.lists(st.sampled_from(["ben", "cat"]), max_size=2, unique=True),
        "series_rsvp": st.booleans(),
        "cancel": st.sampled_from(["", "next", "all", "week"]),
        "move": st.booleans(),
        "days": st.sampled_from([0, 3, 9, 40]),
        "confirm": st.sampled_from([None, "no", "maybe"]),
    }
)


def test_without_confirm_a_delete_changes_nothing_for_any_meeting_state(tmp_path: Path) -> None:
    """Any meeting (once, weekly, weekly three times; some dates cancelled or moved, the
    series cancelled; RSVPs to a date or to the series; days passed): a delete without
    `confirm:yes` either deletes a meeting with no date to come and no RSVP, or asks (naming the
    RSVPs) and changes nothing at all, nothing posted, nobody told; `confirm:yes` then
    deletes it. One app serves every example."""
    loop = asyncio.new_event_loop()
    factory = AppFactory(tmp_path)
    clock = VirtualClock(START)
    try:
        app, fake = loop.run_until_complete(
            factory.on_platform(
                ["general", "meetings"], clock=clock, actors={"fac": Tier.FACILITATOR}
            )
        )

        async def one(case: dict[str, Any]) -> None:
            # the clock only moves on: each example's meeting starts the day after "now"
            first = clock.now().date() + timedelta(days=1)
            said = await fake.say(
                "fac", f'!meeting schedule Circle "{first} 19:00" 60m {case["repeat"]} zone:UTC'
            )
            assert "Scheduled" in text(said), text(said)
            if case["move"]:
                await fake.say("fac", f'!meeting move Circle next "{first} 21:00"')
            for who in case["rsvps"]:
                await fake.say(
                    who, "!meeting rsvp Circle" + ("" if case["series_rsvp"] else " next")
                )
            if case["cancel"]:
                when = case["cancel"] if case["cancel"] != "week" else first + timedelta(days=7)
                await fake.say("fac", f"!meeting cancel Circle {when}")
            await app.scheduler.advance(timedelta(days=case["days"]))
            async with app.db.sessions() as session:
                (meeting,) = list(await session.scalars(select(Meeting)))
                rsvps = len(list(await session.scalars(select(MeetingRsvp))))
            coming = "Next:" in text(await fake.say("ben", "!meeting info Circle"))
            before, posted = await everything(app), len(fake.said)
            line = "!meeting delete Circle"
            if case["confirm"] is not None:
                line += f" confirm:{case['confirm']}"
            answer = await fake.say("fac", line)
            shown = text(answer)
            if case["confirm"] is not None:
                assert "`confirm` takes yes" in shown and "Nothing was changed" in shown, shown
                assert await everything(app) == before and len(fake.said) == posted + 1, shown
            elif "Deleted" in shown:
                # nothing lost for good: no RSVP and no date to come
                assert rsvps == 0 and not coming, shown
                return
            else:
                assert "Nothing was changed." in shown and "confirm:yes" in shown, shown
                assert await everything(app) == before, shown
                assert [s.where for s in fake.said[posted:]] == ["ephemeral"], shown
                if rsvps:
                    assert f"{rsvps} RSVP" in shown, shown
                else:
                    assert "no RSVPs" in shown, shown
                assert ("meeting cancel #" in shown) == (not meeting.cancelled), shown
            assert "Deleted" in text(
                await fake.say("fac", f"!meeting delete #{meeting.id} confirm:yes")
            )

        @settings(max_examples=16, deadline=None, derandomize=True)
        @given(case=STATES)
        def check(case: dict[str, Any]) -> None:
            loop.run_until_complete(one(case))

        check()
    finally:
        loop.run_until_complete(factory.close())
        loop.close()
