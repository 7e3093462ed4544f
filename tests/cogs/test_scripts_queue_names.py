"""Several people in one speaking queue never read the same, and nothing private shows.

A newcomer's case: members without a pseudonym all read "a member", so nobody, facilitator
included, could tell whose turn it was. Now a list of people labels each one apart
(`MemberService.listed_names`): a pseudonym as chosen, else "member N" in the order people
first took part in the run, kept for the whole run; a later pseudonym that reads like an
earlier one's (case, look-alike forms, invisible characters) gets " (2)". The reader's own
line in `script status` (only they see it) says "(you)".
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from bot.clock import VirtualClock
from bot.core.identity import Actor
from bot.core.permissions import Tier
from bot.models import Member
from bot.services.members import reads
from tests.harness.app import AppFactory

START = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
HANDS = re.compile(r"Hands up: (.*)\.$")

# Pseudonyms chosen to collide: with each other, with the neutral words and with the numbers.
PSEUDONYM = st.one_of(
    st.none(),
    st.sampled_from(
        ["a member", "A Member", "member 2", "Member 1", "member 2 (2)", "Wren", "wren",
         "W\u200bren", "Ｗｒｅｎ", "a volunteer facilitator", "a former member", "1. x"]
    ),
)  # fmt: skip


def queue_labels(text: str) -> list[str]:
    """The labels of `Hands up: 1. a, 2. b.` in order."""
    found = HANDS.search(text.strip())
    assert found, text
    return [part.split(". ", 1)[1] for part in found.group(1).split(", ")]


async def queue_of(folder: Path, pseudonyms: list[str | None]) -> tuple[list[str], str]:
    """Everyone raises a hand in turn, with `pseudonyms` stored as given (duplicates too, as
    data from before names were unique); returns the queue's labels and the status text."""
    factory = AppFactory(folder)
    try:
        app, fake = await factory.on_platform(
            ["general", "scripts"], clock=VirtualClock(START), actors={"fran": Tier.FACILITATOR}
        )
        fake.actors["fran"] = Actor("fake", "fran", "Fran Account")
        await fake.say("fran", "!script start standard")
        await fake.say("fran", "!script next")
        names = [f"m{i}" for i in range(len(pseudonyms))]
        for i, name in enumerate(names):
            fake.actors[name] = Actor("fake", name, f"Qx Account {i}")
            await fake.say(name, "!me")  # joins the community
        async with app.db.sessions.begin() as session:
            for name, pseudonym in zip(names, pseudonyms, strict=True):
                await session.execute(
                    update(Member)
                    .where(Member.actor_key == f"fake:{name}")
                    .values(pseudonym=pseudonym)
                )
        app.members._pseudonyms.clear()
        last = ""
        for name in names:
            said = await fake.say(name, "!hand raise")
            last = said[0].text
        status = (await fake.say(names[0], "!script status"))[0].text
        return queue_labels(last), status
    finally:
        await factory.close()


@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(pseudonyms=st.lists(PSEUDONYM, min_size=2, max_size=6))
def test_a_queue_never_shows_two_people_alike_nor_an_account(
    pseudonyms: list[str | None],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        labels, status = asyncio.run(queue_of(Path(folder), pseudonyms))
    assert len(labels) == len(pseudonyms)
    assert len({reads(label) for label in labels}) == len(labels), labels
    shown = " ".join(labels) + status
    assert "Qx" not in shown and "Account" not in shown and "fake:" not in shown, shown
    assert "(you)" in status and status.count("(you)") == 1


async def test_members_without_a_pseudonym_are_told_apart_and_keep_their_number(
    app_factory: AppFactory,
) -> None:
    """A newcomer's case: three members without a pseudonym and one with one."""
    _app, fake = await app_factory.on_platform(
        ["general", "scripts"], clock=VirtualClock(START), actors={"fran": Tier.FACILITATOR}
    )
    await fake.say("fran", "!script start standard")
    await fake.say("fran", "!script next")
    await fake.say("cat", "!me name Kestrel")
    said = [(await fake.say(who, "!hand raise"))[0].text for who in ("ana", "ben", "cat", "dan")]
    assert said[0] == "Member 1 raised a hand. Hands up: 1. member 1."
    assert said[3] == (
        "Member 3 raised a hand. Hands up: 1. member 1, 2. member 2, 3. Kestrel, 4. member 3."
    )
    lowered = (await fake.say("ben", "!hand lower"))[0].text
    assert "Hands up: 1. member 1, 2. Kestrel, 3. member 3." in lowered  # numbers stay
    status = (await fake.say("dan", "!script status"))[0].text
    assert "3. member 3 (you)" in status
    floor = (await fake.say("fran", "!script next-speaker"))[0].text
    assert floor.startswith("The floor is yours, **member 1**.")
