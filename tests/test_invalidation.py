"""Caches across processes on one PostgreSQL: a write in one process is honoured by the others
at once (LISTEN/NOTIFY), also after the listening connection dropped; SQLite is unchanged."""

from __future__ import annotations

from collections.abc import Hashable

import asyncpg
from hypothesis import given
from hypothesis import strategies as st

from bot.app import App
from bot.core.permissions import Tier
from bot.services.cache import MISSING, TTLCache
from bot.services.invalidation import InvalidationBus
from tests.harness.app import AppFactory, make_config
from tests.harness.postgres import PG_DSN, pg_url
from tests.harness.waiting import eventually, wait_until


async def two_processes(app_factory: AppFactory, schema: str) -> tuple[App, App]:
    config = make_config(cogs={"enabled": ["general"]})
    first = await app_factory(config, db_url=pg_url(), db_schema=schema, name="a", start=False)
    second = await app_factory(config, db_url=pg_url(), db_schema=schema, name="b", start=False)
    for app in (first, second):
        assert app.invalidations is not None
        await wait_until(lambda app=app: app.invalidations.listening, what="listening")
    return first, second


async def test_a_tier_binding_made_in_one_process_is_honoured_by_the_other(
    pg_schema: str, app_factory: AppFactory
) -> None:
    first, second = await two_processes(app_factory, pg_schema)
    community = await first.members.community("discord", "guild-1", "Tuesdays")
    assert (await second.members.community("discord", "guild-1")).id == community.id
    assert await second.members.bindings(community.id) == {}  # now cached in the second

    await first.members.bind(community.id, "role-9", int(Tier.MODERATOR))

    async def second_sees_it() -> bool:
        return await second.members.bindings(community.id) == {"role-9": int(Tier.MODERATOR)}

    await eventually(second_sees_it, what="the second process honouring the new binding")

    await second.members.bind(community.id, "role-9", None)  # and back the other way

    async def first_sees_removal() -> bool:
        return await first.members.bindings(community.id) == {}

    await eventually(first_sees_removal, what="the first process honouring the removal")


async def test_a_setting_changed_in_one_process_is_read_by_the_other(
    pg_schema: str, app_factory: AppFactory
) -> None:
    first, second = await two_processes(app_factory, pg_schema)
    community = await first.members.community("discord", "guild-1", "Tuesdays")
    assert await second.settings.get(community.id, "admin", "disabled", []) == []

    await first.settings.set(community.id, "admin", "disabled", ["journal"])

    async def second_reads_it() -> bool:
        return await second.settings.get(community.id, "admin", "disabled", []) == ["journal"]

    await eventually(second_reads_it, what="the second process reading the new setting")


async def test_after_the_listening_connection_drops_the_process_reconnects_and_forgets_all(
    pg_schema: str, app_factory: AppFactory
) -> None:
    first, second = await two_processes(app_factory, pg_schema)
    bus = second.invalidations
    assert bus is not None and bus._conn is not None
    community = await first.members.community("discord", "guild-1", "Tuesdays")
    assert await second.members.bindings(community.id) == {}  # cached in the second
    assert await second.settings.get(community.id, "admin", "disabled", []) == []

    admin = await asyncpg.connect(PG_DSN)
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", bus._conn.get_server_pid())
    finally:
        await admin.close()
    # Written while the second may not be listening: its notices can be lost.
    await first.members.bind(community.id, "role-9", int(Tier.FACILITATOR))
    await first.settings.set(community.id, "admin", "disabled", ["journal"])

    await wait_until(lambda: bus.reconnects >= 1, what="the second process listening again")

    async def second_is_current() -> bool:
        bound = await second.members.bindings(community.id)
        disabled = await second.settings.get(community.id, "admin", "disabled", [])
        return bound == {"role-9": int(Tier.FACILITATOR)} and disabled == ["journal"]

    await eventually(second_is_current, what="the second process current after reconnecting")

    await first.members.bind(community.id, "role-9", None)  # notices flow again

    async def second_sees_removal() -> bool:
        return await second.members.bindings(community.id) == {}

    await eventually(second_sees_removal, what="a notice after the reconnection")


async def test_on_sqlite_there_is_no_bus_and_the_cache_serves_its_own_writes(
    app_factory: AppFactory,
) -> None:
    app = await app_factory(make_config(cogs={"enabled": ["general"]}), start=False)
    assert app.invalidations is None
    community = await app.members.community("console", "local", "Here")
    await app.members.bind(community.id, "role-1", int(Tier.MODERATOR))
    assert await app.members.bindings(community.id) == {"role-1": int(Tier.MODERATOR)}


class _Bus(InvalidationBus):
    def __init__(self) -> None:
        super().__init__("postgresql+asyncpg://x@127.0.0.1/db", None, self._never)
        self.sent: list[tuple[str, Hashable]] = []

    async def _never(self, channel: str, payloads: list[str]) -> None:
        raise AssertionError("not sent in this test")

    def publish(self, name: str, key: Hashable | None) -> None:
        self.sent.append((name, key))


keys = st.one_of(st.text(max_size=5), st.integers(), st.tuples(st.integers(), st.text(max_size=5)))


@given(st.lists(st.tuples(st.sampled_from(["put", "write", "drop", "lost", "back"]), keys)))
def test_a_cache_on_the_bus_never_serves_what_it_stored_while_not_listening(
    steps: list[tuple[str, Hashable]],
) -> None:
    """Model: while the bus is not listening nothing is stored; every local write is
    published; losing the connection forgets everything."""
    bus = _Bus()
    bus.listening = True
    cache: TTLCache[Hashable, int] = TTLCache()
    cache.attach(bus, "things")
    stored: dict[Hashable, int] = {}
    for value, (action, key) in enumerate(steps):
        if action == "put":
            cache.put(key, value, cache.token())
            if bus.listening:
                stored[key] = value
        elif action == "write":
            published = len(bus.sent)
            cache.put_written(key, value, cache.token())
            assert bus.sent[published:] == [("things", key)]
            if bus.listening:
                stored[key] = value
            else:
                stored.pop(key, None)
        elif action == "drop":
            cache.forget(key)
            stored.pop(key, None)
        elif action == "lost":
            bus.listening = False
            bus._forget_everything()
            stored.clear()
        else:
            bus.listening = True
        for known in {k for _a, k in steps}:
            got = cache.get(known)
            assert (got is MISSING and known not in stored) or got == stored.get(known)
