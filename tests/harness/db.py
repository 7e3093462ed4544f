"""Database views for tests: every table's rows, to prove a refused command changed nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text, select, type_coerce

from bot.app import App
from bot.db import Base
from bot.maintenance import load_all_models


async def snapshot(app: App) -> dict[str, list[tuple[Any, ...]]]:
    load_all_models()
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with app.db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            columns = [type_coerce(c, Text()) for c in table.columns]
            out[table.name] = sorted(map(tuple, (await conn.execute(select(*columns))).all()))
    return out
