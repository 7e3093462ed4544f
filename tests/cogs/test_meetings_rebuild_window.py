"""Changes to a member's RSVPs made while a start-up rebuild plans (after the rebuild read a
chunk of meetings, before it wrote their plan): the member's reminder follows the change.

An RSVP row changing leaves the meeting's row alone: a replan begun in this process
(`_replans`) or the meeting's `plan_version` (raised by RSVPs, reminder choices and erasures,
also in another process) tells the rebuild to plan the meeting again.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import App
from bot.clock import VirtualClock
from bot.core.permissions import Tier
from bot.models import OutboxItem
from cogs.meetings.models import Meeting
from tests.harness.app import AppFactory, make_config
from tests.harness.meetings import Recorder, after_an_update, cog
from tests.harness.platform import FakePlatform, Said

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday
REMINDER = datetime(2026, 12, 1, 18, tzinfo=UTC)  # 1h before Circle on 2026-12-01 19:00 UTC
ERASE_CODE = re.compile(r"mydata erase confirm ([2-9a-z]{6})")


async def erase(fake: FakePlatform, name: str) -> list[Said]:
    """`!mydata erase`, then its confirmation with the code it gave."""
    first = await fake.say(name, "!mydata erase")
    match = ERASE_CODE.search("\n".join(s.text for s in first))
    assert match, [s.text for s in first]
    return await fake.say(name, f"!mydata erase confirm {match.group(1)}")


async def _circle_with_rsvp(app_factory: AppFactory, *, rsvp: bool) -> tuple[App, Recorder, int]:
    app = await app_factory(
        make_config(cogs={"enabled": ["general", "meetings", "privacy"]}),
        clock=VirtualClock(START),
    )
    fake = Recorder(app)
    app.add_transport(fake)
    fake.actor("fac", Tier.FACILITATOR)
    fake.actor("ana", Tier.MEMBER)
    for n in range(3):
        await fake.say("fac", f'!meeting schedule "Other {n}" "2026-12-01 18:30" 60m zone:UTC')
    await fake.say("fac", '!meeting schedule Circle "2026-12-01 19:00" 60m zone:UTC')
    if rsvp:
        said = await fake.say("ana", "!meeting rsvp Circle 2026-12-01 1h")
        assert said and "1 hour" in " ".join(s.text for s in said), [s.text for s in said]
    circle_id = next(v.id for v in await cog(app).service.all_in(1) if v.title == "Circle")
    return app, fake, circle_id


async def _during_rebuild(app: App, change: Callable[[], Awaitable[None]]) -> None:
    """Run a start-up rebuild; `change` runs after it read its chunk, before it writes it."""
    service = cog(app).service
    original = service.outbox.replan_many
    changed: list[bool] = []

    async def replan_many(plans: Any) -> Any:
        if len(plans) > 1 and not changed:  # the rebuild's batch, about to be written
            changed.append(True)
            await change()
        return await original(plans)

    service.outbox.replan_many = replan_many  # type: ignore[method-assign]
    await after_an_update(app)
    await service.rebuild()
    service.outbox.replan_many = original  # type: ignore[method-assign]
    assert changed


async def _pending_for(app: App, actor_key: str) -> list[str]:
    async with app.db.sessions() as session:
        rows = await session.scalars(
            select(OutboxItem.key).where(
                OutboxItem.status == "pending", OutboxItem.target == actor_key
            )
        )
        return list(rows)


async def test_a_member_erased_while_a_restart_rebuilds_gets_no_reminder_and_none_is_kept(
    app_factory: AppFactory,
) -> None:
    """Ana RSVPd with a reminder an hour before, then erased everything while the bot was
    starting up: no reminder DM reaches her, and no pending message to her stays stored."""
    app, fake, _circle = await _circle_with_rsvp(app_factory, rsvp=True)
    ana = fake.actor("ana")

    async def change() -> None:
        said = await erase(fake, "ana")
        assert said, "the erase answered nothing"

    await _during_rebuild(app, change)
    pending = await _pending_for(app, ana.key)
    await app.scheduler.advance(timedelta(days=2))
    dms = [(at, t) for at, _k, t in fake.at if at == REMINDER and "Circle" in t]
    assert not pending, pending
    assert not dms, dms


# What another process's commands leave in the shared database: the same service calls
# (rows, `plan_version`, the replan's outbox rows), made here with this process's replan
# counts put back afterwards, as that process's replans are not counted here.


async def _other_process_rsvps(app: App, circle_id: int, actor_key: str) -> None:
    service = cog(app).service
    view = await service.get(circle_id)
    assert view is not None
    await service.rsvp(view, actor_key, "2026-12-01T19:00", 60)


async def _other_process_unrsvps(app: App, circle_id: int, actor_key: str) -> None:
    service = cog(app).service
    view = await service.get(circle_id)
    assert view is not None
    await service.unrsvp(view, actor_key, None)


async def _other_process_reminders_off(app: App, circle_id: int, actor_key: str) -> None:
    await cog(app).service.set_reminders(actor_key, False)


@pytest.mark.parametrize(
    ("before", "change", "reminded"),
    [
        (False, _other_process_rsvps, True),
        (True, _other_process_unrsvps, False),
        (True, _other_process_reminders_off, False),
    ],
    ids=["rsvp-elsewhere", "unrsvp-elsewhere", "reminders-off-elsewhere"],
)
async def test_an_rsvp_changed_by_another_process_while_a_restart_rebuilds_is_followed(
    app_factory: AppFactory,
    before: bool,
    change: Callable[[App, int, str], Awaitable[None]],
    reminded: bool,
) -> None:
    """Another process (answering Ana) changes her RSVP or reminder choice and replans the
    meeting there while this one's start-up rebuild plans: her reminder follows her choice.
    The other process's command runs here with this process's replan counts put back, as it
    leaves the shared database exactly as the command there would."""
    app, fake, circle_id = await _circle_with_rsvp(app_factory, rsvp=before)
    service = cog(app).service
    ana = fake.actor("ana")

    async def elsewhere() -> None:
        counts = dict(service._replans)
        await change(app, circle_id, ana.key)  # with the replan the other process makes
        service._replans.clear()
        service._replans.update(counts)

    await _during_rebuild(app, elsewhere)
    async with app.db.sessions() as session:
        assert await session.get(Meeting, circle_id) is not None
    await app.scheduler.advance(timedelta(days=2))
    dms = [at for at, _k, t in fake.at if at == REMINDER and "Circle" in t]
    assert dms == ([REMINDER] if reminded else []), dms
