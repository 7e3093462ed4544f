"""Slash-command interactions per second: circlebot on discord.py vs a bare discord.py bot.

Both answer `/ping` through discord.py's real gateway and HTTP code against the local Discord
stand-in (same process, same event loop), so the ratio is what the core and the adapter cost
per interaction: tier lookup, community row, profile, rendering, safety. The two run in turn,
round after round (bare, circlebot, bare, ...), each with a fresh client; the goal compares the
medians as time per interaction: circlebot / bare <= 1.2x. circlebot runs as `python -m bot`
does, with its start-up objects frozen (`gc.freeze()`); a third variant without the freeze is
kept as a note. Run:
.venv/bin/python -m benchmarks.discord_interactions [COUNT] [CONCURRENCY] [ROUNDS]
"""

from __future__ import annotations

import asyncio
import gc
import logging
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import discord
from discord import app_commands

from benchmarks.common import Goal, emit, interleaved, machine, note
from bot import crypto
from bot.adapters.discord import DiscordAdapter
from bot.app import App
from bot.cli import freeze_after_start
from bot.core.loader import parse_config as parse
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


async def main(count: int, concurrency: int, rounds: int) -> None:
    logging.disable(logging.WARNING)
    crypto.use_keys([crypto.generate_key()])
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
        await app.start(freeze_gc=True)  # as `circlebot run` starts the app

        async def bare() -> float:
            client, sync = bare_client()
            return await rate(client, sync, count, concurrency)

        async def circlebot_unfrozen() -> float:
            adapter = DiscordAdapter(app, guild_ready_timeout=0.05)
            return await rate(adapter.client, lambda: asyncio.sleep(0), count, concurrency)

        async def circlebot() -> float:
            freeze_after_start()  # as `python -m bot` does once started
            try:
                return await circlebot_unfrozen()
            finally:
                gc.unfreeze()

        try:
            medians = await interleaved(
                {"bare": bare, "circlebot": circlebot, "unfrozen": circlebot_unfrozen}, rounds
            )
        finally:
            await app.close()
    print(machine() + f", discord.py {discord.__version__}, {platform.platform()}")
    print(
        f"{count} /ping interactions, {concurrency} in flight, stand-in in the same process, "
        f"{rounds} rounds interleaved, medians"
    )
    print(f"bare discord.py bot : {medians['bare']:8.1f} interactions/s")
    print(f"circlebot (SQLite)  : {medians['circlebot']:8.1f} interactions/s")
    print(f"circlebot, no freeze: {medians['unfrozen']:8.1f} interactions/s")
    note(
        f"Discord: gc.freeze() after start: {medians['unfrozen']:.0f} -> "
        f"{medians['circlebot']:.0f} interactions/s ({count} x {rounds} rounds)"
    )
    emit(
        Goal(
            f"Discord: circlebot / bare discord.py, time per /ping interaction ({count} x "
            f"{rounds} rounds, {concurrency} in flight)",
            1.2,
            round(medians["bare"] / medians["circlebot"], 2),
            "x",
            "at most",
        )
    )


if __name__ == "__main__":
    numbers = [int(a) for a in sys.argv[1:4]]
    asyncio.run(main(*(numbers + [500, 10, 5][len(numbers) :])))
