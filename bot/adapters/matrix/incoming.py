"""What a member wrote in a Matrix text event, without what their client added around it.

Clients following older versions of the spec start a reply with a quote of the message replied
to (the reply fallback): `> <@user:server> original` lines and a blank line in `body`, and an
`<mx-reply>` block in `formatted_body`. That quote is not the member's words: fed on, it would
be saved as a dialogue answer, run through the crisis check, and hide a command sent as a reply.
So it is removed here, before anything reads the text. An edit (`m.replace`) carries its new
text in `m.new_content`; `replaces` names the event it edits; `thread_root` names the root of
the thread (`rel_type` `m.thread`) a message was typed in.

`Origin` is the command event an answer is linked to: `relation()` builds the answer's
`m.relates_to` (a rich reply, inside the command's thread when it was typed in one), following
the spec's "Rich replies" and "Threading" sections (v1.4+).

Own code rather than a library: matrix-nio parses events but leaves the fallback in `body`.
The rules follow the client-server spec's "Rich replies" section (fallbacks, v1.0-v1.12).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The fallback's first line names the replied-to sender: `> <@user:server> ...`, or
# `> * <@user:server> ...` for an emote.
_FALLBACK_FIRST = re.compile(r"> (?:\* )?<[^>\n]+>")
_MX_REPLY = re.compile(r"\A\s*<mx-reply>.*?</mx-reply>", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True)
class IncomingText:
    """A text event's own words and what it points at.

    Attributes:
        body: the plain text the member wrote (fallback removed; the new text of an edit).
        formatted_body: the HTML version, likewise cleaned, or None when the event has none.
        reply_to: the event id this one replies to, "" when it is not a reply.
        replaces: the event id an edit replaces, "" when it is not an edit.
        thread_root: the root event id of the thread it was sent in, "" outside threads.
    """

    body: str
    formatted_body: str | None
    reply_to: str = ""
    replaces: str = ""
    thread_root: str = ""


@dataclass(frozen=True)
class Origin:
    """The event a command came in, which the answers to it are linked to.

    Attributes:
        event_id: the command's event id.
        thread_root: the root of the thread it was typed in, "" outside threads.
    """

    event_id: str
    thread_root: str = ""

    def relation(self) -> dict[str, Any]:
        """The `m.relates_to` of an answer: a reply to the command, and in a thread, a thread
        event whose `m.in_reply_to` names the command (`is_falling_back` False: a real reply,
        which clients without threads show as one)."""
        reply = {"m.in_reply_to": {"event_id": self.event_id}}
        if not self.thread_root:
            return reply
        return {
            "rel_type": "m.thread",
            "event_id": self.thread_root,
            "is_falling_back": False,
            **reply,
        }


def strip_reply_fallback(body: str) -> str:
    """`body` without a leading reply quote (`> <@user:server> ...` lines and one blank line).

    Text that does not start with such a quote comes back unchanged, so a member's own
    `> quote` is kept.
    """
    if not _FALLBACK_FIRST.match(body):
        return body
    lines = body.split("\n")
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    if index < len(lines) and lines[index] == "":
        index += 1
    return "\n".join(lines[index:])


def strip_reply_html(formatted_body: str) -> str:
    """`formatted_body` without a leading `<mx-reply>...</mx-reply>` block."""
    return _MX_REPLY.sub("", formatted_body, count=1)


def read_text(content: Mapping[str, Any]) -> IncomingText:
    """The member's own text of an `m.room.message` content (see `IncomingText`).

    Never raises: fields of the wrong type count as missing.
    """
    relates = content.get("m.relates_to")
    relates = relates if isinstance(relates, Mapping) else {}
    replaces = ""
    source = content
    new_content = content.get("m.new_content")
    if relates.get("rel_type") == "m.replace" and isinstance(new_content, Mapping):
        replaces = str(relates.get("event_id") or "")
        source = new_content
    reply = relates.get("m.in_reply_to")
    reply_to = str(reply.get("event_id") or "") if isinstance(reply, Mapping) else ""
    thread_root = ""
    if relates.get("rel_type") == "m.thread":
        thread_root = str(relates.get("event_id") or "")
        if relates.get("is_falling_back") is True:
            reply_to = ""  # the thread's fallback reply, not one the member chose
    body = source.get("body")
    body = body if isinstance(body, str) else ""
    formatted = source.get("formatted_body")
    formatted = formatted if isinstance(formatted, str) else None
    if isinstance(reply, Mapping) or replaces:
        body = strip_reply_fallback(body)
        formatted = strip_reply_html(formatted) if formatted is not None else None
    return IncomingText(body, formatted, reply_to, replaces, thread_root)
