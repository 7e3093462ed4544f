"""Prove the Discord stand-in with a bare discord.py bot (no circlebot code involved).

Each test runs discord.py's real ``Client`` and ``CommandTree`` against the stand-in, so
what passes here is what discord.py actually sends and parses.
"""

from __future__ import annotations

import datetime
import io
import time
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands

from tests.harness.discord import (
    DiscordStandin,
    StandinState,
    validate_commands,
    validate_message_payload,
    validate_modal,
)

pytestmark = pytest.mark.e2e

TIMINGS: dict[str, float] = {}


def make_client(
    *, allowed_mentions: discord.AllowedMentions | None = None, message_content: bool = False
) -> discord.Client:
    """A bare bot configured for tests: fast on_ready, no pings."""
    intents = discord.Intents.default()
    intents.message_content = message_content
    return discord.Client(
        intents=intents,
        guild_ready_timeout=0.05,
        allowed_mentions=allowed_mentions or discord.AllowedMentions.none(),
    )


def make_tree(client: discord.Client) -> app_commands.CommandTree[discord.Client]:
    """A tree with a ``circle`` group (``join`` and ``facilitate admin``), a modal command
    and an autocomplete command, like the ones circlebot will have."""
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
    circle = app_commands.Group(name="circle", description="Peer-support circle commands")
    facilitate = app_commands.Group(
        name="facilitate", description="Facilitator tools", parent=circle
    )

    @circle.command(name="join", description="Join the circle")
    @app_commands.describe(note="Something to share")
    async def join(interaction: discord.Interaction, note: str, quiet: bool = True) -> None:
        roles = [r.name for r in getattr(interaction.user, "roles", [])]
        await interaction.response.send_message(
            f"Welcome {interaction.user.name}: {note} ({', '.join(roles)})", ephemeral=quiet
        )

    @facilitate.command(name="nudge", description="Nudge a member")
    async def nudge(interaction: discord.Interaction, member: discord.Member) -> None:
        await interaction.response.defer(ephemeral=True)
        await interaction.followup.send(f"Nudged {member.display_name}", ephemeral=True)
        await member.send("A facilitator is thinking of you.")

    class Feedback(discord.ui.Modal, title="Share feedback"):
        text: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label="Your feedback", custom_id="feedback_text", max_length=500
        )

        def __init__(self) -> None:
            super().__init__(custom_id="feedback_modal")

        async def on_submit(self, interaction: discord.Interaction) -> None:
            await interaction.response.send_message(f"Thanks: {self.text.value}", ephemeral=True)

    @tree.command(name="feedback", description="Send feedback")
    async def feedback(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(Feedback())

    async def meeting_names(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        names = ["monday-smart", "thursday-smart", "saturday-online"]
        return [app_commands.Choice(name=n, value=n) for n in names if current in n]

    @tree.command(name="meeting", description="Pick a meeting")
    @app_commands.autocomplete(name=meeting_names)
    async def meeting(interaction: discord.Interaction, name: str) -> None:
        await interaction.response.send_message(name, ephemeral=True)

    tree.add_command(circle)
    return tree


async def test_client_connects_and_sees_guild(discord_standin: DiscordStandin) -> None:
    client = make_client()
    started = time.perf_counter()
    async with discord_standin.client_running(client):
        TIMINGS["ready"] = time.perf_counter() - started
        guild = client.get_guild(discord_standin.guild.id)
        assert guild is not None
        assert guild.name == "Test Circle"
        assert {c.name for c in guild.text_channels} == {"general"}
        assert {c.name for c in guild.voice_channels} == {"Meeting Room"}
        assert {r.name for r in guild.roles} >= {"@everyone", "Facilitator", "Member"}
        assert guild.owner_id == discord_standin.state.user_named("owner").id
        assert guild.me is not None
        assert "CircleBot" in [r.name for r in guild.me.roles]
        assert client.application_id == discord_standin.state.application_id
    print(f"\nready in {TIMINGS['ready'] * 1000:.1f} ms")
    assert discord_standin.state.identify_count == 1
    assert discord_standin.unknown_routes == []


async def test_reconnect_resumes_and_replays(discord_standin: DiscordStandin) -> None:
    client = make_client(message_content=True)
    seen: list[str] = []
    client.event(_collector(seen))
    async with discord_standin.client_running(client):
        await discord_standin.drop_connection()
        general = discord_standin.state.channel_named("general")
        alice = discord_standin.state.user_named("alice")
        await discord_standin.send_message_create(general, alice, "sent while away")
        await discord_standin.wait_for(lambda: discord_standin.state.resume_count == 1)
        await discord_standin.wait_for(lambda: seen)
    assert seen == ["sent while away"]
    assert discord_standin.state.identify_count == 1


def _collector(seen: list[str]) -> Any:
    async def on_message(message: discord.Message) -> None:
        seen.append(message.content)

    return on_message


async def test_sync_and_ephemeral_reply(discord_standin: DiscordStandin) -> None:
    client = make_client()
    tree = make_tree(client)
    async with discord_standin.client_running(client):
        synced = await tree.sync()
        assert {c.name for c in synced} == {"circle", "feedback", "meeting"}
        (put,) = discord_standin.requests("PUT", r"/applications/\d+/commands")
        circle = next(c for c in put.json if c["name"] == "circle")
        assert circle["description"] == "Peer-support circle commands"
        join = next(o for o in circle["options"] if o["name"] == "join")
        assert join["type"] == 1
        assert [(o["name"], o["type"], o["required"]) for o in join["options"]] == [
            ("note", 3, True),
            ("quiet", 5, False),
        ]
        facilitate = next(o for o in circle["options"] if o["name"] == "facilitate")
        assert facilitate["type"] == 2

        alice = discord_standin.state.user_named("alice")
        sent = await discord_standin.send_command("circle join", {"note": "hi all"}, user=alice)
        reply = await discord_standin.wait_for_interaction_response(sent.id)
        TIMINGS["reply"] = discord_standin.interaction_latency(sent.id) or 0.0
    assert reply["type"] == 4
    assert reply["data"]["flags"] == 64
    assert reply["data"]["content"] == "Welcome alice: hi all (@everyone, Facilitator, Member)"
    assert reply["data"]["allowed_mentions"] == {"parse": []}
    assert discord_standin.requests("POST", r"/interactions/\d+/[^/]+/callback")[0].query == {
        "with_response": "1"
    }
    print(f"\nreply latency {TIMINGS['reply'] * 1000:.2f} ms")
    assert discord_standin.violations == []
    assert discord_standin.unknown_routes == []


async def test_subcommand_group_defer_followup_and_dm(discord_standin: DiscordStandin) -> None:
    client = make_client()
    tree = make_tree(client)
    state = discord_standin.state
    alice, bob = state.user_named("alice"), state.user_named("bob")
    async with discord_standin.client_running(client):
        guild = discord.Object(discord_standin.guild.id)
        tree.copy_global_to(guild=guild)
        await tree.sync(guild=guild)
        sent = await discord_standin.send_command(
            "circle facilitate nudge", {"member": bob}, user=alice
        )
        await discord_standin.wait_for_request("POST", r"/channels/\d+/messages")
    first = await discord_standin.wait_for_interaction_response(sent.id)
    assert first == {"type": 5, "data": {"flags": 64}}
    assert sent.payload["data"]["guild_id"] == str(discord_standin.guild.id)
    assert sent.payload["data"]["options"][0]["options"][0]["options"][0] == {
        "name": "member",
        "type": 6,
        "value": str(bob.id),
    }
    (followup,) = discord_standin.followups(sent.id)
    assert followup["content"] == "Nudged Bob"
    assert followup["flags"] & 64
    (dm_open,) = discord_standin.requests("POST", "/users/@me/channels")
    assert dm_open.json == {"recipient_id": bob.id}
    dm = state.dm_channel_for(bob)
    assert [m["content"] for m in state.posted(dm)] == ["A facilitator is thinking of you."]
    order = [r.path for r in discord_standin.requests("POST")]
    assert order.index("/users/@me/channels") < order.index(f"/channels/{dm.id}/messages")
    assert discord_standin.violations == []


async def test_file_attachment_is_recorded(discord_standin: DiscordStandin) -> None:
    client = make_client()
    async with discord_standin.client_running(client):
        channel = client.get_channel(discord_standin.state.channel_named("general").id)
        assert isinstance(channel, discord.TextChannel)
        data = b"week 1: 3 check-ins\n"
        message = await channel.send("Weekly log", file=discord.File(io.BytesIO(data), "log.txt"))
    assert message.attachments[0].filename == "log.txt"
    assert message.attachments[0].size == len(data)
    (request,) = discord_standin.requests("POST", r"/channels/\d+/messages")
    assert [(f.field, f.filename, f.data) for f in request.files] == [
        ("files[0]", "log.txt", data)
    ]
    assert request.json["content"] == "Weekly log"
    assert discord_standin.violations == []


async def test_429_is_retried_and_lands_once(discord_standin: DiscordStandin) -> None:
    client = make_client()
    general = discord_standin.state.channel_named("general")
    discord_standin.fail_next("POST", rf"/channels/{general.id}/messages", retry_after=0.05)
    async with discord_standin.client_running(client):
        channel = client.get_channel(general.id)
        assert isinstance(channel, discord.TextChannel)
        started = time.perf_counter()
        await channel.send("after the rate limit")
        elapsed = time.perf_counter() - started
    assert elapsed >= 0.05
    statuses = [r.status for r in discord_standin.requests("POST", r"/channels/\d+/messages")]
    assert statuses == [429, 200]
    assert [m["content"] for m in discord_standin.state.bot_messages(general)] == [
        "after the rate limit"
    ]


async def test_dm_forbidden_raises(discord_standin: DiscordStandin) -> None:
    client = make_client()
    state = discord_standin.state
    bob = state.user_named("bob")
    discord_standin.fail_next("POST", r"/channels/\d+/messages", status=403)
    closed = state.add_user("closed_dms", dms_open=False)
    async with discord_standin.client_running(client):
        user = await client.fetch_user(bob.id)
        with pytest.raises(discord.Forbidden) as injected:
            await user.send("hello")
        other = await client.fetch_user(closed.id)
        with pytest.raises(discord.Forbidden) as modelled:
            await other.send("hello")
    assert injected.value.code == 50007
    assert modelled.value.code == 50007
    assert state.posted(state.dm_channel_for(bob)) == []


async def test_oversized_message_is_rejected(discord_standin: DiscordStandin) -> None:
    client = make_client()
    general = discord_standin.state.channel_named("general")
    async with discord_standin.client_running(client):
        channel = client.get_channel(general.id)
        assert isinstance(channel, discord.TextChannel)
        with pytest.raises(discord.HTTPException) as err:
            await channel.send("x" * 2001)
        await channel.send("x" * 2000)
    assert err.value.status == 400
    assert err.value.code == 50035
    assert "content" in err.value.text
    assert len(discord_standin.state.bot_messages(general)) == 1


async def test_missing_allowed_mentions_is_a_violation(discord_standin: DiscordStandin) -> None:
    client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05)
    general = discord_standin.state.channel_named("general")
    async with discord_standin.client_running(client):
        channel = client.get_channel(general.id)
        assert isinstance(channel, discord.TextChannel)
        await channel.send("no allowed_mentions here")
        await channel.send("pings", allowed_mentions=discord.AllowedMentions(everyone=True))
        await channel.send("safe", allowed_mentions=discord.AllowedMentions.none())
    assert discord_standin.violations == [
        f"POST /channels/{general.id}/messages: message without allowed_mentions",
        f"POST /channels/{general.id}/messages: allowed_mentions parses "
        "['everyone', 'roles', 'users']",
    ]


async def test_modal_round_trip(discord_standin: DiscordStandin) -> None:
    client = make_client()
    tree = make_tree(client)
    bob = discord_standin.state.user_named("bob")
    async with discord_standin.client_running(client):
        await tree.sync()
        shown = await discord_standin.send_command("feedback", user=bob)
        modal = await discord_standin.wait_for_interaction_response(shown.id)
        assert modal["type"] == 9
        assert modal["data"]["title"] == "Share feedback"
        assert modal["data"]["custom_id"] == "feedback_modal"
        submitted = await discord_standin.send_modal_submit(
            "feedback_modal", {"feedback_text": "the check-ins help"}, user=bob
        )
        reply = await discord_standin.wait_for_interaction_response(submitted.id)
    assert reply["type"] == 4
    assert reply["data"]["content"] == "Thanks: the check-ins help"
    assert discord_standin.violations == []


async def test_autocomplete(discord_standin: DiscordStandin) -> None:
    client = make_client()
    tree = make_tree(client)
    alice = discord_standin.state.user_named("alice")
    async with discord_standin.client_running(client):
        await tree.sync()
        sent = await discord_standin.send_autocomplete(
            "meeting", {"name": "smart"}, "name", user=alice, dm=True
        )
        result = await discord_standin.wait_for_interaction_response(sent.id)
    assert result == {
        "type": 8,
        "data": {
            "choices": [
                {"name": "monday-smart", "value": "monday-smart"},
                {"name": "thursday-smart", "value": "thursday-smart"},
            ]
        },
    }
    assert "user" in sent.payload
    assert "member" not in sent.payload


async def test_button_click_updates_message(discord_standin: DiscordStandin) -> None:
    client = make_client()
    general = discord_standin.state.channel_named("general")

    class CheckIn(discord.ui.View):
        @discord.ui.button(label="I'm here", custom_id="checkin:here")
        async def here(
            self, interaction: discord.Interaction, button: discord.ui.Button[Any]
        ) -> None:
            await interaction.response.edit_message(content=f"{interaction.user.name} is here")

    async with discord_standin.client_running(client):
        channel = client.get_channel(general.id)
        assert isinstance(channel, discord.TextChannel)
        posted = await channel.send("Check in:", view=CheckIn())
        sent = await discord_standin.send_component(
            posted.id, "checkin:here", user=discord_standin.state.user_named("bob")
        )
        reply = await discord_standin.wait_for_interaction_response(sent.id)
    assert reply["type"] == 7
    updated = discord_standin.state.find_message(posted.id)
    assert updated is not None
    assert updated["content"] == "bob is here"
    assert discord_standin.violations == []


async def test_scheduled_event_round_trip(discord_standin: DiscordStandin) -> None:
    client = make_client()
    async with discord_standin.client_running(client):
        guild = client.get_guild(discord_standin.guild.id)
        assert guild is not None
        start = discord.utils.utcnow() + datetime.timedelta(days=1)
        event = await guild.create_scheduled_event(
            name="SMART meeting",
            start_time=start,
            end_time=start + datetime.timedelta(hours=1),
            entity_type=discord.EntityType.external,
            location="Online",
            privacy_level=discord.PrivacyLevel.guild_only,
        )
        events = await guild.fetch_scheduled_events()
        await event.edit(name="SMART meeting (moved)")
        await event.delete()
    assert [e.name for e in events] == ["SMART meeting"]
    assert discord_standin.state.scheduled_events == {}
    assert [r.method for r in discord_standin.requests(path_regex=r"/guilds/\d+/sched.*")] == [
        "POST",
        "GET",
        "PATCH",
        "DELETE",
    ]


async def test_invalid_command_sync_is_rejected(discord_standin: DiscordStandin) -> None:
    client = make_client()
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)

    @tree.command(name="ok", description="x" * 100)
    async def ok(interaction: discord.Interaction) -> None:  # pragma: no cover - not invoked
        pass

    async with discord_standin.client_running(client):
        await tree.sync()
        # discord.py validates names itself; a raw payload shows the stand-in's own check.
        with pytest.raises(discord.HTTPException) as err:
            await client.http.bulk_upsert_global_commands(
                discord_standin.state.application_id,
                [{"name": "Bad Name", "description": "", "type": 1}],
            )
    assert err.value.code == 50035
    assert "0.name" in err.value.text


def test_validators_cover_discord_limits() -> None:
    """The pure rule checks, for limits discord.py already refuses client-side."""
    embed = {"title": "t" * 257, "fields": [{"name": "n", "value": "v"}] * 26}
    paths = {e[0] for e in validate_message_payload({"embeds": [embed]})}
    assert paths == {"embeds.0.title", "embeds.0.fields"}
    big = {"description": "d" * 4000}
    assert validate_message_payload({"embeds": [big, big]})[0][1] == "MAX_EMBED_SIZE_EXCEEDED"
    rows = [{"type": 1, "components": [{"type": 2, "custom_id": "c" * 101, "label": "l"}]}] * 6
    codes = {e[0] for e in validate_message_payload({"components": rows})}
    assert {"components", "components.0.components.0.custom_id"} <= codes
    inputs = [
        {"type": 1, "components": [{"type": 4, "custom_id": f"i{i}", "label": "L"}]}
        for i in range(6)
    ]
    assert validate_modal({"title": "t" * 46, "custom_id": "m", "components": inputs})
    many = [{"name": f"c{i}", "description": "d", "type": 1} for i in range(101)]
    assert validate_commands(many, is_global=True)
    options = [{"name": f"o{i}", "description": "d", "type": 3} for i in range(26)]
    assert validate_commands(
        [{"name": "c", "description": "d", "options": options}], is_global=True
    )
    assert StandinState.default().violations == []


async def test_json_content_type_and_unknown_routes(discord_standin: DiscordStandin) -> None:
    """discord.py only parses JSON when Content-Type is exactly application/json."""
    headers = {"Authorization": "Bot standin-token"}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.get(f"{discord_standin.api_base}/users/@me") as resp:
            assert resp.headers["Content-Type"] == "application/json"
        async with session.get(f"{discord_standin.api_base}/guilds/1/bans") as resp:
            assert resp.status == 404
            assert (await resp.json())["code"] == 0
    assert [r.path for r in discord_standin.unknown_routes] == ["/guilds/1/bans"]


class SteppedClock:
    """Seconds that move only when a test steps them (the stand-in's interaction windows)."""

    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


def stepping_tree(
    client: discord.Client, clock: SteppedClock, steps: list[float], outcomes: list[object]
) -> app_commands.CommandTree[discord.Client]:
    """`/late` steps the clock by the next step, answers, steps again and sends a follow-up;
    each outcome (None for success, else the exception) is appended to `outcomes`."""
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)

    @tree.command(name="late", description="Answer after a pause")
    async def late(interaction: discord.Interaction) -> None:
        for step, act in zip(steps, ("respond", "follow up"), strict=False):
            clock.seconds += step
            try:
                if act == "respond":
                    await interaction.response.send_message("here", ephemeral=True)
                else:
                    await interaction.followup.send("and more", ephemeral=True)
            except discord.HTTPException as exc:
                outcomes.append(exc)
                return
            outcomes.append(None)

    return tree


async def _run_late(discord_standin: DiscordStandin, steps: list[float]) -> list[object]:
    clock = SteppedClock()
    discord_standin.clock = clock
    client = make_client()
    outcomes: list[object] = []
    tree = stepping_tree(client, clock, steps, outcomes)
    async with discord_standin.client_running(client):
        await tree.sync()
        alice = discord_standin.state.user_named("alice")
        await discord_standin.send_command("late", {}, user=alice)
        await discord_standin.wait_for(
            lambda: len(outcomes) >= min(len(steps), 2) or any(outcomes)
        )
    return outcomes


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ([2.9, 14 * 60.0], [None, None]),  # inside both windows
        ([3.3], [10062]),  # the first response 3.3 s late: Unknown interaction
        ([0.1, 15 * 60.0], [None, 50027]),  # a follow-up after 15 minutes: token expired
    ],
)
async def test_interaction_windows_are_discords(
    discord_standin: DiscordStandin, steps: list[float], expected: list[int | None]
) -> None:
    outcomes = await _run_late(discord_standin, steps)
    codes = [None if o is None else getattr(o, "code", o) for o in outcomes]
    assert codes == expected
    if expected[0] == 10062:
        assert isinstance(outcomes[0], discord.NotFound)
