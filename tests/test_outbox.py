"""Timed delivery: exactly once across a crash, late inside the grace window, skipped after."""

from __future__ import annotations

import asyncio
import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import App
from bot.clock import VirtualClock
from bot.core.errors import DeliveryError
from bot.core.message import Message, When
from bot.db import is_write_conflict
from bot.models import OutboxItem, OutboxItemRef
from bot.outbox import NOT_RENDERED, OutboxRef, OwnerPlan, Planned, RefKind, Target
from bot.platform import Capabilities, PlatformDefaults
from tests.harness.app import AppFactory, MigratedSQLite, make_config
from tests.harness.platform import FakePlatform
from tests.harness.postgres import pg_url, schema_for

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CHANNEL = Target("fake", "general")


class CrashAfterSend(BaseException):
    """Stands for the process dying between the platform's acceptance and the mark."""


class DiesAfterSending(PlatformDefaults):
    """The platform accepts the message, then the bot process dies before marking it sent."""

    platform = "fake"

    def __init__(self, server: FakePlatform) -> None:
        self.server = server

    async def send(self, target: Target, message: Message, key: str) -> None:
        await self.server.send(target, message, key)
        raise CrashAfterSend


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_a_crash_between_send_and_mark_still_delivers_exactly_once(
    app_factory: AppFactory, tmp_path: Path, backend: str
) -> None:
    async with schema_for(backend, migrated=True) as schema:
        url = pg_url() if backend == "postgres" else f"sqlite+aiosqlite:///{tmp_path / 'o.db'}"
        db_schema = schema
        clock = VirtualClock(START)
        app = await app_factory(clock=clock, db_url=url, db_schema=db_schema)
        platform = FakePlatform(app)  # the "server side": it outlives the bot process

        app.add_transport(DiesAfterSending(platform))
        await app.outbox.enqueue(
            "meetings.1.2026-12-01T10:00.start",
            CHANNEL,
            Message.of("Meeting starts now"),
            START + timedelta(hours=1),
        )
        clock.set(START + timedelta(hours=1))
        with pytest.raises(CrashAfterSend):
            await app.outbox.deliver_due()
        assert await app.outbox.status_of("meetings.1.2026-12-01T10:00.start") == "pending"
        await app.close()

        restarted = await app_factory(clock=clock, db_url=url, db_schema=db_schema, name="r")
        restarted.add_transport(platform)
        await restarted.outbox.recover()
        texts = [s.text for s in platform.said]
        assert texts == ["Meeting starts now"]
        assert await restarted.outbox.status_of("meetings.1.2026-12-01T10:00.start") == "sent"
        await restarted.close()


async def test_the_same_key_is_promised_only_once(app_factory: AppFactory) -> None:
    app = await app_factory(clock=VirtualClock(START))
    platform = FakePlatform(app)
    app.add_transport(platform)
    due = START + timedelta(minutes=5)
    assert await app.outbox.enqueue("k1", CHANNEL, Message.of("one"), due)
    assert not await app.outbox.enqueue("k1", CHANNEL, Message.of("one again"), due)
    await app.scheduler.advance(timedelta(minutes=10))
    assert [s.text for s in platform.said] == ["one"]


async def test_an_unrendered_item_is_never_promised_on_its_own(app_factory: AppFactory) -> None:
    """`NOT_RENDERED` marks a planner's missed item: enqueued, it would go out empty."""
    app = await app_factory(clock=VirtualClock(START))
    platform = FakePlatform(app)
    app.add_transport(platform)
    with pytest.raises(ValueError, match="NOT_RENDERED"):
        await app.outbox.enqueue("k1", CHANNEL, NOT_RENDERED, START + timedelta(minutes=5))
    await app.scheduler.advance(timedelta(minutes=10))
    assert platform.said == []
    assert await app.outbox.status_of("k1") is None


async def test_downtime_sends_late_inside_grace_and_skips_what_is_stale(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    clock = VirtualClock(START)
    url = f"sqlite+aiosqlite:///{tmp_path / 'down.db'}"
    app = await app_factory(clock=clock, db_url=url)
    await app.outbox.enqueue("old", CHANNEL, Message.of("hours ago"), START + timedelta(minutes=5))
    await app.outbox.enqueue(
        "recent", CHANNEL, Message.of("just now"), START + timedelta(hours=2, minutes=50)
    )
    await app.outbox.enqueue("future", CHANNEL, Message.of("later"), START + timedelta(hours=4))
    await app.close()  # the bot is down from 09:00 ...

    clock.set(START + timedelta(hours=3))  # ... until 12:00
    restarted = await app_factory(clock=clock, db_url=url, name="again", start=False)
    platform = FakePlatform(restarted)
    restarted.add_transport(platform)
    await restarted.start()
    assert [s.text for s in platform.said] == ["(late) just now"]
    assert await restarted.outbox.status_of("old") == "skipped"
    assert await restarted.outbox.status_of("future") == "pending"
    await restarted.scheduler.advance(timedelta(hours=1))
    assert [s.text for s in platform.said][-1] == "later"


async def test_forgotten_items_are_never_sent(app_factory: AppFactory) -> None:
    app = await app_factory(clock=VirtualClock(START))
    platform = FakePlatform(app)
    app.add_transport(platform)
    at = START + timedelta(hours=1)
    seven, seventy = OutboxRef(RefKind.MEETING, "7"), OutboxRef(RefKind.MEETING, "70")
    await app.outbox.enqueue("a", CHANNEL, Message.of("old time"), at, refs=(seven,))
    await app.outbox.enqueue("b", CHANNEL, Message.of("other meeting"), at, refs=(seventy,))
    assert (await app.outbox.forget(seven)).withdrawn == 1
    await app.scheduler.advance(timedelta(hours=2))
    assert [s.text for s in platform.said] == ["other meeting"]


async def test_messages_with_times_and_files_survive_the_round_trip(
    app_factory: AppFactory,
) -> None:
    app = await app_factory(clock=VirtualClock(START))
    platform = FakePlatform(app)
    app.add_transport(platform)
    from bot.core.message import Attachment, Card, Field

    message = Message.of(
        "Next: ",
        When(START + timedelta(days=1)),
        card=Card("Tuesday circle", fields=(Field("Where", "#general"),)),
        attachment=Attachment("meeting.ics", b"BEGIN:VCALENDAR", "text/calendar"),
    )
    await app.outbox.enqueue("k", Target("fake", "ana", is_dm=True), message, START)
    await app.outbox.deliver_due()
    got = platform.said[0]
    assert got.where == "dm"
    assert got.message.text == message.text
    assert got.message.card == message.card
    assert got.message.attachment == message.attachment


async def test_virtual_clock_runs_jobs_in_time_order(app_factory: AppFactory) -> None:
    clock = VirtualClock(START)
    app = await app_factory(make_config(cogs={"enabled": ["general"]}), clock=clock)
    order: list[tuple[str, datetime]] = []

    async def job(name: str) -> None:
        order.append((name, clock.now()))

    app.scheduler.at("t.c", START + timedelta(minutes=30), job, "c")
    app.scheduler.at("t.a", START + timedelta(minutes=10), job, "a")
    app.scheduler.at("t.b", START + timedelta(minutes=20), job, "b")
    app.scheduler.at("t.b", START + timedelta(minutes=25), job, "b")  # replaces, not doubles
    assert app.scheduler.cancel_prefix("t.c") == 1
    ran = await app.scheduler.advance(timedelta(hours=1))
    assert ran == 2
    assert order == [("a", START + timedelta(minutes=10)), ("b", START + timedelta(minutes=25))]
    assert clock.now() == START + timedelta(hours=1)


async def test_settled_rows_keep_no_message_and_expire_counted_from_their_due_time(
    app_factory: AppFactory,
) -> None:
    clock = VirtualClock(START)
    app = await app_factory(clock=clock)
    platform = FakePlatform(app)
    app.add_transport(platform)
    ana = Target("fake", "fake:ana", is_dm=True)
    later = START + timedelta(days=3)
    await app.outbox.enqueue("now", ana, Message.of("secret words now"), START)
    await app.outbox.enqueue("later", ana, Message.of("secret words later"), later)
    await app.outbox.deliver_due()
    async with app.db.sessions() as session:
        rows = {r.key: r for r in await session.scalars(select(OutboxItem))}
        refs = (await session.execute(select(OutboxItemRef.item_id, OutboxItemRef.ref))).all()
    sent, pending = rows["now"], rows["later"]
    assert (sent.status, sent.payload, sent.target) == ("sent", None, "")
    assert pending.payload is not None and pending.target == "fake:ana"
    assert refs == [(pending.id, "fake:ana")]  # a DM carries its addressee; settled rows none
    # the settled key still refuses a second plan until KEEP_SETTLED after its DUE time
    clock.set(START + app.outbox.keep_settled - timedelta(minutes=1))
    assert not await app.outbox.enqueue("now", ana, Message.of("again"), START)
    assert await app.outbox.prune() == 0
    clock.set(START + app.outbox.keep_settled + timedelta(minutes=1))
    assert await app.outbox.prune() == 1
    assert await app.outbox.status_of("now") is None
    # ... and then nobody can plan it again either: it is too old to be remembered
    assert not await app.outbox.enqueue("now", ana, Message.of("again"), START)


async def test_forgetting_a_member_withdraws_every_pending_row_carrying_them(
    app_factory: AppFactory,
) -> None:
    app = await app_factory(clock=VirtualClock(START))
    platform = FakePlatform(app)
    app.add_transport(platform)
    due = START + timedelta(hours=1)
    to_ana = Target("fake", "fake:ana", is_dm=True)
    to_bob = Target("fake", "fake:bob", is_dm=True)
    entry = OutboxRef(RefKind.JOURNAL_ENTRY, "abc")
    await app.outbox.enqueue("dm-ana", to_ana, Message.of("for ana"), due)
    await app.outbox.enqueue(
        "quote", to_bob, Message.of("ana wrote"), due, refs=(OutboxRef.member("fake:ana"),)
    )
    await app.outbox.enqueue("entry", to_bob, Message.of("the entry"), due, refs=(entry,))
    await app.outbox.enqueue("other", to_bob, Message.of("unrelated"), due)
    assert (await app.outbox.forget(OutboxRef.member("fake:ana"))).withdrawn == 2
    assert (await app.outbox.forget(entry)).withdrawn == 1
    await app.scheduler.advance(timedelta(hours=2))
    assert [s.text for s in platform.said] == ["unrelated"]
    async with app.db.sessions() as session:
        assert (await session.scalars(select(OutboxItemRef.ref))).all() == []


async def test_a_replan_composes_with_what_it_replaced(app_factory: AppFactory) -> None:
    """Withdrawn keys can be planned again; sent keys cannot; one call reconciles a set."""
    app = await app_factory(clock=VirtualClock(START))
    platform = FakePlatform(app)
    app.add_transport(platform)
    owner = OutboxRef(RefKind.MEETING, "1")

    def item(key: str, minutes: int, text: str) -> Planned:
        return Planned(key, CHANNEL, Message.of(text), START + timedelta(minutes=minutes))

    first = await app.outbox.replan(owner, [item("a", 10, "a1"), item("b", 20, "b1")], since=START)
    assert sorted(first.written) == ["a", "b"]
    withdrawn = await app.outbox.replan(owner, [], since=START)
    assert sorted(withdrawn.withdrawn) == ["a", "b"]
    again = await app.outbox.replan(owner, [item("a", 10, "a2"), item("b", 20, "b2")], since=START)
    assert sorted(again.written) == ["a", "b"]
    await app.scheduler.advance(timedelta(minutes=15))
    changed = await app.outbox.replan(
        owner, [item("a", 10, "a3"), item("b", 20, "b3")], since=START
    )
    assert (changed.written, changed.updated) == ([], ["b"])  # "a" was sent: never twice
    await app.scheduler.advance(timedelta(minutes=15))
    assert [s.text for s in platform.said] == ["a2", "b3"]


class ForgetfulPlatform(PlatformDefaults):
    """Drops a repeated key for 5 minutes only (as Discord's nonce check), and keeps a record
    of what it showed that the bot can search by the marker it sent (here: the key)."""

    platform = "fake"
    capabilities = Capabilities(finds_sent=True)
    window = timedelta(minutes=5)

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.shown: list[tuple[datetime, str, str]] = []

    async def send(self, target: Target, message: Message, key: str) -> str:
        if any(k == key and self.clock.now() - at <= self.window for at, k, _t in self.shown):
            return key
        self.shown.append((self.clock.now(), key, message.text[0] if message.text else ""))
        return key

    async def find_sent(self, target: Target, key: str, since: datetime) -> str | None:
        return key if any(k == key and at >= since for at, k, _t in self.shown) else None


class DiesAfterShowing(PlatformDefaults):
    """The platform shows the message, then the bot process dies before marking it sent."""

    platform = "fake"

    def __init__(self, server: ForgetfulPlatform) -> None:
        self.server = server

    async def send(self, target: Target, message: Message, key: str) -> str:
        await self.server.send(target, message, key)
        raise CrashAfterSend


async def test_a_retry_later_than_the_platforms_duplicate_window_is_settled_by_a_lookup(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    clock = VirtualClock(START)
    url = f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"
    app = await app_factory(clock=clock, db_url=url)
    platform = ForgetfulPlatform(clock)
    app.add_transport(DiesAfterShowing(platform))
    await app.outbox.enqueue("start", CHANNEL, Message.of("starting now"), START)
    with pytest.raises(CrashAfterSend):
        await app.outbox.deliver_due()
    await app.close()

    clock.set(START + timedelta(minutes=10))  # back after the platform forgot the key
    again = await app_factory(clock=clock, db_url=url, name="again", start=False)
    again.add_transport(platform)
    await again.start()
    assert [text for _at, _k, text in platform.shown] == ["starting now"]  # shown once
    assert await again.outbox.status_of("start") == "sent"
    async with again.db.sessions() as session:
        row = await session.scalar(select(OutboxItem).where(OutboxItem.key == "start"))
    assert row is not None and row.note == "found on the platform"
    assert row.platform_message_id == "start"


# --- replanning many owners at once ------------------------------------------------------

_KEYS_PER_OWNER = 4
_plan_items = st.lists(
    st.tuples(
        st.integers(0, _KEYS_PER_OWNER - 1),  # which key of the owner
        st.integers(-30, 180),  # due, minutes after the round's clock
        st.sampled_from(["starts soon", "starts now", "moved"]),
        st.booleans(),  # names a member
    ),
    max_size=4,
)
_owner_plans = st.lists(
    st.tuples(st.integers(0, 2), _plan_items, st.integers(0, 60), st.none() | st.integers(0, 240)),
    min_size=1,
    max_size=4,
)


def _planned(owner: int, wanted: list[tuple[int, int, str, bool]], now: datetime) -> list[Planned]:
    return [
        Planned(
            f"m{owner}.k{key}",
            Target("fake", f"chan{owner}"),
            Message.of(f"Meeting {owner} {text}"),
            now + timedelta(minutes=minutes),
            refs=(OutboxRef.member(f"fake:f{owner}"),) if named else (),
        )
        for key, minutes, text, named in wanted
    ]


async def _state(app: App) -> list[tuple[object, ...]]:
    """Each row's key, status, due time, target, payload and references (`_full_state`)."""
    return [
        (key, status, due_at, target, payload, refs)
        for key, status, due_at, _not_after, target, payload, _note, refs in await _full_state(app)
    ]


async def _replan_both_ways(folder: Path, rounds: list[list[tuple[int, Any, int, Any]]]) -> None:
    clock = VirtualClock(START)
    for name in ("together.sqlite3", "alone.sqlite3"):
        MigratedSQLite.copy_to(folder / name)
    together, alone = (
        App(make_config(), clock=clock, db_url=f"sqlite+aiosqlite:///{folder / name}")
        for name in ("together.sqlite3", "alone.sqlite3")
    )
    for app in (together, alone):
        await app.open(migrate=True)
        app.add_transport(FakePlatform(app))
    try:
        for number, plans in enumerate(rounds):
            now = START + timedelta(minutes=45 * number)
            clock.set(now)
            owner_plans = [
                OwnerPlan(
                    OutboxRef(RefKind.MEETING, str(owner)),
                    tuple(_planned(owner, wanted, now)),
                    now - timedelta(minutes=since),
                    None if until is None else now + timedelta(minutes=until),
                )
                for owner, wanted, since, until in plans
            ]
            batched = await together.outbox.replan_many(owner_plans)
            one_by_one = [
                await alone.outbox.replan(p.owner, p.items, since=p.since, until=p.until)
                for p in owner_plans
            ]
            assert batched == one_by_one
            assert await _state(together) == await _state(alone)
            # The same plans again (a restart replans everything as it was): the same outcome
            # both ways, nothing written or withdrawn, every kept item reported as still pending,
            # and rows and references exactly as before.
            before = await _state(together)
            kept = [sorted(r.written + r.updated) for r in batched]
            again = await together.outbox.replan_many(owner_plans)
            again_alone = [
                await alone.outbox.replan(p.owner, p.items, since=p.since, until=p.until)
                for p in owner_plans
            ]
            assert again == again_alone
            assert await _state(together) == await _state(alone)
            # An owner planned twice in one batch swings between its plans each time (its first
            # plan's missed item, withdrawn pending by the second plan, is recorded as skipped
            # the next time round): only a batch of distinct owners is a fixed point.
            if len({p.owner for p in owner_plans}) == len(owner_plans):
                assert await _state(together) == before
                assert [(r.written, r.withdrawn) for r in again] == [([], [])] * len(again)
                assert [sorted(r.updated) for r in again] == kept
            for app in (together, alone):
                await app.outbox.deliver_due()  # settles what came due: settled keys stay put
            assert await _state(together) == await _state(alone)
    finally:
        for app in (together, alone):
            await app.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds=st.lists(_owner_plans, min_size=1, max_size=3))
def test_replanning_many_owners_at_once_is_replanning_each_in_turn(
    rounds: list[list[tuple[int, Any, int, Any]]],
) -> None:
    """Start-up reconciles every meeting in one transaction; the outcome (rows, references,
    what each plan wrote, updated and withdrew) is exactly that of one `replan` per owner."""
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(_replan_both_ways(Path(folder), rounds))


# Owners that share keys, items that lead up to something (`not_after`) and items their planner
# already knows are missed (`NOT_RENDERED`), with the clock moving on between rounds so that
# what was planned pending is missed at the next: one key may be missed for one plan and still
# sendable for another in the same batch, or pending and missed.
_shared_items = st.lists(
    st.tuples(
        st.integers(0, 5),  # which key (shared by every owner)
        st.integers(-40, 120),  # due, minutes after the round's clock
        st.none() | st.integers(0, 30),  # not_after, minutes after due
        st.booleans(),  # a missed item comes as NOT_RENDERED
        st.sampled_from(["a", "b"]),
    ),
    max_size=5,
)
_shared_plans = st.lists(
    st.tuples(
        st.integers(0, 2), _shared_items, st.integers(0, 60), st.none() | st.integers(0, 240)
    ),
    min_size=1,
    max_size=4,
)
_EMPTY = json.dumps(Message().to_json())


async def _full_state(app: App) -> list[tuple[object, ...]]:
    async with app.db.sessions() as session:
        rows = (await session.scalars(select(OutboxItem).order_by(OutboxItem.key))).all()
        refs = (await session.execute(select(OutboxItemRef.item_id, OutboxItemRef.ref))).all()
    carried: dict[int, set[str]] = {}
    for item_id, ref in refs:
        carried.setdefault(item_id, set()).add(ref)
    return [
        (r.key, r.status, r.due_at, r.not_after, r.target, r.payload, r.note, refs)
        for r in rows
        for refs in (tuple(sorted(carried.get(r.id, set()))),)
    ]


async def _replan_shared_both_ways(
    folder: Path, rounds: list[tuple[int, list[tuple[int, Any, int, Any]]]]
) -> None:
    clock = VirtualClock(START)
    apps = [
        App(make_config(), clock=clock, db_url=f"sqlite+aiosqlite:///{folder / name}")
        for name in ("together.sqlite3", "alone.sqlite3")
    ]
    platforms = []
    for app in apps:
        await app.open(migrate=True)
        platforms.append(FakePlatform(app))
        app.add_transport(platforms[-1])
    together, alone = apps
    now = START
    try:
        for step, plans in rounds:
            now += timedelta(minutes=step)
            clock.set(now)
            owner_plans = []
            for owner, wanted, since, until in plans:
                items = []
                for key, minutes, lead, unrendered, text in wanted:
                    due = now + timedelta(minutes=minutes)
                    not_after = None if lead is None else due + timedelta(minutes=lead)
                    lost = together.outbox.missed(due, not_after)
                    message = (
                        NOT_RENDERED if lost and unrendered else Message.of(f"{owner} {text}")
                    )
                    items.append(
                        Planned(f"k{key}", Target("fake", f"chan{owner}"), message, due, not_after)
                    )
                owner_plans.append(
                    OwnerPlan(
                        OutboxRef(RefKind.MEETING, str(owner)),
                        tuple(items),
                        now - timedelta(minutes=since),
                        None if until is None else now + timedelta(minutes=until),
                    )
                )
            batched = await together.outbox.replan_many(owner_plans)
            one_by_one = [
                await alone.outbox.replan(p.owner, p.items, since=p.since, until=p.until)
                for p in owner_plans
            ]
            assert batched == one_by_one
            state = await _full_state(together)
            assert state == await _full_state(alone)
            for key, status, _due, _na, target, payload, _note, refs in state:
                if status == "pending":  # never the text of what was not rendered
                    assert payload != _EMPTY, key
                else:  # settled as a delivery pass leaves a skipped item: nothing of it
                    assert (payload, target, refs) == (None, "", ()), key
            for app in apps:
                await app.outbox.deliver_due()
            assert await _full_state(together) == await _full_state(alone)
        for platform in platforms:
            assert all(said.text.strip() for said in platform.said)
    finally:
        for app in apps:
            await app.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds=st.lists(st.tuples(st.integers(0, 40), _shared_plans), min_size=1, max_size=4))
def test_replanning_shared_keys_and_missed_items_at_once_is_replanning_each_in_turn(
    rounds: list[tuple[int, list[tuple[int, Any, int, Any]]]],
) -> None:
    """What is missed when planned (due longer than the grace window ago, or what it led up to
    began) is recorded skipped at once, pending items now missed are left to the next pass, and
    the outcome is still exactly that of one `replan` per owner; nothing empty is ever kept
    pending or sent."""
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(_replan_shared_both_ways(Path(folder), rounds))


# --- a burst: pre-announcements may begin early, "starting now" never --------------------


class Paced(PlatformDefaults):
    """A platform with a known pace; records when (virtual time) each key arrived."""

    platform = "fake"

    def __init__(self, clock: VirtualClock, per_second: float) -> None:
        self.capabilities = Capabilities(delivery_slots=4, sends_per_second=per_second)
        self.clock = clock
        self.arrived: list[tuple[str, datetime]] = []

    async def send(self, target: Target, message: Message, key: str) -> str:
        await asyncio.sleep(0)  # the pool's other sends run meanwhile
        self.arrived.append((key, self.clock.now()))
        return key


async def _burst(
    folder: Path, pre: int, now_items: int, offsets: list[int], pace: float
) -> list[tuple[str, datetime]]:
    clock = VirtualClock(START)
    MigratedSQLite.copy_to(folder / "b.sqlite3")
    app = App(make_config(), clock=clock, db_url=f"sqlite+aiosqlite:///{folder / 'b.sqlite3'}")
    await app.open(migrate=True)
    platform = Paced(clock, pace)
    app.add_transport(platform)
    await app.start()
    due = START + timedelta(minutes=10)
    early: dict[str, datetime] = {}
    exact: dict[str, datetime] = {}
    try:
        for n in range(pre):
            at = due + timedelta(seconds=offsets[n % len(offsets)])
            early[f"pre.{n}"] = at
            await app.outbox.enqueue(
                f"pre.{n}", Target("fake", f"c{n}"), Message.of("soon"), at, early_seconds=30
            )
        for n in range(now_items):
            at = due + timedelta(seconds=offsets[-1 - n % len(offsets)])
            exact[f"now.{n}"] = at
            await app.outbox.enqueue(f"now.{n}", Target("fake", f"d{n}"), Message.of("now"), at)
        await app.scheduler.advance(timedelta(minutes=20))
    finally:
        await app.close()
    keys = [key for key, _at in platform.arrived]
    assert sorted(keys) == sorted([*early, *exact])  # every one, once
    for key, at in platform.arrived:
        if key in exact:
            assert at >= exact[key], (key, at)  # never early
        else:
            assert early[key] - timedelta(seconds=30) <= at, (key, at)  # at most 30 s early
    lead = timedelta(seconds=(pre + now_items) / pace * 1.1)
    for key, at in platform.arrived:  # early only when the burst needed it
        if key in early and at < early[key]:
            assert early[key] - at <= lead, (key, at, lead)
    return platform.arrived


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pre=st.integers(0, 30),
    now_items=st.integers(0, 4),
    offsets=st.lists(st.integers(-40, 40), min_size=1, max_size=4),
    pace=st.sampled_from([0.5, 2.0, 50.0]),
)
def test_a_burst_of_pre_announcements_begins_early_and_starting_now_never_does(
    pre: int, now_items: int, offsets: list[int], pace: float
) -> None:
    """Items allowed to go early (pre-announcements) go at most 30 s before their time, and
    only as far ahead as the platform's pace needs for the whole burst; the others (starting
    now) never before their time; each arrives exactly once."""
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(_burst(Path(folder), pre, now_items, offsets, pace))


def test_forty_pre_announcements_at_two_a_second_begin_twenty_seconds_early() -> None:
    """The platform needs 20 s for the burst: it begins 20 s (and a 10% margin) before."""
    with tempfile.TemporaryDirectory() as folder:
        arrived = asyncio.run(_burst(Path(folder), 40, 0, [0], 2.0))
    due = START + timedelta(minutes=10)
    assert {at for _key, at in arrived} == {due - timedelta(seconds=22)}


class Jittery(PlatformDefaults):
    """Four sends at once, each taking a drawn number of loop turns: sends to different
    places finish in any order."""

    platform = "fake"

    def __init__(self, turns: list[int]) -> None:
        self.capabilities = Capabilities(delivery_slots=4)
        self.turns = turns
        self.arrived: list[tuple[str, str]] = []
        self.sent = 0

    async def send(self, target: Target, message: Message, key: str) -> str:
        self.sent += 1
        for _turn in range(self.turns[self.sent % len(self.turns)]):
            await asyncio.sleep(0)
        self.arrived.append((target.target, key))
        return key


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    places=st.lists(st.integers(0, 3), min_size=1, max_size=24),
    seconds=st.lists(st.integers(0, 5), min_size=1, max_size=24),
    turns=st.lists(st.integers(0, 6), min_size=1, max_size=8),
)
def test_one_places_posts_arrive_in_the_order_planned_while_places_go_side_by_side(
    places: list[int], seconds: list[int], turns: list[int]
) -> None:
    """Announcements due together in one room (or one member's DMs) reach it in due order,
    whatever the pool does with other rooms meanwhile; each arrives once."""

    async def run(folder: Path) -> list[tuple[str, str]]:
        clock = VirtualClock(START)
        MigratedSQLite.copy_to(folder / "o.sqlite3")
        url = f"sqlite+aiosqlite:///{folder / 'o.sqlite3'}"
        app = App(make_config(), clock=clock, db_url=url)
        await app.open(migrate=True)
        platform = Jittery(turns)
        app.add_transport(platform)
        await app.start()
        try:
            for n, place in enumerate(places):
                at = START + timedelta(minutes=5, seconds=seconds[n % len(seconds)])
                await app.outbox.enqueue(
                    f"k{n:02d}", Target("fake", f"room{place}"), Message.of("hi"), at
                )
            await app.scheduler.advance(timedelta(minutes=10))
        finally:
            await app.close()
        return platform.arrived

    with tempfile.TemporaryDirectory() as folder:
        arrived = asyncio.run(run(Path(folder)))
    assert sorted(key for _room, key in arrived) == [f"k{n:02d}" for n in range(len(places))]
    for place in set(places):
        room = f"room{place}"
        planned = sorted(
            (seconds[n % len(seconds)], f"k{n:02d}") for n, p in enumerate(places) if p == place
        )
        got = [key for r, key in arrived if r == room]
        assert got == [key for _s, key in planned], (room, got, planned)


OUTCOMES = ["sent", "slow", "refused", "passing", "adapter bug", "unreadable"]


class Moody(PlatformDefaults):
    """Four sends at once; each key's send does what the test drew for it: goes out, goes out
    after some loop turns, is refused for good, fails for a passing reason, or raises an
    error the adapter did not expect."""

    platform = "fake"

    def __init__(self, fates: dict[str, str], turns: list[int]) -> None:
        self.capabilities = Capabilities(delivery_slots=4)
        self.fates = fates
        self.turns = turns
        self.arrived: list[str] = []

    async def send(self, target: Target, message: Message, key: str) -> str:
        for _turn in range(self.turns[len(self.arrived) % len(self.turns)]):
            await asyncio.sleep(0)
        fate = self.fates[key]
        if fate == "refused":
            raise DeliveryError("refused", permanent=True)
        if fate == "passing":
            raise DeliveryError("try again later")
        if fate == "adapter bug":
            raise RuntimeError("unexpected")
        self.arrived.append(key)
        return key


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fates=st.lists(st.sampled_from(OUTCOMES), min_size=1, max_size=20),
    places=st.lists(st.integers(0, 5), min_size=1, max_size=20),
    turns=st.lists(st.integers(0, 5), min_size=1, max_size=6),
)
def test_one_pass_settles_every_item_or_plans_its_retry_whatever_its_neighbours_do(
    fates: list[str], places: list[int], turns: list[int]
) -> None:
    """After one delivery pass every due item has gone out exactly once, been given up, or
    has a retry pass planned: one item's failure (even a message that cannot be read) never
    stops or strands the items sent beside it."""
    keys = {f"k{n:02d}": fate for n, fate in enumerate(fates)}

    async def run(folder: Path) -> tuple[Moody, dict[str, str | None], set[str]]:
        clock = VirtualClock(START)
        MigratedSQLite.copy_to(folder / "o.db")
        app = App(make_config(), clock=clock, db_url=f"sqlite+aiosqlite:///{folder / 'o.db'}")
        await app.open(migrate=True)
        platform = Moody(keys, turns)
        app.add_transport(platform)
        await app.start()
        try:
            for n, key in enumerate(keys):
                room = f"room{places[n % len(places)]}"
                await app.outbox.enqueue(key, Target("fake", room), Message.of("hi"), START)
            unreadable = [key for key, fate in keys.items() if fate == "unreadable"]
            async with app.db.sessions.begin() as session:
                await session.execute(
                    update(OutboxItem).where(OutboxItem.key.in_(unreadable)).values(payload="{")
                )
            await app.outbox.deliver_due()
            statuses = {key: await app.outbox.status_of(key) for key in keys}
            async with app.db.sessions() as session:
                ids = dict((await session.execute(select(OutboxItem.key, OutboxItem.id))).all())
            planned = {job for job, _at in app.scheduler.planned("outbox.retry.")}
            retrying = {key for key, id_ in ids.items() if f"outbox.retry.{id_}" in planned}
        finally:
            await app.close()
        return platform, statuses, retrying

    with tempfile.TemporaryDirectory() as folder:
        platform, statuses, retrying = asyncio.run(run(Path(folder)))
    went_out = sorted(key for key, fate in keys.items() if fate in ("sent", "slow"))
    assert sorted(platform.arrived) == went_out  # each once, none of the others
    for key, fate in keys.items():
        if fate in ("sent", "slow"):
            assert statuses[key] == "sent", (key, fate)
        elif fate in ("refused", "unreadable"):
            assert statuses[key] == "failed", (key, fate)
        else:
            assert statuses[key] == "pending" and key in retrying, (key, fate)


@pytest.mark.parametrize(
    ("sqlstate", "retried"),
    [("40P01", True), ("40001", True), ("23505", True), ("57P01", False), ("22012", False)],
)
async def test_a_replan_is_tried_again_only_for_write_conflicts(
    pg_schema: str, sqlstate: str, retried: bool
) -> None:
    """PostgreSQL's own errors, raised for real: a deadlock victim, a serialization failure
    and a unique key clash are tried again (`replan_many`); a shutdown or a bad value is not."""
    engine = create_async_engine(pg_url())
    try:
        with pytest.raises(DBAPIError) as raised:
            async with engine.begin() as connection:
                await connection.execute(
                    text(f"DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '{sqlstate}'; END $$")
                )
    finally:
        await engine.dispose()
    assert is_write_conflict(raised.value) is retried


# --- a replan reads a row's text only when its keyed digest differs ---------------------

_digest_steps = st.lists(
    st.one_of(
        st.tuples(st.just("replan"), _owner_plans),
        st.tuples(st.just("again"), st.none()),  # the last plans once more (a restart)
        st.tuples(st.just("retarget"), st.integers(0, 2)),  # a room replaced by its upgrade
        st.tuples(st.just("no digests"), st.none()),  # rows written before digests existed
        st.tuples(st.just("deliver"), st.integers(0, 90)),  # minutes pass, due items go
    ),
    min_size=1,
    max_size=8,
)


async def _digest_against_full_compare(folder: Path, steps: list[tuple[str, Any]]) -> None:
    clock = VirtualClock(START)
    for name in ("quick.sqlite3", "full.sqlite3"):
        MigratedSQLite.copy_to(folder / name)
    quick, full = (
        App(make_config(), clock=each, db_url=f"sqlite+aiosqlite:///{folder / name}")
        for name, each in (("quick.sqlite3", clock), ("full.sqlite3", VirtualClock(START)))
    )
    for app in (quick, full):
        await app.open(migrate=True)
        app.add_transport(FakePlatform(app))
        await app.start()  # leading, so a delivery pass really sends and settles what is due
    last: list[tuple[int, Any, int, Any]] = []
    try:
        for step, arg in steps:
            now = clock.now()
            if step == "again":
                step, arg = "replan", last
            if step == "replan":
                last = arg
                plans = [
                    OwnerPlan(
                        OutboxRef(RefKind.MEETING, str(owner)),
                        tuple(_planned(owner, wanted, now)),
                        now - timedelta(minutes=since),
                        None if until is None else now + timedelta(minutes=until),
                    )
                    for owner, wanted, since, until in arg
                ]
                async with full.db.sessions.begin() as session:  # the full comparison, always
                    await session.execute(update(OutboxItem).values(plan_digest=None))
                results = [await app.outbox.replan_many(plans) for app in (quick, full)]
                assert results[0] == results[1]
                # every wanted row still pending says exactly what its plan wanted (an owner
                # planned twice in one batch: its last plan); a missed item's pending row is
                # left as it was, unread, for the next delivery pass to skip
                for plan in {plan.owner: plan for plan in plans}.values():
                    wanted = {
                        p.key: p
                        for p in plan.items
                        if plan.since <= p.due_at <= (plan.until or p.due_at)
                        and not quick.outbox.missed(p.due_at, p.not_after)
                    }
                    async with quick.db.sessions() as session:
                        for row in await session.scalars(
                            select(OutboxItem).where(
                                OutboxItem.key.in_(list(wanted)), OutboxItem.status == "pending"
                            )
                        ):
                            item = wanted[row.key]
                            assert (row.target, row.payload) == (
                                item.target.target,
                                json.dumps(item.message.to_json()),
                            )
            elif step == "retarget":
                for app in (quick, full):
                    await app.outbox.retarget("fake", f"chan{arg}", f"chan{arg}-upgraded")
            elif step == "no digests":
                async with quick.db.sessions.begin() as session:
                    await session.execute(update(OutboxItem).values(plan_digest=None))
            else:
                for app in (quick, full):  # each on its own clock, moved alike
                    await app.scheduler.advance(timedelta(minutes=arg))
            assert await _state(quick) == await _state(full)
        async with quick.db.sessions() as session:  # nothing of a settled item's text remains
            left = await session.scalars(
                select(OutboxItem.plan_digest).where(OutboxItem.status != "pending")
            )
            assert set(left) <= {None}
    finally:
        for app in (quick, full):
            await app.close()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=_digest_steps)
@example(
    steps=[
        ("replan", [(0, [(0, 30, "starts soon", True)], 0, None)]),
        ("retarget", 0),
        ("again", None),
    ]
)
@example(
    steps=[("replan", [(0, [(0, 5, "starts soon", True)], 0, None)]), ("deliver", 10)]
)  # a delivery settles a row: no digest of its text stays behind
@example(
    steps=[
        ("replan", [(1, [(0, 0, "starts soon", False)], 27, None)]),
        ("replan", [(1, [(0, -30, "starts soon", True)], 53, None)]),
        ("retarget", 1),
        ("again", None),
    ]
)  # a pending row retargeted, then missed: left as it is for the next pass to skip
def test_a_replan_that_trusts_stored_digests_ends_as_one_that_compares_every_row(
    steps: list[tuple[str, Any]],
) -> None:
    """A replan reads a pending row whole only when its stored keyed digest differs from the
    wanted item's. Whatever changed rows meanwhile (a room upgrade moving pending posts, rows
    from before digests, deliveries settling some), it leaves rows and references exactly as a
    replan comparing every row in full does, each wanted row saying what was wanted; settled
    rows keep no digest."""
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(_digest_against_full_compare(Path(folder), steps))
