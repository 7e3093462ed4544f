"""Journal search through the blind index finds exactly what decrypting and scanning finds.

The index (cogs/journal/search.py) holds keyed hashes of normalised words. A model-based
property runs random writes, edits, deletes, key changes, re-indexing and entries left
unindexed (as from before the index) by two authors, and after each step compares the
service's search with the reference: decrypt every entry of the author and keep those whose
normalised words include every word asked for, newest first (the count exact up to the
configured most, then "more"). On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, update

from bot import crypto
from bot.app import App
from bot.clock import VirtualClock
from bot.core import UserError
from cogs.journal import search
from cogs.journal import service as journal_service
from cogs.journal.cog import JournalCog
from cogs.journal.models import JournalEntry, JournalSearchWord
from cogs.journal.service import JournalService
from tests.harness.app import MigratedSQLite, make_config
from tests.harness.journal import START
from tests.harness.postgres import fresh_pg_schema, pg_url

ANA, BEN = "fake:ana", "fake:ben"
COUNT_MAX = 3  # matches counted exactly; small, so both ways of searching are taken
VOCABULARY = [
    "Café",
    "cafe",
    "CAFÉ",
    "walk",
    "walking",
    "don't",
    "Straße",
    "strasse",
    "naïve",
    "naive",
    "日本",
    "本",
    "ＡＢＣ",
    "abc",
    "Ωμέγα",
    "ωμεγα",
    "urge",
    "calm",
]
SINGLE_WORDS = sorted({min(w) for w in map(search.words, VOCABULARY)})  # one of each word
_text = st.lists(st.sampled_from(VOCABULARY) | st.text(max_size=6), min_size=1, max_size=8).map(
    " , ".join
)
_body = _text.filter(lambda t: t.strip() != "")
_title = st.none() | _text.filter(lambda t: t.strip() != "")
_query = st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=3).map(" ".join)
_step = st.one_of(
    st.tuples(st.just("write"), st.sampled_from([ANA, BEN]), _body, _title),
    st.tuples(st.just("edit"), st.integers(0, 20), st.none() | _body, _title),
    st.tuples(st.just("delete"), st.integers(0, 20)),
    st.tuples(st.just("unindex"), st.integers(0, 20)),
    st.tuples(st.just("rotate")),
    st.tuples(st.just("reindex")),
)


async def _scanned(
    service: JournalService, author: str, text: str, limit: int
) -> tuple[list[str], int]:
    """The reference: decrypt all of `author`'s entries and match their words."""
    wanted = search.words(text)
    async with service._sessions() as session:
        rows = (
            await session.scalars(select(JournalEntry).where(JournalEntry.author_key == author))
        ).all()
    hits = sorted(
        (
            (r.created_at, r.id, r.code)
            for r in rows
            if wanted <= search.entry_words(r.title, r.body)
        ),
        reverse=True,
    )
    return [code for _c, _i, code in hits[:limit]], len(hits)


async def _run(
    app: App, keys: list[str], steps: list[tuple[Any, ...]], queries: list[str]
) -> None:
    journal = app.cogs["journal"]
    assert isinstance(journal, JournalCog)
    service = journal.service
    clock = app.clock
    assert isinstance(clock, VirtualClock)
    codes: list[tuple[str, str]] = []  # (author, code) of entries written, deleted ones too
    for step in steps:
        kind = step[0]
        if kind == "write":
            clock.set(clock.now() + timedelta(minutes=1))
            saved = await service.write(step[1], None, step[2], title=step[3])
            codes.append((step[1], saved.entry.code))
        elif kind in {"edit", "delete", "unindex"} and codes:
            author, code = codes[step[1] % len(codes)]
            async with service._sessions.begin() as session:
                row = await session.scalar(select(JournalEntry).where(JournalEntry.code == code))
                if row is None:
                    continue
                if kind == "unindex":  # as an entry written before the index existed
                    await session.execute(
                        delete(JournalSearchWord).where(JournalSearchWord.entry_id == row.id)
                    )
                    await session.execute(
                        update(JournalEntry)
                        .where(JournalEntry.id == row.id)
                        .values(search_key=None)
                    )
                    continue
            if kind == "edit" and (step[2] is not None or step[3] is not None):
                await service.edit(author, code, body=step[2], title=step[3])
            elif kind == "delete":
                await service.delete(author, code)
        elif kind == "rotate":  # a new key first, the old ones kept to read older entries
            keys.insert(0, crypto.generate_key())
            crypto.use_keys(keys)
        elif kind == "reindex":
            await service.reindex(batch=3)
        for author in (ANA, BEN):
            for text in [*queries, *SINGLE_WORDS]:
                found = await service.search(author, text, 5)
                codes_seen, total = await _scanned(service, author, text, 5)
                assert [v.code for v in found.entries] == codes_seen, (author, text)
                assert (found.total, found.more) == (min(total, COUNT_MAX), total > COUNT_MAX)
    # Deleted entries leave no index rows; every row belongs to a live entry.
    async with service._sessions() as session:
        orphans = await session.scalar(
            select(func.count())
            .select_from(JournalSearchWord)
            .where(JournalSearchWord.entry_id.not_in(select(JournalEntry.id)))
        )
    assert orphans == 0


async def _example(steps: list[tuple[Any, ...]], queries: list[str], pg: bool) -> None:
    keys = [crypto.generate_key()]
    crypto.use_keys(keys)
    config = make_config(
        cogs={
            "enabled": ["general", "journal"],
            "journal": {"writes_per_hour": 10_000, "search_count_max": COUNT_MAX},
        }
    )
    with tempfile.TemporaryDirectory() as folder:
        if pg:
            async with fresh_pg_schema(migrated=True) as schema:
                app = App(config, clock=VirtualClock(START), db_url=pg_url(), db_schema=schema)
                await _opened(app, keys, steps, queries)
        else:
            MigratedSQLite.copy_to(Path(folder) / "j.sqlite3")
            url = f"sqlite+aiosqlite:///{Path(folder) / 'j.sqlite3'}"
            await _opened(App(config, clock=VirtualClock(START), db_url=url), keys, steps, queries)


async def _opened(
    app: App, keys: list[str], steps: list[tuple[Any, ...]], queries: list[str]
) -> None:
    await app.open(migrate=True)
    await app.start()
    try:
        await _run(app, keys, steps, queries)
    finally:
        await app.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_index_search_finds_exactly_what_decrypting_everything_finds(backend: str) -> None:
    @settings(
        max_examples=25 if backend == "sqlite" else 10,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(
        steps=st.lists(_step, min_size=1, max_size=12),
        queries=st.lists(_query, min_size=1, max_size=3),
    )
    def check(steps: list[tuple[Any, ...]], queries: list[str]) -> None:
        asyncio.run(_example(steps, queries, backend == "postgres"))

    # Small pages and statements, so the examples' few entries cross their edges: entries not
    # indexed yet are decrypted a page at a time, index rows inserted a few per statement.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(journal_service, "DECRYPT_PAGE", 2)
        patch.setattr(journal_service, "INDEX_INSERT_ROWS", 3)
        check()


def test_words_fold_case_accents_widths_and_punctuation() -> None:
    assert search.words("Café, CAFE! cafe\u0301") == {"cafe"}
    assert search.words("Straße") == search.words("STRASSE") == {"strasse"}
    assert search.words("ＡＢＣ naïve") == {"abc", "naive"}
    assert search.words("Ωμέγα") == search.words("ΩΜΕΓΑ") == {"ωμεγα"}
    assert search.words("don't-stop") == {"don", "t", "stop"}
    assert search.words("今日は散歩") == {"今", "日", "は", "散", "歩"}
    assert search.words("... !!! ") == set()


def test_the_same_word_by_two_authors_gives_unrelated_codes() -> None:
    assert search.entry_hashes(ANA, None, "calm") != search.entry_hashes(BEN, None, "calm")
    assert search.entry_hashes(ANA, "Calm", "") == search.entry_hashes(ANA, None, "CALM")


async def test_a_search_without_words_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    app = App(
        make_config(cogs={"enabled": ["general", "journal"]}),
        clock=VirtualClock(START),
        db_url=f"sqlite+aiosqlite:///{tmp_path / 'j.sqlite3'}",
    )
    await app.open(migrate=True)
    await app.start()
    try:
        journal = app.cogs["journal"]
        assert isinstance(journal, JournalCog)
        with pytest.raises(UserError):
            await journal.service.search(ANA, " ?! ", 5)
    finally:
        await app.close()


def test_entries_not_indexed_yet_are_all_found_across_decrypted_pages() -> None:
    """After a key change nothing may be indexed: a search then decrypts a member's entries a
    page at a time, and must find every match on every page (five pages of two here)."""
    steps: list[tuple[Any, ...]] = [("write", ANA, f"a calm walk {n}", None) for n in range(9)]
    steps += [("write", BEN, "a calm walk too", None)]
    steps += [("unindex", n) for n in range(10)]
    steps += [("edit", 0, None, None)]  # changes nothing; the searches are checked after it
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(journal_service, "DECRYPT_PAGE", 2)
        asyncio.run(_example(steps, ["calm walk", "walk", "4"], pg=False))


async def _unindex(service: JournalService, codes: list[str]) -> None:
    """These entries as just after a key change: not indexed under any configured key."""
    async with service._sessions.begin() as session:
        for code in codes:
            row = await session.scalar(select(JournalEntry).where(JournalEntry.code == code))
            assert row is not None
            await session.execute(
                delete(JournalSearchWord).where(JournalSearchWord.entry_id == row.id)
            )
            await session.execute(
                update(JournalEntry).where(JournalEntry.id == row.id).values(search_key=None)
            )


async def test_an_entry_indexed_while_a_search_pages_through_is_shown_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Re-indexing runs beside members: an entry it indexes during a search's turns is then
    both a match among the entries not indexed and an indexed one; it is listed once, and the
    oldest match still fits in the page."""
    config = make_config(
        cogs={
            "enabled": ["general", "journal"],
            "journal": {"writes_per_hour": 10_000, "search_count_max": COUNT_MAX},
        }
    )
    MigratedSQLite.copy_to(tmp_path / "j.sqlite3")
    clock = VirtualClock(START)
    app = App(config, clock=clock, db_url=f"sqlite+aiosqlite:///{tmp_path / 'j.sqlite3'}")
    await app.open(migrate=True)
    await app.start()
    try:
        journal = app.cogs["journal"]
        assert isinstance(journal, JournalCog)
        service = journal.service
        codes = []
        for n in range(8):
            clock.set(clock.now() + timedelta(minutes=1))
            codes.append((await service.write(ANA, None, f"calm walk {n}")).entry.code)
        await _unindex(service, codes[-3:])
        expected = [view.code for view in (await service.search(ANA, "calm", 10)).entries]
        assert sorted(expected) == sorted(codes)

        real = journal_service.LoopTurns
        reindexed: list[int] = []
        began: list[bool] = []  # the re-index's own turns must not start another

        class ReindexAtFirstTurn(real):  # type: ignore[misc, valid-type]
            def __init__(self) -> None:
                super().__init__(every_seconds=0.0)

            async def take(self) -> None:
                if not began:
                    began.append(True)
                    reindexed.append(await service.reindex())
                await super().take()

        await _unindex(service, codes[-3:])
        monkeypatch.setattr(journal_service, "LoopTurns", ReindexAtFirstTurn)
        monkeypatch.setattr(journal_service, "DECRYPT_PAGE", 2)
        raced = await service.search(ANA, "calm", 10)
        assert reindexed == [3]
        assert [view.code for view in raced.entries] == expected
    finally:
        await app.close()
