"""The Matrix reply-fallback stripper, property-based: the member's words, exactly, always.

Replies are built the way older clients build them (the spec's rich-reply fallback): every line
of the replied-to message quoted after the sender's id, a blank line, then the reply; HTML gets
an `<mx-reply>` block. Whatever the quoted text and the reply hold (their own `>` quotes, blank
lines, markup, a command), what comes out is the reply alone; text without a fallback is kept.
"""

from __future__ import annotations

import html
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.adapters.matrix.incoming import (
    Origin,
    read_text,
    strip_reply_fallback,
    strip_reply_html,
)

LINE_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"))
LINES = st.lists(
    st.one_of(LINE_TEXT, st.sampled_from(["", ">", "> quoted", "<@x:y> hi", "!script import"])),
    min_size=1,
    max_size=5,
)
MULTILINE = LINES.map("\n".join)
USER = st.from_regex(r"@[a-z0-9._=-]{1,12}:[a-z0-9.-]{1,12}", fullmatch=True)


def fallback_body(sender: str, original: str, reply: str, *, emote: bool = False) -> str:
    """The plain-text reply fallback as the spec describes it."""
    first, *rest = original.split("\n")
    quoted = [f"> {'* ' if emote else ''}<{sender}> {first}", *(f"> {line}" for line in rest)]
    return "\n".join(quoted) + "\n\n" + reply


def fallback_html(room: str, event: str, sender: str, original: str, reply_html: str) -> str:
    return (
        f'<mx-reply><blockquote><a href="https://matrix.to/#/{room}/{event}">In reply to</a> '
        f'<a href="https://matrix.to/#/{sender}">{sender}</a><br />'
        f"{html.escape(original)}</blockquote></mx-reply>{reply_html}"
    )


def reply_content(body: str, formatted: str | None = None) -> dict[str, Any]:
    content: dict[str, Any] = {
        "msgtype": "m.text",
        "body": body,
        "m.relates_to": {"m.in_reply_to": {"event_id": "$original"}},
    }
    if formatted is not None:
        content.update(format="org.matrix.custom.html", formatted_body=formatted)
    return content


@given(sender=USER, original=MULTILINE, reply=MULTILINE, emote=st.booleans())
def test_a_reply_keeps_only_what_the_member_wrote(
    sender: str, original: str, reply: str, emote: bool
) -> None:
    body = fallback_body(sender, original, reply, emote=emote)
    assert strip_reply_fallback(body) == reply
    formatted = fallback_html("!room:x", "$original", sender, original, html.escape(reply))
    text = read_text(reply_content(body, formatted))
    assert text.body == reply
    assert text.formatted_body == html.escape(reply)
    assert text.reply_to == "$original" and text.replaces == ""


@given(body=MULTILINE)
def test_text_without_a_fallback_is_kept_whole(body: str) -> None:
    """A member's own `> quote` (no sender id first) stays, in a reply or not."""
    if body.startswith("> <") or body.startswith("> * <"):
        return  # that is what a fallback looks like; covered above
    assert strip_reply_fallback(body) == body
    assert read_text({"msgtype": "m.text", "body": body}).body == body
    assert read_text(reply_content(body)).body == body


@given(body=MULTILINE)
def test_a_message_that_is_not_a_reply_is_never_stripped(body: str) -> None:
    assert read_text({"msgtype": "m.text", "body": body}).body == body
    assert strip_reply_html(f"<p>{html.escape(body)}</p>") == f"<p>{html.escape(body)}</p>"


@given(new=MULTILINE, sender=USER, original=MULTILINE)
def test_an_edit_gives_its_new_text_and_what_it_replaces(
    new: str, sender: str, original: str
) -> None:
    content = {
        "msgtype": "m.text",
        "body": f"* {new}",
        "m.new_content": {"msgtype": "m.text", "body": fallback_body(sender, original, new)},
        "m.relates_to": {"rel_type": "m.replace", "event_id": "$first"},
    }
    text = read_text(content)
    assert (text.body, text.replaces, text.reply_to) == (new, "$first", "")


def test_malformed_fields_count_as_missing() -> None:
    assert read_text({"body": 5, "m.relates_to": "x"}).body == ""
    text = read_text({"body": "hi", "m.relates_to": {"m.in_reply_to": "nope"}})
    assert (text.body, text.reply_to) == ("hi", "")
    edit = {"body": "* hi", "m.relates_to": {"rel_type": "m.replace"}, "m.new_content": 3}
    assert read_text(edit).body == "* hi"


EVENT_ID = st.from_regex(r"\$[A-Za-z0-9_-]{1,20}", fullmatch=True)
OWN_WORDS = LINE_TEXT.filter(lambda t: not t.startswith(">"))  # no fallback quote to strip


@given(command=EVENT_ID, root=st.one_of(st.just(""), EVENT_ID), body=OWN_WORDS)
def test_an_answer_is_read_back_as_a_reply_to_its_command_in_its_thread(
    command: str, root: str, body: str
) -> None:
    """What the bot links an answer to is what a client reads: a reply to the command, in
    the command's thread (if any), never a thread fallback."""
    relation = Origin(command, root).relation()
    answer = {"msgtype": "m.notice", "body": body, "m.relates_to": relation}
    read = read_text(answer)
    assert (read.reply_to, read.thread_root, read.body) == (command, root, body)


@given(root=EVENT_ID, latest=EVENT_ID, body=OWN_WORDS)
def test_a_message_typed_in_a_thread_names_its_root_and_no_reply(
    root: str, latest: str, body: str
) -> None:
    """Element's thread fallback (`is_falling_back`) is not a reply the member chose."""
    content = {
        "msgtype": "m.text",
        "body": body,
        "m.relates_to": {
            "rel_type": "m.thread",
            "event_id": root,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": latest},
        },
    }
    read = read_text(content)
    assert (read.thread_root, read.reply_to, read.body) == (root, "", body)
