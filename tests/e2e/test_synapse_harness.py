"""Proves the Synapse harness with a bare matrix-nio client, before any bot code uses it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinedRoomsResponse,
    JoinResponse,
    LoginResponse,
    RoomCreateResponse,
    RoomMessagesResponse,
    RoomMessageText,
    RoomSendResponse,
    SyncResponse,
)

from tests.harness.synapse import (
    RegisteredUser,
    SynapseError,
    SynapseServer,
    synapse_rate_limited,  # noqa: F401  (fixture; conftest only imports `synapse`)
    unique_localpart,
)

pytestmark = pytest.mark.e2e

TIMELINE_FILTER: dict[str, Any] = {"room": {"timeline": {"limit": 50}}}


@asynccontextmanager
async def logged_in(server: SynapseServer, user: RegisteredUser) -> AsyncIterator[AsyncClient]:
    """A nio client logged in with the password (not the admin-API token), always closed."""
    client = AsyncClient(
        server.base_url,
        user.user_id,
        config=AsyncClientConfig(encryption_enabled=False, store_sync_tokens=False),
    )
    try:
        response = await client.login(user.password, device_name="harness-test")
        assert isinstance(response, LoginResponse), response
        yield client
    finally:
        await client.close()


async def wait_for_text(
    client: AsyncClient, room_id: str, body: str, wait_s: float = 10.0
) -> RoomMessageText:
    """Sync until `body` shows up in the room's timeline."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        response = await client.sync(timeout=1000, sync_filter=TIMELINE_FILTER)
        assert isinstance(response, SyncResponse), response
        room = response.rooms.join.get(room_id)
        for event in room.timeline.events if room else []:
            if isinstance(event, RoomMessageText) and event.body == body:
                return event
    raise AssertionError(f"{body!r} did not arrive in {room_id} within {wait_s} s")


async def create_room_with(client: AsyncClient, invitee: str) -> str:
    response = await client.room_create(name="harness", invite=[invitee])
    assert isinstance(response, RoomCreateResponse), response
    return str(response.room_id)


async def raw_send(
    session: aiohttp.ClientSession, server: SynapseServer, token: str, room_id: str, body: str
) -> tuple[int, dict[str, Any]]:
    """One message PUT without nio, so a 429 is seen instead of silently retried."""
    url = (
        f"{server.base_url}/_matrix/client/v3/rooms/{room_id}/send/m.room.message/"
        f"{uuid.uuid4().hex}"
    )
    headers = {"Authorization": f"Bearer {token}"}
    payload = {"msgtype": "m.text", "body": body}
    async with session.put(url, json=payload, headers=headers) as response:
        return response.status, await response.json()


async def test_invited_user_receives_message(synapse: SynapseServer) -> None:
    alice = await synapse.register_user(unique_localpart("alice"))
    bob = await synapse.register_user(unique_localpart("bob"))
    assert alice.user_id.endswith(":localhost")
    async with logged_in(synapse, alice) as a, logged_in(synapse, bob) as b:
        room_id = await create_room_with(a, bob.user_id)
        joined = await b.join(room_id)
        assert isinstance(joined, JoinResponse), joined
        body = f"hello {uuid.uuid4().hex}"
        sent = await a.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": body})
        assert isinstance(sent, RoomSendResponse), sent
        event = await wait_for_text(b, room_id, body)
        assert event.sender == alice.user_id
        assert event.event_id == sent.event_id


async def test_restart_keeps_users_and_rooms(synapse: SynapseServer) -> None:
    alice = await synapse.register_user(unique_localpart("alice"))
    bob = await synapse.register_user(unique_localpart("bob"))
    body = f"before restart {uuid.uuid4().hex}"
    async with logged_in(synapse, alice) as a:
        room_id = await create_room_with(a, bob.user_id)
        sent = await a.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": body})
        assert isinstance(sent, RoomSendResponse), sent

    base_url, old_pid = synapse.base_url, synapse.pid
    await asyncio.to_thread(synapse.restart)
    assert synapse.running
    assert synapse.pid != old_pid
    assert synapse.base_url == base_url

    async with logged_in(synapse, alice) as a, logged_in(synapse, bob) as b:
        rooms = await a.joined_rooms()
        assert isinstance(rooms, JoinedRoomsResponse), rooms
        assert room_id in rooms.rooms
        history = await a.room_messages(room_id, start="", limit=50)
        assert isinstance(history, RoomMessagesResponse), history
        assert any(getattr(e, "body", None) == body for e in history.chunk)
        # The invite made before the restart is still pending and usable.
        assert isinstance(await b.join(room_id), JoinResponse)
        await wait_for_text(b, room_id, body)


async def test_registering_same_user_twice_is_a_clear_error(synapse: SynapseServer) -> None:
    localpart = unique_localpart("twice")
    await synapse.register_user(localpart)
    with pytest.raises(SynapseError, match=rf"{localpart}.*HTTP 400 M_USER_IN_USE") as info:
        await synapse.register_user(localpart)
    assert info.value.status == 400
    assert info.value.errcode == "M_USER_IN_USE"


async def test_functional_server_has_no_message_rate_limit(synapse: SynapseServer) -> None:
    alice = await synapse.register_user(unique_localpart("burst"))
    async with logged_in(synapse, alice) as a:
        room = await a.room_create()
        assert isinstance(room, RoomCreateResponse), room
    async with aiohttp.ClientSession() as session:
        statuses = [
            (await raw_send(session, synapse, alice.access_token, room.room_id, f"m{i}"))[0]
            for i in range(30)
        ]
    assert statuses == [200] * 30


async def test_rate_limited_server_keeps_default_rc_message(
    synapse_rate_limited: SynapseServer,  # noqa: F811
) -> None:
    server = synapse_rate_limited
    alice = await server.register_user(unique_localpart("paced"))
    async with logged_in(server, alice) as a:
        room = await a.room_create()
        assert isinstance(room, RoomCreateResponse), room
    accepted, room_id = 0, room.room_id
    async with aiohttp.ClientSession() as session:
        for i in range(15):
            status, body = await raw_send(session, server, alice.access_token, room_id, str(i))
            if status == 429:  # Synapse holds every 429 for 0.5 s: stop at the first.
                break
            assert status == 200, body
            accepted += 1
        else:
            pytest.fail("expected Synapse's default rc_message (burst 10) to answer 429")
    assert body["errcode"] == "M_LIMIT_EXCEEDED"
    assert body["retry_after_ms"] > 0
    assert 5 <= accepted <= 10  # the burst of 10, minus what room creation spent
