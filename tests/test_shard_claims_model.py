"""The shard claim rule (`bot.shard_claims.plan`) against a model of PostgreSQL's advisory
locks: processes join, die, pause and resume in any order, each live one running claim rounds
whenever it likes. No shard ever has two holders; once every process is running again and a
few rounds pass, every shard is held once and the holdings differ by at most one."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bot.shard_claims import plan

ORPHAN_ROUNDS = 3  # a shard free for this many of a process's rounds counts as orphaned


class Cluster(RuleBasedStateMachine):
    """Processes (by member id) sharing `shards` through one lock table."""

    def __init__(self) -> None:
        super().__init__()
        self.shards = 0
        self.locks: dict[int, int] = {}  # shard id -> holder (the lock table: one per shard)
        self.running: dict[int, set[int]] = {}  # member -> shards whose connection it has open
        self.paused: set[int] = set()
        self.free_rounds: dict[int, dict[int, int]] = {}  # member -> shard -> rounds seen free
        self.next_id = 100

    @rule(shards=st.integers(1, 12))
    @precondition(lambda self: self.shards == 0)
    def configure(self, shards: int) -> None:
        self.shards = shards

    @rule()
    @precondition(lambda self: len(self.running) < 6)
    def join(self) -> None:
        self.next_id += 1
        self.running[self.next_id] = set()
        self.free_rounds[self.next_id] = {}

    @rule(data=st.data())
    @precondition(lambda self: bool(self.running))
    def die(self, data: st.DataObject) -> None:
        """SIGKILL: the connection ends, PostgreSQL frees every lock of that member."""
        member = data.draw(st.sampled_from(sorted(self.running)))
        del self.running[member]
        self.paused.discard(member)
        self.locks = {sid: holder for sid, holder in self.locks.items() if holder != member}

    @rule(data=st.data())
    @precondition(lambda self: bool(set(self.running) - self.paused))
    def pause(self, data: st.DataObject) -> None:
        self.paused.add(data.draw(st.sampled_from(sorted(set(self.running) - self.paused))))

    @rule(data=st.data())
    @precondition(lambda self: bool(self.paused))
    def resume(self, data: st.DataObject) -> None:
        self.paused.discard(data.draw(st.sampled_from(sorted(self.paused))))

    @rule(data=st.data())
    @precondition(lambda self: self.shards > 0 and bool(set(self.running) - self.paused))
    def claim_round(self, data: st.DataObject) -> None:
        member = data.draw(st.sampled_from(sorted(set(self.running) - self.paused)))
        self.round(member)

    def round(self, member: int) -> None:
        """One round as `ShardClaims.claim_round` and the client run it."""
        free = [sid for sid in range(self.shards) if sid not in self.locks]
        seen = self.free_rounds[member]
        self.free_rounds[member] = seen = {sid: seen.get(sid, 0) + 1 for sid in free}
        orphaned = [sid for sid, rounds in seen.items() if rounds > ORPHAN_ROUNDS]
        claim, surplus = plan(self.shards, self.locks, self.running, member, orphaned)
        for sid in surplus:
            assert self.locks[sid] == member
            self.running[member].discard(sid)  # the client closes the shard ...
            del self.locks[sid]  # ... and only then unlocks it
        for sid in claim:
            if sid not in self.locks:  # pg_try_advisory_lock
                self.locks[sid] = member
                self.running[member].add(sid)

    @invariant()
    def no_shard_runs_twice(self) -> None:
        owners: dict[int, int] = {}
        for member, shards in self.running.items():
            for sid in shards:
                assert sid not in owners, f"shard {sid} runs in {owners[sid]} and {member}"
                owners[sid] = member
                assert self.locks.get(sid) == member, "a shard runs without its lock"

    @invariant()
    def settles_balanced_once_everyone_runs(self) -> None:
        """Checked on a copy: resume everyone and let each run rounds in turn."""
        if self.shards == 0 or not self.running:
            return
        copy = Cluster.__new__(Cluster)
        copy.shards = self.shards
        copy.locks = dict(self.locks)
        copy.running = {member: set(held) for member, held in self.running.items()}
        copy.paused = set()
        copy.free_rounds = {member: dict(seen) for member, seen in self.free_rounds.items()}
        for _ in range(ORPHAN_ROUNDS + 2 * self.shards + 2):
            for member in sorted(copy.running):
                copy.round(member)
        held = [len(shards) for shards in copy.running.values()]
        assert sorted(copy.locks) == list(range(self.shards)), "a shard stayed free"
        assert max(held) - min(held) <= 1, f"unbalanced: {held}"


Cluster.TestCase.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)
TestClaimRule = Cluster.TestCase


def test_a_later_process_is_given_half_of_the_first_ones_shards() -> None:
    claim, surplus = plan(4, {0: 1, 1: 1, 2: 1, 3: 1}, [1, 2], me=1)
    assert (claim, surplus) == ([], [2, 3])
    claim, surplus = plan(4, {0: 1, 1: 1}, [1, 2], me=2)
    assert (claim, surplus) == ([2, 3], [])
