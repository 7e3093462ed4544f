"""Every announcement and reminder arrives once, on time, after any sequence of changes.

A hypothesis state machine (tests/cogs/meetings_model.py) drives schedule, edit, move, cancel,
restore, delete, RSVP changes, reminders off/on, new offsets, clock advances and restarts, and
checks every delivery against an oracle that knows only each meeting's current state. CI runs a
bounded, derandomised set; benchmarks/meetings_model.py runs a longer one.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from tests.cogs.meetings_model import DeliveryMachine

DeliveryMachine.TestCase.settings = settings(
    max_examples=20,
    stateful_step_count=20,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestDeliveries = DeliveryMachine.TestCase
