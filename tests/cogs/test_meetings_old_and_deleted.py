"""A series begun more than ten years ago still has its next date and can be edited; a
deleted meeting with RSVPs leaves no key, row or text of its own (its members' notices carry
an opaque key); an erased community and a deleted meeting stay gone after a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cogs.meetings import recurrence
from tests.harness.app import AppFactory
from tests.harness.deleted_traces import (
    BACKENDS,
    file_bytes,
    on,
    traces,
    view_of,
)
from tests.harness.postgres import schema_for


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_deleted_meeting_with_rsvps_leaves_no_trace(
    app_factory: AppFactory, tmp_path: Path, backend: str
) -> None:
    """Deleting a meeting members RSVP'd to (with reminders, a moved and a cancelled date)
    tells them privately; after that, nothing of it, its title included, stays behind."""
    async with schema_for(backend, migrated=True) as schema:
        app, fake = await on(app_factory, backend, tmp_path, schema, ["general", "meetings"])
        fake.actor("ben")
        fake.actor("cleo")
        await fake.say(
            "fac",
            '!meeting schedule Qzrsvpcircle "2026-12-01 19:00" 60m repeat:weekly zone:UTC',
        )
        await fake.say("ben", "!meeting rsvp Qzrsvpcircle 2026-12-08 reminder:30m")
        await fake.say("cleo", "!meeting rsvp Qzrsvpcircle all")
        await fake.say("fac", '!meeting move Qzrsvpcircle 2026-12-15 "2026-12-16 20:00"')
        await fake.say("fac", "!meeting cancel Qzrsvpcircle 2026-12-22")
        await app.scheduler.advance(timedelta(hours=12))
        view = await view_of(app, "Qzrsvpcircle")
        mark = len(fake.said)
        await fake.say("fac", "!meeting delete Qzrsvpcircle confirm:yes")
        told = [s for s in fake.said[mark:] if s.where != "channel"]
        assert told, "those who RSVP'd are told privately"
        assert not [s for s in fake.said[mark:] if s.where == "channel" and "ben" in s.text]
        await app.scheduler.advance(timedelta(days=2))
        assert await traces(app, view.id, view.uid, view.title) == []
        if backend == "sqlite":
            assert b"Qzrsvpcircle" not in file_bytes(tmp_path)
        await app.close()


def _old_view(rule: str, start_local: datetime) -> object:
    from cogs.meetings.service import MeetingView

    return MeetingView(
        id=1,
        community_id=1,
        title="Circle",
        kind="standard",
        start_local=start_local,
        timezone="America/New_York",
        duration_minutes=60,
        rrule=rule,
        location="",
        location_label="",
        channel="bench:c",
        script=None,
        ping_role=None,
        cancelled=False,
        cancel_note="",
        revision=1,
        revised_at=datetime(2014, 1, 1, tzinfo=UTC),
        uid="u",
        created_by="x",
        facilitators=(),
        changes=(),
    )


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("FREQ=YEARLY", datetime(2027, 3, 3, 19, 0)),
        ("FREQ=MONTHLY;INTERVAL=3", datetime(2026, 12, 3, 19, 0)),
        ("FREQ=WEEKLY;BYDAY=MO", datetime(2026, 12, 7, 19, 0)),
    ],
)
def test_an_endless_series_begun_over_ten_years_ago_still_has_a_next_date(
    rule: str, expected: datetime
) -> None:
    """An endless meeting begun in March 2014 still meets: its next date is found, not
    "none to come" (first_after bounds every rule at first start + PROBE_YEARS)."""
    now = datetime(2026, 12, 2, tzinfo=UTC)
    start = datetime(2014, 3, 3, 19, 0)
    assert (
        recurrence.first_after(start, recurrence.ZoneInfo("America/New_York"), rule, now)
        == expected
    )
    view = _old_view(rule, start)
    found = view.next_occurrence(now)  # type: ignore[attr-defined]
    assert found is not None and found.key == recurrence.local_key(expected)


async def test_a_meeting_running_for_over_ten_years_can_still_be_edited_and_found(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    """A yearly circle (weekly fails alike) scheduled in December 2014 and still meeting in
    2026: renaming it works (validate asks first_after, which bounds every rule at
    first start + 10 years)."""
    from bot.clock import VirtualClock
    from tests.harness.app import make_config

    clock = VirtualClock(datetime(2014, 12, 1, 9, 0, tzinfo=UTC))
    app = await app_factory(make_config(cogs={"enabled": ["general", "meetings"]}), clock=clock)
    from bot.core.permissions import Tier
    from tests.harness.deleted_traces import Posting

    fake = Posting(app)
    app.add_transport(fake)
    fake.actor("fac", Tier.FACILITATOR)
    await fake.say(
        "fac", '!meeting schedule Oldcircle "2014-12-02 19:00" 60m repeat:yearly zone:UTC'
    )
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    await app.scheduler.advance(timedelta(minutes=5))
    said = await fake.say("fac", '!meeting edit Oldcircle title:"Old circle"')
    words = " ".join(s.text for s in said)
    assert "Updated" in words, words
    await app.close()


async def test_an_erased_community_with_everything_leaves_nothing_after_a_restart(
    app_factory: AppFactory,
) -> None:
    """A community that removed the bot, with RSVPs and reminders, a cancelled date's note, a
    group, a running script with raised hands, its own crisis entry and shared journal
    entries: once erased, no table holds any of its words, and a restart plans nothing."""
    from sqlalchemy import select

    from bot.clock import VirtualClock
    from bot.core.permissions import Tier
    from bot.models import OutboxItem, OutboxItemRef, OutboxPlanStamp
    from tests.harness.platform import COMMUNITY
    from tests.harness.privacy_scan import scan_database

    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    staff = {"ana": Tier.MODERATOR, "bob": Tier.FACILITATOR}
    app, fake = await app_factory.on_platform(clock=VirtualClock(start), actors=staff)
    words = [f"Qzerase{n}w" for n in range(6)]
    say = fake.say
    await say("ana", "!journal feed-channel #general")
    await say("ana", f"!journal write visibility:shared {words[0]} day")
    await say("ana", f"!group create G{words[1]}")
    await say("ana", "!group invite @bob")
    await say("ana", f'!meeting schedule {words[2]} "2026-12-02 19:00" 60m repeat:weekly zone:UTC')
    await say("ana", f"!meeting rsvp {words[2]} reminder:30m")
    await say("bob", f"!meeting rsvp {words[2]} all")
    await say("ana", f'!meeting cancel {words[2]} 2026-12-09 note:"{words[3]}"')
    await say(
        "ana",
        f"!crisis add US {words[4]} suicide_prevention https://example.org phone:+18006624357",
    )
    await say("ana", f"!crisis phrases add i feel {words[5]}")
    await say("ana", f"!script start standard {words[2]}")
    await say("ana", "!script next")
    await say("bob", "!hand raise")
    await app.scheduler.advance(timedelta(hours=1))
    for word in words:  # there is something of each to erase
        assert await scan_database(app.db.engine, [word]), word
    assert await app.community_removed("fake", COMMUNITY)
    await app.scheduler.advance(timedelta(days=31))
    assert await app.members.community_by_id(1) is None
    assert await scan_database(app.db.engine, words) == []
    await app.close()
    again = await app_factory(clock=VirtualClock(start + timedelta(days=32)))
    await again.scheduler.advance(timedelta(days=8))
    async with again.db.sessions() as session:
        assert (await session.scalars(select(OutboxPlanStamp.ref))).all() == []
        assert (await session.scalars(select(OutboxItemRef.ref))).all() == []
        keys = (await session.scalars(select(OutboxItem.key))).all()
        assert [k for k in keys if not k.startswith("core.")] == []
    assert await scan_database(again.db.engine, words) == []


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_deleted_meeting_stays_gone_after_a_restart(
    app_factory: AppFactory, tmp_path: Path, backend: str
) -> None:
    """Delete a weekly meeting with a moved date and a pending reminder; restart; a week
    later nothing of it was posted and nothing of it is stored, while another meeting posts."""
    from bot.clock import VirtualClock
    from tests.harness.app import make_config
    from tests.harness.deleted_traces import START, Posting

    async with schema_for(backend, migrated=True) as schema:
        app, fake = await on(app_factory, backend, tmp_path, schema, ["general", "meetings"])
        for line in (
            '!meeting schedule Qzgonecircle "2026-12-01 19:00" 60m repeat:weekly zone:UTC',
            '!meeting schedule Keeper "2026-12-01 20:00" 60m repeat:weekly zone:UTC',
            '!meeting move Qzgonecircle 2026-12-08 "2026-12-09 19:00"',
        ):
            await fake.say("fac", line)
        await app.scheduler.advance(timedelta(hours=11))
        view = await view_of(app, "Qzgonecircle")
        await fake.say("fac", "!meeting delete Qzgonecircle confirm:yes")
        await app.close()
        clock = VirtualClock(START + timedelta(hours=11, minutes=5))
        again = await app_factory(
            make_config(cogs={"enabled": ["general", "meetings"]}),
            clock=clock,
            db_url=app.db.engine.url.render_as_string(hide_password=False)
            if backend == "postgres"
            else None,
            db_schema=schema if backend == "postgres" else None,
        )
        later = Posting(again)
        again.add_transport(later)
        await again.scheduler.advance(timedelta(days=9))
        assert [s.text for s in later.said if "Qzgonecircle" in s.text] == []
        assert any("Keeper" in s.text for s in later.said)
        assert await traces(again, view.id, view.uid, view.title) == []
        await again.close()
