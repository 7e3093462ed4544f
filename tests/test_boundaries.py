"""Architecture rules that keep the core portable."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SDKS = {"discord": "bot/adapters/discord", "nio": "bot/adapters/matrix"}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_only_the_adapters_import_a_chat_sdk() -> None:
    offenders = []
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("cogs/**/*.py")]:
        rel = path.relative_to(ROOT).as_posix()
        for sdk, home in SDKS.items():
            if sdk in imported_roots(path) and not rel.startswith(home + "/"):
                offenders.append(f"{rel} imports {sdk}")
    assert offenders == []


def test_the_scan_would_catch_a_leak(tmp_path: Path) -> None:
    leak = tmp_path / "leak.py"
    leak.write_text("from discord import Client\nimport nio.crypto\n")
    assert {"discord", "nio"} <= imported_roots(leak)


def test_every_cog_declares_a_data_statement_and_deletion_hook() -> None:
    from bot.core.cog import Cog
    from bot.core.loader import available_cogs, cog_class

    for name in available_cogs():
        cls = cog_class(name)
        assert cls.data_statement.strip(), name
        assert cls.delete_user_data is not Cog.delete_user_data, name
