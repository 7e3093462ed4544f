"""One schema layer for the config file and every data file (scripts, worksheets, prompts...).

A file's shape is a pydantic model (`Section`: unknown keys refused, no silent type coercion);
pydantic finds what is wrong and this module turns each of its errors into one `Problem` that
names the file, the line and the key (tables counted from 1 and named by their id), in words a
person editing the file understands.

TOML parsers (tomllib, tomli, tomlkit) report positions only for syntax errors, so the small
`Locator` that maps a key path such as `steps[2].kind` to its line is ours; everything else
(types, required keys, unknown keys, lengths, ranges) is pydantic's.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from bot.i18n import _

Path_ = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: its name, its 1-based line when known, the key as the file's
    author counts (`bot.timezone`, `step 3 (share).kind` for the third `[[steps]]` table, whose
    id is `share`; empty for the whole file) and what to change."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        parts = [self.file] if self.file else []
        if self.line:
            parts.append(_("line {line}").format(line=self.line))
        if self.key:
            parts.append(self.key)
        return ": ".join([*parts, self.message])

    def local(self) -> str:
        """The problem without its file name, for a list already headed by the file."""
        return str(Problem("", self.line, self.key, self.message))


class SchemaError(Exception):
    """A file cannot be used; `problems` lists every reason, in line order."""

    def __init__(self, problems: list[Problem], source: str = "") -> None:
        self.problems = sorted(problems, key=lambda p: p.line or 0)
        self.source = source
        super().__init__("; ".join(str(p) for p in self.problems))


class Section(BaseModel):
    """A table of a file: unknown keys are refused and values are never coerced (TOML `"25"`
    is not the number 25). Attribute assignment stays open, as for a dataclass."""

    model_config = ConfigDict(extra="forbid", strict=True)


class FrozenSection(Section):
    """A Section whose values cannot be changed after validation."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError(_("must not be empty"))
    return value


# Text with something in it besides spaces (pydantic's min_length counts spaces too).
NonBlank = Annotated[str, AfterValidator(_not_blank)]


def dotted(path: Iterable[str | int]) -> str:
    """`("steps", 2, "kind")` as `steps[2].kind`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _singular(name: str) -> str:
    """`steps` -> `step`, `entries` -> `entry`: what one item of a list of tables is called."""
    if name.endswith("ies"):
        return name[:-3] + "y"
    return name[:-1] if name.endswith("s") and not name.endswith("ss") else name


def _item(container: Any, index: int) -> Any:
    try:
        return container[index]
    except (IndexError, KeyError, TypeError):
        return None


def _child(container: Any, name: str) -> Any:
    if isinstance(container, Mapping):
        return container.get(name)
    return getattr(container, name, None)


def readable(path: Iterable[str | int], data: Any = None) -> str:
    """A key path as the person who wrote the file counts: `("steps", 0, "kind")` with the
    first step's `id = "welcome"` reads `step 1 (welcome).kind`, and without an id
    `step 1.kind` (the n-th `[[steps]]` table, from 1). `data` is the file's parsed tables
    (dicts and lists) or the validated model; an index it cannot find still counts from 1.
    """
    out = ""
    node = data
    for part in path:
        if isinstance(part, int):
            node = _item(node, part)
            name = out.rsplit(".", 1)[-1] if out else ""
            shown = f"{_singular(name)} {part + 1}" if name else str(part + 1)
            ident = _child(node, "id")
            if isinstance(ident, str) and ident.strip():
                shown += f" ({ident.strip()})"
            out = out[: len(out) - len(name)] + shown
        else:
            node = _child(node, part)
            out += f".{part}" if out else part
    return out


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*(\]\]?)\s*(#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
)


def _split_key(text: str) -> list[str]:
    return [
        p.strip().strip("\"'") for p in re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", text)
    ]


class Locator:
    """Finds the line of a key path in a TOML text.

    Table headers `[a.b]` and array-of-table headers `[[steps]]` are followed (the Nth
    `[[steps]]` is `steps[N-1]`, `[[steps.choices]]` belongs to the latest step); a key is the
    `key = ...` line inside its table. Multi-line strings are skipped so a line of a long text
    that happens to look like `id = ...` is not taken for a key. A path that is not written in
    the file (a missing key, an item of an inline array) falls back to its nearest written
    parent, so every problem gets a line a person can go to.
    """

    def __init__(self, text: str) -> None:
        self.lines: dict[Path_, int] = {}
        counts: dict[Path_, int] = {}
        table: Path_ = ()
        quote: str | None = None
        for number, line in enumerate(text.splitlines(), 1):
            if quote is not None:
                if line.count(quote) % 2 == 1:
                    quote = None
                continue
            header = _HEADER.match(line)
            if header and not _KEY.match(line):
                names = _split_key(header.group(2))
                table = (*self._resolve(names[:-1], counts), *names[-1:])
                if header.group(1) == "[[":
                    self.lines.setdefault(table, number)
                    index = counts.get(table, 0)
                    counts[table] = index + 1
                    table = (*table, index)
                self.lines.setdefault(table, number)
                continue
            key = _KEY.match(line)
            if key:
                path = (*table, *_split_key(key.group(1)))
                self.lines.setdefault(path, number)
                rest = line[key.end() :]
                for mark in ('"""', "'''"):
                    if rest.count(mark) % 2 == 1:
                        quote = mark
                        break

    @staticmethod
    def _resolve(names: list[str], counts: dict[Path_, int]) -> Path_:
        path: Path_ = ()
        for name in names:
            path = (*path, name)
            if path in counts:  # an array of tables: the latest one written so far
                path = (*path, counts[path] - 1)
        return path

    def line(self, path: Iterable[str | int]) -> int | None:
        """The line of `path`, else of its nearest written parent; None when nothing matches."""
        parts = tuple(path)
        while parts:
            if parts in self.lines:
                return self.lines[parts]
            parts = parts[:-1]
        return None


def _type_name(value: Any) -> str:
    return {
        bool: "the value",
        int: "whole number",
        float: "number",
        str: "text",
        list: "list",
        dict: "table",
        date: "date",
        datetime: "date and time",
        time: "time of day",
    }.get(type(value), type(value).__name__)


def toml_spelling(value: Any) -> str:
    """A parsed TOML value as it is written in the file: `true`, `2026-01-01`, `[1, "a"]`,
    `{ a = 1 }`, never Python's `True` or `datetime.date(2026, 1, 1)`. (Python ships a TOML
    reader only; this covers the short values a problem quotes.)"""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):  # a literal string 'like this' unless it holds a quote
        if "'" not in value and "\n" not in value:
            return f"'{value}'"
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, date | time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_spelling(v) for v in value) + "]"
    if isinstance(value, Mapping):
        inner = ", ".join(f"{k} = {toml_spelling(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    return str(value)


def _shown(value: Any) -> str:
    text = toml_spelling(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _model_at(root: type[BaseModel], path: Path_) -> Any:
    """The type of the value at `path` inside `root` (Any when it cannot be followed)."""
    tp: Any = root
    for part in path:
        if isinstance(part, int):
            args = get_args(tp)
            tp = args[0] if args else Any
            continue
        if isinstance(tp, type) and issubclass(tp, BaseModel) and part in tp.model_fields:
            tp = tp.model_fields[part].annotation
            while get_origin(tp) is not None and get_origin(tp) not in (list, tuple, dict):
                if get_origin(tp) is Annotated:
                    tp = get_args(tp)[0]
                    continue
                tp = next((a for a in get_args(tp) if a is not type(None)), Any)
        else:
            return Any
    return tp


def _fields_at(root: type[BaseModel], path: Path_) -> list[str]:
    """The keys a table at `path` (inside `root`) accepts, for "did you mean" hints."""
    tp = _model_at(root, path)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    return []


def _hint(root: type[BaseModel], loc: Path_) -> str:
    """What a missing key is for: its description, else the values it takes."""
    if not loc or not isinstance(loc[-1], str):
        return ""
    tp: Any = root
    if loc[:-1]:
        names = _fields_at(root, loc[:-1])
        if loc[-1] not in names:
            return ""
        tp = _model_at(root, loc[:-1])
    if not (isinstance(tp, type) and issubclass(tp, BaseModel)) or loc[-1] not in tp.model_fields:
        return ""
    info = tp.model_fields[loc[-1]]
    if info.description:
        return f"; {info.description}"
    if get_origin(info.annotation) is Literal:
        return "; " + _("use one of {values}").format(
            values=", ".join(str(a) for a in get_args(info.annotation))
        )
    return ""


def message_for(error: ErrorDetails, known: list[str]) -> str:
    """Pydantic's error in the words of someone editing a TOML file."""
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    value = error.get("input")
    got = _("got {kind} {value}").format(kind=_type_name(value), value=_shown(value))
    if kind in ("missing", "missing_argument"):
        return _("is required")
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        key = str(error["loc"][-1]) if error["loc"] else ""
        close = difflib.get_close_matches(key, known, n=1)
        if close:
            return _("unknown key (did you mean `{close}`?)").format(close=close[0])
        if known:
            return _("unknown key; known keys: {keys}").format(keys=", ".join(known))
        return _("unknown key")
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", error["msg"])).removeprefix("Value error, ")
    simple = {
        "int_type": _("must be a whole number, {got}"),
        "int_from_float": _("must be a whole number, {got}"),
        "float_type": _("must be a number, {got}"),
        "bool_type": _("must be true or false, {got}"),
        "string_type": _("must be text, {got}"),
        "list_type": _("must be a list, {got}"),
        "tuple_type": _("must be a list, {got}"),
        "dict_type": _("must be a table, {got}"),
        "model_type": _("must be a table, {got}"),
        "model_attributes_type": _("must be a table, {got}"),
        "date_type": _("must be a date like 2026-06-02, {got}"),
        "literal_error": _("must be one of {expected}, {got}"),
        "enum": _("must be one of {expected}, {got}"),
        "string_too_short": _("must not be empty"),
        "string_too_long": _("is {length} characters; at most {max_length}"),
        "too_short": _("needs at least {min_length} {noun}"),
        "too_long": _("has {actual} {noun}; at most {max_length}"),
        "greater_than": _("must be more than {gt}, not {value}"),
        "greater_than_equal": _("must be at least {ge}, not {value}"),
        "less_than": _("must be less than {lt}, not {value}"),
        "less_than_equal": _("must be at most {le}, not {value}"),
    }
    if kind in ("too_short", "too_long") and isinstance(value, str):
        kind = "string_" + kind  # a constraint applied after a validator reports it generically
        ctx.setdefault("min_length", ctx.get("min_length", 1))
    template = simple.get(kind)
    if template is None:
        return str(error["msg"])
    if kind == "string_too_short" and ctx.get("min_length", 1) > 1:
        template = _("must be at least {min_length} characters")
    if kind in ("too_short", "too_long"):
        last = error["loc"][-1] if error["loc"] else ""
        ctx["noun"] = last if isinstance(last, str) else _("items")
        ctx["actual"] = f"{len(value):,}" if isinstance(value, list | tuple | str) else "?"
    length = len(value) if isinstance(value, str) else ""
    return template.format(
        got=got, length=length, value=_number(value), **{k: _number(v) for k, v in ctx.items()}
    )


def _number(value: Any) -> str:
    """`5.0` as `5`, other values as they are."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@lru_cache(maxsize=64)
def _adapter(tp: Any) -> TypeAdapter[Any]:
    return TypeAdapter(tp)


def problems_from(
    exc: ValidationError,
    root: type[BaseModel] | None,
    file: str,
    locator: Locator | None = None,
    prefix: Path_ = (),
    data: Any = None,
) -> list[Problem]:
    """Each pydantic error as a Problem; `prefix` is where the validated table sits.

    With `data` (what was validated), keys count list items from 1 and name them by their id
    (`readable`); without it they read `steps[0].kind` (`dotted`)."""
    out: list[Problem] = []
    for error in exc.errors():
        loc: Path_ = tuple(p for p in error["loc"] if isinstance(p, str | int))
        if error["type"] in ("value_error", "assertion_error") and loc and loc[-1] == "__root__":
            loc = loc[:-1]
        path = (*prefix, *loc)
        known = _fields_at(root, loc[:-1]) if root is not None else []
        message = message_for(error, known)
        if error["type"] in ("missing", "missing_argument") and root is not None:
            message += _hint(root, loc)
        key = dotted(path) if data is None else readable(loc, data)
        if data is not None and prefix:
            where = readable(prefix)
            ident = _child(data, "id") if isinstance(prefix[-1], int) else None
            if isinstance(ident, str) and ident.strip():
                where += f" ({ident.strip()})"
            key = ".".join(k for k in (where, key) if k)
        out.append(Problem(file, locator.line(path) if locator else None, key, message))
    return out


def validate(
    model: type[M],
    data: Mapping[str, Any],
    *,
    file: str,
    locator: Locator | None = None,
    prefix: Path_ = (),
) -> tuple[M | None, list[Problem]]:
    """`data` as `model`, or None and every problem found (file, line, key, message)."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, problems_from(exc, model, file, locator, prefix, data)


def _without(data: Any, path: Path_) -> Any:
    """A copy of `data` without the value at `path` (used to keep checking what is left)."""
    if not path:
        return data
    head, rest = path[0], path[1:]
    if isinstance(data, dict) and head in data:
        copy = dict(data)
        if rest:
            copy[head] = _without(copy[head], rest)
        else:
            del copy[head]
        return copy
    if isinstance(data, list) and isinstance(head, int) and 0 <= head < len(data):
        items = list(data)
        if rest:
            items[head] = _without(items[head], rest)
        else:
            del items[head]
        return items
    return data


def validate_partial(
    model: type[M],
    data: Mapping[str, Any],
    *,
    file: str,
    locator: Locator | None = None,
) -> tuple[M | None, list[Problem]]:
    """Like `validate`, but with problems the model is still built from the values that
    passed (defaults stand in for the others), so checks that follow can report theirs too."""
    value, problems = validate(model, data, file=file, locator=locator)
    remaining: Any = dict(data)
    for _attempt in range(len(problems) + 5):
        if value is not None or not problems:
            break
        try:
            value = model.model_validate(remaining)
        except ValidationError as exc:
            for error in exc.errors():
                loc = tuple(p for p in error["loc"] if isinstance(p, str | int))
                missing = error["type"] in ("missing", "missing_argument")
                remaining = _without(remaining, loc[:-1] if missing else loc)
                if not loc or (missing and len(loc) == 1):
                    return None, problems
    return value, problems


def syntax_problem(exc: tomllib.TOMLDecodeError, file: str) -> Problem:
    """A TOML syntax error as a Problem on the line tomllib names."""
    found = re.search(r"at line (\d+)", str(exc))
    line = int(found.group(1)) if found else None
    message = _("this is not valid TOML ({error}).").format(error=str(exc))
    return Problem(file, line, "", message)


def load_toml(
    model: type[M], text: str, *, file: str
) -> tuple[M | None, list[Problem], Locator | None]:
    """Parse and validate one TOML text; a syntax error is one problem with its line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return None, [syntax_problem(exc, file)], None
    locator = Locator(text)
    value, problems = validate(model, data, file=file, locator=locator)
    return value, problems, locator


def value_as(tp: Any, value: Any) -> Any:
    """`value` validated as the type `tp` (a list of str, say); ValidationError otherwise."""
    return _adapter(tp).validate_python(value, strict=True)
