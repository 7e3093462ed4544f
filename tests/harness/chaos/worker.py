"""A bot process for the chaos test: seeds meetings, runs a virtual week, gets SIGKILLed, resumes.

`python -m tests.harness.chaos.worker --db URL [--schema S] --start ISO --until ISO --seed N
--ledger PATH`

The "platform" is the ledger file: every delivery is appended (with fsync) before `send` returns,
and a key already in the ledger is dropped, as Discord nonces and Matrix txn ids do. Members write
journal entries and answer worksheet and journal dialogues between clock steps; a write goes to
`acked.jsonl` only after the bot's reply confirmed it. The virtual now is rewritten to a file
whenever it moves, so a restart resumes where the killed process stopped (`--jump` minutes later,
which models downtime).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from bot import crypto
from bot.app import App, resolve_keys
from bot.clock import VirtualClock
from bot.core.context import ResponderDefaults
from bot.core.dialogue import END, AnswerKind, Dialogue, Step
from bot.core.dispatch import Incoming
from bot.core.identity import Actor, Place
from bot.core.loader import parse_config
from bot.core.message import Message, render_parts
from bot.core.permissions import Tier
from bot.outbox import Target
from bot.platform import Capabilities, PlatformDefaults
from cogs.meetings.cog import MeetingsCog
from tests.harness.chaos import scenario
from tests.harness.chaos.scenario import Files, JsonLines, MeetingSpec, MemberSpec

log = logging.getLogger("chaos.worker")
CODE_RE = re.compile(r"`([A-Za-z0-9]{3,})`")
ITEM_RE = re.compile(r"\*\*#(\d+)\*\*")
LIST_ITEMS = 2  # items a member adds to each list step before `done`


class Tripwire:
    """Kills this process with SIGKILL at the n-th pass through one crash point.

    Points: `commit` (right after a database transaction committed), `send` (the platform has
    shown a message but the outbox has not heard back; `send_on_time` counts only messages sent
    at their due time), `reply` (the bot answered a member but the answer never reaches them).
    Wall-clock kills from the test land anywhere; these land exactly in the windows where a
    crash is most likely to lose or double something.
    """

    point = ""
    left = 0

    def arm(self, spec: str) -> None:
        """`POINT:N`; an empty spec never fires."""
        self.point, _sep, count = spec.partition(":")
        self.left = int(count or 0)

    def passing(self, point: str) -> None:
        """Count one pass; die on the chosen one."""
        if point != self.point or self.left <= 0:
            return
        self.left -= 1
        if self.left == 0:
            sys.stderr.write(f"tripwire: SIGKILL at {point}\n")
            sys.stderr.flush()
            os.kill(os.getpid(), signal.SIGKILL)


TRIPWIRE = Tripwire()
DEDUP_WINDOW = scenario.DEDUP_WINDOW  # Discord's nonce check lasts minutes; grace is 15
LEAD_WITHIN_SECONDS = 30.0


class DurableClock(VirtualClock):
    """A virtual clock that writes its time to a file on every move (a kill cannot undo it)."""

    def __init__(self, start: datetime, path: Path) -> None:
        super().__init__(start)
        self.path = path
        self.owner: Callable[[], bool] = lambda: True  # in a pair, only the leader moves time

    def set(self, moment: datetime) -> None:
        """Move, then record the new time before anything runs at it."""
        super().set(moment)
        self.persist()

    def shared(self) -> datetime:
        """The time the file says (what the leader reached)."""
        return datetime.fromisoformat(self.path.read_text(encoding="utf-8"))

    def persist(self) -> None:
        """Write the current time to the file (when this process owns the time)."""
        if not self.owner():
            return
        scenario.write_atomic(self.path, self.now().isoformat())


def text_of(message: Message) -> str:
    """Plain text of a message, times as ISO strings."""
    return render_parts(message.text, lambda w: w.at.isoformat())


class LedgerPlatform(PlatformDefaults):
    """The transport: the ledger file is what the platform has shown.

    Like Discord's nonce (minutes) and unlike a promise of forever, a repeated key is dropped
    only within `DEDUP_WINDOW`, shorter than the grace window: after a crash between send and
    mark, a late retry would show the message twice unless the bot first looks it up in the
    platform's record (`find_sent`, here the ledger, matched by the marker the bot sent).
    """

    platform = scenario.PLATFORM
    capabilities = Capabilities(finds_sent=True)

    def __init__(self, ledger: JsonLines, clock: VirtualClock) -> None:
        self.ledger = ledger
        self.clock = clock
        self.delivered: dict[str, datetime] = {}
        self._read = 0

    def _catch_up(self) -> None:
        """Learn what was shown since the last look, by any process (the platform is shared)."""
        with self.ledger.path.open("rb") as fh:
            fh.seek(self._read)
            data = fh.read()
        complete = data[: data.rfind(b"\n") + 1]
        self._read += len(complete)
        for line in complete.splitlines():
            record = json.loads(line)
            if not record.get("dup"):
                self.delivered[record["key"]] = datetime.fromisoformat(record["at"])

    async def send(self, target: Target, message: Message, idempotency_key: str) -> str:
        """Show the message; a retry with a key seen within the window is recorded, dropped."""
        self._catch_up()
        now = self.clock.now()
        record: dict[str, Any] = {
            "key": idempotency_key,
            "at": now.isoformat(),
            "target": target.target,
        }
        shown = self.delivered.get(idempotency_key)
        if shown is not None and now - shown <= DEDUP_WINDOW:
            self.ledger.append({**record, "dup": True})
            return idempotency_key
        text = text_of(message)
        self.ledger.append({**record, "text": text})
        self.delivered[idempotency_key] = now
        TRIPWIRE.passing("send")
        if not text.startswith("(late) "):
            TRIPWIRE.passing("send_on_time")
        return idempotency_key

    async def find_sent(self, target: Target, idempotency_key: str, since: datetime) -> str | None:
        """The platform's own record: was a message with this marker shown since `since`?"""
        self._catch_up()
        shown = self.delivered.get(idempotency_key)
        return idempotency_key if shown is not None and shown >= since else None


@dataclass
class Responder(ResponderDefaults):
    """Collects what the bot answers to one event."""

    community: int
    said: list[str] = field(default_factory=list)
    prefix: str = "!"

    async def reply(self, message: Message, *, ephemeral: bool) -> None:
        TRIPWIRE.passing("reply")
        self.said.append(text_of(message))

    async def dm(self, message: Message) -> None:
        TRIPWIRE.passing("reply")
        self.said.append(text_of(message))

    async def defer(self, *, ephemeral: bool) -> None:
        return None

    async def resolve_actor(self, text: str) -> Actor | None:
        return None

    async def resolve_place(self, text: str) -> Place | None:
        if text.strip().lstrip("#") in ("general", scenario.channel_id(self.community)):
            return channel(self.community)
        return None


def channel(community: int) -> Place:
    """The announcement channel of a community."""
    return Place(
        scenario.PLATFORM,
        scenario.channel_id(community),
        scenario.community_id(community),
        False,
        "#general",
    )


class Worker:
    """One life of the bot process."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.files = Files(Path(args.ledger))
        self.start = datetime.fromisoformat(args.start)
        self.until = datetime.fromisoformat(args.until)
        self.specs = scenario.meetings(args.communities, args.seed, self.start)
        self.members = scenario.members(args.communities)

    async def run(self) -> int:
        clock = self._resume_clock()
        config = parse_config(
            {
                "bot": {"rate_limit": {"commands": 1_000_000, "per_seconds": 1}},
                "cogs": {"enabled": ["general", "meetings", "journal", "worksheets"]},
                "scheduler": {"leader_poll_seconds": 0.5},
            },
            "chaos",
        )
        crypto.use_keys(resolve_keys(config, console_key_file=None).keys)
        self.app = App(config, clock=clock, db_url=self.args.db, db_schema=self.args.schema)
        if self.args.slot >= 0:
            clock.owner = lambda: self.app.leader.leading
        await self.app.open(migrate=True)
        ledger = JsonLines(self.files.ledger)
        self.acked = JsonLines(self.files.acked)
        self.app.add_transport(LedgerPlatform(ledger, clock))
        await self.app.start()
        if not self.files.seeded.exists():
            await self._seed()
            scenario.write_atomic(self.files.seeded, "yes")
        if self.args.slot < 0:
            await self._alone(clock)
        else:
            await self._paired(clock)
        await self.app.close()
        ledger.close()
        self.acked.close()
        print(json.dumps({"finished": clock.now().isoformat()}), flush=True)
        return 0

    async def _step(self, clock: DurableClock, mine: Callable[[int], bool]) -> None:
        """The members' writes for this step, then the clock to the next step, jobs firing."""
        step = (clock.now() - self.start) // scenario.STEP
        index = step % len(self.members)
        if mine(index):
            await self._act(self.members[index], step)
        target = min(self.start + scenario.STEP * (step + 1), self.until)
        await self.app.scheduler.advance(target - clock.now())

    async def _alone(self, clock: DurableClock) -> None:
        await self._lead()
        # One delivery pass at the resumed time, then say so: a life killed before its first
        # pass leaves what came due while down to the next life (the check must know).
        await self.app.outbox.deliver_due()
        restarts = JsonLines(self.files.restarts)
        restarts.append({"first_pass": clock.now().isoformat()})
        restarts.close()
        while clock.now() < self.until:
            await self._step(clock, lambda _index: True)

    async def _lead(self) -> None:
        """Wait until this lone process leads before moving the virtual clock.

        On PostgreSQL the killed process's session may hold the leader lock for a moment after
        the kill, so a restart can begin as a follower and take over `leader_poll_seconds`
        (wall time) later. A follower's clock moves but fires nothing, so stepping meanwhile
        would turn half a second of real time into virtual hours the takeover finds stale:
        downtime the restart record does not show, and that no real restart has.
        """
        loop = asyncio.get_running_loop()
        began = loop.time()
        while not self.app.leader.leading:
            if loop.time() - began > LEAD_WITHIN_SECONDS:
                raise SystemExit("a lone worker did not lead within 30 s")
            await asyncio.sleep(0.05)
        if loop.time() - began > 0.01:
            log.warning(
                "led after %.2f s (the killed process still held the lock)", loop.time() - began
            )

    async def _paired(self, clock: DurableClock) -> None:
        """Two processes on PostgreSQL: the leader moves time and fires jobs; the follower
        keeps up with the leader's time and serves its half of the members; both take over."""

        def mine(index: int) -> bool:
            return index % 2 == self.args.slot

        # A takeover rebuilds jobs and settles the outbox at the time it began; on a virtual clock
        # this loop could run hours ahead meanwhile (real time barely moves), so wait for it.
        settled = asyncio.Event()
        if self.app.leader.leading:
            settled.set()
        take_over = self.app.leader.take_over

        async def take_over_then_go_on() -> None:
            await take_over()
            settled.set()

        self.app.leader.take_over = take_over_then_go_on
        acted, led = -1, False
        while not self.files.done.exists():
            shared = clock.shared()
            if shared > clock.now():
                clock.set(shared)
            if self.app.leader.leading:
                await settled.wait()
                if not led:
                    scenario.write_atomic(self.files.leader, str(os.getpid()))
                    led = True
                if clock.now() >= self.until:
                    scenario.write_atomic(self.files.done, "yes")
                    break
                await self._step(clock, mine)
                continue
            step = (clock.now() - self.start) // scenario.STEP
            index = step % len(self.members)
            if step != acted and clock.now() < self.until and mine(index):
                await self._act(self.members[index], step)
                acted = step
            await asyncio.sleep(0.02)  # the coordinator polls for leadership meanwhile

    def _resume_clock(self) -> DurableClock:
        """Resume at the time the last life reached, plus the downtime once seeding is done."""
        path = self.files.clock
        stopped = datetime.fromisoformat(path.read_text()) if path.exists() else self.start
        resumed = stopped
        if self.files.seeded.exists():
            resumed = min(stopped + timedelta(minutes=self.args.jump), self.until)
        restarts = JsonLines(self.files.restarts)
        restarts.append({"stopped": stopped.isoformat(), "resumed": resumed.isoformat()})
        restarts.close()
        clock = DurableClock(resumed, path)
        if self.args.slot < 0 or not path.exists():  # a pair's time is the leader's to write
            clock.persist()
        return clock

    async def say(
        self, member_id: str, community: int, text: str, *, dm: bool, tier: Tier = Tier.MEMBER
    ) -> list[str]:
        """Type a line as a member; returns everything the bot answered."""
        actor = Actor(scenario.PLATFORM, member_id, member_id)
        place = (
            Place(scenario.PLATFORM, f"dm-{member_id}", None, True) if dm else channel(community)
        )
        responder = Responder(community)
        incoming = Incoming(actor, place, tier, responder, f"Circle {community}")
        await self.app.dispatcher.handle_text(incoming, text, "!")
        return responder.said

    # --- seeding ----------------------------------------------------------------------------

    async def _seed(self) -> None:
        """Schedule every meeting through `meeting schedule`; a restart skips the ones saved."""
        meetings = self.app.cogs["meetings"]
        assert isinstance(meetings, MeetingsCog)
        for spec in self.specs:
            info = await self.app.members.community(
                scenario.PLATFORM,
                scenario.community_id(spec.community),
                f"Circle {spec.community}",
                timezone="UTC",
            )
            if spec.title in {v.title for v in await meetings.service.all_in(info.id)}:
                continue
            said = await self.say(
                f"fac{spec.community}",
                spec.community,
                schedule_line(spec),
                dm=False,
                tier=Tier.FACILITATOR,
            )
            if not any(line.startswith("Scheduled") for line in said):
                raise SystemExit(f"could not schedule {spec.title}: {said}")

    # --- members ----------------------------------------------------------------------------

    async def _act(self, member: MemberSpec, step: int) -> None:
        if member.role == "entry":
            await self._entry(member, step)
        else:
            await self._dialogue(member, step)

    async def _entry(self, member: MemberSpec, step: int) -> None:
        token = f"{member.id}-e{step}"
        said = await self.say(
            member.id, member.community, f"!journal write Noticed {token} today.", dm=False
        )
        code = next(
            (m.group(1) for line in said if "Saved" in line for m in [CODE_RE.search(line)] if m),
            None,
        )
        if code is None:
            log.warning("entry %s not confirmed: %s", token, said)
            return
        self.acked.append({"kind": "entry", "actor": member.key, "token": token, "code": code})

    async def _dialogue(self, member: MemberSpec, step: int) -> None:
        """Answer the open question like a member would, or start a new dialogue."""
        dialogues = self.app.dialogues
        state = await dialogues.current(member.key)
        if state is None:
            command = (
                f"!worksheet start {scenario.WORKSHEET}"
                if member.role == "worksheet"
                else "!journal write"
            )
            await self.say(member.id, member.community, command, dm=False)
            return
        dialogue = dialogues.dialogues[state.dialogue_id]
        question = dialogue.step(state.step)
        answers: dict[str, Any] = json.loads(state.answers)
        run = run_of(dialogue, answers) or f"{member.id}-r{step}"
        text, value = answer_for(question, answers, run)
        said = await self.say(member.id, member.community, text, dm=True)
        following = dialogue.after(question, value) if value is not None else question.id
        record = {"actor": member.key, "dialogue": dialogue.id, "run": run, "step": question.id}
        ref: str | None = None
        if question.kind is AnswerKind.LIST and value is None:
            confirmed = any(line.startswith("Added (") for line in said)
        elif following == END:
            ref = closing_ref(said)
            confirmed = ref is not None
        else:
            prompt = dialogue.step(following).prompt.split("\n", 1)[0]
            confirmed = any(prompt in line for line in said)
        if not confirmed:
            log.warning("answer %r to %s not confirmed: %s", text, question.id, said)
            return
        if question.kind is not AnswerKind.LIST or value is None:  # `done` itself holds no data
            self.acked.append({**record, "kind": "answer", "value": text})
        if following == END:
            self.acked.append({**record, "kind": "finished", "ref": ref})


def schedule_line(spec: MeetingSpec) -> str:
    """The facilitator's command for one meeting."""
    return (
        f'!meeting schedule "{spec.title}" "{spec.first_local:%Y-%m-%d %H:%M}" '
        f"{scenario.MEETING_MINUTES}m repeat:{spec.repeat} zone:{spec.zone}"
    )


def run_of(dialogue: Dialogue, answers: dict[str, Any]) -> str | None:
    """The run token every answer of one dialogue carries (taken from its first answer)."""
    first = answers.get(dialogue.steps[0].id)
    if isinstance(first, list):
        first = first[0] if first else None
    return str(first).split("|", 1)[0] if first else None


def answer_for(step: Step, answers: dict[str, Any], run: str) -> tuple[str, Any]:
    """(what the member types, the value a step-ending answer carries; None for a list item)."""
    if step.kind is AnswerKind.LIST:
        got = answers.get(step.id) or []
        if len(got) < LIST_ITEMS:
            return f"{run}|{step.id}|{len(got)}", None
        return "done", got
    if step.kind is AnswerKind.SCALE:
        value = str((step.low + step.high) // 2)
        return value, int(value)
    if step.kind is AnswerKind.CHOICE:
        return step.choices[0].value, step.choices[0].value
    text = f"{run}|{step.id}"
    return text, text


def closing_ref(said: list[str]) -> str | None:
    """The toolbox number or journal code in the bot's closing message."""
    for line in said:
        if "toolbox" in line and (m := ITEM_RE.search(line)):
            return m.group(1)
        if "Saved" in line and (m := CODE_RE.search(line)):
            return m.group(1)
    return None


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run one life."""
    parser = argparse.ArgumentParser(prog="tests.harness.chaos.worker")
    parser.add_argument("--db", required=True)
    parser.add_argument("--schema", default=None)
    parser.add_argument("--start", required=True)
    parser.add_argument("--until", required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--ledger", required=True)
    parser.add_argument("--communities", type=int, default=20)
    parser.add_argument("--jump", type=int, default=0, help="downtime in virtual minutes")
    parser.add_argument("--slot", type=int, default=-1, help="0 or 1: one of a pair")
    parser.add_argument("--trip", default="", help="POINT:N, SIGKILL at the n-th pass of POINT")
    args = parser.parse_args(argv)
    TRIPWIRE.arm(args.trip)
    event.listen(Session, "after_commit", lambda _session: TRIPWIRE.passing("commit"))
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    return asyncio.run(Worker(args).run())


if __name__ == "__main__":
    sys.exit(main())
