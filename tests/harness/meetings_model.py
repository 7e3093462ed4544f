"""A model of what members must receive from meetings, and a state machine that checks the bot.

The oracle (`Model`) knows only each meeting's current state: its rule and time, which
occurrences are cancelled or moved, the RSVPs and their reminder offsets, who turned reminders
off, and the community's announcement offsets. From that alone it says which channel posts and
reminder DMs fall due in a stretch of time. `DeliveryMachine` drives the real meetings service
through schedule, edit, move, cancel one / all, restore, delete, RSVP (with and without a
reminder, changed offsets), un-RSVP, reminders off/on, new announce offsets, clock advances and
restarts (with downtime), and after every step compares what the platform received with the
oracle: every due item exactly once, at its due time, or marked late inside the grace window
after downtime; a reminder DM the downtime kept from going out in time, one late note in its
place at the restart while its date has not ended; change notices exactly once per change;
nothing else.

The clock always stands 30 seconds past a whole minute while due times are whole minutes, so
"due before or after a change" is never ambiguous.

Used by tests/cogs/test_meetings_model.py (bounded) and benchmarks/meetings_model.py (longer).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections import Counter
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, TypeVar
from zoneinfo import ZoneInfo

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from sqlalchemy import delete, select

from bot import crypto
from bot.app import App
from bot.clock import VirtualClock
from bot.config import AppConfig
from bot.core.errors import DeliveryError
from bot.core.message import Message, render_parts
from bot.models import OutboxItem, OutboxItemRef, OutboxPlanStamp
from bot.outbox import Target
from bot.platform import Capabilities, PlatformDefaults
from cogs.meetings import service as meetings_service
from cogs.meetings.cog import MeetingsCog
from cogs.meetings.recurrence import Occurrence, local_key
from cogs.meetings.service import Draft, MeetingService, MeetingView
from tests.harness.app import make_config
from tests.harness.meetings import after_an_update, pending

T0 = datetime(2026, 12, 1, 9, 0, 30, tzinfo=UTC)  # December: no clock change in these zones
GRACE = timedelta(minutes=15)
LATE_AFTER = timedelta(minutes=1)
ZONES = ("UTC", "Europe/London", "America/New_York")
PEOPLE = ("fake:ana", "fake:ben", "fake:cat")
OFFSETS = (0, 10, 60, 1440)
REMINDERS = (None, 15, 30, 60)
CHANNEL = "fake:general"
COMMUNITY = ("fake", "c1")
MAX_MEETINGS = 3
DURATION = 60  # minutes: every meeting the machine schedules
T = TypeVar("T")


@dataclass
class MeetingState:
    """What the oracle knows of one meeting."""

    id: int
    start_local: datetime
    zone: str
    daily: bool  # repeats (every `every` days) or is held once
    every: int = 1
    cancelled: bool = False
    changes: dict[str, datetime] = field(default_factory=dict)  # key -> moved to
    # keys of cancelled dates; a moved date cancelled keeps its move (restored, it comes back
    # at the moved time)
    off: set[str] = field(default_factory=set)

    def occurrences(self, low: datetime, high: datetime) -> list[tuple[str, datetime]]:
        """(occurrence key, aware UTC start) taking place with a start in [low, high)."""
        if self.cancelled:
            return []
        zone = ZoneInfo(self.zone)
        found: list[tuple[str, datetime]] = []
        first = self.start_local.date()
        days = [first]
        if self.daily:
            span = range(-1, (high - low).days + 3)
            days = [low.astimezone(zone).date() + timedelta(days=n) for n in span]
        for day in days:
            if day < first or (day - first).days % self.every:
                continue
            naive = datetime.combine(day, self.start_local.time())
            key = local_key(naive)
            start = naive.replace(tzinfo=zone).astimezone(UTC)
            if key not in self.changes and key not in self.off and low <= start < high:
                found.append((key, start))
        for key, moved in self.changes.items():
            if key not in self.off and low <= moved < high:
                found.append((key, moved))
        return found

    def future(self, now: datetime) -> dict[str, datetime]:
        """Occurrence key -> start of every occurrence taking place after `now` (within the
        weeks a sequence of steps can reach)."""
        return dict(self.occurrences(now, now + timedelta(days=60)))


@dataclass(frozen=True)
class Item:
    """One delivery the oracle expects: a channel post or a DM, due at a time."""

    meeting_id: int
    occurrence: str
    kind: str  # "start", "remind<minutes>", "dm"
    to: str  # "channel" or an actor key
    due: datetime
    start: datetime


@dataclass
class Model:
    """The oracle: each meeting's current state and the community's offsets."""

    meetings: dict[int, MeetingState] = field(default_factory=dict)
    rsvps: dict[tuple[int, str, str], int | None] = field(default_factory=dict)
    opted_out: set[str] = field(default_factory=set)
    offsets: tuple[int, ...] = (1440, 10, 0)

    def rsvped(self, meeting_id: int) -> dict[str, set[str]]:
        """Each member with an RSVP to the meeting -> their occurrence keys ("": series)."""
        found: dict[str, set[str]] = {}
        for m, person, key in self.rsvps:
            if m == meeting_id:
                found.setdefault(person, set()).add(key)
        return found

    def told_about_date(self, meeting_id: int, key: str) -> set[str]:
        """Who is told when one future date changes: its own RSVPs and series RSVPs. Reminders
        off or not: the notice is no reminder."""
        return {p for p, keys in self.rsvped(meeting_id).items() if key in keys or "" in keys}

    def told_about_series(self, meeting_id: int, now: datetime) -> set[str]:
        """Who is told when the whole series ends or comes back (the meeting as it takes place
        then): series RSVPs while a date is to come, and RSVPs to a date to come."""
        future = self.meetings[meeting_id].future(now)
        return {
            p
            for p, keys in self.rsvped(meeting_id).items()
            if ("" in keys and future) or keys & set(future)
        }

    def due(self, low: datetime, high: datetime) -> list[Item]:
        """Every item due in (low, high], from the current state only."""
        found: list[Item] = []
        reach = timedelta(minutes=max(OFFSETS) + 60)
        for m in self.meetings.values():
            for key, start in m.occurrences(low - reach, high + reach):
                for minutes in self.offsets:
                    at = start - timedelta(minutes=minutes)
                    if low < at <= high:
                        kind = "start" if minutes == 0 else f"remind{minutes}"
                        found.append(Item(m.id, key, kind, "channel", at, start))
                for person in PEOPLE:
                    if person in self.opted_out:
                        continue
                    own = (m.id, person, key)
                    series = (m.id, person, "")
                    chosen = own if own in self.rsvps else series if series in self.rsvps else None
                    remind = None if chosen is None else self.rsvps[chosen]
                    if remind is None:
                        continue
                    at = start - timedelta(minutes=remind)
                    if low < at <= high:
                        found.append(Item(m.id, key, "dm", person, at, start))
        return found


@dataclass(frozen=True)
class Delivery:
    """What the platform received."""

    at: datetime
    key: str
    target: Target
    text: str


class Platform(PlatformDefaults):
    """Records every send (a second send of the same key too: the bot must not make one).

    Several sends run at once (the outbox's pool), so the model also proves that a pool of
    concurrent sends settles each item exactly once.
    """

    platform = "fake"
    capabilities = Capabilities(delivery_slots=4)

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.log: list[Delivery] = []
        self.unreachable = False  # every send fails for now (not for good): the outbox retries

    async def send(self, target: Target, message: Message, idempotency_key: str) -> str:
        await asyncio.sleep(0)  # another send of the pool runs meanwhile
        if self.unreachable:
            raise DeliveryError("the platform cannot be reached")
        text = render_parts(message.text, lambda w: w.at.isoformat())
        self.log.append(Delivery(self.clock.now(), idempotency_key, target, text))
        return f"m{len(self.log)}"


def parse_key(key: str) -> tuple[int, str, str]:
    """(meeting id, occurrence, kind) from `meetings.<id>.<uid>.<occurrence>.<kind>.<due>`."""
    _prefix, meeting_id, _uid, occurrence, kind, _due = key.split(".")
    if kind.startswith("dm"):
        kind = "dm"
    elif kind.startswith("late"):
        kind = "late"
    elif kind != "start" and kind.startswith("remind"):
        amount = kind.removeprefix("remind")
        kind = "remind" + str(int(amount[:-1]) * (60 if amount.endswith("h") else 1))
    return int(meeting_id), occurrence, kind


class Template:
    """One migrated empty database per process, copied for each example (migrating is slow)."""

    path: ClassVar[Path | None] = None
    keys: ClassVar[list[str]] = []

    @classmethod
    def copy_to(cls, target: Path, keys: list[str]) -> None:
        if cls.path is None:
            folder = Path(tempfile.mkdtemp(prefix="circlebot-model-"))
            path = folder / "template.sqlite3"

            async def build() -> None:
                crypto.use_keys(keys)
                app = App(config(), clock=VirtualClock(T0), db_url=f"sqlite+aiosqlite:///{path}")
                await app.open(migrate=True)
                await app.close()

            asyncio.run(build())
            cls.path = path
            cls.keys = keys
        shutil.copy(cls.path, target)


def config() -> AppConfig:
    """Meetings with the default offsets, a UTC community."""
    return make_config(bot={"timezone": "UTC"}, cogs={"enabled": ["general", "meetings"]})


class DeliveryMachine(RuleBasedStateMachine):
    """Drives the meetings service; checks deliveries against `Model` after every step."""

    sequences = 0
    told = 0  # private change notices checked
    checked_steps = 0
    checked_items = 0
    late_notes = 0  # late notes expected (and checked) after downtime
    calls: ClassVar[Counter[str]] = Counter()
    # Every start-up rebuild phased (`MeetingService.rebuild`: the meetings with an item due
    # within `URGENT_WINDOW` before start returns, the rest in the background), as a large
    # deployment's first start is; see `PhasedDeliveryMachine`.
    phased: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        DeliveryMachine.sequences += 1
        self._phased_before = meetings_service.PHASED_REBUILD_MEETINGS
        if self.phased:
            meetings_service.PHASED_REBUILD_MEETINGS = 0
        self.loop = asyncio.new_event_loop()
        self.folder = Path(tempfile.mkdtemp(prefix="circlebot-run-"))
        if Template.path is None:
            Template.copy_to(self.folder / "unused.sqlite3", [crypto.generate_key()])
        crypto.use_keys(Template.keys)
        self.url = f"sqlite+aiosqlite:///{self.folder / 'bot.sqlite3'}"
        Template.copy_to(self.folder / "bot.sqlite3", Template.keys)
        self.clock = VirtualClock(T0)
        self.platform = Platform(self.clock)
        self.model = Model()
        self.seen = 0
        self.titles: dict[int, str] = {}
        self.community_id = 0
        self.app = self.run(self.boot())

    # --- plumbing ------------------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    async def boot(self, *, hold: bool = False) -> App:
        """Open and start the app. Phased, with `hold` the background part of the rebuild
        waits until `settled` is awaited (the caller checks the urgent part alone first);
        without, start-up waits for it, as the virtual clock would otherwise jump past what
        it has still to plan (a real clock does not move minutes while it plans)."""
        app = App(config(), clock=self.clock, db_url=self.url)
        app.add_transport(self.platform)
        await app.open(migrate=False)
        real = MeetingService.begin_background
        split = MeetingService._by_first_due

        async def counted(
            service: MeetingService, stale: Sequence[int]
        ) -> tuple[list[int], list[int]]:
            urgent, later = await split(service, stale)
            DeliveryMachine.calls["urgent meetings"] += len(urgent)
            DeliveryMachine.calls["background meetings"] += len(later)
            return urgent, later

        MeetingService.begin_background = lambda _service: None  # type: ignore[method-assign]
        MeetingService._by_first_due = counted  # type: ignore[method-assign]
        try:
            await app.start()
        finally:
            MeetingService.begin_background = real  # type: ignore[method-assign]
            MeetingService._by_first_due = split  # type: ignore[method-assign]
        if not hold:
            await app.settled()
        info = await app.members.community(*COMMUNITY, "Fake circle", timezone="UTC")
        self.community_id = info.id
        return app

    @property
    def service(self) -> MeetingService:
        cog = self.app.cogs["meetings"]
        assert isinstance(cog, MeetingsCog)
        return cog.service

    def view(self, meeting_id: int) -> MeetingView:
        found = self.run(self.service.get(meeting_id))
        assert found is not None
        return found

    def upcoming(self, meeting_id: int) -> list[Occurrence]:
        view = self.view(meeting_id)
        now = self.clock.now()
        return view.occurrences(now, now + timedelta(days=2))

    def fresh(self) -> list[Delivery]:
        new = self.platform.log[self.seen :]
        self.seen = len(self.platform.log)
        return new

    def expect_quiet(self) -> None:
        new = self.fresh()
        assert not new, f"unexpected deliveries after a change: {new}"

    def expect_one_notice(self, meeting_id: int, words: str, told: set[str]) -> None:
        """One channel notice with `words`, and one DM to each member in `told` (those whose
        RSVP'd future date changed), nobody else, each naming the meeting."""
        new = self.fresh()
        posts = [d for d in new if not d.target.is_dm]
        assert len(posts) == 1, f"want one notice about #{meeting_id}, got {new}"
        got = posts[0]
        assert got.target.target == "general"
        assert words in got.text, (words, got.text)
        assert got.at == self.clock.now()
        self.check_told([d for d in new if d.target.is_dm], meeting_id, told)

    def expect_told(self, meeting_id: int, told: set[str]) -> None:
        """No channel post; one DM to each member in `told`, nobody else."""
        new = self.fresh()
        assert all(d.target.is_dm for d in new), f"unexpected posts after a change: {new}"
        self.check_told(new, meeting_id, told)

    def check_told(self, dms: list[Delivery], meeting_id: int, told: set[str]) -> None:
        got = Counter(d.target.target for d in dms)
        assert set(got) == told, f"told {sorted(got)}, want {sorted(told)}: {dms}"
        assert all(n == 1 for n in got.values()), f"told twice: {dms}"
        title = self.titles[meeting_id]
        for d in dms:
            # a deleted meeting's notices carry an opaque key, none of its own
            assert d.key.startswith((f"meetings.{meeting_id}.", "meetings.gone.")), d.key
            assert title in d.text, (title, d.text)
            assert d.at == self.clock.now()
        DeliveryMachine.told += len(dms)

    def teardown(self) -> None:
        try:
            self.run(self.app.close())
        finally:
            meetings_service.PHASED_REBUILD_MEETINGS = self._phased_before
            self.loop.close()
            shutil.rmtree(self.folder, ignore_errors=True)

    def ids(self) -> list[int]:
        return sorted(self.model.meetings)

    # --- changes -------------------------------------------------------------------------

    @initialize(
        ahead=st.sampled_from([4, 1, 40, 8, 97, 20]),
        zone=st.sampled_from(ZONES),
        daily=st.sampled_from([True, False]),
        every=st.sampled_from([1, 3]),
    )
    def first(self, ahead: int, zone: str, daily: bool, every: int) -> None:
        DeliveryMachine.calls["first"] += 1
        self.schedule(ahead, zone, daily, every)

    @precondition(lambda self: len(self.model.meetings) < MAX_MEETINGS)
    @rule(
        ahead=st.sampled_from([6, 2, 45, 9, 96, 30]),
        zone=st.sampled_from(ZONES),
        daily=st.sampled_from([True, False]),
        every=st.sampled_from([1, 3]),
    )
    def schedule(self, ahead: int, zone: str, daily: bool, every: int = 1) -> None:
        """A meeting `ahead` quarter hours from now (on a whole minute), held once or every
        `every` days (every third day: its planning sweeps never coincide with a reminder)."""
        DeliveryMachine.calls["schedule"] += 1
        now = self.clock.now().replace(second=0)
        start_local = (now + timedelta(minutes=15 * ahead)).astimezone(ZoneInfo(zone))
        start_local = start_local.replace(tzinfo=None)
        draft = Draft(
            title=f"Circle {DeliveryMachine.calls['schedule']}",  # never the same twice
            kind="standard",
            start_local=start_local,
            timezone=zone,
            duration_minutes=DURATION,
            rrule=("FREQ=DAILY" if every == 1 else f"FREQ=DAILY;INTERVAL={every}")
            if daily
            else "",
            location=CHANNEL,
            location_label="#general",
            channel=CHANNEL,
        )
        draft = self.service.validate(draft)
        view = self.run(self.service.create(self.community_id, "fake:ana", draft))
        self.model.meetings[view.id] = MeetingState(view.id, start_local, zone, daily, every)
        self.titles[view.id] = view.title
        self.expect_quiet()

    @precondition(lambda self: self.model.meetings)
    @rule(data=st.data(), shift=st.sampled_from([-90, -30, 15, 60, 24 * 60]))
    def edit(self, data: st.DataObject, shift: int) -> None:
        DeliveryMachine.calls["edit"] += 1
        self.edit_start(data.draw(st.sampled_from(self.ids())), shift)

    def edit_start(self, meeting_id: int, shift: int) -> None:
        """Move the series' start by `shift` minutes (skipped when that has passed)."""
        state = self.model.meetings[meeting_id]
        view = self.view(meeting_id)
        start_local = state.start_local + timedelta(minutes=shift)
        if start_local.replace(tzinfo=ZoneInfo(state.zone)) <= self.clock.now():
            return
        draft = Draft(
            title=view.title,
            kind=view.kind,
            start_local=start_local,
            timezone=view.timezone,
            duration_minutes=view.duration_minutes,
            rrule=view.rrule,
            location=view.location,
            location_label=view.location_label,
            channel=view.channel,
        )
        draft = self.service.validate(draft)
        # Cancellations, moves and occurrence RSVPs keep their occurrence: a one-off's date
        # follows the start; a daily series' dates stay the same dates (every `every` days:
        # they move by the part of a period the start moved by) at the new time of day. A
        # date before the new start is no longer in the series: its key stays as it was.
        old_start, new_start = state.start_local, draft.start_local
        if state.daily:
            days = (new_start.date() - old_start.date()).days
            days -= state.every * int(days / state.every)  # whole periods, toward zero

        def shifted(key: str) -> str:
            old = datetime.fromisoformat(key)
            if not state.daily:
                return local_key(old + (new_start - old_start))
            same = datetime.combine(old.date() + timedelta(days=days), new_start.time())
            return local_key(same) if same >= new_start else key

        def starts(key: str) -> datetime | None:
            """Aware UTC start of a date the edited series still has (None: gone)."""
            naive = datetime.fromisoformat(key)
            if state.daily and naive < new_start:
                return None
            return naive.replace(tzinfo=ZoneInfo(state.zone)).astimezone(UTC)

        # Who is told: a series RSVP when the series' time changed (a one-off's: when its one
        # date was neither moved nor cancelled, which keeps it where it was), and an RSVP to a
        # date to come, neither moved nor cancelled, that now starts at another time or is gone.
        before = state.future(self.clock.now())
        told = set()
        one_off_date = local_key(state.start_local)
        kept = {*state.changes, *state.off}
        for person, keys in self.model.rsvped(meeting_id).items():
            if state.cancelled:
                break
            if "" in keys:
                if state.daily or one_off_date not in kept:
                    told.add(person)
            elif any(
                k in before and k not in kept and starts(shifted(k)) != before[k] for k in keys
            ):
                told.add(person)
        self.run(self.service.update(view, "fake:ana", draft))
        state.start_local = new_start
        state.changes = {shifted(k): moved for k, moved in state.changes.items()}
        state.off = {shifted(k) for k in state.off}
        self.model.rsvps = {
            (m, p, shifted(k) if m == meeting_id and k else k): r
            for (m, p, k), r in self.model.rsvps.items()
        }
        self.expect_told(meeting_id, told)

    @precondition(lambda self: self.model.meetings)
    @rule(data=st.data(), minutes=st.sampled_from([-50, 20, 90, 600]))
    def move(self, data: st.DataObject, minutes: int) -> None:
        DeliveryMachine.calls["move"] += 1
        meeting_id = data.draw(st.sampled_from(self.ids()))
        found = self.upcoming(meeting_id)
        if not found:
            return
        occ = data.draw(st.sampled_from(found))
        new_start = occ.start + timedelta(minutes=minutes)
        if new_start <= self.clock.now():
            return
        self.run(
            self.service.move_occurrence(self.view(meeting_id), "fake:ana", occ, new_start, "")
        )
        told = self.model.told_about_date(meeting_id, occ.key)
        self.model.meetings[meeting_id].changes[occ.key] = new_start
        self.expect_one_notice(meeting_id, "moves to", told)

    @precondition(lambda self: self.model.meetings)
    @rule(data=st.data())
    def cancel_one(self, data: st.DataObject) -> None:
        DeliveryMachine.calls["cancel_one"] += 1
        meeting_id = data.draw(st.sampled_from(self.ids()))
        found = self.upcoming(meeting_id)
        if not found:
            return
        self.cancel(meeting_id, data.draw(st.sampled_from(found)))

    def cancel(self, meeting_id: int, occ: Occurrence) -> None:
        self.run(self.service.cancel_occurrence(self.view(meeting_id), "fake:ana", occ, ""))
        told = self.model.told_about_date(meeting_id, occ.key)
        self.model.meetings[meeting_id].off.add(occ.key)
        self.expect_one_notice(meeting_id, "is cancelled", told)

    @precondition(lambda self: any(not m.cancelled for m in self.model.meetings.values()))
    @rule(data=st.data())
    def cancel_all(self, data: st.DataObject) -> None:
        DeliveryMachine.calls["cancel_all"] += 1
        live = [i for i in self.ids() if not self.model.meetings[i].cancelled]
        meeting_id = data.draw(st.sampled_from(live))
        told = self.model.told_about_series(meeting_id, self.clock.now())
        self.run(self.service.cancel_series(self.view(meeting_id), "fake:ana", ""))
        self.model.meetings[meeting_id].cancelled = True
        self.expect_one_notice(meeting_id, "will not meet any more", told)

    @precondition(
        lambda self: any(m.off and not m.cancelled for m in self.model.meetings.values())
    )
    @rule(data=st.data())
    def restore_one(self, data: st.DataObject) -> None:
        DeliveryMachine.calls["restore_one"] += 1
        options = [
            (m.id, key)
            for m in self.model.meetings.values()
            if not m.cancelled
            for key in sorted(m.off)
        ]
        meeting_id, key = data.draw(st.sampled_from(options))
        state = self.model.meetings[meeting_id]
        start = state.changes.get(key) or datetime.fromisoformat(key).replace(
            tzinfo=ZoneInfo(state.zone)
        ).astimezone(UTC)
        if start <= self.clock.now():
            return
        self.run(self.service.restore(self.view(meeting_id), "fake:ana", key))
        state.off.discard(key)  # a moved date comes back at its moved time
        told = self.model.told_about_date(meeting_id, key)
        self.expect_one_notice(meeting_id, "takes place after all", told)

    @precondition(lambda self: any(m.cancelled for m in self.model.meetings.values()))
    @rule(data=st.data())
    def restore_all(self, data: st.DataObject) -> None:
        DeliveryMachine.calls["restore_all"] += 1
        meeting_id = data.draw(
            st.sampled_from([i for i in self.ids() if self.model.meetings[i].cancelled])
        )
        self.run(self.service.restore(self.view(meeting_id), "fake:ana", None))
        self.model.meetings[meeting_id].cancelled = False
        told = self.model.told_about_series(meeting_id, self.clock.now())
        self.expect_one_notice(meeting_id, "meets again", told)

    @precondition(lambda self: self.model.meetings)
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        DeliveryMachine.calls["delete"] += 1
        meeting_id = data.draw(st.sampled_from(self.ids()))
        told = set()
        if not self.model.meetings[meeting_id].cancelled:
            told = self.model.told_about_series(meeting_id, self.clock.now())
        self.run(self.service.remove(self.view(meeting_id), "fake:ana"))
        del self.model.meetings[meeting_id]
        for k in [k for k in self.model.rsvps if k[0] == meeting_id]:
            del self.model.rsvps[k]
        self.expect_told(meeting_id, told)

    @precondition(lambda self: self.model.meetings)
    @rule(
        data=st.data(),
        person=st.sampled_from(PEOPLE),
        series=st.booleans(),
        remind=st.sampled_from(REMINDERS),
        unsaid=st.booleans(),
    )
    def rsvp(
        self,
        data: st.DataObject,
        person: str,
        series: bool,
        remind: int | None,
        unsaid: bool,
    ) -> None:
        """An RSVP; `unsaid`: the member gave no reminder option, so an RSVP they already
        have keeps its reminder (a new one has none)."""
        DeliveryMachine.calls["rsvp"] += 1
        meeting_id = data.draw(st.sampled_from(self.ids()))
        if series:
            key = ""
        else:
            found = self.upcoming(meeting_id)
            if not found:
                return
            key = data.draw(st.sampled_from(found)).key
        self.rsvp_to(meeting_id, person, key, None if unsaid else remind, keep_reminder=unsaid)

    def rsvp_to(
        self,
        meeting_id: int,
        person: str,
        key: str,
        remind: int | None,
        *,
        keep_reminder: bool = False,
    ) -> None:
        had = self.model.rsvps.get((meeting_id, person, key))
        expected = (
            had if keep_reminder and (meeting_id, person, key) in self.model.rsvps else remind
        )
        got = self.run(
            self.service.rsvp(
                self.view(meeting_id), person, key, remind, keep_reminder=keep_reminder
            )
        )
        assert got == expected, (got, expected)
        self.model.rsvps[(meeting_id, person, key)] = expected
        self.expect_quiet()

    @precondition(lambda self: self.model.rsvps)
    @rule(data=st.data(), everything=st.booleans())
    def unrsvp(self, data: st.DataObject, everything: bool) -> None:
        DeliveryMachine.calls["unrsvp"] += 1
        meeting_id, person, key = data.draw(st.sampled_from(sorted(self.model.rsvps)))
        self.run(self.service.unrsvp(self.view(meeting_id), person, None if everything else key))
        for k in list(self.model.rsvps):
            if k[:2] == (meeting_id, person) and (everything or k[2] == key):
                del self.model.rsvps[k]
        self.expect_quiet()

    @rule(person=st.sampled_from(PEOPLE), on=st.booleans())
    def reminders(self, person: str, on: bool) -> None:
        DeliveryMachine.calls["reminders"] += 1
        self.run(self.service.set_reminders(person, on))
        if on:
            self.model.opted_out.discard(person)
        else:
            self.model.opted_out.add(person)
        self.expect_quiet()

    @rule(offsets=st.sets(st.sampled_from(OFFSETS), min_size=1, max_size=4))
    def announce(self, offsets: set[int]) -> None:
        DeliveryMachine.calls["announce"] += 1
        minutes = sorted(offsets, reverse=True)
        self.run(self.service.set_offsets(self.community_id, minutes))
        self.model.offsets = tuple(minutes)
        self.expect_quiet()

    # --- time ----------------------------------------------------------------------------

    @rule(
        # hypothesis starts from the first value: a step long enough to deliver something
        minutes=st.sampled_from([61, 600, 11, 1440, 1, 9, 50, 180, 10, 60, 120, 347])
    )
    def advance(self, minutes: int) -> None:
        DeliveryMachine.calls["advance"] += 1
        low = self.clock.now()
        self.run(self.app.scheduler.advance(timedelta(minutes=minutes)))
        expected = self.model.due(low, self.clock.now())
        self.compare(expected, late_at=None)

    @rule(extra=st.sampled_from([0, 1, 5]))
    def advance_past_next(self, extra: int) -> None:
        """Move to just after the next item the model expects (plus `extra` items' worth)."""
        DeliveryMachine.calls["advance_past_next"] += 1
        low = self.clock.now()
        coming = sorted({i.due for i in self.model.due(low, low + timedelta(days=3))})
        if not coming:
            return
        target = coming[min(extra, len(coming) - 1)] + timedelta(seconds=30)
        self.run(self.app.scheduler.advance(target - low))
        self.compare(self.model.due(low, self.clock.now()), late_at=None)

    @precondition(lambda self: self.model.meetings)
    @rule(data=st.data(), minutes=st.sampled_from([1440, 1, 10, 61, 600, 2880]))
    def replan_across_advance(self, data: st.DataObject, minutes: int) -> None:
        """Another planner of one meeting (a process starting up, a command) reads what is
        planned; the clock then moves `minutes` (sweeps plan, deliveries go); only then does
        it write its plan. Nothing written meanwhile may be withdrawn by it: every later step
        still sees each announcement once, on time."""
        DeliveryMachine.calls["replan_across_advance"] += 1
        self.replan_while_time_passes(data.draw(st.sampled_from(self.ids())), minutes)

    def replan_while_time_passes(self, meeting_id: int, minutes: int) -> None:
        """`replan_across_advance` for one meeting."""
        low = self.clock.now()
        outbox = self.app.outbox
        real = outbox.latest_pending

        async def read_then_time_passes(*args: Any, **kwargs: Any) -> Any:
            outbox.latest_pending = real  # type: ignore[method-assign]  # the sweeps read plainly
            found = await real(*args, **kwargs)
            await self.app.scheduler.advance(timedelta(minutes=minutes))
            return found

        outbox.latest_pending = read_then_time_passes  # type: ignore[method-assign]
        try:
            # The service's one replan path (what a start-up rebuild or a change runs).
            self.run(self.service._replan(meeting_id))
        finally:
            outbox.latest_pending = real  # type: ignore[method-assign]
        self.compare(self.model.due(low, self.clock.now()), late_at=None)

    @rule(downtime=st.sampled_from([0, 3, 12, 40, 1500, 3000]))
    def restart(self, downtime: int) -> None:
        DeliveryMachine.calls["restart"] += 1
        self.restart_after(downtime)

    def after_downtime(self, low: datetime, back: datetime) -> list[Item]:
        """What arrives at `back` after the bot was down from `low` (aware UTC): what came
        due meanwhile, late inside the grace window (a post or reminder before its meeting
        began); for a reminder DM that could not go in time, one late note in its place
        while its date has not ended (60-minute meetings); nothing else."""
        due = self.model.due(low, back)
        expected = [
            item
            for item in due
            if back - item.due <= GRACE and (item.kind == "start" or back <= item.start)
        ]
        notes = [
            Item(item.meeting_id, item.occurrence, "late", item.to, item.due, item.start)
            for item in due
            if item.kind == "dm"
            and item not in expected
            and back <= item.start + timedelta(minutes=DURATION)
        ]
        DeliveryMachine.late_notes += len(notes)
        return expected + notes

    def restart_after(self, downtime: int) -> list[int]:
        """Close the app, let `downtime` minutes pass, start it again; check what arrived and
        what the restart trusted (`check_trusted`). Returns the ids of the meetings whose
        stored plans it trusted."""
        self.run(self.app.close())
        low = self.clock.now()
        self.clock.set(low + timedelta(minutes=downtime))
        back = self.clock.now()
        trusted: list[int] = []
        real = MeetingService._rebuild_trusted

        async def counted(service: MeetingService) -> tuple[list[int], list[tuple[int, int]]]:
            stale, kept = await real(service)
            trusted.extend(meeting_id for meeting_id, _community in kept)
            return stale, kept

        MeetingService._rebuild_trusted = counted  # type: ignore[method-assign]
        try:
            self.app = self.run(self.boot(hold=self.phased))
        finally:
            MeetingService._rebuild_trusted = real  # type: ignore[method-assign]
        DeliveryMachine.calls["trusted"] += len(trusted)
        self.compare(self.after_downtime(low, back), late_at=back)
        if self.phased:
            # What start-up planned before it returned carries every item due in the urgent
            # window, with nothing planned in the background yet.
            DeliveryMachine.calls["phased"] += 1
            self.run(self.app.scheduler.advance(meetings_service.URGENT_WINDOW))
            self.compare(self.model.due(back, self.clock.now()), late_at=None)
            self.run(self.app.settled())
            self.expect_quiet()
        self.check_trusted(trusted)
        return trusted

    def restart_stalled(self, downtime: int, then: int) -> None:
        """Close the app, let `downtime` minutes pass, start it while the platform cannot be
        reached (its plans are made and written, nothing arrives: the process stops there),
        close it again, and start it `then` minutes later (at most the grace window): what
        arrives is what one downtime over both stretches brings, each item once."""
        assert then <= GRACE.total_seconds() // 60
        self.run(self.app.close())
        low = self.clock.now()
        self.clock.set(low + timedelta(minutes=downtime))
        self.platform.unreachable = True
        try:
            self.app = self.run(self.boot())
            assert not self.fresh(), "an unreachable platform received something"
            self.run(self.app.close())
        finally:
            self.platform.unreachable = False
        self.clock.set(self.clock.now() + timedelta(minutes=then))
        self.app = self.run(self.boot())
        back = self.clock.now()
        self.compare(self.after_downtime(low, back), late_at=back)

    def erase(self, person: str) -> None:
        """The member erases their data: RSVPs and reminder choice go, nothing more is sent
        to them about meetings."""
        self.run(self.service.delete_user_data(person))
        self.model.rsvps = {k: r for k, r in self.model.rsvps.items() if k[1] != person}
        self.model.opted_out.discard(person)
        self.expect_quiet()

    def check_trusted(self, trusted: list[int]) -> None:
        """The meetings the restart did not plan (their stored plan trusted) hold what planning
        them all again writes: the same pending items, text, targets and references, and the
        same next planning moments. Only items a planning sweep would write later anyway (due
        at or after that meeting's next planning moment) may be missing."""
        service = self.service
        kept = self.run(pending(self.app))
        due = dict(service._plan_due)
        self.run(after_an_update(self.app))
        self.run(service.rebuild())
        self.run(service.settled())
        again = self.run(pending(self.app))
        assert service._plan_due == due, (due, service._plan_due)
        for key, row in kept.items():
            assert again.get(key) == row, (key, row, again.get(key))
        for key, row in again.items():
            if key not in kept:
                meeting_id = parse_key(key)[0]
                # Phased, the clock moved on past the urgent window since the restart: a
                # fresh plan's horizon reaches further than what any meeting planned then.
                assert self.phased or meeting_id in trusted, (
                    "a planned meeting missed an item",
                    key,
                )
                assert row[2] >= due[meeting_id], ("missing from a trusted plan", key, row)
        self.expect_quiet()

    @precondition(lambda self: self.model.meetings)
    @rule(name=st.sampled_from(["Ana", "Ana B", None]))
    def rename(self, name: str | None) -> None:
        """The facilitator of every meeting chooses (or clears) a pseudonym: what is planned
        names her so (checked by `check_trusted` at the next restart)."""
        DeliveryMachine.calls["rename"] += 1
        self.run(self.app.members.set_pseudonym(self.community_id, "fake:ana", name))
        self.expect_quiet()

    def compare(self, expected: list[Item], late_at: datetime | None) -> None:
        """What arrived since the last check is exactly `expected`, each once, on time."""
        got: dict[tuple[int, str, str, str, datetime], list[Delivery]] = {}
        for d in self.fresh():
            meeting_id, occurrence, kind = parse_key(d.key)
            to = d.target.target if d.target.is_dm else "channel"
            due = datetime.strptime(d.key.rsplit(".", 1)[1], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
            got.setdefault((meeting_id, occurrence, kind, to, due), []).append(d)
        want = {(i.meeting_id, i.occurrence, i.kind, i.to, i.due): i for i in expected}
        assert sorted(got, key=str) == sorted(want, key=str), (
            f"missing {sorted(set(want) - set(got), key=str)}, "
            f"unexpected {sorted(set(got) - set(want), key=str)}"
        )
        for ident, deliveries in got.items():
            assert len(deliveries) == 1, f"{ident} arrived {len(deliveries)} times"
            d = deliveries[0]
            when = late_at or ident[4]
            assert d.at == when, (ident, d.at)
            if ident[2] == "late":  # due when it is written: a note that says it is late
                assert d.text.startswith("Sorry, this reminder comes late"), d.text
                assert "You planned to join" in d.text, d.text
                continue
            assert d.text.startswith("(late) ") == (when - ident[4] > LATE_AFTER), d.text
            if ident[2] == "start":
                assert "is starting now" in d.text
            elif ident[2] == "dm":
                assert "You planned to join" in d.text
            else:
                assert "Reminder:" in d.text
        DeliveryMachine.checked_items += len(expected)

    @invariant()
    def counted(self) -> None:
        DeliveryMachine.checked_steps += 1


class PhasedDeliveryMachine(DeliveryMachine):
    """`DeliveryMachine` with every start-up rebuild phased: each restart checks what arrives
    in the urgent window before anything is planned in the background, then lets the
    background plan the rest, and every later step checks it as always."""

    phased = True

    @rule(downtime=st.sampled_from([0, 3, 12, 40, 1500]))
    def restart_into_new_code(self, downtime: int) -> None:
        """A restart into new code trusts no stored plan: every meeting is planned again, the
        ones due soon before start-up returns, the others in the background."""
        DeliveryMachine.calls["restart into new code"] += 1
        self.run(after_an_update(self.app))
        self.restart_after(downtime)

    @rule(downtime=st.sampled_from([0, 3, 40]))
    def first_start(self, downtime: int) -> None:
        """A first start on these meetings: nothing planned yet (`forget_plans`), every
        meeting planned, the ones due soon before start-up returns."""
        DeliveryMachine.calls["first start"] += 1
        self.run(forget_plans(self.app))
        self.restart_after(downtime)

    @precondition(lambda self: self.model.meetings)
    @rule(before=st.sampled_from([1, 5, 9]), nth=st.integers(0, 4))
    def first_start_just_before_an_item(self, before: int, nth: int) -> None:
        """The same, the bot coming back `before` minutes (and 30 seconds) ahead of one of the
        next items the model expects: the item (a day-before post, a 10-minute post, a
        reminder DM or a start) falls in the urgent window, and its meeting may start well
        after the window."""
        low = self.clock.now()
        coming = sorted(
            {
                item.due
                for item in self.model.due(low, low + timedelta(days=3))
                if item.due - timedelta(minutes=before) > low + timedelta(minutes=1)
            }
        )
        if not coming:
            return
        target = coming[min(nth, len(coming) - 1)]
        DeliveryMachine.calls["first start just before an item"] += 1
        self.run(forget_plans(self.app))
        self.restart_after(int((target - low).total_seconds() // 60) - before)


async def forget_plans(app: App) -> None:
    """What a first start finds: no pending outbox item and no stored plan stamp (what was
    sent stays recorded, as it was)."""
    async with app.db.sessions.begin() as session:
        waiting = select(OutboxItem.id).where(OutboxItem.status == "pending")
        await session.execute(delete(OutboxItemRef).where(OutboxItemRef.item_id.in_(waiting)))
        await session.execute(delete(OutboxItem).where(OutboxItem.status == "pending"))
        await session.execute(delete(OutboxPlanStamp))
