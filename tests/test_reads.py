"""One command's reads (bot/services/reads.py): a row is read once per command, the checks
before a command share one session, and nothing a command read outlives it."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Iterator
from contextlib import contextmanager

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event

from bot.services import reads
from bot.services.cache import MISSING, TTLCache
from tests.harness.app import AppFactory
from tests.harness.platform import FakePlatform

KEYS = st.sampled_from(["a", "b", ("c", 1)])
STEPS = st.lists(
    st.tuples(
        st.sampled_from(
            ["put", "put_stale", "write", "invalidate", "forget", "where", "clear", "remote_all"]
        ),
        KEYS,
    ),
    max_size=40,
)


@given(STEPS)
def test_within_a_command_a_lookup_answers_what_the_command_last_read_or_wrote(
    steps: list[tuple[str, Hashable]],
) -> None:
    """Model: with the time-limited cache holding nothing (every entry already expired), a
    lookup inside a command answers the value last read or written for the key in that command,
    and nothing once any write path dropped it; after the command nothing at all."""
    cache: TTLCache[Hashable, int] = TTLCache(ttl_seconds=-1.0)
    other: TTLCache[Hashable, int] = TTLCache(ttl_seconds=-1.0)
    scope = reads.CommandReads()
    token = reads.enter(scope)
    model: dict[Hashable, int] = {}
    try:
        for value, (action, key) in enumerate(steps):
            other.put(key, -value, other.token())  # another cache's reads never answer here
            if action == "put":
                cache.put(key, value, cache.token())
                model[key] = value
            elif action == "put_stale":
                stale = cache.token()
                cache.invalidate("a")
                model.pop("a", None)
                cache.put(key, value, stale)  # read before a write: not kept
            elif action == "write":
                cache.put_written(key, value, cache.token())
                model[key] = value
            elif action == "invalidate":
                cache.invalidate(key)
                model.pop(key, None)
            elif action == "forget":
                cache.forget(key)
                model.pop(key, None)
            elif action == "where":
                cache.invalidate_where(lambda k, key=key: k == key)
                model.pop(key, None)
            elif action == "clear":
                cache.clear()
                model.clear()
            else:
                cache.forget_all()
                model.clear()
            for known in {k for _a, k in steps}:
                got = cache.lookup(known)
                assert got == model.get(known, MISSING)
                assert cache.get(known) is MISSING
    finally:
        reads.leave(token)
        asyncio.run(scope.close())
    for known in {k for _a, k in steps}:
        assert cache.lookup(known) is MISSING
    # A task the command started sees the scope, but once the command is over it reads afresh.
    cache.put("a", 1, cache.token())
    assert cache.lookup("a") is MISSING


@contextmanager
def caches_off() -> Iterator[None]:
    original = TTLCache.get
    TTLCache.get = lambda self, key: MISSING  # type: ignore[method-assign]
    try:
        yield
    finally:
        TTLCache.get = original  # type: ignore[method-assign]


async def test_me_show_with_every_cache_off_reads_each_row_once_in_one_session(
    app_factory: AppFactory,
) -> None:
    """`me show` shows what the member set, reading the community, membership (with the
    pseudonym), profile and settings once each, in one session, even with no cache at all."""
    app = await app_factory(fast_typing=True)
    platform = FakePlatform(app)
    await platform.say("ana", "!me name Wren")
    await platform.say("ana", "!me timezone Europe/Berlin")
    statements: list[str] = []
    checkouts: list[object] = []
    engine = app.db.engine.sync_engine

    def executed(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(" ".join(statement.split()).split(" FROM ")[-1].split()[0])

    def checked_out(*_args: object) -> None:
        checkouts.append(None)

    event.listen(engine, "before_cursor_execute", executed)
    event.listen(engine.pool, "checkout", checked_out)
    try:
        with caches_off():
            said = await platform.say("ana", "!me show")
    finally:
        event.remove(engine, "before_cursor_execute", executed)
        event.remove(engine.pool, "checkout", checked_out)
    text = said[-1].text
    assert "Wren" in text and "Europe/Berlin" in text, text
    assert sorted(statements) == ["community", "member", "profile", "setting"], statements
    assert len(checkouts) == 1
    # The next command reads afresh: a change made in between shows.
    await platform.say("ana", "!me timezone Asia/Kolkata")
    with caches_off():
        said = await platform.say("ana", "!me show")
    assert "Asia/Kolkata" in said[-1].text
