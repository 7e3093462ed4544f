"""A moderator's binding for one person on Matrix, typed as their user id, sets their tier.

`settings set facilitator_role @ana:example.org` must store the id exactly as the Matrix
adapter looks it up (`tier_for` matches the full user id, "@" included).
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import cast

import nio
from hypothesis import given
from hypothesis import strategies as st

from bot.adapters.matrix import tier_for
from bot.adapters.matrix.responder import MatrixResponder, Outlet
from bot.core.identity import Actor, Place
from bot.core.permissions import Tier
from cogs.admin.cog import AdminCog

localparts = st.from_regex(r"[a-z0-9._=\-/]{1,20}", fullmatch=True)
servers = st.from_regex(r"[a-z0-9\-]{1,12}(\.[a-z]{2,6}){0,2}(:[0-9]{2,5})?", fullmatch=True)


@given(
    localparts, servers, st.sampled_from([Tier.FACILITATOR, Tier.MODERATOR]), st.integers(0, 49)
)
def test_a_person_bound_by_user_id_gets_that_tier(
    localpart: str, server: str, tier: Tier, level: int
) -> None:
    user_id = f"@{localpart}:{server}"
    stored = AdminCog._role(f"  {user_id} ")
    assert tier_for(level, {stored: int(tier)}, user_id, 25, 50) == tier


def test_discord_roles_and_power_levels_read_as_before() -> None:
    assert AdminCog._role("<@&123456789012345678>") == "123456789012345678"
    assert AdminCog._role("123456789012345678") == "123456789012345678"
    assert AdminCog._role("power:30") == "power:30"


@given(st.integers(-100, 100), st.integers(-100, 100))
def test_a_power_level_everyone_holds_is_never_a_staff_role(default: int, level: int) -> None:
    """`power:N` at or below the room's users_default is held by everyone who joins: binding
    it to a staff tier would make every member staff (`tier_for` grants by level >= N)."""
    room = nio.MatrixRoom("!circle:example.org", "@bot:example.org")
    room.power_levels.defaults.users_default = default
    outlet = SimpleNamespace(
        prefix="!", sender=SimpleNamespace(client=SimpleNamespace(rooms={room.room_id: room}))
    )
    place = Place("matrix", room.room_id, "space", False, "#circle")
    responder = MatrixResponder(cast("Outlet", outlet), Actor("matrix", "@a:x", "a"), place)
    everyone = asyncio.run(responder.held_by_everyone(f"power:{level}"))
    assert everyone == (
        tier_for(default, {f"power:{level}": 2}, "@new:x", 25, 50) is Tier.MODERATOR
    )
    assert not asyncio.run(responder.held_by_everyone("@ana:example.org"))
