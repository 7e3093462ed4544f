"""`script start` without naming a meeting, where several meetings here are current, offers
only the meetings this member may run: all of them for the facilitator role, else the ones they
are named facilitator of (`Context.may`); one is offered alone, and none is said plainly, as is
no meeting of theirs being current here at all. The `meeting` suggestions of `script start`
are the same meetings. Nothing is guessed: a start that offers meetings starts nothing."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.clock import VirtualClock
from bot.core.permissions import Tier
from cogs.scripts import render
from tests.harness.app import own_loop
from tests.harness.console import circlebot
from tests.harness.platform import FakePlatform, Said

START = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
AHEAD = timedelta(hours=5)  # each example's meetings are scheduled about this far ahead
# minutes from now to a meeting's start once the clock has moved on: current (under way or
# within the hour before it) or not (later today, or ended more than half an hour ago)
OFFSETS = {-30: True, 0: True, 30: True, 120: False, -200: False}
LISTED = re.compile(r"\(#(\d+)\)")
STARTED = "step 1 of 7"


def public(said: list[Said]) -> str:
    return "\n".join(s.text for s in said if s.where == "channel")


async def example(
    app: App, fake: FakePlatform, serial: int, *, meetings: list[tuple[str, int]], role: bool
) -> None:
    """One situation: meetings held here (who is named for each: sam, ana or nobody; minutes
    from now to its start), sam holding the role or not; sam types `script start`."""
    at = fake.app.clock.now() + AHEAD
    ids: dict[int, tuple[str, str, bool]] = {}  # id -> (title, named, current)
    for i, (named, offset) in enumerate(meetings):
        title = f"M{i} {serial:04d}"
        chosen = f" facilitator:{named}" if named != "nobody" else ""
        when = at + timedelta(minutes=offset)
        said = await fake.say(
            "mod", f'!meeting schedule "{title}" "{when:%Y-%m-%d %H:%M}" 60m zone:UTC{chosen}'
        )
        number = int(said[0].text.split("(#")[1].split(")")[0])
        ids[number] = (title, named, OFFSETS[offset])
    try:
        await app.scheduler.advance(AHEAD)
        fake.tiers[fake.actor("sam").id] = Tier.FACILITATOR if role else Tier.MEMBER
        current = {n for n, (_t, _n, now) in ids.items() if now}
        ours = {n for n in current if role or ids[n][1] == "sam"}
        situation = (meetings, role)

        spec = app.registry.get(("script", "start"))
        assert spec is not None
        suggested = await app.dispatcher.autocomplete(fake.incoming("sam"), spec, "meeting", "")
        if not role:  # the role is offered every coming meeting, as before
            assert {c.value for c in suggested} == {ids[n][0] for n in ours}, situation

        said = await fake.say("sam", "!script start")
        started = STARTED in public(said)
        words = "\n".join(s.text for s in said)
        offered = {int(n) for n in LISTED.findall(words)}
        if len(current) > 1:
            assert not started, situation
            if not ours:
                assert words == render.none_to_start(prefix="!"), situation
            else:
                assert offered == ours, (situation, words)
                assert ("the one you can run is" in words) == (len(ours) == 1), words
        elif len(current) == 1:
            assert started == bool(ours), (situation, words)
            if not ours:
                assert words == render.cannot_start(), situation
        else:
            assert started == role, (situation, words)
            if not role:
                assert words == render.none_to_start(prefix="!"), situation
    finally:
        await fake.say("mod", "!script end")
        for number in ids:
            await fake.say("mod", f"!meeting delete #{number} confirm:yes")


def test_script_start_offers_exactly_the_meetings_the_member_may_run(tmp_path: Path) -> None:
    """Over random sets of meetings held here (one to four, each named for sam, for ana or
    for nobody, current or not) and sam's role held or not: `script start` starts the one
    current meeting sam may run, offers exactly the current ones sam may run when several are
    current (never one sam may not run), says plainly when there is none; the `meeting`
    suggestions are exactly those sam may run (without the role)."""
    serial = itertools.count(1)
    with own_loop(tmp_path) as (loop, factory):
        app, fake = loop.run_until_complete(
            factory.on_platform(
                ["general", "meetings", "scripts"],
                clock=VirtualClock(START),
                actors={"mod": Tier.MODERATOR, "sam": Tier.MEMBER, "ana": Tier.MEMBER},
            )
        )
        for name in ("sam", "ana"):
            loop.run_until_complete(fake.say(name, "!ping"))

        @settings(
            max_examples=30,
            derandomize=True,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            report_multiple_bugs=False,
        )
        @given(
            meetings=st.lists(
                st.tuples(
                    st.sampled_from(["sam", "ana", "nobody"]), st.sampled_from(sorted(OFFSETS))
                ),
                min_size=1,
                max_size=4,
            ),
            role=st.booleans(),
        )
        def check(meetings: list[tuple[str, int]], role: bool) -> None:
            loop.run_until_complete(example(app, fake, next(serial), meetings=meetings, role=role))

        check()


SCENE = """\
@sam !me name Sam
@ana !me name Ana
!meeting schedule "Monday Circle" "2026-11-30 10:00" 90m zone:UTC facilitator:@sam
!meeting schedule "Morning Circle" "2026-11-30 09:30" 60m zone:UTC facilitator:@sam
!meeting schedule "Other Circle" "2026-11-30 09:45" 60m zone:UTC facilitator:@ana
@sam !script start
@ana !script start
@bob !script start
"""


def test_the_reported_start_offers_only_the_members_meetings_in_the_console(
    tmp_path: Path,
) -> None:
    """Three meetings here are current: sam (named for two) is offered those two, ana (named
    for one) that one alone, bob (named for none) is told there is none he can start."""
    run = circlebot(
        "console",
        "--db",
        str(tmp_path / "offers.sqlite3"),
        "--clock",
        "2026-11-30T09:00:00Z",
        stdin=SCENE,
        cwd=tmp_path,
    )
    out = run.stdout
    assert run.returncode == 0, run.stderr
    assert (
        "[#general, private to sam] More than one meeting could be meant: Monday Circle (#1), "
        "Morning Circle (#2). Nothing was started"
    ) in out
    assert (
        "[#general, private to ana] More than one meeting could be meant; the one you can run "
        "is Other Circle (#3). Nothing was started; to start it, type !script start meeting:#3."
    ) in out
    assert "[#general, private to bob] There's no meeting here you can run now." in out
    assert STARTED not in out
