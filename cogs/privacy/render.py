"""A member's export as a document for a person, and short counts for the erase confirmation.

The Markdown reads top to bottom: one heading per part of the bot with what it keeps and why,
one heading per kind of record, then each record as a plain sentence or two, with what the
member wrote quoted under it. Dates are written out in the member's own zone; other people
appear only as the service already named them (their pseudonym, "another member", "you").
Internal fields (row numbers, version counters, delivery keys, dialogue ids) are left out; the JSON
file beside it has everything, for programs.

Known kinds of records have their own sentence (`SENTENCES`); a kind added later without one
is still shown, as labelled lines in plain words, so nothing stored is ever missing here.
Written by hand rather than with a template engine: each sentence needs a few conditions
(shared or private, moved or cancelled) that read more plainly as Python than as template logic.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.core import Command, Message, When, _, escape_markdown, fill_parts, person_label

# Fields that mean nothing to a person: database row numbers, counters, delivery bookkeeping.
HIDDEN = {
    "id",
    "version",
    "token",
    "key",
    "attempts",
    "source",
    "outbox_key",
    "format",
    "uid",
    "revision",
    "history",
    "flow_id",
    "platform_message_id",
}
DAYS = {"MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday"}
DAYS |= {"FR": "Friday", "SA": "Saturday", "SU": "Sunday"}
UNITS = {"DAILY": ("day", "days"), "WEEKLY": ("week", "weeks"), "MONTHLY": ("month", "months")}
UNITS |= {"YEARLY": ("year", "years")}


class Writer:
    """Turns one export's values into words: dates in `zone`, communities by name."""

    def __init__(self, zone: ZoneInfo, communities: dict[str, str]) -> None:
        self.zone = zone
        self.communities = communities

    def when(self, value: Any) -> str:
        """An ISO moment as "1 December 2026, 09:00" in the member's zone; a date as a date.

        A local time without an offset (a meeting's own clock) is written as it is.
        """
        text = str(value)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return text
        if len(text) <= 10:
            return f"{moment.day} {moment:%B %Y}"
        if moment.tzinfo is not None:
            moment = moment.astimezone(self.zone)
        return f"{moment.day} {moment:%B %Y, %H:%M}"

    def community(self, value: Any) -> str:
        """A community's name (its number only when the export did not name it)."""
        if value is None:
            return _("no community")
        return self.communities.get(str(value), _("a community"))

    def label(self, key: str) -> str:
        """`created_at` -> "Created", `remind_minutes` -> "Remind minutes"."""
        base = key
        for suffix in ("_key", "_at", "_id", "_on"):
            if base.endswith(suffix) and len(base) > len(suffix):
                base = base[: -len(suffix)]
                break
        return base.replace("_", " ").replace(".", " ").strip().capitalize() or key

    def plain(self, key: str, value: Any) -> str:
        """Any value in words (fallback for fields without a sentence)."""
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        if key == "community_id":
            return self.community(value)
        if isinstance(value, dict):
            return "; ".join(
                f"{self.label(k)}: {self.plain(k, v)}" for k, v in value.items() if not _empty(v)
            )
        if isinstance(value, list):
            return ", ".join(self.plain(key, v) for v in value)
        text = str(value)
        if key.endswith(("_at", "_on", "date", "_since")) or key in {"when", "occurrence"}:
            return self.when(text)
        return text.replace("_", " ") if re.fullmatch(r"[a-z_.]+", text) else text


ISO_MOMENT = re.compile(
    r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[+-]\d{2}:\d{2}|Z)?"
)


def _moments(w: Writer, text: str) -> str:
    """Text with every ISO moment in it written out (a stored message, an action's detail)."""
    return ISO_MOMENT.sub(lambda m: w.when(m.group(0).replace("Z", "+00:00")), text)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _quote(text: Any) -> list[str]:
    return [f"> {line}" if line else ">" for line in str(text).split("\n")]


def _name(text: Any) -> str:
    return f"“{text}”"


Sentence = Callable[[Writer, dict[str, Any], dict[str, Any]], list[str]]


def _profile(w: Writer, r: dict[str, Any], _ctx: dict[str, Any]) -> list[str]:
    parts = []
    if r.get("timezone"):
        parts.append(_("Your time zone is {zone}.").format(zone=r["timezone"]))
    if r.get("country"):
        parts.append(_("Your country is {country}.").format(country=r["country"]))
    if r.get("language"):
        parts.append(_("Your language is {language}.").format(language=r["language"]))
    if r.get("updated_at"):
        parts.append(_("Last changed on {when}.").format(when=w.when(r["updated_at"])))
    return [" ".join(parts)] if parts else []


def _membership(w: Writer, r: dict[str, Any], _ctx: dict[str, Any]) -> list[str]:
    name = r.get("community_name") or w.community(r.get("community_id"))
    text = _("In **{community}** since {when}").format(
        community=name, when=w.when(r.get("joined_at"))
    )
    if r.get("pseudonym"):
        return [text + ", " + _("under the name {name}.").format(name=_name(r["pseudonym"]))]
    return [text + ", " + _("with no name chosen (others see “a member”).")]


def _dialogue(w: Writer, r: dict[str, Any], _ctx: dict[str, Any]) -> list[str]:
    lines = [
        _("A dialogue you started on {start} in {community} and have not finished.").format(
            start=w.when(r.get("started_at")), community=w.community(r.get("community_id"))
        )
    ]
    answers = r.get("answers") or {}
    if isinstance(answers, dict) and answers:
        lines += ["", _("Your answers so far:"), ""]
        lines += [f"- {w.label(str(k))}: {w.plain('', v)}" for k, v in answers.items()]
    return lines


def _verified(w: Writer, r: dict[str, Any], _ctx: dict[str, Any]) -> list[str]:
    return [
        _("You checked the help line {entry} in {community} on {when}.").format(
            entry=_name(r.get("entry")),
            community=w.community(r.get("community_id")),
            when=w.when(r.get("verified_on")),
        )
    ]


VISIBILITY = {
    "shared": "shared with the community",
    "private": "private, for you only",
    "group": "in a group journal",
}


def _entry(w: Writer, r: dict[str, Any], _ctx: dict[str, Any]) -> list[str]:
    title = r.get("title") or _("Untitled")
    seen = _(VISIBILITY.get(str(r.get("visibility")), str(r.get("visibility"))))
    text = _("**{title}**, written on {when} in {community}, {seen}.").format(
        title=title,
        when=w.when(r.get("created_at")),
        community=w.community(r.get("community_id")),
        seen=seen,
    )
    if r.get("mood") is not None:
        text += " " + _("Mood: {mood} of 10.").format(mood=r["mood"])
    if r.get("visibility") == "shared":
        text += " " + (
            _("Others can leave feedback.") if r.get("feedback_open") else _("Feedback is closed.")
        )
    if r.get("edited_at"):
        text += " " + _("Last edited on {when}.").format(when=w.when(r["edited_at"]))
    if r.get("removed_at"):
        text += " " + _("A moderator took it out of view on {when}.").format(
            when=w.when(r["removed_at"])
        )
    if r.get("code"):
        text += " " + _("Its code is `{code}`.").format(code=r["code"])
    return [text, "", *_quote(r.get("body", ""))]


def _feedback(w: Writer, r: dict[str, Any], _ctx: dict[str, Any]) -> list[str]:
    text = _("Feedback you left on {when}").format(when=w.when(r.get("created_at")))
    if r.get("removed_at"):
        text += _(", taken out of view by a moderator on {when}").format(
            when=w.when(r["removed_at"])
        )
    if r.get("code"):
        text += " " + _("(code `{code}`)").format(code=r["code"])
    return [text + ":", "", *_quote(r.get("body", ""))]


def _group(w: Writer, r: dict[str, Any], _ctx: dict[str, Any]) -> list[str]:
    text = _("**{name}** in {community}").format(
        name=r.get("name"), community=w.community(r.get("community_id"))
    )
    if r.get("joined_at"):
        text += ", " + _("joined on {when}").format(when=w.when(r["joined_at"]))
    else:
        text += ", " + _("set up on {when}").format(when=w.when(r.get("created_at")))
    if r.get("owner_key") == "you":
        text += " " + _("(you set it up)")
    elif r.get("owner_key"):
        text += " " + _("(set up by {name})").format(name=r["owner_key"])
    return [text + "."]


def _invite(w: Writer, r: dict[str, Any], _ctx: dict[str, Any]) -> list[str]:
    return [
        _(
            "An invitation from {inviter} to {invitee} to join a group journal, sent on "
            "{when} and valid until {until} (code `{code}`)."
        ).format(
            inviter=r.get("inviter_key") or _("another member"),
            invitee=r.get("invitee_key") or _("another member"),
            when=w.when(r.get("created_at")),
            until=w.when(r.get("expires_at")),
            code=r.get("code"),
        )
    ]


def _titles(ctx: dict[str, Any]) -> dict[str, str]:
    """Meeting id -> title, from the records of the meetings cog that carry both."""
    found: dict[str, str] = {}
    for kind in ("meetings_created", "facilitating", "rsvps"):
        for row in ctx.get(kind) or []:
            if not isinstance(row, dict):
                continue
            number = row.get("id") if kind == "meetings_created" else row.get("meeting_id")
            title = row.get("title") or row.get("meeting_title")
            if number is not None and title:
                found[str(number)] = str(title)
    return found


def _meeting_name(r: dict[str, Any], ctx: dict[str, Any]) -> str:
    title = r.get("meeting_title") or _titles(ctx).get(str(r.get("meeting_id")))
    return _name(title) if title else _("a meeting")


def _rsvp(w: Writer, r: dict[str, Any], ctx: dict[str, Any]) -> list[str]:
    when = (
        _("on {when}").format(when=w.when(r["occurrence"]))
        if r.get("occurrence")
        else _("every time it meets")
    )
    text = _("You said you are going to {meeting} {when}").format(
        meeting=_meeting_name(r, ctx), when=when
    )
    if r.get("remind_minutes") is not None:
        text += ", " + _("with a reminder {n} minutes before").format(n=r["remind_minutes"])
    return [text + " " + _("(told on {when}).").format(when=w.when(r.get("created_at")))]


def _facilitating(w: Writer, r: dict[str, Any], ctx: dict[str, Any]) -> list[str]:
    return [
        _("You facilitate {meeting} in {community}.").format(
            meeting=_meeting_name(r, ctx), community=w.community(r.get("community_id"))
        )
    ]


def _repeats(rule: Any) -> str:
    """An RRULE in words ("every week on Wednesday"); "" when it does not repeat."""
    if not rule:
        return ""
    parts = dict(p.split("=", 1) for p in str(rule).split(";") if "=" in p)
    unit = UNITS.get(parts.get("FREQ", ""))
    if unit is None:
        return _("It repeats.")
    every = int(parts.get("INTERVAL", "1") or 1)
    text = _("It repeats every {unit}").format(
        unit=unit[0] if every == 1 else f"{every} {unit[1]}"
    )
    days = [DAYS[d[-2:]] for d in parts.get("BYDAY", "").split(",") if d[-2:] in DAYS]
    if days:
        text += " " + _("on {days}").format(days=", ".join(days))
    return text + "."


def _meeting(w: Writer, r: dict[str, Any], _ctx: dict[str, Any]) -> list[str]:
    text = _(
        "**{title}** in {community}, first on {start} ({zone}), {minutes} minutes long."
    ).format(
        title=r.get("title"),
        community=w.community(r.get("community_id")),
        start=w.when(r.get("start_local")),
        zone=r.get("timezone") or "UTC",
        minutes=r.get("duration_minutes"),
    )
    repeats = _repeats(r.get("rrule"))
    if repeats:
        text += " " + repeats
    if r.get("location_label") or r.get("location"):
        text += " " + _("Where: {place}.").format(
            place=r.get("location_label") or r.get("location")
        )
    text += " " + _("You set it up on {when}.").format(when=w.when(r.get("created_at")))
    if r.get("cancelled"):
        text += " " + _("It is cancelled.")
    lines = [text]
    if r.get("cancel_note"):
        lines += ["", *_quote(r["cancel_note"])]
    return lines


def _change(w: Writer, r: dict[str, Any], ctx: dict[str, Any]) -> list[str]:
    what = (
        _("moved to {when}").format(when=w.when(r["new_start"]))
        if r.get("new_start")
        else _("cancelled")
    )
    text = _("{meeting} on {date}: {what} by {who} on {when}.").format(
        meeting=_meeting_name(r, ctx),
        date=w.when(r.get("occurrence")),
        what=what,
        who=r.get("created_by") or person_label("some facilitator"),
        when=w.when(r.get("created_at")),
    )
    return [text, "", *_quote(r["note"])] if r.get("note") else [text]


def _reminders_off(w: Writer, r: Any, _ctx: dict[str, Any]) -> list[str]:
    return [_("You turned meeting reminders off on {when}.").format(when=w.when(r))]


def _last_seen(w: Writer, r: dict[str, Any], _ctx: dict[str, Any]) -> list[str]:
    return [
        _("Last seen in {community} on {when}.").format(
            community=w.community(r.get("community_id")), when=w.when(r.get("seen_at"))
        )
    ]


def _running(w: Writer, r: dict[str, Any], _ctx: dict[str, Any]) -> list[str]:
    text = _(
        "A meeting script ({script}) running for {meeting} in {community} since {when}."
    ).format(
        script=_name(r.get("script")),
        meeting=_name(r.get("meeting")) if r.get("meeting") else _("a meeting"),
        community=w.community(r.get("community_id")),
        when=w.when(r.get("started_at")),
    )
    roles = r.get("roles") or []
    if roles:
        text += " " + _("You are in it as: {roles}.").format(roles=", ".join(map(str, roles)))
    if r.get("name_shown"):
        text += " " + _("Shown as {name}.").format(name=_name(r["name_shown"]))
    return [text]


def _imported(w: Writer, r: dict[str, Any], _ctx: dict[str, Any]) -> list[str]:
    return [
        _("The script {name}, brought in by {who} in {community}, last changed on {when}.").format(
            name=_name(r.get("name")),
            who=r.get("created_by") or person_label("moderator"),
            community=w.community(r.get("community_id")),
            when=w.when(r.get("updated_at")),
        )
    ]


def _item(w: Writer, r: dict[str, Any], _ctx: dict[str, Any]) -> list[str]:
    kind = str(r.get("worksheet_id") or _("worksheet")).replace("_", " ")
    lines = [
        _("**#{n}**, {kind}, saved on {when}.").format(
            n=r.get("number"), kind=kind, when=w.when(r.get("created_at"))
        ),
        "",
    ]
    answers = r.get("answers") or {}
    if isinstance(answers, dict):
        lines += [
            f"- {w.label(str(k))}: {w.plain(str(k), v)}"
            for k, v in answers.items()
            if not _empty(v)
        ]
    return lines


def _share(w: Writer, r: dict[str, Any], ctx: dict[str, Any]) -> list[str]:
    numbers = {
        str(row.get("id")): row.get("number")
        for row in ctx.get("toolbox") or []
        if isinstance(row, dict)
    }
    when = w.when(r.get("created_at"))
    if r.get("owner_key") == "you":
        number = numbers.get(str(r.get("item_id")))
        item = _("item #{n}").format(n=number) if number else _("an item")
        return [
            _("You shared {item} of your toolbox with {who} on {when}.").format(
                item=item, who=r.get("recipient_key") or _("another member"), when=when
            )
        ]
    return [
        _("{who} shared an item of their toolbox with you on {when}.").format(
            who=str(r.get("owner_key") or _("another member")).capitalize(), when=when
        )
    ]


def _action(w: Writer, r: dict[str, Any], _ctx: dict[str, Any]) -> list[str]:
    action = str(r.get("action", "")).replace(".", ": ").replace("_", " ")
    text = _("On {when} in {community}: {action}").format(
        when=w.when(r.get("created_at")),
        community=w.community(r.get("community_id")),
        action=action,
    )
    detail = _moments(w, str(r.get("detail") or "").replace("_", " "))
    return [text + (f" ({detail})." if detail else ".")]


def _message(w: Writer, r: dict[str, Any], _ctx: dict[str, Any]) -> list[str]:
    text = _("A private message to you, due on {when}, not sent yet:").format(
        when=w.when(r.get("due_at"))
    )
    return [text, "", *_quote(_moments(w, str(r.get("message", ""))))]


# kind -> (heading, sentence). The heading names the kind for a person.
SENTENCES: dict[str, tuple[str, Sentence]] = {
    "profile": ("Your settings", _profile),
    "communities": ("Communities and your name in each", _membership),
    "unfinished_dialogues": ("Dialogues you have not finished", _dialogue),
    "verified_entries": ("Help lines you checked", _verified),
    "entries": ("Your journal entries", _entry),
    "feedback_written": ("Feedback you left on others' entries", _feedback),
    "groups": ("Group journals you are in", _group),
    "groups_owned": ("Group journals you set up", _group),
    "invites": ("Invitations to group journals", _invite),
    "rsvps": ("Meetings you said you are going to", _rsvp),
    "facilitating": ("Meetings you facilitate", _facilitating),
    "meetings_created": ("Meetings you set up", _meeting),
    "occurrence_changes": ("Dates you moved or cancelled", _change),
    "reminders_off_since": ("Meeting reminders", _reminders_off),
    "last_seen": ("When you were last seen", _last_seen),
    "running_meetings": ("Meetings running a script now", _running),
    "imported_scripts": ("Scripts you brought in", _imported),
    "toolbox": ("Your toolbox", _item),
    "shares": ("Toolbox items shared", _share),
    "moderator_actions": ("What you did as a moderator", _action),
    "messages_to_you": ("Messages waiting to be sent to you", _message),
}


def _generic(w: Writer, record: Any) -> list[str]:
    """A record of a kind without its own sentence: labelled lines, internal fields left out."""
    if not isinstance(record, dict):
        return [f"- {w.plain('', record)}"]
    lines = []
    for key, value in record.items():
        if key in HIDDEN or (key.endswith("_id") and key != "community_id") or _empty(value):
            continue
        shown = w.plain(key, value)
        if "\n" in shown:
            lines += [f"- {w.label(key)}:", *_quote(shown)]
        else:
            lines.append(f"- {w.label(key)}: {shown}")
    return lines


def _section(w: Writer, data: dict[str, Any]) -> list[str]:
    if not any(not _empty(v) for v in data.values()):
        return [_("Nothing stored."), ""]
    lines: list[str] = []
    for kind, value in data.items():
        if _empty(value):
            continue
        heading, sentence = SENTENCES.get(kind, (w.label(kind), None))
        lines += [f"### {_(heading)}", ""]
        for item in value if isinstance(value, list) else [value]:
            if sentence is not None and (isinstance(item, dict) or not isinstance(value, list)):
                body = sentence(w, item, data)
            else:
                body = _generic(w, item)
            lines += [*body, ""]
    return lines


def markdown(
    export: dict[str, Any],
    titles: dict[str, str],
    statements: dict[str, str] | None = None,
    zone: ZoneInfo | None = None,
) -> str:
    """The whole export as a Markdown document for a person, one section per part of the bot.

    Args:
        export: what `PrivacyService.export` returns.
        titles: cog name -> its description, as the section heading.
        statements: cog name -> what it stores and why, shown under the heading.
        zone: the member's zone for dates (their own setting, else the community's; UTC).
    """
    statements = statements or {}
    zone = zone or ZoneInfo("UTC")
    communities: dict[str, str] = export.get("communities", {})
    w = Writer(zone, communities)
    lines = [
        "# " + _("Everything this bot stores about you"),
        "",
        _("Made on {when} for your account {account}. Times are in {zone}.").format(
            when=w.when(export["exported_at"]), account=export["account"], zone=zone.key
        ),
        _(
            "Other people appear by the name they chose in a community you share, or as "
            "“another member”; never by their account. The JSON file sent with this one holds "
            "the same, for programs."
        ),
        "",
    ]
    if communities:
        lines += [
            _("Communities you are in: {names}.").format(names=", ".join(communities.values())),
            "",
        ]
    for name, data in export["cogs"].items():
        lines += [f"## {titles.get(name, name)}", ""]
        if statements.get(name):
            lines += [f"*{statements[name]}*", ""]
        lines += _section(w, data)
    lines += ["## " + _("The bot itself"), ""]
    lines += _section(w, export["core"])
    return "\n".join(lines).rstrip() + "\n"


def counts(export: dict[str, Any], titles: dict[str, str]) -> list[str]:
    """One line per part of the bot that holds something: how many records of each kind."""
    w = Writer(ZoneInfo("UTC"), {})
    out: list[str] = []
    sections = [*export["cogs"].items(), ("core", export["core"])]
    for name, data in sections:
        parts: list[str] = []
        for key, value in data.items():
            if isinstance(value, list) and value:
                parts.append(f"{w.label(key).lower()}: {len(value)}")
            elif isinstance(value, dict | str) and value:
                parts.append(w.label(key).lower())
        if parts:
            title = titles.get(name, _("The bot itself") if name == "core" else name)
            out.append(f"- **{title}**: " + ", ".join(parts))
    return out


# The cog's replies: errors, questions and confirmations, each in the reader's language
# (cog.py only chooses which one to send).


def erased() -> str:
    return _(
        "Done. Everything stored about you is erased. If you use a command again, "
        "I will start afresh with only what that needs."
    )


def only_account_id() -> str:
    return _("- Nothing but your account id.")


def export_dms_closed() -> str:
    return _(
        "I could not send you a direct message. Allow direct messages from me, "
        "then try again; your data is only ever sent privately."
    )


def export_sent() -> str:
    return _("I sent your data to you in a direct message.")


def export_json_caption() -> str:
    return _("Here is everything I store about you, as JSON for programs…")


def export_document_caption() -> str:
    return _("…and the same as a readable document. Keep them somewhere safe.")


def erase_code_wrong(prefix: object) -> str:
    return _(
        "That code is not right or has expired; nothing was erased. Start again "
        "with `{prefix}mydata erase`."
    ).format(prefix=prefix)


def erase_warning(what: object, prefix: object, code: object, kinds: set[str]) -> str:
    """The erase preview: `what` lists the records, and `kinds` (the export's kinds that hold
    something for this member, `export_kinds`) chooses which consequences are told: only what
    applies to them."""
    notes: list[str] = []
    if kinds & {"groups", "groups_owned"}:
        notes.append(_("That includes your posts in group journals."))
    if "feedback_written" in kinds:
        notes.append(_("That includes the feedback you left on other people's entries."))
    if "meetings_created" in kinds:
        notes.append(
            _(
                "Meetings you set up stay for the people who go to them, shown as set up by "
                "“a former member”."
            )
        )
    if "facilitating" in kinds:
        notes.append(_("You are taken off the meetings you facilitate; the meetings stay."))
    if "running_meetings" in kinds:
        notes.append(
            _(
                "Meeting scripts running now go on without you, and my posts there that "
                "name you are deleted."
            )
        )
    if "moderator_actions" in kinds:
        notes.append(
            _(
                "Moderator actions you took stay in the moderators' log, shown as done by "
                "“a former member”; my posts of that log show “a moderator” instead of you."
            )
        )
    if kinds & {"entries", "feedback_written", "shares"}:
        notes.append(
            _(
                "Messages I already posted with your words (a shared entry in the feed "
                "channel, feedback, a toolbox copy) are deleted there too."
            )
        )
    head = _("This erases, in every community this bot serves:\n{what}\n").format(what=what)
    tail = _(
        "This cannot be undone; `{prefix}mydata export` first if you want a copy.\n"
        "To go ahead within 10 minutes: `{prefix}mydata erase confirm {code}`"
    ).format(prefix=prefix, code=code)
    return head + "".join(note + " " for note in notes) + tail


def export_kinds(export: dict[str, Any]) -> set[str]:
    """The kinds of record (`SENTENCES` keys) that hold something in an export."""
    sections = [*export["cogs"].values(), export["core"]]
    return {key for data in sections for key, value in data.items() if value}


def stored_title() -> str:
    return _("What is stored about you")


def stored_footer(prefix: object) -> str:
    return _(
        "`{prefix}mydata export` sends you all of it; `{prefix}mydata erase` removes it."
    ).format(prefix=prefix)


def retention_warning(
    community: str, days: int, last_seen: datetime, erase_at: datetime
) -> Message:
    """The DM a week before a retention erase: what will go, when, and how to keep it."""
    template = _(
        "A note about **{community}**: its moderators chose that circlebot erases what it keeps "
        "about people who have not used it there for {days} days. You last used it there on "
        "{last}. If that stays so, on {when} everything it keeps about you will be erased: "
        "journal, toolbox, worksheets, RSVPs and settings.\n"
        "To keep it, use any command there ({ping} is enough). To take a copy either way: "
        "{export}."
    )
    return Message.of(
        *fill_parts(
            template,
            {
                "community": [escape_markdown(community) or _("your community")],
                "days": [str(days)],
                "last": [When(last_seen, "date")],
                "when": [When(erase_at, "date")],
                "ping": [Command("ping")],
                "export": [Command("mydata export")],
            },
        )
    )
