"""Deleted is gone, erased is gone: a marker scan over the whole database, on both backends.

A member writes a unique marker through every path that stores what members write (journal,
feedback, group post, worksheet, urge log, toolbox share, RSVP, pseudonym, crisis answer,
dialogue state), deletes some of it, then erases everything. Journal text is also looked for
as its search index codes. The scan then reflects the live
schema, decrypts every Fernet token (also inside JSON payloads) and searches every column, the
SQLite file and its write-ahead log, and the log lines, for the markers and for every known
encoding of the member's account id. Nothing may remain.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text

from bot import crypto
from bot.app import App
from bot.clock import VirtualClock
from bot.core.loader import available_cogs
from bot.core.permissions import Tier
from cogs.journal import search as journal_search
from tests.harness.app import lift_rate_limit, make_config
from tests.harness.platform import FakePlatform, Said
from tests.harness.postgres import fresh_pg_schema, pg_url
from tests.harness.privacy_scan import (
    Hit,
    find,
    id_encodings,
    live_tokens,
    scan_database,
    scan_sqlite_files,
)

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MEMBER = "zuriq7"  # an id no other text contains, so its raw form can be searched for
KEY = f"fake:{MEMBER}"
CODE = re.compile(r"`([2-9a-z]{6})`")
ERASE_CODE = re.compile(r"mydata erase confirm ([2-9a-z]{6})")
PATHS = (
    "pseudonym",
    "journal",
    "deleted",
    "feedback",
    "grouppost",
    "groupname",
    "worksheet",
    "urgelog",
    "toolboxshare",
    "toolboxdeleted",
    "crisis",
    "dialogue",
)


def marker(path: str) -> str:
    return f"mk{path}x9"


def texts(said: list[Said]) -> str:
    return "\n".join(s.text for s in said)


def code_in(said: list[Said]) -> str:
    for item in said:
        if m := CODE.search(item.text):
            return m.group(1)
    raise AssertionError(f"no code in {texts(said)}")


@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[dict[str, str | None]]:
    if request.param == "sqlite":
        yield {"db_url": f"sqlite+aiosqlite:///{tmp_path / 'scan.sqlite3'}", "db_schema": None}
    else:
        async with fresh_pg_schema(migrated=True) as schema:
            yield {"db_url": pg_url(), "db_schema": schema}


async def write_everywhere(app: App, fake: FakePlatform) -> None:
    """The member leaves a marker through every path that stores member text."""
    say = fake.say
    m = marker
    await say("mod", "!journal feed-channel #general")
    await say("mod", "!crisis alerts #mods")
    await say(MEMBER, f"!me name Zu{m('pseudonym')}")
    # journal: a shared entry (posted to the feed), a private one that is deleted
    await say(MEMBER, f"!journal write visibility:shared {m('journal')} today")
    gone = code_in(await say(MEMBER, f"!journal write {m('deleted')} not for keeping"))
    assert "gone" in texts(await say(MEMBER, f"!journal delete {gone}")).lower()
    # feedback on another member's shared entry (a DM notice to them follows)
    theirs = code_in(await say("bob", "!journal write visibility:shared Bob's week"))
    await say(MEMBER, f"!journal feedback {theirs} {m('feedback')} keep going")
    # a group journal with a post, and another member invited to it
    await say(MEMBER, f"!group create G{m('groupname')}")
    await say(MEMBER, "!group invite @bob")
    await say(MEMBER, f"!group write G{m('groupname')} {m('grouppost')} together")
    # an urge log shared with a facilitator, one deleted, and a worksheet left unfinished
    await say(MEMBER, f"!urge log 6 {m('urgelog')}")
    await say(MEMBER, "!toolbox share 1 bob")
    await say(MEMBER, f"!urge log 4 {m('toolboxdeleted')}")
    await say(MEMBER, "!toolbox delete 2")
    # a crisis phrase: answered privately, moderators told, nothing of it stored (said
    # before a dialogue is open, which would take it as an answer)
    said = await say(MEMBER, f"I want to end my life {m('crisis')}", dm=True)
    assert any("moderators know" in s.text for s in said)
    await say(MEMBER, "!worksheet start abc")
    await say(MEMBER, "3", dm=True)
    await say(MEMBER, f"{m('worksheet')} {m('dialogue')}", dm=True)
    # meetings: the member facilitates one (announcements name them) and RSVPs to another
    await say(MEMBER, '!meeting schedule Circle "2026-12-02 19:00" 60m repeat:weekly zone:UTC')
    # (a cancelled date's note is the meeting's, and meetings stay for those who go to them)
    await say(MEMBER, '!meeting cancel Circle 2026-12-09 note:"Winter break"')
    await say("bob", '!meeting schedule Evening "2026-12-01 20:00" 60m zone:UTC')
    await say(MEMBER, "!meeting rsvp Evening reminder:30m")
    # (an RSVP holds no words: the scan finds it by the member's account id)
    # let deliveries happen: feed posts, feedback notices, reminders
    await app.scheduler.advance(timedelta(hours=12))


async def erase(fake: FakePlatform) -> None:
    first = texts(await fake.say(MEMBER, "!mydata erase"))
    found = ERASE_CODE.search(first)
    assert found, first
    done = texts(await fake.say(MEMBER, f"!mydata erase confirm {found.group(1)}"))
    assert "Everything stored about you is erased" in done


def indexed(path: str) -> str:
    """The journal search index's value for the member's marker word (cogs/journal/search.py)."""
    (code,) = journal_search.entry_hashes(KEY, None, marker(path))
    return str(code)


INDEXED = ("journal", "deleted", "grouppost")  # journal text: its words are indexed


def needles() -> list[str]:
    tags = [crypto.actor_tag(KEY, p, length=12) for p in ("meetings.dm", "adapter-state")]
    codes = [indexed(p) for p in INDEXED]
    return [*(marker(p) for p in PATHS), *sorted(id_encodings(KEY)), *tags, *codes]


def report(hits: list[Hit]) -> str:
    return "\n".join(f"{h.where}: {h.needle} in …{h.context}…" for h in hits[:40])


async def test_nothing_of_an_erased_member_remains_anywhere(
    backend: dict[str, str | None], caplog: pytest.LogCaptureFixture
) -> None:
    app = App(
        make_config(cogs={"enabled": available_cogs()}),
        clock=VirtualClock(START),
        db_url=backend["db_url"],
        db_schema=backend["db_schema"],
    )
    await app.open(migrate=True)
    await app.start()
    lift_rate_limit(app)
    try:
        fake = FakePlatform(app)
        app.add_transport(fake)
        fake.actor("mod", Tier.MODERATOR)
        fake.actor("bob", Tier.FACILITATOR)
        fake.actor(MEMBER, Tier.FACILITATOR)
        with caplog.at_level(logging.DEBUG, logger="circlebot"):
            await write_everywhere(app, fake)
            # Before erasing, the scan must see the member (else it would prove nothing).
            before = {h.needle for h in await scan_database(app.db.engine, needles())}
            for path in ("pseudonym", "journal", "feedback", "grouppost", "urgelog"):
                assert marker(path) in before, path
            assert indexed("journal") in before and indexed("grouppost") in before
            assert KEY in before
            deleted = {marker(p) for p in ("deleted", "toolboxdeleted", "crisis")}
            deleted.add(indexed("deleted"))  # a deleted entry's words leave the index too
            lingering = [
                h for h in await scan_database(app.db.engine, needles()) if h.needle in deleted
            ]
            assert not lingering, "deleted, yet stored:\n" + report(lingering)
            url = backend["db_url"] or ""
            if url.startswith("sqlite"):  # nor in the file or its write-ahead log, before erase
                in_files = scan_sqlite_files(Path(url.split("///", 1)[1]), sorted(deleted))
                assert not in_files, "deleted, yet in the files:\n" + report(in_files)
            await erase(fake)
            await app.scheduler.advance(timedelta(days=2))
            hits = await scan_database(app.db.engine, needles())
        assert not hits, "left in the database:\n" + report(hits)
        url = backend["db_url"] or ""
        if url.startswith("sqlite"):
            file_hits = scan_sqlite_files(
                Path(url.split("///", 1)[1]),
                needles(),
                skip_tokens=await live_tokens(app.db.engine),  # the rows above were scanned
            )
            assert not file_hits, "left in the files:\n" + report(file_hits)
        log_hits = [
            h for r in caplog.records for h in find(f"log {r.name}", r.getMessage(), needles())
        ]
        assert not log_hits, "in the log lines:\n" + report(log_hits)

    finally:
        await app.close()


async def test_the_scan_finds_a_token_nested_in_a_new_tables_json(tmp_path: Path) -> None:
    """A table added later, holding a member's words inside an encrypted JSON payload inside
    JSON, is found without the scan knowing the table."""
    app = App(make_config(), db_url=f"sqlite+aiosqlite:///{tmp_path / 'new.sqlite3'}")
    await app.open(migrate=True)
    try:
        inner = crypto.keyring().encrypt(json.dumps({"said": marker("nested")}))
        outer = json.dumps({"payload": {"items": [inner]}, "who": "someone"})
        async with app.db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE later_feature (id INTEGER, blob TEXT)"))
            await conn.execute(text("INSERT INTO later_feature VALUES (1, :v)"), {"v": outer})
        hits = await scan_database(app.db.engine, [marker("nested"), KEY])
        assert [(h.where, h.needle) for h in hits] == [("later_feature.blob", marker("nested"))]
        hashed = find("x", json.dumps({"k": f"dm-{sorted(id_encodings(KEY))[0]}"}), needles())
        assert hashed
    finally:
        await app.close()
