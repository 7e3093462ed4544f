"""Discord: the words people reach for first are slash commands where Discord lists them
(`/sos`, `/helpline`, `/help-now`), a country is read as `/me country` reads it
(`/crisis list country:UK`), and the other help words work typed in the bot's DM (`/911`,
`/hotline`, `/crsis`), through discord.py's real client against the stand-in.
"""

from __future__ import annotations

import pytest

from tests.harness.discord import EPHEMERAL, Circle
from tests.harness.waiting import quiet_period

pytestmark = pytest.mark.e2e

GB_LINES = "**Samaritans**: call **116 123**"


async def test_discord_sos_helpline_and_typed_help_words_reach_the_lines(circle: Circle) -> None:
    app = await circle.app()
    adapter = circle.adapter(app)
    standin = circle.standin
    alice, dm = circle.user("alice"), circle.dm("alice")
    async with standin.client_running(adapter.client):
        await circle.reply("me country", {"country": "UK"}, user="alice")
        slash = {name: await circle.reply(name, user="alice") for name in ("sos", "helpline")}
        listed = await circle.reply("crisis list", {"country": "UK"}, user="alice")
        for typed in ("/911", "/hotline", "/crsis", "sos"):
            await standin.send_message_create(dm, alice, typed)
        await circle.bot_messages(dm, 4)
        await quiet_period(lambda: len(standin.state.bot_messages(dm)))
        answered = standin.state.bot_messages(dm)
    for name, reply in slash.items():
        assert reply["data"]["flags"] == EPHEMERAL, name
        assert GB_LINES in reply["data"]["content"], (name, reply)
    assert GB_LINES in listed["data"]["content"] and "not a country" not in str(listed)
    assert len(answered) == 4, answered
    for message in answered:
        assert GB_LINES in message["content"], message
        assert "I don't know the command" not in message["content"]
    assert standin.violations == []
