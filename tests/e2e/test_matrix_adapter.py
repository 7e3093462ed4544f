"""The Matrix adapter end to end: circlebot against a real Synapse, members as real nio clients.

Members use matrix-nio with end-to-end encryption (vodozemac), so a DM test proves both ways:
the member decrypts the bot's questions and the bot decrypts the member's answers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
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
    RoomGetStateEventResponse,
    RoomMemberEvent,
    RoomMessageFile,
    RoomMessageImage,
    RoomMessageNotice,
    RoomMessageText,
    RoomPutStateResponse,
    RoomSendResponse,
    SyncResponse,
)
from nio.crypto.attachments import decrypt_attachment

from bot.adapters.matrix import MatrixAdapter, create, tier_for
from bot.app import App
from bot.core.commands import CommandSpec
from bot.core.context import Context
from bot.core.message import Attachment, Message, When
from bot.core.permissions import Tier
from bot.outbox import Target
from tests.harness.app import make_config
from tests.harness.synapse import RegisteredUser, SynapseServer, running_synapse, unique_localpart

pytestmark = pytest.mark.e2e

WAIT_S = 15.0
FILTER: dict[str, Any] = {"room": {"timeline": {"limit": 50}}}
NOTICE_TYPES = (RoomMessageNotice, RoomMessageFile, RoomMessageImage)
MEDIA_TYPES = (RoomMessageFile, RoomMessageImage, RoomEncryptedFile, RoomEncryptedImage)


# -- a member: a real nio client with encryption, auto-joining the bot's DM invites ----------


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


# -- the bot: an App with the Matrix adapter, restartable on the same database and store ----


@dataclass
class Bot:
    server: SynapseServer
    user: RegisteredUser
    home: Path
    matrix: dict[str, Any] = field(default_factory=dict)
    prepare: Callable[[App], None] | None = None
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
        )
        self.app = App(config, db_url=f"sqlite+aiosqlite:///{self.home / 'bot.sqlite3'}")
        await self.app.open(migrate=True)
        if self.prepare is not None:
            self.prepare(self.app)
        self.adapter = create(self.app)
        await self.app.start()
        self.stop_event = asyncio.Event()
        self.task = asyncio.create_task(self.adapter.run(self.stop_event))
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
) -> AsyncIterator[Scene]:
    """A bot, a member `ana`, and a community room ana created and invited the bot into."""
    async with AsyncExitStack() as stack:
        bot_user = await server.register_user(unique_localpart("circlebot"))
        bot = Bot(server, bot_user, home / "bot", matrix or {}, prepare)
        await bot.start()
        stack.push_async_callback(lambda: bot.stop() if not bot.task.done() else _noop())
        ana = await new_member(server, home, "ana")
        stack.push_async_callback(ana.stop)
        created = await ana.client.room_create(name="Tuesday circle", invite=[bot.user_id])
        assert isinstance(created, RoomCreateResponse), created
        room = str(created.room_id)
        await ana.until(lambda: in_room(ana, room, bot.user_id))
        yield Scene(bot, ana, room, stack)


async def _noop() -> None:
    return None


# -- the tests -------------------------------------------------------------------------------


async def test_invite_ping_help_and_me_with_private_replies(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with scene(synapse, tmp_path) as s:
        ana, room = s.ana, s.room
        await ana.say(room, "!ping")
        _r, pong = await ana.notice("pong", room=room)
        content = pong.source["content"]
        assert content["msgtype"] == "m.notice"
        assert content["m.mentions"] == {}
        assert content["format"] == "org.matrix.custom.html"
        assert pong.sender == s.bot.user_id

        mark = ana.mark()
        await ana.say(room, "!help")
        await ana.notice("I've sent you a private reply.", room=room, after=mark)
        dm, help_text = await ana.notice("!ping", not_room=room, after=mark)
        assert "Commands you can use" in help_text.body
        assert "<code>!ping</code>" in help_text.source["content"]["formatted_body"]
        assert ana.client.rooms[dm].encrypted
        assert getattr(help_text, "decrypted", False)
        assert dm in s.bot.adapter.direct[ana.user_id]

        mark = ana.mark()
        await ana.say(room, "!me")
        await ana.notice("I've sent you a private reply.", room=room, after=mark)
        where, card = await ana.notice("Your settings", after=mark)
        assert where == dm  # the same direct room is reused
        assert "Time zone: not set (using America/New_York)" in card.body
        assert not [
            e for r, e in ana.seen if r == room and "Your settings" in getattr(e, "body", "")
        ]


async def test_me_setup_dialogue_over_an_encrypted_dm(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with scene(synapse, tmp_path) as s:
        ana, room = s.ana, s.room
        mark = ana.mark()
        await ana.say(room, "!me setup")
        dm, question = await ana.notice("What name would you like", not_room=room, after=mark)
        assert ana.client.rooms[dm].encrypted and getattr(question, "decrypted", False)
        await ana.notice("I've sent you a private reply.", room=room, after=mark)

        for answer, next_question in (
            ("Ana B", "Which time zone"),
            ("Europe/Berlin", "Which country"),
            ("DE", "Which language"),
            ("1", "All set."),
        ):
            mark = ana.mark()
            await ana.say(dm, answer)
            _r, got = await ana.notice(next_question, room=dm, after=mark)
            assert getattr(got, "decrypted", False)

        profile = await s.bot.app.members.profile(f"matrix:{ana.user_id}")
        assert (profile.timezone, profile.country, profile.language) == (
            "Europe/Berlin",
            "DE",
            "en",
        )
        community = await s.bot.app.members.community("matrix", room)
        pseudonym = await s.bot.app.members.pseudonym(community.id, f"matrix:{ana.user_id}")
        assert pseudonym == "Ana B"

        # A command typed in the DM belongs to the community the member shares with the bot.
        mark = ana.mark()
        await ana.say(dm, "!me")
        _r, card = await ana.notice("Your settings", room=dm, after=mark)
        assert "Pseudonym here: Ana B" in card.body
        assert "Time zone: Europe/Berlin" in card.body


async def _download(server: SynapseServer, member: Member, mxc: str) -> bytes:
    server_name, media_id = mxc.removeprefix("mxc://").split("/", 1)
    url = f"{server.base_url}/_matrix/client/v1/media/download/{server_name}/{media_id}"
    headers = {"Authorization": f"Bearer {member.client.access_token}"}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        assert response.status == 200, await response.text()
        return await response.read()


async def test_files_are_uploaded_to_rooms_and_encrypted_dms(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with scene(synapse, tmp_path) as s:
        ana, room, app = s.ana, s.room, s.bot.app
        ics = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
        png = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
        now = app.clock.now()
        mark = ana.mark()
        await app.outbox.enqueue(
            "files:room",
            Target("matrix", room),
            Message.of(
                "Next meeting:", attachment=Attachment("meeting.ics", ics, "text/calendar")
            ),
            now,
        )
        await app.outbox.enqueue(
            "files:dm",
            Target("matrix", f"matrix:{ana.user_id}", is_dm=True),
            Message(attachment=Attachment("chart.png", png, "image/png")),
            now,
        )
        await app.outbox.deliver_due()
        assert await app.outbox.status_of("files:room") == "sent"
        assert await app.outbox.status_of("files:dm") == "sent"

        _r, file_event = await ana.wait_for(
            lambda r, e: r == room and isinstance(e, RoomMessageFile), mark
        )
        assert isinstance(file_event, RoomMessageFile)
        assert file_event.body == "meeting.ics"
        assert file_event.source["content"]["info"]["mimetype"] == "text/calendar"
        assert await _download(synapse, ana, file_event.url) == ics

        dm, image = await ana.wait_for(lambda r, e: isinstance(e, RoomEncryptedImage), mark)
        assert isinstance(image, RoomEncryptedImage)
        assert dm != room and image.body == "chart.png"
        cipher = await _download(synapse, ana, image.url)
        assert cipher != png
        assert decrypt_attachment(cipher, image.key["k"], image.hashes["sha256"], image.iv) == png


MODCHECK_OK = "moderator check passed"


def _add_modcheck(app: App) -> None:
    async def modcheck(ctx: Context) -> None:
        await ctx.reply(MODCHECK_OK)

    app.registry.add(
        CommandSpec(
            ("modcheck",), "A test-only moderator command", tier=Tier.MODERATOR, callback=modcheck
        )
    )


async def test_tiers_come_from_power_levels_and_bindings(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with scene(synapse, tmp_path, prepare=_add_modcheck) as s:
        ana, room, app = s.ana, s.room, s.bot.app
        ben = await s.member("ben")

        mark = ben.mark()
        await ben.say(room, "!modcheck")
        await ben.notice("Only a moderator can use modcheck", after=mark)
        await ben.say(room, "!help")
        _r, ben_help = await ben.notice("Commands you can use", after=mark)
        assert "!modcheck" not in ben_help.body

        mark = ana.mark()  # ana created the room: power 100
        await ana.say(room, "!modcheck")
        await ana.notice(MODCHECK_OK, room=room, after=mark)
        await ana.say(room, "!help")
        _r, ana_help = await ana.notice("Commands you can use", after=mark)
        assert "!modcheck" in ana_help.body

        levels = await ana.client.room_get_state_event(room, "m.room.power_levels")
        assert isinstance(levels, RoomGetStateEventResponse), levels
        content = dict(levels.content)
        content["users"] = {**content.get("users", {}), ben.user_id: 50}
        put = await ana.client.room_put_state(room, "m.room.power_levels", content)
        assert isinstance(put, RoomPutStateResponse), put
        await s.bot.adapter.wait_until(
            lambda: (
                s.bot.adapter.client.rooms[room].power_levels.get_user_level(ben.user_id) == 50
            ),
            WAIT_S,
        )
        mark = ben.mark()
        await ben.say(room, "!modcheck")
        await ben.notice(MODCHECK_OK, room=room, after=mark)

        # A moderator's binding for this person overrides the power level.
        community = await app.members.community("matrix", room)
        await app.members.bind(community.id, ben.user_id, int(Tier.MEMBER))
        mark = ben.mark()
        await ben.say(room, "!modcheck")
        await ben.notice("Only a moderator can use modcheck", after=mark)


def test_tier_rules_without_a_server() -> None:
    assert tier_for(0, {}, "@a:x", 25, 50) is Tier.MEMBER
    assert tier_for(25, {}, "@a:x", 25, 50) is Tier.FACILITATOR
    assert tier_for(100, {}, "@a:x", 25, 50) is Tier.MODERATOR
    assert tier_for(100, {"@a:x": 0}, "@a:x", 25, 50) is Tier.MEMBER
    assert tier_for(10, {"power:10": 2}, "@a:x", 25, 50) is Tier.MODERATOR
    assert tier_for(60, {"power:75": 2}, "@a:x", 25, 50) is Tier.MEMBER
    assert tier_for(0, {"@a:x": 3}, "@a:x", 25, 50) is Tier.MODERATOR  # owners come from config


async def test_outbox_to_a_room_renders_time_defuses_mentions_and_dedupes(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with scene(synapse, tmp_path) as s:
        ana, room, app, adapter = s.ana, s.room, s.bot.app, s.bot.adapter
        at = datetime(2030, 1, 15, 18, 0, tzinfo=UTC)
        mark = ana.mark()
        await app.outbox.enqueue(
            "meeting:1",
            Target("matrix", room),
            Message.of("Meeting at ", When(at), " @room everyone is welcome"),
            app.clock.now(),
        )
        await app.outbox.deliver_due()
        assert await app.outbox.status_of("meeting:1") == "sent"
        _r, event = await ana.notice("Meeting at", room=room, after=mark)
        assert "13:00" in event.body  # the community's zone (America/New_York), not UTC
        assert "@room" not in event.body and "@\u200broom" in event.body
        assert event.source["content"]["m.mentions"] == {}

        # A resend with the same idempotency key is dropped by Synapse (same txn id).
        for _attempt in range(2):
            await adapter.send(Target("matrix", room), Message.of("only once"), "dup-key")
        await adapter.send(Target("matrix", room), Message.of("marker"), "marker-key")
        await ana.notice("marker", room=room, after=mark)
        assert len(ana.notices(room, "only once")) == 1

        # Text a member typed never pings: echoed back defused, with empty m.mentions.
        mark = ana.mark()
        await ana.say(room, "!help @room")
        _r, echo = await ana.notice("There is no command", after=mark)
        assert "@room" not in echo.body and "@\u200broom" in echo.body
        assert echo.source["content"]["m.mentions"] == {}


async def test_restart_never_reruns_commands_and_duplicates_run_once(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with scene(synapse, tmp_path) as s:
        ana, room, bot = s.ana, s.room, s.bot
        token_before = await bot.adapter.state.get("sync_token")
        device = bot.adapter.client.device_id
        mark = ana.mark()
        await ana.say(room, "!ping")
        await ana.notice("pong", room=room, after=mark)

        await bot.stop()
        await bot.start()  # same database and crypto store
        assert bot.adapter.client.device_id == device
        await ana.say(room, "!ping")
        await ana.wait_for(lambda r, e: len(ana.notices(room, "pong")) >= 2, mark)
        # Re-deliver old events: rewind the saved sync token, as a crash before saving would.
        await bot.stop()
        assert token_before is not None
        await bot.adapter.state.put({"sync_token": token_before})
        await bot.start()
        await ana.say(room, "!about")
        await ana.notice("I've sent you a private reply.", room=room, after=mark)
        assert len(ana.notices(room, "pong")) == 2


async def test_private_replies_are_refused_where_nobody_can_decrypt(
    synapse: SynapseServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with scene(synapse, tmp_path) as s:
        cleo = await s.member("cleo", encryption=False)  # a client without encryption keys
        mark = cleo.mark()
        await cleo.say(s.room, "!me")
        await cleo.notice("I couldn't send you a private reply just now", room=s.room, after=mark)
        assert not [e for _r, e in cleo.seen[mark:] if "Your settings" in getattr(e, "body", "")]
        assert any(
            "refusing to send into encrypted room" in r.getMessage() for r in caplog.records
        )


async def test_invites_from_other_servers_are_declined(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    bot_user = await synapse.register_user(unique_localpart("circlebot"))
    bot = Bot(synapse, bot_user, tmp_path / "bot", {"allowed_servers": ["elsewhere.example"]})
    await bot.start()
    ana = await new_member(synapse, tmp_path, "ana")
    try:
        created = await ana.client.room_create(name="not here", invite=[bot.user_id])
        assert isinstance(created, RoomCreateResponse), created
        await ana.wait_for(
            lambda r, e: (
                isinstance(e, RoomMemberEvent)
                and e.state_key == bot.user_id
                and e.membership == "leave"
            )
        )
        assert created.room_id not in bot.adapter.client.rooms
    finally:
        await ana.stop()
        await bot.stop()


async def test_homeserver_restart_is_survived(synapse: SynapseServer, tmp_path: Path) -> None:
    async with scene(synapse, tmp_path) as s:
        await asyncio.to_thread(synapse.restart)
        mark = s.ana.mark()
        began = time.monotonic()
        await s.ana.say(s.room, "!ping")
        await s.ana.notice("pong", room=s.room, after=mark)
        assert time.monotonic() - began < WAIT_S


async def test_default_rate_limit_is_paced_and_nothing_is_lost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="circlebot.matrix")
    with running_synapse(tmp_path / "synapse-rl", rate_limited=True) as server:
        async with scene(server, tmp_path) as s:
            app, room = s.bot.app, s.room
            mark = s.ana.mark()
            count = 15
            for n in range(count):
                await app.outbox.enqueue(
                    f"announce:{n}",
                    Target("matrix", room),
                    Message.of(f"Announcement {n:02d}"),
                    app.clock.now(),
                )
            await app.outbox.deliver_due()  # the scheduler may already be delivering them
            await s.ana.notice(f"Announcement {count - 1:02d}", room=room, after=mark)
            statuses = {await app.outbox.status_of(f"announce:{n}") for n in range(count)}
            assert statuses == {"sent"}
            got = [
                e.body
                for r, e in s.ana.seen[mark:]
                if r == room and isinstance(e, RoomMessageNotice) and "Announcement" in e.body
            ]
            assert got == [f"Announcement {n:02d}" for n in range(count)]
            assert any("rate limited" in r.getMessage() for r in caplog.records)
