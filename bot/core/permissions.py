"""Tiers: who may run what. A higher tier implies every lower one."""

from __future__ import annotations

from enum import Enum, IntEnum


class Tier(IntEnum):
    """Ordered permission tiers, in the spirit of Red-DiscordBot's privilege levels."""

    MEMBER = 0
    FACILITATOR = 1
    MODERATOR = 2
    OWNER = 3

    @property
    def label(self) -> str:
        """Lower-case name used in help texts and commands."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Tier:
        """Read a tier name typed by a person (`moderator`, `Mod`, ...)."""
        cleaned = text.strip().lower()
        aliases = {"mod": "moderator", "fac": "facilitator", "admin": "moderator"}
        cleaned = aliases.get(cleaned, cleaned)
        for tier in cls:
            if tier.label == cleaned:
                return tier
        raise ValueError(cleaned)


def may_act(held: Tier, needed: Tier, *, named: bool) -> bool:
    """The one rule for who may run a command of tier `needed`: whoever holds that tier (or a
    higher one), and for a facilitator's command also whoever is the named facilitator of the
    meeting the command runs while that meeting is current (`named`; the meetings cog says
    when: `bot.core.dispatch.NamedFacilitator`). Never more than the facilitator tier."""
    return held >= needed or (needed is Tier.FACILITATOR and named)


class Scope(Enum):
    """Where a command may be used."""

    ANY = "any"
    COMMUNITY = "community"
    DM = "dm"
