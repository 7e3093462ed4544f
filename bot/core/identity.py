"""Who is speaking and where, independent of the chat platform."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """A person (or the bot) on one platform.

    Rows store `key`, never the display name, so renames never orphan data.
    """

    platform: str
    id: str
    display_name: str = ""

    @property
    def key(self) -> str:
        """Stable identity such as `discord:1234` or `matrix:@ana:example.org`."""
        return f"{self.platform}:{self.id}"

    @property
    def name(self) -> str:
        """What to call this person when no pseudonym is set."""
        return self.display_name or self.id

    @staticmethod
    def platform_of(key: str) -> str:
        """The platform part of a stored actor key."""
        return key.split(":", 1)[0]


@dataclass(frozen=True)
class Place:
    """A channel, room or DM on one platform.

    `community_id` is the platform's id of the guild/space the place belongs to; DMs have none.
    """

    platform: str
    id: str
    community_id: str | None = None
    is_dm: bool = False
    name: str = ""

    @property
    def key(self) -> str:
        """Stable identity of the place, stored in rows that point at channels."""
        return f"{self.platform}:{self.id}"

    @property
    def label(self) -> str:
        """A short human label, e.g. `#general`."""
        return self.name or self.id
