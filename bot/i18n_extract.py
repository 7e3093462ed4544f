"""Babel extractors: the words people read that `_()` alone does not mark.

`extract_python` adds, to what Babel's own Python extractor finds in `_()` and `ngettext()`,
the texts a cog declares as data: a command's help (the first paragraph of the docstring of a
method decorated with `@command`, joined as `bot.core.commands.description_of` joins it), an
option's description (`Option(name, type, "...")`), and a cog's `description` and
`data_statement`. `extract_toml` reads the data files (scripts,
worksheets, journal prompts) and yields the values of the keys babel.cfg names for them, with
their lines (from `bot.schema.Locator`, since TOML parsers give no positions).

Both follow Babel's extractor protocol: `(fileobj, keywords, comment_tags, options)` yielding
`(lineno, funcname, message, comments)`.
"""

from __future__ import annotations

import ast
import datetime
import io
import sys
import tomllib
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, cast

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.extract import extract_python as babel_extract_python
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import write_po

from bot.core.commands import description_of
from bot.schema import Locator

Extracted = tuple[int, str | None, str | tuple[str, ...], list[str]]
DECLARED = ("description", "data_statement")  # cog class attributes shown to members


def _string(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _is_call_to(node: ast.AST, name: str) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Name) and func.id == name) or (
        isinstance(func, ast.Attribute) and func.attr == name
    )


def declared_texts(source: str) -> Iterator[tuple[int, str]]:
    """(line, text) of every command help, option description and cog description."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if any(_is_call_to(d, "command") for d in node.decorator_list):
                help_text = description_of(ast.get_docstring(node) or "")
                if help_text:
                    yield node.lineno, help_text
        elif _is_call_to(node, "Option"):
            assert isinstance(node, ast.Call)
            text = _string(node.args[2]) if len(node.args) > 2 else None
            for keyword in node.keywords:
                if keyword.arg == "description":
                    text = _string(keyword.value)
            if text:
                yield node.lineno, text
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if (
                    isinstance(item, ast.Assign)
                    and len(item.targets) == 1
                    and isinstance(item.targets[0], ast.Name)
                    and item.targets[0].id in DECLARED
                ):
                    text = _string(item.value)  # adjacent literals are one Constant
                    if text:
                        yield item.lineno, text


def extract_python(
    fileobj: IO[bytes],
    keywords: Mapping[str, Any],
    comment_tags: Collection[str],
    options: dict[str, Any],
) -> Iterator[Extracted]:
    """Babel's Python extraction, plus the texts declared as data (see the module doc)."""
    yield from cast(
        Iterator[Extracted],
        babel_extract_python(fileobj, keywords, comment_tags, cast(Any, options)),
    )
    fileobj.seek(0)
    source = fileobj.read().decode(options.get("encoding", "utf-8"))
    for line, text in declared_texts(source):
        yield line, None, text, []


def toml_texts(text: str, keys: Collection[str]) -> Iterator[tuple[int, str]]:
    """(line, text) of every string (or list of strings) held by one of `keys`, anywhere."""
    locator = Locator(text)

    def walk(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[int, str]]:
        if isinstance(value, dict):
            for key, inner in value.items():
                yield from walk(inner, (*path, key))
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                yield from walk(inner, (*path, index))
        elif isinstance(value, str) and value.strip():
            named = [p for p in path if isinstance(p, str)]
            if named and named[-1] in keys:
                yield locator.line(path) or 0, value.strip()

    yield from walk(tomllib.loads(text), ())


def extract_toml(
    fileobj: IO[bytes],
    keywords: Mapping[str, Any],
    comment_tags: Collection[str],
    options: dict[str, Any],
) -> Iterator[Extracted]:
    """The texts of a data file: the values of the keys in the `keys` option of babel.cfg."""
    keys = {k.strip() for k in str(options.get("keys", "")).split(",") if k.strip()}
    text = fileobj.read().decode(options.get("encoding", "utf-8"))
    for line, message in toml_texts(text, keys):
        yield line, None, message, []


# The template's header says when it was made; a fixed date keeps `make template` on an
# unchanged tree from changing the file (so branches do not conflict on that line). The
# history of the template is git's.
TEMPLATE_DATE = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
TEMPLATE_HEADER = (
    "# Translation template for circlebot: every word a member reads.\n"
    "# Made by `make template` (bot/i18n_extract.py); do not edit by hand."
)


def build_template(root: Path) -> bytes:
    """The translation template (a POT file, UTF-8) of the tree at `root`.

    Extracts with the extractors `root/babel.cfg` names, like `pybabel extract`, but with a
    fixed creation date and the messages sorted, so the same tree always gives the same bytes
    and moving a text between files does not change the template.
    """
    with (root / "babel.cfg").open() as handle:
        method_map, options_map = cast(Any, parse_mapping_cfg)(handle)  # untyped in Babel
    catalog = Catalog(
        project="circlebot",
        header_comment=TEMPLATE_HEADER,
        creation_date=TEMPLATE_DATE,
        revision_date=TEMPLATE_DATE,
        charset="utf-8",
    )
    for filename, line, message, comments, context in extract_from_dir(
        str(root), method_map, options_map
    ):
        catalog.add(message, None, [(filename, line)], auto_comments=comments, context=context)
    out = io.BytesIO()
    write_po(out, catalog, no_location=True, sort_output=True)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    """`python -m bot.i18n_extract OUT.pot`: write the template of the current directory."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m bot.i18n_extract OUT.pot", file=sys.stderr)
        return 2
    Path(args[0]).write_bytes(build_template(Path.cwd()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
