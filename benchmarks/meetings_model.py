"""The meetings delivery model for longer: many random sequences of changes, clock and restarts.

tests/cogs/test_meetings_model.py runs a small, fixed set in CI; this runs N fresh sequences
(random each time, or from a seed) and prints how many sequences, steps and deliveries were
checked against the oracle, and how long it took. A failure prints the shortest sequence found.
Run: .venv/bin/python -m benchmarks.meetings_model [SEQUENCES] [STEPS] [SEED]
"""

from __future__ import annotations

import os
import platform
import random
import sys
import time

from hypothesis import HealthCheck, seed, settings
from hypothesis.stateful import run_state_machine_as_test

from benchmarks.common import Goal, emit
from tests.harness.meetings_model import DeliveryMachine


def main(sequences: int, steps: int, chosen_seed: int) -> None:
    began = time.perf_counter()

    @seed(chosen_seed)
    def run() -> None:
        run_state_machine_as_test(
            DeliveryMachine,
            settings=settings(
                max_examples=sequences,
                stateful_step_count=steps,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            ),
        )

    failure = ""
    try:
        run()
    except Exception as exc:  # the shortest failing sequence was printed above
        failure = f"{type(exc).__name__}: {str(exc)[:300]}"
    elapsed = time.perf_counter() - began
    m = DeliveryMachine
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"seed {chosen_seed}, up to {steps} steps per sequence")
    print(
        f"checked {m.sequences} sequences, {m.checked_steps} steps, "
        f"{m.checked_items} due deliveries, {m.told} private change notices in {elapsed:.0f} s"
    )
    print("rules: " + ", ".join(f"{k} {v}" for k, v in sorted(m.calls.items())))
    print(f"verdict: {'FAILED ' + failure if failure else 'every sequence matched the oracle'}")
    emit(
        Goal(
            f"meetings model: sequences that disagree with the oracle ({m.sequences} random "
            f"sequences, up to {steps} steps)",
            0,
            1 if failure else 0,
            "",
            "at most",
        )
    )


if __name__ == "__main__":
    given = [int(a) for a in sys.argv[1:4]]
    count, length, chosen = (given + [200, 40, random.randrange(2**32)][len(given) :])[:3]
    main(count, length, chosen)
