"""Run state per channel and imported scripts; one public method = one transaction.

The speaking order belongs to the step where the hands were raised. A run holds the order of
the step it is at (`queue`, `speaker_key`, `spoken`, `passed`) and, in `kept`, the order of
every queue step it has left with anything in it. Moving between steps (`move`: next, back,
goto) never drops a hand: the order of the step left behind is kept, and coming back to that
step brings it back as it was (the person who had the floor has it again, with the time
they had used). A hand leaves the order only when its owner lowers it (`lower_hand`, also
for a step the meeting is not at), is given the floor (`next_speaker`) or passes
(`pass_turn`), is erased (`delete_user_data`), or when the facilitator ends the script
(`end`, which the channel is told). A round later in the meeting (check-out after check-in)
is a different step and starts with its own empty order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import Clock, UserError, _, export_row
from cogs.scripts.models import CustomScript, ScriptRun

FORMER = "former-member"  # stands in for an erased person where a row must stay for others


@dataclass(frozen=True)
class RunView:
    """A snapshot of one running script, detached from the session."""

    id: int
    community_id: int
    platform: str
    channel_id: str
    place_key: str
    script_name: str
    meeting: str | None
    facilitator_key: str
    step_index: int
    started_at: datetime
    step_started_at: datetime
    paused_at: datetime | None
    step_nudged: bool
    queue: list[str] = field(default_factory=list)
    spoken: list[str] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    speaker_key: str | None = None
    speaker_started_at: datetime | None = None
    speaker_nudged: bool = False
    kept: dict[int, KeptStep] = field(default_factory=dict)


@dataclass(frozen=True)
class KeptStep:
    """The speaking order of a queue step the meeting has left, kept for its return.

    `speaker_seconds`: how long `speaker_key` had had the floor when the step was left.
    """

    queue: tuple[str, ...] = ()
    spoken: tuple[str, ...] = ()
    passed: tuple[str, ...] = ()
    speaker_key: str | None = None
    speaker_seconds: float = 0.0
    speaker_nudged: bool = False

    @property
    def waiting(self) -> bool:
        """Whether hands are still up there (someone waits for the floor). A speaker alone
        is not waiting: moving on after the last share is how a round usually ends."""
        return bool(self.queue)

    @property
    def empty(self) -> bool:
        """Nothing to keep: no hand up, nobody with the floor, nobody spoke or passed."""
        return not (self.queue or self.speaker_key or self.spoken or self.passed)

    def people(self) -> set[str]:
        """Everyone this order names."""
        found = {*self.queue, *self.spoken, *self.passed}
        return found | {self.speaker_key} if self.speaker_key else found

    def without(self, key: str) -> KeptStep:
        """The same order with `key` taken out everywhere (an erasure)."""
        speaking = self.speaker_key == key
        return KeptStep(
            tuple(k for k in self.queue if k != key),
            tuple(k for k in self.spoken if k != key),
            tuple(k for k in self.passed if k != key),
            None if speaking else self.speaker_key,
            0.0 if speaking else self.speaker_seconds,
            False if speaking else self.speaker_nudged,
        )


def _load_kept(text: str) -> dict[int, KeptStep]:
    """`script_run.kept` (JSON: step index -> order) as `KeptStep`s."""
    return {
        int(index): KeptStep(
            tuple(kept.get("queue", ())),
            tuple(kept.get("spoken", ())),
            tuple(kept.get("passed", ())),
            kept.get("speaker"),
            float(kept.get("speaker_seconds", 0.0)),
            bool(kept.get("speaker_nudged", False)),
        )
        for index, kept in json.loads(text or "{}").items()
    }


def _dump_kept(kept: dict[int, KeptStep]) -> str:
    return json.dumps(
        {
            str(index): {
                "queue": list(k.queue),
                "spoken": list(k.spoken),
                "passed": list(k.passed),
                "speaker": k.speaker_key,
                "speaker_seconds": k.speaker_seconds,
                "speaker_nudged": k.speaker_nudged,
            }
            for index, k in sorted(kept.items())
            if not k.empty
        }
    )


def _store_kept(row: ScriptRun, state: _State) -> None:
    """Write the kept orders; the names of the people they hold stay with the run."""
    row.kept = _dump_kept(state.kept)
    names = json.loads(row.names)
    for kept in state.kept.values():
        names.update({k: state.names[k] for k in kept.people() if k in state.names})
    row.names = json.dumps(names)


@dataclass
class _State:
    """The mutable, decoded part of a run row."""

    queue: list[str]
    spoken: list[str]
    passed: list[str]
    names: dict[str, str]
    kept: dict[int, KeptStep] = field(default_factory=dict)


def _view(row: ScriptRun) -> RunView:
    return RunView(
        id=row.id,
        community_id=row.community_id,
        platform=row.platform,
        channel_id=row.channel_id,
        place_key=row.place_key,
        script_name=row.script_name,
        meeting=row.meeting,
        facilitator_key=row.facilitator_key,
        step_index=row.step_index,
        started_at=row.started_at,
        step_started_at=row.step_started_at,
        paused_at=row.paused_at,
        step_nudged=row.step_nudged,
        queue=json.loads(row.queue),
        spoken=json.loads(row.spoken),
        passed=json.loads(row.passed),
        names=json.loads(row.names),
        speaker_key=row.speaker_key,
        speaker_started_at=row.speaker_started_at,
        speaker_nudged=row.speaker_nudged,
        kept=_load_kept(row.kept),
    )


def _state(row: ScriptRun) -> _State:
    return _State(
        json.loads(row.queue),
        json.loads(row.spoken),
        json.loads(row.passed),
        json.loads(row.names),
    )


def _store(row: ScriptRun, state: _State) -> None:
    row.queue = json.dumps(state.queue)
    row.spoken = json.dumps(state.spoken)
    row.passed = json.dumps(state.passed)
    # everyone who took part in the run stays (until it ends or they erase their data): the
    # order they first came in numbers those without a pseudonym ("member 2") for the whole run
    row.names = json.dumps(state.names)


class AlreadyRunning(UserError):
    """A channel already has a script running; carries that run."""

    def __init__(self, run: RunView) -> None:
        super().__init__("a script is already running here")
        self.run = run


class ScriptService:
    """What the commands, buttons and timers change."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    async def move_place(self, old_key: str, new_key: str) -> None:
        """Point the run in the room `old_key` at `new_key` (a room upgrade); a run already
        going in the new room keeps its place and the old one stays where it was."""
        _platform, _sep, new_id = new_key.partition(":")
        try:
            async with self._sessions.begin() as session:
                await session.execute(
                    update(ScriptRun)
                    .where(ScriptRun.place_key == old_key)
                    .values(place_key=new_key, channel_id=new_id)
                )
        except IntegrityError:
            return

    async def begin(
        self,
        *,
        community_id: int,
        platform: str,
        channel_id: str,
        place_key: str,
        script_name: str,
        meeting: str | None,
        facilitator_key: str,
        facilitator_name: str,
    ) -> RunView:
        """Start a run in a channel; raises AlreadyRunning when one is there."""
        now = self._clock.now()
        async with self._sessions() as session:
            row = ScriptRun(
                community_id=community_id,
                platform=platform,
                channel_id=channel_id,
                place_key=place_key,
                script_name=script_name,
                meeting=meeting,
                facilitator_key=facilitator_key,
                step_index=0,
                started_at=now,
                step_started_at=now,
                step_nudged=False,
                queue="[]",
                spoken="[]",
                passed="[]",
                names=json.dumps({facilitator_key: facilitator_name}),
                speaker_nudged=False,
            )
            session.add(row)
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
                existing = await session.scalar(
                    select(ScriptRun).where(ScriptRun.place_key == place_key)
                )
                if existing is None:
                    raise
                raise AlreadyRunning(_view(existing)) from None
            return _view(row)

    async def at_place(self, place_key: str) -> RunView | None:
        """The run in a channel, if any."""
        async with self._sessions() as session:
            row = await session.scalar(select(ScriptRun).where(ScriptRun.place_key == place_key))
            return None if row is None else _view(row)

    async def by_id(self, run_id: int) -> RunView | None:
        """A run by id."""
        async with self._sessions() as session:
            row = await session.get(ScriptRun, run_id)
            return None if row is None else _view(row)

    async def all_runs(self) -> list[RunView]:
        """Every running script (to rebuild timers at start-up)."""
        async with self._sessions() as session:
            return [_view(r) for r in await session.scalars(select(ScriptRun))]

    async def running_script(self, community_id: int, name: str) -> bool:
        """Whether a channel of this community is running the script `name`."""
        async with self._sessions() as session:
            found = await session.scalar(
                select(ScriptRun.id).where(
                    ScriptRun.community_id == community_id, ScriptRun.script_name == name
                )
            )
            return found is not None

    async def _change(self, run_id: int, change: Callable[[ScriptRun, _State], None]) -> RunView:
        async with self._sessions.begin() as session:
            row = await session.scalar(
                select(ScriptRun).where(ScriptRun.id == run_id).with_for_update()
            )
            if row is None:
                raise UserError(_("That meeting script has already ended."))
            state = _state(row)
            state.kept = _load_kept(row.kept)
            change(row, state)
            _store(row, state)
            _store_kept(row, state)
            await session.flush()
            return _view(row)

    async def move(self, run_id: int, index: int) -> RunView:
        """Go to step `index` (0-based; next, back and goto alike) with a fresh step clock.

        No hand is dropped: the speaking order of the step left behind goes into `kept` under
        its index (when it holds anyone), and the order kept for `index`, if any, comes back
        as it was; its speaker has the floor again with the time already used (a pause does
        not count). The returned view's `kept` tells the caller what stays behind to say so.
        Raises UserError when the run has ended.
        """
        now = self._clock.now()

        def change(row: ScriptRun, state: _State) -> None:
            used = 0.0
            if row.speaker_key is not None and row.speaker_started_at is not None:
                used = max(0.0, ((row.paused_at or now) - row.speaker_started_at).total_seconds())
            left = KeptStep(
                tuple(state.queue),
                tuple(state.spoken),
                tuple(state.passed),
                row.speaker_key,
                used,
                row.speaker_nudged,
            )
            state.kept.pop(row.step_index, None)
            if not left.empty:
                state.kept[row.step_index] = left
            back = state.kept.pop(index, KeptStep())
            row.step_index = index
            row.step_started_at = now
            row.paused_at = None
            row.step_nudged = False
            row.speaker_key = back.speaker_key
            row.speaker_started_at = (
                now - timedelta(seconds=back.speaker_seconds) if back.speaker_key else None
            )
            row.speaker_nudged = back.speaker_nudged
            state.queue, state.spoken, state.passed = (
                list(back.queue),
                list(back.spoken),
                list(back.passed),
            )

        return await self._change(run_id, change)

    async def pause(self, run_id: int) -> RunView:
        """Stop the step clock."""
        now = self._clock.now()

        def change(row: ScriptRun, state: _State) -> None:
            if row.paused_at is not None:
                raise UserError(_("The script is already paused."))
            row.paused_at = now

        return await self._change(run_id, change)

    async def resume(self, run_id: int) -> RunView:
        """Restart the step clock where it stopped."""
        now = self._clock.now()

        def change(row: ScriptRun, state: _State) -> None:
            if row.paused_at is None:
                raise UserError(_("The script is not paused."))
            held = now - row.paused_at
            row.step_started_at = row.step_started_at + held
            if row.speaker_started_at is not None:
                row.speaker_started_at = row.speaker_started_at + held
            row.paused_at = None

        return await self._change(run_id, change)

    async def end(self, run_id: int) -> bool:
        """Delete the run and with it the queue; False if it was already gone."""
        async with self._sessions.begin() as session:
            result = await session.execute(delete(ScriptRun).where(ScriptRun.id == run_id))
        return bool(getattr(result, "rowcount", 0))

    async def raise_hand(self, run_id: int, key: str, name: str) -> RunView:
        """Join the end of the speaking queue."""

        def change(row: ScriptRun, state: _State) -> None:
            if key == row.speaker_key:
                raise UserError(_("You have the floor right now."))
            if key in state.queue:
                raise UserError(
                    _("Your hand is already up: you are number {n} in the queue.").format(
                        n=state.queue.index(key) + 1
                    )
                )
            state.queue.append(key)
            if key in state.passed:
                state.passed.remove(key)
            state.names[key] = name

        return await self._change(run_id, change)

    async def lower_hand(self, run_id: int, key: str) -> tuple[RunView, list[int]]:
        """Leave the speaking queue of the current step or, when the hand is not up there,
        of every step the meeting has left where it is still up (kept for its return).

        Returns the run and the indexes of those other steps (empty: lowered here). Raises
        UserError when the hand is up nowhere.
        """
        elsewhere: list[int] = []

        def change(row: ScriptRun, state: _State) -> None:
            if key in state.queue:
                state.queue.remove(key)
                return
            for index, kept in sorted(state.kept.items()):
                if key in kept.queue:
                    elsewhere.append(index)
                    state.kept[index] = replace(
                        kept, queue=tuple(k for k in kept.queue if k != key)
                    )
            if not elsewhere:
                raise UserError(_("Your hand is not up."))

        return await self._change(run_id, change), elsewhere

    async def pass_turn(self, run_id: int, key: str, name: str) -> RunView:
        """Sit this round out; ends the turn if the member has the floor."""

        def change(row: ScriptRun, state: _State) -> None:
            if key in state.passed:
                raise UserError(_("You have already passed this round. That's fine."))
            if key in state.queue:
                state.queue.remove(key)
            if row.speaker_key == key:
                row.speaker_key = None
                row.speaker_started_at = None
                row.speaker_nudged = False
            state.passed.append(key)
            state.names[key] = name

        return await self._change(run_id, change)

    async def add(self, run_id: int, key: str, name: str) -> RunView:
        """A facilitator puts a member (a late joiner) at the end of the queue."""

        def change(row: ScriptRun, state: _State) -> None:
            if key in state.queue or key == row.speaker_key:
                raise UserError(_("{name} is already in the queue.").format(name=name))
            state.queue.append(key)
            if key in state.passed:
                state.passed.remove(key)
            state.names[key] = name

        return await self._change(run_id, change)

    async def next_speaker(self, run_id: int) -> RunView:
        """The current speaker is done; the first raised hand gets the floor."""
        now = self._clock.now()

        def change(row: ScriptRun, state: _State) -> None:
            if row.speaker_key is not None and row.speaker_key not in state.spoken:
                state.spoken.append(row.speaker_key)
            if not state.queue:
                row.speaker_key = None
                row.speaker_started_at = None
                row.speaker_nudged = False
                return
            row.speaker_key = state.queue.pop(0)
            row.speaker_started_at = now
            row.speaker_nudged = False

        return await self._change(run_id, change)

    async def claim_step_nudge(self, run_id: int, index: int, started: datetime) -> bool:
        """True once per step visit: the caller may nudge the facilitator."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(ScriptRun)
                .where(
                    ScriptRun.id == run_id,
                    ScriptRun.step_index == index,
                    ScriptRun.step_started_at == started,
                    ScriptRun.paused_at.is_(None),
                    ScriptRun.step_nudged.is_(False),
                )
                .values(step_nudged=True)
            )
        return bool(getattr(result, "rowcount", 0))

    async def claim_speaker_nudge(self, run_id: int, key: str, started: datetime) -> bool:
        """True once per turn: the caller may nudge the speaker."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(ScriptRun)
                .where(
                    ScriptRun.id == run_id,
                    ScriptRun.speaker_key == key,
                    ScriptRun.speaker_started_at == started,
                    ScriptRun.paused_at.is_(None),
                    ScriptRun.speaker_nudged.is_(False),
                )
                .values(speaker_nudged=True)
            )
        return bool(getattr(result, "rowcount", 0))

    async def custom_source(self, community_id: int, name: str) -> str | None:
        """The TOML of an imported script."""
        async with self._sessions() as session:
            return await session.scalar(
                select(CustomScript.source).where(
                    CustomScript.community_id == community_id, CustomScript.name == name
                )
            )

    async def custom_sources(self, community_id: int) -> dict[str, str]:
        """Every imported script of a community, by name."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(CustomScript.name, CustomScript.source)
                .where(CustomScript.community_id == community_id)
                .order_by(CustomScript.name)
            )
            return {name: source for name, source in rows}

    async def save_custom(self, community_id: int, name: str, source: str, by: str) -> bool:
        """Store an imported script; True when it replaced one of the same name."""
        async with self._sessions.begin() as session:
            row = await session.scalar(
                select(CustomScript).where(
                    CustomScript.community_id == community_id, CustomScript.name == name
                )
            )
            if row is not None:
                row.source = source
                row.created_by = by
                row.updated_at = self._clock.now()
                return True
            session.add(
                CustomScript(
                    community_id=community_id,
                    name=name,
                    source=source,
                    created_by=by,
                    updated_at=self._clock.now(),
                )
            )
            return False

    async def delete_custom(self, community_id: int, name: str) -> bool:
        """Remove an imported script; False if there was none."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(CustomScript).where(
                    CustomScript.community_id == community_id, CustomScript.name == name
                )
            )
        return bool(getattr(result, "rowcount", 0))

    async def export_user_data(self, actor_key: str) -> dict[str, Any]:
        """Running meetings the person is part of (their place only) and scripts they imported."""
        runs: list[dict[str, Any]] = []
        async with self._sessions() as session:
            for row in await session.scalars(select(ScriptRun).order_by(ScriptRun.id)):
                state = _state(row)
                roles = [
                    role
                    for role, hit in (
                        ("facilitator", row.facilitator_key == actor_key),
                        ("speaking", row.speaker_key == actor_key),
                        ("in queue", actor_key in state.queue),
                        ("spoke", actor_key in state.spoken),
                        ("passed", actor_key in state.passed),
                    )
                    if hit
                ]
                for index, kept in sorted(_load_kept(row.kept).items()):
                    roles.extend(
                        f"{role} (step {index + 1}, kept for its return)"
                        for role, hit in (
                            ("speaking", kept.speaker_key == actor_key),
                            ("in queue", actor_key in kept.queue),
                            ("spoke", actor_key in kept.spoken),
                            ("passed", actor_key in kept.passed),
                        )
                        if hit
                    )
                if roles or actor_key in state.names:
                    runs.append(
                        {
                            "community_id": row.community_id,
                            "channel": row.place_key,
                            "script": row.script_name,
                            "meeting": row.meeting,
                            "started_at": row.started_at.isoformat(),
                            "roles": roles,
                            "name_shown": state.names.get(actor_key),
                        }
                    )
            imported = await session.scalars(
                select(CustomScript).where(CustomScript.created_by == actor_key)
            )
            return {
                "running_meetings": runs,
                "imported_scripts": [export_row(r) for r in imported],
            }

    async def delete_community_data(self, community_id: int) -> None:
        """Erase the community's script runs and imported scripts."""
        async with self._sessions.begin() as session:
            await session.execute(delete(ScriptRun).where(ScriptRun.community_id == community_id))
            await session.execute(
                delete(CustomScript).where(CustomScript.community_id == community_id)
            )

    async def delete_user_data(self, actor_key: str) -> list[RunView]:
        """Take a person out of every queue; runs and imported scripts stay for the others.
        Returns the runs they facilitated, now led by `FORMER` (any facilitator steers them)."""
        led: list[RunView] = []
        async with self._sessions.begin() as session:
            for row in await session.scalars(select(ScriptRun).with_for_update()):
                state = _state(row)
                state.queue = [k for k in state.queue if k != actor_key]
                state.spoken = [k for k in state.spoken if k != actor_key]
                state.passed = [k for k in state.passed if k != actor_key]
                state.names.pop(actor_key, None)
                state.kept = {i: k.without(actor_key) for i, k in _load_kept(row.kept).items()}
                if row.speaker_key == actor_key:
                    row.speaker_key = None
                    row.speaker_started_at = None
                leading = row.facilitator_key == actor_key
                if leading:
                    row.facilitator_key = FORMER
                _store(row, state)
                _store_kept(row, state)
                if leading:
                    led.append(_view(row))
            await session.execute(
                update(CustomScript)
                .where(CustomScript.created_by == actor_key)
                .values(created_by=FORMER)
            )
        return led
