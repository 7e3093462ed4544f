"""Several bot processes on one database: exactly one leader sends announcements and reminders."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.exc import OperationalError

from bot.app import App
from bot.cli import _print_status, status_json
from bot.clock import VirtualClock
from bot.config import AppConfig
from bot.core.message import Message
from bot.core.permissions import Tier
from bot.leader import DurableScheduler, lock_key, read_status
from bot.outbox import Target
from cogs.meetings import service as meetings_service
from tests.harness.app import AppFactory, make_config
from tests.harness.meetings_model import forget_plans
from tests.harness.platform import FakePlatform
from tests.harness.postgres import PG_DSN, pg_url
from tests.harness.waiting import calls_after, wait_until

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CHANNEL = Target("fake", "general")
POLL = 0.2


def config() -> AppConfig:
    return make_config(cogs={"enabled": ["general"]}, scheduler={"leader_poll_seconds": POLL})


async def two_processes(
    app_factory: AppFactory, schema: str, clock: VirtualClock
) -> tuple[App, FakePlatform, App, FakePlatform]:
    first = await app_factory(config(), clock=clock, db_url=pg_url(), db_schema=schema, name="a")
    second = await app_factory(config(), clock=clock, db_url=pg_url(), db_schema=schema, name="b")
    first_platform, second_platform = FakePlatform(first), FakePlatform(second)
    first.add_transport(first_platform)
    second.add_transport(second_platform)
    return first, first_platform, second, second_platform


def texts(platform: FakePlatform) -> list[str]:
    return [s.text for s in platform.said if s.where == "channel"]


async def test_one_leader_and_the_follower_still_answers_commands(
    pg_schema: str, app_factory: AppFactory
) -> None:
    leader, _lp, follower, follower_platform = await two_processes(
        app_factory, pg_schema, VirtualClock(START)
    )
    assert leader.leader.leading
    assert not follower.leader.leading
    answer = await follower_platform.say("ana", "!ping")
    assert [s.text for s in answer] == ["pong"]
    status = await read_status(follower.db.sessions)
    assert sorted(p.leader for p in status.processes) == [False, True]


async def test_an_item_a_follower_enqueues_is_sent_by_the_leader_only(
    pg_schema: str, app_factory: AppFactory
) -> None:
    clock = VirtualClock(START)
    leader, leader_platform, follower, follower_platform = await two_processes(
        app_factory, pg_schema, clock
    )
    due = START + timedelta(minutes=5)
    assert await follower.outbox.enqueue("r.1", CHANNEL, Message.of("Circle in 5 minutes"), due)
    await wait_until(lambda: bool(leader.scheduler.planned("outbox.")))
    assert await follower.scheduler.advance(timedelta(minutes=1)) == 0  # followers fire nothing
    await leader.scheduler.advance(timedelta(minutes=4))
    assert texts(leader_platform) == ["Circle in 5 minutes"]

    # Something due now (a cancellation notice) that a command on the follower sends at once.
    await follower.outbox.enqueue("r.2", CHANNEL, Message.of("Tonight is cancelled"), clock.now())
    report = await follower.outbox.deliver_due()
    assert report.sent == 0
    await wait_until(lambda: bool(leader.scheduler.planned("outbox.")))
    await leader.scheduler.advance(timedelta(0))
    assert texts(leader_platform) == ["Circle in 5 minutes", "Tonight is cancelled"]
    assert follower_platform.said == []


async def test_when_the_leader_stops_the_follower_takes_over_and_sends_once(
    pg_schema: str, app_factory: AppFactory
) -> None:
    clock = VirtualClock(START)
    leader, leader_platform, follower, follower_platform = await two_processes(
        app_factory, pg_schema, clock
    )
    due = START + timedelta(minutes=10)
    await leader.outbox.enqueue("m.1.start", CHANNEL, Message.of("Circle starts now"), due)
    await leader.close()
    clock.set(due + timedelta(seconds=20))  # it came due while nobody led

    await wait_until(lambda: texts(follower_platform) == ["Circle starts now"])
    assert follower.leader.leading
    await calls_after(follower.leader, "check", 3)  # three more polls: a chance to send again
    await follower.outbox.deliver_due()
    await follower.scheduler.advance(timedelta(hours=1))
    assert texts(follower_platform) == ["Circle starts now"]
    assert leader_platform.said == []
    assert await follower.outbox.status_of("m.1.start") == "sent"


@pytest.mark.parametrize("phased", [False, True], ids=["planned-at-once", "phased"])
async def test_a_takeover_whose_rebuild_fails_once_still_announces_every_later_meeting(
    pg_schema: str, app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch, phased: bool
) -> None:
    """The new leader's first rebuild of the meetings cog fails (the database dropped the
    connection); it is tried again, so meetings planned after the takeover still go out.
    Phased (a large deployment: `PHASED_REBUILD_MEETINGS`), the takeover's rebuild leaves the
    meeting, due tomorrow, to its background part, which the takeover then lets begin."""
    if phased:
        monkeypatch.setattr(meetings_service, "PHASED_REBUILD_MEETINGS", 0)
    clock = VirtualClock(START)
    cfg = make_config(
        cogs={"enabled": ["general", "meetings"], "meetings": {"announce_minutes": [0]}},
        scheduler={"leader_poll_seconds": POLL},
    )
    apps = [
        await app_factory(cfg, clock=clock, db_url=pg_url(), db_schema=pg_schema, name=name)
        for name in ("a", "b")
    ]
    leader, follower = apps
    leader_platform, follower_platform = FakePlatform(leader), FakePlatform(follower)
    leader.add_transport(leader_platform)
    follower.add_transport(follower_platform)
    leader_platform.actor("fac", Tier.FACILITATOR)
    said = await leader_platform.say(
        "fac", '!meeting schedule Circle "2026-12-02 19:00" 60m repeat:daily zone:UTC'
    )
    assert "Scheduled" in said[0].text, said[0].text
    meetings = follower.cogs["meetings"]
    real_start = meetings.start
    starts, rebuilt = 0, 0

    async def flaky_start() -> None:
        nonlocal starts, rebuilt
        starts += 1
        if starts == 1:
            raise OperationalError("SELECT meetings", {}, ConnectionResetError("connection lost"))
        await real_start()
        rebuilt += 1

    meetings.start = flaky_start  # type: ignore[method-assign]
    await forget_plans(leader)  # nothing planned: the takeover's rebuild plans it all
    await leader.close()
    await wait_until(lambda: follower.leader.leading and rebuilt >= 1)
    await calls_after(follower.leader, "check", 2)  # the takeover's own work is done too
    if phased:
        # Its background part began and finished on its own (the jobs the old leader left in
        # the shared queue would plan the meeting too, so the announcements alone can't tell).
        rest = follower.cogs["meetings"].service._rest  # type: ignore[attr-defined]
        assert rest is not None
        await wait_until(rest.done, what="the takeover's background planning")
    await follower.scheduler.advance(timedelta(days=6))  # far past the 48 h planned ahead
    shown = [s.text for s in follower_platform.said if "is starting" in s.text]
    assert len(shown) == 5, shown  # 2 to 6 December at 19:00


async def test_a_leader_that_loses_its_connection_steps_down_before_another_leads(
    pg_schema: str, app_factory: AppFactory
) -> None:
    leader, _lp, follower, _fp = await two_processes(app_factory, pg_schema, VirtualClock(START))
    key = lock_key("test", pg_schema)
    conn = await asyncpg.connect(PG_DSN)
    try:
        holder = await conn.fetchval(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = $1 AND objid = $2 AND objsubid = 1",
            (key >> 32) & 0xFFFFFFFF,
            key & 0xFFFFFFFF,
        )
        assert holder is not None
        await conn.fetchval("SELECT pg_terminate_backend($1)", holder)
    finally:
        await conn.close()
    await wait_until(lambda: follower.leader.leading)
    await wait_until(lambda: not leader.leader.leading)
    await calls_after(leader.leader, "check", 3)  # the old leader polled and did not lead again
    await calls_after(follower.leader, "check", 3)
    assert follower.leader.leading and not leader.leader.leading


def test_a_second_process_on_the_same_sqlite_file_is_refused(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIRCLEBOT_")}
    env["PYTHONPATH"] = str(ROOT)
    db = tmp_path / "one.sqlite3"
    command = [sys.executable, "-m", "bot", "console", "--db", str(db)]
    first = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    try:
        lock = tmp_path / "one.sqlite3.lock"
        deadline = time.monotonic() + 30
        while not (lock.exists() and lock.read_text().strip()):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        second = subprocess.run(
            command,
            input="!ping\n",
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=60,
            check=False,
        )
        assert second.returncode != 0
        assert (
            f"Another circlebot (pid {first.pid}) is using {db}; SQLite supports one process. "
            "Use PostgreSQL to run several." in second.stderr
        )
        out, _err = first.communicate("!ping\n", timeout=60)
        assert first.returncode == 0
        assert "pong" in out
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()


async def test_on_postgresql_every_process_works_one_shared_queue_of_timed_jobs(
    pg_schema: str, app_factory: AppFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real clock on PostgreSQL: no leader; each process plans the daily retention pass at
    start and the queue holds it once; it outlives the process that closes."""
    cfg = make_config(cogs={"enabled": ["general", "privacy"]})
    first = await app_factory(cfg, db_url=pg_url(), db_schema=pg_schema, name="a")
    second = await app_factory(cfg, db_url=pg_url(), db_schema=pg_schema, name="b")
    for app in (first, second):
        assert isinstance(app.scheduler, DurableScheduler) and app.scheduler.jobs is not None
        await app.scheduler.jobs.flush()
        await app.leader.beat()
        assert not app.leader.leading

    view = await read_status(first.db.sessions)
    now = datetime.now(UTC)
    assert view.jobs is not None and view.jobs.queued == 1 and view.jobs.overdue == 0
    assert {p.id for p in view.workers(now)} == {first.leader.process_id, second.leader.process_id}
    found = status_json("db", view, now)
    assert found["healthy"] is True
    assert found["timed_jobs"]["workers"] == 2 and found["timed_jobs"]["queued"] == 1
    assert _print_status("db", view, now) == 0
    out = capsys.readouterr().out
    assert "Timed jobs: 1 queued, 0 overdue" in out
    assert "worked by 2 live process(es)" in out

    await second.close()
    view = await read_status(first.db.sessions)
    assert view.jobs is not None and view.jobs.queued == 1
    assert [p.id for p in view.workers(now)] == [first.leader.process_id]
