"""Architecture rules that keep the core portable."""

from __future__ import annotations

import ast
from dataclasses import fields
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from bot.clock import Clock
from bot.core.cog import Cog, Services
from bot.core.needs import (
    CrisisLines,
    GroupJournal,
    MeetingSchedule,
    MissingProvider,
    PublicSchedule,
    RetentionPlanner,
)

ROOT = Path(__file__).resolve().parent.parent
SDKS = {
    "discord": "bot/adapters/discord",
    "nio": "bot/adapters/matrix",
    # the public pages' web stack stays in its package
    "starlette": "bot/web",
    "uvicorn": "bot/web",
    "jinja2": "bot/web",
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_only_the_adapters_import_a_chat_sdk() -> None:
    offenders = []
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("cogs/**/*.py")]:
        rel = path.relative_to(ROOT).as_posix()
        for sdk, home in SDKS.items():
            if sdk in imported_roots(path) and not rel.startswith(home + "/"):
                offenders.append(f"{rel} imports {sdk}")
    assert offenders == []


def test_the_scan_would_catch_a_leak(tmp_path: Path) -> None:
    leak = tmp_path / "leak.py"
    leak.write_text("from discord import Client\nimport nio.crypto\n")
    assert {"discord", "nio"} <= imported_roots(leak)


def test_every_cog_declares_a_data_statement_and_deletion_hook() -> None:
    from bot.core.cog import Cog
    from bot.core.loader import available_cogs, cog_class

    for name in available_cogs():
        cls = cog_class(name)
        assert cls.data_statement.strip(), name
        assert cls.delete_user_data is not Cog.delete_user_data, name


# --- cogs use the core through one door, and never each other ---------------------------------

CORE_API = "bot.core"


def cog_import_problems(path: Path, cog: str) -> list[str]:
    """Imports in one file of cog package `cog` that go past `bot.core` or into another cog.

    Cogs may import `bot.core` (its `__all__`), their own package, the standard library and
    third-party libraries; nothing else below `bot`, and no other cog.
    """
    tree = ast.parse(path.read_text(), str(path))
    own = f"cogs.{cog}"
    problems: list[str] = []
    for node in ast.walk(tree):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level > 1:
                problems.append(f"line {node.lineno}: relative import out of the cog's package")
                continue
            if node.level == 1 or node.module is None:
                continue
            if node.module in ("bot", "cogs"):
                modules = [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                modules = [node.module]
        for module in modules:
            root = module.split(".")[0]
            if root == "bot" and module != CORE_API:
                problems.append(f"line {node.lineno}: imports {module} (use {CORE_API})")
            elif root == "cogs" and module != own and not module.startswith(own + "."):
                problems.append(f"line {node.lineno}: imports another cog ({module})")
    return problems


def cog_files() -> list[tuple[Path, str]]:
    """Every cog source file with its cog's name; Alembic migrations are history and exempt."""
    found = []
    for path in sorted(ROOT.glob("cogs/*/**/*.py")):
        rel = path.relative_to(ROOT / "cogs")
        if "migrations" in rel.parts:
            continue
        found.append((path, rel.parts[0]))
    return found


def test_cogs_import_only_the_core_api_and_their_own_package() -> None:
    files = cog_files()
    assert len({cog for _path, cog in files}) >= 8  # the scan sees every cog
    offenders = [
        f"{path.relative_to(ROOT).as_posix()} {problem}"
        for path, cog in files
        for problem in cog_import_problems(path, cog)
    ]
    assert offenders == []


def test_the_cog_scan_would_catch_a_side_door(tmp_path: Path) -> None:
    leak = tmp_path / "leak.py"
    leak.write_text(
        "from bot.core import Cog\n"  # allowed
        "from cogs.journal.service import JournalService\n"  # own package: allowed
        "import sqlalchemy\n"  # third party: allowed
        "from bot.models import Member\n"
        "from bot.core.dispatch import Incoming\n"
        "from bot import outbox\n"
        "import bot.safety\n"
        "from cogs.meetings import service\n"
        "from cogs import crisis\n"
        "from .. import general\n"
        "if True:\n"
        "    from cogs.scripts.cog import ScriptsCog\n"
    )
    problems = cog_import_problems(leak, "journal")
    assert len(problems) == 8, problems
    assert any("bot.models" in p for p in problems)
    assert any("cogs.scripts.cog" in p for p in problems)


def test_the_core_api_resolves_every_name_it_declares() -> None:
    """`__all__`, the names mypy sees and the names `__getattr__` imports are the same set,
    and each one resolves to the object its home module holds."""
    import importlib

    import bot.core as core

    tree = ast.parse((ROOT / "bot/core/__init__.py").read_text())
    typed: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for inner in node.body:
                assert isinstance(inner, ast.ImportFrom) and inner.module
                typed.update({alias.name: inner.module for alias in inner.names})
    assert set(core.__all__) == set(typed) == set(core._HOME)
    for name, home in typed.items():
        assert core._HOME[name] == home, name
        assert getattr(core, name) is getattr(importlib.import_module(home), name)
    with pytest.raises(AttributeError, match="NoSuchName"):
        core.NoSuchName  # type: ignore[attr-defined]  # noqa: B018


# --- one cog's needs of another are typed and checked at load ----------------------------------


class _Provider(Cog, CrisisLines):
    name = "provider"
    description = "Lines"
    data_statement = "Nothing."

    async def lines_for(self, community_id: int | None, country: str | None) -> str:
        return "- a line"


class _NeedsLines(Cog):
    name = "needy"
    description = "Needs lines"
    data_statement = "Nothing."

    def __init__(self, config: Any = None, *, clock: Clock, crisis: CrisisLines) -> None:
        super().__init__(config)
        self.clock = clock
        self.crisis = crisis


class _MayUseLines(Cog):
    name = "optional"
    description = "May use lines"
    data_statement = "Nothing."

    def __init__(self, config: Any = None, *, crisis: CrisisLines | None = None) -> None:
        super().__init__(config)
        self.crisis = crisis


class _AsksForAnything(Cog):
    name = "vague"
    description = "Asks for something the loader cannot give"
    data_statement = "Nothing."

    def __init__(self, config: Any = None, *, other: Cog) -> None:
        super().__init__(config)


# Each core part a distinct stand-in: the tests check which one a cog was handed.
SERVICES = cast(
    Services,
    SimpleNamespace(
        **{f.name: object() for f in fields(Services)}
        | {"config": SimpleNamespace(bot=object(), web=object()), "cogs": {}}
    ),
)


def test_a_missing_provider_stops_loading_with_a_clear_message() -> None:
    from bot.core.loader import build

    with pytest.raises(MissingProvider) as raised:
        build({"needy": _NeedsLines}, SERVICES, {})
    message = str(raised.value)
    assert "'needy' needs CrisisLines" in message
    assert "'crisis' parameter" in message
    assert "enable 'crisis'" in message  # the shipped cog that provides it


def test_a_provider_is_built_first_and_handed_over_by_type() -> None:
    from bot.core.loader import build

    built = build(
        {"needy": _NeedsLines, "optional": _MayUseLines, "provider": _Provider}, SERVICES, {}
    )
    needy, optional = built["needy"], built["optional"]
    assert isinstance(needy, _NeedsLines) and isinstance(optional, _MayUseLines)
    assert needy.clock is SERVICES.clock  # a core part, by its type
    assert needy.crisis is built["provider"] and optional.crisis is built["provider"]
    alone = build({"optional": _MayUseLines}, SERVICES, {})["optional"]
    assert isinstance(alone, _MayUseLines) and alone.crisis is None


def test_a_need_the_loader_cannot_fill_is_refused() -> None:
    from bot.core.loader import build

    with pytest.raises(TypeError, match="'other' must be typed with one of"):
        build({"vague": _AsksForAnything}, SERVICES, {})


def test_every_shipped_cog_names_what_it_depends_on_in_its_constructor() -> None:
    """Each parameter is a core part or another cog's protocol, so the loader can fill it."""
    from bot.core.loader import available_cogs, cog_class, core_services
    from bot.core.needs import needs_of

    core = core_services(SERVICES)
    for name in available_cogs():
        needs = needs_of(cog_class(name), core)
        assert needs, name
        assert all(n.kind in core or n.optional for n in needs), name


def test_every_shipped_provider_declares_its_protocol() -> None:
    """The cogs other cogs ask for inherit the protocol, so mypy checks their signatures."""
    from bot.core.loader import cog_class

    assert issubclass(cog_class("meetings"), MeetingSchedule)
    assert issubclass(cog_class("crisis"), CrisisLines)
    assert issubclass(cog_class("journal"), GroupJournal)
    assert issubclass(cog_class("privacy"), RetentionPlanner)
    assert issubclass(cog_class("meetings"), PublicSchedule)


def test_the_public_pages_read_no_cog() -> None:
    """bot/web reads meetings through `bot.core.PublicSchedule`, never a cog's modules."""
    offenders = [
        path.relative_to(ROOT).as_posix()
        for path in ROOT.glob("bot/web/**/*.py")
        if "cogs" in imported_roots(path)
    ]
    assert offenders == []


class _RenamedProvider(Cog, CrisisLines):
    """A provider whose method was renamed: it overrides nothing, so mypy stays silent."""

    name = "renamed"
    description = "Lines under another name"
    data_statement = "Nothing."

    async def helplines_for(self, community_id: int | None, country: str | None) -> str:
        return "- a line"


def test_a_provider_that_lost_a_protocol_method_stops_loading() -> None:
    from bot.core.loader import build

    with pytest.raises(TypeError, match=r"'renamed' declares CrisisLines\.lines_for"):
        build({"renamed": _RenamedProvider, "optional": _MayUseLines}, SERVICES, {})


def test_every_shipped_provider_defines_every_method_it_declares() -> None:
    """Caught when a method is renamed in a providing cog, on the shipped cogs themselves."""
    from bot.core.loader import available_cogs, cog_class
    from bot.core.needs import unimplemented

    assert unimplemented(_RenamedProvider) == ["CrisisLines.lines_for"]
    assert unimplemented(_Provider) == []
    assert {name: unimplemented(cog_class(name)) for name in available_cogs()} == {
        name: [] for name in available_cogs()
    }


# --- the product speaks of itself only ---------------------------------------------------------

# Notes kept outside the repository: a shipped file pointing at one sends a newcomer nowhere.
OUTSIDE_NOTES = ("DOMAIN" + ".md", "DESIGN" + ".md", "TESTING" + ".md", "/work" + "/")
SHIPPED = ("bot", "cogs", "data", "docs", "tests", "README.md", "pyproject.toml")


def test_no_shipped_file_points_at_notes_outside_the_repository() -> None:
    offenders = []
    for top in SHIPPED:
        base = ROOT / top
        for path in [base] if base.is_file() else sorted(base.rglob("*")):
            if not path.is_file() or path.suffix not in (".py", ".md", ".toml", ".txt", ".pot"):
                continue
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if any(note in line for note in OUTSIDE_NOTES):
                    offenders.append(f"{path.relative_to(ROOT).as_posix()}:{number}")
    assert offenders == []


def test_no_adapter_file_outgrows_one_concern() -> None:
    """docs/architecture.md: an adapter is split by concern; 500 lines is the sign to split."""
    sizes = {
        path.relative_to(ROOT).as_posix(): len(path.read_text().splitlines())
        for path in ROOT.glob("bot/adapters/**/*.py")
    }
    assert len(sizes) > 10  # the scan sees the adapters
    assert {path: n for path, n in sizes.items() if n > 500} == {}


def test_the_cog_directory_hands_no_cog_out_by_name() -> None:
    """A cog that looks another up by name and calls it is a side door no type checker sees; the
    directory answers words by name (help headings) and only lists cogs through the base class."""
    import inspect
    import typing

    from bot.core.loader import CogDirectory

    by_name = []
    for name, method in inspect.getmembers(CogDirectory, inspect.isfunction):
        if name.startswith("_"):
            continue
        params = list(inspect.signature(method).parameters)[1:]
        returned = typing.get_type_hints(method).get("return")
        if params and "Cog" in repr(returned):
            by_name.append(name)
    assert by_name == []
    assert not hasattr(CogDirectory, "get")
