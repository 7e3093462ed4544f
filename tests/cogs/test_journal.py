"""The journal as members use it: private, shared and group entries, feedback, moderation."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.clock import VirtualClock
from bot.core.permissions import Tier
from bot.models import AuditEntry
from cogs.journal.models import JournalEntry, JournalFeedback
from tests.harness.app import AppFactory
from tests.harness.journal import code_in, deliver, journal_app, texts


async def test_a_private_entry_is_only_for_its_author(app_factory: AppFactory) -> None:
    _app, fake = await journal_app(app_factory)
    said = await fake.say("ana", '!journal write mood:6 title:"A calm day" Walked by the sea.')
    assert said[0].where == "ephemeral"
    assert "Saved privately" in said[0].text
    code = code_in(said)
    read = await fake.say("ana", f"!journal read {code}")
    assert "A calm day" in read[0].text and "Walked by the sea." in read[0].text
    assert "mood 6/10" in read[0].text
    listed = texts(await fake.say("ana", "!journal list"))
    assert code in listed and "A calm day" in listed
    assert "Walked by the sea" not in texts(await fake.say("ben", "!journal feed"))


async def test_someone_elses_private_entry_looks_exactly_like_a_missing_one(
    app_factory: AppFactory,
) -> None:
    _app, fake = await journal_app(app_factory)
    code = code_in(await fake.say("ana", "!journal write only mine"))
    fake.actor("mod", Tier.MODERATOR)
    for command in ("read", "edit", "delete", "unshare", "share", "close-feedback"):
        private = texts(await fake.say("ben", f"!journal {command} {code}"))
        missing = texts(await fake.say("ben", f"!journal {command} zzzzzz"))
        assert private.replace(code, "ID") == missing.replace("zzzzzz", "ID"), command
    private = texts(await fake.say("ben", f"!journal feedback {code} nice"))
    missing = texts(await fake.say("ben", "!journal feedback zzzzzz nice"))
    assert private.replace(code, "ID") == missing.replace("zzzzzz", "ID")
    private = texts(await fake.say("mod", f"!journal remove {code}"))
    missing = texts(await fake.say("mod", "!journal remove zzzzzz"))
    assert private.replace(code, "ID") == missing.replace("zzzzzz", "ID")
    assert "only mine" in texts(await fake.say("ana", f"!journal read {code}"))


async def test_shared_entries_show_a_pseudonym_and_feedback_reaches_the_author_privately(
    app_factory: AppFactory,
) -> None:
    app, fake = await journal_app(app_factory)
    await fake.say("ana", "!me name River")
    await fake.say("ben", "!me name Oak")
    code = code_in(
        await fake.say("ana", "!journal write visibility:shared Day three, still here.")
    )
    feed = texts(await fake.say("ben", "!journal feed"))
    assert "Day three, still here." in feed and "River" in feed
    assert "ana" not in feed
    said = await fake.say("ben", f"!journal feedback {code} That took courage. Well done.")
    assert "passed on to the author" in said[0].text and said[0].where == "ephemeral"
    before = len(fake.said)
    await deliver(app)
    dms = [s for s in fake.said[before:] if s.where == "dm"]
    assert len(dms) == 1 and dms[0].to == "fake:ana"
    assert "Oak left feedback" in dms[0].text and "That took courage" in dms[0].text
    read = texts(await fake.say("ana", f"!journal read {code}"))
    assert "Oak" in read and "That took courage" in read

    await fake.say("ana", f"!journal close-feedback {code}")
    closed = texts(await fake.say("cai", f"!journal feedback {code} hi"))
    assert "closed feedback" in closed
    await fake.say("ana", f"!journal unshare {code}")
    unshared = texts(await fake.say("cai", f"!journal feedback {code} hi"))
    missing = texts(await fake.say("cai", "!journal feedback zzzzzz hi"))
    assert unshared.replace(code, "ID") == missing.replace("zzzzzz", "ID")
    assert "Day three" not in texts(await fake.say("ben", "!journal feed"))
    assert "Day three" not in texts(await fake.say("ben", f"!journal read {code}"))


async def test_a_member_without_a_pseudonym_is_a_member_and_own_feedback_sends_no_dm(
    app_factory: AppFactory,
) -> None:
    app, fake = await journal_app(app_factory)
    code = code_in(await fake.say("ana", "!journal write visibility:shared hello"))
    assert "by a member" in texts(await fake.say("ben", "!journal feed"))
    await fake.say("ana", f"!journal feedback {code} note to self")
    before = len(fake.said)
    await deliver(app)
    assert not [s for s in fake.said[before:] if s.where == "dm"]


async def test_a_shared_entry_is_posted_to_the_feed_channel_a_moderator_chose(
    app_factory: AppFactory,
) -> None:
    app, fake = await journal_app(app_factory)
    fake.actor("mod", Tier.MODERATOR)
    denied = texts(await fake.say("ben", "!journal feed-channel #general"))
    assert "Only a moderator" in denied
    assert "will appear in" in texts(await fake.say("mod", "!journal feed-channel #general"))
    await fake.say("ana", "!me name River")
    await fake.say("ana", "!journal write private words")
    code = code_in(await fake.say("ana", "!journal write visibility:shared A good week"))
    before = len(fake.said)
    await deliver(app)
    posts = [s for s in fake.said[before:] if s.where == "channel"]
    assert len(posts) == 1 and posts[0].to == "general"
    assert "A good week" in posts[0].text and "River" in posts[0].text and code in posts[0].text
    assert "private words" not in texts(fake.said[before:])


@pytest.mark.parametrize("posted_first", [False, True])
@pytest.mark.parametrize(
    "edit", ["newmark now", "visibility:private", "DIALOGUE", "visibility:shared newmark now"]
)
async def test_editing_a_shared_entry_leaves_no_feed_post_with_the_old_words(
    app_factory: AppFactory, posted_first: bool, edit: str
) -> None:
    """Edited (on the command line or in the dialogue) or made private through edit, before or
    after its feed post went out: the feed channel never shows the old words; the new words
    are shown only when the edit itself says `visibility:shared` (otherwise the entry went
    private again, tests/cogs/test_journal_edit_shared.py)."""
    app, fake = await journal_app(app_factory)
    fake.actor("mod", Tier.MODERATOR)
    await fake.say("mod", "!journal feed-channel #general")
    code = code_in(await fake.say("ana", "!journal write visibility:shared oldmark words"))
    if posted_first:
        await deliver(app)
        assert any("oldmark" in s.text for s in fake.visible() if s.where == "channel")
    if edit == "DIALOGUE":
        await fake.say("ana", f"!journal edit {code}")
        await fake.say("ana", "newmark from the dialogue", dm=True)
        await fake.say("ana", "done", dm=True)
    else:
        assert "Updated" in texts(await fake.say("ana", f"!journal edit {code} {edit}"))
    await deliver(app)
    feed = [s.text for s in fake.visible() if s.where == "channel"]
    assert not any("oldmark" in text for text in feed), feed
    shown = [text for text in feed if "newmark" in text]
    assert len(shown) == (1 if edit.startswith("visibility:shared") else 0), feed


async def test_writing_in_a_dm_dialogue_over_several_lines(app_factory: AppFactory) -> None:
    _app, fake = await journal_app(app_factory)
    said = await fake.say("ana", "!journal write")
    assert any("direct message" in s.text for s in said if s.where == "ephemeral")
    prompt = [s for s in said if s.where == "dm"][-1]
    assert "then type `done`" in prompt.text
    assert prompt.message.long_text_prompt  # Discord offers its form for this step
    await fake.say("ana", "First paragraph.", dm=True)
    await fake.say("ana", "Second paragraph.", dm=True)
    await fake.say("ana", "done", dm=True)
    await fake.say("ana", "Evening notes", dm=True)
    await fake.say("ana", "7", dm=True)
    said = await fake.say("ana", "private", dm=True)
    code = code_in(said)
    read = texts(await fake.say("ana", f"!journal read {code}"))
    assert "First paragraph.\nSecond paragraph." in read
    assert "Evening notes" in read and "mood 7/10" in read and "private" in read


async def test_editing_and_deleting_your_own_entry(app_factory: AppFactory) -> None:
    app, fake = await journal_app(app_factory)
    code = code_in(await fake.say("ana", "!journal write first draft"))
    app.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    assert "Updated" in texts(await fake.say("ana", f"!journal edit {code} mood:4 second draft"))
    read = texts(await fake.say("ana", f"!journal read {code}"))
    assert "second draft" in read and "first draft" not in read and "mood 4/10" in read
    await fake.say("ana", f"!journal edit {code}", dm=True)
    await fake.say("ana", "third draft", dm=True)
    assert "Updated" in texts(await fake.say("ana", "done", dm=True))
    assert "third draft" in texts(await fake.say("ana", f"!journal read {code}"))
    assert "Deleted" in texts(await fake.say("ana", f"!journal delete {code}"))
    gone = texts(await fake.say("ana", f"!journal read {code}"))
    assert f"I can't find an entry `{code}`" in gone


async def test_bad_input_gets_one_clear_message_and_saves_nothing(
    app_factory: AppFactory,
) -> None:
    app, fake = await journal_app(app_factory, max_entry_chars=50, writes_per_hour=2)
    assert "needs some text" in texts(await fake.say("ana", "!journal write mood:5"))
    long = texts(await fake.say("ana", "!journal write " + "word " * 20))
    assert "the limit is 50" in long
    assert "from 1 to 10" in texts(await fake.say("ana", "!journal write mood:11 hi"))
    assert "`private` or `shared`" in texts(
        await fake.say("ana", "!journal write visibility:x hi")
    )
    await fake.say("ana", "!journal write one")
    await fake.say("ana", "!journal write two")
    limited = texts(await fake.say("ana", "!journal write three"))
    assert "limit here" in limited and "nothing was saved" in limited
    async with app.db.sessions() as session:
        rows = (await session.scalars(select(JournalEntry))).all()
    assert sorted(r.body for r in rows) == ["one", "two"]
    app.clock.advance(timedelta(hours=1, seconds=1))  # type: ignore[attr-defined]
    assert "Saved" in texts(await fake.say("ana", "!journal write three"))


async def test_feedback_on_a_deleted_or_private_entry_is_refused(app_factory: AppFactory) -> None:
    _app, fake = await journal_app(app_factory)
    shared = code_in(await fake.say("ana", "!journal write visibility:shared here"))
    await fake.say("ana", f"!journal delete {shared}")
    deleted = texts(await fake.say("ben", f"!journal feedback {shared} hi"))
    assert f"I can't find an entry `{shared}`" in deleted
    own = code_in(await fake.say("ana", "!journal write mine"))
    assert "only for shared entries" in texts(await fake.say("ana", f"!journal feedback {own} x"))
    assert "is missing `text:`" in texts(await fake.say("ana", "!journal feedback abcdef  "))


async def test_group_journals_are_for_members_only(app_factory: AppFactory) -> None:
    app, fake = await journal_app(app_factory)
    await fake.say("ana", "!me name River")
    assert "is ready" in texts(await fake.say("ana", "!group create Evening circle"))
    assert "already" in texts(await fake.say("ben", "!group create evening  CIRCLE"))
    said = await fake.say("ana", "!group invite @ben")
    assert "Invitation sent privately" in said[0].text
    before = len(fake.said)
    await deliver(app)
    invite = [s for s in fake.said[before:] if s.where == "dm" and s.to == "fake:ben"]
    assert len(invite) == 1 and "River invited you" in invite[0].text
    join_code = re.search(r"group join ([2-9a-z]{10})", invite[0].text)
    assert join_code is not None
    # a code made for ben does nothing for cai, and only the creator invites
    assert "not valid" in texts(await fake.say("cai", f"!group join {join_code.group(1)}"))
    assert "Welcome to **Evening-circle**" in texts(
        await fake.say("ben", f"!group join {join_code.group(1)}")
    )
    assert "not valid" in texts(await fake.say("ben", f"!group join {join_code.group(1)}"))
    assert "Only the person who keeps" in texts(await fake.say("ben", "!group invite @cai"))

    code = code_in(await fake.say("ben", "!group write evening-circle Good to be here."))
    read = texts(await fake.say("ana", "!group read"))
    assert "Good to be here." in read and "Evening-circle" in read
    outsider = texts(await fake.say("cai", "!group read Evening-circle"))
    nonexistent = texts(await fake.say("cai", "!group read Nowhere"))
    assert "not in a group journal called **Evening-circle**" in outsider
    assert "not in a group journal called **Nowhere**" in nonexistent
    hidden = texts(await fake.say("cai", f"!journal read {code}"))
    missing = texts(await fake.say("cai", "!journal read zzzzzz"))
    assert hidden.replace(code, "ID") == missing.replace("zzzzzz", "ID")
    assert "not shared" not in texts(await fake.say("ana", f"!journal feedback {code} hi"))
    assert "Good to be here." not in texts(await fake.say("cai", "!journal feed"))

    assert "You left" in texts(await fake.say("ben", "!group leave"))
    assert "Good to be here." in texts(await fake.say("ana", f"!journal read {code}"))
    assert "not in a group journal" in texts(await fake.say("ben", "!group read Evening-circle"))
    last = texts(await fake.say("ana", "!group leave Evening-circle"))
    assert "last member" in last
    assert "find an entry" in texts(await fake.say("ana", f"!journal read {code}"))
    kept = texts(await fake.say("ben", f"!journal read {code}"))  # the writer keeps it
    assert "Good to be here." in kept and "private" in kept
    assert "not in any group journal" in texts(await fake.say("ana", "!group read"))


async def test_a_group_entry_can_be_written_in_a_dm_dialogue(app_factory: AppFactory) -> None:
    _app, fake = await journal_app(app_factory)
    await fake.say("ana", "!group create Tuesdays")
    await fake.say("ana", "!group write Tuesdays")
    await fake.say("ana", "Long thoughts.", dm=True)
    saved = texts(await fake.say("ana", "done", dm=True))
    assert "Saved to the group journal **Tuesdays**" in saved
    assert "Long thoughts." in texts(await fake.say("ana", "!group read Tuesdays"))


async def test_own_lists_name_the_group_an_entry_went_to(app_factory: AppFactory) -> None:
    _app, fake = await journal_app(app_factory)
    await fake.say("ana", "!group create Tuesdays")
    code = code_in(await fake.say("ana", "!group write Tuesdays quiet harbour evening"))
    await fake.say("ana", "!journal write a private harbour note")
    for shown in (
        texts(await fake.say("ana", "!journal list")),
        texts(await fake.say("ana", "!journal search harbour")),
        texts(await fake.say("ana", f"!journal read {code}")),
    ):
        assert "group: Tuesdays" in shown, shown
        assert "group: )" not in shown and "group: \n" not in shown, shown


async def test_moderators_take_entries_and_feedback_out_of_view_without_reading_content(
    app_factory: AppFactory,
) -> None:
    app, fake = await journal_app(app_factory)
    fake.actor("mod", Tier.MODERATOR)
    code = code_in(await fake.say("ana", "!journal write visibility:shared CANARY-ENTRY"))
    other = code_in(await fake.say("ana", "!journal write visibility:shared Second one"))
    fb = code_in(await fake.say("ben", f"!journal feedback {other} CANARY-FEEDBACK"))
    assert "Only a moderator" in texts(await fake.say("ben", f"!journal remove {code}"))
    assert "out of view" in texts(await fake.say("mod", f"!journal remove {code}"))
    assert "find an entry" in texts(await fake.say("mod", f"!journal remove {code}"))
    assert "out of view" in texts(await fake.say("mod", f"!journal remove-feedback {fb}"))
    before = len(fake.said)
    await deliver(app)
    dms = {s.to: s.text for s in fake.said[before:] if s.where == "dm"}
    assert "took your entry" in dms["fake:ana"] and "CANARY" not in dms["fake:ana"]
    assert "took your feedback" in dms["fake:ben"]
    feed = texts(await fake.say("cai", "!journal feed"))
    assert "CANARY-ENTRY" not in feed and "Second one" in feed
    assert "CANARY-FEEDBACK" not in texts(await fake.say("cai", f"!journal read {other}"))
    assert "CANARY-ENTRY" not in texts(await fake.say("cai", f"!journal read {code}"))
    own = texts(await fake.say("ana", f"!journal read {code}"))
    assert "CANARY-ENTRY" in own and "out of view" in own
    assert "took this entry out of view" in texts(await fake.say("ana", f"!journal share {code}"))
    async with app.db.sessions() as session:
        audit = (await session.scalars(select(AuditEntry))).all()
    actions = {a.action: a.detail for a in audit}
    assert actions["journal.remove_entry"] == f"entry {code}"
    assert "journal.remove_feedback" in actions
    assert all("CANARY" not in a.detail for a in audit)


async def test_search_finds_words_in_your_own_entries_only(app_factory: AppFactory) -> None:
    app, fake = await journal_app(app_factory)
    first = code_in(await fake.say("ana", "!journal write Walked to the harbour at dawn"))
    app.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    second = code_in(await fake.say("ana", "!journal write title:Harbour Called my sister"))
    await fake.say("ben", "!journal write visibility:shared harbour lights")
    found = texts(await fake.say("ana", "!journal search HARBOUR"))
    assert "2 of your entries match" in found
    assert found.index(second) < found.index(first)  # newest first
    assert "harbour lights" not in found
    narrowed = texts(await fake.say("ana", "!journal search harbour dawn"))
    assert first in narrowed and second not in narrowed
    await fake.say("ana", f"!journal edit {first} Walked to the park")
    assert first not in texts(await fake.say("ana", "!journal search harbour"))
    assert "None of your entries" in texts(await fake.say("ana", "!journal search lighthouse"))


async def test_list_pages_newest_first_and_filters_by_date_and_mood(
    app_factory: AppFactory,
) -> None:
    app, fake = await journal_app(app_factory, page_size=3)
    clock: VirtualClock = app.clock  # type: ignore[assignment]
    codes = []
    for day in range(5):
        codes.append(code_in(await fake.say("ana", f"!journal write mood:{day + 3} day {day}")))
        clock.advance(timedelta(days=1))
    first = texts(await fake.say("ana", "!journal list"))
    assert "page 1 of 2" in first and first.index(codes[4]) < first.index(codes[3])
    assert codes[0] not in first and "journal list 2" in first
    assert codes[0] in texts(await fake.say("ana", "!journal list 2"))
    ranged = texts(await fake.say("ana", "!journal list since:2026-12-02 until:2026-12-03"))
    assert codes[1] in ranged and codes[2] in ranged
    assert codes[0] not in ranged and codes[3] not in ranged
    moods = texts(await fake.say("ana", "!journal list mood:6-7"))
    assert codes[3] in moods and codes[4] in moods and codes[2] not in moods
    assert "No entries match" in texts(await fake.say("ana", "!journal list mood:10"))
    assert "range such as 4-7" in texts(await fake.say("ana", "!journal list mood:7-3"))
    assert "journal is empty" in texts(await fake.say("ben", "!journal list"))


async def test_erasing_a_member_erases_the_feedback_they_wrote_for_others(
    app_factory: AppFactory,
) -> None:
    app, fake = await journal_app(app_factory)
    await fake.say("ben", "!me name Oak")
    ana_entry = code_in(await fake.say("ana", "!journal write visibility:shared Ana writes"))
    ben_entry = code_in(await fake.say("ben", "!journal write visibility:shared Ben writes"))
    await fake.say("ana", f"!journal feedback {ben_entry} from ana")
    await fake.say("ben", f"!journal feedback {ana_entry} Kind words from Oak")
    await fake.say("ben", "!group create Pair")
    await fake.say("ana", "!group create Solo")
    await app.cogs["journal"].delete_user_data("fake:ben")
    read = texts(await fake.say("ana", f"!journal read {ana_entry}"))
    assert "Ana writes" in read and "Kind words from Oak" not in read and "Oak" not in read
    assert "find an entry" in texts(await fake.say("ana", f"!journal read {ben_entry}"))
    async with app.db.sessions() as session:
        entries = (await session.scalars(select(JournalEntry))).all()
        feedback = (await session.scalars(select(JournalFeedback))).all()
    assert [e.author_key for e in entries] == ["fake:ana"]
    assert feedback == []  # Ana's feedback went with Ben's entry, Ben's went with Ben
    assert "Pair" not in texts(await fake.say("ben", "!group read"))
    assert "is ready" in texts(await fake.say("cai", "!group create Pair"))


async def test_a_writing_prompt_fits_the_chosen_point(app_factory: AppFactory) -> None:
    _app, fake = await journal_app(app_factory)
    said = texts(await fake.say("ana", "!journal prompt urges"))
    assert "journal write" in said
    cog = _app.cogs["journal"]
    urges = {p.text for p in cog.prompts if "urges" in p.tags}  # type: ignore[attr-defined]
    assert any(text in said for text in urges)


async def test_the_first_word_of_a_group_entry_is_the_group_only_when_it_names_one(
    app_factory: AppFactory,
) -> None:
    _app, fake = await journal_app(app_factory)
    await fake.say("ana", "!group create Tuesdays")
    saved = texts(await fake.say("ana", "!group write Week was hard"))
    assert "Saved to the group journal **Tuesdays**" in saved
    named = texts(await fake.say("ana", "!group write tuesdays Better today"))
    assert "Saved to the group journal **Tuesdays**" in named
    read = texts(await fake.say("ana", "!group read"))
    assert "Week was hard" in read and "Better today" in read

    await fake.say("ana", "!group create Evening circle")
    several = texts(await fake.say("ana", "!group write Week two was hard"))
    assert "say which one: Evening-circle, Tuesdays" in several
    spaced = texts(await fake.say("ana", "!group write evening circle Week two was hard"))
    assert "Saved to the group journal **Evening-circle**" in spaced
    assert "Week two was hard" in texts(await fake.say("ana", "!group read Evening-circle"))
    help_text = texts(await fake.say("ana", "!help group write"))
    assert "only your groups' names count" in help_text


async def test_a_group_entry_confirms_its_start_and_a_word_read_as_the_group(
    app_factory: AppFactory,
) -> None:
    _app, fake = await journal_app(app_factory)
    await fake.say("ana", "!group create Friends")
    taken = texts(await fake.say("ana", "!group write Friends of mine were kind"))
    assert "It begins: “of mine were kind”" in taken
    assert "I read **Friends** as the group" in taken
    assert "`!group write Friends Friends of mine were kind`" in taken
    kept = texts(await fake.say("ana", "!group write Friends Friends of mine were kind"))
    assert "It begins: “Friends of mine were kind”" in kept
    assert "I read" not in kept
    plain = texts(await fake.say("ana", "!group write Week was hard"))
    assert "It begins: “Week was hard”" in plain and "I read" not in plain
    named = texts(await fake.say("ana", "!group write group:Friends Friends again"))
    assert "It begins: “Friends again”" in named and "I read" not in named
