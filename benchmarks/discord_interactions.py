"""Slash-command interactions per second: circlebot on discord.py vs a bare discord.py bot.

Both answer `/ping` through discord.py's real gateway and HTTP code against the local Discord
stand-in (same process, same event loop), so the ratio is what the core and the adapter cost
per interaction: tier lookup, community row, profile, rendering, safety. Run:
.venv/bin/python -m benchmarks.discord_interactions [COUNT] [CONCURRENCY]
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import discord
from discord import app_commands

from bot import crypto
from bot.adapters.discord import DiscordAdapter
from bot.app import App
from bot.config import parse
from tests.harness.discord import DiscordStandin, StandinState


async def rate(
    client: discord.Client,
    prepare: Callable[[], Awaitable[object]],
    count: int,
    concurrency: int,
) -> float:
    """Interactions answered per second, `concurrency` in flight, after a short warm-up."""
    standin = DiscordStandin(StandinState.default())
    await standin.start()
    standin.patch_discord()
    users = [standin.state.user_named(name) for name in ("alice", "bob", "owner")]
    gate = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        async with gate:
            sent = await standin.send_command("ping", user=users[n % len(users)])
            await standin.wait_for_interaction_response(sent.id, timeout=30)

    try:
        async with standin.client_running(client):
            await prepare()
            await asyncio.gather(*(one(n) for n in range(20)))
            started = time.perf_counter()
            await asyncio.gather(*(one(n) for n in range(count)))
            elapsed = time.perf_counter() - started
    finally:
        await standin.stop()
    if standin.violations:
        raise SystemExit(f"the stand-in saw violations: {standin.violations[:3]}")
    return count / elapsed


def bare_client() -> tuple[discord.Client, Callable[[], Awaitable[object]]]:
    """The smallest bot answering the same command."""
    client = discord.Client(
        intents=discord.Intents(guilds=True),
        guild_ready_timeout=0.05,
        allowed_mentions=discord.AllowedMentions.none(),
    )
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)

    @tree.command(name="ping", description="Check that the bot is listening.")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong")

    return client, tree.sync


async def main(count: int, concurrency: int) -> None:
    logging.disable(logging.WARNING)
    crypto.use_keys([crypto.generate_key()])
    bare, sync = bare_client()
    bare_rate = await rate(bare, sync, count, concurrency)
    with tempfile.TemporaryDirectory() as tmp:
        config = parse(
            {
                "bot": {"rate_limit": {"commands": 10**9, "per_seconds": 1}},
                "cogs": {"enabled": ["general"]},
            },
            "bench",
        )
        app = App(config, db_url=f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}")
        await app.open(migrate=True)
        await app.start()
        try:
            adapter = DiscordAdapter(app, guild_ready_timeout=0.05)
            circle_rate = await rate(adapter.client, lambda: asyncio.sleep(0), count, concurrency)
        finally:
            await app.close()
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"discord.py {discord.__version__}, {platform.platform()}"
    )
    print(f"{count} /ping interactions, {concurrency} in flight, stand-in in the same process")
    print(f"bare discord.py bot : {bare_rate:8.1f} interactions/s")
    print(f"circlebot (SQLite)  : {circle_rate:8.1f} interactions/s")
    print(f"ratio circlebot/bare: {circle_rate / bare_rate:8.2f}")


if __name__ == "__main__":
    asyncio.run(
        main(
            int(sys.argv[1]) if len(sys.argv) > 1 else 500,
            int(sys.argv[2]) if len(sys.argv) > 2 else 10,
        )
    )
