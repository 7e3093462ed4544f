"""The words of the journal cog: entry lines, pages, the entry as read, saved replies.

Pure functions of what the cog looked up (pseudonyms already chosen and escaped); the cog
wires commands to the service and to these.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core import N_, Message, Page, Part, When, _, escape_markdown, ngettext, person_label
from cogs.journal.service import GROUP, SHARED, EntryView

PREVIEW = 60
EXCERPT = 300


def title(entry: EntryView) -> str:
    """The entry's title, else its first words in italics."""
    if entry.title:
        return escape_markdown(entry.title)
    first = " ".join(entry.body.split())
    preview = first if len(first) <= PREVIEW else first[: PREVIEW - 1] + "…"
    return "*" + escape_markdown(preview) + "*"


def excerpt(body: str) -> str:
    """The start of an entry, for a page of many."""
    text = body if len(body) <= EXCERPT else body[: EXCERPT - 1].rstrip() + "…"
    return escape_markdown(text)


def visibility_label(entry: EntryView) -> str:
    """`private`, `shared` or `group: NAME`."""
    if entry.visibility == GROUP:
        return _("group: {name}").format(name=escape_markdown(entry.group_name or ""))
    return _("shared") if entry.visibility == SHARED else _("private")


def feed_post(entry: EntryView, name: str, prefix: str) -> Message:
    """A newly shared entry, as posted to the feed channel."""
    return Message.of(
        _("**{title}** shared by {name}").format(title=title(entry), name=name),
        "\n" + escape_markdown(entry.body) + "\n",
        _("Leave a kind word with `{prefix}journal feedback {code} ...`").format(
            prefix=prefix, code=entry.code
        ),
    )


def saved(entry: EntryView, prefix: str) -> str:
    """Where a saved entry went and who can read it."""
    if entry.visibility == SHARED:
        text = _(
            "Saved and shared as `{code}`. Others here see it under your pseudonym, not "
            "your account name. `{prefix}journal unshare {code}` makes it private again."
        )
    elif entry.visibility == GROUP:
        text = _("Saved to the group journal **{group}** as `{code}`.")
    else:
        text = _("Saved privately as `{code}`. Only you can read it.")
    return text.format(
        code=entry.code, prefix=prefix, group=escape_markdown(entry.group_name or "")
    )


def _start(text: str, limit_chars: int = 40) -> str:
    """The first `limit_chars` characters of `text` on one line, with … when cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit_chars else flat[: limit_chars - 1].rstrip() + "…"


def entry_begins(body: str) -> str:
    """How a just-saved entry starts, so the writer sees what was kept."""
    return _("It begins: “{start}”").format(start=escape_markdown(_start(body)))


def word_read_as_group(group: str, body: str, prefix: str) -> str:
    """The leading word was taken as the group `group`; how to start the entry with it."""
    return _(
        "I read **{shown}** as the group; to start your entry with that word, name the "
        "group first: `{prefix}group write {group} {group} {start}`"
    ).format(shown=escape_markdown(group), group=group, prefix=prefix, start=_start(body, 20))


def prompt(text: str, prefix: str) -> str:
    """A writing prompt (translated when the catalog has it) and how to start writing."""
    return _(
        "{prompt}\n\nWrite with `{prefix}journal write`, no pressure and no right answers."
    ).format(prompt=_(text), prefix=prefix)


def line(entry: EntryView) -> list[Part]:
    """One entry in a list: id, date, title, visibility, mood."""
    extras = [visibility_label(entry)]
    if entry.mood is not None:
        extras.append(_("mood {n}").format(n=entry.mood))
    if entry.removed:
        extras.append(_("out of view"))
    return [
        f"\n- `{entry.code}` ",
        When(entry.created_at, "date"),
        f" {title(entry)} ({', '.join(extras)})",
    ]


def own_list(result: Page[EntryView], prefix: str, filtered: bool) -> Message:
    """`journal list`: a page of the member's own entries, or why there is none."""
    if not result.total:
        if filtered:
            return Message.of(_("No entries match those filters."))
        return Message.of(
            _("Your journal is empty. `{prefix}journal write` starts an entry.").format(
                prefix=prefix
            )
        )
    parts: list[Part] = [
        _("Your entries ({total}), page {page} of {pages}:").format(
            total=result.total, page=result.page, pages=result.pages
        )
    ]
    for entry in result.items:
        parts.extend(line(entry))
    parts.append("\n" + _("Open one with `{prefix}journal read ID`.").format(prefix=prefix))
    if result.page < result.pages:
        parts.append(
            " "
            + _("Next page: `{prefix}journal list {n}`.").format(prefix=prefix, n=result.page + 1)
        )
    return Message.of(*parts)


def search_results(found: Sequence[EntryView], total: int, *, more: bool = False) -> Message:
    """`journal search`: the newest matching entries; `more`: over `total` matched."""
    if not total:
        return Message.of(_("None of your entries contain that."))
    parts: list[Part] = [
        ngettext(
            "More than {n} of your entries matches:", "More than {n} of your entries match:", total
        ).format(n=total)
        if more
        else ngettext("{n} of your entries matches:", "{n} of your entries match:", total).format(
            n=total
        )
    ]
    for entry in found:
        parts.extend(line(entry))
    if more or total > len(found):
        parts.append(
            "\n"
            + ngettext(
                "Showing the newest {n} entry; add words to narrow it down.",
                "Showing the newest {n} entries; add words to narrow it down.",
                len(found),
            ).format(n=len(found))
        )
    return Message.of(*parts)


def feed_page(result: Page[EntryView], names: Sequence[str], prefix: str) -> Message:
    """A page of shared entries, each with its author's name from `names` (same order)."""
    parts: list[Part] = [_("Page {page} of {pages}:").format(page=result.page, pages=result.pages)]
    for entry, name in zip(result.items, names, strict=True):
        parts.extend(
            [
                f"\n\n**{title(entry)}** (`{entry.code}`) "
                + _("by {name}").format(name=name)
                + ", ",
                When(entry.created_at, "date"),
                "\n" + excerpt(entry.body),
            ]
        )
    parts.append(
        "\n\n" + _("Read one in full with `{prefix}journal read ID`.").format(prefix=prefix)
    )
    return Message.of(*parts)


def entry(
    shown: EntryView,
    author: str | None,
    feedback_names: Sequence[str],
    prefix: str,
) -> Message:
    """`journal read`: the whole entry, its feedback and what the reader may do; `author` is
    None when the reader wrote it."""
    byline = _("by you") if author is None else _("by {name}").format(name=author)
    meta = [visibility_label(shown)]
    if shown.mood is not None:
        meta.append(_("mood {n}/10").format(n=shown.mood))
    parts: list[Part] = [
        f"**{title(shown)}** (`{shown.code}`) {byline}\n",
        When(shown.created_at),
        f" · {', '.join(meta)}\n\n",
        escape_markdown(shown.body),
    ]
    mine = author is None
    if shown.removed and mine:
        parts.append(
            "\n\n" + _("A moderator took this entry out of view; it is still in your journal.")
        )
    if shown.feedback:
        parts.append("\n\n**" + _("Feedback") + "**")
        for fb, name in zip(shown.feedback, feedback_names, strict=True):
            parts.append(f"\n- {name} (`{fb.code}`): {escape_markdown(fb.body)}")
    if shown.visibility == SHARED and not shown.removed:
        if not mine and shown.feedback_open:
            parts.append(
                "\n\n"
                + _("Leave a kind word with `{prefix}journal feedback {code} ...`").format(
                    prefix=prefix, code=shown.code
                )
            )
        elif not shown.feedback_open:
            parts.append("\n\n" + _("Feedback is closed on this entry."))
    return Message.of(*parts)


# The cog's replies: errors, questions and confirmations, each in the reader's language
# (cog.py only chooses which one to send).


def visibility_expected(prefix: str) -> str:
    return _(
        "Visibility is `private` or `shared`. For a group journal use `{prefix}group write`."
    ).format(prefix=prefix)


def mood_filter_expected() -> str:
    return _("Mood filter: a number from 1 to 10, or a range such as 4-7.")


def a_former_member() -> str:
    return person_label("former")


def ask_text() -> str:
    return _("What would you like to write? Send it in one or more messages, then type `done`.")


def mood_expected() -> str:
    return _("Mood is a number from 1 to 10.")


def needs_community() -> str:
    return _("This works inside a community; try it in a community channel.")


def no_prompts() -> str:
    return _("I have no writing prompts for that right now.")


def invitation_sent() -> str:
    return _("Invitation sent privately.")


def group_left(name: object) -> str:
    return _("You left **{name}**.").format(name=name)


def group_closed() -> str:
    return _(
        "You were the last member, so the group journal was closed. Entries written "
        "there now stay private with the people who wrote them."
    )


def text_hint() -> str:
    return _("Each message becomes a paragraph. `done` saves; `cancel` keeps nothing.")


def entry_deleted() -> str:
    return _("Deleted. It's gone for good.")


def feed_empty() -> str:
    return _("Nobody has shared an entry here yet.")


def feedback_removed() -> str:
    return _("Your feedback was removed.")


def feed_off() -> str:
    return _("Shared entries will no longer be posted to a channel.")


def a_journal_entry() -> str:
    return _("a journal entry")


def a_group_journal_entry() -> str:
    return _("a group journal entry")


# What cancelling an edit leaves as it was (translated where the dialogue shows it).
EDIT_KEPT = N_("Your entry stays as it was.")


def edit_dialogue_title() -> str:
    return _("new text for your entry")


def entry_updated(code: object) -> str:
    return _("Updated `{code}`.").format(code=code)


def given_twice(name: object) -> str:
    return _("`{name}` is given twice.").format(name=name)


def feedback_passed_on(code: object) -> str:
    return _("Thank you. Your feedback (`{code}`) was passed on to the author.").format(code=code)


def feedback_closed(code: object) -> str:
    return _("Feedback on `{code}` is closed. What was already left stays.").format(code=code)


def feedback_hidden(code: object) -> str:
    return _("Feedback `{code}` is out of view.").format(code=code)


def group_ready(name: object, prefix: object) -> str:
    return _(
        "The group journal **{name}** is ready. Invite people with "
        "`{prefix}group invite @someone`; only members can read it."
    ).format(name=name, prefix=prefix)


def group_welcome(name: object, prefix: object) -> str:
    return _(
        "Welcome to **{name}**. Read it with `{prefix}group read`, write with "
        "`{prefix}group write`."
    ).format(name=name, prefix=prefix)


def edit_withdrew_share(code: object, prefix: object) -> str:
    return _(
        "It was shared, so I took its post out of the community feed and made it private "
        "again: your new words are not shown to anyone. To share it as it is now, use "
        "`{prefix}journal share {code}`."
    ).format(code=code, prefix=prefix)


def entry_unshared(code: object) -> str:
    return _("`{code}` is private again; only you can read it and its feedback.").format(code=code)


def entry_hidden_notice(code: object) -> str:
    return _(
        "A moderator took your entry `{code}` out of view in the community. It is "
        "still in your own journal, and nothing else about you was shared. If you "
        "have questions, you are welcome to ask the moderators."
    ).format(code=code)


def entry_hidden(code: object) -> str:
    return _("Entry `{code}` is out of view; its author has been told.").format(code=code)


def feed_on(channel: object) -> str:
    return _("Newly shared entries will appear in {channel}.").format(channel=channel)


def group_invitation(
    name: object, group: object, community: object, prefix: object, code: object
) -> str:
    return _(
        "{name} invited you to the group journal **{group}** in {community}. To join, "
        "type `{prefix}group join {code}` there. No pressure: the code expires on "
    ).format(name=name, group=group, community=community, prefix=prefix, code=code)


def group_empty(name: object, prefix: object) -> str:
    return _("Nothing in **{name}** yet. `{prefix}group write` adds the first entry.").format(
        name=name, prefix=prefix
    )


def ask_title() -> str:
    return _("A short title? (optional)")


def ask_mood() -> str:
    return _("How is your mood, from 1 to 10?")


def ask_visibility() -> str:
    return _("Keep it private, or share it here so others can encourage you?")


def ask_new_text() -> str:
    return _("Send the new text in one or more messages, then type `done`.")


def feedback_notice(name: object, title: object, code: object) -> str:
    return _("{name} left feedback on your shared entry {title} (`{code}`):").format(
        name=name, title=title, code=code
    )


def feedback_close_hint(prefix: object, code: object) -> str:
    return _("You can close feedback with `{prefix}journal close-feedback {code}`.").format(
        prefix=prefix, code=code
    )


def feedback_hidden_notice(code: object) -> str:
    return _(
        "A moderator took your feedback `{code}` out of view. If you have "
        "questions, you are welcome to ask the moderators."
    ).format(code=code)


def private_choice() -> str:
    return _("private (only you)")


def shared_choice() -> str:
    return _("shared (under your pseudonym)")
