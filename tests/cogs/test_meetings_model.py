"""Every announcement and reminder arrives once, on time, after any sequence of changes.

A hypothesis state machine (tests/harness/meetings_model.py) drives schedule, edit, move, cancel,
restore, delete, RSVP changes, reminders off/on, new offsets, clock advances and restarts, and
checks every delivery against an oracle that knows only each meeting's current state. CI runs a
bounded, derandomised set; benchmarks/meetings_model.py runs a longer one.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.harness.meetings_model import ZONES, DeliveryMachine, PhasedDeliveryMachine
from tests.harness.occurrence_model import OccurrenceMachine

DeliveryMachine.TestCase.settings = settings(
    max_examples=20,
    stateful_step_count=20,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestDeliveries = DeliveryMachine.TestCase

# The same, with every start-up phased as a large deployment's first start is: what start-up
# plans before it returns holds every item of the next `URGENT_WINDOW`, and what it leaves to
# the background arrives as if planned at once.
PhasedDeliveryMachine.TestCase.settings = settings(
    max_examples=12,
    stateful_step_count=20,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

OccurrenceMachine.TestCase.settings = settings(
    max_examples=20,
    stateful_step_count=16,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# Any sequence of moves, cancellations, restores (each date named by its planned or its moved
# day), RSVPs and series edits: the channel, the RSVP'd member and `meeting info` see each date
# as the oracle has it (a cancelled move restored takes place at its moved time).
TestOccurrences = OccurrenceMachine.TestCase


@settings(max_examples=12, derandomize=True, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    daily=st.booleans(),
    cancelled=st.integers(0, 3),
    rsvp=st.integers(0, 3),
    shift=st.sampled_from([-90, -30, 15, 60, 24 * 60, 5 * 60]),
)
def test_an_edited_start_keeps_cancellations_and_rsvps_with_their_meeting(
    zone: str, daily: bool, cancelled: int, rsvp: int, shift: int
) -> None:
    """A cancelled date stays quiet and an RSVP's reminder follows the new time after an edit.

    Both are stored by the occurrence's local time, so a new series start must carry them.
    """
    machine = DeliveryMachine()
    try:
        machine.schedule(ahead=40, zone=zone, daily=daily)
        meeting_id = machine.ids()[0]
        found = machine.upcoming(meeting_id)
        machine.rsvp_to(meeting_id, "fake:ben", found[rsvp % len(found)].key, 30)
        machine.cancel(meeting_id, found[cancelled % len(found)])
        machine.edit_start(meeting_id, shift)
        for _ in range(6):
            machine.advance(600)
    finally:
        machine.teardown()


@settings(max_examples=6, derandomize=True, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    daily=st.booleans(),
    series=st.booleans(),
    back_on=st.booleans(),
)
def test_reminders_off_stops_planned_dms_and_on_brings_them_back(
    zone: str, daily: bool, series: bool, back_on: bool
) -> None:
    """Turning reminders off withdraws DMs already planned; on plans them again, once."""
    machine = DeliveryMachine()
    try:
        machine.schedule(ahead=40, zone=zone, daily=daily)
        meeting_id = machine.ids()[0]
        key = "" if series else machine.upcoming(meeting_id)[0].key
        machine.rsvp_to(meeting_id, "fake:ben", key, 30)
        machine.rsvp_to(meeting_id, "fake:cat", key, 15)
        machine.reminders("fake:ben", on=False)
        if back_on:
            machine.reminders("fake:ben", on=True)
        for _ in range(6):
            machine.advance(600)
    finally:
        machine.teardown()


@settings(max_examples=10, derandomize=True, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    every=st.sampled_from([7, 3, 1]),
    ahead=st.integers(1, 96),
    wait_hours=st.integers(0, 7 * 24),
    minutes=st.sampled_from([1440, 60, 600, 2880]),
)
def test_a_plan_read_before_a_sweep_and_written_after_it_withdraws_nothing(
    zone: str, every: int, ahead: int, wait_hours: int, minutes: int
) -> None:
    """A replan that read the plan before time passed (a process starting up behind, a command
    interleaved with the sweep) and writes after it never withdraws what the sweep wrote
    meanwhile: the next meeting's day-before reminder still arrives once, on time."""
    machine = DeliveryMachine()
    try:
        machine.schedule(ahead=ahead, zone=zone, daily=True, every=every)
        machine.advance(wait_hours * 60)
        machine.replan_while_time_passes(machine.ids()[0], minutes)
        for _ in range(8):
            machine.advance(24 * 60)
    finally:
        machine.teardown()


def test_the_phased_machine_left_meetings_to_the_background_and_checked_them() -> None:
    """The phased runs above split real start-ups: some meetings were planned before start-up
    returned and some in the background (a machine whose restarts never split would prove
    nothing about the split)."""
    before = dict(DeliveryMachine.calls)
    PhasedDeliveryMachine.TestCase("runTest").runTest()
    ran = {k: DeliveryMachine.calls[k] - before.get(k, 0) for k in DeliveryMachine.calls}
    assert ran.get("restart into new code", 0) > 0, ran
    assert ran.get("first start", 0) > 0, ran
    assert ran.get("first start just before an item", 0) > 0, ran
    assert ran.get("urgent meetings", 0) > 0, ran
    assert ran.get("background meetings", 0) > 0, ran
