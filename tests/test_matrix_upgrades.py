"""Which community an upgraded room belongs to, for any line of upgrades (no server needed).

A room upgrade must never split a community: every room of one upgrade line (the first room,
its replacement, the replacement's replacement...) belongs to the same community, whichever
room a member writes in, and a send to any of them goes to the newest.
"""

from __future__ import annotations

from itertools import pairwise
from types import SimpleNamespace
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nio import JoinResponse, RoomGetStateEventResponse

from bot.adapters.matrix.communities import Communities, CommunityRef
from bot.adapters.matrix.upgrades import RoomUpgrades
from bot.config import MatrixCommunityConfig, MatrixConfig

# Lines of upgrades: each a list of distinct room ids, oldest first; lines share no room.
lines_of_rooms = st.lists(
    st.lists(st.integers(0, 10_000), min_size=1, max_size=5, unique=True),
    min_size=1,
    max_size=4,
).map(
    lambda lines: [
        [f"!r{line_no}x{n}:example.org" for n in line] for line_no, line in enumerate(lines)
    ]
)


def communities(lines: list[list[str]], configured: list[list[str]]) -> Communities:
    """Communities over `lines`, with `configured` rooms listed in config (one community per
    list), and the upgrades in `lines` already followed."""
    config = MatrixConfig(
        communities=[
            MatrixCommunityConfig(id=f"set{n}", rooms=rooms) for n, rooms in enumerate(configured)
        ]
    )
    rooms = {
        room: SimpleNamespace(display_name=f"name of {room}", replacement_room=None)
        for line in lines
        for room in line
    }
    client = SimpleNamespace(rooms=rooms, user_id="@bot:example.org")
    direct = SimpleNamespace(is_dm=lambda room_id: False)
    found = Communities(cast(Any, client), config, cast(Any, direct), cast(Any, None))
    for line in lines:
        for old, new in pairwise(line):
            found.successors[old] = new
    return found


@given(lines_of_rooms)
def test_every_room_of_an_upgrade_line_is_one_standalone_community(
    lines: list[list[str]],
) -> None:
    found = communities(lines, [])
    for line in lines:
        for room in line:
            ref = found.of(room)
            assert ref is not None
            assert ref.id == line[0]  # the community keeps the id it had before any upgrade
            assert ref.name == f"name of {line[-1]}"
            assert found.latest(room) == line[-1]
            assert found.lineage(room) == line
            assert found.id_of_left(room) == line[0]


@given(lines_of_rooms, st.data())
def test_a_configured_room_keeps_its_community_through_upgrades(
    lines: list[list[str]], data: st.DataObject
) -> None:
    # the config names one room of each line, as it was written at some point in time
    listed = [data.draw(st.sampled_from(line)) for line in lines]
    found = communities(lines, [[room] for room in listed])
    for n, line in enumerate(lines):
        for room in line:
            ref = found.of(room)
            assert ref is not None and ref.id == f"set{n}"
            assert found.id_of_left(room) == f"set{n}"


def test_an_upgrade_loop_in_saved_state_cannot_hang() -> None:
    found = communities([["!a:x", "!b:x"]], [])
    found.successors["!b:x"] = "!a:x"  # nonsense state: must still answer
    assert found.latest("!a:x") in {"!a:x", "!b:x"}
    assert set(found.lineage("!a:x")) == {"!a:x", "!b:x"}


class _UpgradeServer:
    """A homeserver as `RoomUpgrades` asks it: joins, the replacement's create event, leaves."""

    def __init__(self, predecessor: str | None, *, bot_in_new_room: bool) -> None:
        self.user_id = "@bot:example.org"
        self.create = {"predecessor": {"room_id": predecessor}} if predecessor else {}
        self.rooms: dict[str, Any] = {
            "!old:x": SimpleNamespace(
                display_name="Old", replacement_room="!new:x", users={self.user_id: None}
            )
        }
        if bot_in_new_room:
            self.rooms["!new:x"] = SimpleNamespace(
                display_name="New", replacement_room=None, users={self.user_id: None}
            )
        self.joined: list[str] = []
        self.left: list[str] = []

    async def join(self, room_id: str) -> JoinResponse:
        self.joined.append(room_id)
        return JoinResponse(room_id)

    async def room_get_state_event(
        self, room_id: str, event_type: str, state_key: str = ""
    ) -> RoomGetStateEventResponse:
        assert (room_id, event_type) == ("!new:x", "m.room.create")
        return RoomGetStateEventResponse(self.create, event_type, state_key, room_id)

    async def room_leave(self, room_id: str) -> None:
        self.left.append(room_id)


class _Saved:
    def __init__(self) -> None:
        self.upgrades: dict[str, str] = {}
        self.moved: list[tuple[str, str, str]] = []

    async def save_upgrades(self, successors: dict[str, str]) -> None:
        self.upgrades = dict(successors)

    async def place_moved(self, platform: str, old_id: str, new_id: str) -> None:
        self.moved.append((platform, old_id, new_id))


def _upgrades(server: _UpgradeServer) -> tuple[RoomUpgrades, Communities, _Saved]:
    direct = SimpleNamespace(is_dm=lambda room_id: False)
    found = Communities(cast(Any, server), MatrixConfig(), cast(Any, direct), cast(Any, None))
    saved = _Saved()
    upgrades = RoomUpgrades(cast(Any, server), found, cast(Any, saved), cast(Any, saved), "matrix")
    return upgrades, found, saved


@pytest.mark.parametrize("bot_in_new_room", [True, False])
@pytest.mark.parametrize("predecessor", [None, "!elsewhere:x"])
async def test_a_tombstone_pointing_at_a_room_that_does_not_replace_it_is_not_followed(
    predecessor: str | None, bot_in_new_room: bool
) -> None:
    # Whoever may set a tombstone in one room points it at another community's room: following
    # it would move this community (its settings, meetings and bindings) onto that room.
    server = _UpgradeServer(predecessor, bot_in_new_room=bot_in_new_room)
    upgrades, found, saved = _upgrades(server)
    assert await upgrades.follow("!old:x", "!new:x")
    assert saved.moved == [] and saved.upgrades == {} and found.successors == {}
    assert found.of("!old:x") == CommunityRef("!old:x", "Old")
    if bot_in_new_room:  # the other room stays its own community
        assert found.of("!new:x") == CommunityRef("!new:x", "New")
    assert await upgrades.current_room("!old:x") == "!old:x"  # posts stay in the old room
    assert found.unfollowed() == []  # not tried again on every sync
    # a room joined only to read its create event is left again; one the bot was in is kept
    assert server.left == ([] if bot_in_new_room else ["!new:x"])


async def test_a_real_upgrade_is_followed() -> None:
    server = _UpgradeServer("!old:x", bot_in_new_room=False)
    upgrades, found, saved = _upgrades(server)
    assert await upgrades.follow("!old:x", "!new:x")
    assert found.latest("!old:x") == "!new:x"
    assert server.joined == ["!new:x"] and server.left == []
    assert saved.moved == [("matrix", "!old:x", "!new:x")]
    assert saved.upgrades == {"!old:x": "!new:x"}
    assert await upgrades.current_room("!old:x") == "!new:x"
