"""What docs/matrix.md tells a server administrator to do works, against a real Synapse.

Section 4 of the guide: Synapse's admin API lifts the message rate limit for the bot's account,
so a burst of announcements goes out without the bot ever being paced (no 429 from the server).
The same burst without the override is paced (tests/e2e/test_matrix_adapter.py).
"""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import pytest
from nio import RoomMessageNotice

from bot.core.message import Message
from bot.outbox import Target
from tests.harness.matrix import scene
from tests.harness.synapse import running_synapse, unique_localpart

pytestmark = pytest.mark.e2e


async def test_the_guides_rate_limit_override_lets_a_burst_of_announcements_through(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="circlebot.matrix")
    with running_synapse(tmp_path / "synapse-rl", rate_limited=True) as server:
        admin = await server.register_user(unique_localpart("admin"), admin=True)
        async with scene(server, tmp_path) as s:
            app, room, bot = s.bot.app, s.room, s.bot
            # the call the guide shows, as an administrator would make it
            url = f"{server.base_url}/_synapse/admin/v1/users/{bot.user_id}/override_ratelimit"
            headers = {"Authorization": f"Bearer {admin.access_token}"}
            body = {"messages_per_second": 0, "burst_count": 0}
            async with (
                aiohttp.ClientSession() as http,
                http.post(url, headers=headers, json=body) as response,
            ):
                assert response.status == 200, await response.text()
            caplog.clear()
            mark = s.ana.mark()
            count = 15  # more than Synapse's default burst of 10
            for n in range(count):
                await app.outbox.enqueue(
                    f"announce:{n}",
                    Target("matrix", room),
                    Message.of(f"Announcement {n:02d}"),
                    app.clock.now(),
                )
            await app.outbox.deliver_due()
            await s.ana.notice(f"Announcement {count - 1:02d}", room=room, after=mark)
            got = sorted(
                e.body
                for r, e in s.ana.seen[mark:]
                if r == room and isinstance(e, RoomMessageNotice) and "Announcement" in e.body
            )
            assert got == [f"Announcement {n:02d}" for n in range(count)]
            assert not any("rate limited" in r.getMessage() for r in caplog.records)
