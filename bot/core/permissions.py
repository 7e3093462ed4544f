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
    """Where a command may be used.

    `COMMUNITY`: a community channel only (it posts there, or acts in or for the channel).
    `MEMBER`: a community channel, or a DM once the bot knows the member's community (the
    place's `community_id`: on Discord where they last used the bot, on Matrix a space or room
    they share with it): for commands that read or change only the member's own relation to
    the community, whose answers are private anyway (RSVPs, their pseudonym there).
    """

    ANY = "any"
    COMMUNITY = "community"
    MEMBER = "member"
    DM = "dm"

    def allows(self, *, is_dm: bool, community_known: bool) -> bool:
        """Whether a command of this scope runs in a place: a DM or not, and whether the
        place carries a community the bot knows."""
        if self is Scope.COMMUNITY:
            return community_known and not is_dm
        if self is Scope.MEMBER:
            return community_known
        if self is Scope.DM:
            return is_dm
        return True
