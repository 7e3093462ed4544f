"""Slash-command interactions per second: circlebot on discord.py vs a bare discord.py bot.

Both answer `/ping` through discord.py's real gateway and HTTP code against the local Discord
stand-in (same process, same event loop), so the ratio is what the core and the adapter cost
per interaction: tier lookup, community row, profile, rendering, safety. The two run in turn,
round after round (bare, circlebot, bare, ...), each with a fresh client. The goal row is the
median over rounds of each round's circlebot / bare time per interaction (`paired_ratio`):
<= 1.2x. On a shared 2-core machine single rounds have ranged from 0.66x to 1.97x within one
run, and the two medians' ratio of 5 rounds from 0.88x to 1.39x between runs of the same code,
so the run takes 15 short rounds and judges the paired ratio; the quartiles of the rounds'
ratios and the two medians' ratio are printed beside it (the order within a round is fixed,
bare first, which pairing does not undo). circlebot runs as `python -m bot`
does: its adapter (the discord.py client and the command tree) is built before its start-up
objects are frozen (`gc.freeze()`); a third variant without the freeze is kept as a note.

Every variant starts on the same heap (`clean_heap`): the garbage the variant before it left is
collected first, and bare discord.py runs with everything alive frozen as circlebot does, so
neither side's full collections walk the other's objects (the app's modules, SQLAlchemy, phrase
lists, which a bare bot's process would not hold). Before, bare discord.py ran unfrozen after
circlebot's `gc.unfreeze()` and paid a full collection of the whole heap, 150-240 ms in a
0.3-0.5 s round, in most rounds. Run:
.venv/bin/python -m benchmarks.discord_interactions [COUNT] [CONCURRENCY] [ROUNDS]
"""

from __future__ import annotations

import asyncio
import gc
import logging
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import discord
from discord import app_commands

from benchmarks.common import (
    Goal,
    emit,
    interleaved_samples,
    machine,
    note,
    paired_ratio,
    spread,
)
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
    cpu: list[float] | None = None,
) -> float:
    """Interactions answered per second, `concurrency` in flight, after a short warm-up; the
    event loop thread's CPU time per interaction (microseconds) is appended to `cpu`."""
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
            # The warm-up's garbage is collected untimed, like the warm-up itself (circlebot's
            # holds its first sight of each member: community, membership and profile rows)
            gc.collect()
            started = time.perf_counter()
            thread_started = time.thread_time()
            await asyncio.gather(*(one(n) for n in range(count)))
            elapsed = time.perf_counter() - started
            if cpu is not None:
                cpu.append((time.thread_time() - thread_started) / count * 1e6)
    finally:
        await standin.stop()
    if standin.violations:
        raise SystemExit(f"the stand-in saw violations: {standin.violations[:3]}")
    return count / elapsed


async def clean_heap(run: Callable[[], Awaitable[float]], *, freeze: bool) -> float:
    """`run()` after collecting what earlier variants left; with `freeze`, everything alive
    then is out of the collector's reach until `run` returns (`gc.freeze()`, as
    `freeze_after_start` does in `python -m bot`)."""
    if freeze:
        freeze_after_start()  # gc.collect() first, so no garbage is kept for good
    else:
        gc.collect()
    try:
        return await run()
    finally:
        if freeze:
            gc.unfreeze()


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

        cpu: dict[str, list[float]] = {"bare": [], "circlebot": []}

        # Each client is built before the freeze, as `circlebot run` builds its adapters (the
        # command tree, discord.py's state) before `freeze_after_start()`.
        async def bare() -> float:
            client, sync = bare_client()
            return await clean_heap(
                lambda: rate(client, sync, count, concurrency, cpu["bare"]), freeze=True
            )

        async def circlebot_run(freeze: bool, cpu_samples: list[float] | None = None) -> float:
            adapter = DiscordAdapter(app, guild_ready_timeout=0.05)
            return await clean_heap(
                lambda: rate(
                    adapter.client, lambda: asyncio.sleep(0), count, concurrency, cpu_samples
                ),
                freeze=freeze,
            )

        async def circlebot() -> float:
            return await circlebot_run(True, cpu["circlebot"])  # as `python -m bot` runs

        async def circlebot_unfrozen() -> float:
            return await circlebot_run(False)

        try:
            samples = await interleaved_samples(
                {"bare": bare, "circlebot": circlebot, "unfrozen": circlebot_unfrozen}, rounds
            )
        finally:
            await app.close()
    medians = {name: statistics.median(values) for name, values in samples.items()}
    # A round's time per interaction is 1 / its rate: circlebot's time / bare's time.
    per_round = [b / c for b, c in zip(samples["bare"], samples["circlebot"], strict=True)]
    ratio = paired_ratio(samples["bare"], samples["circlebot"])
    print(machine() + f", discord.py {discord.__version__}, {platform.platform()}")
    print(
        f"{count} /ping interactions, {concurrency} in flight, stand-in in the same process, "
        f"{rounds} rounds interleaved, medians"
    )
    print(f"bare discord.py bot : {medians['bare']:8.1f} interactions/s")
    print(f"circlebot (SQLite)  : {medians['circlebot']:8.1f} interactions/s")
    print(f"circlebot, no freeze: {medians['unfrozen']:8.1f} interactions/s")
    print("rounds' circlebot / bare:", " ".join(f"{r:.2f}" for r in per_round))
    if rounds >= 2:
        low, high = spread(per_round)
        of_medians = medians["bare"] / medians["circlebot"]
        note(
            f"Discord: each round's time per /ping, circlebot / bare: quartiles {low:.2f}x-"
            f"{high:.2f}x over {rounds} rounds; the two medians' ratio {of_medians:.2f}x"
        )
    cpu_ratio = paired_ratio(cpu["circlebot"], cpu["bare"])
    bare_cpu, circlebot_cpu = (statistics.median(cpu[name]) for name in ("bare", "circlebot"))
    note(
        f"Discord: event-loop CPU time per /ping interaction, bare {bare_cpu:.0f} us, circlebot "
        f"{circlebot_cpu:.0f} us (rounds' median {cpu_ratio:.2f}x; less swayed than wall time "
        "by other processes on the machine)"
    )
    note(
        f"Discord: gc.freeze() after start: {medians['unfrozen']:.0f} -> "
        f"{medians['circlebot']:.0f} interactions/s ({count} x {rounds} rounds)"
    )
    emit(
        Goal(
            f"Discord: circlebot / bare discord.py, time per /ping interaction, median of the "
            f"rounds' ratios ({count} x {rounds} rounds, {concurrency} in flight)",
            1.2,
            round(ratio, 2),
            "x",
            "at most",
        )
    )


if __name__ == "__main__":
    numbers = [int(a) for a in sys.argv[1:4]]
    asyncio.run(main(*(numbers + [300, 10, 15][len(numbers) :])))
