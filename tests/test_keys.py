"""A lost or wrong key is caught at start; account ids are tagged with a keyed hash only;
files holding member data are readable by their owner only."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from bot import crypto
from bot.app import App, StartupError
from bot.maintenance import rotate_keys
from bot.models import AdapterState, KeyCheck
from bot.services.members import member_state_key
from tests.harness.app import AppFactory, make_config
from tests.harness.console import circlebot
from tests.harness.platform import FakePlatform
from tests.harness.postgres import fresh_pg_schema, pg_url


@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[dict[str, str | None]]:
    """Connection settings for one backend; PostgreSQL gets its own schema."""
    if request.param == "sqlite":
        yield {"db_url": f"sqlite+aiosqlite:///{tmp_path / 'keys.sqlite3'}", "db_schema": None}
    else:
        async with fresh_pg_schema() as schema:
            yield {"db_url": pg_url(), "db_schema": schema}


async def _open(backend: dict[str, str | None]) -> App:
    app = App(make_config(), db_url=backend["db_url"], db_schema=backend["db_schema"])
    try:
        await app.open(migrate=True)
    except BaseException:
        await app.db.close()
        raise
    return app


async def _write_private_text(app: App) -> None:
    await app.start()
    platform = FakePlatform(app)
    await platform.say("ana", "!journal write the garden at dusk")
    await app.close()


async def test_a_database_refuses_keys_that_did_not_write_it(
    backend: dict[str, str | None], encryption_keys: list[str]
) -> None:
    await _write_private_text(await _open(backend))
    crypto.use_keys([crypto.generate_key()])
    with pytest.raises(StartupError) as refused:
        await _open(backend)
    message = str(refused.value)
    assert "cannot read" in message and "Backups" in message and "\n" not in message
    # A new key in front of the old one (rotation) still opens it, with the same tag secret.
    crypto.use_keys([crypto.generate_key(), *encryption_keys])
    app = await _open(backend)
    await app.close()


async def test_a_database_made_before_the_check_is_checked_against_what_it_holds(
    backend: dict[str, str | None], encryption_keys: list[str]
) -> None:
    app = await _open(backend)
    await _write_private_text(app)
    app = await _open(backend)
    async with app.db.sessions.begin() as session:
        await session.execute(delete(KeyCheck))
    await app.close()
    crypto.use_keys([crypto.generate_key()])
    with pytest.raises(StartupError, match="cannot read"):
        await _open(backend)
    crypto.use_keys(encryption_keys)
    app = await _open(backend)
    async with app.db.sessions() as session:
        assert await session.scalar(select(KeyCheck.id)) is not None
    await app.close()


async def test_tags_stay_the_same_across_restarts_and_key_rotation(
    backend: dict[str, str | None], encryption_keys: list[str]
) -> None:
    app = await _open(backend)
    first = crypto.actor_tag("discord:1234", "log")
    await app.close()
    new = crypto.generate_key()
    crypto.use_keys([new, *encryption_keys])
    app = await _open(backend)
    assert crypto.actor_tag("discord:1234", "log") == first
    await rotate_keys(app.db, [new, *encryption_keys])  # `circlebot rotate-key`
    await app.close()
    crypto.use_keys([new])  # the old key removed after rotating, as the README says
    app = await _open(backend)
    assert crypto.actor_tag("discord:1234", "log") == first
    await app.close()


@settings(max_examples=60, deadline=None)
@given(key=st.text(min_size=1, max_size=80), purpose=st.sampled_from(["log", "meetings.dm"]))
def test_no_plain_hash_of_an_account_id_is_a_prefix_of_its_tag(key: str, purpose: str) -> None:
    tag = crypto.actor_tag(key, purpose, length=32)
    for digest in (hashlib.sha256, hashlib.sha1, hashlib.md5, hashlib.blake2b):
        plain = digest(key.encode()).hexdigest()
        assert not plain.startswith(tag[:8])
    assert crypto.actor_tag(key, "other") != crypto.actor_tag(key, purpose)


async def test_log_lines_and_adapter_rows_carry_only_keyed_tags(
    app_factory: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = await app_factory()
    platform = FakePlatform(app)
    with caplog.at_level(logging.INFO, logger="circlebot"):
        await platform.say("ana", "!ping")
    key = "fake:ana"
    plain = hashlib.sha256(key.encode()).hexdigest()
    line = next(r.getMessage() for r in caplog.records if "cmd=ping" in r.getMessage())
    assert f"actor={crypto.actor_tag(key, 'log', length=10)}" in line
    assert plain[:10] not in caplog.text and key not in caplog.text
    # A row about a person carries a keyed tag, is found by it and is erased with them.
    row_key = member_state_key(key, "recent")
    assert plain[:16] not in row_key and key not in row_key
    async with app.db.sessions.begin() as session:
        session.add(AdapterState(platform="matrix", key=row_key, value="x"))
        session.add(AdapterState(platform="matrix", key="sync_token", value="s1"))
    await app.members.delete_user_data(key)
    async with app.db.sessions() as session:
        assert list(await session.scalars(select(AdapterState.key))) == ["sync_token"]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_database_and_its_folder_are_created_private(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "fresh" / "data"
    app = App(make_config(), db_url=f"sqlite+aiosqlite:///{folder / 'bot.sqlite3'}")
    await app.open(migrate=True)
    await app.start()
    await FakePlatform(app).say("ana", "!journal write a quiet evening")
    try:
        assert _mode(folder) == 0o700
        for name in ("bot.sqlite3", "bot.sqlite3-wal"):
            assert _mode(folder / name) == 0o600, name
    finally:
        await app.close()


def test_the_console_refuses_to_replace_a_lost_key(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    first = circlebot(
        "console",
        "--db",
        str(db),
        "--files",
        str(tmp_path / "files"),
        stdin="@ana !journal write the river in spring\n@ana !mydata export\n:quit\n",
        cwd=tmp_path,
    )
    assert first.returncode == 0, first.stderr
    key_file = db.with_suffix(".key")
    assert _mode(key_file) == 0o600 and _mode(db) == 0o600
    assert _mode(tmp_path / "files") == 0o700
    exported = list((tmp_path / "files").iterdir())
    assert exported and all(_mode(p) == 0o600 for p in exported)
    moved = tmp_path / "elsewhere.key"
    key_file.rename(moved)
    second = circlebot("console", "--db", str(db), stdin=":quit\n", cwd=tmp_path)
    assert second.returncode == 1
    assert "key file is missing" in second.stderr and "Backups" in second.stderr
    assert not key_file.exists()  # no new key was made
    # The wrong key in its place is refused with one line, and nothing is written under it.
    key_file.write_text(crypto.generate_key() + "\n")
    third = circlebot("console", "--db", str(db), stdin=":quit\n", cwd=tmp_path)
    assert third.returncode == 1
    assert "cannot read" in third.stderr and len(third.stderr.strip().splitlines()) == 1
    key_file.unlink()
    moved.rename(key_file)
    fourth = circlebot(
        "console", "--db", str(db), stdin="@ana !journal list\n:quit\n", cwd=tmp_path
    )
    assert fourth.returncode == 0, fourth.stderr
    assert "the river in spring" in fourth.stdout


def test_the_console_on_a_database_url_without_a_key_says_where_the_key_goes(
    tmp_path: Path,
) -> None:
    refused = circlebot("console", "--db", pg_url(), stdin=":quit\n", cwd=tmp_path)
    assert refused.returncode == 1
    assert "A database URL needs the key" in refused.stderr
    assert "data/circlebot.key" in refused.stderr and "generate-key" in refused.stderr
    assert "holds encrypted text" not in refused.stderr  # nothing was read from it
    assert not (tmp_path / "data").exists()  # no key was made


KEY_POOL = [crypto.generate_key() for _n in range(4)]


@settings(max_examples=12, deadline=None, derandomize=True)
@given(configured=st.lists(st.sampled_from(range(4)), min_size=1, max_size=3, unique=True))
def test_any_key_list_opens_the_database_iff_it_holds_its_key(
    configured: list[int], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Key 0 wrote the database; any configuration opens it exactly when key 0 is in it, and a
    refused start changes nothing in the file."""
    folder = tmp_path_factory.getbasetemp() / "keyprop"
    database = folder / "k.sqlite3"
    url = f"sqlite+aiosqlite:///{database}"

    def files() -> list[bytes]:
        wal = database.with_name(database.name + "-wal")
        return [p.read_bytes() for p in (database, wal) if p.exists()]

    async def scenario() -> None:
        if not database.exists():
            crypto.use_keys([KEY_POOL[0]])
            await _write_private_text(await _open({"db_url": url, "db_schema": None}))
        before = files()
        crypto.use_keys([KEY_POOL[i] for i in configured])
        if 0 in configured:
            app = await _open({"db_url": url, "db_schema": None})
            async with app.db.sessions() as session:
                assert await session.scalar(select(KeyCheck.id)) == 1
            await app.close()
        else:
            with pytest.raises(StartupError, match="cannot read"):
                await _open({"db_url": url, "db_schema": None})
            assert files() == before

    asyncio.run(scenario())
