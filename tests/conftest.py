"""Suite-wide fixtures and settings. Helpers live in tests/harness/ (see tests/README.md)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from bot import crypto
from tests.harness.app import app_factory
from tests.harness.postgres import pg_schema

__all__ = ["app_factory", "pg_schema"]

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
