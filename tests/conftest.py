"""Suite-wide fixtures and settings. Helpers live in tests/harness/ (see tests/README.md)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from bot import crypto
from tests.harness.app import app_factory
from tests.harness.postgres import pg_schema

__all__ = ["app_factory", "pg_schema"]

# Every file a test makes (its SQLite databases above all: tmp_path, tempfile's folders, the
# Synapse and worker processes it starts) is thrown away after it, so where the machine has a
# RAM-backed /dev/shm they live there: SQLite syncs to disk at every checkpoint and after each
# delete (the log scrub), and waiting for the disk was about a third of a command-heavy test's
# time. What a test reads and writes is the same on either; no test outlives the machine's
# power. A TMPDIR set by whoever runs the tests is kept.
RAM_DISK = Path("/dev/shm")
if "TMPDIR" not in os.environ and RAM_DISK.is_dir() and os.access(RAM_DISK, os.W_OK | os.X_OK):
    os.environ["TMPDIR"] = str(RAM_DISK)  # for the processes tests start
    tempfile.tempdir = None  # read again from TMPDIR (pytest's tmp_path too)

# Under CI every property test draws the same examples on every run, so a red build is
# reproducible and a green one is not luck; locally, new examples each time. A test's own
# @settings still decides its example count.
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def encryption_keys() -> list[str]:
    """Every test gets a fresh key, as a deployment would have."""
    keys = [crypto.generate_key()]
    crypto.use_keys(keys)
    return keys


TESTS = Path(__file__).resolve().parent
# A test's directory decides its build phase (see tests/README.md), so a new file is in the
# right one without remembering a marker.
PHASE_MARKS = {"e2e": pytest.mark.e2e, "chaos": pytest.mark.chaos}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/e2e/ `e2e` and every test under tests/chaos/ `chaos`."""
    for item in items:
        top = item.path.resolve().relative_to(TESTS).parts[0]
        if top in PHASE_MARKS:
            item.add_marker(PHASE_MARKS[top])
