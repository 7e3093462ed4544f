"""Matrix sends that will not succeed end as failed outbox items, quickly, visible in status.

A homeserver that keeps answering 429 is waited out only up to a total cap; a refusal
(M_FORBIDDEN) is failed at once. The nio client is real; only its HTTP answers are scripted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from nio import RoomSendError
from nio.rooms import MatrixRoom

from bot.adapters.matrix import sending as matrix_sending
from bot.adapters.matrix.adapter import MatrixAdapter
from bot.adapters.matrix.delivered import Found
from bot.clock import VirtualClock
from bot.core.errors import DeliveryError
from bot.core.message import Message
from bot.outbox import Target
from tests.harness.app import AppFactory, make_config
from tests.harness.console import status

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ROOM = "!circle:localhost"


async def matrix(app_factory: AppFactory, tmp_path: Path) -> tuple[Any, MatrixAdapter]:
    config = make_config(
        matrix={
            "enabled": True,
            "homeserver": "http://127.0.0.1:9",
            "user_id": "@bot:localhost",
            "access_token": "unused",
            "store_path": str(tmp_path / "store"),
        },
        cogs={"enabled": ["general"]},
    )
    db = f"sqlite+aiosqlite:///{tmp_path / 'm.sqlite3'}"
    app = await app_factory(config, clock=VirtualClock(START), db_url=db)
    adapter = MatrixAdapter(app)
    adapter.client.rooms[ROOM] = MatrixRoom(ROOM, "@bot:localhost")
    adapter.ready.set()  # as after the first sync
    app.add_transport(adapter)
    return app, adapter


def answering(*answers: Any) -> Any:
    calls: list[int] = []

    async def room_send(*_args: Any, **_kwargs: Any) -> Any:
        calls.append(1)
        return answers[min(len(calls), len(answers)) - 1]

    room_send.calls = calls  # type: ignore[attr-defined]
    return room_send


async def test_repeated_429s_are_waited_out_only_up_to_a_cap(
    app_factory: AppFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _app, adapter = await matrix(app_factory, tmp_path)
    monkeypatch.setattr(matrix_sending, "RATE_LIMIT_CAP_S", 0.2)
    limited = RoomSendError("slow down", "M_LIMIT_EXCEEDED", retry_after_ms=50)
    send = answering(limited)
    monkeypatch.setattr(adapter.client, "room_send", send)
    with pytest.raises(DeliveryError) as refused:
        await adapter.send(Target("matrix", ROOM), Message.of("hello"), "k1")
    assert refused.value.permanent and "rate limited" in str(refused.value)
    assert 3 <= len(send.calls) <= 6  # about cap / retry_after tries, then no more


async def test_a_refusal_fails_the_item_at_once_and_status_shows_it(
    app_factory: AppFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, adapter = await matrix(app_factory, tmp_path)
    send = answering(RoomSendError("You are not allowed to post here", "M_FORBIDDEN"))
    monkeypatch.setattr(adapter.client, "room_send", send)
    await app.outbox.enqueue("announce.1", Target("matrix", ROOM), Message.of("hi"), START)
    report = await app.outbox.deliver_due()
    assert (report.failed, len(send.calls)) == (1, 1)  # no retry of a permanent refusal
    assert await app.outbox.status_of("announce.1") == "failed"
    await app.leader.beat()
    shown = status(tmp_path / "m.sqlite3", tmp_path)
    assert (
        "Outbox: 1 failed (not delivered); the last: announce.1 (due 2026-12-01 09:00:00 UTC): "
        "the homeserver refused"
    ) in shown.stdout, shown.stdout
    assert "M_FORBIDDEN" in shown.stdout


@pytest.mark.parametrize(
    ("found", "ids"),
    [
        (Found({0: "$text"}, count=2, file_found="$file"), "$text $file"),  # file by its txn
        (Found({0: "$text", 1: "$file"}, count=2), "$text $file"),  # both by their markers
        (Found({0: "$text"}, count=2), None),  # the file is still to send
        (Found({0: "$only"}, count=1), "$only"),
    ],
)
def test_a_delivery_found_after_a_crash_names_every_piece(found: Found, ids: str | None) -> None:
    """What `find_sent` answers: every piece's event id, so a later delete redacts them all."""
    assert found.ids == ids
