"""A moderator's binding for one person on Matrix, typed as their user id, sets their tier.

`settings set facilitator_role @ana:example.org` must store the id exactly as the Matrix
adapter looks it up (`tier_for` matches the full user id, "@" included).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.adapters.matrix import tier_for
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
