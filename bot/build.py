"""A digest of the code and data that shape what the bot plans (its build), read once.

A planner that trusts what it stored earlier (`bot.outbox.PlanStamp`) must not trust it across
an update: new wording, a fixed rule or a new time-zone database plan something else. The
digest covers every Python file of the bot and its cogs, the translation catalogs, and the
versions of Python, python-dateutil and the time-zone data, so any update plans everything
once again.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import platform
import zoneinfo
from pathlib import Path

from bot.paths import DATA_DIR, ROOT

SOURCES = (ROOT / "bot", ROOT / "cogs")
CATALOGS = DATA_DIR / "locale"


@functools.cache
def code_digest() -> str:
    """Hex SHA-256 of the bot's source files, catalogs and the libraries' versions that decide
    dates and wording. Computed once per process (a few milliseconds)."""
    digest = hashlib.sha256()
    files = sorted(path for root in SOURCES for path in root.rglob("*.py"))
    files += sorted(path for path in CATALOGS.rglob("*") if path.is_file())
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    for name in ("python-dateutil", "tzdata"):
        try:
            digest.update(f"{name}={importlib.metadata.version(name)}\0".encode())
        except importlib.metadata.PackageNotFoundError:
            digest.update(f"{name}=none\0".encode())
    digest.update(f"python={platform.python_version()}\0".encode())
    digest.update(f"tzdata={_system_tz_version()}\0".encode())
    return digest.hexdigest()


def _system_tz_version() -> str:
    """The version line of the system's time-zone database (`zoneinfo` reads it first), or
    "none" when the system has none (then the tzdata package's version above counts)."""
    for base in zoneinfo.TZPATH:
        index = Path(base) / "tzdata.zi"
        try:
            with index.open("rb") as handle:
                return handle.readline().decode(errors="replace").strip()
        except OSError:
            continue
    return "none"
