"""Crisis-phrase detector: recall, false-positive rate and speed on the shipped test set.

Prints recall on explicit phrases (the goal is >= 95%), recall on worry about someone else, the
false-positive rate on tricky everyday idioms, and texts checked per second for a short DM and a
long journal entry. Run: .venv/bin/python -m benchmarks.crisis_phrases [N]
"""

from __future__ import annotations

import os
import platform
import sys
import time
import tomllib

from bot.paths import DATA_DIR
from cogs.crisis.phrases import Detector, load_phrase_lists


def main(n: int) -> None:
    lists, problems = load_phrase_lists(DATA_DIR / "crisis" / "phrases")
    if problems:
        print("phrase file problems:", *problems, sep="\n  ")
    detector = Detector(
        [p for pl in lists for p in (*pl.explicit, *pl.concern)],
        [p for pl in lists for p in pl.exclude],
    )
    cases = tomllib.loads((DATA_DIR / "crisis" / "phrase_tests" / "en.toml").read_text("utf-8"))
    explicit, concern, negative = cases["explicit"], cases["concern"], cases["negative"]
    missed = [t for t in explicit if not detector.matches(t)]
    missed_concern = [t for t in concern if not detector.matches(t)]
    false_pos = [t for t in negative if detector.matches(t)]
    print(f"python {platform.python_version()} on {os.cpu_count()} cores")
    print(
        f"phrases: {sum(len(pl.explicit) + len(pl.concern) for pl in lists)} variants, "
        f"{sum(len(pl.exclude) for pl in lists)} exclusions"
    )
    print(
        f"recall explicit: {len(explicit) - len(missed)}/{len(explicit)} = "
        f"{1 - len(missed) / len(explicit):.1%}"
    )
    for text in missed:
        print(f"  missed: {text}")
    print(
        f"recall concern:  {len(concern) - len(missed_concern)}/{len(concern)} = "
        f"{1 - len(missed_concern) / len(concern):.1%}"
    )
    print(
        f"false positives: {len(false_pos)}/{len(negative)} = {len(false_pos) / len(negative):.1%}"
    )
    for text in false_pos:
        print(f"  false positive: {text}")
    short = "this meeting is killing me but the group helped a lot tonight"
    long = " ".join(negative) * 3  # about 10 kB, a long journal entry
    for label, text in (("short DM", short), (f"{len(long) // 1000} kB entry", long)):
        start = time.perf_counter()
        for _ in range(n):
            detector.matches(text)
        elapsed = time.perf_counter() - start
        print(f"{label}: {n / elapsed:,.0f} checks/s ({elapsed / n * 1e6:.1f} µs each)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
