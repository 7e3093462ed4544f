"""The test harness itself: where helpers may come from, and that its waiting helpers wait.

A test module that imports another test module couples two files nobody reads together: a
renamed helper breaks an unrelated test, and running one file runs another's module code.
Shared helpers live in tests/harness/ (see tests/README.md).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def is_test_module(module: str) -> bool:
    """True for a dotted module name under `tests` that is a test module or a conftest."""
    parts = module.split(".")
    return parts[0] == "tests" and (parts[-1].startswith("test_") or parts[-1] == "conftest")


def imported_test_modules(source: str, module: str) -> list[str]:
    """The test modules (and conftests) `source`, the text of `module`, imports.

    Relative imports are resolved against `module`'s package; `from tests.e2e import test_x`
    counts too. Raises SyntaxError for unparsable source.
    """
    package = module.split(".")[:-1]
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if is_test_module(a.name)]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            if is_test_module(target):
                found.append(target)
            found += [
                f"{target}.{a.name}" for a in node.names if is_test_module(f"{target}.{a.name}")
            ]
    return found


def python_files() -> list[Path]:
    return sorted([*(ROOT / "tests").rglob("*.py"), *(ROOT / "benchmarks").rglob("*.py")])


def test_no_test_module_imports_another_test_module() -> None:
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in python_files()
        if (
            found := imported_test_modules(
                path.read_text(encoding="utf-8"),
                ".".join(path.relative_to(ROOT).with_suffix("").parts),
            )
        )
    }
    assert offenders == {}, "move shared helpers to tests/harness/ (see tests/README.md)"


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("from tests.e2e.test_matrix_adapter import scene", "tests.e2e.test_x", 1),
        ("import tests.cogs.test_admin", "tests.test_x", 1),
        ("from tests.e2e import test_discord_adapter", "tests.test_x", 1),
        ("from .test_journal import texts", "tests.cogs.test_x", 1),
        ("from ..conftest import make_config", "tests.cogs.test_x", 1),
        ("from tests.conftest import app_factory", "benchmarks.x", 1),
        ("from tests.harness.matrix import scene", "tests.e2e.test_x", 0),
        ("from tests.harness import console", "tests.test_x", 0),
        ("from .harness.app import make_config", "tests.test_x", 0),
        ("import bot.adapters.matrix", "tests.test_x", 0),
    ],
)
def test_the_import_check_catches_every_way_to_import_a_test_module(
    source: str, module: str, expected: int
) -> None:
    assert len(imported_test_modules(source, module)) == expected
