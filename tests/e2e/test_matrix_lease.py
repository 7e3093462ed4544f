"""One process at a time runs the Matrix account (PostgreSQL lease), against a real Synapse:
a second process neither syncs nor sends while the first holds it, and takes over when the
first is gone."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from nio import RoomCreateResponse

from bot.lease import lease_key
from bot.platform import StartupError
from tests.harness.matrix import Bot, in_room, new_member, unique_localpart
from tests.harness.postgres import PG_DSN, pg_url
from tests.harness.synapse import SynapseServer
from tests.harness.waiting import quiet_period, wait_until


async def test_a_second_process_waits_for_the_account_and_takes_over_when_the_first_dies(
    synapse: SynapseServer, tmp_path: Path, pg_schema: str
) -> None:
    account = await synapse.register_user(unique_localpart("circlebot"))
    first = Bot(synapse, account, tmp_path / "a", db_url=pg_url(), db_schema=pg_schema)
    await first.start()
    second = Bot(
        synapse, account, tmp_path / "b", db_url=pg_url(), db_schema=pg_schema, wait_ready=False
    )
    await second.start()
    ana = await new_member(synapse, tmp_path, "ana")
    try:
        created = await ana.client.room_create(name="Tuesday circle", invite=[account.user_id])
        assert isinstance(created, RoomCreateResponse), created
        room = str(created.room_id)
        await ana.until(lambda: in_room(ana, room, account.user_id))

        await ana.say(room, "!ping")
        await ana.notice("pong", room=room)
        assert await quiet_period(lambda: len(ana.notices(room, "pong"))) == 1  # not twice
        # The second process never logged in: no sync, no send, no device of its own.
        assert not second.adapter.ready.is_set()
        assert not second.adapter.client.access_token
        assert not second.adapter.can_send

        # The first process dies: PostgreSQL ends its session, and with it the lease.
        admin = await asyncpg.connect(PG_DSN)
        try:
            key = lease_key("test", pg_schema, f"matrix:{account.user_id}")
            holders = await admin.fetch(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 1",
                (key >> 32) & 0xFFFFFFFF,
                key & 0xFFFFFFFF,
            )
            assert len(holders) == 1
            await admin.execute("SELECT pg_terminate_backend($1)", holders[0]["pid"])
        finally:
            await admin.close()
        await wait_until(lambda: first.task.done(), what="the first process to stop syncing")
        assert isinstance(first.task.exception(), StartupError)

        await wait_until(second.adapter.ready.is_set, what="the second process to take over")
        mark = ana.mark()
        await ana.say(room, "!ping")
        await ana.notice("pong", room=room, after=mark)
        assert await quiet_period(lambda: len(ana.notices(room, "pong"))) == 2
    finally:
        await ana.stop()
        await second.stop()
        await first.app.close()
