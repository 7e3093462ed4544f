"""Where the project's data files live (scripts, worksheets, crisis seed, locale)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
