"""A member a moderator names facilitator of a meeting may run that meeting's script.

The core decides every tier in one place (`Context.may`): a facilitator's command runs for
whoever holds the facilitator tier, and for the named facilitator of the meeting it runs while
that meeting is current (an hour before its start until half an hour after its end), never for
another meeting, never a moderator's command. A named facilitator taken off the meeting stops
at once.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.clock import VirtualClock
from bot.core.permissions import Tier
from tests.harness.app import own_loop
from tests.harness.console import circlebot
from tests.harness.platform import FakePlatform, Said

START = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
AHEAD = timedelta(hours=5)  # each example's meetings start this long after it begins
BEFORE, AFTER, LENGTH = 60, 30, 60  # the window, in minutes; each meeting lasts an hour
COMMANDS = ("start", "next", "list", "button", "preview")
EDITS = ("none", "removed", "added")
# minutes from the target meeting's start: the window's edges and around them, and anywhere
MINUTES = st.one_of(
    st.sampled_from([-300, -61, -60, -59, 0, 89, 90, 91, 120, 300]), st.integers(-300, 300)
)


def public(said: list[Said]) -> str:
    return "\n".join(s.text for s in said if s.where == "channel")


async def example(
    app: App,
    fake: FakePlatform,
    serial: int,
    *,
    role: bool,
    named: str,
    target: str,
    edit: str,
    minutes: int,
    command: str,
) -> None:
    """One situation; asserts the command ran exactly when the rule says it may."""
    titles = {"a": f"Alpha {serial:04d}", "b": f"Beta {serial:04d}"}
    at = (fake.app.clock.now() + AHEAD).strftime("%Y-%m-%d %H:%M")
    ids: dict[str, str] = {}
    for which, title in titles.items():
        chosen = " facilitator:sam" if named == which else ""
        said = await fake.say(
            "mod", f'!meeting schedule "{title}" "{at}" {LENGTH}m zone:UTC{chosen}'
        )
        ids[which] = said[0].text.split("(#")[1].split(")")[0]
    try:
        holds = named  # which meeting sam is named for after the edit
        if edit == "removed" and named != "none":
            await fake.say("mod", f"!meeting edit #{ids[named]} add_facilitator:mod")
            await fake.say("mod", f"!meeting edit #{ids[named]} remove_facilitator:sam")
            holds = "none"
        elif edit == "added":
            await fake.say("mod", f"!meeting edit #{ids[target]} add_facilitator:sam")
            holds = target
        await app.scheduler.advance(AHEAD + timedelta(minutes=minutes))
        fake.tiers[fake.actor("sam").id] = Tier.FACILITATOR if role else Tier.MEMBER
        inside = -BEFORE <= minutes < LENGTH + AFTER
        allowed = role or (holds == target and inside)
        title = titles[target]

        if command == "start":
            said = await fake.say("sam", f'!script start standard "{title}"')
            ran = f"Welcome to {title}." in public(said)
        else:
            await fake.say("mod", f'!script start standard "{title}"')
            if command == "next":
                ran = "Check-in" in public(await fake.say("sam", "!script next"))
            elif command == "list":
                ran = "Scripts you can start" in "".join(
                    s.text for s in await fake.say("sam", "!script list")
                )
            elif command == "preview":
                shown = await fake.say("sam", "!script preview standard")
                ran = "Welcome and ground rules" in "".join(s.text for s in shown)
            else:
                (run,) = await app.cogs["scripts"].service.all_runs()  # type: ignore[attr-defined]
                before = len(fake.said)
                await app.dispatcher.handle_action(
                    fake.incoming("sam"), f"scripts:{run.id}:0:next"
                )
                ran = "Check-in" in public(fake.said[before:])
        refusal = "" if ran else fake.said[-1].text
        assert ran == allowed, f"{(role, named, target, edit, minutes, command)}: {refusal!r}"
        if not ran and command in ("list", "preview"):
            assert "or the meeting's named facilitator" in refusal, refusal
    finally:
        await fake.say("mod", "!script end")
        for meeting_id in ids.values():
            await fake.say("mod", f"!meeting delete #{meeting_id} confirm:yes")


def test_a_facilitator_command_runs_for_the_role_or_the_meetings_named_facilitator_in_time(
    tmp_path: Path,
) -> None:
    """Over the role held or not, named for the targeted meeting, the other or none, named or
    taken off by `meeting edit`, the time against the meeting's window and the command (start,
    next, a button, the facilitator-tier list and preview): the command runs iff the role is
    held, or the member is named for that meeting and it is current. One app serves every
    example; each example's meetings are deleted after it."""
    serial = itertools.count(1)
    with own_loop(tmp_path) as (loop, factory):
        app, fake = loop.run_until_complete(
            factory.on_platform(
                ["general", "meetings", "scripts"],
                clock=VirtualClock(START),
                actors={"mod": Tier.MODERATOR, "sam": Tier.MEMBER},
            )
        )

        @settings(
            max_examples=30,
            derandomize=True,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            report_multiple_bugs=False,
        )
        @given(
            role=st.booleans(),
            named=st.sampled_from(["a", "b", "none"]),
            target=st.sampled_from(["a", "b"]),
            edit=st.sampled_from(EDITS),
            minutes=MINUTES,
            command=st.sampled_from(COMMANDS),
        )
        def check(
            role: bool, named: str, target: str, edit: str, minutes: int, command: str
        ) -> None:
            loop.run_until_complete(
                example(
                    app,
                    fake,
                    next(serial),
                    role=role,
                    named=named,
                    target=target,
                    edit=edit,
                    minutes=minutes,
                    command=command,
                )
            )

        check()


NAMED = """\
@sam !me name Sam
@ana !me name Ana
!meeting schedule Circle "2026-12-01 19:00" 60m zone:UTC facilitator:@sam script:standard
@sam !script start
:advance 1h
@sam !script start
@sam !script next
@sam !script list
@sam !meeting delete Circle confirm:yes
@ana !script next
!meeting edit Circle add_facilitator:@ana
!meeting edit Circle remove_facilitator:@sam
@sam !script next
@ana !script next
"""


def test_a_member_named_facilitator_runs_the_meetings_script_in_the_console(
    tmp_path: Path,
) -> None:
    """A newcomer's path: a moderator names a member facilitator with `meeting schedule`;
    they are refused an hour and a half before it, run its script half an hour before, never get a
    moderator's power over the meeting, and stop once `meeting edit` takes them off."""
    run = circlebot(
        "console",
        "--db",
        str(tmp_path / "named.sqlite3"),
        "--clock",
        "2026-12-01T17:30:00Z",
        stdin=NAMED,
        cwd=tmp_path,
    )
    out = run.stdout
    assert run.returncode == 0, run.stderr
    lines = out.splitlines()
    early = lines.index(next(s for s in lines if "can start its script here" in s))
    assert (
        "private to sam] There's no meeting here you can run now. Only a facilitator, or the "
        "meeting's named facilitator"
    ) in lines[early]
    assert "[#general] Welcome and ground rules · step 1 of 7" in out
    assert "Welcome to Circle. I'm Sam, and I'll keep us on track today." in out
    assert "[#general] Check-in · step 2 of 7" in out
    assert "[#general, private to sam] Scripts you can start with !script start NAME:" in out
    # not a moderator's power: the meeting itself stays, and sam is told what they can do
    assert (
        "[#general, private to sam] meeting delete needs the facilitator role. As this "
        "meeting's named facilitator you can run its script"
    ) in out
    assert "Deleted" not in out
    refused = "Only a facilitator or this meeting's named facilitator can steer the script."
    assert f"[#general, private to ana] {refused}" in out
    steered = [s for s in lines if "can steer the script" in s]
    assert steered[-1].startswith("[#general, private to sam]"), steered
    assert "[#general] Choosing today's agenda · step 3 of 7" in out


# ---- which meeting `script start` runs, whether or not the meeting names a script ----------

ADDRESSES = ("bare", "title", "meeting", "script")
OTHER_LATER = timedelta(hours=8)  # the other meeting: never current while its target's is
# minutes from sam's meeting's start, inside its window half the time (its edges included)
WINDOW = st.one_of(
    st.sampled_from([-60, -59, 0, 89]) | st.integers(-60, 89),
    st.sampled_from([-61, 90, -300, 300]) | st.integers(-300, -61) | st.integers(90, 300),
)


async def addressed(
    app: App,
    fake: FakePlatform,
    serial: int,
    *,
    scripted: bool,
    other: bool,
    named: bool,
    role: bool,
    minutes: int,
) -> None:
    """One situation, sam addressing a meeting in each of the four ways in turn: sam, named
    for their own meeting or not, holding the role or not, aims at their own meeting, or by
    its title (unquoted words) or `meeting:` at another (`other`). Asserts the script starts
    exactly when the rule says, with the meeting's script (or the default when it names none)
    and its title, and that sam may steer it exactly then."""
    own, later = f"Alpha {serial:04d}", f"Beta {serial:04d}"
    at = fake.app.clock.now() + AHEAD
    ids: dict[str, str] = {}
    for title, when, extra in (
        (own, at, (" script:online" if scripted else "") + (" facilitator:sam" if named else "")),
        (later, at + OTHER_LATER, " script:online" if scripted else ""),
    ):
        said = await fake.say(
            "mod", f'!meeting schedule "{title}" "{when:%Y-%m-%d %H:%M}" {LENGTH}m zone:UTC{extra}'
        )
        ids[title] = said[0].text.split("(#")[1].split(")")[0]
    try:
        await app.scheduler.advance(AHEAD + timedelta(minutes=minutes))
        fake.tiers[fake.actor("sam").id] = Tier.FACILITATOR if role else Tier.MEMBER
        inside = -BEFORE <= minutes < LENGTH + AFTER
        target = later if other else own
        for address in ADDRESSES:
            words = {
                "bare": "",
                "title": f" {target}",  # unquoted: two unnamed words, together its title
                "meeting": f' meeting:"{target}"',
                "script": " standard",
            }[address]
            aimed = address in ("title", "meeting")
            meant = target if aimed else (own if inside else None)
            allowed = role or (named and meant == own and inside)
            said = await fake.say("sam", f"!script start{words}")
            runs = await app.cogs["scripts"].service.all_runs()  # type: ignore[attr-defined]
            case = (scripted, address, other, named, role, minutes)
            assert bool(runs) == allowed, f"{case}: {[s.text for s in said]}"
            if allowed:
                (run,) = runs
                script = "online" if scripted and meant and address != "script" else "standard"
                assert (run.script_name, run.meeting) == (script, meant), case
                steered = public(await fake.say("sam", "!script next"))
                assert "step 2 of" in steered, f"{case}: {steered!r}"
            else:
                refusal = said[-1].text
                assert "Only a facilitator, or the meeting's named facilitator" in refusal, case
                # steering it once a facilitator started it: the same rule
                await fake.say("mod", f"!script start meeting:#{ids[target]}")
                steered = public(await fake.say("sam", "!script next"))
                assert "step 2 of" not in steered, case
            await fake.say("mod", "!script end")
    finally:
        await fake.say("mod", "!script end")
        for meeting_id in ids.values():
            await fake.say("mod", f"!meeting delete #{meeting_id} confirm:yes")


def test_a_named_facilitator_starts_and_steers_their_meeting_however_they_address_it(
    tmp_path: Path,
) -> None:
    """Over a meeting with a script or without one (it then runs the default, `standard`),
    each way sam addresses it (`script start` alone, its title as unnamed words, `meeting:`,
    or a script's name), their own meeting or another, named for their own or not, the role
    held or not, and the time against their meeting's window: the script starts, and sam
    steers it, iff sam holds the role or is named for the meeting meant and it is current;
    the run has the meeting's script and title."""
    serial = itertools.count(1)
    with own_loop(tmp_path) as (loop, factory):
        app, fake = loop.run_until_complete(
            factory.on_platform(
                ["general", "meetings", "scripts"],
                clock=VirtualClock(START),
                actors={"mod": Tier.MODERATOR, "sam": Tier.MEMBER},
            )
        )

        @settings(
            max_examples=14,
            derandomize=True,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            report_multiple_bugs=False,
        )
        @given(
            scripted=st.booleans(),
            other=st.booleans(),
            named=st.sampled_from([True, True, False]),  # the case in question, more often
            role=st.sampled_from([False, False, True]),
            minutes=WINDOW,
        )
        def check(scripted: bool, other: bool, named: bool, role: bool, minutes: int) -> None:
            loop.run_until_complete(
                addressed(
                    app,
                    fake,
                    next(serial),
                    scripted=scripted,
                    other=other,
                    named=named,
                    role=role,
                    minutes=minutes,
                )
            )

        check()


SOLO = """\
@eve !ping
!meeting schedule "Solo" "2026-12-08 19:00" 60m facilitator:eve
:advance 1m
@eve !script start
@eve !script next
@eve !script end
@eve !script start Solo
@eve !script end
@eve !script start meeting:Solo
@eve !script end
!meeting schedule "Solo" "2026-12-08 19:30" 60m
@eve !script start
"""


def test_the_named_facilitator_of_a_meeting_without_a_script_starts_it_in_the_console(
    tmp_path: Path,
) -> None:
    """A newcomer's case: Eve, named for `Solo` (no script) and 29 minutes before it, starts
    its script (the default) with `script start`, `script start Solo` and `meeting:Solo`;
    once a second `Solo` is held here, she is asked to say it is hers (only hers is offered)."""
    run = circlebot(
        "console",
        "--db",
        str(tmp_path / "solo.sqlite3"),
        "--clock",
        "2026-12-08T18:30:00Z",
        stdin=SOLO,
        cwd=tmp_path,
    )
    out = run.stdout
    assert run.returncode == 0, run.stderr
    assert "named facilitator from an hour before" not in out
    assert out.count("[#general] Welcome and ground rules · step 1 of 7") == 3
    assert out.count("Welcome to Solo.") == 3
    assert "[#general] Check-in · step 2 of 7" in out
    asked = "More than one meeting could be meant; the one you can run is Solo (#1). Nothing"
    assert f"[#general, private to eve] {asked}" in out
