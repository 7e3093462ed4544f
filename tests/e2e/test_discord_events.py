"""Meetings in the server's Events tab: discord.py's real client against the local stand-in."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import discord
import pytest

from bot.adapters.discord import DiscordAdapter
from bot.app import App
from bot.clock import VirtualClock
from tests.harness.app import AppFactory
from tests.harness.discord import CREATE_EVENTS, MANAGE_EVENTS, Circle, DiscordStandin

pytestmark = pytest.mark.e2e

EVENTS = r"/guilds/\d+/scheduled-events"
EVENT = r"/guilds/\d+/scheduled-events/\d+"
VOICE, EXTERNAL = 2, 3


def events(standin: DiscordStandin) -> list[dict[str, Any]]:
    return list(standin.state.scheduled_events.values())


def only(standin: DiscordStandin) -> dict[str, Any]:
    (event,) = events(standin)
    return event


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def next_hour(app: App, days: int) -> datetime:
    return (app.clock.now() + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)


async def test_a_meeting_follows_its_event_through_every_change(
    discord_standin: DiscordStandin, app_factory: AppFactory
) -> None:
    circle = Circle(discord_standin, app_factory)
    app = await circle.app()
    assert isinstance(app.clock, VirtualClock)
    standin = circle.standin
    adapter: DiscordAdapter = circle.adapter(app)
    room = standin.state.channel_named("Meeting Room")
    # What the invite asks for: Create Events, which is enough to edit and delete its own.
    bot_perms = standin.state.member_permissions(standin.guild, standin.state.bot)
    assert bot_perms & CREATE_EVENTS and not bot_perms & MANAGE_EVENTS
    start = next_hour(app, 2)
    week = timedelta(days=7)

    async def run(command: str, options: dict[str, Any], user: str = "owner") -> str:
        reply = await circle.reply(command, options, user=user)
        await adapter.events.settled()
        return str(reply["data"]["content"])

    async with standin.client_running(adapter.client):
        await run(
            "meeting-facilitator schedule",
            {
                "title": "Tuesday circle",
                "start": start.strftime("%Y-%m-%d %H:%M"),
                "duration": "90m",
                "zone": "UTC",
                "repeat": "weekly",
                "location": f"<#{room.id}>",
            },
        )
        created = dict(only(standin))
        await run("meeting-facilitator edit", {"meeting": "#1", "title": "Evening circle"})
        renamed = dict(only(standin))
        moved_to = start + timedelta(days=1, hours=-1)
        await run(
            "meeting-facilitator move",
            {"meeting": "#1", "when": "next", "to": moved_to.strftime("%Y-%m-%d %H:%M")},
        )
        moved = dict(only(standin))
        await run(
            "meeting-facilitator cancel", {"meeting": "#1", "when": "next", "note": "my surgery"}
        )
        after_cancel = dict(only(standin))

        ended = start + week + timedelta(minutes=91)  # just past the end of that one
        await app.scheduler.advance(ended - app.clock.now())
        await adapter.events.settled()
        replaced = dict(only(standin))

        await run("meeting-mod events", {"setting": "off"})
        switched_off = events(standin)
        await run(
            "meeting-facilitator schedule",
            {
                "title": "Quiet one",
                "start": next_hour(app, 1).strftime("%Y-%m-%d %H:%M"),
                "duration": "60m",
                "zone": "UTC",
            },
        )
        while_off = events(standin)
        await run("meeting-mod events", {"setting": "on"})
        back_on = sorted(e["name"] for e in events(standin))
        before_restart = len(standin.state.request_log)
        await app.cogs["meetings"].start()  # a restart re-mirrors: nothing changed, no request
        await adapter.events.settled()
        restart_requests = [
            r for r in standin.state.request_log[before_restart:] if "scheduled" in r.path
        ]
        quiet = next(e for e in events(standin) if e["name"] == "Quiet one")
        del standin.state.scheduled_events[int(quiet["id"])]  # a moderator removed it by hand
        await run("meeting-facilitator edit", {"meeting": "Quiet one", "title": "Quiet circle"})
        recreated = [e["name"] for e in events(standin) if e["name"].startswith("Quiet")]
        await run("meeting-facilitator delete", {"meeting": "#1", "confirm": "yes"})
        after_delete = [e["name"] for e in events(standin)]

    assert created["entity_type"] == VOICE and str(created["channel_id"]) == str(room.id)
    assert created["name"] == "Tuesday circle"
    assert at(created["scheduled_start_time"]) == start
    assert at(created["scheduled_end_time"]) == start + timedelta(minutes=90)
    assert created["privacy_level"] == 2
    assert "meeting rsvp #1" in created["description"]

    post = standin.requests("POST", EVENTS)[0]
    assert post.json["name"] == "Tuesday circle"
    patches = standin.requests("PATCH", EVENT)
    assert patches[0].json["name"] == "Evening circle"
    assert renamed["id"] == created["id"] and renamed["name"] == "Evening circle"
    assert at(patches[1].json["scheduled_start_time"]) == moved_to
    assert moved["id"] == created["id"] and at(moved["scheduled_start_time"]) == moved_to
    assert after_cancel["id"] == created["id"]
    assert at(after_cancel["scheduled_start_time"]) == start + week  # the following one
    assert "surgery" not in str(standin.state.scheduled_events)  # notes are not published

    assert replaced["id"] != created["id"]  # the ended one made way for a new event
    assert at(replaced["scheduled_start_time"]) == start + 2 * week
    assert switched_off == [] and while_off == []
    assert back_on == ["Evening circle", "Quiet one"]
    assert restart_requests == []
    assert recreated == ["Quiet circle"]
    assert after_delete == ["Quiet circle"]
    assert len(standin.requests("DELETE", EVENT)) == 3  # replaced, switched off, deleted
    assert standin.violations == []


async def test_a_link_is_an_external_event_and_a_refusal_breaks_nothing(
    discord_standin: DiscordStandin,
    app_factory: AppFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    circle = Circle(discord_standin, app_factory)
    app = await circle.app()
    standin = circle.standin
    adapter: DiscordAdapter = circle.adapter(app)
    start = next_hour(app, 3)
    link = "https://meet.example.org/circle"

    def schedule(title: str) -> dict[str, Any]:
        return {
            "title": title,
            "start": start.strftime("%Y-%m-%d %H:%M"),
            "duration": "60m",
            "zone": "UTC",
            "location": link,
        }

    async with standin.client_running(adapter.client):
        await circle.reply("meeting-facilitator schedule", schedule("Online circle"), user="owner")
        await adapter.events.settled()
        external = dict(only(standin))
        bot_role = standin.state.role_named(standin.guild, "CircleBot")
        bot_role.permissions &= ~CREATE_EVENTS
        standin.state.scheduled_events.clear()
        with caplog.at_level(logging.WARNING, logger="circlebot.discord.events"):
            first = await circle.reply(
                "meeting-facilitator schedule", schedule("Second"), user="owner"
            )
            second = await circle.reply(
                "meeting-facilitator schedule", schedule("Third"), user="owner"
            )
            await adapter.events.settled()
        listed = await circle.reply("meeting list", user="alice")

    assert external["entity_type"] == EXTERNAL and external["channel_id"] is None
    assert external["entity_metadata"] == {"location": link}
    assert at(external["scheduled_end_time"]) == start + timedelta(hours=1)
    assert link in external["description"]
    assert "Scheduled" in first["data"]["content"] and "Scheduled" in second["data"]["content"]
    assert "Third" in str(listed["data"])
    assert events(standin) == []
    refusals = [r for r in caplog.records if "Create Events" in r.getMessage()]
    assert len(refusals) == 1  # logged once per guild, not per meeting
    assert standin.violations == []


async def test_create_events_changes_only_the_bots_own_events(
    discord_standin: DiscordStandin, app_factory: AppFactory
) -> None:
    """As on Discord: Create Events edits and deletes the events the bot made; another
    member's event needs Manage Events."""
    circle = Circle(discord_standin, app_factory)
    app = await circle.app()
    standin = circle.standin
    adapter: DiscordAdapter = circle.adapter(app)
    alice = standin.state.user_named("alice")
    theirs = {
        "id": "4242",
        "guild_id": str(standin.guild.id),
        "channel_id": None,
        "creator_id": str(alice.id),
        "creator": alice.payload(),
        "name": "Alice's picnic",
        "description": None,
        "scheduled_start_time": "2030-01-01T10:00:00+00:00",
        "scheduled_end_time": "2030-01-01T11:00:00+00:00",
        "privacy_level": 2,
        "status": 1,
        "entity_type": EXTERNAL,
        "entity_id": None,
        "entity_metadata": {"location": "the park"},
        "user_count": 0,
        "image": None,
    }
    standin.state.scheduled_events[4242] = theirs
    async with standin.client_running(adapter.client):
        guild = adapter.client.get_guild(standin.guild.id)
        assert guild is not None
        own = await guild.create_scheduled_event(
            name="Ours",
            start_time=datetime(2030, 1, 2, 10, tzinfo=UTC),
            end_time=datetime(2030, 1, 2, 11, tzinfo=UTC),
            entity_type=discord.EntityType.external,
            privacy_level=discord.PrivacyLevel.guild_only,
            location="online",
        )
        await own.edit(name="Ours, renamed")
        other = await guild.fetch_scheduled_event(4242)
        with pytest.raises(discord.Forbidden):
            await other.edit(name="Taken over")
        with pytest.raises(discord.Forbidden):
            await other.delete()
        await own.delete()
        bot_role = standin.state.role_named(standin.guild, "CircleBot")
        bot_role.permissions |= MANAGE_EVENTS
        await other.delete()
    assert events(standin) == []
    assert standin.violations == []
