"""RSVP where people click: buttons on Discord announcements and reactions on Matrix ones,
answered privately, the count on the post edited in place (Discord edit, Matrix `m.replace` in
an encrypted room), across a restart, and stale presses refused with the reason."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from nio import ReactionEvent, RoomMessageNotice, RoomSendResponse

from bot.clock import VirtualClock
from tests.harness.discord import EPHEMERAL, Circle, button_ids
from tests.harness.matrix import scene
from tests.harness.synapse import SynapseServer

pytestmark = pytest.mark.e2e


def _public(circle: Circle) -> list[dict[str, Any]]:
    """The bot's posts in #general everyone sees (ephemeral answers left out)."""
    posts = circle.standin.state.bot_messages(circle.general)
    return [m for m in posts if not int(m.get("flags") or 0) & EPHEMERAL]


async def _schedule(circle: Circle, start_in: timedelta) -> tuple[Any, str]:
    app = await circle.app()
    assert isinstance(app.clock, VirtualClock)
    start = (app.clock.now() + start_in).replace(second=0, microsecond=0)
    return app, start.strftime("%Y-%m-%d %H:%M")


async def test_discord_rsvp_buttons_answer_privately_and_edit_the_count_in_place(
    circle: Circle,
) -> None:
    app, start = await _schedule(circle, timedelta(days=2))
    standin, general = circle.standin, circle.general
    bob, alice = circle.user("bob"), circle.user("alice")
    async with standin.client_running(circle.adapter(app).client):
        await circle.reply(
            "meeting-facilitator schedule",
            {"title": "Tuesday circle", "start": start, "duration": "90m", "zone": "UTC"},
            user="owner",
        )
        before = len(_public(circle))
        await app.scheduler.advance(timedelta(days=1, minutes=1))  # the 24 h announcement
        posts = await circle.bot_messages(general, before + 1)
        post = posts[-1]
        assert post["content"].startswith("Reminder:")
        assert "Nobody has said yet" in post["content"]
        assert "To RSVP by typing: `/meeting rsvp 1`." in post["content"]  # Discord's words
        buttons = button_ids(post)
        assert set(buttons) == {"I'll come", "Remind me", "Not this time"}

        pressed = await standin.send_component(post, buttons["I'll come"], user=bob)
        come = await standin.wait_for_interaction_response(pressed.id)
        assert "1 member plans to come." in standin.state.find_message(int(post["id"]))["content"]
        pressed = await standin.send_component(post, buttons["Remind me"], user=alice)
        remind = await standin.wait_for_interaction_response(pressed.id)
        assert "2 members plan to come." in standin.state.find_message(int(post["id"]))["content"]
        pressed = await standin.send_component(post, buttons["Not this time"], user=bob)
        skip = await standin.wait_for_interaction_response(pressed.id)
        edited = standin.state.find_message(int(post["id"]))
    assert come["data"]["flags"] == EPHEMERAL
    assert "Noted: you plan to come" in come["data"]["content"]
    assert "Discord shows everyone who is interested" in come["data"]["content"]
    assert remind["data"]["flags"] == EPHEMERAL
    assert "I'll DM you 15 minutes before" in remind["data"]["content"]
    assert skip["data"]["flags"] == EPHEMERAL
    assert "not this time" in skip["data"]["content"]
    assert "1 member plans to come." in edited["content"]
    assert edited["edited_timestamp"] is not None
    assert button_ids(edited) == buttons  # the buttons stay on the edited post
    assert len(_public(circle)) == before + 1  # edited, never reposted
    shown = " ".join(m["content"] for m in _public(circle))
    assert "bob" not in shown.lower() and "alice" not in shown.lower()
    assert standin.violations == []

    # A new process on the same database: the same buttons still work and count on.
    restarted = await circle.app()
    async with standin.client_running(circle.adapter(restarted).client):
        pressed = await standin.send_component(post, buttons["I'll come"], user=bob)
        again = await standin.wait_for_interaction_response(pressed.id)
        after = standin.state.find_message(int(post["id"]))
    assert "Noted: you plan to come" in again["data"]["content"]
    assert "2 members plan to come." in after["content"]


async def test_discord_stale_rsvp_buttons_say_why(circle: Circle) -> None:
    app, start = await _schedule(circle, timedelta(days=2))
    standin, general = circle.standin, circle.general
    bob = circle.user("bob")
    async with standin.client_running(circle.adapter(app).client):
        await circle.reply(
            "meeting-facilitator schedule",
            {
                "title": "Weekly circle",
                "start": start,
                "duration": "60m",
                "zone": "UTC",
                "repeat": "weekly",
            },
            user="owner",
        )
        before = len(standin.state.bot_messages(general))
        await app.scheduler.advance(timedelta(days=1, minutes=1))
        post = (await circle.bot_messages(general, before + 1))[-1]
        come = button_ids(post)["I'll come"]
        await circle.reply(
            "meeting-facilitator cancel",
            {"meeting": "Weekly circle", "when": start[:10]},
            user="owner",
        )
        pressed = await standin.send_component(post, come, user=bob)
        cancelled = await standin.wait_for_interaction_response(pressed.id)
    assert cancelled["data"]["flags"] == EPHEMERAL
    assert "was cancelled, so your RSVP was not recorded" in cancelled["data"]["content"]
    assert standin.violations == []


async def test_matrix_reaction_rsvps_privately_and_the_count_is_edited_with_m_replace(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with scene(synapse, tmp_path, encrypted=True) as s:
        ana, room = s.ana, s.room
        ana.client.add_event_callback(ana._record, ReactionEvent)
        ben = await s.member("ben")
        now = datetime.now(UTC)
        start = (now + timedelta(minutes=1 if now.second < 40 else 2)).replace(
            second=0, microsecond=0
        )
        mark = ana.mark()
        await ana.say(
            room, f'!meeting schedule "Open circle" "{start:%Y-%m-%d %H:%M}" 60m zone:UTC'
        )
        await ana.notice("Open circle", room=room, after=mark)
        # the start announcement, at the start (the real clock: at most two minutes away)
        _r, post = await ana.wait_for(
            lambda r, e: (
                r == room and isinstance(e, RoomMessageNotice) and "is starting now" in e.body
            ),
            mark,
            wait_s=180,
        )
        assert isinstance(post, RoomMessageNotice) and getattr(post, "decrypted", False)
        assert "Nobody has said yet" in post.body
        assert "React to choose, or type the command:" in post.body
        assert "✅ I'll come (!meeting rsvp" in post.body
        await ana.wait_for(
            lambda r, e: (
                isinstance(e, ReactionEvent) and e.reacts_to == post.event_id and e.key == "❌"
            ),
            mark,
        )

        mark_ben, mark = ben.mark(), ana.mark()
        reacted = await ben.client.room_send(
            room,
            "m.reaction",
            {"m.relates_to": {"rel_type": "m.annotation", "event_id": post.event_id, "key": "✅"}},
            ignore_unverified_devices=True,
        )
        assert isinstance(reacted, RoomSendResponse), reacted
        _dm, noted = await ben.notice("Noted: you plan to come", not_room=room, after=mark_ben)
        assert getattr(noted, "decrypted", False)
        assert "A reaction is seen in the room until it is removed" in noted.body
        _r, edit = await ana.wait_for(
            lambda r, e: (
                r == room
                and isinstance(e, RoomMessageNotice)
                and e.source["content"].get("m.relates_to", {}).get("rel_type") == "m.replace"
            ),
            mark,
        )
        content = edit.source["content"]
        assert content["m.relates_to"]["event_id"] == post.event_id
        assert "1 member plans to come." in content["m.new_content"]["body"]
        assert "React to choose" in content["m.new_content"]["body"]
        assert getattr(edit, "decrypted", False)  # edited inside the encrypted room
        room_texts = [getattr(e, "body", "") for r, e in ana.seen if r == room]
        assert not [t for t in room_texts if "ben" in t.lower()]  # who RSVP'd stays private


async def test_discord_interested_on_the_events_tab_is_read_back_as_a_private_rsvp(
    circle: Circle,
) -> None:
    app, start = await _schedule(circle, timedelta(days=2))
    standin = circle.standin
    bob = circle.user("bob")
    adapter = circle.adapter(app)
    async with standin.client_running(adapter.client):
        await circle.reply(
            "meeting-facilitator schedule",
            {"title": "Tuesday circle", "start": start, "duration": "90m", "zone": "UTC"},
            user="owner",
        )
        await adapter.events.settled()  # the event is on the Events tab, and remembered
        event = next(iter(standin.state.scheduled_events.values()))
        before = len(standin.state.bot_messages(circle.dm("bob")))
        await standin.mark_interested(event["id"], bob)
        noted = (await circle.bot_messages(circle.dm("bob"), before + 1))[-1]
        view = (await app.cogs["meetings"].service.all_in(1))[0]  # type: ignore[attr-defined]
        occurrence = view.next_occurrence(app.clock.now())
        going = await app.cogs["meetings"].service.rsvp_count(view, occurrence.key)  # type: ignore[attr-defined]
        await standin.mark_interested(event["id"], bob, interested=False)
        taken_back = (await circle.bot_messages(circle.dm("bob"), before + 2))[-1]
        after = await app.cogs["meetings"].service.rsvp_count(view, occurrence.key)  # type: ignore[attr-defined]
    assert going == 1 and after == 0
    assert "Noted: you plan to come" in noted["content"]
    assert "Discord shows everyone who is interested" in noted["content"]
    assert "not this time" in taken_back["content"]
    assert standin.violations == []


async def test_discord_interested_with_closed_dms_still_counts_and_logs_no_error(
    circle: Circle, caplog: pytest.LogCaptureFixture
) -> None:
    # Marking Interested needs no open DM: the RSVP counts, and the answer nobody can
    # receive is no error (it was logged twice with a traceback).
    app, start = await _schedule(circle, timedelta(days=2))
    standin = circle.standin
    bob = circle.user("bob")
    bob.dms_open = False
    adapter = circle.adapter(app)
    service = app.cogs["meetings"].service  # type: ignore[attr-defined]
    async with standin.client_running(adapter.client):
        await circle.reply(
            "meeting-facilitator schedule",
            {"title": "Tuesday circle", "start": start, "duration": "90m", "zone": "UTC"},
            user="owner",
        )
        await adapter.events.settled()
        event = next(iter(standin.state.scheduled_events.values()))
        view = (await service.all_in(1))[0]
        occurrence = view.next_occurrence(app.clock.now())
        with caplog.at_level(logging.INFO, logger="circlebot"):
            await standin.mark_interested(event["id"], bob)
            await standin.wait_for(
                lambda: any("DMs are closed" in r.getMessage() for r in caplog.records)
            )
        going = await service.rsvp_count(view, occurrence.key)
    assert going == 1
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert standin.violations == []


async def test_discord_rsvp_button_of_a_meeting_that_is_over_or_deleted_says_so(
    circle: Circle,
) -> None:
    app, start = await _schedule(circle, timedelta(days=2))
    standin, general = circle.standin, circle.general
    bob = circle.user("bob")
    async with standin.client_running(circle.adapter(app).client):
        await circle.reply(
            "meeting-facilitator schedule",
            {"title": "Once", "start": start, "duration": "60m", "zone": "UTC"},
            user="owner",
        )
        before = len(_public(circle))
        await app.scheduler.advance(timedelta(days=1, minutes=1))
        post = (await circle.bot_messages(general, before + 1))[-1]
        come = button_ids(post)["I'll come"]
        await app.scheduler.advance(timedelta(days=1, hours=2))  # the meeting has ended
        pressed = await standin.send_component(post, come, user=bob)
        over = await standin.wait_for_interaction_response(pressed.id)
        await circle.reply("meeting-facilitator delete", {"meeting": "Once"}, user="owner")
        pressed = await standin.send_component(post, come, user=bob)
        gone = await standin.wait_for_interaction_response(pressed.id)
    assert over["data"]["flags"] == EPHEMERAL
    assert "**Once** is over" in over["data"]["content"]
    assert gone["data"]["flags"] == EPHEMERAL
    assert "That meeting no longer exists" in gone["data"]["content"]
    assert standin.violations == []


async def test_matrix_removing_the_rsvp_reaction_withdraws_the_rsvp_and_the_count(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with scene(synapse, tmp_path) as s:  # reactions in the clear: no wait for room keys
        ana, room, app = s.ana, s.room, s.bot.app
        ben = await s.member("ben")
        start = (datetime.now(UTC) + timedelta(days=2)).replace(second=0, microsecond=0)
        mark = ana.mark()
        await ana.say(
            room, f'!meeting schedule "Open circle" "{start:%Y-%m-%d %H:%M}" 1h zone:UTC'
        )
        await ana.wait_for(lambda r, e: "Scheduled Open circle" in _body(e), mark, 60)
        # post one of its announcements now instead of waiting for its time
        meetings: Any = app.cogs["meetings"]
        view = await meetings.service.get(1)
        planned = await meetings.service.wanted(view, since=datetime.now(UTC))
        pre = next(p for p in planned if not p.target.is_dm)
        key = pre.key.rsplit(".", 1)[0] + ".now"
        await app.outbox.enqueue(key, pre.target, pre.message, datetime.now(UTC), refs=pre.refs)
        _r, post = await ana.wait_for(lambda r, e: "React to choose" in _body(e), mark, 60)
        assert "Nobody has said yet" in post.body
        for _try in range(300):  # the post's event id is on record: reactions find its buttons
            if await app.outbox.status_of(key) == "sent":
                break
            await asyncio.sleep(0.1)

        mark = ana.mark()
        reacted = await ben.client.room_send(
            room,
            "m.reaction",
            {"m.relates_to": {"rel_type": "m.annotation", "event_id": post.event_id, "key": "✅"}},
            ignore_unverified_devices=True,
        )
        assert isinstance(reacted, RoomSendResponse), reacted
        await ana.wait_for(
            lambda r, e: r == room and "1 member plans to come" in _new(e), mark, 60
        )
        assert len(await meetings.service.rsvps_of(1, f"matrix:{ben.user_id}")) == 1

        mark = ana.mark()
        await ben.client.room_redact(room, reacted.event_id)  # ben takes his ✅ back
        await ana.wait_for(lambda r, e: r == room and "Nobody has said yet" in _new(e), mark, 60)
        assert await meetings.service.rsvps_of(1, f"matrix:{ben.user_id}") == []


def _body(event: Any) -> str:
    """A bot notice's text, else nothing."""
    return event.body if isinstance(event, RoomMessageNotice) else ""


def _new(event: Any) -> str:
    """The new text of an `m.replace` edit, else nothing."""
    content = getattr(event, "source", {}).get("content", {})
    if content.get("m.relates_to", {}).get("rel_type") != "m.replace":
        return ""
    return str(content.get("m.new_content", {}).get("body", ""))
