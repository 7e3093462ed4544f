"""A meeting's named facilitator, without the facilitator role, refused a command that needs a
tier on that very meeting (`meeting edit`, `cancel`, `move`, `restore`, `delete`, `ping`), is
told what the command needs and what they can do there instead (run its script, with the step
timer and the speaking queue), not "Only a moderator or one of this meeting's facilitators can
change it", which reads as if they could. Anyone else is refused in the words they got before,
and nothing changes for anyone."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.clock import VirtualClock
from bot.core.permissions import Tier
from cogs.meetings import render
from tests.harness.app import AppFactory, own_loop
from tests.harness.console import circlebot
from tests.harness.db import snapshot
from tests.harness.platform import FakePlatform

START = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
AHEAD = timedelta(hours=5)  # each example's meetings start this long after it begins
# Each command on the meeting `{m}`; `{d}` is the date of its first meeting
COMMANDS = {
    "edit": ("facilitator", "!meeting edit {m} title:Renamed"),
    "cancel": ("facilitator", "!meeting cancel {m} next"),
    "move": ("facilitator", '!meeting move {m} next to:"{d} 23:00"'),
    "restore": ("facilitator", "!meeting restore {m} {d}"),
    "delete": ("facilitator", "!meeting delete {m} confirm:yes"),
    "ping": ("moderator", "!meeting ping {m} @everyone"),
}
# How the meeting is named: its title quoted, unquoted, its number, the start of its title
REFS = ("quoted", "words", "number", "start")
NOT_YOURS = "Only a moderator or one of this meeting's facilitators can change it."


def named_words(command: str, tier: str, meeting_id: str, *, over: bool) -> str:
    """sam's refusal: the script of this very meeting offered while it has a date to come,
    and nothing to run once it is over."""
    if over:
        return render.named_facilitator_nothing_to_run(command=f"meeting {command}", tier=tier)
    return render.named_facilitator_below_tier(
        command=f"meeting {command}",
        tier=tier,
        start=f"!script start meeting:#{meeting_id}",
        before_minutes=60,
        after_minutes=30,
    )


async def example(
    app: App,
    fake: FakePlatform,
    serial: int,
    *,
    named: str,
    target: str,
    ref: str,
    minutes: int,
    command: str,
) -> None:
    """One situation: sam (a member) named facilitator of meeting `named` ("a", "b" or
    neither), at `minutes` from the meetings' start, tries `command` on meeting `target`."""
    titles = {"a": f"Alpha {serial:04d}", "b": f"Beta {serial:04d}"}
    at = fake.app.clock.now() + AHEAD
    ids: dict[str, str] = {}
    for which, title in titles.items():
        chosen = " facilitator:sam" if named == which else ""
        said = await fake.say(
            "mod", f'!meeting schedule "{title}" "{at:%Y-%m-%d %H:%M}" 60m zone:UTC{chosen}'
        )
        ids[which] = said[0].text.split("(#")[1].split(")")[0]
    try:
        await app.scheduler.advance(AHEAD + timedelta(minutes=minutes))
        title = titles[target]
        meeting = {
            "quoted": f'"{title}"',
            "words": title,
            "number": f"#{ids[target]}",
            "start": title.split()[0],
        }[ref]
        tier, line = COMMANDS[command]
        before = await snapshot(app)
        said = await fake.say("sam", line.format(m=meeting, d=f"{at:%Y-%m-%d}"))
        assert len(said) == 1 and said[0].where == "ephemeral", said
        situation = (named, target, ref, minutes, command)
        if named == target:
            # the meetings last 60 minutes: 300 minutes after their start they are over
            over = minutes >= 60 + 30
            assert said[0].text == named_words(command, tier, ids[target], over=over), situation
            assert NOT_YOURS not in said[0].text
        elif tier == "moderator":
            assert said[0].text == f"Only a moderator can use `meeting {command}`.", situation
        else:
            assert said[0].text == NOT_YOURS, situation
        assert await snapshot(app) == before, situation
    finally:
        for meeting_id in ids.values():
            await fake.say("mod", f"!meeting delete #{meeting_id} confirm:yes")


def test_a_named_facilitator_refused_a_tier_command_on_their_meeting_is_told_what_they_can_do(
    tmp_path: Path,
) -> None:
    """Over which meeting sam is named for (the one the command names, the other, none), how
    the command names it (quoted title, unquoted title, `#number`, the start of its title), the
    time against its window (before it, during, long after) and each command that needs a tier:
    sam's refusal is the named facilitator's words exactly when sam is named for the meeting
    the command names, else the words before; nothing changes."""
    serial = itertools.count(1)
    with own_loop(tmp_path) as (loop, factory):
        app, fake = loop.run_until_complete(
            factory.on_platform(
                ["general", "meetings", "scripts"],
                clock=VirtualClock(START),
                actors={"mod": Tier.MODERATOR, "sam": Tier.MEMBER},
            )
        )
        loop.run_until_complete(fake.say("sam", "!ping"))  # sam is a member of the community

        @settings(
            max_examples=30,
            derandomize=True,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            report_multiple_bugs=False,
        )
        @given(
            named=st.sampled_from(["a", "b", "none"]),
            target=st.sampled_from(["a", "b"]),
            ref=st.sampled_from(REFS),
            minutes=st.sampled_from([-300, -30, 10, 300]),
            command=st.sampled_from(sorted(COMMANDS)),
        )
        def check(named: str, target: str, ref: str, minutes: int, command: str) -> None:
            loop.run_until_complete(
                example(
                    app,
                    fake,
                    next(serial),
                    named=named,
                    target=target,
                    ref=ref,
                    minutes=minutes,
                    command=command,
                )
            )

        check()


async def test_a_facilitator_named_for_the_meeting_keeps_the_moderators_words(
    app_factory: AppFactory,
) -> None:
    """Someone holding the facilitator role may change the meetings they facilitate; refused
    `meeting ping` (a moderator's), they are told so plainly, not about running a script."""
    _app, fake = await app_factory.on_platform(
        ["general", "meetings"],
        clock=VirtualClock(START),
        actors={"mod": Tier.MODERATOR, "fac": Tier.FACILITATOR},
    )
    await fake.say("mod", '!meeting schedule Circle "2026-12-01 19:00" 60m facilitator:fac')
    said = await fake.say("fac", "!meeting ping Circle @everyone")
    assert said[0].text == "Only a moderator can use `meeting ping`."
    said = await fake.say("fac", "!meeting edit Circle title:Renamed")
    assert "Only a" not in said[0].text


SCENE = """\
@sam !me name Sam
!meeting schedule "Monday Circle" "2026-11-30 10:00" 90m zone:UTC facilitator:@sam
!meeting schedule "Friday Group" "2026-12-04 18:00" 60m zone:UTC
@sam !meeting edit "Monday Circle" title:"Monday Circle 2"
@sam !meeting edit "Friday Group" title:X
"""


def test_the_reported_edit_by_a_named_facilitator_in_the_console(tmp_path: Path) -> None:
    """The reported line: a moderator names member sam facilitator of a meeting; sam's
    `meeting edit` of it says the facilitator role is needed and what sam can run instead;
    their edit of a meeting they are not named for says who may change it, as before."""
    run = circlebot(
        "console",
        "--db",
        str(tmp_path / "named.sqlite3"),
        "--clock",
        "2026-11-30T09:00:00Z",
        stdin=SCENE,
        cwd=tmp_path,
    )
    out = run.stdout
    assert run.returncode == 0, run.stderr
    refusals = [s for s in out.splitlines() if s.startswith("[#general, private to sam] ")]
    assert refusals[1] == (
        "[#general, private to sam] meeting edit needs the facilitator role. As this meeting's "
        "named facilitator you can run its script, with the step timer and the speaking queue, "
        "from 1 hour before it starts until 30 minutes after it ends: !script start "
        "meeting:#1. To change the meeting itself, ask a moderator."
    )
    assert refusals[2] == f"[#general, private to sam] {NOT_YOURS}"
    assert "Monday Circle 2" not in out


OVER = """\
@sam !ping
!meeting schedule "Weekly" "2026-11-30 09:40" 60m zone:UTC facilitator:@sam repeat:daily
!meeting schedule "Once" "2026-11-30 10:00" 60m zone:UTC facilitator:@sam
!meeting cancel Weekly all
@sam !meeting restore Weekly all
:advance 1d
@sam !meeting edit Once duration:90m
"""


def test_a_named_facilitator_of_a_meeting_with_no_date_to_come_is_offered_no_script(
    tmp_path: Path,
) -> None:
    """The reviewer's scene: sam named for a series cancelled whole, and for a one-off that is
    over; refused a command on either, sam is not sent to a script that cannot start."""
    run = circlebot(
        "console",
        "--db",
        str(tmp_path / "over.sqlite3"),
        "--clock",
        "2026-11-30T09:00:00Z",
        stdin=OVER,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    refusals = [s for s in run.stdout.splitlines() if s.startswith("[#general, private to sam] ")]
    assert [r.split("] ", 1)[1] for r in refusals] == [
        "meeting restore needs the facilitator role, and this meeting has no date to come for "
        "you to run. To change the meeting itself, ask a moderator.",
        "meeting edit needs the facilitator role, and this meeting has no date to come for "
        "you to run. To change the meeting itself, ask a moderator.",
    ], run.stdout
