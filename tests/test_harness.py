"""The test harness itself: where helpers may come from, and that its waiting helpers wait.

A test module that imports another test module couples two files nobody reads together: a
renamed helper breaks an unrelated test, and running one file runs another's module code.
Shared helpers live in tests/harness/ (see tests/README.md).
"""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.db import Database
from tests.harness.postgres import fresh_pg_schema, pg_url
from tests.harness.privacy_scan import SCHEMA_TEXT
from tests.harness.waiting import calls_after, quiet_period, wait_until

ROOT = Path(__file__).resolve().parent.parent


def is_test_module(module: str) -> bool:
    """True for a dotted module name under `tests` that is a test module or a conftest."""
    parts = module.split(".")
    return parts[0] == "tests" and (parts[-1].startswith("test_") or parts[-1] == "conftest")


def imported_test_modules(source: str, module: str) -> list[str]:
    """The test modules (and conftests) `source`, the text of `module`, imports.

    Relative imports are resolved against `module`'s package; `from tests.e2e import test_x`
    counts too. Raises SyntaxError for unparsable source.
    """
    package = module.split(".")[:-1]
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if is_test_module(a.name)]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            if is_test_module(target):
                found.append(target)
            found += [
                f"{target}.{a.name}" for a in node.names if is_test_module(f"{target}.{a.name}")
            ]
    return found


def python_files() -> list[Path]:
    return sorted([*(ROOT / "tests").rglob("*.py"), *(ROOT / "benchmarks").rglob("*.py")])


def test_no_test_module_imports_another_test_module() -> None:
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in python_files()
        if (
            found := imported_test_modules(
                path.read_text(encoding="utf-8"),
                ".".join(path.relative_to(ROOT).with_suffix("").parts),
            )
        )
    }
    assert offenders == {}, "move shared helpers to tests/harness/ (see tests/README.md)"


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("from tests.e2e.test_matrix_adapter import scene", "tests.e2e.test_x", 1),
        ("import tests.cogs.test_admin", "tests.test_x", 1),
        ("from tests.e2e import test_discord_adapter", "tests.test_x", 1),
        ("from .test_journal import texts", "tests.cogs.test_x", 1),
        ("from ..conftest import make_config", "tests.cogs.test_x", 1),
        ("from tests.conftest import app_factory", "benchmarks.x", 1),
        ("from tests.harness.matrix import scene", "tests.e2e.test_x", 0),
        ("from tests.harness import console", "tests.test_x", 0),
        ("from .harness.app import make_config", "tests.test_x", 0),
        ("import bot.adapters.matrix", "tests.test_x", 0),
    ],
)
def test_the_import_check_catches_every_way_to_import_a_test_module(
    source: str, module: str, expected: int
) -> None:
    assert len(imported_test_modules(source, module)) == expected


# -- waiting ---------------------------------------------------------------------------------


async def test_a_quiet_period_catches_a_message_that_arrives_late() -> None:
    received: list[str] = ["first"]

    async def late_sender() -> None:
        for delay, text in ((0.15, "late"), (0.15, "later still")):
            await asyncio.sleep(delay)
            received.append(text)

    sender = asyncio.create_task(late_sender())
    assert len(received) == 1  # what an immediate check (or a short sleep) would have seen
    count = await quiet_period(lambda: len(received), quiet_seconds=0.25, within_seconds=5)
    await sender
    assert count == 3 == len(received)


async def test_a_quiet_period_fails_when_messages_never_stop() -> None:
    received: list[int] = []

    async def flood() -> None:
        while True:
            received.append(1)
            await asyncio.sleep(0.02)

    task = asyncio.create_task(flood())
    try:
        with pytest.raises(AssertionError, match="still changing"):
            await quiet_period(lambda: len(received), quiet_seconds=0.2, within_seconds=0.6)
    finally:
        task.cancel()


async def test_calls_after_waits_for_the_calls_and_restores_the_method() -> None:
    class Poller:
        def __init__(self) -> None:
            self.polls = 0

        async def check(self) -> None:
            self.polls += 1

    poller = Poller()

    async def loop() -> None:
        while True:
            await poller.check()
            await asyncio.sleep(0.01)

    task = asyncio.create_task(loop())
    try:
        await calls_after(poller, "check", 3, within_seconds=5)
        assert poller.polls >= 3
        assert "check" not in vars(poller)  # the class's method again
        with pytest.raises(AssertionError, match=r"5 calls of Poller\.check"):
            await calls_after(Poller(), "check", 5, within_seconds=0.1)  # nobody polls it
    finally:
        task.cancel()


async def test_wait_until_names_what_never_happened() -> None:
    with pytest.raises(AssertionError, match=r"the reply did not happen within 0\.05 s"):
        await wait_until(lambda: False, within_seconds=0.05, what="the reply")


# -- layout ----------------------------------------------------------------------------------


def test_the_tests_of_a_cog_are_found_by_its_name() -> None:
    """tests/cogs/test_NAME[_aspect].py names an existing cog, so `ls tests/cogs/test_journal*`
    finds every journal test (tests/README.md)."""
    cogs = {p.name for p in (ROOT / "cogs").iterdir() if (p / "__init__.py").exists()}
    stray = [
        path.name
        for path in (ROOT / "tests" / "cogs").glob("test_*.py")
        if not any(path.stem == f"test_{c}" or path.stem.startswith(f"test_{c}_") for c in cogs)
    ]
    assert stray == [], f"name cog tests tests/cogs/test_<cog>[_aspect].py; cogs: {sorted(cogs)}"


async def test_a_replayed_postgresql_schema_is_the_migrated_schema() -> None:
    """`fresh_pg_schema(migrated=True)` replays what migrating wrote; the result has every
    table, column, constraint, index and applied revision that Alembic's own run gives."""

    async def described(schema: str) -> tuple[list[tuple[Any, ...]], list[str], bool]:
        db = Database(pg_url(), schema=schema)
        try:
            async with db.engine.connect() as conn:
                text = await conn.exec_driver_sql(SCHEMA_TEXT["postgresql"])
                versions = await conn.exec_driver_sql("SELECT version_num FROM alembic_version")
                shape = [tuple(row) for row in text]
                applied = sorted(row[0] for row in versions)
            return shape, applied, (await db.status()).up_to_date
        finally:
            await db.close()

    async with fresh_pg_schema() as migrated, fresh_pg_schema(migrated=True) as replayed:
        db = Database(pg_url(), schema=migrated)
        try:
            await db.migrate()
        finally:
            await db.close()
        by_alembic = await described(migrated)
        assert by_alembic[0] and by_alembic[1] and by_alembic[2]
        assert await described(replayed) == by_alembic
