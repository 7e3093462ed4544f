"""Panels: messages with an identity in their place, edited in place (`Message.panel`).

Shared by the platform adapters so that a panel behaves the same everywhere:

- The newest post of a panel in a place is its *live* message. An answer to a press (a button
  on Discord, a reaction on Matrix) on the live message edits that message in place.
- Any other post of the same panel there (a typed command, a meeting started again) is a new
  message, and the previous live one is *retired*: Discord disables its buttons, Matrix edits
  away its list of reactions. A press on a retired message is refused privately
  (`retired_refusal`) and changes nothing, whatever its action id says.
- Matrix also needs each panel message's reaction keys: `action_for` maps a message and an
  emoji to the action id, for live and retired messages alike.

Kept in memory, bounded (`KEPT`, oldest first out). The live message of each panel in a place
and its buttons (ids, labels, emoji: nothing a member wrote) are also saved in the adapter's
`adapter_state` row `panels:<place id>`, so after a restart the live panel is still edited in
place, its reactions still press on Matrix, and the next new post still retires it. Retired
messages are not saved: after a restart a press on one is judged by its action id alone (the
owning cog checks it against live state, as for any button); on Discord their buttons are
already greyed out.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import TypeVar

from bot.adapters.state import AdapterStore
from bot.core.message import Message
from bot.i18n import _

KEPT = 2000  # panel messages remembered (live and retired), per adapter
VARIATION_SELECTOR = "\ufe0f"  # clients add it to some emoji or not: "⏭" and "⏭️" are one

V = TypeVar("V")


@dataclass(frozen=True)
class LivePanel:
    """The live message of one panel in one place: its platform id and what it shows."""

    message_id: str
    message: Message


def retired_refusal() -> Message:
    """Said privately to whoever presses a button on a panel that a newer one replaced."""
    return Message.coerce(
        _("Those buttons belong to an earlier panel; please use the newest one below.")
    )


def emoji_key(emoji: str) -> str:
    """A reaction key as compared: without variation selectors."""
    return emoji.replace(VARIATION_SELECTOR, "")


def _keys(message: Message) -> dict[str, str]:
    return {emoji_key(a.emoji): a.id for a in message.actions if a.emoji}


class PanelBoard:
    """Which message is live for each (place, panel), which are retired, and their reactions."""

    def __init__(self, store: AdapterStore | None = None) -> None:
        self._live: dict[tuple[str, str], LivePanel] = {}
        self._retired: OrderedDict[str, None] = OrderedDict()
        self._actions: OrderedDict[str, dict[str, str]] = OrderedDict()
        self._store = store
        self._loaded: set[str] = set()

    async def load(self, place_id: str) -> None:
        """Read the live panels of `place_id` saved before a restart (once per place; what
        this process showed since wins)."""
        if self._store is None or place_id in self._loaded:
            return
        self._loaded.add(place_id)
        raw = await self._store.get(f"panels:{place_id}")
        for panel, saved in (json.loads(raw) if raw else {}).items():
            if (place_id, panel) in self._live:
                continue
            message = Message.from_json({"actions": saved["actions"]})
            self._live[(place_id, panel)] = LivePanel(saved["id"], message)
            self._remember(self._actions, saved["id"], _keys(message))

    async def save(self, place_id: str) -> None:
        """Save the live panels of `place_id` (ids and buttons only)."""
        if self._store is None:
            return
        saved = {
            panel: {"id": live.message_id, "actions": live.message.to_json()["actions"]}
            for (place, panel), live in self._live.items()
            if place == place_id
        }
        await self._store.put({f"panels:{place_id}": json.dumps(saved)})

    def live(self, place_id: str, panel: str) -> LivePanel | None:
        """The live message of `panel` in `place_id`, if this process posted or edited one."""
        return self._live.get((place_id, panel))

    def is_retired(self, message_id: str) -> bool:
        """True when a newer post of its panel replaced this message."""
        return message_id in self._retired

    def show(
        self, place_id: str, panel: str, message_id: str, message: Message
    ) -> LivePanel | None:
        """Record `message_id` as the live message of `panel` in `place_id`, showing
        `message`. Returns the previously live message when it was another one (the caller
        retires it on the platform), else None."""
        previous = self._live.get((place_id, panel))
        self._live[(place_id, panel)] = LivePanel(message_id, message)
        self._remember(self._actions, message_id, _keys(message))
        self._retired.pop(message_id, None)
        if previous is None or previous.message_id == message_id:
            return None
        self._remember(self._retired, previous.message_id, None)
        return previous

    def action_for(self, message_id: str, key: str) -> str | None:
        """The action id a reaction with `key` presses on a panel message (live or retired);
        None for another emoji or a message that is not a panel."""
        return self._actions.get(message_id, {}).get(emoji_key(key))

    @staticmethod
    def _remember(kept: OrderedDict[str, V], key: str, value: V) -> None:
        kept[key] = value
        kept.move_to_end(key)
        while len(kept) > KEPT:
            kept.popitem(last=False)
