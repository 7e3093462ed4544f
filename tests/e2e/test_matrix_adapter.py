"""The Matrix adapter end to end: circlebot against a real Synapse, members as real nio clients.

Members use matrix-nio with end-to-end encryption (vodozemac), so a DM test proves both ways:
the member decrypts the bot's questions and the bot decrypts the member's answers.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from nio import (
    RedactedEvent,
    RoomCreateResponse,
    RoomEncryptedImage,
    RoomGetEventResponse,
    RoomGetStateEventResponse,
    RoomMemberEvent,
    RoomMessageFile,
    RoomMessageNotice,
    RoomPutStateResponse,
)
from nio.crypto.attachments import decrypt_attachment
from sqlalchemy import select

from bot.adapters.matrix import tier_for
from bot.adapters.matrix.delivered import MARKER_KEY
from bot.adapters.matrix.state import Session
from bot.app import App
from bot.core.commands import CommandSpec
from bot.core.context import Context
from bot.core.message import Attachment, Message, When
from bot.core.permissions import Tier
from bot.models import OutboxItem
from bot.outbox import OutboxRef, RefKind, Target
from tests.harness.matrix import (
    WAIT_S,
    Bot,
    Member,
    download,
    new_member,
    scene,
)
from tests.harness.synapse import SynapseServer, running_synapse, unique_localpart

pytestmark = pytest.mark.e2e


# -- a member: a real nio client with encryption, auto-joining the bot's DM invites ----------


# -- the bot: an App with the Matrix adapter, restartable on the same database and store ----


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
        assert await download(synapse, ana, file_event.url) == ics

        dm, image = await ana.wait_for(lambda r, e: isinstance(e, RoomEncryptedImage), mark)
        assert isinstance(image, RoomEncryptedImage)
        assert dm != room and image.body == "chart.png"
        cipher = await download(synapse, ana, image.url)
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


class LostAnswer(Exception):
    """The homeserver took the event, but the bot never heard back (a crash, a dropped line)."""


def answer_lost(bot: Bot) -> None:
    """From now on every event the bot sends dies once the homeserver took it, before the
    outbox hears back: the state a crash between send and mark leaves."""
    real = bot.adapter.sender.send_event

    async def send_event(room_id: str, content: dict[str, Any], txn: str) -> str:
        await real(room_id, content, txn)
        raise LostAnswer()

    bot.adapter.sender.send_event = send_event  # type: ignore[method-assign]


async def row_of(app: App, key: str) -> OutboxItem | None:
    async with app.db.sessions() as session:
        return await session.scalar(select(OutboxItem).where(OutboxItem.key == key))


async def until_row(app: App, key: str, holds: Callable[[OutboxItem], bool]) -> OutboxItem:
    """The outbox row of `key` once `holds(row)` (bounded by WAIT_S)."""
    deadline = time.monotonic() + WAIT_S
    while (row := await row_of(app, key)) is None or not holds(row):
        assert time.monotonic() < deadline, f"outbox item {key} never got there"
        await asyncio.sleep(0.05)
    return row


async def post_lost_then_restart(
    bot: Bot, ana: Member, room_id: str, key: str, text: str, *, new_device: bool
) -> OutboxItem:
    """Post `text` under `key` through the outbox (its job fires at once), lose the answer,
    restart the bot (on a new device: its saved session expired, so it logs in again), and
    return the row once the restarted outbox settled it."""
    answer_lost(bot)
    mark = ana.mark()
    room = Target("matrix", room_id)
    await bot.app.outbox.enqueue(key, room, Message.of(text), bot.app.clock.now())
    await ana.notice(text, room=room_id, after=mark)  # the homeserver has it
    tried = await until_row(bot.app, key, lambda row: row.attempts > 0)
    assert tried.status == "pending"
    if new_device:
        await bot.adapter.state.save_session(Session(bot.user_id, "RESTARTED", "expired"))
    await bot.stop()
    await bot.start()
    return await until_row(bot.app, key, lambda row: row.status != "pending")


async def test_a_message_the_homeserver_took_before_a_crash_is_found_not_sent_again(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    """Found by its transaction id after a restart on the same device, and by its marker
    after a restart on a new device, where the homeserver no longer drops the same txn id."""
    async with scene(synapse, tmp_path) as s:
        ana, room, bot = s.ana, s.room, s.bot
        mark = ana.mark()
        device = bot.adapter.client.device_id
        now = await post_lost_then_restart(
            bot, ana, room, "m8.start", "Starting now", new_device=False
        )
        assert bot.adapter.client.device_id == device
        assert (now.status, now.note) == ("sent", "found on the platform")

        soon = await post_lost_then_restart(
            bot, ana, room, "m9.start", "Starting soon", new_device=True
        )
        assert bot.adapter.client.device_id == "RESTARTED"
        assert (soon.status, soon.note) == ("sent", "found on the platform")

        await bot.adapter.send(Target("matrix", room), Message.of("fence"), "fence")
        await ana.notice("fence", room=room, after=mark)
        (shown_now,) = ana.notices(room, "Starting now")
        (shown_soon,) = ana.notices(room, "Starting soon")
        assert shown_now.event_id == now.platform_message_id
        assert re.fullmatch(r"[0-9a-f]{12} 1/1", shown_now.source["content"][MARKER_KEY])
        assert shown_now.source["content"][MARKER_KEY] != shown_soon.source["content"][MARKER_KEY]
        assert shown_now.body == "Starting now"  # the marker is not shown

        # What the lookup is for: from the new device the homeserver takes the same txn id
        # as a new message.
        await bot.adapter.send(Target("matrix", room), Message.of("Starting soon"), "m9.start")
        await ana.wait_for(lambda _r, _e: len(ana.notices(room, "Starting soon")) == 2, mark)


async def test_a_post_cut_by_a_crash_before_its_file_is_redacted_whole(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    """The text went out, the bot died before the file; after the restart only the file is
    sent, and the row keeps both event ids, so deleting what it carried redacts both."""
    async with scene(synapse, tmp_path) as s:
        ana, room, bot = s.ana, s.room, s.bot
        carries = OutboxRef(RefKind.JOURNAL_FEED_POST, "ab12cd")
        message = Message(
            text=("Cutmarker: my notes",),
            attachment=Attachment("notes.txt", b"what I wrote", "text/plain"),
        )
        answer_lost(bot)  # the text is taken, then the delivery dies before the file
        mark = ana.mark()
        room_target = Target("matrix", room)
        await bot.app.outbox.enqueue(
            "m11.entry", room_target, message, bot.app.clock.now(), refs=[carries]
        )
        _r, text = await ana.notice("Cutmarker", room=room, after=mark)
        await until_row(bot.app, "m11.entry", lambda row: row.attempts > 0)
        await bot.stop()
        await bot.start()
        row = await until_row(bot.app, "m11.entry", lambda row: row.status != "pending")
        assert row.status == "sent" and row.platform_message_id is not None
        ids = row.platform_message_id.split()
        assert len(ids) == 2 and ids[0] == text.event_id  # the text, then the file sent now

        gone = await bot.app.outbox.forget(carries)
        assert gone.removed == ["matrix"]
        for event_id in ids:
            fetched = await ana.client.room_get_event(room, event_id)
            assert isinstance(fetched, RoomGetEventResponse), fetched
            assert isinstance(fetched.event, RedactedEvent), fetched.event


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
        await bot.app.db.close()  # the put reopened the stopped bot's database: close it again
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


async def test_after_a_new_login_an_announcement_reaches_a_quiet_room(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    """The saved session expired: the bot logs in as a new device and still knows its rooms."""
    async with scene(synapse, tmp_path) as s:
        ana, room, bot = s.ana, s.room, s.bot
        mark = ana.mark()
        await bot.adapter.state.save_session(Session(bot.user_id, "RESTARTED", "expired"))
        await bot.stop()
        await bot.start()  # nothing happens in the room meanwhile
        assert bot.adapter.client.device_id == "RESTARTED"
        await bot.app.outbox.enqueue(
            "m10.start", Target("matrix", room), Message.of("quiet hello"), bot.app.clock.now()
        )
        await ana.notice("quiet hello", room=room, after=mark)
        assert (
            await until_row(bot.app, "m10.start", lambda r: r.status != "pending")
        ).status == "sent"
