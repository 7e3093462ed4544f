"""Storage of the crisis directory: the shipped seed plus each community's own changes.

The seed lives in rows without a community and is rewritten from data/crisis at every start, so
a corrected number reaches every community on the next restart. A community's moderators never
change those rows: an edit or a verification writes the community's own row with the same id,
which then wins for that community; removing a seed entry writes a hidden row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import Clock, actor_tag
from cogs.crisis.directory import Entry, contacts_from_json, contacts_to_json
from cogs.crisis.models import CrisisEntry, CrisisQuiet

FORMER_MEMBER = "a former member"


def _entry(row: CrisisEntry) -> Entry:
    return Entry(
        id=row.slug,
        country=row.country,
        name=row.name,
        category=row.category,
        contacts=contacts_from_json(row.contacts),
        region=row.region,
        topics=tuple(row.topics.split()),
        description=row.description,
        website=row.website,
        source=row.source,
        verified_at=row.verified_at,
        verified_by=row.verified_by,
        pair=row.pair,
        origin="seed" if row.community_id is None else "community",
    )


QUIET_ANSWER = "answer"  # the full answer's quiet period
QUIET_ALERT = "alert"  # the moderators' alert's quiet period
# an urgent answer's (an overdose, someone not waking up): words more urgent than those the
# answer's quiet period began with are answered once more within it
QUIET_URGENT = "urgent"
QUIET_GATES = (QUIET_ANSWER, QUIET_ALERT, QUIET_URGENT)


class CrisisService:
    """One public method = one transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    def _fill(self, row: CrisisEntry, entry: Entry) -> None:
        row.country = entry.country
        row.region = entry.region
        row.name = entry.name
        row.category = entry.category
        row.topics = " ".join(entry.topics)
        row.contacts = contacts_to_json(entry.contacts)
        row.description = entry.description
        row.website = entry.website
        row.source = entry.source
        row.verified_at = entry.verified_at
        row.verified_by = entry.verified_by
        row.pair = entry.pair
        row.hidden = False
        row.updated_at = self._clock.now()

    def _row(self, community_id: int | None, entry: Entry) -> CrisisEntry:
        row = CrisisEntry(community_id=community_id, slug=entry.id)
        self._fill(row, entry)
        return row

    async def replace_seed(self, entries: list[Entry]) -> None:
        """Make the seed rows exactly `entries`."""
        async with self._sessions.begin() as session:
            await session.execute(delete(CrisisEntry).where(CrisisEntry.community_id.is_(None)))
            session.add_all(self._row(None, e) for e in entries)

    async def directory(self, community_id: int | None, country: str | None = None) -> list[Entry]:
        """What a community sees: its own rows, and the seed rows it did not change or hide."""
        async with self._sessions() as session:
            query = select(CrisisEntry).where(
                or_(CrisisEntry.community_id.is_(None), CrisisEntry.community_id == community_id)
                if community_id is not None
                else CrisisEntry.community_id.is_(None)
            )
            if country:
                query = query.where(CrisisEntry.country == country)
            rows = (await session.scalars(query)).all()
        own = {r.slug: r for r in rows if r.community_id is not None}
        chosen = [r for r in rows if r.community_id is not None or r.slug not in own]
        return [_entry(r) for r in chosen if not r.hidden]

    async def find(self, community_id: int | None, slug: str) -> Entry | None:
        """One entry as the community sees it."""
        return next((e for e in await self.directory(community_id) if e.id == slug), None)

    async def save(self, community_id: int, entries: list[Entry]) -> None:
        """Write the community's own version of each entry (add, edit, verify, import)."""
        async with self._sessions.begin() as session:
            existing = {
                r.slug: r
                for r in await session.scalars(
                    select(CrisisEntry).where(
                        CrisisEntry.community_id == community_id,
                        CrisisEntry.slug.in_([e.id for e in entries]),
                    )
                )
            }
            for entry in entries:
                row = existing.get(entry.id)
                if row is None:
                    session.add(self._row(community_id, entry))
                else:
                    self._fill(row, entry)

    async def remove(self, community_id: int, entry: Entry) -> None:
        """Delete the community's entry; a seed entry is hidden for this community instead."""
        async with self._sessions.begin() as session:
            await session.execute(
                delete(CrisisEntry).where(
                    CrisisEntry.community_id == community_id, CrisisEntry.slug == entry.id
                )
            )
            seeded = await session.scalar(
                select(CrisisEntry.id).where(
                    CrisisEntry.community_id.is_(None), CrisisEntry.slug == entry.id
                )
            )
            if seeded is not None:
                row = self._row(community_id, entry)
                row.hidden = True
                session.add(row)

    async def verified_by(self, actor_key: str) -> list[dict[str, Any]]:
        """Directory entries this person verified (ids and dates)."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(CrisisEntry.community_id, CrisisEntry.slug, CrisisEntry.verified_at).where(
                    CrisisEntry.verified_by == actor_key
                )
            )
            return [
                {"community_id": c, "entry": s, "verified_on": d.isoformat() if d else None}
                for c, s, d in rows
            ]

    async def forget_verifier(self, actor_key: str) -> None:
        """A person who verified entries asked to be forgotten; the entries stay for others."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(CrisisEntry)
                .where(CrisisEntry.verified_by == actor_key)
                .values(verified_by=FORMER_MEMBER)
            )

    # ------------------------------------------------------------------ quiet periods

    async def begin_quiet(
        self, actor_key: str, now: datetime, until: datetime, gate: str = QUIET_ANSWER
    ) -> bool:
        """Start the person's quiet period of `gate` (until `until`, UTC) unless one is running.

        Returns True when this call started it (the full answer, or the alert, is due), False
        when another one, in this process or another one on the database, already did. Each
        gate (`QUIET_GATES`) is its own period: words written privately start the answer's
        but never the alert's, so they cannot hold back the alert for shared words after them.
        The row names the person only by a keyed hash (`quiet_tag`); an ended period found
        here is deleted.
        """
        tag = quiet_tag(actor_key, gate)
        try:
            async with self._sessions.begin() as session:
                await session.execute(
                    delete(CrisisQuiet).where(CrisisQuiet.tag == tag, CrisisQuiet.until <= now)
                )
                if await session.get(CrisisQuiet, tag) is not None:
                    return False
                session.add(CrisisQuiet(tag=tag, until=until))
        except IntegrityError:
            return False  # another process started it at the same moment
        return True

    async def end_quiet_periods(self, now: datetime) -> datetime | None:
        """Delete every quiet period that has ended by `now`; returns when the next one ends
        (None when none is running)."""
        async with self._sessions.begin() as session:
            await session.execute(delete(CrisisQuiet).where(CrisisQuiet.until <= now))
            return await session.scalar(select(func.min(CrisisQuiet.until)))

    async def delete_community_data(self, community_id: int) -> None:
        """Erase the community's own directory entries (the shipped ones have none)."""
        async with self._sessions.begin() as session:
            await session.execute(
                delete(CrisisEntry).where(CrisisEntry.community_id == community_id)
            )

    async def forget_quiet(self, actor_key: str) -> None:
        """Erase the person's quiet periods, if any is running."""
        tags = [quiet_tag(actor_key, gate) for gate in QUIET_GATES]
        async with self._sessions.begin() as session:
            await session.execute(delete(CrisisQuiet).where(CrisisQuiet.tag.in_(tags)))


def quiet_tag(actor_key: str, gate: str = QUIET_ANSWER) -> str:
    """The keyed hash a quiet period of `gate` is stored under (HMAC-SHA256 with the
    installation's tag secret, which is not in the database in readable form; see
    bot/crypto.py). The answer's keeps the tag it always had."""
    purpose = "crisis.quiet" if gate == QUIET_ANSWER else f"crisis.quiet.{gate}"
    return actor_tag(actor_key, purpose, length=32)
