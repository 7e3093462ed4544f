"""Journal logic over the database: who may see what, limits, groups, and blind-indexed search.

Every public method is one transaction. Visibility is decided in one place (`_visible`), and
anything a member may not see raises the same `NotFound` as an id that never existed.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    bindparam,
    delete,
    func,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from bot.core import (
    Clock,
    LoopTurns,
    NotFound,
    Page,
    UserError,
    _,
    closest_name,
    export_row,
    name_key,
    ngettext,
    page_count,
    page_offset,
)
from cogs.journal import search as index
from cogs.journal.models import (
    JournalEntry,
    JournalFeedback,
    JournalGroup,
    JournalGroupMember,
    JournalInvite,
    JournalSearchWord,
)

PRIVATE, SHARED, GROUP = "private", "shared", "group"
ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: easy to read and type
ENTRY_CODE = 6
INVITE_CODE = 10
GROUP_NAME_MAX = 40
SEARCH_CHUNK = 500
# Entries decrypted at once (re-indexing, or matching entries not indexed yet): loading one
# decrypts it on the event loop, so a page is what a member can wait for between turns.
DECRYPT_PAGE = 100
INDEX_INSERT_ROWS = 1000  # index rows per multi-row INSERT


def new_code(length: int) -> str:
    """A random id: it says nothing about how many entries exist or who wrote them."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def clean_code(text: str) -> str:
    """Accept `#abc123`, ` ABC123 ` and the like."""
    return text.strip().lstrip("#`").rstrip("`").lower()[:32]


def fold(text: str) -> str:
    """Case- and width-insensitive form for names and search."""
    return unicodedata.normalize("NFKC", text).casefold()


def entry_not_found(code: str) -> NotFound:
    """The one message for a missing entry and for one the member may not see."""
    return NotFound(
        _("I can't find an entry `{code}` that you can open.").format(code=clean_code(code))
    )


def feedback_not_found(code: str) -> NotFound:
    """The one message for missing feedback and feedback the member may not see."""
    return NotFound(
        _("I can't find feedback `{code}` that you can open.").format(code=clean_code(code))
    )


def group_word(name: str) -> str:
    """`Evening circle` and `evening-circle` name the same group."""
    return "-".join(name.split())


def group_not_found(name: str) -> NotFound:
    """Groups you are not in look exactly like groups that do not exist."""
    return NotFound(
        _("You are not in a group journal called **{name}** here.").format(
            name=name[:GROUP_NAME_MAX]
        )
    )


@dataclass(frozen=True)
class FeedbackView:
    """Feedback as a reader sees it; `author_key` None means a former member."""

    code: str
    author_key: str | None
    body: str
    created_at: datetime


@dataclass(frozen=True)
class EntryView:
    """One entry with what the reader may see of it."""

    code: str
    author_key: str
    community_id: int | None
    title: str | None
    body: str
    mood: int | None
    visibility: str
    group_name: str | None
    feedback_open: bool
    removed: bool
    created_at: datetime
    edited_at: datetime | None
    feedback: tuple[FeedbackView, ...] = ()


@dataclass(frozen=True)
class Saved:
    """What a write or edit did, so the cog knows whether to post to the feed channel."""

    entry: EntryView
    newly_shared: bool
    # A shared entry whose words changed without the member saying `visibility:shared`: it
    # went private again, so new words never reach the feed without their asking.
    withdrawn: bool = False


@dataclass(frozen=True)
class FeedbackSaved:
    """A new piece of feedback and the entry it belongs to."""

    code: str
    entry: EntryView


@dataclass(frozen=True)
class Invite:
    """A join code made for one person."""

    code: str
    group_name: str
    expires_at: datetime


@dataclass(frozen=True)
class SearchResult:
    """What `search` found: the newest matches, how many matched, and whether more did (then
    `total` is the most counted exactly)."""

    entries: list[EntryView]
    total: int
    more: bool


@dataclass(frozen=True)
class Limits:
    """The cog's configured limits, as the service needs them."""

    entry_chars: int
    title_chars: int
    feedback_chars: int
    writes_per_hour: int
    feedback_per_hour: int
    page_size: int
    invite_days: int
    search_count_max: int


def _view(
    row: JournalEntry, group_name: str | None = None, feedback: Sequence[FeedbackView] = ()
) -> EntryView:
    return EntryView(
        code=row.code,
        author_key=row.author_key,
        community_id=row.community_id,
        title=row.title,
        body=row.body,
        mood=row.mood,
        visibility=row.visibility,
        group_name=group_name,
        feedback_open=row.feedback_open,
        removed=row.removed_at is not None,
        created_at=row.created_at,
        edited_at=row.edited_at,
        feedback=tuple(feedback),
    )


class JournalService:
    """Entries, feedback and group journals; one public method = one transaction."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Clock, limits: Limits
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self.limits = limits

    # -- checks ------------------------------------------------------------------------------

    def check_body(self, text: str) -> str:
        """Refuse empty or too long entries with one clear message."""
        body = text.strip()
        if not body:
            raise UserError(_("An entry needs some text. Even one line is fine."))
        if len(body) > self.limits.entry_chars:
            raise UserError(
                ngettext(
                    "That entry is {n} character; the limit is {limit}. You could split it "
                    "into two entries.",
                    "That entry is {n} characters; the limit is {limit}. You could split it "
                    "into two entries.",
                    len(body),
                ).format(n=len(body), limit=self.limits.entry_chars)
            )
        return body

    def check_title(self, text: str | None) -> str | None:
        """An optional short title."""
        if text is None or not text.strip():
            return None
        title = " ".join(text.split())
        if len(title) > self.limits.title_chars:
            raise UserError(
                ngettext(
                    "A title can be at most {limit} character.",
                    "A title can be at most {limit} characters.",
                    self.limits.title_chars,
                ).format(limit=self.limits.title_chars)
            )
        return title

    def check_feedback(self, text: str) -> str:
        """Refuse empty or too long feedback."""
        body = text.strip()
        if not body:
            raise UserError(_("Feedback needs some text."))
        if len(body) > self.limits.feedback_chars:
            raise UserError(
                ngettext(
                    "That feedback is {n} character; the limit is {limit}.",
                    "That feedback is {n} characters; the limit is {limit}.",
                    len(body),
                ).format(n=len(body), limit=self.limits.feedback_chars)
            )
        return body

    @staticmethod
    def check_mood(mood: int | None) -> int | None:
        """Mood is an optional 1-10."""
        if mood is not None and not 1 <= mood <= 10:
            raise UserError(_("Mood is a number from 1 to 10."))
        return mood

    async def _rate_check(self, session: AsyncSession, author_key: str) -> None:
        since = self._clock.now() - timedelta(hours=1)
        count = await session.scalar(
            select(func.count(JournalEntry.id)).where(
                JournalEntry.author_key == author_key, JournalEntry.created_at > since
            )
        )
        if (count or 0) >= self.limits.writes_per_hour:
            raise UserError(
                ngettext(
                    "You've written {n} entry in the last hour, which is the limit here. "
                    "Please try again a little later; nothing was saved.",
                    "You've written {n} entries in the last hour, which is the limit here. "
                    "Please try again a little later; nothing was saved.",
                    count or 0,
                ).format(n=count or 0)
            )

    # -- entries -----------------------------------------------------------------------------

    async def write(
        self,
        author_key: str,
        community_id: int | None,
        body: str,
        *,
        title: str | None = None,
        mood: int | None = None,
        visibility: str = PRIVATE,
        group_id: int | None = None,
        source: str | None = None,
    ) -> Saved:
        """Save a new entry (private, shared in the community, or in a group journal).

        `source` (a finished dialogue's token) makes a repeated finish return the first save.
        """
        body = self.check_body(body)
        title = self.check_title(title)
        mood = self.check_mood(mood)
        if visibility == SHARED and community_id is None:
            raise UserError(_("Sharing needs a community; write this in a community channel."))
        async with self._sessions.begin() as session:
            if source:
                existing = await session.scalar(
                    select(JournalEntry).where(JournalEntry.source == source)
                )
                if existing is not None:
                    name = await self._group_name(session, existing.group_id)
                    return Saved(_view(existing, name), newly_shared=False)
            await self._rate_check(session, author_key)
            group_name = None
            if visibility == GROUP:
                group = await self._member_group_by_id(session, group_id, author_key)
                group_name, community_id = group.name, group.community_id
            row = JournalEntry(
                code=await self._unique_code(session),
                author_key=author_key,
                community_id=community_id,
                title=title,
                body=body,
                mood=mood,
                visibility=visibility,
                group_id=group_id if visibility == GROUP else None,
                feedback_open=True,
                created_at=self._clock.now(),
                version=1,
                source=source or None,
            )
            session.add(row)
            await session.flush()
            await _index(session, row)
        return Saved(_view(row, group_name), newly_shared=visibility == SHARED)

    async def _unique_code(self, session: AsyncSession) -> str:
        while True:
            code = new_code(ENTRY_CODE)
            taken = await session.scalar(select(JournalEntry.id).where(JournalEntry.code == code))
            taken = taken or await session.scalar(
                select(JournalFeedback.id).where(JournalFeedback.code == code)
            )
            if taken is None:
                return code

    async def _visible(
        self, session: AsyncSession, viewer: str, community_id: int | None, code: str
    ) -> JournalEntry:
        """The entry if `viewer` may open it; otherwise exactly what a missing id gives."""
        row = await session.scalar(
            select(JournalEntry).where(JournalEntry.code == clean_code(code))
        )
        if row is None:
            raise entry_not_found(code)
        if row.author_key == viewer:
            return row
        if row.removed_at is not None:
            raise entry_not_found(code)
        if (
            row.visibility == SHARED
            and community_id is not None
            and row.community_id == community_id
        ):
            return row
        if row.visibility == GROUP and row.group_id is not None:
            member = await session.scalar(
                select(JournalGroupMember.id).where(
                    JournalGroupMember.group_id == row.group_id,
                    JournalGroupMember.actor_key == viewer,
                )
            )
            if member is not None:
                return row
        raise entry_not_found(code)

    async def _own(self, session: AsyncSession, author: str, code: str) -> JournalEntry:
        row = await session.scalar(
            select(JournalEntry).where(
                JournalEntry.code == clean_code(code), JournalEntry.author_key == author
            )
        )
        if row is None:
            raise entry_not_found(code)
        return row

    async def read(self, viewer: str, community_id: int | None, code: str) -> EntryView:
        """An entry with its visible feedback (all of it for the author)."""
        async with self._sessions() as session:
            row = await self._visible(session, viewer, community_id, code)
            group_name = await self._group_name(session, row.group_id)
            feedback = await session.scalars(
                select(JournalFeedback)
                .where(JournalFeedback.entry_id == row.id, JournalFeedback.removed_at.is_(None))
                .order_by(JournalFeedback.created_at, JournalFeedback.id)
            )
            views = [FeedbackView(f.code, f.author_key, f.body, f.created_at) for f in feedback]
            return _view(row, group_name, views)

    async def read_own(self, author: str, code: str) -> EntryView:
        """One of the member's own entries (anyone else's looks missing)."""
        async with self._sessions() as session:
            return (await self._views(session, [await self._own(session, author, code)]))[0]

    async def _group_name(self, session: AsyncSession, group_id: int | None) -> str | None:
        if group_id is None:
            return None
        return await session.scalar(select(JournalGroup.name).where(JournalGroup.id == group_id))

    async def _views(
        self, session: AsyncSession, rows: Sequence[JournalEntry]
    ) -> tuple[EntryView, ...]:
        """Views of `rows` in order, each group entry carrying its group's name (one query)."""
        ids = {r.group_id for r in rows if r.group_id is not None}
        names: dict[int, str] = {}
        if ids:
            found = await session.execute(
                select(JournalGroup.id, JournalGroup.name).where(JournalGroup.id.in_(ids))
            )
            names = {gid: name for gid, name in found.all()}
        return tuple(
            _view(r, names.get(r.group_id) if r.group_id is not None else None) for r in rows
        )

    async def list_own(
        self,
        author: str,
        page: int = 1,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        mood_min: int | None = None,
        mood_max: int | None = None,
    ) -> Page[EntryView]:
        """The member's entries, newest first; only the shown page is decrypted."""
        where = [JournalEntry.author_key == author]
        if since is not None:
            where.append(JournalEntry.created_at >= since)
        if until is not None:
            where.append(JournalEntry.created_at < until)
        if mood_min is not None:
            where.append(JournalEntry.mood >= mood_min)
        if mood_max is not None:
            where.append(JournalEntry.mood <= mood_max)
        return await self._page(where, page)

    async def _page(self, where: Sequence[ColumnElement[bool]], page: int) -> Page[EntryView]:
        """One page of entries matching `where`, newest first (the page is clamped)."""
        size = self.limits.page_size
        async with self._sessions() as session:
            total = await session.scalar(select(func.count(JournalEntry.id)).where(*where)) or 0
            pages = page_count(total, size)
            page = min(max(page, 1), pages)
            rows = await session.scalars(
                select(JournalEntry)
                .where(*where)
                .order_by(JournalEntry.created_at.desc(), JournalEntry.id.desc())
                .offset(page_offset(page, size))
                .limit(size)
            )
            items = await self._views(session, list(rows))
        return Page(items, page, pages, total)

    async def search(self, author: str, text: str, limit: int) -> SearchResult:
        """Own entries containing every word of `text`, newest first (at most `limit`), and how
        many matched: exactly up to `limits.search_count_max`, beyond it only that there are
        more (counting every match of common words would read most of the index).

        Words are compared normalised (case, accents and compatibility forms folded; see
        cogs/journal/search.py) and whole. Matching reads the blind index only; the entries
        shown are the only ones decrypted, except entries not indexed under any configured
        key yet (just after a key change), which are decrypted and matched here until the
        journal has indexed them again.

        Raises:
            UserError: `text` holds no word to look for.
        """
        groups = index.query_hashes(author, text)
        if not groups:
            raise UserError(_("Tell me what to look for."))
        cap = self.limits.search_count_max
        keys = tuple(sorted(set(index.key_ids())))
        async with self._sessions() as session:
            # The rarest word drives: its rows are read (up to cap + 1 matches), the others are
            # looked up by primary key for each. Counting a word's rows stops at cap + 1 too.
            # One statement counts every word (one word needs no count) and asks whether any
            # entry is not indexed under a configured key (normally none: empty lookups).
            # The statements are built once per shape (`_search_statements`) and given the
            # member and the hashes as parameters.
            shapes = _search_statements(len(groups), keys, cap, limit)
            first = (
                await session.execute(shapes.first, {"author": author, **_hash_params(groups)})
            ).one()
            counted = len(groups) if len(groups) > 1 else 0
            sizes, unindexed = list(first[:counted]), any(first[counted:])
            if sizes:
                groups = [g for _size, g in sorted(zip(sizes, groups, strict=True), key=_first)]
            matched = list(await session.scalars(shapes.matched, _hash_params(groups)))
            more = len(matched) > cap
            total = len(matched)
            stale: list[JournalEntry] = []
            if unindexed:  # decrypted and matched here until the journal indexes them again
                wanted = index.words(text)
                mine = JournalEntry.author_key == author
                outside = _not_indexed_under(list(keys))
                stale_ids = list(
                    await session.scalars(
                        union_all(*(select(JournalEntry.id).where(mine, c) for c in outside))
                    )
                )
                # Decrypted a page at a time with turns between: a member's whole journal
                # decrypted at once held the event loop 1.2 s at 10,000 entries.
                turns = LoopTurns()
                for start in range(0, len(stale_ids), DECRYPT_PAGE):
                    page = stale_ids[start : start + DECRYPT_PAGE]
                    for row in await session.scalars(
                        select(JournalEntry).where(JournalEntry.id.in_(page))
                    ):
                        if wanted <= index.entry_words(row.title, row.body):
                            stale.append(row)
                        await turns.take()
                total += len(stale)
            if more:  # common words: the newest entries match, so walk them newest first
                newest = session.scalars(
                    shapes.newest_common, {"author": author, **_hash_params(groups)}
                )
            else:
                newest = session.scalars(shapes.newest_of, {"author": author, "ids": matched})
            hits = list(await newest)
            # An entry indexed meanwhile (re-indexing runs beside members; the pages above gave
            # it turns) can be both a stale match and an indexed one: shown once.
            shown = {row.id for row in hits}
            hits += [row for row in stale if row.id not in shown]
            hits.sort(key=lambda r: (r.created_at, r.id), reverse=True)
            views = await self._views(session, hits[:limit])
        return SearchResult(list(views), min(total, cap), more or total > cap)

    async def reindex(self, batch: int = DECRYPT_PAGE) -> int:
        """Index every entry not indexed under the newest key (written before the index
        existed, or before a key change); returns how many. One transaction per `batch`
        entries (each decrypted on the event loop as it loads), with turns for the event loop
        between and within them, so it can run beside members.
        """
        newest = index.key_id()
        done = 0
        while True:
            async with self._sessions.begin() as session:
                rows = list(
                    await session.scalars(
                        select(JournalEntry)
                        .where(
                            or_(
                                JournalEntry.search_key.is_(None),
                                JournalEntry.search_key != newest,
                            )
                        )
                        .order_by(JournalEntry.id)
                        .limit(batch)
                        .with_for_update()  # an edit meanwhile waits, then indexes its text
                    )
                )
                await _index(session, *rows)
            done += len(rows)
            if len(rows) < batch:
                return done
            await asyncio.sleep(0)

    async def edit(
        self,
        author: str,
        code: str,
        *,
        body: str | None = None,
        title: str | None = None,
        mood: int | None = None,
        visibility: str | None = None,
    ) -> Saved:
        """Change an own entry's text, title, mood, or share/unshare it.

        A shared entry whose text, title or mood changes goes private again (`Saved.withdrawn`)
        unless `visibility` says SHARED in the same edit: new words are never published on the
        strength of an earlier share. Raises `UserError` for an entry not the author's, a
        removed entry shared, a group entry moved, or a share or unshare that changes nothing.
        """
        body = None if body is None else self.check_body(body)
        title = self.check_title(title)
        mood = self.check_mood(mood)
        async with self._sessions.begin() as session:
            row = await self._own(session, author, code)
            newly_shared = False
            if visibility == SHARED and row.removed_at is not None:
                raise UserError(
                    _("A moderator took this entry out of view, so it can't be shared.")
                )
            if visibility is not None and visibility != row.visibility:
                if row.visibility == GROUP or visibility == GROUP:
                    raise UserError(
                        _("Group journal entries stay in their group; write a new entry instead.")
                    )
                if visibility == SHARED:
                    if row.community_id is None:
                        raise UserError(
                            _("This entry was written outside a community, so it can't be shared.")
                        )
                    newly_shared = True
                row.visibility = visibility
            elif visibility is not None and body is None and title is None and mood is None:
                raise UserError(
                    _("`{code}` is already shared.").format(code=row.code)
                    if visibility == SHARED
                    else _("`{code}` is already private.").format(code=row.code)
                )
            changes = body is not None or title is not None or mood is not None
            withdrawn = (
                changes
                and visibility is None
                and row.visibility == SHARED
                and row.removed_at is None
            )
            if withdrawn:
                row.visibility = PRIVATE
            if body is not None:
                row.body = body
            if title is not None:
                row.title = title
            if mood is not None:
                row.mood = mood
            row.edited_at = self._clock.now()
            row.version += 1
            if body is not None or title is not None:
                await _index(session, row)
            group_name = await self._group_name(session, row.group_id)
        return Saved(_view(row, group_name), newly_shared, withdrawn)

    async def delete(self, author: str, code: str) -> None:
        """Erase an own entry and the feedback on it."""
        async with self._sessions.begin() as session:
            row = await self._own(session, author, code)
            await session.execute(
                delete(JournalSearchWord).where(JournalSearchWord.entry_id == row.id)
            )
            await session.execute(
                delete(JournalFeedback).where(JournalFeedback.entry_id == row.id)
            )
            await session.delete(row)

    async def set_feedback_open(self, author: str, code: str, is_open: bool) -> EntryView:
        """Let the author close (or reopen) feedback on a shared entry."""
        async with self._sessions.begin() as session:
            row = await self._own(session, author, code)
            if row.visibility != SHARED:
                raise UserError(_("Only shared entries take feedback."))
            row.feedback_open = is_open
        return _view(row)

    async def feed(self, community_id: int, page: int = 1) -> Page[EntryView]:
        """Shared entries of a community, newest first (moderator-removed ones left out)."""
        where = (
            JournalEntry.community_id == community_id,
            JournalEntry.visibility == SHARED,
            JournalEntry.removed_at.is_(None),
        )
        return await self._page(where, page)

    # -- feedback ----------------------------------------------------------------------------

    async def add_feedback(
        self, author: str, community_id: int | None, code: str, body: str
    ) -> FeedbackSaved:
        """Leave feedback on a shared entry the member can see, if the author allows it."""
        body = self.check_feedback(body)
        async with self._sessions.begin() as session:
            row = await self._visible(session, author, community_id, code)
            if row.visibility != SHARED:
                raise UserError(
                    _("Feedback is only for shared entries; this one is not shared.")
                    if row.author_key == author
                    else _("Feedback is only for shared entries.")
                )
            if row.removed_at is not None:
                raise UserError(_("A moderator took this entry out of view."))
            if not row.feedback_open:
                raise UserError(_("The author has closed feedback on this entry."))
            since = self._clock.now() - timedelta(hours=1)
            recent = await session.scalar(
                select(func.count(JournalFeedback.id)).where(
                    JournalFeedback.author_key == author, JournalFeedback.created_at > since
                )
            )
            if (recent or 0) >= self.limits.feedback_per_hour:
                raise UserError(
                    _("You've left a lot of feedback in the last hour; please try again later.")
                )
            fb = JournalFeedback(
                code=await self._unique_code(session),
                entry_id=row.id,
                author_key=author,
                body=body,
                created_at=self._clock.now(),
            )
            session.add(fb)
        return FeedbackSaved(fb.code, _view(row))

    async def own_feedback(self, author: str, limit: int = 25) -> list[tuple[str, str]]:
        """The member's own live feedback, newest first, as (code, text): only rows whose
        author is `author`, so suggestions never show anyone else's words."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(JournalFeedback)
                .where(JournalFeedback.author_key == author, JournalFeedback.removed_at.is_(None))
                .order_by(JournalFeedback.created_at.desc())
                .limit(limit)
            )
            return [(fb.code, fb.body) for fb in rows]

    async def community_feedback(
        self, community_id: int, limit: int = 25
    ) -> list[tuple[str, str]]:
        """Live feedback on the entries in this community's feed, newest first, as (code,
        text): only what every member here can already read, for a moderator's suggestions."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(JournalFeedback)
                .join(JournalEntry, JournalEntry.id == JournalFeedback.entry_id)
                .where(
                    JournalEntry.community_id == community_id,
                    JournalEntry.visibility == SHARED,
                    JournalEntry.removed_at.is_(None),
                    JournalFeedback.removed_at.is_(None),
                )
                .order_by(JournalFeedback.created_at.desc())
                .limit(limit)
            )
            return [(fb.code, fb.body) for fb in rows]

    async def withdraw_feedback(self, author: str, code: str) -> None:
        """A member takes back their own feedback."""
        async with self._sessions.begin() as session:
            fb = await session.scalar(
                select(JournalFeedback).where(
                    JournalFeedback.code == clean_code(code), JournalFeedback.author_key == author
                )
            )
            if fb is None or fb.removed_at is not None:
                raise feedback_not_found(code)
            await session.delete(fb)

    async def remove_entry(self, moderator: str, community_id: int, code: str) -> EntryView:
        """Hide a shared or group entry from everyone but its author."""
        async with self._sessions.begin() as session:
            row = await self._visible(session, moderator, community_id, code)
            if row.visibility == PRIVATE or row.community_id != community_id:
                raise entry_not_found(code)
            if row.removed_at is not None:
                raise UserError(_("That entry is already out of view."))
            row.removed_at = self._clock.now()
            row.feedback_open = False
        return _view(row)

    async def remove_feedback(
        self, moderator: str, community_id: int, code: str
    ) -> tuple[str | None, str]:
        """Hide feedback; returns its author (None for a former member) and the entry code."""
        async with self._sessions.begin() as session:
            fb = await session.scalar(
                select(JournalFeedback).where(JournalFeedback.code == clean_code(code))
            )
            if fb is None or fb.removed_at is not None:
                raise feedback_not_found(code)
            entry = await session.get(JournalEntry, fb.entry_id)
            if entry is None:
                raise feedback_not_found(code)
            try:
                await self._visible(session, moderator, community_id, entry.code)
            except NotFound:
                raise feedback_not_found(code) from None
            if entry.community_id != community_id:
                raise feedback_not_found(code)
            fb.removed_at = self._clock.now()
            return fb.author_key, entry.code

    # -- groups ------------------------------------------------------------------------------

    @staticmethod
    def check_group_name(name: str) -> str:
        """One word of 1-40 visible characters (spaces become hyphens): no quotes needed."""
        clean = group_word(name)
        if not clean:
            raise UserError(_("A group needs a name."))
        if len(clean) > GROUP_NAME_MAX:
            raise UserError(
                ngettext(
                    "A group name can be at most {n} character.",
                    "A group name can be at most {n} characters.",
                    GROUP_NAME_MAX,
                ).format(n=GROUP_NAME_MAX)
            )
        if any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co"} for ch in clean):
            raise UserError(_("A group name cannot contain invisible or control characters."))
        return clean

    async def create_group(self, community_id: int, owner: str, name: str) -> str:
        """A new group journal with its creator as the first member."""
        clean = self.check_group_name(name)
        now = self._clock.now()
        try:
            async with self._sessions.begin() as session:
                group = JournalGroup(
                    community_id=community_id,
                    name=clean,
                    name_folded=fold(clean),
                    owner_key=owner,
                    created_at=now,
                )
                session.add(group)
                await session.flush()
                session.add(JournalGroupMember(group_id=group.id, actor_key=owner, joined_at=now))
        except IntegrityError:
            raise UserError(
                _("There is already a group journal called **{name}** here.").format(name=clean)
            ) from None
        return clean

    async def _group_for(
        self, session: AsyncSession, community_id: int, actor: str, name: str | None
    ) -> JournalGroup:
        """A group the actor is in, by name; with no name, their only group."""
        query = (
            select(JournalGroup)
            .join(JournalGroupMember, JournalGroupMember.group_id == JournalGroup.id)
            .where(
                JournalGroup.community_id == community_id, JournalGroupMember.actor_key == actor
            )
        )
        if name is not None and name.strip():
            group = await session.scalar(
                query.where(JournalGroup.name_folded == fold(group_word(name)))
            )
            if group is None:  # case and emoji aside, among the groups the actor is in
                mine = list(await session.scalars(query))
                near = closest_name(name, [g.name for g in mine])
                same = [g for g in mine if g.name == near]
                if len(same) == 1 and name_key(near or "") == name_key(name):
                    return same[0]
                missing = group_not_found(group_word(name))
                if near:
                    missing.message += " " + _("Did you mean **{name}**?").format(name=near)
                raise missing
            return group
        groups = list(await session.scalars(query.order_by(JournalGroup.name_folded)))
        if len(groups) == 1:
            return groups[0]
        if not groups:
            raise UserError(_("You are not in any group journal here yet."))
        raise UserError(
            _("You are in several group journals; say which one: {names}.").format(
                names=", ".join(g.name for g in groups)
            )
        )

    async def _member_group_by_id(
        self, session: AsyncSession, group_id: int | None, actor: str
    ) -> JournalGroup:
        group = None if group_id is None else await session.get(JournalGroup, group_id)
        if group is None:
            raise UserError(_("That group journal no longer exists."))
        member = await session.scalar(
            select(JournalGroupMember.id).where(
                JournalGroupMember.group_id == group.id, JournalGroupMember.actor_key == actor
            )
        )
        if member is None:
            raise group_not_found(group.name)
        return group

    async def group_of(self, community_id: int, actor: str, name: str | None) -> tuple[int, str]:
        """Id and name of a group the actor belongs to."""
        async with self._sessions() as session:
            group = await self._group_for(session, community_id, actor, name)
            return group.id, group.name

    async def groups_of(self, community_id: int, actor: str) -> list[str]:
        """Names of the actor's groups here."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(JournalGroup.name)
                .join(JournalGroupMember, JournalGroupMember.group_id == JournalGroup.id)
                .where(
                    JournalGroup.community_id == community_id,
                    JournalGroupMember.actor_key == actor,
                )
                .order_by(JournalGroup.name_folded)
            )
            return list(rows)

    async def invite(
        self, community_id: int, inviter: str, invitee: str, name: str | None
    ) -> Invite:
        """A single-use code for one person, made by the group's creator."""
        if inviter == invitee:
            raise UserError(_("You are already in your own group."))
        now = self._clock.now()
        async with self._sessions.begin() as session:
            group = await self._group_for(session, community_id, inviter, name)
            if group.owner_key != inviter:
                raise UserError(
                    _("Only the person who keeps **{name}** can invite members.").format(
                        name=group.name
                    )
                )
            already = await session.scalar(
                select(JournalGroupMember.id).where(
                    JournalGroupMember.group_id == group.id,
                    JournalGroupMember.actor_key == invitee,
                )
            )
            if already is not None:
                raise UserError(_("That person is already in **{name}**.").format(name=group.name))
            await session.execute(
                delete(JournalInvite).where(
                    JournalInvite.group_id == group.id, JournalInvite.invitee_key == invitee
                )
            )
            invite = JournalInvite(
                group_id=group.id,
                code=new_code(INVITE_CODE),
                invitee_key=invitee,
                inviter_key=inviter,
                created_at=now,
                expires_at=now + timedelta(days=self.limits.invite_days),
            )
            session.add(invite)
        return Invite(invite.code, group.name, invite.expires_at)

    async def join(self, actor: str, code: str) -> str:
        """Use a join code made for this person; any other code looks invalid."""
        async with self._sessions.begin() as session:
            invite = await session.scalar(
                select(JournalInvite).where(
                    JournalInvite.code == clean_code(code), JournalInvite.invitee_key == actor
                )
            )
            if invite is None or invite.expires_at <= self._clock.now():
                raise NotFound(
                    _("That join code is not valid, or it has expired. Ask for a new one.")
                )
            group = await session.get(JournalGroup, invite.group_id)
            assert group is not None  # the invite cascades with its group
            await session.delete(invite)
            session.add(
                JournalGroupMember(group_id=group.id, actor_key=actor, joined_at=self._clock.now())
            )
            return group.name

    async def leave(self, community_id: int, actor: str, name: str | None) -> tuple[str, bool]:
        """Leave a group; the creator's role passes on, and an empty group is deleted."""
        async with self._sessions.begin() as session:
            group = await self._group_for(session, community_id, actor, name)
            closed = await self._leave(session, group, actor)
            return group.name, closed

    async def _leave(self, session: AsyncSession, group: JournalGroup, actor: str) -> bool:
        await session.execute(
            delete(JournalGroupMember).where(
                JournalGroupMember.group_id == group.id, JournalGroupMember.actor_key == actor
            )
        )
        heir = await session.scalar(
            select(JournalGroupMember.actor_key)
            .where(JournalGroupMember.group_id == group.id)
            .order_by(JournalGroupMember.joined_at, JournalGroupMember.id)
            .limit(1)
        )
        if heir is None:  # nobody left to read it: each entry goes back to its author
            await session.execute(
                update(JournalEntry)
                .where(JournalEntry.group_id == group.id)
                .values(visibility=PRIVATE, group_id=None, version=JournalEntry.version + 1)
            )
            await session.delete(group)
            return True
        if group.owner_key == actor:
            group.owner_key = heir
        return False

    async def group_entries(
        self, community_id: int, actor: str, name: str | None, page: int = 1
    ) -> tuple[str, Page[EntryView]]:
        """A group's entries for one of its members, newest first."""
        size = self.limits.page_size
        async with self._sessions() as session:
            group = await self._group_for(session, community_id, actor, name)
            where = (JournalEntry.group_id == group.id, JournalEntry.removed_at.is_(None))
            total = await session.scalar(select(func.count(JournalEntry.id)).where(*where)) or 0
            pages = page_count(total, size)
            page = min(max(page, 1), pages)
            rows = await session.scalars(
                select(JournalEntry)
                .where(*where)
                .order_by(JournalEntry.created_at.desc(), JournalEntry.id.desc())
                .offset(page_offset(page, size))
                .limit(size)
            )
            items = tuple(_view(r, group.name) for r in rows)
        return group.name, Page(items, page, pages, total)

    # -- erasure -----------------------------------------------------------------------------

    async def export_user_data(self, actor_key: str) -> dict[str, Any]:
        """Entries, feedback the person wrote, their groups and invites, decrypted."""
        async with self._sessions() as session:
            entries = await session.scalars(
                select(JournalEntry)
                .where(JournalEntry.author_key == actor_key)
                .order_by(JournalEntry.id)
            )
            feedback = await session.scalars(
                select(JournalFeedback)
                .where(JournalFeedback.author_key == actor_key)
                .order_by(JournalFeedback.id)
            )
            groups = await session.execute(
                select(JournalGroup, JournalGroupMember.joined_at)
                .join(JournalGroupMember, JournalGroupMember.group_id == JournalGroup.id)
                .where(JournalGroupMember.actor_key == actor_key)
                .order_by(JournalGroup.id)
            )
            owned = await session.scalars(
                select(JournalGroup).where(JournalGroup.owner_key == actor_key)
            )
            invites = await session.scalars(
                select(JournalInvite).where(
                    (JournalInvite.invitee_key == actor_key)
                    | (JournalInvite.inviter_key == actor_key)
                )
            )
            return {
                "entries": [export_row(r) for r in entries],
                "feedback_written": [export_row(r) for r in feedback],
                "groups": [
                    {**export_row(g, skip=("name_folded",)), "joined_at": j.isoformat()}
                    for g, j in groups
                ],
                "groups_owned": [export_row(g, skip=("name_folded",)) for g in owned],
                "invites": [export_row(r) for r in invites],
            }

    async def delete_community_data(self, community_id: int) -> tuple[list[str], list[str]]:
        """Erase the entries written in the community or its groups (with their feedback and
        search words) and its groups with their members and invites; returns the codes of the
        entries and of the feedback erased, for the outbox to forget what it carried of them
        (their feed posts too): the outbox's rows are its own, only `Outbox.forget` removes
        them."""
        async with self._sessions.begin() as session:
            groups = list(
                await session.scalars(
                    select(JournalGroup.id).where(JournalGroup.community_id == community_id)
                )
            )
            there = (JournalEntry.community_id == community_id) | JournalEntry.group_id.in_(groups)
            entries = (
                await session.execute(select(JournalEntry.id, JournalEntry.code).where(there))
            ).all()
            ids = [entry_id for entry_id, _code in entries]
            codes = [code for _entry_id, code in entries]
            feedback: list[str] = []
            for start in range(0, len(ids), SEARCH_CHUNK):
                chunk = ids[start : start + SEARCH_CHUNK]
                feedback.extend(
                    await session.scalars(
                        select(JournalFeedback.code).where(JournalFeedback.entry_id.in_(chunk))
                    )
                )
                await session.execute(
                    delete(JournalSearchWord).where(JournalSearchWord.entry_id.in_(chunk))
                )
                await session.execute(
                    delete(JournalFeedback).where(JournalFeedback.entry_id.in_(chunk))
                )
                await session.execute(delete(JournalEntry).where(JournalEntry.id.in_(chunk)))
            if groups:
                await session.execute(
                    delete(JournalGroupMember).where(JournalGroupMember.group_id.in_(groups))
                )
                await session.execute(
                    delete(JournalInvite).where(JournalInvite.group_id.in_(groups))
                )
                await session.execute(delete(JournalGroup).where(JournalGroup.id.in_(groups)))
        return codes, feedback

    async def codes_of(self, actor_key: str) -> tuple[list[str], list[str]]:
        """The codes of the person's entries and of the feedback they wrote: what the outbox's
        messages with their words carry (feed posts, feedback notices), to be forgotten, and
        deleted on the platform, before the rows go (`delete_user_data`)."""
        async with self._sessions() as session:
            entries = list(
                await session.scalars(
                    select(JournalEntry.code).where(JournalEntry.author_key == actor_key)
                )
            )
            feedback = list(
                await session.scalars(
                    select(JournalFeedback.code).where(JournalFeedback.author_key == actor_key)
                )
            )
        return entries, feedback

    async def delete_user_data(self, actor_key: str) -> None:
        """Erase entries (group posts too), feedback they wrote, memberships and invites.

        The outbox's messages with their words are not touched here: the cog forgets them
        first (`codes_of`), so sent ones are deleted on the platform, not merely forgotten."""
        async with self._sessions.begin() as session:
            ids = list(
                await session.scalars(
                    select(JournalEntry.id).where(JournalEntry.author_key == actor_key)
                )
            )
            for start in range(0, len(ids), SEARCH_CHUNK):
                chunk = ids[start : start + SEARCH_CHUNK]
                await session.execute(
                    delete(JournalSearchWord).where(JournalSearchWord.entry_id.in_(chunk))
                )
                await session.execute(
                    delete(JournalFeedback).where(JournalFeedback.entry_id.in_(chunk))
                )
                await session.execute(delete(JournalEntry).where(JournalEntry.id.in_(chunk)))
            await session.execute(  # what they wrote on others' entries goes with them
                delete(JournalFeedback).where(JournalFeedback.author_key == actor_key)
            )
            await session.execute(
                delete(JournalInvite).where(
                    (JournalInvite.invitee_key == actor_key)
                    | (JournalInvite.inviter_key == actor_key)
                )
            )
            groups = await session.scalars(
                select(JournalGroup)
                .join(JournalGroupMember, JournalGroupMember.group_id == JournalGroup.id)
                .where(JournalGroupMember.actor_key == actor_key)
            )
            for group in list(groups):
                await self._leave(session, group, actor_key)
            await session.execute(
                update(JournalGroup)
                .where(JournalGroup.owner_key == actor_key)
                .values(owner_key=None)
            )


def _first(pair: tuple[int, set[int]]) -> int:
    return pair[0]


def _has_all(
    entry_id: ColumnElement[int] | InstrumentedAttribute[int], groups: Sequence[int]
) -> list[ColumnElement[bool]]:
    """Conditions: the entry `entry_id` has, for every group of hashes numbered in `groups`
    (the expanding parameters `g<number>`, see `_hash_params`), a row with one of them (each a
    primary-key lookup)."""
    found: list[ColumnElement[bool]] = []
    table: Table = JournalSearchWord.__table__  # type: ignore[assignment]
    for number in groups:
        other = table.alias(f"w{number}")  # a Core alias: an ORM one costs more to build
        found.append(
            select(other.c.entry_id)
            .where(
                other.c.entry_id == entry_id,
                other.c.word.in_(bindparam(f"g{number}", expanding=True)),
            )
            .exists()
        )
    return found


def _hash_params(groups: Sequence[set[int]]) -> dict[str, list[int]]:
    """The parameters `g0`, `g1`, ... of `_search_statements`: each group's hashes, in order."""
    return {f"g{number}": sorted(group) for number, group in enumerate(groups)}


@dataclass(frozen=True)
class _SearchStatements:
    """The statements of one search shape (see `JournalService.search`), with parameters
    `author` (the member's actor key), `g0`...`g<n-1>` (each word's hashes, rarest first after
    counting) and `ids` (matched entry ids)."""

    first: Select[Any]  # each word's row count (more than one word) and unindexed probes
    matched: Select[Any]  # entry ids having every word, up to cap + 1
    newest_common: Select[Any]  # the newest `limit` entries having every word
    newest_of: Select[Any]  # the newest `limit` of the entries `ids`


@functools.lru_cache(maxsize=64)
def _search_statements(
    words: int, keys: tuple[int, ...], cap: int, limit: int
) -> _SearchStatements:
    """The statements of a search for `words` words with the search keys `keys`: built once
    per shape, since building a statement with its aliases and EXISTS took longer than running
    it (benchmarks/journal_search.py)."""
    word = JournalSearchWord
    mine = JournalEntry.author_key == bindparam("author")
    counts = [
        select(func.count())
        .select_from(
            select(word.entry_id)
            .where(word.word.in_(bindparam(f"g{number}", expanding=True)))
            .limit(cap + 1)
            .subquery()
        )
        .scalar_subquery()
        for number in (range(words) if words > 1 else [])
    ]
    probes = [
        select(JournalEntry.id).where(mine, cond).exists()
        for cond in _not_indexed_under(list(keys))
    ]
    newest = (
        select(JournalEntry)
        .where(mine)
        .order_by(JournalEntry.created_at.desc(), JournalEntry.id.desc())
        .limit(limit)
    )
    return _SearchStatements(
        first=select(*counts, *probes),
        matched=select(word.entry_id)
        .where(
            word.word.in_(bindparam("g0", expanding=True)),
            *_has_all(word.entry_id, range(1, words)),
        )
        .limit(cap + 1),
        newest_common=newest.where(*_has_all(JournalEntry.id, range(words))),
        newest_of=newest.where(JournalEntry.id.in_(bindparam("ids", expanding=True))),
    )


async def _index(session: AsyncSession, *rows: JournalEntry) -> None:
    """Replace entries' index rows with those of their current title and body (newest key),
    in one DELETE and one multi-row INSERT."""
    if not rows:
        return
    await session.execute(
        delete(JournalSearchWord).where(JournalSearchWord.entry_id.in_([r.id for r in rows]))
    )
    turns = LoopTurns()
    values: list[dict[str, Any]] = []
    for row in rows:
        values.extend(
            {"word": h, "entry_id": row.id}
            for h in sorted(index.entry_hashes(row.author_key, row.title, row.body))
        )
        await turns.take()
    for start in range(0, len(values), INDEX_INSERT_ROWS):
        await session.execute(
            JournalSearchWord.__table__.insert(),  # type: ignore[attr-defined]
            values[start : start + INDEX_INSERT_ROWS],
        )
    key = index.key_id()
    for row in rows:
        row.search_key = key


def _not_indexed_under(keys: list[int]) -> list[ColumnElement[bool]]:
    """Conditions, one per range of search keys, that together pick the entries whose search
    key is none of `keys`. Each is an empty lookup on ix_journal_entry_search when everything
    is indexed; callers ask them one by one (EXISTS, UNION ALL): SQLite reads every entry of the
    author for an OR of them, or for NOT IN."""
    column = JournalEntry.search_key
    bounds = sorted(set(keys))
    ranges = [column.is_(None), column < bounds[0], column > bounds[-1]]
    ranges += [column.between(low + 1, high - 1) for low, high in itertools.pairwise(bounds)]
    return ranges
