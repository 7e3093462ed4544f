"""Words in one place: a cog's `cog.py` wires commands to services and renderers; the messages a
member reads (errors, dialogue questions, confirmations) are written in that cog's `render.py`.

A `_()` or `ngettext()` call on a written-out message inside a `cog.py` is the sign that a text
was left there. `_()` on a variable (a declared description, a data file's text) is not, nor is
`N_()`, which marks a declaration's own text (a setting's label, an option's description) where
it is declared, as a command's help is its docstring.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COGS = sorted(p.parent.name for p in (ROOT / "cogs").glob("*/cog.py"))
GETTEXT = {"_", "ngettext", "gettext"}


def written_messages(source: str) -> list[tuple[int, str]]:
    """(line, text) of each gettext call whose message is a string literal in `source`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        first = node.args[0]
        if name in GETTEXT and isinstance(first, ast.Constant) and isinstance(first.value, str):
            found.append((node.lineno, first.value))
    return found


def test_the_check_finds_a_written_message_and_spares_a_variable() -> None:
    source = (
        "def f(ctx, n):\n"
        "    ctx.reply(_('Saved.'))\n"
        "    ctx.reply(ngettext('{n} entry', '{n} entries', n).format(n=n))\n"
        "    ctx.reply(_(ctx.cog.description))\n"
        "    ctx.reply(render.saved())\n"
    )
    assert written_messages(source) == [(2, "Saved."), (3, "{n} entry")]


@pytest.mark.parametrize("cog", COGS)
def test_a_cog_writes_its_messages_in_render(cog: str) -> None:
    found = written_messages((ROOT / "cogs" / cog / "cog.py").read_text())
    listed = "\n".join(f"cogs/{cog}/cog.py:{line}: {text!r}" for line, text in found)
    assert found == [], f"move these messages to cogs/{cog}/render.py:\n{listed}"
