"""`meeting edit` that changes nothing says so and leaves everything as it was.

Given no field, or only the values the meeting already has (however they are typed: `60m` or
`1h`, the time alone or the whole start), an edit used to answer "Updated" and start a new
revision, which withdraws and plans the meeting's announcements afresh. Now it answers
privately that nothing was changed, and the meeting, its revision, the audit log and the
outbox stay exactly as they were.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.clock import VirtualClock
from bot.core.permissions import Tier
from cogs.meetings.service import Draft
from tests.harness.app import AppFactory, own_loop
from tests.harness.db import snapshot
from tests.harness.meetings import cog
from tests.harness.platform import FakePlatform, Said

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SCHEDULE = (
    '!meeting schedule Circle "2026-12-10 19:00" 60m repeat:weekly count:10 zone:UTC '
    "location:https://example.org/room kind:hosted_discussion"
)
# Each field of the meeting, with ways of typing the value it already has
SAME = {
    "title": ["title:Circle", 'title:" Circle "'],
    "start": [
        'start:"2026-12-10 19:00"',
        'start:"2026-12-10 19:00 UTC"',
        "start:19:00",
        'start:"2026-12-10 7pm"',
    ],
    "duration": ["duration:60m", "duration:1h", 'duration:"60 minutes"'],
    "repeat": ["repeat:weekly count:10"],
    "zone": ["zone:UTC"],
    "location": ["location:https://example.org/room"],
    "kind": ["kind:hosted_discussion"],
    "add_facilitator": ["add_facilitator:@ana"],
    "remove_facilitator": ["remove_facilitator:@ben"],
}
NOTHING_SAID = "Circle** already has those details, so nothing was changed."


def text(said: list[Said]) -> str:
    return "\n".join(s.text for s in said)


async def circle(app_factory: AppFactory) -> tuple[App, FakePlatform]:
    """Circle, weekly from Thu 10 Dec at 19:00 UTC, run by ana; ben a member, known."""
    app, fake = await app_factory.on_platform(
        ["general", "meetings"], clock=VirtualClock(NOW), actors={"ana": Tier.FACILITATOR}
    )
    assert "Scheduled" in text(await fake.say("ana", SCHEDULE))
    await fake.say("ben", "!meeting list")
    return app, fake


async def test_an_edit_naming_nothing_to_change_says_how_and_changes_nothing(
    app_factory: AppFactory,
) -> None:
    app, fake = await circle(app_factory)
    before = await snapshot(app)
    (view,) = await cog(app).service.all_in(1)
    said = await fake.say("ana", "!meeting edit Circle")
    assert len(said) == 1 and said[0].where == "ephemeral"
    assert said[0].text.startswith("Nothing was changed: say what to change")
    assert '`!meeting edit #1 title:"New name"`' in said[0].text
    assert "`!help meeting edit`" in said[0].text
    assert "Updated" not in said[0].text
    assert await snapshot(app) == before
    (after,) = await cog(app).service.all_in(1)
    assert (after.revision, after.plan_version) == (view.revision, view.plan_version)


async def test_a_changed_field_still_updates(app_factory: AppFactory) -> None:
    app, fake = await circle(app_factory)
    (view,) = await cog(app).service.all_in(1)
    said = await fake.say("ana", "!meeting edit Circle duration:90m")
    assert "Updated" in text(said)
    (after,) = await cog(app).service.all_in(1)
    assert after.duration_minutes == 90 and after.revision == view.revision + 1


def test_an_edit_to_the_values_the_meeting_has_changes_nothing(tmp_path: Path) -> None:
    """Any non-empty set of fields, each given the value the meeting already has in any of
    the ways it may be typed, in any order: the answer says nothing changed, privately, and
    no row of any table (the meeting, its revision, the audit log, the outbox) differs."""
    with own_loop(tmp_path) as (loop, factory):
        app, fake = loop.run_until_complete(circle(factory))
        before = loop.run_until_complete(snapshot(app))

        @settings(
            max_examples=30,
            derandomize=True,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(
            typed=st.lists(
                st.sampled_from(sorted(SAME)).flatmap(lambda f: st.sampled_from(SAME[f])),
                min_size=1,
                max_size=5,
                unique_by=lambda t: t.split(":")[0],
            )
        )
        def check(typed: list[str]) -> None:
            line = "!meeting edit Circle " + " ".join(typed)
            said = loop.run_until_complete(fake.say("ana", line))
            assert len(said) == 1 and said[0].where == "ephemeral", (line, text(said))
            assert said[0].text.endswith(NOTHING_SAID), (line, said[0].text)
            assert loop.run_until_complete(snapshot(app)) == before, line

        check()


async def test_the_service_saves_no_draft_that_changes_nothing(app_factory: AppFactory) -> None:
    """`MeetingService.update` itself keeps the revision and plan of a draft equal to the
    meeting (with no one new to add, no facilitator to remove), whoever calls it."""
    app, _fake = await circle(app_factory)
    service = cog(app).service
    (view,) = await service.all_in(1)
    before = await snapshot(app)
    draft = Draft.of(view)
    same = await service.update(
        view, "fake:ana", draft, add=list(view.facilitators), remove=["fake:ben"]
    )
    assert same == view
    assert await snapshot(app) == before
