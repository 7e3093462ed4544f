"""No import circles among the modules of bot/ and cogs/.

A circle means two modules can only be understood (and loaded) together; it also hides a layer
that reaches up. Imports under `if TYPE_CHECKING:` and inside functions count too: they are
still a dependency a reader has to follow.

The graph is read with `ast` and ordered with `graphlib` (both standard library): about two
hundred modules, and a cycle is exactly what `graphlib.TopologicalSorter` reports, so no
import-graph package is needed for it.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "cogs")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of `known` that `name` (at `path`) imports, wherever the import is."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.add(submodule if submodule in known else base)
    found: set[str] = set()
    for target in targets:
        while target and target not in known:  # `import a.b.c` names a module or a package
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of bot/ and cogs/ it imports."""
    known = modules()
    return {name: imported(name, path, set(known)) for name, path in known.items()}


def test_the_graph_sees_imports_of_every_kind() -> None:
    graph = import_graph()
    assert "bot.core.dispatch" in graph["bot.app"]  # from a.b import c (c a name)
    assert "bot.adapters.matrix.adapter" in graph["bot.adapters.matrix"]  # from a.b.c import x
    assert {"bot.core"} <= graph.keys()


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Import circles, one per broken edge: each found circle loses its closing edge and the
    search runs again, so every circle is listed, not only the first."""
    graph = {name: set(targets) for name, targets in graph.items()}
    found: list[list[str]] = []
    while True:
        try:
            tuple(graphlib.TopologicalSorter(graph).static_order())
        except graphlib.CycleError as error:
            # graphlib lists the circle against the imports: each module imports the one before
            cycle: list[str] = list(reversed(error.args[1]))
            found.append(cycle)
            graph[cycle[0]].discard(cycle[1])
        else:
            return found


def test_the_circle_search_finds_each_circle() -> None:
    graph = {"a": {"b"}, "b": {"a", "c"}, "c": {"d"}, "d": {"c"}, "e": {"a"}}
    assert sorted(sorted(set(c)) for c in circles(graph)) == [["a", "b"], ["c", "d"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_module_of_bot_or_cogs_is_part_of_an_import_circle() -> None:
    found = circles(import_graph())
    assert not found, "import circles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_adapters_depend_on_the_platform_contract_not_on_the_app() -> None:
    graph = import_graph()
    adapters = [name for name in graph if name.startswith("bot.adapters")]
    assert adapters
    reaching_up = sorted(name for name in adapters if {"bot.app", "bot.cli"} & graph[name])
    assert not reaching_up, f"adapters importing the app: {reaching_up}"
