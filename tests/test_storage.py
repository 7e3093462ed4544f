"""Storage on both SQLite and PostgreSQL: migrations, members, encryption at rest, dialogues."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text

from bot.app import App, StartupError
from bot.core.errors import UserError
from bot.models import Profile
from tests.harness.app import AppFactory, make_config
from tests.harness.platform import FakePlatform
from tests.harness.postgres import fresh_pg_schema, pg_url

CANARY = "CANARY-wrote-this-at-3am-91c2"


@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[dict[str, str | None]]:
    """Connection settings for one backend; PostgreSQL gets its own schema."""
    if request.param == "sqlite":
        yield {"db_url": f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}", "db_schema": None}
    else:
        async with fresh_pg_schema() as schema:
            yield {"db_url": pg_url(), "db_schema": schema}


async def test_a_database_behind_the_code_is_refused_with_what_to_run(
    backend: dict[str, str | None],
) -> None:
    app = App(make_config(), db_url=backend["db_url"], db_schema=backend["db_schema"])
    try:
        with pytest.raises(StartupError, match="circlebot migrate"):
            await app.open(migrate=False)
        status = await app.db.migrate()
        assert status.up_to_date
        await app.open(migrate=False)
    finally:
        await app.close()


async def test_members_pseudonyms_are_unique_per_community_ignoring_case(
    app_factory: AppFactory, backend: dict[str, str | None]
) -> None:
    app = await app_factory(db_url=backend["db_url"], db_schema=backend["db_schema"])
    members = app.members
    first = await members.community("fake", "g1", "Circle One")
    again = await members.community("fake", "g1", "Circle One")
    other = await members.community("fake", "g2", "Circle Two")
    assert first.id == again.id != other.id
    await members.set_pseudonym(first.id, "fake:ana", "River")
    with pytest.raises(UserError, match="already uses that pseudonym"):
        await members.set_pseudonym(first.id, "fake:ben", "river")
    await members.set_pseudonym(other.id, "fake:ben", "River")  # another community is fine
    assert await members.pseudonym(first.id, "fake:ben") is None
    with pytest.raises(UserError, match="at most 32"):
        await members.set_pseudonym(first.id, "fake:ben", "x" * 33)
    with pytest.raises(UserError, match="invisible"):
        await members.set_pseudonym(first.id, "fake:ben", "Ri\u202ever")
    profile = await members.update_profile("fake:ana", timezone="Asia/Kolkata", country="IN")
    assert (profile.timezone, profile.country, profile.language) == ("Asia/Kolkata", "IN", None)
    await members.delete_user_data("fake:ana")
    assert await members.pseudonym(first.id, "fake:ana") is None
    assert (await members.profile("fake:ana")).timezone is None


async def test_profile_changes_keep_the_other_settings_and_are_what_the_database_holds(
    app_factory: AppFactory, backend: dict[str, str | None]
) -> None:
    """Random runs of setting and clearing zone, country and language, one or several at a
    time, for a member without a profile row yet and one with: after every change the answer,
    the stored row and (after a restart) a fresh read all equal a plain record of what was
    asked."""
    app = await app_factory(db_url=backend["db_url"], db_schema=backend["db_schema"])
    choices: dict[str, list[str | None]] = {
        "timezone": ["Europe/Berlin", "Asia/Kolkata", None],
        "country": ["IN", "DE", None],
        "language": ["de", "hi", None],
    }
    rng = random.Random(25)
    expected: dict[str, dict[str, str | None]] = {}
    for actor in ("fake:ana", "fake:ben", "fake:cy"):
        model: dict[str, str | None] = dict.fromkeys(choices)
        for _ in range(12):
            fields = rng.sample(sorted(choices), rng.randint(1, 3))
            asked = {field: rng.choice(choices[field]) for field in fields}
            info = await app.members.update_profile(actor, **asked)
            model.update(asked)
            assert (info.timezone, info.country, info.language) == tuple(model.values())
            async with app.db.sessions() as session:
                row = await session.get(Profile, actor)
            assert row is not None
            assert (row.timezone, row.country, row.language) == tuple(model.values())
        expected[actor] = model
    await app.close()
    restarted = await app_factory(
        db_url=backend["db_url"], db_schema=backend["db_schema"], name="restarted"
    )
    for actor, model in expected.items():
        read = await restarted.members.profile(actor)
        assert (read.timezone, read.country, read.language) == tuple(model.values())


async def test_dialogue_answers_are_encrypted_at_rest_and_survive_a_restart(
    app_factory: AppFactory, backend: dict[str, str | None]
) -> None:
    app = await app_factory(db_url=backend["db_url"], db_schema=backend["db_schema"])
    fake = FakePlatform(app)
    await fake.say("ana", "!me setup")
    said = await fake.say("ana", CANARY[:30], dm=True)
    assert "time zone" in said[-1].text
    async with app.db.engine.connect() as conn:
        raw = (await conn.execute(text("SELECT answers FROM conversation"))).scalar_one()
    assert CANARY[:30] not in raw
    assert raw.startswith("gAAAA")  # a Fernet token
    await app.close()

    restarted = await app_factory(
        db_url=backend["db_url"], db_schema=backend["db_schema"], name="restarted"
    )
    fake = FakePlatform(restarted)
    said = await fake.say("ana", "Europe/Dublin", dm=True)
    assert "Which country" in said[-1].text
    await fake.say("ana", "IE", dm=True)
    said = await fake.say("ana", "skip", dm=True)
    assert "All set" in said[-1].text
    shown = (await fake.say("ana", "!me"))[0].text
    assert CANARY[:30] in shown and "Europe/Dublin" in shown and "IE" in shown


async def test_sqlite_file_holds_no_plaintext_of_what_members_wrote(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    app = await app_factory()
    fake = FakePlatform(app)
    await fake.say("ana", "!me setup")
    await fake.say("ana", "skip", dm=True)
    await fake.say("ana", f"not a zone {CANARY}", dm=True)  # refused, never stored
    await fake.say("ana", "back", dm=True)
    await fake.say("ana", "Pseudo " + CANARY[:20], dm=True)
    await app.close()
    blob = b"".join(p.read_bytes() for p in tmp_path.glob("bot.sqlite3*"))
    assert blob, "the database file should exist"
    assert CANARY.encode() not in blob
    assert CANARY[:20].encode() not in blob
