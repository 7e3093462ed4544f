"""A model of one weekly series' dates under move, cancel, restore, RSVP and series edits.

The oracle knows, for each date of the series, only its original start, the start it moved to
(if it moved) and whether it is cancelled; the two compose: a moved date that is cancelled
keeps its move, and restored it takes place at the moved time. `OccurrenceMachine` drives the
bot the way facilitators and members do (typed commands on a recording platform), naming each
date now by the date it was planned for and now by the date it moved to, and after every step
checks what people are told against the oracle: the channel notice of each change and its time,
the facilitator's reply (and the date its undo hint names), each RSVP'd member's private notice,
the RSVP answer, `meeting info` (next date and the list of changed dates), and every
announcement the clock brings (due times of the reminders and the start post).

Used by tests/cogs/test_meetings_model.py.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bot import crypto
from bot.app import App
from bot.clock import VirtualClock
from bot.core.permissions import Tier
from cogs.meetings.recurrence import local_key
from tests.harness.app import lift_rate_limit
from tests.harness.meetings_model import Template, config, parse_key
from tests.harness.platform import FakePlatform, Said

T0 = datetime(2026, 11, 30, 9, 0, 30, tzinfo=UTC)  # a Monday; the clock stays 30 s past a minute
FIRST = datetime(2026, 12, 2, 19, 0)  # Wednesdays at 19:00 UTC
WEEKS = 10  # dates the oracle follows: more than a sequence of steps can pass
OFFSETS = (1440, 10, 0)  # the community's default announcements (minutes before)
SCHEDULE = '!meeting schedule Circle "2026-12-02 19:00" 60m repeat:"weekly on wed" zone:UTC'
T = TypeVar("T")


def delivered(said: Said) -> bool:
    """A channel post the outbox delivered (`FakePlatform.send`: "m-<key>"), not the public
    answer to a command (which has an id of its own: "r-<n>")."""
    return said.where == "channel" and (said.message_id or "").startswith("m-")


@dataclass
class Date:
    """What the oracle knows of one date of the series."""

    key: str  # its identity: the planned local wall time (follows a series edit)
    original: datetime  # aware UTC
    moved: datetime | None = None
    cancelled: bool = False

    @property
    def start(self) -> datetime:
        """When it takes place (or would, were it not cancelled)."""
        return self.moved or self.original

    def day(self, by_moved: bool) -> str:
        """The date a person names it by: the one it moved to, or the one it was planned for."""
        return (self.start if by_moved else self.original).date().isoformat()


def iso(moment: datetime) -> str:
    """How a time shows in the recorded text (`Said.text` renders `When` as ISO)."""
    return moment.astimezone(UTC).isoformat()


class OccurrenceMachine(RuleBasedStateMachine):
    """Drives one weekly series through commands; checks every reply and post."""

    steps_checked = 0

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.folder = Path(tempfile.mkdtemp(prefix="circlebot-occ-"))
        if Template.path is None:
            Template.copy_to(self.folder / "unused.sqlite3", [crypto.generate_key()])
        crypto.use_keys(Template.keys)
        Template.copy_to(self.folder / "bot.sqlite3", Template.keys)
        self.clock = VirtualClock(T0)
        self.app = App(
            config(), clock=self.clock, db_url=f"sqlite+aiosqlite:///{self.folder / 'bot.sqlite3'}"
        )
        self.fake = FakePlatform(self.app)
        self.app.add_transport(self.fake)
        self.run(self.app.open(migrate=False))
        self.run(self.app.start())
        lift_rate_limit(self.app)
        self.fake.actor("ana", Tier.FACILITATOR)
        self.fake.actor("ben")
        self.dates = [
            Date(
                local_key(FIRST + timedelta(weeks=n)),
                (FIRST + timedelta(weeks=n)).replace(tzinfo=UTC),
            )
            for n in range(WEEKS)
        ]
        self.rsvps: set[str] = set()  # ben's dates, by key
        said = self.say("ana", SCHEDULE)
        assert "Scheduled **Circle** (#1)" in self.text(said), self.text(said)
        self.seen = len(self.fake.said)

    # --- plumbing ------------------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def say(self, name: str, line: str) -> list[Said]:
        return self.run(self.fake.say(name, line))

    @staticmethod
    def text(said: list[Said]) -> str:
        return "\n".join(f"[{s.where} {s.to}] {s.text}" for s in said)

    def fresh(self) -> list[Said]:
        new = self.fake.said[self.seen :]
        self.seen = len(self.fake.said)
        return new

    def teardown(self) -> None:
        try:
            self.run(self.app.close())
        finally:
            self.loop.close()
            shutil.rmtree(self.folder, ignore_errors=True)

    def now(self) -> datetime:
        return self.clock.now()

    def coming(self) -> list[int]:
        """Indexes of the dates still to start (cancelled or not)."""
        return [i for i, d in enumerate(self.dates) if d.start > self.now()]

    def expect_change(self, date: Date, notice: str, told: str) -> list[Said]:
        """After a change: one channel notice naming the date's time (`notice`), and a DM to
        Ben naming `told` exactly when he RSVP'd to the date. Returns the replies."""
        new = self.fresh()
        posts = [s for s in new if delivered(s)]
        assert len(posts) == 1, self.text(new)
        assert notice in posts[0].text, (notice, self.text(new))
        dms = [s for s in new if s.where == "dm"]
        if date.key in self.rsvps:
            assert len(dms) == 1 and dms[0].to == "fake:ben", self.text(new)
            assert told in dms[0].text and "you RSVP'd" in dms[0].text, self.text(new)
        else:
            assert not dms, self.text(new)
        return [s for s in new if s.where == "ephemeral"]

    # --- changes -------------------------------------------------------------------------

    @rule(
        data=st.data(),
        days=st.sampled_from([1, -1, 0]),
        hour=st.sampled_from([18, 20, 17, 21]),
        by_moved=st.booleans(),
    )
    def move(self, data: st.DataObject, days: int, hour: int, by_moved: bool) -> None:
        live = [i for i in self.coming() if not self.dates[i].cancelled]
        if not live:
            return
        date = self.dates[data.draw(st.sampled_from(live))]
        to = datetime.combine(date.original.date() + timedelta(days=days), datetime.min.time())
        to = to.replace(hour=hour, tzinfo=UTC)
        if to <= self.now() or to == date.start:
            return
        old = date.start
        said = self.say("ana", f'!meeting move Circle {date.day(by_moved)} "{to:%Y-%m-%d %H:%M}"')
        date.moved = to
        replies = self.expect_change(date, f"on {iso(old)} moves to {iso(to)}", iso(to))
        assert any("Moved" in r.text for r in replies), self.text(said)

    @rule(data=st.data(), by_moved=st.booleans())
    def cancel(self, data: st.DataObject, by_moved: bool) -> None:
        options = self.coming()
        if not options:
            return
        date = self.dates[data.draw(st.sampled_from(options))]
        said = self.say("ana", f"!meeting cancel Circle {date.day(by_moved)}")
        if date.cancelled:
            assert "already cancelled" in self.text(said), self.text(said)
            self.expect_nothing_posted(said)
            return
        date.cancelled = True
        replies = self.expect_change(date, f"on {iso(date.start)} is cancelled", iso(date.start))
        # the undo it offers names the date as it was to take place, and works
        hint = f"meeting restore #1 {date.day(True)}"
        assert any(hint in r.text for r in replies), (hint, self.text(said))

    @rule(data=st.data(), by_moved=st.booleans())
    def restore(self, data: st.DataObject, by_moved: bool) -> None:
        options = self.coming()
        if not options:
            return
        date = self.dates[data.draw(st.sampled_from(options))]
        said = self.say("ana", f"!meeting restore Circle {date.day(by_moved)}")
        if not date.cancelled:
            assert "no cancelled meeting on" in self.text(said), self.text(said)
            self.expect_nothing_posted(said)
            return
        date.cancelled = False
        replies = self.expect_change(
            date, f"on {iso(date.start)} takes place after all", iso(date.start)
        )
        assert any(iso(date.start) in r.text for r in replies), self.text(said)

    @rule(data=st.data(), by_moved=st.booleans())
    def rsvp(self, data: st.DataObject, by_moved: bool) -> None:
        options = self.coming()
        if not options:
            return
        date = self.dates[data.draw(st.sampled_from(options))]
        said = self.say("ben", f"!meeting rsvp Circle {date.day(by_moved)}")
        if date.cancelled:
            assert "already cancelled" in self.text(said), self.text(said)
        else:
            assert f"** on {iso(date.start)}" in self.text(said), (
                iso(date.start),
                self.text(said),
            )
            self.rsvps.add(date.key)
        self.expect_nothing_posted(said)

    @rule(shift=st.sampled_from([30, -30, 60]))
    def edit(self, shift: int) -> None:
        """The series' time changes before its first date (same day): every date keeps its
        move, its cancellation and Ben's RSVP. (An edit that also moves the series' first
        date to a later one: tests/cogs/test_meetings_edit_keeps_dates.py.)"""
        ahead = [d for d in self.dates if d.original > self.now()]
        if not ahead or ahead[0] is not self.dates[0]:
            return
        new_start = ahead[0].original + timedelta(minutes=shift)
        if new_start <= self.now():
            return
        before = {d.key: d.start for d in self.dates}
        said = self.say("ana", f'!meeting edit Circle start:"{new_start:%Y-%m-%d %H:%M}"')
        assert "Updated" in self.text(said), self.text(said)
        told = set()
        for d in ahead:
            old_key = d.key
            d.original += timedelta(minutes=shift)
            d.key = local_key(d.original.replace(tzinfo=None))
            if old_key in self.rsvps:
                self.rsvps.discard(old_key)
                self.rsvps.add(d.key)
                if d.moved is None and not d.cancelled and before[old_key] > self.now():
                    told.add(iso(d.start))
        new = self.fresh()
        assert not [s for s in new if delivered(s)], self.text(new)
        dms = [s for s in new if s.where == "dm"]
        if told:
            assert dms and all(s.to == "fake:ben" for s in dms), (told, self.text(new))
            shown = "\n".join(s.text for s in dms)
            assert all(t in shown for t in told), (told, shown)
        else:
            assert not dms, self.text(new)

    def expect_nothing_posted(self, said: list[Said]) -> None:
        new = self.fresh()
        assert not [s for s in new if s.where in ("channel", "dm") and s.message_id], (
            self.text(new),
            self.text(said),
        )

    # --- time ----------------------------------------------------------------------------

    @precondition(lambda self: self.now() < T0 + timedelta(weeks=WEEKS - 3))
    @rule(hours=st.sampled_from([20, 6, 47, 1]))
    def advance(self, hours: int) -> None:
        """Announcements arrive for the dates that take place, at their times, and none for a
        cancelled date."""
        low = self.now()
        self.run(self.app.scheduler.advance(timedelta(hours=hours)))
        high = self.now()
        want = set()
        for d in self.dates:
            if d.cancelled:
                continue
            for minutes in OFFSETS:
                due = d.start - timedelta(minutes=minutes)
                if low < due <= high:
                    want.add((d.key, "start" if minutes == 0 else f"remind{minutes}", due))
        got = set()
        for s in self.fresh():
            assert delivered(s), s
            _meeting, key, kind = parse_key(s.message_id.removeprefix("m-"))
            due = datetime.strptime(s.message_id.rsplit(".", 1)[1], "%Y%m%dT%H%M%S")
            got.add((key, kind, due.replace(tzinfo=UTC)))
            start = next(d.start for d in self.dates if d.key == key)
            if kind == "start":
                assert "is starting now" in s.text, s.text
            else:
                assert iso(start) in s.text, (iso(start), s.text)
        assert got == want, (sorted(want - got), sorted(got - want))

    # --- what anyone can read ------------------------------------------------------------

    @invariant()
    def info_matches(self) -> None:
        """`meeting info`: the next date as the oracle has it, and one line per changed date
        (cancelled, moved, or cancelled after a move)."""
        said = self.say("ben", "!meeting info Circle")
        shown = self.text(said)
        coming = sorted(d.start for d in self.dates if not d.cancelled and d.start >= self.now())
        assert coming, shown
        assert f"Next: {iso(coming[0])}" in shown, (iso(coming[0]), shown)
        want = set()
        for d in self.dates:
            day = d.key[:10]
            if d.cancelled and d.moved is not None:
                want.add(f"- {day}: cancelled (it had moved to {iso(d.moved)})")
            elif d.cancelled:
                want.add(f"- {day}: cancelled")
            elif d.moved is not None:
                want.add(f"- {day}: moved to {iso(d.moved)}")
        lines = {line for line in shown.splitlines() if line.startswith("- 20")}
        assert lines == want, (sorted(want - lines), sorted(lines - want))
        self.expect_nothing_posted(said)
        OccurrenceMachine.steps_checked += 1
