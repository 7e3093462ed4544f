"""Owner tasks: key rotation (also resumed, also on PostgreSQL) and moving a community."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Text, select, type_coerce

from bot import crypto
from bot.app import App
from bot.clock import VirtualClock
from bot.core.loader import available_cogs
from bot.core.permissions import Tier
from bot.maintenance import (
    encrypted_columns,
    export_community,
    import_community,
    rotate_keys,
)
from cogs.journal.cog import JournalCog
from cogs.journal.models import JournalEntry
from tests.harness.app import AppFactory, make_config
from tests.harness.platform import FakePlatform
from tests.harness.postgres import fresh_pg_schema, pg_url

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def filled(app_factory: AppFactory, **kwargs: object) -> tuple[App, FakePlatform]:
    app, fake = await app_factory.on_platform(
        clock=VirtualClock(START), actors={"ana": Tier.MODERATOR}, **kwargs
    )
    await fake.say("ana", "!journal write visibility:shared A good walk today")
    await fake.say("ana", "!urge log 4 after work")
    await fake.say("ana", '!meeting schedule Circle "2026-12-02 19:00" 60m zone:UTC')
    await fake.say("ana", '!meeting cancel Circle 2026-12-02 note:"snow day"')
    await fake.say("ana", "!worksheet start abc")
    return app, fake


async def tokens(app: App) -> list[str]:
    found: list[str] = []
    async with app.db.engine.connect() as conn:
        for _table, columns in encrypted_columns():
            for column in columns:
                rows = await conn.execute(select(type_coerce(column, Text())))
                found.extend(str(v) for (v,) in rows if v is not None)
    return found


async def rotation_round_trip(app: App, old: str) -> None:
    new = crypto.generate_key()
    crypto.use_keys([new, old])
    before = await tokens(app)
    assert before
    report = await rotate_keys(app.db, [new, old], batch=2)
    assert report.rotated == len(before) and report.current == 0
    again = await rotate_keys(app.db, [new, old], batch=2)  # a re-run after a crash is a no-op
    assert again.rotated == 0 and again.current == len(before)
    crypto.use_keys([new])  # the old key is gone: everything still reads
    async with app.db.sessions() as session:
        (entry,) = (await session.scalars(select(JournalEntry))).all()
        assert entry.body == "A good walk today"
    for token in await tokens(app):
        crypto.keyring().decrypt(token)


async def test_rotate_key_then_drop_the_old_key(
    app_factory: AppFactory, encryption_keys: list[str]
) -> None:
    app, _fake = await filled(app_factory)
    await rotation_round_trip(app, encryption_keys[0])


async def test_rotate_key_on_postgresql(
    app_factory: AppFactory, encryption_keys: list[str]
) -> None:
    async with fresh_pg_schema(migrated=True) as schema:
        app, _fake = await filled(app_factory, db_url=pg_url(), db_schema=schema)
        await rotation_round_trip(app, encryption_keys[0])
        await app.close()


async def test_rotation_resumes_after_a_crash_midway(
    app_factory: AppFactory, encryption_keys: list[str]
) -> None:
    app, _fake = await filled(app_factory)
    new = crypto.generate_key()
    crypto.use_keys([new, encryption_keys[0]])
    total = len(await tokens(app))
    seen: list[str] = []

    def crash(line: str) -> None:
        seen.append(line)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await rotate_keys(app.db, [new, encryption_keys[0]], batch=1, progress=crash)
    resumed = await rotate_keys(app.db, [new, encryption_keys[0]], batch=1)
    assert resumed.current == 1 and resumed.rotated == total - 1
    crypto.use_keys([new])
    for token in await tokens(app):
        crypto.keyring().decrypt(token)


async def test_a_token_no_key_reads_stops_rotation_with_the_row_named(
    app_factory: AppFactory, encryption_keys: list[str]
) -> None:
    app, _fake = await filled(app_factory)
    with pytest.raises(crypto.KeyringError, match=r"row \d+ cannot be decrypted"):
        await rotate_keys(app.db, [crypto.generate_key()])


@pytest.mark.parametrize("decrypt", [False, True])
async def test_a_community_moves_to_another_database(
    app_factory: AppFactory, tmp_path: Path, decrypt: bool
) -> None:
    app, _fake = await filled(app_factory)
    data = await export_community(app.db, 1, decrypt=decrypt)
    text = json.dumps(data)
    assert ("A good walk today" in text) is decrypt
    assert "after work" not in text  # a toolbox is personal, not the community's
    other = await app_factory(make_config(cogs={"enabled": available_cogs()}), name="other")
    report = await import_community(other.db, json.loads(text))
    assert report.rows["journal_entry"] == 1 and report.rows["meeting_exception"] == 1
    async with other.db.sessions() as session:
        (entry,) = (await session.scalars(select(JournalEntry))).all()
        assert entry.body == "A good walk today" and entry.community_id == report.community_id
    # the entry's search codes came along, tied to its new id: searching finds it at once
    assert report.rows["journal_search_word"] >= 4
    journal = other.cogs["journal"]
    assert isinstance(journal, JournalCog)
    found = await journal.service.search(entry.author_key, "walk", 5)
    assert [e.body for e in found.entries] == ["A good walk today"]
    with pytest.raises(ValueError, match="already exists"):
        await import_community(other.db, json.loads(text))


def test_the_command_line_rotates_then_exports_with_only_the_new_key(tmp_path: Path) -> None:
    from tests.harness.console import circlebot

    db = tmp_path / "c.sqlite3"
    made = circlebot(
        "console", "--db", str(db), "--clock", "2026-12-01T09:00:00Z",
        stdin="@ana !journal write Morning light\n:quit\n", cwd=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    key_file = db.with_suffix(".key")
    old = key_file.read_text().strip()
    new = crypto.generate_key()
    key_file.write_text(f"{new}\n{old}\n")
    rotated = circlebot("rotate-key", "--db", str(db), cwd=tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    assert "Re-encrypted" in rotated.stdout and "remove them" in rotated.stdout
    key_file.write_text(f"{new}\n")
    out = tmp_path / "community.json"
    exported = circlebot(
        "export-community", "1", str(out), "--decrypt", "--db", str(db), cwd=tmp_path
    )
    assert exported.returncode == 0, exported.stderr
    assert "Morning light" in out.read_text()
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    missing = circlebot("export-community", "9", str(out), "--db", str(db), cwd=tmp_path)
    assert missing.returncode == 1 and "no community with id 9" in missing.stderr
