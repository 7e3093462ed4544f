"""Which community an upgraded room belongs to, for any line of upgrades (no server needed).

A room upgrade must never split a community: every room of one upgrade line (the first room,
its replacement, the replacement's replacement...) belongs to the same community, whichever
room a member writes in, and a send to any of them goes to the newest.
"""

from __future__ import annotations

from itertools import pairwise
from types import SimpleNamespace
from typing import Any, cast

from hypothesis import given
from hypothesis import strategies as st

from bot.adapters.matrix.communities import Communities
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
