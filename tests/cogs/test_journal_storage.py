"""Journal storage: nothing readable at rest, the same behaviour on PostgreSQL, prompt files."""

from __future__ import annotations

from pathlib import Path

from bot.clock import VirtualClock
from cogs.journal.prompts import load_prompts
from tests.harness.app import AppFactory, make_config
from tests.harness.journal import START, code_in, deliver, journal_app, texts
from tests.harness.platform import FakePlatform
from tests.harness.postgres import fresh_pg_schema, pg_url

CANARY = "QUOKKA-canary-7731"


async def test_nothing_a_member_writes_is_readable_in_the_database_files(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    app, fake = await journal_app(app_factory)
    await fake.say("ana", f'!journal write title:"{CANARY} title" private {CANARY} body')
    code = code_in(await fake.say("ana", f"!journal write visibility:shared shared {CANARY}"))
    await fake.say("ben", f"!journal feedback {code} feedback {CANARY}")
    await fake.say("ana", "!group create circle")
    await fake.say("ana", f"!group write circle group {CANARY}")
    await fake.say("ana", "!journal write", dm=True)
    await fake.say("ana", f"dialogue {CANARY}", dm=True)  # an unfinished dialogue, too
    await deliver(app)
    assert CANARY in texts(await fake.say("ana", f"!journal search {CANARY.lower()}"))
    files = [p for p in tmp_path.iterdir() if p.name.startswith("bot.sqlite3")]
    assert any(p.name.endswith("-wal") for p in files)
    for path in files:
        assert CANARY.encode() not in path.read_bytes(), path.name
        assert CANARY.encode("utf-16-le") not in path.read_bytes(), path.name


async def test_the_journal_on_postgresql(app_factory: AppFactory) -> None:
    async with fresh_pg_schema(migrated=True) as schema:
        config = make_config(cogs={"enabled": ["general", "journal"]})
        app = await app_factory(
            config, clock=VirtualClock(START), db_url=pg_url(), db_schema=schema
        )
        fake = FakePlatform(app)
        app.add_transport(fake)
        await fake.say("ana", "!me name River")
        private = code_in(await fake.say("ana", "!journal write mood:3 rough morning"))
        shared = code_in(await fake.say("ana", "!journal write visibility:shared better evening"))
        assert "River" in texts(await fake.say("ben", "!journal feed"))
        missing = texts(await fake.say("ben", "!journal read zzzzzz")).replace("zzzzzz", "ID")
        assert (
            texts(await fake.say("ben", f"!journal read {private}")).replace(private, "ID")
            == missing
        )
        await fake.say("ben", f"!journal feedback {shared} glad to read this")
        await deliver(app)
        assert any(s.where == "dm" and "glad to read this" in s.text for s in fake.said)
        assert "1 of your entries" in texts(await fake.say("ana", "!journal search morning"))
        assert private in texts(await fake.say("ana", "!journal list mood:1-4"))
        await fake.say("ana", "!group create pair")
        await fake.say("ana", "!group write pair together")
        assert "together" in texts(await fake.say("ana", "!group read pair"))
        await app.cogs["journal"].delete_user_data("fake:ben")
        read = texts(await fake.say("ana", f"!journal read {shared}"))
        assert "better evening" in read and "glad to read this" not in read
        await app.close()


def test_a_broken_prompt_file_is_reported_and_the_others_still_load(tmp_path: Path) -> None:
    (tmp_path / "good.toml").write_text('[[prompt]]\nid = "a"\ntext = "Write about today."\n')
    (tmp_path / "bad.toml").write_text('[[prompt]]\nid = "b"\ntext = "unterminated\n')
    (tmp_path / "odd.toml").write_text(
        '[[prompt]]\nid = "a"\ntext = "again"\n[[prompt]]\nid = "c"\ntext = "x"\ntags = ["nope"]\n'
    )
    prompts, problems = load_prompts(tmp_path)
    assert [p.id for p in prompts] == ["a"]
    shown = [str(p) for p in problems]
    assert any(p.startswith("bad.toml: line 3:") and "not valid TOML" in p for p in shown)
    assert "odd.toml: line 2: prompt 1 (a).id: 'a' is used twice" in shown
    assert any(p.startswith("odd.toml: line 7: prompt 2 (c).tag 1: must be one of") for p in shown)


def test_the_shipped_prompts_are_all_valid() -> None:
    prompts, problems = load_prompts()
    assert problems == [] and len(prompts) >= 15
