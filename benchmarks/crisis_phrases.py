"""Crisis-phrase detector: recall and false positives per language, and speed.

Reads every test set in data/crisis/phrase_tests/ (written separately from the phrase lists).
Per language it prints recall over ALL positives (every concern kind: suicide, self-harm,
medical emergency, violence at home; goal >= 95%), how many were found with the right kind, and
the false-positive rate on everyday messages and on idioms that use crisis words (goal <= 5%
each). Then texts checked per second for a short message and a long journal entry, the time
for 2 kB of words no list knows (no cache helps there), and the
time to compile the lists. Each row: goal, measured, ratio, verdict. Misses are listed so a
reviewer can judge them. Run: .venv/bin/python -m benchmarks.crisis_phrases [N]
"""

from __future__ import annotations

import os
import platform
import random
import string
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.common import Goal, emit, note
from bot.paths import DATA_DIR
from cogs.crisis.phrases import Concern, Detector, load_phrase_lists

RECALL_GOAL = 0.95
FALSE_POSITIVE_GOAL = 0.05
TESTS_DIR = DATA_DIR / "crisis" / "phrase_tests"


@dataclass
class Score:
    """One language's results on its test set."""

    language: str
    positives: int = 0
    found: int = 0
    right_kind: int = 0
    everyday: int = 0
    idioms: int = 0
    missed: list[str] = field(default_factory=list)
    wrong_kind: list[str] = field(default_factory=list)
    false_everyday: list[str] = field(default_factory=list)
    false_idioms: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.found / self.positives if self.positives else 0.0

    @property
    def everyday_rate(self) -> float:
        return len(self.false_everyday) / self.everyday if self.everyday else 0.0

    @property
    def idiom_rate(self) -> float:
        return len(self.false_idioms) / self.idioms if self.idioms else 0.0


def load_test_sets(folder: Path = TESTS_DIR) -> dict[str, dict[str, list[str]]]:
    """Language -> {concern kind, "idiom", "everyday" -> texts} from every test file."""
    out: dict[str, dict[str, list[str]]] = {}
    for path in sorted(folder.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        language = str(data.pop("language", path.stem))
        out[language] = {k: [str(t) for t in v] for k, v in data.items()}
    return out


def score(detector: Detector, language: str, cases: dict[str, list[str]]) -> Score:
    """Recall over all positives and false positives on the negatives of one test set."""
    result = Score(language)
    for kind in Concern:
        for text in cases.get(kind.value, []):
            result.positives += 1
            found = detector.detect(text)
            if found is None:
                result.missed.append(f"[{kind.value}] {text}")
                continue
            result.found += 1
            if kind in found.kinds:
                result.right_kind += 1
            else:
                result.wrong_kind.append(f"[{kind.value} read as {found.kind.value}] {text}")
    for key, bucket in (("everyday", result.false_everyday), ("idiom", result.false_idioms)):
        texts = cases.get(key, [])
        if key == "everyday":
            result.everyday = len(texts)
        else:
            result.idioms = len(texts)
        bucket.extend(t for t in texts if detector.detect(t) is not None)
    return result


def shipped_detector() -> Detector:
    """The detector over the shipped lists; a broken list stops the benchmark."""
    lists, problems = load_phrase_lists(DATA_DIR / "crisis" / "phrases")
    if problems:
        raise SystemExit("phrase file problems:\n  " + "\n  ".join(problems))
    return Detector(lists)


def verdict(ok: bool) -> str:
    return "met" if ok else "missed"


def main(n: int) -> None:
    start = time.perf_counter()
    detector = shipped_detector()
    compile_seconds = time.perf_counter() - start
    print(f"python {platform.python_version()} on {os.cpu_count()} cores")
    print(
        f"lists: {', '.join(detector.languages)}; {detector.size} patterns; "
        f"compiled in {compile_seconds * 1000:.0f} ms"
    )
    sets = load_test_sets()
    scores = [score(detector, lang, cases) for lang, cases in sets.items()]
    header = f"{'row':34} {'goal':>7} {'measured':>9} {'ratio':>6}  verdict"
    print(header)
    total = Score("all")
    for s in scores:
        total.positives += s.positives
        total.found += s.found
        total.right_kind += s.right_kind
        total.everyday += s.everyday
        total.idioms += s.idioms
        total.false_everyday += s.false_everyday
        total.false_idioms += s.false_idioms
    for s in [*scores, total]:
        rows = (
            (f"{s.language} recall ({s.found}/{s.positives})", RECALL_GOAL, s.recall, True),
            (
                f"{s.language} false pos. everyday ({len(s.false_everyday)}/{s.everyday})",
                FALSE_POSITIVE_GOAL,
                s.everyday_rate,
                False,
            ),
            (
                f"{s.language} false pos. idioms ({len(s.false_idioms)}/{s.idioms})",
                FALSE_POSITIVE_GOAL,
                s.idiom_rate,
                False,
            ),
        )
        for label, goal, measured, higher in rows:
            ratio = measured / goal if goal else 0.0
            ok = measured >= goal if higher else measured <= goal
            print(f"{label:34} {goal:>7.0%} {measured:>9.1%} {ratio:>6.2f}  {verdict(ok)}")
            if s is not total:
                note(f"crisis phrases: {label}: {measured:.1%} (goal {goal:.0%}, {verdict(ok)})")
                continue
            emit(
                Goal(
                    f"crisis phrases: {label}",
                    goal * 100,
                    round(measured * 100, 1),
                    "%",
                    "at least" if higher else "at most",
                ),
                quiet=True,
            )
        kind_rate = s.right_kind / s.positives if s.positives else 0.0
        print(f"{s.language + ' right kind':34} {'-':>7} {kind_rate:>9.1%} {'-':>6}  -")
    for s in scores:
        for text in s.missed:
            print(f"  {s.language} missed: {text}")
        for text in s.wrong_kind:
            print(f"  {s.language} kind: {text}")
        for text in s.false_everyday + s.false_idioms:
            print(f"  {s.language} false positive: {text}")
    short = "this meeting is killing me but the group helped a lot tonight"
    everyday = [t for cases in sets.values() for t in cases.get("everyday", [])]
    long = " ".join(everyday)[:6000]  # a long journal entry
    for label, text in (("short message", short), (f"{len(long) // 1000} kB entry", long)):
        detector.detect(text)  # warm the word caches once
        begin = time.perf_counter()
        for _ in range(n):
            detector.detect(text)
        elapsed = time.perf_counter() - begin
        print(f"{label}: {n / elapsed:,.0f} checks/s ({elapsed / n * 1e6:.1f} µs each)")
        note(f"crisis phrases: {label}: {elapsed / n * 1e6:.1f} µs per check")
    # Words no list knows, never seen before (a message in another language, pasted code): no
    # cache helps, each costs a fuzzy lookup. The bot checks in a worker thread for this reason.
    rng = random.Random(0)
    rounds = 5
    begin = time.perf_counter()
    for _ in range(rounds):
        unknown = " ".join(
            "".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 9))) for _ in range(300)
        )[:2000]
        detector.detect(unknown)
    elapsed = time.perf_counter() - begin
    print(f"2 kB of unknown words: {elapsed / rounds * 1e3:.0f} ms each (checked off the loop)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
