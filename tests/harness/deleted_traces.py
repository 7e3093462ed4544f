"""What a deleted meeting or an erased community may leave behind, and how tests look for it:
an app on SQLite or PostgreSQL with a platform that returns message ids, and a scan of every
place a meeting can leave a trace (plan stamps, outbox references, rows under its keys, its
title anywhere, decrypted). Shared by tests/cogs/test_meetings_deleted_traces.py and
tests/cogs/test_meetings_old_and_deleted.py."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, text

from bot.app import App
from bot.clock import VirtualClock
from bot.core.message import Message
from bot.core.permissions import Tier
from bot.models import OutboxItem, OutboxItemRef, OutboxPlanStamp
from bot.outbox import RefKind, Target
from cogs.meetings.service import MeetingView
from tests.harness.app import AppFactory, make_config
from tests.harness.meetings import Recorder, cog
from tests.harness.postgres import pg_url
from tests.harness.privacy_scan import FERNET_TOKEN, scan_database

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday
BACKENDS = ["sqlite", "postgres"]


class Posting(Recorder):
    """A recording platform that answers each send with the message's id, as a real one does
    (the outbox keeps a sent announcement, to edit its RSVP count, only when it has an id)."""

    async def send(self, target: Target, message: Message, idempotency_key: str) -> str:
        await super().send(target, message, idempotency_key)
        return f"m-{idempotency_key}"


async def on(
    app_factory: AppFactory, backend: str, tmp_path: Path, schema: str | None, cogs: list[str]
) -> tuple[App, Posting]:
    """An app with `cogs` on `backend` (SQLite file `bot.sqlite3` under tmp_path), a recording
    platform, a facilitator `fac`."""
    app = await app_factory(
        make_config(cogs={"enabled": cogs}),
        clock=VirtualClock(START),
        db_url=pg_url() if backend == "postgres" else None,
        db_schema=schema,
        fast_typing=True,
    )
    fake = Posting(app)
    app.add_transport(fake)
    fake.actor("fac", Tier.FACILITATOR)
    return app, fake


def prefix_of(meeting_id: int, uid: str) -> str:
    """The start of every outbox key of one meeting (`meetings.<id>.<uid>.`)."""
    return f"meetings.{meeting_id}.{uid[:8]}."


def owned_by(meeting_id: int) -> set[tuple[str, str]]:
    """The outbox references (kind, id) that name one meeting: its plan, its change notices,
    its sent posts kept current."""
    return {
        (RefKind.MEETING.value, str(meeting_id)),
        (RefKind.MEETING_NOTICE.value, str(meeting_id)),
        (RefKind.LIVE_POST.value, f"meetings.{meeting_id}"),
    }


async def view_of(app: App, title: str) -> MeetingView:
    found = [v for v in await cog(app).service.all_in(1) if v.title == title]
    assert len(found) == 1, title
    return found[0]


async def traces(
    app: App, meeting_id: int, uid: str, title: str, *, by_id: bool = True
) -> list[str]:
    """Everything the database still holds of one meeting outside its own rows: its plan
    stamp, references to it, outbox rows under its keys, and its title anywhere (decrypted).

    `by_id=False` leaves out the stamp and references, which name the meeting by its row id
    only: for a deleted meeting whose id a new one reuses (SQLite reuses row ids)."""
    owned = owned_by(meeting_id) if by_id else set()
    prefix = prefix_of(meeting_id, uid)
    found: list[str] = []
    async with app.db.sessions() as session:
        for kind, ref in await session.execute(select(OutboxPlanStamp.kind, OutboxPlanStamp.ref)):
            if (kind, ref) in owned:
                found.append(f"plan stamp {kind}:{ref}")
        for kind, ref in await session.execute(select(OutboxItemRef.kind, OutboxItemRef.ref)):
            if (kind, ref) in owned:
                found.append(f"outbox reference {kind}:{ref}")
        for key, status in await session.execute(select(OutboxItem.key, OutboxItem.status)):
            if key.startswith(prefix):
                found.append(f"outbox item {key} ({status})")
    found.extend(
        f"{hit.where}: {hit.context!r}" for hit in await scan_database(app.db.engine, [title])
    )
    return found


async def ciphertexts(app: App, prefix: str) -> set[bytes]:
    """The Fernet tokens stored (as written, not decrypted) in the outbox rows under `prefix`."""
    async with app.db.engine.connect() as conn:
        rows = await conn.execute(text("SELECT key, payload FROM outbox_item"))
        return {
            token
            for key, payload in rows
            if key.startswith(prefix) and payload
            for token in FERNET_TOKEN.findall(str(payload).encode())
        }


def file_bytes(tmp_path: Path) -> bytes:
    database = tmp_path / "bot.sqlite3"
    return b"".join(
        p.read_bytes() for p in (database, database.with_name("bot.sqlite3-wal")) if p.exists()
    )
