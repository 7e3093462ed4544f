"""Cogs change the outbox's rows only through the `Outbox` (its `forget`, `replan`, `enqueue`).

A cog that deleted outbox rows itself dropped what a sent message needs to be deleted on the
platform (where it was posted, the platform's message id), so erasing a member left their
shared entry in the feed channel. Reading rows is fine (an export lists pending DMs); writing
them is the outbox's alone.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTBOX_MODELS = {"OutboxItem", "OutboxItemRef", "OutboxPlanStamp"}
OUTBOX_TABLES = ("outbox_item", "outbox_ref", "outbox_plan_stamp")
WRITES = {"delete", "update", "insert"}


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def outbox_writes(path: Path) -> list[str]:
    """Statements in one file that write the outbox's tables directly (line: what)."""
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            called = _name(node.func)
            first = _name(node.args[0]) if node.args else None
            if called in WRITES and first in OUTBOX_MODELS:
                found.append((node.lineno, f"{called}({first})"))
            elif called in OUTBOX_MODELS:
                found.append((node.lineno, f"a new {called} row"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.lower()
            if any(t in text for t in OUTBOX_TABLES) and any(w in text for w in WRITES):
                found.append((node.lineno, f"SQL text {node.value[:40]!r}"))
    return [f"{line}: {what}" for line, what in sorted(found)]


def test_no_cog_writes_the_outbox_tables_itself() -> None:
    offenders = [
        f"{path.relative_to(ROOT).as_posix()}:{where}"
        for path in sorted(ROOT.glob("cogs/**/*.py"))
        for where in outbox_writes(path)
    ]
    assert offenders == [], "use Outbox.forget (it deletes sent messages on the platform too)"


def test_the_scan_would_catch_a_side_door(tmp_path: Path) -> None:
    side = tmp_path / "side.py"
    side.write_text(
        "from sqlalchemy import delete, update\n"
        "from bot.core import OutboxItem, OutboxItemRef\n"
        "async def f(session):\n"
        "    await session.execute(delete(OutboxItem).where(OutboxItem.key == 'k'))\n"
        "    await session.execute(sa.update(OutboxItemRef).values(ref=''))\n"
        "    session.add(OutboxItem(key='k'))\n"
        "    await session.execute(text('DELETE FROM outbox_item'))\n"
        "    await session.scalars(select(OutboxItem))  # reading is fine\n"
    )
    assert [w.split(": ", 1)[1] for w in outbox_writes(side)] == [
        "delete(OutboxItem)",
        "update(OutboxItemRef)",
        "a new OutboxItem row",
        "SQL text 'DELETE FROM outbox_item'",
    ]
