"""`!ping` round trip through a real Synapse: circlebot against a bare matrix-nio echo bot.

Both bots run in this process against one fresh Synapse (started here, no rate limits); one
member sends `!ping` to each in turn and times the `pong`. The ratio shows what circlebot's core
(database, dispatch, rendering) adds on top of the homeserver round trip. The two bots take
turns, `--repeats` times `--rounds` pings each (circlebot, echo, circlebot, ...); the goal row
is the median over repeats of circlebot's p50 / the echo bot's p50 in that repeat (paired, so
a homeserver slower in one repeat slows both sides): <= 1.2x, the goal Discord has against bare
discord.py.

    .venv/bin/python -m benchmarks.matrix_roundtrip [--rounds 40] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    LoginResponse,
    MatrixRoom,
    RoomCreateResponse,
    RoomMessageNotice,
    RoomMessageText,
)

from benchmarks.common import Goal, emit, machine, note
from bot import crypto
from bot.adapters.matrix import create
from bot.app import App
from bot.cli import freeze_after_start
from bot.core.loader import parse_config as parse
from tests.harness.synapse import RegisteredUser, SynapseServer, running_synapse

FILTER: dict[str, Any] = {"room": {"timeline": {"limit": 50}}}


def plain_client(server: SynapseServer, user: RegisteredUser) -> AsyncClient:
    return AsyncClient(
        server.base_url,
        user.user_id,
        config=AsyncClientConfig(encryption_enabled=False, store_sync_tokens=False),
    )


async def login(client: AsyncClient, user: RegisteredUser) -> None:
    response = await client.login(user.password, device_name="bench")
    assert isinstance(response, LoginResponse), response


async def echo_bot(server: SynapseServer, user: RegisteredUser) -> tuple[AsyncClient, Any]:
    """The baseline: joins invites, answers `!ping` with a `pong` notice, nothing else."""
    client = plain_client(server, user)
    await login(client, user)

    async def on_text(room: MatrixRoom, event: RoomMessageText) -> None:
        if event.sender != client.user_id and event.body == "!ping":
            await client.room_send(
                room.room_id,
                "m.room.message",
                {"msgtype": "m.notice", "body": "pong", "m.mentions": {}},
            )

    async def on_invite(room: MatrixRoom, _event: Any) -> None:
        await client.join(room.room_id)

    client.add_event_callback(on_text, RoomMessageText)
    client.add_event_callback(on_invite, InviteMemberEvent)
    first = await client.sync(timeout=0, sync_filter=FILTER, full_state=True)
    task = asyncio.create_task(
        client.sync_forever(timeout=30_000, sync_filter=FILTER, since=first.next_batch)
    )
    return client, task


async def measure(
    member: AsyncClient, replies: asyncio.Queue[tuple[str, float]], room_id: str, rounds: int
) -> list[float]:
    """Send `!ping` `rounds` times (after a warm-up) and time each `pong` in this room."""
    times: list[float] = []
    for n in range(rounds + 5):
        began = time.perf_counter()
        await member.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": "!ping"})
        while True:
            room, arrived = await asyncio.wait_for(replies.get(), 10)
            if room == room_id:
                break
        if n >= 5:
            times.append((arrived - began) * 1000)
    return times


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main(rounds: int, repeats: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    crypto.use_keys([crypto.generate_key()])
    with running_synapse() as server, tempfile.TemporaryDirectory() as home:
        bot_user = await server.register_user("circlebot")
        echo_user = await server.register_user("echobot")
        member_user = await server.register_user("member")
        config = parse(
            {
                "bot": {"rate_limit": {"commands": 100_000, "per_seconds": 1}},
                "matrix": {
                    "enabled": True,
                    "homeserver": server.base_url,
                    "user_id": bot_user.user_id,
                    "password": bot_user.password,
                    "store_path": f"{home}/store",
                },
            },
            "benchmark",
        )
        app = App(config, db_url=f"sqlite+aiosqlite:///{home}/bot.sqlite3")
        await app.open(migrate=True)
        adapter = create(app)
        await app.start(freeze_gc=True)  # as `circlebot run` starts the app
        freeze_after_start()
        stop = asyncio.Event()
        bot_task = asyncio.create_task(adapter.run(stop))
        await asyncio.wait_for(adapter.ready.wait(), 30)
        echo, echo_task = await echo_bot(server, echo_user)

        member = plain_client(server, member_user)
        await login(member, member_user)
        replies: asyncio.Queue[tuple[str, float]] = asyncio.Queue()

        async def on_notice(room: MatrixRoom, event: RoomMessageNotice) -> None:
            if event.body == "pong":
                replies.put_nowait((room.room_id, time.perf_counter()))

        member.add_event_callback(on_notice, RoomMessageNotice)
        rooms: dict[str, str] = {}
        for name, invitee in (("circlebot", bot_user.user_id), ("echo", echo_user.user_id)):
            created = await member.room_create(name=name, invite=[invitee])
            assert isinstance(created, RoomCreateResponse), created
            rooms[name] = created.room_id
        first = await member.sync(timeout=0, sync_filter=FILTER, full_state=True)
        member_task = asyncio.create_task(
            member.sync_forever(timeout=30_000, sync_filter=FILTER, since=first.next_batch)
        )
        for room_id in rooms.values():  # both bots joined
            while True:
                room = member.rooms.get(room_id)
                if room is not None and room.joined_count == 2:
                    break
                await asyncio.sleep(0.05)
        results: dict[str, list[float]] = {name: [] for name in rooms}
        p50s: dict[str, list[float]] = {name: [] for name in rooms}
        for _ in range(repeats):
            for name, room_id in rooms.items():
                times = await measure(member, replies, room_id, rounds)
                results[name].extend(times)
                p50s[name].append(statistics.median(times))
        stop.set()
        await bot_task
        for task in (echo_task, member_task):
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await echo.close()
        await member.close()
        await app.close()

    print(machine() + f"; Synapse on 127.0.0.1; {repeats} x {rounds} rounds each, in turn")
    for name, values in results.items():
        print(
            f"{name:>10}: p50 {statistics.median(values):6.1f} ms   "
            f"p99 {percentile(values, 0.99):6.1f} ms"
        )
    # Paired: each repeat times circlebot and the echo bot back to back, so the ratio of that
    # repeat's p50s is judged against the same moment's homeserver; the row is their median.
    ratio50 = statistics.median(
        c / e for c, e in zip(p50s["circlebot"], p50s["echo"], strict=True)
    )
    ratio99 = percentile(results["circlebot"], 0.99) / percentile(results["echo"], 0.99)
    print(f"     ratio: p50 {ratio50:.2f}x   p99 {ratio99:.2f}x (circlebot / bare nio echo)")
    note(f"Matrix: p99 round trip circlebot / bare nio echo {ratio99:.2f}x")
    emit(
        Goal(
            f"Matrix: circlebot / bare nio echo, p50 `!ping` round trip ({repeats} x {rounds} "
            "rounds each)",
            1.2,
            round(ratio50, 2),
            "x",
            "at most",
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=5)
    options = parser.parse_args()
    asyncio.run(main(options.rounds, options.repeats))
