"""What others see of a member in a meeting script and in toolbox shares: their pseudonym here,
else "a member" / "a volunteer facilitator" ("member 2" in a list), never the name their
account shows (on Discord and Matrix that can be a real name)."""

from __future__ import annotations

import asyncio
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import crypto
from bot.clock import VirtualClock
from bot.core.identity import Actor
from bot.core.permissions import Tier
from bot.safety import escape_markdown
from tests.harness.app import AppFactory
from tests.harness.console import circlebot
from tests.harness.platform import Said

START = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)

# Display names that cannot occur in the bot's own prose: they start with "Qx" and hold
# Markdown and mention characters, spaces and letters from other scripts.
DISPLAY = st.text(
    alphabet=st.sampled_from("abcdefghijkmnopqrstuvwxyzÅéßøŁЖ李 _*-.'@"),
    min_size=3,
    max_size=14,
).map(lambda tail: "Qx" + tail.strip() + "z")
PSEUDONYM = st.text(alphabet=st.sampled_from("bcdfghlmnprstvw"), min_size=2, max_size=10)


@dataclass(frozen=True)
class Person:
    display: str  # the account's display name on the platform
    pseudonym: str | None  # chosen for this community, or none


@dataclass(frozen=True)
class Do:
    """One thing someone does: `who` and `whom` pick people (modulo their number)."""

    verb: str
    who: int
    whom: int = 0


VERBS = (
    "hand",
    "lower",
    "pass",
    "speaker",
    "add",
    "status",
    "next",
    "back",
    "advance",
    "restart",
    "again",
    "share",
    "name",
)
PEOPLE = st.lists(
    st.builds(Person, DISPLAY, st.none() | PSEUDONYM), min_size=2, max_size=4
).filter(lambda people: len({p.display.casefold() for p in people}) == len(people))
ACTS = st.lists(
    st.builds(Do, st.sampled_from(VERBS), st.integers(0, 3), st.integers(0, 3)),
    min_size=3,
    max_size=14,
)


def shown_forms(display: str) -> set[str]:
    """How a display name could appear in a message: as typed, or Markdown-escaped."""
    return {display, escape_markdown(display)}


async def play(people: list[Person], acts: list[Do]) -> list[tuple[str, Said]]:
    """Run the acts on a fresh bot; every message it sent, with the command it answered."""
    factory = AppFactory(Path(tempfile.mkdtemp(prefix="circlebot-names-")))
    try:
        app, fake = await factory.on_platform(
            ["general", "scripts", "worksheets"], clock=VirtualClock(START)
        )
        ids = [f"m{n}" for n in range(len(people))]
        for n, (key, person) in enumerate(zip(ids, people, strict=True)):
            fake.actors[key] = Actor("fake", key, person.display)
            fake.tiers[key] = Tier.FACILITATOR if n == 0 else Tier.MEMBER
            if person.pseudonym:
                await fake.say(key, f"!me name Pw{person.pseudonym}{n}")
        said: list[tuple[str, Said]] = []

        async def say(who: str, line: str) -> None:
            for item in await fake.say(who, line):
                said.append((line, item))

        await say(ids[0], "!script start standard Circle")
        await say(ids[0], "!script next")
        for n, key in enumerate(ids):
            await say(key, f"!urge log {n + 3} noise")
        for act in acts:
            who, whom = ids[act.who % len(ids)], ids[act.whom % len(ids)]
            before = len(fake.said)
            if act.verb in ("hand", "pass"):
                await say(who, f"!{act.verb}")
            elif act.verb == "lower":
                await say(who, "!hand lower")
            elif act.verb in ("speaker", "next", "back", "status"):
                await say(ids[0], "!script " + {"speaker": "next-speaker"}.get(act.verb, act.verb))
            elif act.verb == "add":
                await say(ids[0], f"!script add {whom}")
            elif act.verb == "advance":
                await app.scheduler.advance(timedelta(minutes=3 + 7 * act.whom))
                said += [("(timers)", s) for s in fake.said[before:]]
            elif act.verb == "restart":  # the facilitator ends and someone else starts again
                await say(ids[0], "!script end")
                fake.tiers[who] = Tier.FACILITATOR
                await say(who, "!script start family-friends")
                await say(who, "!script next")
                fake.tiers[who] = Tier.FACILITATOR if who == ids[0] else Tier.MEMBER
            elif act.verb == "again":  # a second start while one runs names who facilitates
                fake.tiers[who] = Tier.FACILITATOR
                await say(who, "!script start online")
                fake.tiers[who] = Tier.FACILITATOR if who == ids[0] else Tier.MEMBER
            elif act.verb == "share" and who != whom:
                await say(who, f"!toolbox share 1 {whom}")
                await app.scheduler.advance(timedelta(seconds=5))  # the outbox delivers
                said += [("(outbox)", s) for s in fake.said[before:] if s.message_id]
            elif act.verb == "name":  # someone chooses a pseudonym mid-meeting
                await say(who, f"!me name Pv{act.whom}{who}")
        before = len(fake.said)
        await app.scheduler.advance(timedelta(minutes=30))
        return said + [("(timers)", s) for s in fake.said[before:]]
    finally:
        await factory.close()


def leaks(people: dict[str, str], said: list[tuple[str, Said]]) -> list[tuple[str, str, str]]:
    """(whose display name, the command, the text) for each message that shows a person's
    display name (`people`: by actor id) to anyone else: in a channel, or privately to
    someone else."""
    found = []
    for key, display in people.items():
        me = (key, f"fake:{key}")
        for line, item in said:
            if item.where != "channel" and item.to in me:
                continue  # what the bot tells the person themselves
            if item.where == "ephemeral" and line.startswith("!toolbox share"):
                continue  # the sharer is told whom they picked, as they picked them
            if any(form in item.text for form in shown_forms(display)):
                found.append((display, line, item.text))
    return found


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(people=PEOPLE, acts=ACTS)
def test_no_one_else_sees_a_display_name_in_scripts_or_toolbox_shares(
    people: list[Person], acts: list[Do], encryption_keys: list[str]
) -> None:
    crypto.use_keys(encryption_keys)
    said = asyncio.run(play(people, acts))
    assert said, "the scene said nothing"
    assert leaks({f"m{n}": p.display for n, p in enumerate(people)}, said) == []


async def test_the_names_in_a_meeting_are_pseudonyms_or_neutral_words(
    app_factory: AppFactory,
) -> None:
    """The example: facilitator, hand, pass, the floor, status and toolbox shares."""
    app, fake = await app_factory.on_platform(
        ["general", "scripts", "worksheets"], clock=VirtualClock(START)
    )
    people = {"ana": "Ana Real", "ben": "Ben Real", "cat": "Cat Real"}
    for key, display in people.items():
        fake.actors[key] = Actor("fake", key, display)
        fake.tiers[key] = Tier.FACILITATOR if key == "ana" else Tier.MEMBER
    await fake.say("cat", "!me name Kestrel")
    said: list[tuple[str, Said]] = []

    async def say(who: str, line: str) -> list[Said]:
        got = await fake.say(who, line)
        said.extend((line, s) for s in got)
        return got

    opening = await say("ana", "!script start standard")
    assert "Welcome to this meeting. I'm a volunteer facilitator," in opening[0].text
    await say("ana", "!script next")
    hand = await say("ben", "!hand raise")
    assert hand[0].text == "Member 1 raised a hand. Hands up: 1. member 1."
    passed = await say("cat", "!pass")
    assert passed[0].text.startswith("Kestrel passes this round")
    floor = await say("ana", "!script next-speaker")
    assert floor[0].text.startswith("The floor is yours, **member 1**.")
    status = await say("cat", "!script status")
    assert "Facilitator: a volunteer facilitator." in status[0].text
    assert "Sharing now: **member 1**." in status[0].text

    await say("ben", "!urge log 4 bills")
    sent = await say("ben", "!toolbox share 1 cat")
    assert 'It reaches them as shared by "A member"' in sent[0].text
    await say("cat", "!urge log 5 noise")
    sent = await say("cat", "!toolbox share 1 ana")
    assert "reaches them as" not in sent[0].text  # Kestrel chose a pseudonym
    before = len(fake.said)
    await app.scheduler.advance(timedelta(seconds=5))
    delivered = fake.said[before:]
    said.extend(("(outbox)", s) for s in delivered)
    (to_cat,) = [s.text for s in delivered if s.to == "fake:cat"]
    (to_ana,) = [s.text for s in delivered if s.to == "fake:ana"]
    assert to_cat.startswith("**A member** shared this from their toolbox with you.")
    assert to_ana.startswith("**Kestrel** shared this")
    assert leaks(people, said) == []


NEWCOMER = """\
:tier ana facilitator
@ana !script start standard
@ana !script next
@cat !hand raise
@dan !pass
@ana !script next-speaker
@cat !me name Kestrel
@ana !script next-speaker
@cat !hand raise
"""


def test_the_newcomers_console_meeting_names_no_account(tmp_path: Path) -> None:
    """The console scene as a newcomer typed it: no account name in the channel."""
    run = circlebot(
        "console", "--db", str(tmp_path / "db.sqlite3"), "--clock", "2026-11-30T09:00:00Z",
        stdin=NEWCOMER, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    public = [line for line in run.stdout.splitlines() if line.startswith("[#general] ")]
    text = "\n".join(public)
    assert "Welcome to this meeting. I'm a volunteer facilitator" in run.stdout
    assert "[#general] Member 1 raised a hand. Hands up: 1. member 1." in public
    assert "[#general] Member 2 passes this round, and that's fine. Hands up: 1. member 1." in text
    assert "[#general] The floor is yours, member 1. No hands are up. Passed: 1." in public
    assert "[#general] Kestrel raised a hand. Hands up: 1. Kestrel. Passed: 1." in public
    for account in ("ana", "cat", "dan"):
        assert re.search(rf"\b{account}\b", text, re.IGNORECASE) is None, account
