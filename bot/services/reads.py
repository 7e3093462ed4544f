"""One command's reads: each row read once, and the checks before a command in one session.

Every command first looks up the same few rows (the community, the person's membership and
profile, the community's settings) and its callback often asks for some of them again (`me show`
reads the profile and the pseudonym). With the caches warm none of this reaches the database; on
a miss each lookup used to open a session of its own and the callback read the profile again.

`CommandReads` is the scope of one command (`Dispatcher.run` enters it; a `ContextVar`, so each
asyncio task has its own and tasks the command starts inherit it until the command ends):
- `TTLCache.lookup` also answers from what this command already read (`TTLCache.put` and
  `remember` record it; every write path that invalidates a key forgets it here too), so a row is
  read at most once per command even with the caches cold or switched off, like a plain
  transaction would read it once;
- `session(sessions)` hands every read before the callback the same session, so the checks run
  in one session instead of one each. The dispatcher `release`s it before the callback runs:
  a command's own work keeps its own sessions and transactions, and a command never holds two
  connections at once because of this scope.

Outside a scope (background jobs, adapters' own lookups) both behave as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Hashable
from contextvars import ContextVar, Token
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

_current: ContextVar[CommandReads | None] = ContextVar("command_reads", default=None)


class CommandReads:
    """What one command has read so far (by cache and key) and its shared reading session."""

    def __init__(self) -> None:
        self._values: dict[tuple[int, Hashable], Any] = {}
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self._session: AsyncSession | None = None
        self._released = False
        self._closed = False

    def recall(self, owner: object, key: Hashable) -> tuple[bool, Any]:
        """(True, value) when this command already read `key` of `owner`, else (False, None)."""
        slot = (id(owner), key)
        if not self._closed and slot in self._values:
            return True, self._values[slot]
        return False, None

    def remember(self, owner: object, key: Hashable, value: object) -> None:
        """Note what was read (or written) for `key` of `owner`."""
        if not self._closed:
            self._values[(id(owner), key)] = value

    def forget(self, owner: object, key: Hashable) -> None:
        """`key` of `owner` changed: read it again next time."""
        self._values.pop((id(owner), key), None)

    def forget_where(self, owner: object, predicate: Callable[[Any], bool] | None = None) -> None:
        """Forget every key of `owner` (matching `predicate` when given)."""
        mine = id(owner)
        for slot in [
            s for s in self._values if s[0] == mine and (predicate is None or predicate(s[1]))
        ]:
            del self._values[slot]

    @contextlib.asynccontextmanager
    async def session(
        self, sessions: async_sessionmaker[AsyncSession]
    ) -> AsyncIterator[AsyncSession]:
        """The command's shared reading session (opened on first use); a session of its own
        once `release`d or for another database."""
        if self._released or (self._sessions is not None and self._sessions is not sessions):
            async with sessions() as own:
                yield own
            return
        if self._session is None:
            self._sessions = sessions
            self._session = sessions()
        yield self._session

    async def release(self) -> None:
        """Close the shared session; later reads open their own (idempotent)."""
        self._released = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def close(self) -> None:
        """The command is over: release the session and forget everything, so a task the
        command started and that outlives it reads afresh like any other."""
        self._closed = True
        self._values.clear()
        await self.release()


def current() -> CommandReads | None:
    """The running command's scope, if any."""
    return _current.get()


def enter(scope: CommandReads) -> Token[CommandReads | None]:
    """Make `scope` the running command's (for this task and the tasks it starts)."""
    return _current.set(scope)


def leave(token: Token[CommandReads | None]) -> None:
    """Undo `enter` (then `CommandReads.close` the scope)."""
    _current.reset(token)


@contextlib.asynccontextmanager
async def reading(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session for reads: the running command's shared one, else a session of its own."""
    scope = _current.get()
    if scope is None:
        async with sessions() as own:
            yield own
        return
    async with scope.session(sessions) as session:
        yield session
