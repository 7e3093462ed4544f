"""`mydata`: export by DM and erasure across every cog, checked against the schema itself."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import String, Text, select, type_coerce

from bot.app import App
from bot.clock import VirtualClock
from bot.core.cog import Cog
from bot.core.loader import available_cogs, cog_class
from bot.core.permissions import Tier
from bot.crypto import EncryptedText
from bot.db import Base
from bot.maintenance import load_all_models
from bot.models import ACTOR_KEY, AuditEntry, Member, OutboxItem, OutboxItemRef
from cogs.journal.models import JournalEntry, JournalFeedback
from cogs.privacy import render
from cogs.privacy.cog import PrivacyCog
from tests.harness.app import AppFactory, make_config
from tests.harness.platform import COMMUNITY, FakePlatform, Said

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ANA = "fake:ana"
CODE = re.compile(r"`([2-9a-z]{6})`")
ERASE_CODE = re.compile(r"mydata erase confirm ([2-9a-z]{6})")

# Columns shaped like an actor key that hold something else (documented here, on purpose:
# a new column must be either erased or named in this list with its reason).
NOT_A_PERSON = {
    ("meeting", "channel"): "a channel's place key",
    ("script_run", "place_key"): "the channel a script runs in",
    ("toolbox_share", "outbox_key"): "the id of a delivery, erased with its share",
    # A pending DM's addressee: emptied once settled, forgotten with the member; proven in
    # tests/test_outbox.py (a pending DM cannot be set up through commands here).
    ("outbox_item", "target"): "a pending DM's addressee, see tests/test_outbox.py",
    # Only planners' owners have plan stamps (a meeting's id); none is a person.
    ("outbox_plan_stamp", "ref"): "the id of what a planner plans (a meeting)",
}
# Columns that hold actor keys inside JSON text (found by the raw scan below, not by shape).
JSON_WITH_KEYS = {("script_run", "names")}


def actor_columns() -> list[tuple[str, str]]:
    """Every (table, column) that can hold a person's key, found from the models."""
    load_all_models()
    found: list[tuple[str, str]] = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, String) or isinstance(column.type, EncryptedText):
                continue
            named = column.name.endswith(("_key", "_by")) or column.name == "target"
            if (named or column.type.length == ACTOR_KEY) and (
                table.name,
                column.name,
            ) not in NOT_A_PERSON:
                found.append((table.name, column.name))
    return found


async def raw_rows(app: App) -> dict[tuple[str, str], list[Any]]:
    """Every value of every column as stored (encrypted columns as their tokens)."""
    load_all_models()
    out: dict[tuple[str, str], list[Any]] = {}
    async with app.db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            columns = [type_coerce(c, Text()).label(c.name) for c in table.columns]
            rows = (await conn.execute(select(*columns))).all()
            for column in table.columns:
                out[(table.name, column.name)] = [r._mapping[column.name] for r in rows]
    return out


def texts(said: list[Said]) -> str:
    return "\n".join(s.text for s in said)


def code_in(said: list[Said]) -> str:
    for item in said:
        if m := CODE.search(item.text):
            return m.group(1)
    raise AssertionError(f"no code in {texts(said)}")


async def full_app(app_factory: AppFactory) -> tuple[App, FakePlatform]:
    staff = {"ana": Tier.MODERATOR, "bob": Tier.FACILITATOR}
    return await app_factory.on_platform(clock=VirtualClock(START), actors=staff)


async def ana_everywhere(app: App, fake: FakePlatform) -> list[str]:
    """Ana leaves a trace in every cog through commands; returns her canary strings."""
    canaries = [f"canary{n}zq" for n in range(8)]
    say = fake.say
    # general: a pseudonym (stored as typed) and an unfinished dialogue (encrypted answers)
    await say("ana", f"!me name Ana{canaries[0]}")
    await say("ana", "!me timezone Europe/Dublin")
    # journal: a shared entry, feedback on Bob's entry, a group with an invite
    await say("ana", "!journal feed-channel #general")
    code = code_in(await say("ana", f"!journal write visibility:shared Ana's day {canaries[1]}"))
    bob_code = code_in(await say("bob", "!journal write visibility:shared Bob's day"))
    await say("ana", f"!journal feedback {bob_code} Keep going {canaries[2]}")
    await say("bob", f"!journal feedback {code} well done")  # a DM notice to Ana follows
    await say("ana", f"!group create Group{canaries[3]}")
    await say("ana", "!group invite @bob")
    await say("bob", "!group create Bob's circle")
    await say("bob", "!group invite @ana")
    # meetings: Ana schedules and facilitates, RSVPs, cancels one date, turns reminders off
    await say("ana", '!meeting schedule Circle "2026-12-02 19:00" 60m repeat:weekly zone:UTC')
    await say("ana", "!meeting rsvp Circle reminder:30m")
    await say("ana", f'!meeting cancel Circle 2026-12-09 note:"{canaries[4]}"')
    await say("bob", "!meeting rsvp Circle")
    # worksheets: an urge log shared with Bob, and an unfinished worksheet
    await say("ana", f"!urge log 6 {canaries[5]}")
    await say("ana", "!toolbox share 1 bob")
    await say("bob", "!urge log 3 a short one")
    await say("bob", "!toolbox share 1 ana")
    await say("ana", "!worksheet start abc")
    await say("ana", "3", dm=True)
    await say("ana", f"{canaries[6]}", dm=True)
    # scripts: Ana runs a meeting and raises a hand
    await say("ana", "!script start standard Circle")
    await say("ana", "!script next")
    await say("ana", "!hand raise")
    await say("ana", "!script next-speaker")
    await say("ana", "!hand raise")  # again, while speaking: in the queue for a second turn
    await say("ana", "!script copy standard ours")
    # crisis: Ana verifies a directory entry as a moderator
    await say("ana", "!crisis verify gb-samaritans")
    await say("ana", "!meeting reminders off")
    await say("ana", "!mydata erase")  # a confirmation code waits for her
    await app.scheduler.advance(timedelta(seconds=5))
    return canaries[:7]


async def erase(fake: FakePlatform, name: str) -> list[Said]:
    first = await fake.say(name, "!mydata erase")
    match = ERASE_CODE.search(texts(first))
    assert match, texts(first)
    return await fake.say(name, f"!mydata erase confirm {match.group(1)}")


async def export(fake: FakePlatform, name: str) -> tuple[dict[str, Any], str]:
    said = await fake.say(name, "!mydata export")
    files = {
        s.message.attachment.filename: s.message.attachment.data
        for s in said
        if s.message.attachment
    }
    assert all(s.where == "dm" for s in said if s.message.attachment)
    (json_name,) = [n for n in files if n.endswith(".json")]
    (md_name,) = [n for n in files if n.endswith(".md")]
    return json.loads(files[json_name]), files[md_name].decode()


def test_every_shipped_cog_implements_export_and_erase() -> None:
    for name in available_cogs():
        cls = cog_class(name)
        assert cls.export_user_data is not Cog.export_user_data, name
        assert cls.delete_user_data is not Cog.delete_user_data, name


async def test_every_column_holding_a_person_is_exported_and_erased(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    app, fake = await full_app(app_factory)
    canaries = await ana_everywhere(app, fake)
    before = await raw_rows(app)
    untouched = [c for c in actor_columns() if ANA not in before[c]]
    # Each such column must get a row for Ana from the commands above: a new table or column
    # that this test does not reach fails here until it is covered (or listed in NOT_A_PERSON).
    assert not untouched, f"no test data for {untouched}; cover them in ana_everywhere"
    for column in JSON_WITH_KEYS:
        assert any(ANA in str(v) for v in before[column]), column

    data, markdown = await export(fake, "ana")
    dumped = json.dumps(data, ensure_ascii=False)
    for canary in canaries:
        assert canary in dumped, canary
        assert canary in markdown, canary
    assert set(data["cogs"]) == set(available_cogs())

    said = await erase(fake, "ana")
    assert "Everything stored about you is erased" in texts(said)
    # The summary and the result match: what the summary counted is all gone.
    privacy = app.cogs["privacy"]
    assert isinstance(privacy, PrivacyCog)
    assert render.counts(await privacy.service.export(ANA), {}) == []
    after = await raw_rows(app)
    leftovers = {
        column: [v for v in values if v is not None and ANA in str(v)]
        for column, values in after.items()
    }
    assert not {c: v for c, v in leftovers.items() if v}, "Ana's key is still stored"
    async with app.db.sessions() as session:
        kept = (await session.scalars(select(JournalFeedback))).all()
        assert not any(canaries[2] in f.body for f in kept), "her feedback went with her"
        authors = set(await session.scalars(select(AuditEntry.actor_key)))
        assert "a former member" in authors

    # the database files hold none of Ana's plain strings or her account id any more
    db_file = tmp_path / "bot.sqlite3"
    blob = b"".join(p.read_bytes() for p in (db_file, db_file.with_name("bot.sqlite3-wal"))
                    if p.exists())  # fmt: skip
    for needle in [f"Ana{canaries[0]}", f"Group{canaries[3]}", ANA, *canaries]:
        assert needle.encode() not in blob, needle


async def test_erase_needs_the_fresh_code_of_the_same_member(app_factory: AppFactory) -> None:
    app, fake = await full_app(app_factory)
    await fake.say("ana", "!me name Willow")
    first = texts(await fake.say("ana", "!mydata erase"))
    assert "**Help, about, and your own settings**: communities: 1" in first
    code = ERASE_CODE.search(first)
    assert code
    wrong = texts(await fake.say("ana", "!mydata erase confirm zzzzzz"))
    assert "not right or has expired; nothing was erased" in wrong
    other = texts(await fake.say("bob", f"!mydata erase confirm {code.group(1)}"))
    assert "nothing was erased" in other
    assert await app.members.pseudonym(1, ANA) == "Willow"
    await app.scheduler.advance(timedelta(minutes=11))
    late = texts(await fake.say("ana", f"!mydata erase confirm {code.group(1)}"))
    assert "expired" in late
    assert await app.members.pseudonym(1, ANA) == "Willow"


async def test_the_erase_code_survives_a_restart(app_factory: AppFactory) -> None:
    app, fake = await full_app(app_factory)
    await fake.say("ana", "!me name Rowan")
    code = ERASE_CODE.search(texts(await fake.say("ana", "!mydata erase")))
    assert code
    await app.close()
    again = await app_factory(
        make_config(cogs={"enabled": available_cogs()}), clock=VirtualClock(START)
    )
    fake = FakePlatform(again)
    again.add_transport(fake)
    done = texts(await fake.say("ana", f"!mydata erase confirm {code.group(1)}"))
    assert "Everything stored about you is erased" in done
    assert await again.members.pseudonym(1, ANA) is None
    # Used once: the same code does nothing the second time.
    assert "nothing was erased" in texts(
        await fake.say("ana", f"!mydata erase confirm {code.group(1)}")
    )


async def test_export_goes_only_to_direct_messages(app_factory: AppFactory) -> None:
    _app, fake = await full_app(app_factory)
    await fake.say("ana", "!journal write A quiet morning")
    said = await fake.say("ana", "!mydata export")
    with_files = [s for s in said if s.message.attachment is not None]
    assert len(with_files) == 2 and all(s.where == "dm" and s.to == "ana" for s in with_files)
    assert [s.where for s in said if s.message.attachment is None] == ["ephemeral"]
    data, markdown = await export(fake, "ana")
    assert data["cogs"]["journal"]["entries"][0]["body"] == "A quiet morning"
    assert "A quiet morning" in markdown and "# Everything this bot stores about you" in markdown
    bob, _md = await export(fake, "bob")
    assert "A quiet morning" not in json.dumps(bob)


async def test_an_export_names_other_people_only_by_pseudonym(app_factory: AppFactory) -> None:
    _app, fake = await full_app(app_factory)
    await fake.say("bob", "!me name Birch")
    fake.actor("cy")  # no pseudonym: "another member"
    await fake.say("ana", "!group create Pair")
    await fake.say("ana", "!group invite @bob")
    await fake.say("ana", "!group invite @cy")
    await fake.say("ana", "!urge log 5 rain at the station")
    await fake.say("ana", "!toolbox share 1 bob")
    data, markdown = await export(fake, "ana")
    dumped = json.dumps(data, ensure_ascii=False)
    for text in (dumped, markdown):
        assert "fake:bob" not in text and "fake:cy" not in text, re.findall(
            r".{80}fake:(?:bob|cy).{40}", text
        )
        assert "Birch" in text and "another member" in text
    assert dumped.count(ANA) == 1 and data["account"] == ANA  # her own id, once
    # A document for a person: headings per part and per kind, labels in words, dates written.
    assert "## Your journal" in markdown and "### Invitations to group journals" in markdown
    assert "An invitation from you to Birch to join a group journal" in markdown
    assert "An invitation from you to another member to join" in markdown
    assert "You shared item #1 of your toolbox with Birch" in markdown
    assert "Made on 1 December 2026, 09:00" in markdown and "Times are in UTC." in markdown
    assert "T09:00:00" not in markdown
    assert "rain at the station" in markdown and "_key" not in markdown


async def test_mydata_what_lists_every_loaded_cog(app_factory: AppFactory) -> None:
    app, fake = await full_app(app_factory)
    shown = texts(await fake.say("bob", "!mydata what"))
    for cog in app.cogs.values():
        assert cog.data_statement[:40] in shown


async def test_retention_erases_people_not_seen_for_the_period(app_factory: AppFactory) -> None:
    app, fake = await full_app(app_factory)
    await fake.say("bob", "!me name Quiet")
    await fake.say("ana", "!me name Busy")
    said = await fake.say("ana", "!settings set retention_days 30")
    assert "retention_days` is now 30" in texts(said)
    for _day in range(20):  # Ana keeps using commands (nothing written); Bob goes quiet
        await app.scheduler.advance(timedelta(days=2))
        await fake.say("ana", "!meeting list")
    async with app.db.sessions() as session:
        keys = set(await session.scalars(select(Member.actor_key)))
    assert ANA in keys and "fake:bob" not in keys
    assert await app.members.pseudonym(1, ANA) == "Busy"


async def test_erase_reaches_cogs_that_are_switched_off(app_factory: AppFactory) -> None:
    app, fake = await full_app(app_factory)
    await fake.say("ana", "!journal write Written while journals were on")
    await app.close()
    config = make_config(cogs={"enabled": ["general", "privacy"]})
    later = await app_factory(config, clock=VirtualClock(START))
    fake = FakePlatform(later)
    data, _markdown = await export(fake, "ana")
    assert data["cogs"]["journal"]["entries"][0]["body"] == "Written while journals were on"
    await erase(fake, "ana")
    async with later.db.sessions() as session:
        assert (await session.scalars(select(JournalEntry))).all() == []


async def community_rows(app: App) -> dict[str, int]:
    """Rows tied to the community, per table (from the schema, so new tables count too)."""
    from bot.maintenance import community_tables

    counts: dict[str, int] = {}
    async with app.db.engine.connect() as conn:
        for table, column, _parent in community_tables():
            rows = (await conn.execute(select(column).select_from(table))).all()
            counts[table.name] = sum(1 for (value,) in rows if value is not None)
    return {k: v for k, v in counts.items() if v}


async def test_a_community_that_removed_the_bot_is_erased_after_the_period(
    app_factory: AppFactory,
) -> None:
    app, fake = await full_app(app_factory)
    await fake.say("ana", "!me name Hazel")
    await fake.say("ana", "!journal feed-channel #general")
    await fake.say("ana", "!journal write visibility:shared written in the circle")
    await fake.say("ana", '!meeting schedule Circle "2026-12-02 19:00" 60m zone:UTC')
    await fake.say("ana", '!meeting schedule Weekly "2026-12-03 19:00" 60m repeat:weekly zone:UTC')
    await fake.say("ana", "!urge log 4 a personal item, not the community's")
    await app.outbox.deliver_due()
    assert {"journal_entry", "meeting", "member"} <= set(await community_rows(app))
    assert any("written in the circle" in s.text for s in fake.said if s.where == "channel")
    notice = await app.community_removed("fake", COMMUNITY)
    assert notice is not None
    assert "kept for 30 days, until 31 December 2026, 09:00 (UTC)" in notice
    assert "circlebot export-community 1" in notice and "erased for good" in notice
    assert await app.community_removed("fake", COMMUNITY) == notice  # the first removal counts
    await app.scheduler.advance(timedelta(days=29, hours=23))
    assert "journal_entry" in await community_rows(app)  # kept during the period
    await app.scheduler.advance(timedelta(days=1, hours=2))
    assert await community_rows(app) == {}
    assert await app.members.community_by_id(1) is None
    # the outbox keeps nothing of it: no pending announcement or reminder, no sent post's
    # place, no reference (it stood outside the foreign keys the community row cascades to)
    async with app.db.sessions() as session:
        left = (await session.scalars(select(OutboxItemRef))).all()
        assert [(r.item_id, r.kind, r.ref) for r in left] == []
        kept = (await session.scalars(select(OutboxItem))).all()
        assert [(r.status, r.target, r.payload) for r in kept if r.target or r.payload] == []
    data, _md = await export(fake, "ana")  # personal rows outside the community stay
    assert data["cogs"]["worksheets"]["toolbox"]


async def test_a_community_that_adds_the_bot_back_keeps_its_data(app_factory: AppFactory) -> None:
    app, fake = await full_app(app_factory)
    await fake.say("ana", "!journal write visibility:shared still here")
    assert await app.community_removed("fake", COMMUNITY)
    await app.scheduler.advance(timedelta(days=10))
    await fake.say("ana", "!ping")  # a lookup after removal does not call it off...
    await app.scheduler.advance(timedelta(days=1))
    await app.community_returned("fake", COMMUNITY)  # ...the platform saying "added" does
    await app.scheduler.advance(timedelta(days=40))
    assert "journal_entry" in await community_rows(app)
    assert await app.community_removed("fake", "never-seen") is None


PEOPLE = st.sampled_from(["fake:bob", "matrix:@cy:example.org", "discord:81234", ANA])
FIELDS = st.sampled_from(["author_key", "inviter_key", "verified_by", "target", "note", "body"])


def nested(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Lists and objects of `inner` (a def, not a lambda: hypothesis reads its source to check
    that it recurses, and a multi-line lambda's source is not always found)."""
    return st.one_of(st.lists(inner, max_size=3), st.dictionaries(FIELDS, inner, max_size=3))


JSON = st.recursive(
    st.one_of(st.none(), st.integers(), PEOPLE, st.text(max_size=12)), nested, max_leaves=12
)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(body=JSON, prose=st.lists(PEOPLE, max_size=3))
def test_no_account_in_a_person_field_or_in_text_survives_the_export(
    body: Any, prose: list[str]
) -> None:
    """Whatever shape a cog's export has: a person field's account, and that account wherever
    it appears in text, becomes a name; the member's own becomes "you"."""
    from cogs.privacy.service import YOU, _person_fields, _replace_keys

    data = {"rows": body, "text": " and ".join(prose)}
    named = _person_fields(data)
    names = {key: f"name{n}" for n, key in enumerate(sorted(named - {ANA}))} | {ANA: YOU}
    out = json.dumps(_replace_keys(data, names))
    for key in named | {ANA}:
        assert key not in out


SNAKE_CASE = re.compile(r"\b[a-z]+_[a-z0-9_]+\b")
FIELD_DUMP = re.compile(r"(?im)^\W*(\*\*)?(is|has) [a-z ]+(\*\*)?: *(yes|no)\b")


async def test_the_readable_export_is_a_document_for_a_person(app_factory: AppFactory) -> None:
    app, fake = await full_app(app_factory)
    canaries = await ana_everywhere(app, fake)
    await fake.say("ana", "!me timezone Asia/Tokyo")
    await fake.say("ana", "!meeting reminders on")  # a reminder DM now waits for her
    data, md = await export(fake, "ana")
    assert data["core"]["messages_to_you"], "the export should hold a waiting message"
    # plain words: no field names, no "Is dm: yes" lines, no bookkeeping
    assert SNAKE_CASE.findall(md) == []
    assert FIELD_DUMP.findall(md) == []
    for internal in ("Not after", "Platform", "Token", "Version", "Uid", "Rrule", "Flow"):
        assert f"{internal}:" not in md, internal
    # every kind of record she has appears under its heading, with what she wrote
    for part in [*data["cogs"].values(), data["core"]]:
        for kind, value in part.items():
            if value:
                assert f"### {render.SENTENCES[kind][0]}\n" in md, kind
    for canary in canaries:
        assert canary in md, canary
    assert "> Ana's day canary1zq" in md  # her entry, quoted under its sentence
    # dates in her own zone: the export was made at 09:00 UTC, 18:00 in Tokyo
    assert "Made on 1 December 2026, 18:00 for your account fake:ana." in md
    assert "Times are in Asia/Tokyo." in md
    assert "09:00 UTC" not in md and "+00:00" not in md  # also inside a waiting message
    assert "it begins 3 December 2026, 04:00." in md
    # other people only by pseudonym or as another member: never an account or a login name
    assert "fake:bob" not in md and "Recipient name" not in md
    assert "You shared item #1 of your toolbox with another member" in md
    assert "Another member shared an item of their toolbox with you" in md
