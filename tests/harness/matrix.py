"""Matrix for end-to-end tests: a real circlebot and real members on the suite's Synapse.

Members are matrix-nio clients with end-to-end encryption (vodozemac), syncing in the
background and recording what they receive, so a test can assert what a person would see.
`scene(server, home)` gives a bot, a member `ana` and a community room ana created and invited
the bot into (end-to-end encrypted with `encrypted=True`); `send` and `upload` post raw events
and files as a member; `download` fetches media as a member. Waits are bounded by WAIT_S seconds.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    Event,
    InviteMemberEvent,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    RoomCreateResponse,
    RoomEncryptedFile,
    RoomEncryptedImage,
    RoomMemberEvent,
    RoomMessageFile,
    RoomMessageImage,
    RoomMessageNotice,
    RoomMessageText,
    RoomSendResponse,
    SyncResponse,
    UploadResponse,
)

from bot.adapters.matrix import MatrixAdapter, create
from bot.app import App
from tests.harness.app import MigratedSQLite, make_config
from tests.harness.synapse import RegisteredUser, SynapseServer, unique_localpart

WAIT_S = 15.0


FILTER: dict[str, Any] = {"room": {"timeline": {"limit": 50}}}


ENCRYPTION: dict[str, Any] = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}


NOTICE_TYPES = (RoomMessageNotice, RoomMessageFile, RoomMessageImage)


MEDIA_TYPES = (RoomMessageFile, RoomMessageImage, RoomEncryptedFile, RoomEncryptedImage)


@dataclass
class Member:
    """One person in the test, syncing in the background and recording what they receive."""

    server: SynapseServer
    user: RegisteredUser
    store: Path
    client: AsyncClient = field(init=False)
    seen: list[tuple[str, Event]] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    task: asyncio.Task[None] | None = None
    synced_once: bool = False
    encryption: bool = True

    @property
    def user_id(self) -> str:
        return self.user.user_id

    async def start(self) -> None:
        self.store.mkdir(parents=True, exist_ok=True)
        self.client = AsyncClient(
            self.server.base_url,
            self.user.user_id,
            store_path=str(self.store),
            config=AsyncClientConfig(encryption_enabled=self.encryption, store_sync_tokens=False),
        )
        login = await self.client.login(self.user.password, device_name="member")
        assert isinstance(login, LoginResponse), login
        self.client.add_event_callback(self._record, (RoomMessageNotice, RoomMessageText))
        self.client.add_event_callback(self._record, (*MEDIA_TYPES, MegolmEvent))
        self.client.add_event_callback(self._record, RoomMemberEvent)
        self.client.add_event_callback(self._invited, InviteMemberEvent)
        self.client.add_response_callback(self._synced, SyncResponse)
        self.task = asyncio.create_task(
            self.client.sync_forever(timeout=10_000, sync_filter=FILTER, full_state=True)
        )
        await self.until(lambda: self.client.should_upload_keys is False and self.synced_once)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        await self.client.close()

    async def _record(self, room: MatrixRoom, event: Event) -> None:
        self.seen.append((room.room_id, event))

    async def _invited(self, room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key == self.user_id and event.membership == "invite":
            await self.client.join(room.room_id)

    async def _synced(self, _response: SyncResponse) -> None:
        self.synced_once = True
        async with self.changed:
            self.changed.notify_all()

    async def until(self, predicate: Callable[[], bool], wait_s: float = WAIT_S) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(predicate), wait_s)

    def mark(self) -> int:
        return len(self.seen)

    async def wait_for(
        self,
        predicate: Callable[[str, Event], bool],
        after: int = 0,
        wait_s: float = WAIT_S,
    ) -> tuple[str, Event]:
        """The first recorded event after `after` that matches."""
        found: list[tuple[str, Event]] = []

        def check() -> bool:
            found[:] = [(r, e) for r, e in self.seen[after:] if predicate(r, e)][:1]
            return bool(found)

        try:
            await self.until(check, wait_s)
        except TimeoutError:
            bodies = [getattr(e, "body", type(e).__name__) for _r, e in self.seen[after:]]
            raise AssertionError(f"nothing matched within {wait_s} s; saw {bodies}") from None
        return found[0]

    async def notice(
        self, text: str, *, room: str | None = None, not_room: str | None = None, after: int = 0
    ) -> tuple[str, RoomMessageNotice]:
        """Wait for a bot notice containing `text` in a room (or anywhere but `not_room`)."""

        def match(room_id: str, event: Event) -> bool:
            return (
                isinstance(event, RoomMessageNotice)
                and text in event.body
                and (room is None or room_id == room)
                and (not_room is None or room_id != not_room)
            )

        room_id, event = await self.wait_for(match, after)
        assert isinstance(event, RoomMessageNotice)
        return room_id, event

    async def say(self, room_id: str, body: str) -> None:
        response = await self.client.room_send(
            room_id,
            "m.room.message",
            {"msgtype": "m.text", "body": body},
            ignore_unverified_devices=True,
        )
        assert isinstance(response, RoomSendResponse), response

    def notices(self, room_id: str, text: str) -> list[RoomMessageNotice]:
        return [
            e
            for r, e in self.seen
            if r == room_id and isinstance(e, RoomMessageNotice) and text in e.body
        ]


@dataclass
class Bot:
    server: SynapseServer
    user: RegisteredUser
    home: Path
    matrix: dict[str, Any] = field(default_factory=dict)
    prepare: Callable[[App], None] | None = None
    db_url: str | None = None  # default: a SQLite file in `home`
    db_schema: str | None = None
    wait_ready: bool = True  # False: return once running (it may be waiting for the account)
    app: App = field(init=False)
    adapter: MatrixAdapter = field(init=False)
    stop_event: asyncio.Event = field(init=False)
    task: asyncio.Task[None] = field(init=False)

    async def start(self) -> None:
        config = make_config(
            bot={"timezone": "America/New_York", "rate_limit": {"commands": 200}},
            matrix={
                "enabled": True,
                "homeserver": self.server.base_url,
                "user_id": self.user.user_id,
                "password": self.user.password,
                "store_path": str(self.home / "store"),
                **self.matrix,
            },
            scheduler={"leader_poll_seconds": 0.2},
        )
        url = self.db_url
        if url is None:
            # A new file starts migrated (a copy of `MigratedSQLite`), as the app factory's do;
            # a restart in the same home keeps the file it had.
            database = self.home / "bot.sqlite3"
            if not database.exists():
                MigratedSQLite.copy_to(database)
            url = f"sqlite+aiosqlite:///{database}"
        self.app = App(config, db_url=url, db_schema=self.db_schema)
        await self.app.open(migrate=True)
        if self.prepare is not None:
            self.prepare(self.app)
        self.adapter = create(self.app)
        await self.app.start()
        self.stop_event = asyncio.Event()
        self.task = asyncio.create_task(self.adapter.run(self.stop_event))
        if not self.wait_ready:
            return
        ready = asyncio.create_task(self.adapter.ready.wait())
        await asyncio.wait({ready, self.task}, timeout=WAIT_S, return_when="FIRST_COMPLETED")
        if self.task.done():
            self.task.result()
        assert self.adapter.ready.is_set(), "the bot did not finish its first sync"

    async def stop(self) -> None:
        self.stop_event.set()
        await asyncio.wait_for(self.task, WAIT_S)
        await self.app.close()

    @property
    def user_id(self) -> str:
        return self.user.user_id


@dataclass
class Scene:
    bot: Bot
    ana: Member
    room: str
    stack: AsyncExitStack

    async def member(self, name: str, *, encryption: bool = True) -> Member:
        """Another member, invited into the community room and joined."""
        return await self.stack.enter_async_context(joined_member(self, name, encryption))


async def new_member(
    server: SynapseServer, home: Path, name: str, *, encryption: bool = True
) -> Member:
    user = await server.register_user(unique_localpart(name))
    member = Member(server, user, home / name, encryption=encryption)
    await member.start()
    return member


def in_room(member: Member, room_id: str, user_id: str) -> bool:
    room = member.client.rooms.get(room_id)
    return room is not None and user_id in room.users and user_id not in room.invited_users


@asynccontextmanager
async def joined_member(scene: Scene, name: str, encryption: bool = True) -> AsyncIterator[Member]:
    member = await new_member(scene.bot.server, scene.bot.home, name, encryption=encryption)
    try:
        await scene.ana.client.room_invite(scene.room, member.user_id)
        await member.until(lambda: in_room(member, scene.room, scene.bot.user_id))
        yield member
    finally:
        await member.stop()


@asynccontextmanager
async def scene(
    server: SynapseServer,
    home: Path,
    *,
    matrix: dict[str, Any] | None = None,
    prepare: Callable[[App], None] | None = None,
    encrypted: bool = False,
) -> AsyncIterator[Scene]:
    """A bot, a member `ana`, and a community room ana created and invited the bot into
    (with `m.room.encryption` from the start when `encrypted`)."""
    async with AsyncExitStack() as stack:
        bot_user = await server.register_user(unique_localpart("circlebot"))
        bot = Bot(server, bot_user, home / "bot", matrix or {}, prepare)
        await bot.start()
        stack.push_async_callback(lambda: bot.stop() if not bot.task.done() else _noop())
        ana = await new_member(server, home, "ana")
        stack.push_async_callback(ana.stop)
        created = await ana.client.room_create(
            name="Tuesday circle",
            invite=[bot.user_id],
            initial_state=[ENCRYPTION] if encrypted else [],
        )
        assert isinstance(created, RoomCreateResponse), created
        room = str(created.room_id)
        await ana.until(lambda: in_room(ana, room, bot.user_id))
        yield Scene(bot, ana, room, stack)


async def _noop() -> None:
    return None


async def download(server: SynapseServer, member: Member, mxc: str) -> bytes:
    server_name, media_id = mxc.removeprefix("mxc://").split("/", 1)
    url = f"{server.base_url}/_matrix/client/v1/media/download/{server_name}/{media_id}"
    headers = {"Authorization": f"Bearer {member.client.access_token}"}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        assert response.status == 200, await response.text()
        return await response.read()


SCRIPT = """\
name = "short"
title = "Short check-in"
minutes = 15

[[steps]]
id = "round"
kind = "round_robin"
minutes = 10
text = "How are you today, {community}?"
"""


async def upload(
    member: Member, room: str, name: str, data: bytes, *, encrypt: bool = False
) -> str:
    """Upload a file into a room as a member's client would; the file event's id."""
    uploaded, keys = await member.client.upload(
        io.BytesIO(data),
        content_type="application/toml",
        filename=name,
        encrypt=encrypt,
        filesize=len(data),
    )
    assert isinstance(uploaded, UploadResponse), uploaded
    content: dict[str, Any] = {
        "msgtype": "m.file",
        "body": name,
        "info": {"size": len(data), "mimetype": "application/toml"},
    }
    if keys is None:
        content["url"] = uploaded.content_uri
    else:
        content["file"] = {**keys, "url": uploaded.content_uri}
    return await send(member, room, content)


async def send(member: Member, room: str, content: dict[str, Any]) -> str:
    response = await member.client.room_send(
        room, "m.room.message", content, ignore_unverified_devices=True
    )
    assert isinstance(response, RoomSendResponse), response
    return str(response.event_id)
