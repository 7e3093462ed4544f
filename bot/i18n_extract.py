"""Babel extractors: the words people read that `_()` alone does not mark.

`extract_python` adds, to what Babel's own Python extractor finds in `_()` and `ngettext()`,
the texts a cog declares as data: a command's help (the first line of the docstring of a
method decorated with `@command`), an option's description (`Option(name, type, "...")`), and
a cog's `description` and `data_statement`. `extract_toml` reads the data files (scripts,
worksheets, journal prompts) and yields the values of the keys babel.cfg names for them, with
their lines (from `bot.schema.Locator`, since TOML parsers give no positions).

Both follow Babel's extractor protocol: `(fileobj, keywords, comment_tags, options)` yielding
`(lineno, funcname, message, comments)`.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any, cast

from babel.messages.extract import extract_python as babel_extract_python

from bot.schema import Locator

Extracted = tuple[int, str | None, str | tuple[str, ...], list[str]]
DECLARED = ("description", "data_statement")  # cog class attributes shown to members


def _first_line(doc: str) -> str:
    lines = doc.strip().splitlines()
    return lines[0].strip() if lines else ""


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
                doc = ast.get_docstring(node)
                if doc and _first_line(doc):
                    yield node.lineno, _first_line(doc)
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
