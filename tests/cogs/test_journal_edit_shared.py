"""Editing a shared entry never publishes the new words on the strength of the old share.

`!journal share <id>` then `!journal edit <id> <more private text>` in a DM answered "Updated"
and posted the new text to the feed channel. Now an edit that changes a shared entry's text,
title or mood (on the command line or in the edit dialogue) takes its post down and makes it
private again, and the answer says so and how to share it again; only an edit that itself says
`visibility:shared`, or a later `journal share`, puts the entry (as it is then) in the feed.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.core.permissions import Tier
from tests.harness.app import AppFactory
from tests.harness.journal import code_in, deliver, journal_app, texts
from tests.harness.platform import FakePlatform

PROPERTY = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# What the member does to the entry: change its text, title or mood on the command line, its
# text in the edit dialogue, share it, or edit it saying `visibility:shared`.
STEPS = ("text", "title", "mood", "dialogue", "share", "shared-edit")
WITHDRAWN = "made it private again"
# Words no answer of the bot contains by chance: "qx" and a number in letters.
_MARKS = (f"qx{a}{b}{c}" for a, b, c in itertools.product("bcdfghjklm", repeat=3))


@pytest_asyncio.fixture
async def world(app_factory: AppFactory) -> AsyncIterator[tuple[App, FakePlatform]]:
    app, fake = await journal_app(app_factory)
    fake.actor("mod", Tier.MODERATOR)
    await fake.say("mod", "!journal feed-channel #general")
    yield app, fake


def shown_for(fake: FakePlatform, code: str) -> set[str]:
    """The marks the feed channel shows now in posts of entry `code`."""
    return {
        word
        for said in fake.visible()
        if said.where == "channel" and code in said.text
        for word in said.text.replace("*", " ").split()
        if word.startswith("qx")
    }


@PROPERTY
@given(steps=st.lists(st.sampled_from(STEPS), min_size=1, max_size=4))
async def test_the_feed_shows_only_words_the_member_shared(
    world: tuple[App, FakePlatform], steps: list[str]
) -> None:
    app, fake = world
    body, title = next(_MARKS), next(_MARKS)
    said = await fake.say("ana", f'!journal write title:"{title}" {body}', dm=True)
    code = code_in(said)
    await fake.say("ana", f"!journal share {code}", dm=True)
    published: set[str] | None = {body, title}  # what the member last chose to show
    for step in steps:
        if step == "share":
            await fake.say("ana", f"!journal share {code}", dm=True)
            published = published or {body, title}
        elif step == "dialogue":
            await fake.say("ana", f"!journal edit {code}", dm=True)
            body = next(_MARKS)
            await fake.say("ana", body, dm=True)
            told = texts(await fake.say("ana", "done", dm=True))
            assert (WITHDRAWN in told) == (published is not None), told
            published = None
        else:
            new = next(_MARKS)
            change = {"title": f'title:"{new}"', "mood": "mood:3"}.get(step, new)
            shared = "visibility:shared " if step == "shared-edit" else ""
            told = texts(await fake.say("ana", f"!journal edit {code} {shared}{change}", dm=True))
            assert "Updated" in told
            if step == "title":
                title = new
            elif step != "mood":
                body = new
            if step == "shared-edit":
                published = {body, title}
            else:
                assert (WITHDRAWN in told) == (published is not None), (step, told)
                assert f"!journal share {code}" in told or published is None
                published = None
        await deliver(app)
        assert shown_for(fake, code) == (published or set()), (step, steps)


async def test_editing_a_shared_entry_in_a_dm_takes_it_out_of_the_feed(
    world: tuple[App, FakePlatform],
) -> None:
    """A newcomer's steps: the new text never reaches #general; the answer says why."""
    app, fake = world
    code = code_in(await fake.say("ana", "!journal write Day 6, feeling strong", dm=True))
    await fake.say("ana", f"!journal share {code}", dm=True)
    await deliver(app)
    assert any("Day 6" in s.text for s in fake.visible() if s.where == "channel")
    told = texts(await fake.say("ana", f"!journal edit {code} I slipped last night", dm=True))
    await deliver(app)
    channel = [s.text for s in fake.visible() if s.where == "channel"]
    assert not any("slipped" in text or "Day 6" in text for text in channel), channel
    assert f"Updated `{code}`" in told and WITHDRAWN in told
    assert f"`!journal share {code}`" in told
    listed = texts(await fake.say("ana", "!journal list", dm=True))
    assert "(private)" in listed
