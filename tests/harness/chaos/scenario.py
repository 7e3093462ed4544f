"""The chaos scenario both sides agree on: communities, meetings, members and the files they share.

The worker seeds these meetings through the bot's commands; the test computes what must have been
announced straight from these specs with zoneinfo, without the meetings cog's recurrence code.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

PLATFORM = "chaos"
STEP = timedelta(minutes=5)
GRACE = timedelta(minutes=15)  # scheduler.grace_minutes default
DEDUP_WINDOW = timedelta(minutes=5)  # how long the fake platform drops a repeated key
MEETING_MINUTES = 60
# The meetings cog's default offsets (minutes before the start) and the kinds in outbox keys.
ANNOUNCEMENTS = {1440: "remind24h", 10: "remind10m", 0: "start"}
# Whole- and half-hour zones only, so no due time lands exactly on a step boundary.
ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Sydney",
    "America/Sao_Paulo",
    "Africa/Nairobi",
    "Pacific/Auckland",
    "America/Los_Angeles",
    "Asia/Tokyo",
)
WORKSHEET = "cba"
ROLES = ("worksheet", "entry", "journal_dialogue")


@dataclass(frozen=True)
class MeetingSpec:
    """One meeting a facilitator schedules in community `community` at the virtual start."""

    community: int
    title: str
    zone: str
    first_local: datetime  # naive wall time in `zone`
    repeat: str  # "daily" or "weekly"

    def starts(self, until: datetime) -> list[datetime]:
        """Aware UTC starts up to `until` plus a day (a reminder may fall inside the run)."""
        zone = ZoneInfo(self.zone)
        every = timedelta(days=1 if self.repeat == "daily" else 7)
        found: list[datetime] = []
        local = self.first_local
        while True:
            start = local.replace(tzinfo=zone).astimezone(UTC)
            if start > until + timedelta(days=1, minutes=1):
                return found
            found.append(start)
            local += every


@dataclass(frozen=True)
class MemberSpec:
    """A member who writes while the bot is being killed."""

    id: str  # platform id; the actor key is `chaos:<id>`
    community: int
    role: str  # one of ROLES

    @property
    def key(self) -> str:
        """The actor key rows store."""
        return f"{PLATFORM}:{self.id}"


def community_id(index: int) -> str:
    """The platform's id of community `index`."""
    return f"c{index}"


def channel_id(index: int) -> str:
    """The announcement channel of community `index`."""
    return f"c{index}-general"


def meetings(communities: int, seed: int, start: datetime) -> list[MeetingSpec]:
    """A daily and a weekly meeting per community, at seeded local times."""
    rnd = random.Random(seed)
    specs: list[MeetingSpec] = []
    for i in range(communities):
        zone = ZONES[i % len(ZONES)]
        first_day: date = start.astimezone(ZoneInfo(zone)).date() + timedelta(days=1)
        for repeat, label in (("daily", "Daily check-in"), ("weekly", "Weekly circle")):
            day = first_day + timedelta(days=0 if repeat == "daily" else rnd.randrange(6))
            at = time(rnd.randrange(24), rnd.choice((15, 45)))
            specs.append(MeetingSpec(i, f"{label} {i}", zone, datetime.combine(day, at), repeat))
    return specs


def members(communities: int) -> list[MemberSpec]:
    """Two members per role, spread over the first communities."""
    return [
        MemberSpec(f"m{n}", n % communities, ROLES[n % len(ROLES)]) for n in range(2 * len(ROLES))
    ]


@dataclass(frozen=True)
class Due:
    """One announcement the run must show: when it is due, its kind, when its meeting begins."""

    at: datetime
    kind: str
    begins: datetime

    def may_skip(self, first_pass: datetime) -> bool:
        """Whether the first delivery pass after downtime, at `first_pass`, may skip it.

        The product's promise, restated here rather than taken from the code under test: what
        came due while the bot was down is sent late inside the grace window, except that a
        pre-announcement is pointless once its meeting has begun (`not_after`); only the start
        notice may go out after the start. Anything else is recorded as skipped.
        """
        return first_pass - self.at > GRACE or (self.kind != "start" and first_pass > self.begins)


def expected_announcements(
    specs: list[MeetingSpec], start: datetime, until: datetime
) -> dict[tuple[str, str, str], Due]:
    """(title, occurrence wall time key, kind) -> `Due`, for every announcement in the run."""
    found: dict[tuple[str, str, str], Due] = {}
    for spec in specs:
        zone = ZoneInfo(spec.zone)
        for begins in spec.starts(until):
            occurrence = begins.astimezone(zone).strftime("%Y-%m-%dT%H:%M")
            for minutes, kind in ANNOUNCEMENTS.items():
                due = begins - timedelta(minutes=minutes)
                if start <= due <= until:
                    found[(spec.title, occurrence, kind)] = Due(due, kind, begins)
    return found


@dataclass(frozen=True)
class Files:
    """Everything the worker keeps next to its ledger; all survive a SIGKILL."""

    ledger: Path

    @property
    def folder(self) -> Path:
        """Where the files live."""
        return self.ledger.parent

    @property
    def clock(self) -> Path:
        """The virtual now, rewritten whenever it moves."""
        return self.folder / "clock.txt"

    @property
    def acked(self) -> Path:
        """Writes the bot confirmed to the member, one JSON line each."""
        return self.folder / "acked.jsonl"

    @property
    def restarts(self) -> Path:
        """One JSON line per start: the virtual time it stopped at and the time it resumed at."""
        return self.folder / "restarts.jsonl"

    @property
    def seeded(self) -> Path:
        """Exists once every meeting was scheduled."""
        return self.folder / "seeded"

    @property
    def leader(self) -> Path:
        """The pid of the process leading a pair (written by the leader itself)."""
        return self.folder / "leader.pid"

    @property
    def done(self) -> Path:
        """Exists once a pair's leader reached the end of the run."""
        return self.folder / "done"

    @property
    def log(self) -> Path:
        """The workers' stdout and stderr."""
        return self.folder / "worker.log"


class JsonLines:
    """An append-only JSON-lines file, each line on disk (fsync) before `append` returns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._drop_torn_tail()
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def _drop_torn_tail(self) -> None:
        """A line cut by a kill was never confirmed to anyone; remove it before appending."""
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with self.path.open("r+b") as fh:
                fh.truncate(data.rfind(b"\n") + 1)

    def append(self, record: dict[str, Any]) -> None:
        """Write one record durably."""
        os.write(self._fd, (json.dumps(record, sort_keys=True) + "\n").encode())
        os.fsync(self._fd)

    def close(self) -> None:
        """Close the file."""
        os.close(self._fd)


def write_atomic(path: Path, text: str) -> None:
    """Replace a small file so no reader ever sees it half written."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def read_lines(path: Path) -> list[dict[str, Any]]:
    """Complete records of a JSON-lines file (a torn last line is not a record)."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    complete = text[: text.rfind("\n") + 1]
    return [json.loads(line) for line in complete.splitlines() if line.strip()]
