"""Facilitator scripts as a meeting experiences them: steps, hands, quiet timers, restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from bot.app import App
from bot.clock import VirtualClock
from bot.core.dispatch import CogHooks
from bot.core.needs import MeetingSchedule
from bot.core.permissions import Tier
from cogs.scripts.cog import ScriptsCog
from tests.harness.app import AppFactory, make_config
from tests.harness.platform import FakePlatform, Said
from tests.harness.postgres import fresh_pg_schema, pg_url

START = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
NEXT_WEEK = START + timedelta(days=7)


class StubMeetings(MeetingSchedule):
    """Stands in for the meetings cog: who facilitates which meeting, and the next time."""

    def __init__(self, facilitators: dict[str, set[str]]) -> None:
        self.facilitators = facilitators

    async def is_facilitator(self, community_id: int, meeting: str, actor_key: str) -> bool:
        return actor_key in self.facilitators.get(meeting.lower(), set())

    def attach(self, app: App) -> None:
        """Be the scripts cog's schedule, and tell the core who is named (always current)."""
        cog(app).meetings = self
        app.dispatcher.attach("stub-meetings", CogHooks(named_facilitator=self.is_facilitator))

    async def next_meeting(
        self, community_id: int, meeting: str | None = None
    ) -> tuple[str, datetime] | None:
        return ("Tuesday circle", NEXT_WEEK)


async def open_app(
    app_factory: AppFactory, *, clock: VirtualClock | None = None, **kwargs: Any
) -> tuple[App, FakePlatform]:
    return await app_factory.on_platform(
        ["general", "scripts"],
        clock=clock or VirtualClock(START),
        actors={"fran": Tier.FACILITATOR, "mo": Tier.MODERATOR},
        **kwargs,
    )


def public(said: list[Said]) -> str:
    return "\n".join(s.text for s in said if s.where == "channel")


def dms(fake: FakePlatform, name: str) -> list[str]:
    return [s.text for s in fake.said if s.where == "dm" and s.to == f"fake:{name}"]


async def named(fake: FakePlatform, *names: str) -> None:
    """These members choose pseudonyms (`PSEUDONYMS`); others are "member 1"...."""
    for name in names:
        await fake.say(name, f"!me name {PSEUDONYMS[name]}")


PSEUDONYMS = {"ana": "Wren", "ben": "Birch", "cara": "Cove", "lee": "Lark"}


def cog(app: App) -> ScriptsCog:
    found = app.cogs["scripts"]
    assert isinstance(found, ScriptsCog)
    return found


async def test_a_full_standard_meeting(app_factory: AppFactory) -> None:
    app, fake = await open_app(app_factory)
    cog(app).meetings = StubMeetings({})
    await fake.say("ana", "!me name River")
    await fake.say("ben", "!me name Birch")

    opening = await fake.say("fran", "!script start standard Tuesday circle")
    text = public(opening)
    assert "Welcome to Tuesday circle. I'm a volunteer facilitator" in text
    assert "stays here" in text and "real name" in text and "lapse" in text
    assert "step 1 of 7" in text
    ids = [a.id for a in opening[0].message.actions]
    assert any(i.endswith(":0:next") and i.startswith("scripts:") for i in ids)

    check_in = public(await fake.say("fran", "!script next"))
    assert "Check-in" in check_in and "no cross-talk" in check_in
    assert "How has your week been?" in check_in

    assert "River raised a hand" in public(await fake.say("ana", "!hand"))
    await fake.say("ben", "!hand raise")
    queued = public(await fake.say("cara", "!hand"))
    assert "Hands up: 1. River, 2. Birch, 3. member 1." in queued
    passed = public(await fake.say("dan", "!pass"))
    assert "Member 2 passes this round, and that's fine" in passed and "Passed: 1." in passed
    again = await fake.say("ana", "!hand")
    assert again[0].where == "ephemeral" and "already up" in again[0].text

    assert "The floor is yours, **River**" in public(
        await fake.say("fran", "!script next-speaker")
    )
    await app.scheduler.advance(timedelta(minutes=1))
    assert dms(fake, "ana") == []
    await app.scheduler.advance(timedelta(minutes=1, seconds=30))
    (nudge,) = dms(fake, "ana")
    assert "gentle note" in nudge and "2 minutes" in nudge
    assert "**Birch**" in public(await fake.say("fran", "!script next-speaker"))
    assert "**member 1**" in public(await fake.say("fran", "!script next-speaker"))
    assert "No hands are up" in public(await fake.say("fran", "!script next-speaker"))

    status = await fake.say("fran", "!script status")
    assert status[0].where == "ephemeral"
    assert "2 of 20 min used, about 18 min left" in status[0].text

    before = len(fake.said)
    await app.scheduler.advance(timedelta(minutes=18))
    new = fake.said[before:]
    assert [s.where for s in new] == ["dm"] and new[0].to == "fake:fran"
    assert "Quiet note, only for you" in new[0].text and "Check-in" in new[0].text
    await app.scheduler.advance(timedelta(minutes=30))
    assert len(dms(fake, "fran")) == 1  # one nudge per step, never repeated

    assert "Choosing today's agenda" in public(await fake.say("fran", "!script next"))
    working = public(await fake.say("fran", "!script next"))
    assert "Working time" in working and "cross-talk welcome" in working
    assert "voluntary" in public(await fake.say("fran", "!script next"))
    assert "What are you taking away" in public(await fake.say("fran", "!script next"))
    closing = public(await fake.say("fran", "!script next"))
    assert "Closing" in closing and "step 7 of 7" in closing
    assert f"Tuesday circle, {NEXT_WEEK.isoformat()}" in closing
    assert "findahelpline.com" in closing

    ended = public(await fake.say("fran", "!script next"))
    assert "script has ended" in ended and "Nothing said in this meeting was saved" in ended
    gone = await fake.say("fran", "!script status")
    assert "No meeting script is running here" in gone[0].text
    assert await cog(app).service.all_runs() == []
    assert app.scheduler.planned("scripts.") == []


async def test_closing_without_the_meetings_cog_uses_a_neutral_sentence(
    app_factory: AppFactory,
) -> None:
    _app, fake = await open_app(app_factory)
    await fake.say("fran", "!script start online")
    closing = public(await fake.say("fran", "!script goto closing"))
    assert "Next meeting: the time on this community's meeting schedule." in closing
    assert "findahelpline.com" in closing
    assert "Finish" in [a.label for s in fake.said for a in s.message.actions]


async def test_a_restart_mid_meeting_resumes_the_step_queue_and_timers(
    app_factory: AppFactory,
) -> None:
    clock = VirtualClock(START)
    app, fake = await open_app(app_factory, clock=clock)
    await named(fake, "ana", "ben", "cara")
    await fake.say("fran", "!script start standard")
    await fake.say("fran", "!script next")
    for name in ("ana", "ben", "cara"):
        await fake.say(name, "!hand")
    await fake.say("fran", "!script next-speaker")
    await app.scheduler.advance(timedelta(minutes=1))
    await app.close()

    later = VirtualClock(START + timedelta(minutes=1, seconds=10))
    app2, fake2 = await open_app(app_factory, clock=later)
    status = (await fake2.say("fran", "!script status"))[0].text
    assert "step 2 of 7: **Check-in**" in status
    assert "Sharing now: **Wren**. Hands up: 1. Birch, 2. Cove." in status
    assert [j for j, _ in app2.scheduler.planned("scripts.")] == [
        "scripts.1.speaker",
        "scripts.1.step",
    ]
    await app2.scheduler.advance(timedelta(minutes=1))
    assert len(dms(fake2, "ana")) == 1
    assert "**Birch**" in public(await fake2.say("fran", "!script next-speaker"))
    await app2.scheduler.advance(timedelta(minutes=20))
    assert len(dms(fake2, "fran")) == 1


async def test_restart_on_postgresql(app_factory: AppFactory) -> None:
    async with fresh_pg_schema(migrated=True) as schema:
        app, fake = await open_app(app_factory, db_url=pg_url(), db_schema=schema)
        await fake.say("fran", "!script start family-friends Saturday group")
        await fake.say("fran", "!script next")
        await fake.say("ana", "!hand")
        await fake.say("ben", "!pass")
        await app.close()
        app2, fake2 = await open_app(app_factory, db_url=pg_url(), db_schema=schema)
        status = (await fake2.say("fran", "!script status"))[0].text
        assert "Family & Friends" in status and "Hands up: 1. member 1." in status
        assert "Passed: 1." in status
        await app2.close()


async def test_members_cannot_steer_and_other_meetings_facilitators_need_the_tier(
    app_factory: AppFactory,
) -> None:
    app, fake = await open_app(app_factory)
    StubMeetings({"thursday group": {"fake:gail"}}).attach(app)

    denied = await fake.say("gail", "!script start standard Tuesday circle")
    assert denied[0].where == "ephemeral" and "Only a facilitator" in denied[0].text
    assert await cog(app).service.all_runs() == []

    await fake.say("fran", "!script start standard Tuesday circle")
    for line in ("!script next", "!script end", "!script goto closing", "!script next-speaker"):
        for who in ("ana", "gail"):
            reply = await fake.say(who, line)
            assert "this meeting's named facilitator" in reply[0].text, (who, line)
    status = (await fake.say("ana", "!script status"))[0].text
    assert "step 1 of 7" in status

    second = await fake.say("mo", "!script start online")
    assert (
        "already running here" in second[0].text
        and "facilitated by a volunteer facilitator" in second[0].text
    )

    fake.tiers["gail"] = Tier.FACILITATOR
    assert "Check-in" in public(await fake.say("gail", "!script next"))
    await fake.say("fran", "!script end")

    fake.tiers["gail"] = Tier.MEMBER
    started = await fake.say("gail", "!script start hosted-discussion Thursday group")
    assert "Welcome to Thursday group. I'm a volunteer facilitator" in public(started)
    assert "Check-in" in public(await fake.say("gail", "!script next"))


async def test_buttons_do_what_the_commands_do_for_the_right_people(
    app_factory: AppFactory,
) -> None:
    app, fake = await open_app(app_factory)
    first = await fake.say("fran", "!script start standard")
    run_id = first[0].message.actions[0].id.split(":")[1]

    async def press(who: str, verb: str, step: int) -> list[Said]:
        before = len(fake.said)
        await app.dispatcher.handle_action(fake.incoming(who), f"scripts:{run_id}:{step}:{verb}")
        return fake.said[before:]

    denied = await press("ana", "next", 0)
    assert denied[0].where == "ephemeral" and "this meeting's named facilitator" in denied[0].text
    assert "Check-in" in public(await press("fran", "next", 0))
    stale = await press("fran", "next", 0)
    assert "earlier step" in stale[0].text
    assert "raised a hand" in public(await press("ana", "hand", 1))
    assert "passes this round" in public(await press("ben", "pass", 1))
    assert "floor is yours, **member 1**" in public(await press("fran", "speaker", 1))
    paused = await press("fran", "pause", 1)
    assert "paused" in public(paused)
    assert paused[0].message.actions[0].id == f"scripts:{run_id}:1:resume"
    await app.scheduler.advance(timedelta(minutes=40))
    assert dms(fake, "fran") == [] and dms(fake, "ana") == []  # a pause stops the clocks
    assert "We're back" in public(await press("fran", "resume", 1))
    forged = await press("fran", "next", 1)
    assert "Choosing today's agenda" in public(forged)
    unknown = await press("fran", "explode", 2)
    assert "no longer active" in unknown[0].text
    other = await press("fran", "next", 2)
    assert "Working time" in public(other)
    await app.dispatcher.handle_action(fake.incoming("fran"), "scripts:999:0:next")
    assert "no longer active" in fake.said[-1].text


async def test_late_joiners_lowering_hands_and_pass_outside_a_round(
    app_factory: AppFactory,
) -> None:
    _app, fake = await open_app(app_factory)
    fake.actor("lee")
    await named(fake, "ana", "ben", "lee")
    await fake.say("fran", "!script start standard")
    early = await fake.say("ana", "!hand")
    assert "Hands are for rounds and open discussion" in early[0].text
    await fake.say("fran", "!script goto check_in")
    await fake.say("ana", "!hand")
    await fake.say("ben", "!hand")
    lowered = public(await fake.say("ana", "!hand lower"))
    assert "Wren lowered their hand." in lowered and "Hands up: 1. Birch." in lowered
    assert "Your hand is not up" in (await fake.say("ana", "!hand lower"))[0].text
    added = public(await fake.say("fran", "!script add @lee"))
    assert "Lark is in the queue" in added and "1. Birch, 2. Lark" in added
    denied = await fake.say("ana", "!script add @lee")
    assert "this meeting's named facilitator" in denied[0].text
    await fake.say("fran", "!script goto working_time")
    assert "no round to pass" in (await fake.say("ana", "!pass"))[0].text
    assert "No hands are up" in (await fake.say("fran", "!script status"))[0].text
    await fake.say("fran", "!script back")
    back = (await fake.say("fran", "!script status"))[0].text
    assert "Choosing today's agenda" in back
    assert "no step `9`" in (await fake.say("fran", "!script goto 9"))[0].text


async def test_erasing_a_member_takes_them_out_of_the_queue(app_factory: AppFactory) -> None:
    app, fake = await open_app(app_factory)
    await named(fake, "ana", "ben")
    await fake.say("fran", "!script start standard")
    await fake.say("fran", "!script next")
    await fake.say("ana", "!hand")
    await fake.say("ben", "!hand")
    await cog(app).delete_user_data("fake:ana")
    await cog(app).delete_user_data("fake:fran")
    status = (await fake.say("mo", "!script status"))[0].text
    assert "Hands up: 1. Birch." in status and "Wren" not in status
    assert "Facilitator: a former member." in status
    (run,) = await cog(app).service.all_runs()
    assert "fake:ana" not in run.names and "fake:fran" not in run.names


async def test_nothing_members_say_is_stored(app_factory: AppFactory) -> None:
    app, fake = await open_app(app_factory)
    await fake.say("fran", "!script start standard")
    await fake.say("fran", "!script next")
    await fake.say("ana", "I had a hard week and drank on Friday")
    await fake.say("ana", "!hand")
    async with app.db.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM script_run"))).all()
    assert "Friday" not in repr(rows)
    await fake.say("fran", "!script end")
    async with app.db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM script_run"))).scalar() == 0


async def test_a_meetings_own_facilitator_may_run_its_script(app_factory: AppFactory) -> None:
    app = await app_factory(
        make_config(cogs={"enabled": ["general", "meetings", "scripts"]}),
        clock=VirtualClock(START),
    )
    fake = FakePlatform(app)
    app.add_transport(fake)
    fake.actor("fran", Tier.FACILITATOR)
    fake.actor("gail", Tier.MEMBER)
    scheduled = await fake.say(
        "fran", '!meeting schedule Circle "2026-12-02 19:00" 60m zone:UTC facilitator:gail'
    )
    assert "Circle" in scheduled[0].text, scheduled

    early = await fake.say("gail", "!script start standard Circle")  # a day ahead
    assert "named facilitator from an hour before it starts" in early[0].text
    await app.scheduler.advance(timedelta(hours=24, minutes=30))  # 18:30, half an hour before
    started = await fake.say("gail", "!script start standard Circle")
    assert "Welcome to Circle. I'm a volunteer facilitator" in public(started)
    assert "Check-in" in public(await fake.say("gail", "!script next"))
    refused = await fake.say("hal", "!script next")
    assert "this meeting's named facilitator" in refused[0].text


async def test_script_start_runs_the_meetings_own_script(app_factory: AppFactory) -> None:
    """Named or starting here within the hour, a meeting's script is the one that runs; a
    meeting that is over does not hold its script back."""
    app = await app_factory(
        make_config(cogs={"enabled": ["general", "meetings", "scripts"]}),
        clock=VirtualClock(START),
    )
    fake = FakePlatform(app)
    app.add_transport(fake)
    fake.actor("fran", Tier.FACILITATOR)
    fake.actor("mo", Tier.MODERATOR)
    fake.actor("gail", Tier.MEMBER)
    await fake.say("mo", "!script copy standard mine")
    await fake.say("mo", "!script copy online later")
    await fake.say("fran", '!meeting schedule Circle "2026-12-01 18:30" 60m zone:UTC script:mine')
    await fake.say(
        "fran",
        '!meeting schedule Evening "2026-12-03 19:00" 60m zone:UTC script:later facilitator:gail',
    )
    refused = (await fake.say("mo", "!script delete later"))[0].text
    assert "`later` is the script of a meeting: **Evening** (#2)." in refused

    started = public(await fake.say("fran", "!script start"))  # 30 minutes before Circle
    assert "Welcome to Circle." in started
    (run,) = await cog(app).service.all_runs()
    assert run.script_name == "mine" and run.meeting == "Circle"
    await fake.say("fran", "!script end")

    early = await fake.say("gail", "!script start meeting:Evening")  # two days ahead
    assert "named facilitator from an hour before it starts" in early[0].text
    await app.scheduler.advance(timedelta(days=2, minutes=30))  # Evening in half an hour
    named = public(await fake.say("gail", "!script start meeting:Evening"))  # its facilitator
    assert "thanks for joining online" in named
    (run,) = await cog(app).service.all_runs()
    assert run.script_name == "later"
    await fake.say("gail", "!script end")

    # Circle is long over
    assert "Deleted the script **mine**." in (await fake.say("mo", "!script delete mine"))[0].text
