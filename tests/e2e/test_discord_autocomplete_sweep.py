"""Every autocompleting option of every command, answered within Discord's limits.

The sweep asks discord.py's real client for suggestions on each option that autocompletes, as
the server's owner (who may use every command) and as a plain member, with nothing typed and
with a few letters; the stand-in checks each answer against Discord's rules (at most 25
choices, names of 1-100 characters, values of at most 100). A command added later is covered
without editing this file.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.adapters.discord import DiscordAdapter
from bot.clock import VirtualClock
from bot.core.permissions import Scope
from cogs.worksheets.cog import WorksheetsCog
from tests.harness.app import AppFactory
from tests.harness.discord import DiscordStandin

pytestmark = pytest.mark.e2e

AUTOCOMPLETE_RESULT = 8


async def test_every_autocompleting_option_answers_within_discords_limits(
    discord_standin: DiscordStandin, app_factory: AppFactory
) -> None:
    standin = discord_standin
    app = await app_factory(clock=VirtualClock(datetime.now(UTC)), fast_typing=True)
    adapter = DiscordAdapter(app, guild_ready_timeout=0.05)
    worksheets = app.cogs["worksheets"]
    assert isinstance(worksheets, WorksheetsCog)
    owner = standin.state.user_named("owner")
    # something to suggest for the integer `id` of the toolbox commands
    await worksheets.toolbox.save(f"discord:{owner.id}", "cba", {"behaviour": "late nights"})
    asked = 0
    async with standin.client_running(adapter.client):
        for spec in sorted(app.registry.specs, key=lambda s: s.name):
            slash = " ".join(adapter.command_words(spec.path))
            for option in (o for o in spec.options if o.autocomplete):
                for user in ("owner", "bob"):
                    for typed in ("", "e", "#1 x"):
                        sent = await standin.send_autocomplete(
                            slash,
                            {option.name: typed},
                            option.name,
                            user=standin.state.user_named(user),
                            dm=spec.scope is Scope.DM,
                        )
                        answer = await standin.wait_for_interaction_response(sent.id)
                        assert answer["type"] == AUTOCOMPLETE_RESULT, (slash, option.name)
                        asked += 1
    assert asked >= 6 * 20  # the sweep saw the options (20 and more autocomplete today)
    assert standin.violations == []
