"""RSVP where people click: buttons on Discord announcements answered privately, the count
on the post edited in place, across a restart, and stale presses refused with the reason."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.clock import VirtualClock
from tests.harness.discord import EPHEMERAL, Circle, button_ids

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
            "meeting schedule",
            {"title": "Tuesday circle", "start": start, "duration": "90m", "zone": "UTC"},
            user="owner",
        )
        before = len(_public(circle))
        await app.scheduler.advance(timedelta(days=1, minutes=1))  # the 24 h announcement
        posts = await circle.bot_messages(general, before + 1)
        post = posts[-1]
        assert post["content"].startswith("Reminder:")
        assert "Nobody has said yet" in post["content"]
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
            "meeting schedule",
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
            "meeting cancel", {"meeting": "Weekly circle", "when": start[:10]}, user="owner"
        )
        pressed = await standin.send_component(post, come, user=bob)
        cancelled = await standin.wait_for_interaction_response(pressed.id)
    assert cancelled["data"]["flags"] == EPHEMERAL
    assert "was cancelled, so your RSVP was not recorded" in cancelled["data"]["content"]
    assert standin.violations == []
