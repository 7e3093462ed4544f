"""The words of the admin cog: the settings card, set-up and settings replies, the audit log."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.core import Card, Field, Message, When, _, escape_markdown, person_label


def status(current: Mapping[str, str | None], helps: Mapping[str, str], title: str) -> Message:
    """Every setting (`helps`: name -> what it is) with its value, and what is still unset."""
    unset = [k for k, v in current.items() if v is None]
    fields = tuple(
        Field(
            f"{name} ({_(help_text)})",
            escape_markdown(current[name] or "") if current[name] else _("unset"),
            inline=True,
        )
        for name, help_text in helps.items()
    )
    footer = (
        _("Still unset: {keys}.").format(keys=", ".join(unset))
        if unset
        else _("Everything is set.")
    )
    return Message(card=Card(title=title, fields=fields, footer=footer))


def setup_title(saved: int) -> str:
    """The card's title after `setup`."""
    return _("Saved {n} settings.").format(n=saved) if saved else _("Community set-up")


def setup_hint(prefix: str) -> str:
    """`setup` with no options: how to give them."""
    return _(
        "Give any of the options to set them, e.g. `{prefix}setup timezone "
        "Europe/Berlin`; `{prefix}settings set KEY VALUE` changes one later."
    ).format(prefix=prefix)


def settings_title() -> str:
    """The card's title for `settings show`."""
    return _("Community settings")


def switched_off(names: Sequence[str]) -> str:
    """The parts switched off in this community."""
    return _("Switched off here: {cogs}.").format(cogs=", ".join(names))


def setting_changed(key: str, stored: object) -> str:
    """`settings set`: the new value, or that it was cleared."""
    if stored is None:
        return _("`{key}` is cleared.").format(key=key)
    return _("`{key}` is now {value}.").format(key=key, value=escape_markdown(str(stored)))


def switch_changed(key: str, on: bool) -> str:
    """`settings set` of an on/off setting."""
    if on:
        return _("`{key}` is on.").format(key=key)
    return _("`{key}` is off.").format(key=key)


def published_at(page_url: str | None, feed_url: str | None) -> str:
    """Where the public schedule is, once published (None: no public address configured)."""
    if page_url is None or feed_url is None:
        return _(
            "The schedule page appears once the bot's host sets `web.base_url` and serves "
            "the pages (`circlebot web`)."
        )
    return _(
        "Anyone can now see the meetings here (no member data) at {page}; calendars can "
        "subscribe at {feed}."
    ).format(page=page_url, feed=feed_url)


def always_on(name: str) -> str:
    """A part that is always on."""
    return _("`{name}` is always on; it cannot be switched off.").format(name=name[:32])


def no_such_part(name: str, parts: list[str]) -> str:
    """A name that names no part of the bot, with the parts that can be switched."""
    return _("`{name}` names no part of the bot. Parts you can switch: {parts}.").format(
        name=escape_markdown(name[:32]), parts=", ".join(f"`{p}`" for p in parts)
    )


def switched(name: str, on: bool, prefix: str = "!") -> str:
    """A part switched on or off here."""
    if on:
        return _("`{name}` is on here.").format(name=name)
    if name == "crisis":
        # Asking for help never fails: switching crisis off stops the moderators' crisis
        # commands, never the answer a member gets when asking for lines.
        return _(
            "`crisis` is off here: its moderators' commands are refused in this community. "
            "Members who ask for help (`{prefix}crisis`, or help words in a direct message) "
            "still get the crisis lines; asking for help is never switched off."
        ).format(prefix=prefix)
    return _("`{name}` is off here; its commands are refused in this community.").format(name=name)


def audit_empty(page: int, pages: int) -> str:
    """No lines on this page of the audit log."""
    if page > 1:
        return _("The audit log has {n} pages.").format(n=pages)
    return _("Nothing is in the audit log yet.")


def audit_line(at: datetime, who: str, action: str, detail: str) -> list[str | When]:
    """One audit line: when, who, what."""
    return ["- ", When(at, "full"), f" {who}: `{action}` `{detail.replace('`', chr(39))}`\n"]


def audit_page(lines: Sequence[list[str | When]], page: int, pages: int) -> Message:
    """A page of audit lines, newest first."""
    parts: list[str | When] = [part for line in lines for part in line]
    parts.append(_("Page {page} of {pages}.").format(page=page, pages=pages))
    return Message.of(*parts)


# The cog's replies: errors, questions and confirmations, each in the reader's language
# (cog.py only chooses which one to send).


def role_expected() -> str:
    return _("Give a role as a mention, a role id or a power level.")


def role_for_everyone(key: str) -> str:
    """A staff role that every member holds was refused."""
    return _(
        "Every member holds that role, so `{key}` would make everyone staff. Choose a role "
        "only your team holds. Nothing was changed."
    ).format(key=key)


def a_moderator() -> str:
    """Who did a mod-log line, once that moderator erased their data."""
    return person_label("moderator")


def audit_heading() -> str:
    return _("Audit log:")


def cannot_post(channel: object, key: object, reason: object) -> str:
    return _("I can't post in {channel} (`{key}`), so nothing was changed. {reason}").format(
        channel=channel, key=key, reason=reason
    )


def cannot_clear(key: object) -> str:
    return _("`{key}` cannot be cleared, only changed.").format(key=key)


def switch_expected(key: object) -> str:
    return _("`{key}` takes `on` or `off`; nothing was changed.").format(key=key)


def days_expected(key: object, low: object, n: object) -> str:
    """A period in days out of range (`low` to `n`), or not a number."""
    return _(
        "`{key}` takes a number of days from {low} to {n}, or `clear`. A shorter period would "
        "erase people who are only taking a break."
    ).format(key=key, low=low, n=n)


def retention_explained(days: int, warning_days: int) -> str:
    """What a retention period does, for the moderator who just set it."""
    return _(
        "From today, people who use no command here for {days} days have everything circlebot "
        "keeps about them erased (journal, toolbox, worksheets, RSVPs, settings), unless they "
        "are active in another community that keeps data longer. Each is told by direct "
        "message {warning} days before, with how to keep it or take a copy."
    ).format(days=days, warning=warning_days)


def alert_channel_readable(channel: object, why: object) -> str:
    return _(
        "Alerts name a member who may be struggling, so they go only to a "
        "channel that only moderators can read. {channel}: {why} Nothing was "
        "changed."
    ).format(channel=channel, why=why)
