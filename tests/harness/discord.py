"""A local stand-in for Discord's gateway and REST API, for end-to-end tests.

There is no local Discord, so tests run discord.py's *real* client code (HTTP, gateway, the
``app_commands`` tree, views and modals) against this small aiohttp server instead.  It
answers with the payload shapes discord.py parses, records every request in order, enforces
Discord's documented limits (so a payload Discord would reject fails here too), flags messages
sent without a safe ``allowed_mentions`` and can inject 429/403/500 faults on demand. Every
answer carries Discord's rate-limit headers, and a request over a route's bucket or the global
limit gets Discord's 429 (``discord_limits.py``; ``DiscordStandin.rate_limits``), so discord.py
paces itself as it does against Discord.

Typical use (see ``test_discord_standin.py``)::

    async with discord_standin.client_running(client):
        sent = await discord_standin.send_command("circle join", user=alice)
        reply = await discord_standin.wait_for_interaction_response(sent.id)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import discord
import discord.gateway
import discord.http
import pytest_asyncio
import yarl
from aiohttp import BodyPartReader, WSMsgType, web

from bot.adapters.discord import DiscordAdapter
from bot.app import App
from bot.clock import VirtualClock
from bot.core.commands import CommandSpec
from tests.harness.app import AppFactory, make_config
from tests.harness.discord_limits import RateLimits, Verdict

__all__ = [
    "DiscordStandin",
    "Fault",
    "RecordedFile",
    "RecordedRequest",
    "SentInteraction",
    "StandinAttachment",
    "StandinChannel",
    "StandinGuild",
    "StandinMember",
    "StandinRole",
    "StandinState",
    "StandinUser",
    "discord_standin",
]

T = TypeVar("T")

# How long a wait may take before the test fails: a liveness bound (a wait returns as soon as
# its condition holds), generous because a loaded 2-core machine is slow; never a timing goal.
WAIT_SECONDS = 10.0
# Discord's windows for an interaction, counted on the stand-in's clock from the push:
# the first response (callback) within 3 s, else 404 10062 Unknown interaction; the token
# (follow-ups, editing or deleting the original) for 15 minutes, else 401 50027.
# https://discord.com/developers/docs/interactions/receiving-and-responding
RESPONSE_WINDOW_SECONDS = 3.0
TOKEN_LIFETIME_SECONDS = 15 * 60.0

DISCORD_EPOCH_MS = 1420070400000
API_PREFIX = "/api/v10"

# Permission bits used by the stand-in's own checks and the default world.
ADMINISTRATOR = 1 << 3
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
CONNECT = 1 << 20
SPEAK = 1 << 21
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_EVENTS = 1 << 33  # edit and delete anyone's scheduled events
CREATE_EVENTS = 1 << 44  # create scheduled events, and edit and delete one's own
MODERATE_MEMBERS = 1 << 40
ALL_PERMISSIONS = (1 << 51) - 1
DEFAULT_EVERYONE_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | CONNECT
    | SPEAK
    | USE_APPLICATION_COMMANDS
)

# Gateway intents that decide which events Discord would deliver.
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15
INTENT_GUILD_SCHEDULED_EVENTS = 1 << 16

FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_COMPONENTS_V2 = 1 << 15

CHANNEL_TEXT = 0
CHANNEL_DM = 1
CHANNEL_VOICE = 2

COMMAND_NAME_RE = re.compile(r"^[-_\w]{1,32}$")
SELECT_TYPES = frozenset({3, 5, 6, 7, 8})

_id_counter = itertools.count(1)


def next_snowflake() -> int:
    """A fresh, increasing snowflake whose timestamp is now (so ``created_at`` is sane)."""
    millis = int(time.time() * 1000) - DISCORD_EPOCH_MS
    return (millis << 22) | (next(_id_counter) & 0x3FFFFF)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


def _as_id(value: Any) -> int:
    """Accept a model object, a discord.py object with ``.id``, a str or an int."""
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return int(value)
    return int(value.id)


# ---------------------------------------------------------------------------------------------
# Test-facing model
# ---------------------------------------------------------------------------------------------


@dataclass
class StandinUser:
    """A Discord user; ``dms_open=False`` makes DMs to them fail with 403/50007."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    dms_open: bool = True

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
            "flags": 0,
            "verified": True,
            "mfa_enabled": False,
        }


@dataclass
class StandinRole:
    """A guild role; ``permissions`` is Discord's permission bitfield."""

    id: int
    guild_id: int
    name: str
    permissions: int = 0
    position: int = 0
    managed: bool = False
    mentionable: bool = False  # "Allow anyone to @mention this role"

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": 0,
            "hoist": False,
            "managed": self.managed,
            "mentionable": self.mentionable,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }


@dataclass
class StandinChannel:
    """A text (type 0), voice (2) or DM (1) channel."""

    id: int
    type: int
    name: str
    guild_id: int | None = None
    position: int = 0
    topic: str | None = None
    recipient_id: int | None = None
    # Discord's overwrite objects: {"id", "type" (0 role, 1 member), "allow", "deny"}.
    overwrites: list[dict[str, Any]] = field(default_factory=list)

    def payload(self, state: StandinState) -> dict[str, Any]:
        if self.type == CHANNEL_DM:
            recipients = []
            if self.recipient_id is not None:
                recipients = [state.users[self.recipient_id].payload()]
            return {
                "id": str(self.id),
                "type": CHANNEL_DM,
                "recipients": recipients,
                "last_message_id": None,
                "flags": 0,
            }
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [
                {**o, "id": str(o["id"]), "allow": str(o["allow"]), "deny": str(o["deny"])}
                for o in self.overwrites
            ],
            "parent_id": None,
            "nsfw": False,
            "flags": 0,
            "last_message_id": None,
            "rate_limit_per_user": 0,
        }
        if self.type == CHANNEL_VOICE:
            data.update(bitrate=64000, user_limit=0, rtc_region=None)
        else:
            data["topic"] = self.topic
        return data


@dataclass
class StandinMember:
    """A user's membership of a guild; ``permissions`` overrides the role-derived value."""

    guild_id: int
    user_id: int
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    permissions: int | None = None
    joined_at: str = field(default_factory=_now_iso)

    def payload(self, state: StandinState, *, with_user: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "roles": [str(r) for r in self.roles],
            "nick": self.nick,
            "avatar": None,
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = state.users[self.user_id].payload()
        return data


@dataclass
class StandinGuild:
    """A guild; its ``@everyone`` role has the guild's id, as on Discord."""

    id: int
    name: str
    owner_id: int
    roles: dict[int, StandinRole] = field(default_factory=dict)
    channel_ids: list[int] = field(default_factory=list)
    members: dict[int, StandinMember] = field(default_factory=dict)


@dataclass
class RecordedFile:
    """One uploaded file of a multipart request."""

    field: str
    filename: str
    content_type: str | None
    data: bytes


@dataclass
class StandinAttachment:
    """A file a user attaches to a slash command (option type 11), served from the CDN URL."""

    filename: str
    data: bytes
    content_type: str | None = "text/plain"


@dataclass
class RecordedRequest:
    """One REST request as the stand-in saw it (``path`` excludes ``/api/v10``)."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: list[RecordedFile]
    headers: dict[str, str]
    status: int = 0
    at: float = 0.0


@dataclass
class Fault:
    """A queued injected failure, consumed by the next ``count`` matching requests."""

    method: str
    path_regex: str
    status: int
    retry_after: float
    global_: bool
    count: int
    code: int | None
    message: str | None
    scope: str | None


@dataclass
class SentInteraction:
    """What a test needs about a pushed interaction: its id, token and when it was sent."""

    id: int
    token: str
    payload: dict[str, Any]
    sent_at: float


@dataclass
class _InteractionRecord:
    id: int
    token: str
    type: int
    channel_id: int
    guild_id: int | None
    user_id: int
    payload: dict[str, Any]
    sent_at: float
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    pushed_at_seconds: float = 0.0  # the stand-in's clock when it pushed the interaction
    responded_at: float | None = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)


class StandinState:
    """Everything the stand-in knows: the world (guilds, users...) and what the bot did."""

    def __init__(self, *, application_id: int | None = None, bot_name: str = "CircleBot"):
        self.application_id = application_id or next_snowflake()
        self.users: dict[int, StandinUser] = {}
        self.guilds: dict[int, StandinGuild] = {}
        self.channels: dict[int, StandinChannel] = {}
        self.roles: dict[int, StandinRole] = {}
        self.bot = self.add_user(bot_name, bot=True, user_id=self.application_id)
        self.app_owner: StandinUser | None = None
        # What the bot did / what the stand-in saw.
        self.request_log: list[RecordedRequest] = []
        self.unknown_routes: list[RecordedRequest] = []
        self.violations: list[str] = []
        self.messages: dict[int, list[dict[str, Any]]] = {}
        self.deleted_messages: list[dict[str, Any]] = []
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.scheduled_events: dict[int, dict[str, Any]] = {}
        self.interested: dict[int, set[int]] = {}  # event id -> users who marked Interested
        self.dm_channels: dict[int, int] = {}  # user id -> DM channel id
        # Discord remembers a nonce for a few minutes only; `forget_nonces` models that window
        # having passed: nonces of messages up to this snowflake no longer drop a repeat.
        self.nonces_forgotten_before = 0
        self.interactions: dict[int, _InteractionRecord] = {}
        self.gateway_received: list[dict[str, Any]] = []
        self.identify_count = 0
        self.identified_at: list[tuple[int, float]] = []  # (shard id, time.monotonic())
        self.resume_count = 0
        self.intents = 0

    # -- world building ------------------------------------------------------------------------

    def add_user(
        self,
        username: str,
        *,
        bot: bool = False,
        user_id: int | None = None,
        global_name: str | None = None,
        dms_open: bool = True,
    ) -> StandinUser:
        """Create a user known to "Discord" (not yet in any guild)."""
        user = StandinUser(user_id or next_snowflake(), username, global_name, bot, dms_open)
        self.users[user.id] = user
        return user

    def add_guild(
        self,
        name: str,
        *,
        owner: StandinUser | int | None = None,
        guild_id: int | None = None,
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
        with_bot: bool = True,
    ) -> StandinGuild:
        """Create a guild with its @everyone role; the owner and (by default) the bot join."""
        gid = guild_id or next_snowflake()
        if owner is None:
            owner = self.add_user(f"{name.lower().replace(' ', '_')}_owner")
        guild = StandinGuild(gid, name, _as_id(owner))
        self.guilds[gid] = guild
        everyone = StandinRole(gid, gid, "@everyone", everyone_permissions, 0)
        guild.roles[gid] = everyone
        self.roles[gid] = everyone
        self.add_member(guild, guild.owner_id)
        if with_bot:
            self.add_member(guild, self.bot)
        return guild

    def add_role(
        self,
        guild: StandinGuild | int,
        name: str,
        permissions: int = 0,
        *,
        managed: bool = False,
        mentionable: bool = False,
    ) -> StandinRole:
        """Add a role (positions grow in creation order)."""
        g = self.guilds[_as_id(guild)]
        role = StandinRole(
            next_snowflake(), g.id, name, permissions, len(g.roles), managed, mentionable
        )
        g.roles[role.id] = role
        self.roles[role.id] = role
        return role

    def add_member(
        self,
        guild: StandinGuild | int,
        user: StandinUser | int,
        roles: Iterable[StandinRole | int] = (),
        permissions: int | None = None,
        *,
        nick: str | None = None,
    ) -> StandinMember:
        """Make ``user`` a member; ``permissions`` (if given) overrides the computed value."""
        g = self.guilds[_as_id(guild)]
        member = StandinMember(g.id, _as_id(user), [_as_id(r) for r in roles], nick, permissions)
        g.members[member.user_id] = member
        return member

    def add_text_channel(
        self, guild: StandinGuild | int, name: str, *, topic: str | None = None
    ) -> StandinChannel:
        """Add a guild text channel."""
        return self._add_channel(guild, name, CHANNEL_TEXT, topic)

    def add_voice_channel(self, guild: StandinGuild | int, name: str) -> StandinChannel:
        """Add a guild voice channel."""
        return self._add_channel(guild, name, CHANNEL_VOICE, None)

    def _add_channel(
        self, guild: StandinGuild | int, name: str, ctype: int, topic: str | None
    ) -> StandinChannel:
        g = self.guilds[_as_id(guild)]
        channel = StandinChannel(next_snowflake(), ctype, name, g.id, len(g.channel_ids), topic)
        g.channel_ids.append(channel.id)
        self.channels[channel.id] = channel
        self.messages.setdefault(channel.id, [])
        return channel

    def dm_channel_for(self, user: StandinUser | int) -> StandinChannel:
        """The bot's DM channel with ``user`` (created on first use, like Discord)."""
        uid = _as_id(user)
        cid = self.dm_channels.get(uid)
        if cid is None:
            channel = StandinChannel(next_snowflake(), CHANNEL_DM, "", None, recipient_id=uid)
            self.channels[channel.id] = channel
            self.messages.setdefault(channel.id, [])
            self.dm_channels[uid] = channel.id
            return channel
        return self.channels[cid]

    # -- lookups -------------------------------------------------------------------------------

    def user_named(self, username: str) -> StandinUser:
        return next(u for u in self.users.values() if u.username == username)

    def guild_named(self, name: str) -> StandinGuild:
        return next(g for g in self.guilds.values() if g.name == name)

    def channel_named(self, name: str, guild: StandinGuild | int | None = None) -> StandinChannel:
        gid = None if guild is None else _as_id(guild)
        return next(
            c
            for c in self.channels.values()
            if c.name == name and (gid is None or c.guild_id == gid)
        )

    def role_named(self, guild: StandinGuild | int, name: str) -> StandinRole:
        return next(r for r in self.guilds[_as_id(guild)].roles.values() if r.name == name)

    def member_permissions(self, guild: StandinGuild | int, user: StandinUser | int) -> int:
        """Guild-level permissions as Discord computes them (no channel overwrites)."""
        g = self.guilds[_as_id(guild)]
        uid = _as_id(user)
        member = g.members.get(uid)
        if member is None:
            return 0
        if member.permissions is not None:
            return member.permissions
        if uid == g.owner_id:
            return ALL_PERMISSIONS
        perms = g.roles[g.id].permissions
        for rid in member.roles:
            role = g.roles.get(rid)
            if role is not None:
                perms |= role.permissions
        return ALL_PERMISSIONS if perms & ADMINISTRATOR else perms

    def visible_commands(self, guild: StandinGuild | int, user: StandinUser | int) -> set[str]:
        """The top-level chat-input commands the slash picker lists for ``user`` in ``guild``
        when the server has no overrides under Integrations, as Discord decides: a command
        whose ``default_member_permissions`` is set is listed only to members holding every
        one of those permissions (Administrator and the owner hold all; ``"0"`` leaves it to
        them alone)."""
        gid = _as_id(guild)
        held = self.member_permissions(gid, user)
        seen: set[str] = set()
        for command in [*self.global_commands, *self.guild_commands.get(gid, [])]:
            if command.get("type", 1) != 1:
                continue
            needed = command.get("default_member_permissions")
            if needed is None or held == ALL_PERMISSIONS or held & int(needed) == int(needed):
                if needed is not None and int(needed) == 0 and held != ALL_PERMISSIONS:
                    continue
                seen.add(command["name"])
        return seen

    # -- what the bot did ----------------------------------------------------------------------

    def requests(
        self, method: str | None = None, path_regex: str | None = None
    ) -> list[RecordedRequest]:
        """Recorded requests in order; ``path_regex`` must match the whole path."""
        pattern = re.compile(path_regex) if path_regex is not None else None
        return [
            r
            for r in self.request_log
            if (method is None or r.method == method.upper())
            and (pattern is None or pattern.fullmatch(r.path))
        ]

    def posted(self, channel: StandinChannel | int) -> list[dict[str, Any]]:
        """Messages currently in a channel (user pushes and bot posts, ephemeral included)."""
        return self.messages.get(_as_id(channel), [])

    def forget_nonces(self) -> None:
        """Discord's nonce check has lapsed for everything posted so far (it holds minutes)."""
        self.nonces_forgotten_before = next_snowflake()

    def bot_messages(self, channel: StandinChannel | int) -> list[dict[str, Any]]:
        """Only the messages the bot (or its interaction webhook) posted in a channel."""
        bot_id = str(self.bot.id)
        return [m for m in self.posted(channel) if m["author"]["id"] == bot_id]

    def find_message(self, message_id: int) -> dict[str, Any] | None:
        for messages in self.messages.values():
            for message in messages:
                if int(message["id"]) == message_id:
                    return message
        return None

    # -- payloads ------------------------------------------------------------------------------

    def guild_payload(self, guild: StandinGuild) -> dict[str, Any]:
        channels = [self.channels[c].payload(self) for c in guild.channel_ids]
        events = [e for e in self.scheduled_events.values() if e["guild_id"] == str(guild.id)]
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "owner_id": str(guild.owner_id),
            "roles": [r.payload() for r in guild.roles.values()],
            "channels": channels,
            "members": [m.payload(self) for m in guild.members.values()],
            "member_count": len(guild.members),
            "large": False,
            "unavailable": False,
            "features": [],
            "emojis": [],
            "stickers": [],
            "joined_at": _now_iso(),
            "voice_states": [],
            "presences": [],
            "threads": [],
            "stage_instances": [],
            "guild_scheduled_events": events,
            "soundboard_sounds": [],
            "preferred_locale": "en-US",
            "system_channel_id": None,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
        }

    def application_payload(self) -> dict[str, Any]:
        owner = self.app_owner or self.bot
        return {
            "id": str(self.application_id),
            "name": self.bot.username,
            "description": "",
            "icon": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": owner.payload(),
            "team": None,
            "verify_key": "0" * 64,
            "flags": 0,
            "summary": "",
        }

    @classmethod
    def default(cls) -> StandinState:
        """The fixture world: guild "Test Circle" with general/voice, roles, owner, 2 members."""
        state = cls()
        owner = state.add_user("owner", global_name="Circle Owner")
        state.app_owner = owner
        guild = state.add_guild("Test Circle", owner=owner, with_bot=False)
        bot_role = state.add_role(
            guild,
            "CircleBot",
            DEFAULT_EVERYONE_PERMISSIONS | MANAGE_MESSAGES | CREATE_EVENTS | MODERATE_MEMBERS,
            managed=True,
        )
        facilitator = state.add_role(guild, "Facilitator", MANAGE_MESSAGES | MANAGE_EVENTS)
        member_role = state.add_role(guild, "Member", 0)
        state.add_member(guild, state.bot, roles=[bot_role])
        state.add_text_channel(guild, "general", topic="General chat")
        state.add_voice_channel(guild, "Meeting Room")
        alice = state.add_user("alice", global_name="Alice")
        bob = state.add_user("bob", global_name="Bob")
        state.add_member(guild, alice, roles=[facilitator, member_role])
        state.add_member(guild, bob, roles=[member_role])
        return state


# ---------------------------------------------------------------------------------------------
# Discord's rules
# ---------------------------------------------------------------------------------------------

_Errors = list[tuple[str, str, str]]


def _check_len(errors: _Errors, path: str, value: Any, maximum: int, minimum: int = 0) -> None:
    if value is None:
        return
    n = len(value)
    if n > maximum:
        errors.append((path, "BASE_TYPE_MAX_LENGTH", f"Must be {maximum} or fewer in length."))
    elif n < minimum:
        errors.append(
            (path, "BASE_TYPE_BAD_LENGTH", f"Must be between {minimum} and {maximum} in length.")
        )


def _embed_chars(embed: dict[str, Any]) -> int:
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    for f in embed.get("fields") or []:
        total += len(f.get("name") or "") + len(f.get("value") or "")
    return total


def validate_message_payload(payload: dict[str, Any], prefix: str = "") -> _Errors:
    """Discord's limits on a message body (content, embeds, components)."""
    errors: _Errors = []
    _check_len(errors, f"{prefix}content", payload.get("content"), 2000)
    embeds = payload.get("embeds") or []
    _check_len(errors, f"{prefix}embeds", embeds, 10)
    total = 0
    for i, embed in enumerate(embeds):
        p = f"{prefix}embeds.{i}."
        _check_len(errors, p + "title", embed.get("title"), 256)
        _check_len(errors, p + "description", embed.get("description"), 4096)
        _check_len(errors, p + "footer.text", (embed.get("footer") or {}).get("text"), 2048)
        _check_len(errors, p + "author.name", (embed.get("author") or {}).get("name"), 256)
        fields = embed.get("fields") or []
        _check_len(errors, p + "fields", fields, 25)
        for j, f in enumerate(fields):
            _check_len(errors, f"{p}fields.{j}.name", f.get("name"), 256, 1)
            _check_len(errors, f"{p}fields.{j}.value", f.get("value"), 1024, 1)
        total += _embed_chars(embed)
    if total > 6000:
        errors.append(
            (
                f"{prefix}embeds",
                "MAX_EMBED_SIZE_EXCEEDED",
                "Embed size exceeds maximum size of 6000",
            )
        )
    components = payload.get("components") or []
    flags = int(payload.get("flags") or 0)
    errors += validate_components(
        components, f"{prefix}components", v2=bool(flags & FLAG_COMPONENTS_V2)
    )
    return errors


def validate_components(components: list[dict[str, Any]], path: str, *, v2: bool) -> _Errors:
    """Action-row layout (5 rows x 5 width) plus per-component string limits."""
    errors: _Errors = []
    if not v2:
        _check_len(errors, path, components, 5)
        for i, row in enumerate(components):
            if row.get("type") != 1:
                errors.append(
                    (
                        f"{path}.{i}.type",
                        "UNION_TYPE_CHOICES",
                        "Top-level components must be action rows",
                    )
                )
                continue
            children = row.get("components") or []
            _check_len(errors, f"{path}.{i}.components", children, 5, 1)
            width = sum(5 if c.get("type") in SELECT_TYPES else 1 for c in children)
            if width > 5:
                errors.append(
                    (
                        f"{path}.{i}.components",
                        "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                        "The specified component exceeds the maximum width",
                    )
                )
    elif _count_components(components) > 40:
        errors.append((path, "BASE_TYPE_MAX_LENGTH", "Must be 40 or fewer in length."))
    _walk_components(components, path, errors)
    return errors


def _count_components(components: list[dict[str, Any]]) -> int:
    n = 0
    for c in components:
        n += 1 + _count_components(c.get("components") or [])
        if isinstance(c.get("component"), dict):
            n += 1 + _count_components([c["component"]]) - 1
        if isinstance(c.get("accessory"), dict):
            n += 1
    return n


def _walk_components(components: list[dict[str, Any]], path: str, errors: _Errors) -> None:
    for i, c in enumerate(components):
        p = f"{path}.{i}."
        _check_len(errors, p + "custom_id", c.get("custom_id"), 100, 1)
        ctype = c.get("type")
        if ctype == 2:
            _check_len(errors, p + "label", c.get("label"), 80)
        elif ctype in SELECT_TYPES:
            _check_len(errors, p + "placeholder", c.get("placeholder"), 150)
            options = c.get("options")
            if ctype == 3:
                _check_len(errors, p + "options", options or [], 25, 1)
            for j, option in enumerate(options or []):
                _check_len(errors, f"{p}options.{j}.label", option.get("label"), 100, 1)
                _check_len(errors, f"{p}options.{j}.value", option.get("value"), 100, 1)
                _check_len(errors, f"{p}options.{j}.description", option.get("description"), 100)
        elif ctype == 4:
            _check_len(errors, p + "label", c.get("label"), 45)
            _check_len(errors, p + "placeholder", c.get("placeholder"), 100)
            _check_len(errors, p + "value", c.get("value"), 4000)
        elif ctype == 18:
            _check_len(errors, p + "label", c.get("label"), 45, 1)
            _check_len(errors, p + "description", c.get("description"), 100)
        if c.get("components"):
            _walk_components(c["components"], p + "components", errors)
        if isinstance(c.get("component"), dict):
            _walk_components([c["component"]], p + "component", errors)
        if isinstance(c.get("accessory"), dict):
            _walk_components([c["accessory"]], p + "accessory", errors)


def _text_inputs(components: list[dict[str, Any]]) -> int:
    n = 0
    for c in components:
        if c.get("type") == 4:
            n += 1
        n += _text_inputs(c.get("components") or [])
        if isinstance(c.get("component"), dict):
            n += _text_inputs([c["component"]])
    return n


def validate_modal(data: dict[str, Any]) -> _Errors:
    """Modal: title 1-45, custom_id 1-100, 1-5 top-level components, at most 5 text inputs."""
    errors: _Errors = []
    _check_len(errors, "data.title", data.get("title"), 45, 1)
    _check_len(errors, "data.custom_id", data.get("custom_id"), 100, 1)
    components = data.get("components") or []
    _check_len(errors, "data.components", components, 5, 1)
    if _text_inputs(components) > 5:
        errors.append(
            ("data.components", "BASE_TYPE_MAX_LENGTH", "A modal can have at most 5 text inputs.")
        )
    _walk_components(components, "data.components", errors)
    return errors


def _focused_type(data: dict[str, Any]) -> int | None:
    """The option type of the focused option of an autocomplete interaction's data."""
    for option in data.get("options") or []:
        if option.get("focused"):
            return int(option["type"])
        found = _focused_type(option)
        if found is not None:
            return found
    return None


def validate_autocomplete(data: dict[str, Any], focused_type: int | None = None) -> _Errors:
    """Discord's rules for suggestions: at most 25, names of 1-100 characters, and values of
    the focused option's type (text of at most 100 for a string option, numbers for integer
    and number options)."""
    errors: _Errors = []
    choices = data.get("choices") or []
    _check_len(errors, "data.choices", choices, 25)
    for i, choice in enumerate(choices):
        _check_len(errors, f"data.choices.{i}.name", choice.get("name"), 100, 1)
        value = choice.get("value")
        if isinstance(value, str):
            _check_len(errors, f"data.choices.{i}.value", value, 100)
        wrong = (
            (focused_type == 3 and not isinstance(value, str))
            or (focused_type == 4 and (isinstance(value, bool) or not isinstance(value, int)))
            or (focused_type == 10 and not isinstance(value, int | float))
        )
        if wrong:
            errors.append((f"data.choices.{i}.value", "BASE_TYPE_BAD", "Invalid value type"))
    return errors


def _check_command_name(errors: _Errors, path: str, name: Any) -> None:
    if not isinstance(name, str) or not COMMAND_NAME_RE.fullmatch(name) or name != name.lower():
        errors.append(
            (path, "APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid: {name!r}")
        )


def _validate_options(options: list[dict[str, Any]], path: str, errors: _Errors) -> None:
    _check_len(errors, path, options, 25)
    seen_optional = False
    names: set[str] = set()
    for i, option in enumerate(options):
        p = f"{path}.{i}."
        _check_command_name(errors, p + "name", option.get("name"))
        if option.get("name") in names:
            errors.append(
                (
                    p + "name",
                    "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                    "Option names must be unique",
                )
            )
        names.add(option.get("name", ""))
        _check_len(errors, p + "description", option.get("description") or "", 100, 1)
        choices = option.get("choices") or []
        _check_len(errors, p + "choices", choices, 25)
        for j, choice in enumerate(choices):
            _check_len(errors, f"{p}choices.{j}.name", choice.get("name"), 100, 1)
            if isinstance(choice.get("value"), str):
                _check_len(errors, f"{p}choices.{j}.value", choice["value"], 100)
        if option.get("type") in (1, 2):
            _validate_options(option.get("options") or [], p + "options", errors)
        elif option.get("required"):
            if seen_optional:
                errors.append(
                    (
                        p + "required",
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    )
                )
        else:
            seen_optional = True


def validate_commands(commands: Any, *, is_global: bool) -> _Errors:
    """Bulk-overwrite payload: names, descriptions, option/choice counts, command counts."""
    errors: _Errors = []
    if not isinstance(commands, list):
        return [("_root", "LIST_TYPE_CONVERT", "Must be an array.")]
    counts = {1: 0, 2: 0, 3: 0}
    seen: set[tuple[int, str]] = set()
    for i, cmd in enumerate(commands):
        ctype = int(cmd.get("type", 1))
        counts[ctype] = counts.get(ctype, 0) + 1
        p = f"{i}."
        name = cmd.get("name")
        if (ctype, name) in seen:
            errors.append(
                (
                    p + "name",
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    f"Application command names must be unique: {name!r}",
                )
            )
        seen.add((ctype, str(name)))
        if ctype == 1:
            _check_command_name(errors, p + "name", name)
            _check_len(errors, p + "description", cmd.get("description") or "", 100, 1)
            _validate_options(cmd.get("options") or [], p + "options", errors)
        else:
            _check_len(errors, p + "name", name, 32, 1)
    if counts[1] > 100:
        errors.append(
            ("_root", "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer chat input commands.")
        )
    for ctype in (2, 3):
        if counts.get(ctype, 0) > 15:
            errors.append(
                ("_root", "BASE_TYPE_MAX_LENGTH", "Must be 15 or fewer context menu commands.")
            )
    return errors


def _errors_json(errors: _Errors) -> dict[str, Any]:
    """Nest ``a.0.b`` error paths the way Discord does (discord.py flattens them back)."""
    tree: dict[str, Any] = {}
    for path, code, message in errors:
        node = tree
        if path != "_root":
            for part in path.split("."):
                node = node.setdefault(part, {})
        node.setdefault("_errors", []).append({"code": code, "message": message})
    return {"message": "Invalid Form Body", "code": 50035, "errors": tree}


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------


def _json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """JSON with ``Content-Type: application/json`` exactly: with a charset discord.py
    treats the body as text."""
    all_headers = {"Content-Type": "application/json"}
    all_headers.update(headers or {})
    return web.Response(body=json.dumps(data).encode(), status=status, headers=all_headers)


def _error(status: int, code: int, message: str) -> web.Response:
    return _json_response({"message": message, "code": code}, status)


def _no_content() -> web.Response:
    return web.Response(status=204)


class _Gateway:
    """One websocket connection from the bot."""

    def __init__(self, ws: web.WebSocketResponse, query: dict[str, str]):
        self.ws = ws
        self.query = query
        self.ready = False
        self.shard: int | None = None  # the shard id it IDENTIFYed as


_ROUTES: list[tuple[str, re.Pattern[str], str]] = []


def _route(method: str, pattern: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        _ROUTES.append((method, re.compile(pattern), func.__name__))
        return func

    return decorate


class DiscordStandin:
    """The aiohttp server: gateway at ``/gateway``, REST under ``/api/v10``."""

    def __init__(
        self,
        state: StandinState | None = None,
        *,
        host: str = "127.0.0.1",
        heartbeat_interval_ms: int = 41250,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.state = state or StandinState.default()
        # seconds, for the interaction windows; a test may swap in its own to step past them
        self.clock = clock
        self.host = host
        self.port = 0
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.faults: list[Fault] = []
        self.recommended_shards = 1  # what GET /gateway/bot tells the bot to run
        self.max_concurrency = 1  # IDENTIFY buckets GET /gateway/bot tells of
        # Discord's per-route buckets and global limit (tests/harness/discord_limits.py);
        # requests answered 429 because of them, in order
        self.rate_limits = RateLimits()
        self.rate_limited: list[RecordedRequest] = []
        self._runner: web.AppRunner | None = None
        self._gateways: list[_Gateway] = []
        self._session_id: str | None = None
        self._seq = 0
        self._event_log: list[tuple[int, str]] = []  # (seq, raw frame) for RESUME replay
        self._changed = asyncio.Condition()
        self._patched: tuple[str, yarl.URL] | None = None
        self._attachments: dict[str, bytes] = {}
        self.attachment_downloads: list[str] = []  # CDN paths fetched, in order

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.base_url}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway_handler)
        app.router.add_get("/attachments/{tail:.*}", self._attachment_handler)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest_handler)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        server: Any = site._server  # asyncio.Server; the only way to learn the bound port
        self.port = int(server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Close open websockets and the server; restores discord.py if still patched."""
        self.unpatch_discord()
        for gw in list(self._gateways):
            await gw.ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def patch_discord(self) -> None:
        """Point discord.py's REST base and default gateway at this server."""
        if self._patched is None:
            self._patched = (
                discord.http.Route.BASE,
                discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY,
            )
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)

    def unpatch_discord(self) -> None:
        """Restore what ``patch_discord`` replaced."""
        if self._patched is not None:
            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = (
                self._patched
            )
            self._patched = None

    @contextlib.asynccontextmanager
    async def client_running(
        self,
        client: discord.Client,
        *,
        token: str = "standin-token",
        timeout: float = 5.0,  # noqa: ASYNC109 - tests wait with a bound
    ) -> AsyncIterator[discord.Client]:
        """Start ``client`` against the stand-in, wait for on_ready, always close it."""
        task = asyncio.create_task(client.start(token), name="standin-client")
        await asyncio.sleep(0)  # let login() run _async_setup_hook before wait_until_ready
        try:
            ready = asyncio.create_task(client.wait_until_ready())
            done, _ = await asyncio.wait(
                {ready, task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if ready not in done:
                ready.cancel()
                if task in done:
                    task.result()  # re-raise the login/connect failure
                raise TimeoutError("discord client did not become ready")
            yield client
        finally:
            await client.close()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout)

    # -- convenience ---------------------------------------------------------------------------

    @property
    def violations(self) -> list[str]:
        return self.state.violations

    @property
    def unknown_routes(self) -> list[RecordedRequest]:
        return self.state.unknown_routes

    def requests(
        self, method: str | None = None, path_regex: str | None = None
    ) -> list[RecordedRequest]:
        return self.state.requests(method, path_regex)

    @property
    def guild(self) -> StandinGuild:
        """The first guild (the fixture's "Test Circle")."""
        return next(iter(self.state.guilds.values()))

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int = 429,
        retry_after: float = 0.2,
        global_: bool = False,
        count: int = 1,
        *,
        code: int | None = None,
        message: str | None = None,
        scope: str | None = None,
    ) -> Fault:
        """Make the next ``count`` requests matching (full-match) fail with ``status``.

        429 carries Retry-After/X-RateLimit-* headers and ``retry_after`` in JSON; 403
        defaults to code 50007 "Cannot send messages to this user"; 5xx to code 0.
        """
        fault = Fault(
            method.upper(), path_regex, status, retry_after, global_, count, code, message, scope
        )
        self.faults.append(fault)
        return fault

    async def wait_for(
        self,
        predicate: Callable[[], T | None],
        timeout: float = WAIT_SECONDS,  # noqa: ASYNC109 - tests wait with a bound
    ) -> T:
        """Wait until ``predicate()`` returns something truthy.

        Re-checked on every request/gateway frame the stand-in sees, and every 5 ms so that
        predicates on the bot's own state (e.g. a list its handler appends to) work too.
        """
        async with asyncio.timeout(timeout):
            while True:
                result = predicate()
                if result:
                    return result
                async with self._changed:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), 0.005)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for_request(
        self,
        method: str,
        path_regex: str,
        *,
        count: int = 1,
        timeout: float = WAIT_SECONDS,  # noqa: ASYNC109 - tests wait with a bound
    ) -> list[RecordedRequest]:
        """Wait until at least ``count`` matching requests were recorded."""

        def check() -> list[RecordedRequest] | None:
            found = self.requests(method, path_regex)
            return found if len(found) >= count else None

        return await self.wait_for(check, timeout)

    async def wait_for_interaction_response(
        self,
        interaction_id: int,
        timeout: float = WAIT_SECONDS,  # noqa: ASYNC109 - tests wait with a bound
    ) -> dict[str, Any]:
        """The first callback body for an interaction (``payload_json`` for multipart)."""
        record = self.state.interactions[interaction_id]
        return await self.wait_for(
            lambda: record.callbacks[0] if record.callbacks else None, timeout
        )

    def interaction_latency(self, interaction_id: int) -> float | None:
        """Seconds from pushing the interaction to its callback being recorded."""
        record = self.state.interactions[interaction_id]
        if record.responded_at is None:
            return None
        return record.responded_at - record.sent_at

    def followups(self, interaction_id: int) -> list[dict[str, Any]]:
        """Follow-up messages sent for an interaction, in order."""
        record = self.state.interactions[interaction_id]
        return [m for mid in record.followup_ids if (m := self.state.find_message(mid))]

    def original_response(self, interaction_id: int) -> dict[str, Any] | None:
        record = self.state.interactions[interaction_id]
        if record.original_message_id is None:
            return None
        return self.state.find_message(record.original_message_id)

    # -- gateway -------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return any(gw.ready for gw in self._gateways)

    async def _gateway_handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        gw = _Gateway(ws, dict(request.query))
        self._gateways.append(gw)
        try:
            hello = {"heartbeat_interval": self.heartbeat_interval_ms}
            await ws.send_str(json.dumps({"op": 10, "s": None, "t": None, "d": hello}))
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                await self._on_gateway_frame(gw, frame)
        finally:
            self._gateways.remove(gw)
            await self._notify()
        return ws

    async def _on_gateway_frame(self, gw: _Gateway, frame: dict[str, Any]) -> None:
        op = frame.get("op")
        raw_data = frame.get("d")
        data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
        recorded = dict(frame)
        if op in (2, 6):
            recorded["d"] = {k: v for k, v in data.items() if k != "token"}
        self.state.gateway_received.append(recorded)
        if op == 1:
            await gw.ws.send_str(json.dumps({"op": 11, "s": None, "t": None, "d": None}))
        elif op == 2:
            await self._identify(gw, data)
        elif op == 6:
            await self._resume(gw, data)
        elif op == 8:
            await self._members_chunk(gw, data)
        await self._notify()

    async def _identify(self, gw: _Gateway, data: dict[str, Any]) -> None:
        self.state.identify_count += 1
        shard = int(data.get("shard", [0, 1])[0])
        self.state.identified_at.append((shard, time.monotonic()))
        for other in self._gateways:
            if other is not gw and other.shard == shard and not other.ws.closed:
                self.state.violations.append(f"shard {shard} identified on two open sessions")
        gw.shard = shard
        self.state.intents = int(data.get("intents", 0))
        self._session_id = secrets.token_hex(16)
        self._seq = 0
        self._event_log = []
        gw.ready = True
        bot_guilds = [g for g in self.state.guilds.values() if self.state.bot.id in g.members]
        ready = {
            "v": 10,
            "user": self.state.bot.payload(),
            "guilds": [{"id": str(g.id), "unavailable": True} for g in bot_guilds],
            "session_id": self._session_id,
            "resume_gateway_url": self.gateway_url,
            "session_type": "normal",
            "shard": data.get("shard", [0, 1]),
            "application": {"id": str(self.state.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "_trace": ["standin"],
        }
        # READY and the guilds go to the session that identified, not to the bot's other shards
        await self._dispatch_to(gw, "READY", ready)
        for guild in bot_guilds:
            await self._dispatch_to(gw, "GUILD_CREATE", self.state.guild_payload(guild))

    async def _dispatch_to(self, gw: _Gateway, event: str, data: dict[str, Any]) -> None:
        self._seq += 1
        raw = json.dumps({"op": 0, "s": self._seq, "t": event, "d": data})
        self._event_log.append((self._seq, raw))
        if not gw.ws.closed:
            await gw.ws.send_str(raw)

    async def _resume(self, gw: _Gateway, data: dict[str, Any]) -> None:
        if data.get("session_id") != self._session_id or self._session_id is None:
            await gw.ws.send_str(json.dumps({"op": 9, "s": None, "t": None, "d": False}))
            return
        self.state.resume_count += 1
        gw.ready = True
        last = int(data.get("seq") or 0)
        for seq, raw in self._event_log:
            if seq > last:
                await gw.ws.send_str(raw)
        await self.dispatch("RESUMED", {"_trace": ["standin"]})

    async def _members_chunk(self, gw: _Gateway, data: dict[str, Any]) -> None:
        guild = self.state.guilds.get(int(data["guild_id"]))
        members = [m.payload(self.state) for m in guild.members.values()] if guild else []
        chunk = {
            "guild_id": data["guild_id"],
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        await self.dispatch("GUILD_MEMBERS_CHUNK", chunk)

    async def dispatch(self, event: str, data: dict[str, Any]) -> int:
        """Send a DISPATCH (op 0) to the bot; buffered for RESUME if it is disconnected."""
        self._seq += 1
        raw = json.dumps({"op": 0, "s": self._seq, "t": event, "d": data})
        self._event_log.append((self._seq, raw))
        for gw in self._gateways:
            if gw.ready and not gw.ws.closed:
                await gw.ws.send_str(raw)
        return self._seq

    async def drop_connection(self, code: int = 4000) -> None:
        """Close the bot's websocket from the server side; discord.py reconnects and RESUMEs."""
        for gw in list(self._gateways):
            gw.ready = False
            await gw.ws.close(code=code)

    async def send_reconnect(self) -> None:
        """Gateway op 7: ask the bot to reconnect (and resume)."""
        for gw in list(self._gateways):
            await gw.ws.send_str(json.dumps({"op": 7, "s": None, "t": None, "d": None}))

    async def invalidate_session(self, resumable: bool = False) -> None:
        """Gateway op 9: the bot must IDENTIFY again (or RESUME if ``resumable``)."""
        if not resumable:
            self._session_id = None
        for gw in list(self._gateways):
            gw.ready = False
            await gw.ws.send_str(json.dumps({"op": 9, "s": None, "t": None, "d": resumable}))

    async def wait_for_connection(self, timeout: float = WAIT_SECONDS) -> None:  # noqa: ASYNC109 - tests wait with a bound
        await self.wait_for(lambda: self.connected, timeout)

    # -- pushing events ------------------------------------------------------------------------

    def _intent(self, bit: int) -> bool:
        return bool(self.state.intents & bit)

    async def send_message_create(
        self,
        channel: StandinChannel | int,
        author: StandinUser | int,
        content: str,
        *,
        embeds: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A user posts ``content``; dispatched if intents allow, stored either way.

        Without the MESSAGE_CONTENT intent, guild messages not mentioning the bot arrive with
        empty content, as on Discord.
        """
        ch = self.state.channels[_as_id(channel)]
        user = self.state.users[_as_id(author)]
        mention_ids = [int(m) for m in re.findall(r"<@!?(\d+)>", content)]
        message: dict[str, Any] = {
            "id": str(next_snowflake()),
            "channel_id": str(ch.id),
            "author": user.payload(),
            "content": content,
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": "@everyone" in content,
            "mentions": [
                self.state.users[m].payload() for m in mention_ids if m in self.state.users
            ],
            "mention_roles": re.findall(r"<@&(\d+)>", content),
            "attachments": [],
            "embeds": embeds or [],
            "components": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
        }
        if ch.guild_id is not None:
            message["guild_id"] = str(ch.guild_id)
            member = self.state.guilds[ch.guild_id].members.get(user.id)
            if member is not None:
                message["member"] = member.payload(self.state, with_user=False)
        self.state.messages.setdefault(ch.id, []).append(message)
        is_dm = ch.guild_id is None
        wanted = self._intent(INTENT_DIRECT_MESSAGES if is_dm else INTENT_GUILD_MESSAGES)
        if wanted:
            event = dict(message)
            if (
                not is_dm
                and not self._intent(INTENT_MESSAGE_CONTENT)
                and (self.state.bot.id not in mention_ids)
            ):
                event.update(content="", embeds=[], attachments=[], components=[])
            await self.dispatch("MESSAGE_CREATE", event)
        await self._notify()
        return message

    def _interaction_context(
        self,
        user: StandinUser | int,
        channel: StandinChannel | int | None,
        dm: bool,
    ) -> tuple[StandinUser, StandinChannel, StandinGuild | None]:
        u = self.state.users[_as_id(user)]
        if dm:
            return u, self.state.dm_channel_for(u), None
        if channel is None:
            ch = next(
                self.state.channels[c]
                for c in self.guild.channel_ids
                if self.state.channels[c].type == CHANNEL_TEXT
            )
        else:
            ch = self.state.channels[_as_id(channel)]
        guild = self.state.guilds[ch.guild_id] if ch.guild_id is not None else None
        return u, ch, guild

    async def send_interaction(
        self,
        type: int,
        data: dict[str, Any],
        *,
        user: StandinUser | int,
        channel: StandinChannel | int | None = None,
        dm: bool = False,
        message: dict[str, Any] | None = None,
        permissions: int | None = None,
        locale: str = "en-US",
    ) -> SentInteraction:
        """Push INTERACTION_CREATE of ``type`` (2 command, 3 component, 4 autocomplete, 5 modal).

        Guild context (member with roles and computed permissions) unless ``dm`` or the
        channel is a DM; ``channel`` defaults to the first guild's first text channel.
        """
        u, ch, guild = self._interaction_context(user, channel, dm)
        iid = next_snowflake()
        token = f"itk{iid}{secrets.token_hex(8)}"
        payload: dict[str, Any] = {
            "id": str(iid),
            "application_id": str(self.state.application_id),
            "type": type,
            "data": data,
            "token": token,
            "version": 1,
            "locale": locale,
            "channel_id": str(ch.id),
            "channel": ch.payload(self.state),
            "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if guild is not None:
            member = guild.members.get(u.id)
            if member is None:
                raise ValueError(f"{u.username} is not a member of {guild.name}")
            perms = (
                permissions if permissions is not None else self.state.member_permissions(guild, u)
            )
            app_perms = self.state.member_permissions(guild, self.state.bot)
            payload.update(
                guild_id=str(guild.id),
                guild={"id": str(guild.id), "locale": "en-US", "features": []},
                guild_locale="en-US",
                member={**member.payload(self.state), "permissions": str(perms)},
                app_permissions=str(app_perms),
                authorizing_integration_owners={"0": str(guild.id)},
                context=0,
            )
            payload["channel"]["permissions"] = str(perms)
        else:
            payload.update(
                user=u.payload(),
                app_permissions=str(DEFAULT_EVERYONE_PERMISSIONS),
                authorizing_integration_owners={"0": "0"},
                context=1,
            )
        if message is not None:
            payload["message"] = message
        record = _InteractionRecord(
            iid,
            token,
            type,
            ch.id,
            guild.id if guild else None,
            u.id,
            payload,
            time.perf_counter(),
            pushed_at_seconds=self.clock(),
        )
        self.state.interactions[iid] = record
        await self.dispatch("INTERACTION_CREATE", payload)
        return SentInteraction(iid, token, payload, record.sent_at)

    def _find_command(self, name: str, guild_id: int | None) -> tuple[dict[str, Any] | None, bool]:
        if guild_id is not None:
            for cmd in self.state.guild_commands.get(guild_id, []):
                if cmd["name"] == name and cmd.get("type", 1) == 1:
                    return cmd, True
        for cmd in self.state.global_commands:
            if cmd["name"] == name and cmd.get("type", 1) == 1:
                return cmd, False
        return None, False

    def _command_data(
        self,
        command: str,
        options: dict[str, Any] | list[dict[str, Any]] | None,
        guild_id: int | None,
        focused: str | None,
    ) -> dict[str, Any]:
        path = command.split()
        definition, is_guild = self._find_command(path[0], guild_id)
        resolved: dict[str, dict[str, Any]] = {}
        defs = (definition or {}).get("options") or []
        chain: list[dict[str, Any]] = []
        for depth, name in enumerate(path[1:], start=1):
            sub_def = next((o for o in defs if o.get("name") == name), None)
            if sub_def is not None:
                stype = int(sub_def["type"])
                defs = sub_def.get("options") or []
            else:
                stype = 2 if depth < len(path) - 1 else 1
                defs = []
            chain.append({"type": stype, "name": name})
        if isinstance(options, list):
            leaf = options
        else:
            leaf = [
                self._option(n, v, defs, resolved, guild_id, focused == n)
                for n, v in (options or {}).items()
            ]
        for link in reversed(chain):
            link["options"] = leaf
            leaf = [link]
        data: dict[str, Any] = {
            "id": str(definition["id"]) if definition else str(next_snowflake()),
            "name": path[0],
            "type": 1,
            "options": leaf,
        }
        if resolved:
            data["resolved"] = resolved
        if is_guild and guild_id is not None:
            data["guild_id"] = str(guild_id)
        return data

    def _option(
        self,
        name: str,
        value: Any,
        defs: list[dict[str, Any]],
        resolved: dict[str, dict[str, Any]],
        guild_id: int | None,
        focused: bool,
    ) -> dict[str, Any]:
        declared = next((o for o in defs if o.get("name") == name), None)
        if declared is not None:
            otype = int(declared["type"])
        elif isinstance(value, bool):
            otype = 5
        elif isinstance(value, int):
            otype = 4
        elif isinstance(value, float):
            otype = 10
        elif isinstance(value, StandinUser | StandinMember):
            otype = 6
        elif isinstance(value, StandinChannel):
            otype = 7
        elif isinstance(value, StandinRole):
            otype = 8
        elif isinstance(value, StandinAttachment):
            otype = 11
        else:
            otype = 3
        allowed = (declared or {}).get("channel_types")
        picked = isinstance(value, StandinChannel) and otype == 7
        if picked and allowed and value.type not in allowed:
            raise ValueError(f"Discord's picker for {name!r} does not offer #{value.name}")
        option: dict[str, Any] = {"name": name, "type": otype}
        if focused:
            option.update(value=str(value), focused=True)
            return option
        if otype in (6, 7, 8, 9):
            oid = value.user_id if isinstance(value, StandinMember) else _as_id(value)
            self._resolve(otype, oid, resolved, guild_id)
            option["value"] = str(oid)
        elif otype == 11 and isinstance(value, StandinAttachment):
            option["value"] = self._resolve_attachment(value, resolved)
        else:
            option["value"] = value
        return option

    def _resolve(
        self, otype: int, oid: int, resolved: dict[str, dict[str, Any]], guild_id: int | None
    ) -> None:
        state = self.state
        if otype in (6, 9) and oid in state.users:
            resolved.setdefault("users", {})[str(oid)] = state.users[oid].payload()
            member = state.guilds[guild_id].members.get(oid) if guild_id else None
            if member is not None:
                resolved.setdefault("members", {})[str(oid)] = {
                    **member.payload(state, with_user=False),
                    "permissions": str(state.member_permissions(guild_id or 0, oid)),
                }
        elif otype == 7 and oid in state.channels:
            ch = state.channels[oid]
            resolved.setdefault("channels", {})[str(oid)] = {
                "id": str(oid),
                "name": ch.name,
                "type": ch.type,
                "parent_id": None,
                "permissions": str(ALL_PERMISSIONS),
                "guild_id": str(ch.guild_id),
            }
        if otype in (8, 9) and oid in state.roles:
            resolved.setdefault("roles", {})[str(oid)] = state.roles[oid].payload()

    def _resolve_attachment(
        self, file: StandinAttachment, resolved: dict[str, dict[str, Any]]
    ) -> str:
        """Serve the file on the CDN path and describe it as Discord does in ``resolved``."""
        aid = str(next_snowflake())
        key = f"ephemeral-attachments/{aid}/{file.filename}"
        self._attachments[key] = file.data
        url = f"{self.base_url}/attachments/{key}"
        resolved.setdefault("attachments", {})[aid] = {
            "id": aid,
            "filename": file.filename,
            "size": len(file.data),
            "url": url,
            "proxy_url": url,
            "content_type": file.content_type,
            "ephemeral": True,
        }
        return aid

    async def send_command(
        self,
        command: str,
        options: dict[str, Any] | list[dict[str, Any]] | None = None,
        *,
        user: StandinUser | int,
        channel: StandinChannel | int | None = None,
        dm: bool = False,
        permissions: int | None = None,
        locale: str = "en-US",
    ) -> SentInteraction:
        """APPLICATION_COMMAND for ``"group sub leaf"``; option types come from the synced
        definition (else inferred from the Python value); users/channels/roles are resolved,
        and a ``StandinAttachment`` value becomes an uploaded file served on 127.0.0.1."""
        _, ch, guild = self._interaction_context(user, channel, dm)
        data = self._command_data(command, options, guild.id if guild else None, None)
        return await self.send_interaction(
            2, data, user=user, channel=ch, dm=dm, permissions=permissions, locale=locale
        )

    async def send_autocomplete(
        self,
        command: str,
        options: dict[str, Any],
        focused: str,
        *,
        user: StandinUser | int,
        channel: StandinChannel | int | None = None,
        dm: bool = False,
    ) -> SentInteraction:
        """APPLICATION_COMMAND_AUTOCOMPLETE with ``focused`` holding the partial value."""
        _, ch, guild = self._interaction_context(user, channel, dm)
        data = self._command_data(command, options, guild.id if guild else None, focused)
        return await self.send_interaction(4, data, user=user, channel=ch, dm=dm)

    async def send_component(
        self,
        message: dict[str, Any] | int,
        custom_id: str,
        *,
        user: StandinUser | int,
        component_type: int = 2,
        values: Sequence[str] | None = None,
    ) -> SentInteraction:
        """MESSAGE_COMPONENT: ``user`` clicks a button / picks select ``values`` on a message
        the bot posted (pass the recorded message dict or its id)."""
        msg = message if isinstance(message, dict) else self.state.find_message(message)
        if msg is None:
            raise KeyError(f"unknown message {message!r}")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if values is not None or component_type in SELECT_TYPES:
            data["values"] = list(values or [])
        ch = self.state.channels[int(msg["channel_id"])]
        return await self.send_interaction(
            3, data, user=user, channel=ch, dm=ch.guild_id is None, message=msg
        )

    async def send_modal_submit(
        self,
        custom_id: str,
        values: dict[str, str],
        *,
        user: StandinUser | int,
        channel: StandinChannel | int | None = None,
        dm: bool = False,
    ) -> SentInteraction:
        """MODAL_SUBMIT with text-input ``values`` by custom_id, shaped like the modal that
        was shown (Label components, type 18, or legacy action rows)."""
        uses_labels = False
        for record in self.state.interactions.values():
            for cb in record.callbacks:
                if cb.get("type") == 9 and cb.get("data", {}).get("custom_id") == custom_id:
                    uses_labels = any(c.get("type") == 18 for c in cb["data"]["components"])
        components: list[dict[str, Any]] = []
        for cid, value in values.items():
            text = {"type": 4, "custom_id": cid, "value": value}
            if uses_labels:
                components.append({"type": 18, "component": text})
            else:
                components.append({"type": 1, "components": [text]})
        data = {"custom_id": custom_id, "components": components}
        return await self.send_interaction(5, data, user=user, channel=channel, dm=dm)

    # -- REST ----------------------------------------------------------------------------------

    async def _attachment_handler(self, request: web.Request) -> web.Response:
        self.attachment_downloads.append(request.match_info["tail"])
        body = self._attachments.get(request.match_info["tail"])
        if body is None:
            return web.Response(status=404)
        return web.Response(body=body, content_type="application/octet-stream")

    async def _parse(self, request: web.Request, path: str) -> RecordedRequest:
        body: Any = None
        files: list[RecordedFile] = []
        ctype = request.headers.get("Content-Type", "")
        if ctype.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                raw = await part.read()
                name = part.name or ""
                if name == "payload_json":
                    body = json.loads(raw)
                else:
                    files.append(
                        RecordedFile(
                            name, part.filename or "", part.headers.get("Content-Type"), bytes(raw)
                        )
                    )
        elif request.can_read_body:
            text = await request.text()
            if text:
                try:
                    body = json.loads(text)
                except ValueError:
                    body = text
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() in ("authorization", "x-audit-log-reason", "content-type")
        }
        return RecordedRequest(
            request.method, path, dict(request.query), body, files, headers, at=time.perf_counter()
        )

    def _take_fault(self, req: RecordedRequest) -> Fault | None:
        for fault in self.faults:
            if fault.method == req.method and re.fullmatch(fault.path_regex, req.path):
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    @staticmethod
    def _fault_response(fault: Fault) -> web.Response:
        if fault.status == 429:
            scope = fault.scope or ("global" if fault.global_ else "user")
            headers = {
                "Retry-After": str(max(1, math.ceil(fault.retry_after))),
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{time.time() + fault.retry_after:.3f}",
                "X-RateLimit-Reset-After": f"{fault.retry_after:.3f}",
                "X-RateLimit-Bucket": "standin-bucket",
                "X-RateLimit-Scope": scope,
                # discord.py treats a 429 without Via as a Cloudflare ban and raises.
                "Via": "1.1 google",
            }
            if fault.global_:
                headers["X-RateLimit-Global"] = "true"
            body = {
                "message": fault.message or "You are being rate limited.",
                "retry_after": fault.retry_after,
                "global": fault.global_,
            }
            if fault.code is not None:
                body["code"] = fault.code
            return _json_response(body, 429, headers)
        if fault.status == 403:
            return _error(
                403,
                50007 if fault.code is None else fault.code,
                fault.message or "Cannot send messages to this user",
            )
        if fault.status >= 500:
            return _error(
                fault.status,
                fault.code or 0,
                fault.message or f"{fault.status}: Internal Server Error",
            )
        return _error(fault.status, fault.code or 0, fault.message or f"{fault.status}: Error")

    @staticmethod
    def _limited_response(verdict: Verdict) -> web.Response:
        """Discord's 429 for a request over its bucket or the global limit."""
        assert verdict.retry_after is not None
        is_global = verdict.scope == "global"
        headers = {
            **verdict.headers,
            "Retry-After": str(max(1, math.ceil(verdict.retry_after))),
            "Via": "1.1 google",  # discord.py treats a 429 without Via as a Cloudflare ban
        }
        body = {
            "message": "You are being rate limited.",
            "retry_after": round(verdict.retry_after, 3),
            "global": is_global,
        }
        return _json_response(body, 429, headers)

    async def _rest_handler(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        req = await self._parse(request, path)
        self.state.request_log.append(req)
        fault = self._take_fault(req)
        verdict = self.rate_limits.check(req.method, req.path) if fault is None else None
        if fault is not None:
            response: web.StreamResponse = self._fault_response(fault)
        elif verdict is not None and verdict.retry_after is not None:
            self.rate_limited.append(req)
            response = self._limited_response(verdict)
        else:
            response = await self._route_request(req)
            if verdict is not None:
                response.headers.update(verdict.headers)
        req.status = response.status
        await self._notify()
        return response

    async def _route_request(self, req: RecordedRequest) -> web.StreamResponse:
        for method, pattern, handler_name in _ROUTES:
            if method != req.method:
                continue
            match = pattern.fullmatch(req.path)
            if match is None:
                continue
            needs_auth = not req.path.startswith(("/webhooks/", "/interactions/"))
            if needs_auth and not req.headers.get("Authorization", "").startswith("Bot "):
                return _error(401, 0, "401: Unauthorized")
            result: web.StreamResponse = await getattr(self, handler_name)(req, match)
            return result
        self.state.unknown_routes.append(req)
        return _error(404, 0, "404: Not Found")

    def _check_mentions(self, req: RecordedRequest, payload: dict[str, Any] | None) -> None:
        where = f"{req.method} {req.path}"
        allowed = (payload or {}).get("allowed_mentions")
        if allowed is None:
            self.state.violations.append(f"{where}: message without allowed_mentions")
            return
        unsafe = {"everyone", "users", "roles"} & set(allowed.get("parse") or [])
        if unsafe:
            self.state.violations.append(f"{where}: allowed_mentions parses {sorted(unsafe)}")

    def _make_message(
        self,
        channel_id: int,
        body: dict[str, Any],
        files: list[RecordedFile],
        *,
        message_type: int = 0,
        webhook: bool = False,
        interaction: _InteractionRecord | None = None,
    ) -> dict[str, Any]:
        mid = next_snowflake()
        message: dict[str, Any] = {
            "id": str(mid),
            "channel_id": str(channel_id),
            "author": self.state.bot.payload(),
            "content": body.get("content") or "",
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": self._attachments_for(channel_id, body, files),
            "embeds": [{"type": "rich", **e} for e in body.get("embeds") or []],
            "components": body.get("components") or [],
            "pinned": False,
            "type": message_type,
            "flags": int(body.get("flags") or 0),
        }
        channel = self.state.channels.get(channel_id)
        if channel is not None and channel.guild_id is not None:
            message["guild_id"] = str(channel.guild_id)
        if webhook:
            message["webhook_id"] = str(self.state.application_id)
            message["application_id"] = str(self.state.application_id)
        if interaction is not None:
            message["interaction_metadata"] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "user": self.state.users[interaction.user_id].payload(),
                "authorizing_integration_owners": interaction.payload[
                    "authorizing_integration_owners"
                ],
            }
        if body.get("message_reference"):
            message["message_reference"] = body["message_reference"]
        if body.get("nonce") is not None:
            message["nonce"] = body["nonce"]
        self.state.messages.setdefault(channel_id, []).append(message)
        return message

    def _attachments_for(
        self, channel_id: int, body: dict[str, Any], files: list[RecordedFile]
    ) -> list[dict[str, Any]]:
        described = {str(a.get("id")): a for a in body.get("attachments") or []}
        result = []
        for index, f in enumerate(files):
            aid = next_snowflake()
            key = f"{channel_id}/{aid}/{f.filename}"
            self._attachments[key] = f.data
            url = f"{self.base_url}/attachments/{key}"
            result.append(
                {
                    "id": str(aid),
                    "filename": f.filename,
                    "size": len(f.data),
                    "url": url,
                    "proxy_url": url,
                    "content_type": f.content_type,
                    "description": described.get(str(index), {}).get("description"),
                }
            )
        return result

    def _edit_message(
        self, message: dict[str, Any], body: dict[str, Any], files: list[RecordedFile]
    ) -> None:
        for key in ("content", "components"):
            if key in body:
                message[key] = (
                    body[key] if body[key] is not None else ("" if key == "content" else [])
                )
        if "embeds" in body:
            message["embeds"] = [{"type": "rich", **e} for e in body["embeds"] or []]
        if "flags" in body and body["flags"] is not None:
            message["flags"] = int(body["flags"]) | (int(message["flags"]) & FLAG_EPHEMERAL)
        if "attachments" in body:
            keep = {str(a.get("id")) for a in body["attachments"] or []}
            message["attachments"] = [a for a in message["attachments"] if a["id"] in keep]
        message["attachments"] += self._attachments_for(int(message["channel_id"]), body, files)
        message["flags"] = int(message["flags"]) & ~FLAG_LOADING
        message["edited_timestamp"] = _now_iso()

    async def _echo(self, event: str, message: dict[str, Any]) -> None:
        """Discord also delivers the bot's own non-ephemeral messages over the gateway."""
        if int(message.get("flags") or 0) & FLAG_EPHEMERAL:
            return
        is_dm = "guild_id" not in message
        if self._intent(INTENT_DIRECT_MESSAGES if is_dm else INTENT_GUILD_MESSAGES):
            await self.dispatch(event, message)

    def _bot_channel_permissions(self, channel: StandinChannel) -> int:
        if channel.guild_id is None:
            return ALL_PERMISSIONS
        return self.state.member_permissions(channel.guild_id, self.state.bot)

    # Users, application, gateway

    @_route("GET", r"/users/@me")
    async def _get_me(self, req: RecordedRequest, m: re.Match[str]) -> web.Response:
        return _json_response(self.state.bot.payload())

    @_route("GET", r"/oauth2/applications/@me")
    async def _get_app(self, req: RecordedRequest, m: re.Match[str]) -> web.Response:
        return _json_response(self.state.application_payload())

    @_route("GET", r"/gateway")
    async def _get_gateway(self, req: RecordedRequest, m: re.Match[str]) -> web.Response:
        return _json_response({"url": self.gateway_url})

    @_route("GET", r"/gateway/bot")
    async def _get_gateway_bot(self, req: RecordedRequest, m: re.Match[str]) -> web.Response:
        return _json_response(
            {
                "url": self.gateway_url,
                "shards": self.recommended_shards,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 0,
                    "max_concurrency": self.max_concurrency,
                },
            }
        )

    @_route("GET", r"/users/(\d+)")
    async def _get_user(self, req: RecordedRequest, m: re.Match[str]) -> web.Response:
        user = self.state.users.get(int(m[1]))
        if user is None:
            return _error(404, 10013, "Unknown User")
        return _json_response(user.payload())

    @_route("POST", r"/users/@me/channels")
    async def _create_dm(self, req: RecordedRequest, m: re.Match[str]) -> web.Response:
        uid = int((req.json or {}).get("recipient_id", 0))
        if uid not in self.state.users:
            return _error(400, 50033, "Invalid Recipient(s)")
        channel = self.state.dm_channel_for(uid)
        return _json_response(channel.payload(self.state))

    # Commands

    def _check_app(self, app_id: str) -> web.Response | None:
        if int(app_id) != self.state.application_id:
            return _error(
                403, 20012, "You are not authorized to perform this action on this application"
            )
        return None

    def _store_commands(
        self, old: list[dict[str, Any]], new: list[dict[str, Any]], guild_id: int | None
    ) -> list[dict[str, Any]]:
        ids = {(c.get("type", 1), c["name"]): c["id"] for c in old}
        stored = []
        for cmd in new:
            key = (cmd.get("type", 1), cmd["name"])
            entry = {
                "type": 1,
                "description": "",
                "options": [],
                "default_member_permissions": None,
                "nsfw": False,
                **cmd,
                "id": ids.get(key, str(next_snowflake())),
                "application_id": str(self.state.application_id),
                "version": str(next_snowflake()),
            }
            if guild_id is not None:
                entry["guild_id"] = str(guild_id)
            stored.append(entry)
        return stored

    @_route("PUT", r"/applications/(\d+)/commands")
    async def _put_global(self, req: RecordedRequest, m: re.Match[str]) -> web.Response:
        if (bad := self._check_app(m[1])) is not None:
            return bad
        errors = validate_commands(req.json, is_global=True)
        if errors:
            return _json_response(_errors_json(errors), 400)
        self.state.global_commands = self._store_commands(
            self.state.global_commands, req.json, None
        )
        return _json_response(self.state.global_commands)

    @_route("GET", r"/applications/(\d+)/commands")
    async def _get_global(self, req: RecordedRequest, m: re.Match[str]) -> web.Response:
        if (bad := self._check_app(m[1])) is not None:
            return bad
        return _json_response(self.state.global_commands)

    @_route("PUT", r"/applications/(\d+)/guilds/(\d+)/commands")
    async def _put_guild(self, req: RecordedRequest, m: re.Match[str]) -> web.Response:
        if (bad := self._check_app(m[1])) is not None:
            return bad
        gid = int(m[2])
        if gid not in self.state.guilds:
            return _error(404, 10004, "Unknown Guild")
        errors = validate_commands(req.json, is_global=False)
        if errors:
            return _json_response(_errors_json(errors), 400)
        old = self.state.guild_commands.get(gid, [])
        self.state.guild_commands[gid] = self._store_commands(old, req.json, gid)
        return _json_response(self.state.guild_commands[gid])

    @_route("GET", r"/applications/(\d+)/guilds/(\d+)/commands")
    async def _get_guild_cmds(self, req: RecordedRequest, m: re.Match[str]) -> web.Response:
        if (bad := self._check_app(m[1])) is not None:
            return bad
        return _json_response(self.state.guild_commands.get(int(m[2]), []))

    # Channels and messages

    @_route("GET", r"/channels/(\d+)")
    async def _get_channel(self, req: RecordedRequest, m: re.Match[str]) -> web.Response:
        channel = self.state.channels.get(int(m[1]))
        if channel is None:
            return _error(404, 10003, "Unknown Channel")
        return _json_response(channel.payload(self.state))

    @_route("POST", r"/channels/(\d+)/typing")
    async def _typing(self, req: RecordedRequest, m: re.Match[str]) -> web.Response:
        return _no_content()

    @_route("POST", r"/channels/(\d+)/messages")
    async def _post_message(self, req: RecordedRequest, m: re.Match[str]) -> web.Response:
        channel = self.state.channels.get(int(m[1]))
        if channel is None:
            return _error(404, 10003, "Unknown Channel")
        body = req.json if isinstance(req.json, dict) else {}
        recipient = self.state.users.get(channel.recipient_id or 0)
        if channel.type == CHANNEL_DM and recipient is not None and not recipient.dms_open:
            return _error(403, 50007, "Cannot send messages to this user")
        perms = self._bot_channel_permissions(channel)
        needed = VIEW_CHANNEL | SEND_MESSAGES
        if body.get("embeds"):
            needed |= EMBED_LINKS
        if req.files:
            needed |= ATTACH_FILES
        if perms & needed != needed:
            return _error(403, 50013, "Missing Permissions")
        if not (
            body.get("content")
            or body.get("embeds")
            or req.files
            or body.get("components")
            or body.get("sticker_ids")
            or body.get("poll")
        ):
            return _error(400, 50006, "Cannot send an empty message")
        errors = validate_message_payload(body)
        if errors:
            return _json_response(_errors_json(errors), 400)
        self._check_mentions(req, body)
        repeated = self._same_nonce(channel.id, body)
        if repeated is not None:
            return _json_response(repeated)
        message = self._make_message(
            channel.id, body, req.files, message_type=19 if body.get("message_reference") else 0
        )
        await self._echo("MESSAGE_CREATE", message)
        return _json_response(message)

    def _same_nonce(self, channel_id: int, body: dict[str, Any]) -> dict[str, Any] | None:
        """With ``enforce_nonce``, Discord answers a repeated nonce with the first message."""
        nonce = body.get("nonce")
        if nonce is None or not body.get("enforce_nonce"):
            return None
        bot_id = str(self.state.bot.id)
        for message in self.state.posted(channel_id):
            if int(message["id"]) < self.state.nonces_forgotten_before:
                continue
            if message.get("nonce") == nonce and message["author"]["id"] == bot_id:
                return message
        return None

    @_route("GET", r"/channels/(\d+)/messages")
    async def _history(self, req: RecordedRequest, m: re.Match[str]) -> web.Response:
        """Get Channel Messages as documented: newest first, `before`/`after` (ids), `limit`
        1-100; without Read Message History no messages at all; the nonce is not returned."""
        channel = self.state.channels.get(int(m[1]))
        if channel is None:
            return _error(404, 10003, "Unknown Channel")
        perms = self._bot_channel_permissions(channel)
        if not perms & VIEW_CHANNEL:
            return _error(403, 50001, "Missing Access")
        limit = int(req.query.get("limit", 50))
        if not 1 <= limit <= 100:
            return _json_response(_errors_json([("limit", "NUMBER_TYPE_MAX", "1 to 100")]), 400)
        if not perms & READ_MESSAGE_HISTORY:
            return _json_response([])
        shown = [
            msg
            for msg in self.state.posted(channel.id)
            if not int(msg.get("flags") or 0) & FLAG_EPHEMERAL
        ]
        if "after" in req.query:
            after = int(req.query["after"])
            page = [msg for msg in shown if int(msg["id"]) > after][:limit]
            page.reverse()
        else:
            before = int(req.query.get("before", 1 << 63))
            page = [msg for msg in reversed(shown) if int(msg["id"]) < before][:limit]
        return _json_response([{k: v for k, v in msg.items() if k != "nonce"} for msg in page])

    def _channel_message(self, cid: str, mid: str) -> dict[str, Any] | None:
        for message in self.state.messages.get(int(cid), []):
            if message["id"] == mid:
                return message
        return None

    @_route("GET", r"/channels/(\d+)/messages/(\d+)")
    async def _get_message(self, req: RecordedRequest, m: re.Match[str]) -> web.Response:
        message = self._channel_message(m[1], m[2])
        if message is None:
            return _error(404, 10008, "Unknown Message")
        return _json_response(message)

    @_route("PATCH", r"/channels/(\d+)/messages/(\d+)")
    async def _patch_message(self, req: RecordedRequest, m: re.Match[str]) -> web.Response:
        message = self._channel_message(m[1], m[2])
        if message is None:
            return _error(404, 10008, "Unknown Message")
        if message["author"]["id"] != str(self.state.bot.id):
            return _error(403, 50005, "Cannot edit a message authored by another user")
        body = req.json if isinstance(req.json, dict) else {}
        errors = validate_message_payload(body)
        if errors:
            return _json_response(_errors_json(errors), 400)
        self._check_mentions(req, body)
        self._edit_message(message, body, req.files)
        await self._echo("MESSAGE_UPDATE", message)
        return _json_response(message)

    @_route("DELETE", r"/channels/(\d+)/messages/(\d+)")
    async def _delete_message(self, req: RecordedRequest, m: re.Match[str]) -> web.Response:
        message = self._channel_message(m[1], m[2])
        if message is None:
            return _error(404, 10008, "Unknown Message")
        channel = self.state.channels.get(int(m[1]))
        others = message["author"]["id"] != str(self.state.bot.id)
        # Discord: deleting someone else's message needs Manage Messages in the channel
        if (
            others
            and channel is not None
            and channel.type != CHANNEL_DM
            and not self._bot_channel_permissions(channel) & MANAGE_MESSAGES
        ):
            return _error(403, 50013, "Missing Permissions")
        await self._delete(message)
        return _no_content()

    async def _delete(self, message: dict[str, Any]) -> None:
        self.state.messages[int(message["channel_id"])].remove(message)
        self.state.deleted_messages.append(message)
        event = {"id": message["id"], "channel_id": message["channel_id"]}
        if "guild_id" in message:
            event["guild_id"] = message["guild_id"]
        await self._echo("MESSAGE_DELETE", {**event, "flags": message["flags"]})

    # Interactions and their webhook

    def _interaction_by_token(self, token: str) -> _InteractionRecord | None:
        return next((r for r in self.state.interactions.values() if r.token == token), None)

    @_route("POST", r"/interactions/(\d+)/([^/]+)/callback")
    async def _callback(self, req: RecordedRequest, m: re.Match[str]) -> web.Response:
        record = self.state.interactions.get(int(m[1]))
        if record is None or record.token != m[2]:
            return _error(404, 10062, "Unknown interaction")
        if self.clock() - record.pushed_at_seconds > RESPONSE_WINDOW_SECONDS:
            return _error(404, 10062, "Unknown interaction")
        if record.callbacks:
            return _error(400, 40060, "Interaction has already been acknowledged.")
        body = req.json if isinstance(req.json, dict) else {}
        ctype = int(body.get("type", 0))
        data = body.get("data") or {}
        allowed = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}
        if ctype not in allowed.get(record.type, set()):
            return _error(
                400,
                40043,
                f"Interaction callback type {ctype} is not valid for "
                f"interaction type {record.type}",
            )
        errors: _Errors = []
        if ctype in (4, 7):
            errors = [(f"data.{p}", c, msg) for p, c, msg in validate_message_payload(data)]
            if ctype == 4 and not (
                data.get("content")
                or data.get("embeds")
                or req.files
                or data.get("components")
                or data.get("poll")
            ):
                return _error(400, 50006, "Cannot send an empty message")
        elif ctype == 9:
            errors = validate_modal(data)
        elif ctype == 8:
            errors = validate_autocomplete(data, _focused_type(record.payload.get("data") or {}))
        if errors:
            return _json_response(_errors_json(errors), 400)
        if ctype in (4, 7):
            self._check_mentions(req, data)
        message: dict[str, Any] | None = None
        if ctype == 4:
            message = self._make_message(
                record.channel_id,
                data,
                req.files,
                message_type=20 if record.type == 2 else 0,
                webhook=True,
                interaction=record,
            )
            record.original_message_id = int(message["id"])
        elif ctype == 5:
            flags = FLAG_LOADING | (int(data.get("flags") or 0) & FLAG_EPHEMERAL)
            message = self._make_message(
                record.channel_id,
                {"flags": flags},
                [],
                message_type=20 if record.type == 2 else 0,
                webhook=True,
                interaction=record,
            )
            record.original_message_id = int(message["id"])
        elif ctype == 7 and "message" in record.payload:
            target = self.state.find_message(int(record.payload["message"]["id"]))
            if target is not None:
                self._edit_message(target, data, req.files)
                message = target
        recorded = dict(body)
        if req.files:
            recorded["files"] = req.files
        record.callbacks.append(recorded)
        record.responded_at = time.perf_counter()
        if message is not None:
            await self._echo("MESSAGE_CREATE" if ctype in (4, 5) else "MESSAGE_UPDATE", message)
        if req.query.get("with_response") not in ("1", "true", "True"):
            return _no_content()
        interaction: dict[str, Any] = {"id": str(record.id), "type": record.type}
        if message is not None and ctype in (4, 5):
            interaction.update(
                response_message_id=message["id"],
                response_message_loading=ctype == 5,
                response_message_ephemeral=bool(int(message["flags"]) & FLAG_EPHEMERAL),
            )
        resource: dict[str, Any] = {"type": ctype}
        if message is not None:
            resource["message"] = message
        return _json_response({"interaction": interaction, "resource": resource})

    def _webhook_record(self, app_id: str, token: str) -> _InteractionRecord | None:
        if int(app_id) != self.state.application_id:
            return None
        return self._interaction_by_token(token)

    def _token_expired(self, m: re.Match[str]) -> web.Response | None:
        """Discord's answer once an interaction token is older than its 15 minutes."""
        record = self._webhook_record(m[1], m[2])
        if record is None:
            return None
        if self.clock() - record.pushed_at_seconds <= TOKEN_LIFETIME_SECONDS:
            return None
        return _error(401, 50027, "Invalid Webhook Token")

    @_route("POST", r"/webhooks/(\d+)/([^/]+)")
    async def _followup(self, req: RecordedRequest, m: re.Match[str]) -> web.Response:
        if expired := self._token_expired(m):
            return expired
        record = self._webhook_record(m[1], m[2])
        if record is None or not record.callbacks:
            return _error(404, 10015, "Unknown Webhook")
        body = req.json if isinstance(req.json, dict) else {}
        errors = validate_message_payload(body)
        if errors:
            return _json_response(_errors_json(errors), 400)
        if not (
            body.get("content")
            or body.get("embeds")
            or req.files
            or body.get("components")
            or body.get("poll")
        ):
            return _error(400, 50006, "Cannot send an empty message")
        self._check_mentions(req, body)
        message = self._make_message(
            record.channel_id, body, req.files, webhook=True, interaction=record
        )
        record.followup_ids.append(int(message["id"]))
        await self._echo("MESSAGE_CREATE", message)
        if req.query.get("wait") in ("true", "1", "True"):
            return _json_response(message)
        return _no_content()

    def _webhook_message(self, m: re.Match[str]) -> dict[str, Any] | None:
        record = self._webhook_record(m[1], m[2])
        if record is None:
            return None
        if m[3] == "@original":
            mid = record.original_message_id
        else:
            mid = int(m[3])
            if mid != record.original_message_id and mid not in record.followup_ids:
                return None
        return None if mid is None else self.state.find_message(mid)

    @_route("GET", r"/webhooks/(\d+)/([^/]+)/messages/(@original|\d+)")
    async def _get_webhook_message(self, req: RecordedRequest, m: re.Match[str]) -> web.Response:
        if expired := self._token_expired(m):
            return expired
        message = self._webhook_message(m)
        if message is None:
            return _error(404, 10008, "Unknown Message")
        return _json_response(message)

    @_route("PATCH", r"/webhooks/(\d+)/([^/]+)/messages/(@original|\d+)")
    async def _patch_webhook_message(self, req: RecordedRequest, m: re.Match[str]) -> web.Response:
        if expired := self._token_expired(m):
            return expired
        message = self._webhook_message(m)
        if message is None:
            return _error(404, 10008, "Unknown Message")
        body = req.json if isinstance(req.json, dict) else {}
        errors = validate_message_payload(body)
        if errors:
            return _json_response(_errors_json(errors), 400)
        self._check_mentions(req, body)
        self._edit_message(message, body, req.files)
        await self._echo("MESSAGE_UPDATE", message)
        return _json_response(message)

    @_route("DELETE", r"/webhooks/(\d+)/([^/]+)/messages/(@original|\d+)")
    async def _delete_webhook_message(
        self, req: RecordedRequest, m: re.Match[str]
    ) -> web.Response:
        if expired := self._token_expired(m):
            return expired
        message = self._webhook_message(m)
        if message is None:
            return _error(404, 10008, "Unknown Message")
        await self._delete(message)
        return _no_content()

    # Guild members and scheduled events

    @_route("GET", r"/guilds/(\d+)/members/(\d+)")
    async def _get_member(self, req: RecordedRequest, m: re.Match[str]) -> web.Response:
        guild = self.state.guilds.get(int(m[1]))
        if guild is None:
            return _error(404, 10004, "Unknown Guild")
        member = guild.members.get(int(m[2]))
        if member is None:
            return _error(404, 10007, "Unknown Member")
        return _json_response(member.payload(self.state))

    def _validate_event(self, body: dict[str, Any], existing: dict[str, Any] | None) -> _Errors:
        errors: _Errors = []
        merged = {**(existing or {}), **body}
        _check_len(errors, "name", merged.get("name"), 100, 1)
        _check_len(errors, "description", merged.get("description"), 1000)
        entity_type = int(merged.get("entity_type") or 0)
        if entity_type == 3:
            if not (merged.get("entity_metadata") or {}).get("location"):
                errors.append(
                    ("entity_metadata.location", "BASE_TYPE_REQUIRED", "This field is required")
                )
            if not merged.get("scheduled_end_time"):
                errors.append(
                    ("scheduled_end_time", "BASE_TYPE_REQUIRED", "This field is required")
                )
        elif entity_type in (1, 2):
            if not merged.get("channel_id"):
                errors.append(("channel_id", "BASE_TYPE_REQUIRED", "This field is required"))
        else:
            errors.append(("entity_type", "BASE_TYPE_CHOICES", "Value must be one of (1, 2, 3)."))
        if not merged.get("scheduled_start_time"):
            errors.append(("scheduled_start_time", "BASE_TYPE_REQUIRED", "This field is required"))
        return errors

    async def _event_dispatch(self, event: str, data: dict[str, Any]) -> None:
        if self._intent(INTENT_GUILD_SCHEDULED_EVENTS):
            await self.dispatch(event, data)

    async def mark_interested(
        self, event_id: int | str, user: StandinUser | int, *, interested: bool = True
    ) -> None:
        """A member clicks Interested on a scheduled event (or clicks it off): Discord counts
        them and sends GUILD_SCHEDULED_EVENT_USER_ADD / _REMOVE to bots with the
        guild_scheduled_events intent."""
        event = self.state.scheduled_events[int(event_id)]
        user_id = user if isinstance(user, int) else user.id
        interested_users = self.state.interested.setdefault(int(event["id"]), set())
        if interested == (user_id in interested_users):
            return  # Discord sends nothing for a click that changes nothing
        (interested_users.add if interested else interested_users.discard)(user_id)
        event["user_count"] = len(interested_users)
        name = "ADD" if interested else "REMOVE"
        await self._event_dispatch(
            f"GUILD_SCHEDULED_EVENT_USER_{name}",
            {
                "guild_scheduled_event_id": str(event["id"]),
                "user_id": str(user_id),
                "guild_id": event["guild_id"],
            },
        )

    @_route("GET", r"/guilds/(\d+)/scheduled-events")
    async def _list_events(self, req: RecordedRequest, m: re.Match[str]) -> web.Response:
        events = [e for e in self.state.scheduled_events.values() if e["guild_id"] == m[1]]
        return _json_response(events)

    @_route("POST", r"/guilds/(\d+)/scheduled-events")
    async def _create_event(self, req: RecordedRequest, m: re.Match[str]) -> web.Response:
        gid = int(m[1])
        if gid not in self.state.guilds:
            return _error(404, 10004, "Unknown Guild")
        if not self.state.member_permissions(gid, self.state.bot) & CREATE_EVENTS:
            return _error(403, 50013, "Missing Permissions")
        body = req.json if isinstance(req.json, dict) else {}
        errors = self._validate_event(body, None)
        if errors:
            return _json_response(_errors_json(errors), 400)
        event = {
            "id": str(next_snowflake()),
            "guild_id": m[1],
            "channel_id": None,
            "creator_id": str(self.state.bot.id),
            "creator": self.state.bot.payload(),
            "description": None,
            "scheduled_end_time": None,
            "privacy_level": 2,
            "status": 1,
            "entity_id": None,
            "entity_metadata": None,
            "user_count": 0,
            "image": None,
            **body,
        }
        self.state.scheduled_events[int(event["id"])] = event
        await self._event_dispatch("GUILD_SCHEDULED_EVENT_CREATE", event)
        return _json_response(event)

    @_route("GET", r"/guilds/(\d+)/scheduled-events/(\d+)")
    async def _get_event(self, req: RecordedRequest, m: re.Match[str]) -> web.Response:
        event = self.state.scheduled_events.get(int(m[2]))
        if event is None or event["guild_id"] != m[1]:
            return _error(404, 10070, "Unknown Guild Scheduled Event")
        return _json_response(event)

    def _may_change_event(self, event: dict[str, Any]) -> bool:
        """Discord's rule: Manage Events edits and deletes any event; Create Events only the
        events the bot created itself."""
        perms = self.state.member_permissions(int(event["guild_id"]), self.state.bot)
        own = event.get("creator_id") == str(self.state.bot.id)
        return bool(perms & MANAGE_EVENTS or (own and perms & CREATE_EVENTS))

    @_route("PATCH", r"/guilds/(\d+)/scheduled-events/(\d+)")
    async def _patch_event(self, req: RecordedRequest, m: re.Match[str]) -> web.Response:
        event = self.state.scheduled_events.get(int(m[2]))
        if event is None or event["guild_id"] != m[1]:
            return _error(404, 10070, "Unknown Guild Scheduled Event")
        if not self._may_change_event(event):
            return _error(403, 50013, "Missing Permissions")
        body = req.json if isinstance(req.json, dict) else {}
        errors = self._validate_event(body, event)
        if errors:
            return _json_response(_errors_json(errors), 400)
        event.update(body)
        await self._event_dispatch("GUILD_SCHEDULED_EVENT_UPDATE", event)
        return _json_response(event)

    @_route("DELETE", r"/guilds/(\d+)/scheduled-events/(\d+)")
    async def _delete_event(self, req: RecordedRequest, m: re.Match[str]) -> web.Response:
        event = self.state.scheduled_events.get(int(m[2]))
        if event is None or event["guild_id"] != m[1]:
            return _error(404, 10070, "Unknown Guild Scheduled Event")
        if not self._may_change_event(event):
            return _error(403, 50013, "Missing Permissions")
        del self.state.scheduled_events[int(m[2])]
        await self._event_dispatch("GUILD_SCHEDULED_EVENT_DELETE", event)
        return _no_content()


@pytest_asyncio.fixture
async def discord_standin() -> AsyncIterator[DiscordStandin]:
    """A started stand-in with the default world; discord.py is patched to use it."""
    standin = DiscordStandin(StandinState.default())
    await standin.start()
    standin.patch_discord()
    try:
        yield standin
    finally:
        standin.unpatch_discord()
        await standin.stop()


EPHEMERAL = 64


COMMANDS = r"/applications/\d+/commands"


@dataclass
class Circle:
    """The stand-in world plus a way to start circlebot against it."""

    standin: DiscordStandin
    app_factory: AppFactory

    @property
    def general(self) -> StandinChannel:
        return self.standin.state.channel_named("general")

    def user(self, name: str) -> StandinUser:
        return self.standin.state.user_named(name)

    def dm(self, name: str) -> StandinChannel:
        return self.standin.state.dm_channel_for(self.user(name))

    async def app(self, name: str = "bot", cogs: list[str] | None = None) -> App:
        """The core on a SQLite file named `name` with `cogs` (default: all), on a virtual
        clock so that only the test decides when the outbox delivers."""
        config = make_config() if cogs is None else make_config(cogs={"enabled": cogs})
        return await self.app_factory(config, name=name, clock=VirtualClock(datetime.now(UTC)))

    def adapter(self, app: App, **options: Any) -> DiscordAdapter:
        return DiscordAdapter(app, guild_ready_timeout=0.05, **options)

    async def reply(
        self, command: str, options: dict[str, Any] | None = None, *, user: str, **kw: Any
    ) -> dict[str, Any]:
        sent = await self.standin.send_command(command, options, user=self.user(user), **kw)
        return await self.standin.wait_for_interaction_response(sent.id)

    async def bot_messages(self, channel: StandinChannel, count: int) -> list[dict[str, Any]]:
        """Wait until the bot has posted at least `count` messages in `channel`."""
        state = self.standin.state
        return await self.standin.wait_for(
            lambda: (m := state.bot_messages(channel)) and len(m) >= count and m
        )


@pytest_asyncio.fixture
async def circle(discord_standin: DiscordStandin, app_factory: AppFactory) -> Circle:
    return Circle(discord_standin, app_factory)


def add_command(
    app: App, path: tuple[str, ...], callback: Callable[..., Awaitable[None]], **spec: Any
) -> None:
    """A test-only command, added before the adapter builds its command tree."""
    app.registry.add(
        CommandSpec(
            path=path,
            description=f"Test command {' '.join(path)}",
            callback=callback,
            cog="test",
            **spec,
        )
    )


def walk(components: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every component, however nested (action rows, labels)."""
    for component in components:
        yield component
        yield from walk(component.get("components") or [])
        if isinstance(component.get("component"), dict):
            yield from walk([component["component"]])


def button_ids(message: dict[str, Any]) -> dict[str, str]:
    """Label -> custom id of every button on a posted message."""
    return {
        button["label"]: button["custom_id"]
        for row in message["components"]
        for button in row["components"]
    }


class NoHandler:
    """A command handler for building a Discord command tree that is never run."""

    async def run_command(self, *args: Any) -> None:
        raise AssertionError("not run")

    async def complete(self, *args: Any) -> list[Any]:
        raise AssertionError("not run")
