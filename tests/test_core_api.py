"""What the core offers every cog: paging, the audit log by page, and what to call a person."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.clock import VirtualClock
from bot.core import Page, page_count, page_offset
from tests.harness.app import AppFactory, make_config

START = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)


@settings(max_examples=200)
@given(total=st.integers(0, 500), size=st.integers(1, 60))
def test_pages_hold_every_item_once_in_order(total: int, size: int) -> None:
    items = list(range(total))
    pages = page_count(total, size)
    seen: list[int] = []
    for page in range(1, pages + 1):
        start = page_offset(page, size)
        chunk = items[start : start + size]
        assert chunk or total == 0  # no empty page inside a listing
        seen += chunk
    assert seen == items
    assert page_offset(pages + 1, size) >= total  # past the end: nothing


def test_a_page_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        page_count(10, 0)


async def test_the_audit_log_pages_newest_first_and_per_community(
    app_factory: AppFactory,
) -> None:
    clock = VirtualClock(START)
    app = await app_factory(make_config(), clock=clock)
    here = await app.members.community("fake", "here")
    there = await app.members.community("fake", "there")
    for n in range(23):
        await app.audit.record(here.id, "fake:mo", "settings.set", f"n={n}")
        clock.advance(timedelta(seconds=1))
    await app.audit.record(there.id, "fake:mo", "settings.set", "elsewhere")

    first = await app.audit.page(here.id, 1, 10)
    assert isinstance(first, Page)
    assert (first.page, first.pages, first.total) == (1, 3, 23)
    assert [r.detail for r in first.items] == [f"n={n}" for n in range(22, 12, -1)]
    last = await app.audit.page(here.id, 3, 10)
    assert [r.detail for r in last.items] == ["n=2", "n=1", "n=0"]
    beyond = await app.audit.page(here.id, 4, 10)
    assert beyond.items == () and beyond.pages == 3

    newer = await app.audit.after(here.id, first.items[1].id, 50)
    assert [r.detail for r in newer] == ["n=22"]
    assert await app.audit.last_id() > first.items[0].id  # the other community's line


async def test_a_person_is_called_by_their_pseudonym_here_else_a_neutral_word(
    app_factory: AppFactory,
) -> None:
    app = await app_factory(make_config())
    members = app.members
    here = await members.community("fake", "here")
    there = await members.community("fake", "there")
    for key in ("fake:ana", "fake:bo", "fake:cy"):
        await members.join(here.id, key)
        await members.join(there.id, key)
    await members.set_pseudonym(here.id, "fake:ana", "River")
    await members.set_pseudonym(there.id, "fake:bo", "Stone")

    assert await members.public_name(here.id, "fake:ana") == "River"
    assert await members.public_name(there.id, "fake:ana") == "a member"
    assert await members.public_name(there.id, "fake:ana", opening=True) == "A member"
    assert await members.public_name(there.id, "fake:ana", facilitator=True) == (
        "a volunteer facilitator"
    )
    assert await members.public_name(None, "fake:ana") == "a member"
    keys = ["fake:cy", "fake:ana", "fake:bo"]
    assert await members.public_names(here.id, keys) == ["a member", "River", "a member"]
    keys = ["fake:ana", "fake:bo", "fake:cy", "fake:ana"]
    assert await members.pseudonyms_in(here.id, keys) == {"fake:ana": "River"}
    assert await members.pseudonyms_in(there.id, keys) == {"fake:bo": "Stone"}
    assert await members.pseudonyms_in(here.id, []) == {}

    await members.set_pseudonym(here.id, "fake:ana", "Lake")  # a change is seen at once
    assert await members.pseudonyms_in(here.id, keys) == {"fake:ana": "Lake"}
    assert await members.public_name(here.id, "fake:ana") == "Lake"
