"""The kinds of meeting and how readers see their names."""

from __future__ import annotations

from bot.core import N_, _

KIND_LABELS = {
    "standard": N_("Standard meeting"),
    "family_friends": N_("Family & Friends"),
    "hosted_discussion": N_("Hosted discussion"),
    "other": N_("Other meeting"),
}
KINDS = tuple(KIND_LABELS)


def kind_label(kind: str) -> str:
    """A meeting kind as readers see it (`Family & Friends`), in the current language."""
    return _(KIND_LABELS[kind]) if kind in KIND_LABELS else kind
