"""Meeting scripts as data: parse a TOML script, report every problem with its line, render.

tomllib gives line numbers only for syntax errors, so values are located by a small line-aware
scan of the source: the Nth `[[steps]]` header starts step N, and a key is the first
`key = ...` line inside that block.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Formatter
from typing import Any

from bot.core import Part, _

KINDS = ("read_aloud", "round_robin", "facilitator_choice", "open_discussion", "announcement")
PLACEHOLDERS = ("meeting", "facilitator", "next_meeting", "crisis_line", "community")
MAX_STEPS = 200
MAX_STEP_TEXT = 1900  # a chat message holds 2,000 characters; leave room for the step heading
MAX_PROMPT = 300
MAX_PROMPTS = 10
MAX_TITLE = 100
MAX_DESCRIPTION = 300
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
STEP_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
TOP_KEYS = ("name", "title", "description", "minutes", "steps")
STEP_KEYS = ("id", "title", "kind", "minutes", "cross_talk", "text", "prompts")
_STEPS_HEADER = re.compile(r"^\s*\[\[\s*steps\s*\]\]\s*(#.*)?$")
_ANY_HEADER = re.compile(r"^\s*\[\[?\s*[A-Za-z0-9_.\-\"' ]+\s*\]\]?\s*(#.*)?$")
_TOML_LINE = re.compile(r"at line (\d+)")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a script, with the source line when it can be found."""

    line: int | None
    message: str

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        return _("line {line}: {message}").format(line=self.line, message=self.message)


class ScriptError(Exception):
    """A script could not be used; `problems` lists everything found, in line order."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class ScriptStep:
    """One part of a meeting."""

    id: str
    title: str
    kind: str
    minutes: float
    cross_talk: bool
    text: str
    prompts: tuple[str, ...] = ()

    @property
    def has_queue(self) -> bool:
        """Steps where members raise hands and take turns."""
        return self.kind in ("round_robin", "open_discussion")


@dataclass(frozen=True)
class Script:
    """A whole meeting, as the facilitator runs it."""

    name: str
    title: str
    description: str
    minutes: float
    steps: tuple[ScriptStep, ...]
    source: str
    builtin: bool = False

    def index_of(self, ref: str) -> int | None:
        """A step by its id or its 1-based number."""
        ref = ref.strip().lower()
        for i, step in enumerate(self.steps):
            if step.id == ref:
                return i
        if ref.isdigit() and 1 <= int(ref) <= len(self.steps):
            return int(ref) - 1
        return None


class _Lines:
    """Finds the source line of a top-level key or of a key inside the Nth `[[steps]]`."""

    def __init__(self, source: str) -> None:
        self.lines = source.splitlines()
        self.headers = [i for i, line in enumerate(self.lines) if _ANY_HEADER.match(line)]
        self.steps = [i for i in self.headers if _STEPS_HEADER.match(self.lines[i])]

    def _find(self, key: str, start: int, end: int) -> int | None:
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for i in range(start, min(end, len(self.lines))):
            if pattern.match(self.lines[i]):
                return i + 1
        return None

    def top(self, key: str) -> int | None:
        """Line of a top-level key (before the first table header)."""
        end = self.headers[0] if self.headers else len(self.lines)
        return self._find(key, 0, end)

    def step(self, index: int, key: str | None = None) -> int | None:
        """Line of step `index` (its header), or of `key` inside it."""
        if index >= len(self.steps):
            return self.top("steps")
        start = self.steps[index]
        if key is None:
            return start + 1
        end = next((h for h in self.headers if h > start), len(self.lines))
        return self._find(key, start + 1, end) or start + 1


def _check_text(text: str, where: str, line: int | None, problems: list[Problem]) -> None:
    try:
        parsed = list(Formatter().parse(text))
    except ValueError:
        problems.append(
            Problem(
                line,
                _("{where}: a lone {{ or }}; write {{{{ or }}}} for a literal brace.").format(
                    where=where
                ),
            )
        )
        return
    known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
    for _lit, field, spec, conv in parsed:
        if field is None:
            continue
        if field not in PLACEHOLDERS or spec or conv:
            shown = "{" + field + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
            problems.append(
                Problem(
                    line,
                    _("{where}: unknown placeholder {shown}; known ones are {known}.").format(
                        where=where, shown=shown, known=known
                    ),
                )
            )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_step(
    raw: Any, index: int, lines: _Lines, seen: set[str], problems: list[Problem]
) -> ScriptStep | None:
    number = index + 1
    if not isinstance(raw, dict):
        problems.append(
            Problem(lines.step(index), _("step {n} must be a [[steps]] table.").format(n=number))
        )
        return None
    before = len(problems)
    step_id = raw.get("id")
    where = _("step {n}").format(n=number)
    if not isinstance(step_id, str) or not STEP_ID_RE.match(step_id):
        problems.append(
            Problem(
                lines.step(index, "id"),
                _(
                    "{where}: `id` must be 1-32 lower-case letters, digits, - or _ "
                    '(e.g. id = "check_in").'
                ).format(where=where),
            )
        )
    else:
        where = _("step `{id}`").format(id=step_id)
        if step_id in seen:
            problems.append(
                Problem(
                    lines.step(index, "id"),
                    _("{where}: the id is used by an earlier step.").format(where=where),
                )
            )
        seen.add(step_id)
    for key in raw:
        if key not in STEP_KEYS:
            problems.append(
                Problem(
                    lines.step(index, key),
                    _("{where}: unknown key `{key}`; known keys are {keys}.").format(
                        where=where, key=key, keys=", ".join(STEP_KEYS)
                    ),
                )
            )
    kind = raw.get("kind")
    if kind is None:
        problems.append(
            Problem(
                lines.step(index),
                _("{where}: `kind` is missing; use one of {kinds}.").format(
                    where=where, kinds=", ".join(KINDS)
                ),
            )
        )
    elif kind not in KINDS:
        problems.append(
            Problem(
                lines.step(index, "kind"),
                _("{where}: unknown kind `{kind}`; use one of {kinds}.").format(
                    where=where, kind=kind, kinds=", ".join(KINDS)
                ),
            )
        )
    minutes = raw.get("minutes", 0)
    if not _is_number(minutes) or minutes < 0 or minutes > 600:
        problems.append(
            Problem(
                lines.step(index, "minutes"),
                _("{where}: `minutes` must be a number from 0 to 600, not {value}.").format(
                    where=where, value=minutes
                ),
            )
        )
    cross_talk = raw.get("cross_talk", kind == "open_discussion")
    if not isinstance(cross_talk, bool):
        problems.append(
            Problem(
                lines.step(index, "cross_talk"),
                _("{where}: `cross_talk` must be true or false.").format(where=where),
            )
        )
    title = raw.get("title", "")
    if not isinstance(title, str) or len(title) > MAX_TITLE:
        problems.append(
            Problem(
                lines.step(index, "title"),
                _("{where}: `title` must be text of at most {n} characters.").format(
                    where=where, n=MAX_TITLE
                ),
            )
        )
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        problems.append(
            Problem(
                lines.step(index, "text"),
                _("{where}: `text` is missing; it is what the bot posts for this step.").format(
                    where=where
                ),
            )
        )
        text = ""
    else:
        _check_text(text, where, lines.step(index, "text"), problems)
    prompts = raw.get("prompts", [])
    if (
        not isinstance(prompts, list)
        or len(prompts) > MAX_PROMPTS
        or not all(isinstance(p, str) and 0 < len(p) <= MAX_PROMPT for p in prompts)
    ):
        problems.append(
            Problem(
                lines.step(index, "prompts"),
                _(
                    "{where}: `prompts` must be a list of up to {n} texts of {m} characters."
                ).format(where=where, n=MAX_PROMPTS, m=MAX_PROMPT),
            )
        )
        prompts = []
    else:
        for prompt in prompts:
            _check_text(prompt, where, lines.step(index, "prompts"), problems)
    length = len(text) + sum(len(p) for p in prompts)
    if length > MAX_STEP_TEXT:
        problems.append(
            Problem(
                lines.step(index, "text"),
                _(
                    "{where}: text and prompts are {length} characters; the limit is {limit} "
                    "so the step fits in one chat message. Split it into two steps."
                ).format(where=where, length=f"{length:,}", limit=f"{MAX_STEP_TEXT:,}"),
            )
        )
    if len(problems) > before:
        return None
    return ScriptStep(
        id=str(step_id),
        title=title or str(step_id).replace("_", " ").replace("-", " ").capitalize(),
        kind=str(kind),
        minutes=float(minutes),
        cross_talk=bool(cross_talk),
        text=text.strip(),
        prompts=tuple(prompts),
    )


def parse_script(source: str, *, builtin: bool = False) -> Script:
    """Validate a script's TOML text; raises ScriptError listing every problem with its line."""
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_LINE.search(str(exc))
        raise ScriptError(
            [
                Problem(
                    int(found.group(1)) if found else None,
                    _("this is not valid TOML ({error}).").format(error=str(exc)),
                )
            ]
        ) from None
    lines = _Lines(source)
    problems: list[Problem] = []
    for key in data:
        if key not in TOP_KEYS:
            problems.append(
                Problem(
                    lines.top(key),
                    _("unknown key `{key}`; known keys are {keys}.").format(
                        key=key, keys=", ".join(TOP_KEYS)
                    ),
                )
            )
    name = data.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        problems.append(
            Problem(
                lines.top("name"),
                _(
                    "`name` must be 1-32 lower-case letters, digits, - or _ "
                    '(e.g. name = "tuesday-evening").'
                ),
            )
        )
    title = data.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
        problems.append(
            Problem(
                lines.top("title"),
                _("`title` must be text of 1-{n} characters.").format(n=MAX_TITLE),
            )
        )
    description = data.get("description", "")
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        problems.append(
            Problem(
                lines.top("description"),
                _("`description` must be text of at most {n} characters.").format(
                    n=MAX_DESCRIPTION
                ),
            )
        )
    minutes: Any = data.get("minutes")
    if not _is_number(minutes) or not 0 < minutes <= 600:
        problems.append(
            Problem(
                lines.top("minutes"),
                _("`minutes` (the meeting's length) must be a number from 1 to 600."),
            )
        )
    raw_steps = data.get("steps")
    steps: list[ScriptStep] = []
    if not isinstance(raw_steps, list) or not raw_steps:
        problems.append(
            Problem(
                lines.top("steps"),
                _("the script has no steps; add at least one [[steps]] table."),
            )
        )
    elif len(raw_steps) > MAX_STEPS:
        problems.append(
            Problem(
                lines.step(MAX_STEPS),
                _("the script has {n} steps; a script can have at most {max}.").format(
                    n=f"{len(raw_steps):,}", max=MAX_STEPS
                ),
            )
        )
    else:
        seen: set[str] = set()
        for index, raw in enumerate(raw_steps):
            step = _check_step(raw, index, lines, seen, problems)
            if step is not None:
                steps.append(step)
    if problems:
        raise ScriptError(sorted(problems, key=lambda p: p.line or 0))
    return Script(
        name=str(name),
        title=str(title).strip(),
        description=str(description).strip(),
        minutes=float(minutes),
        steps=tuple(steps),
        source=source,
        builtin=builtin,
    )


def load_directory(directory: Path) -> tuple[dict[str, Script], list[str]]:
    """Every valid script in `directory`; broken files are reported and skipped."""
    scripts: dict[str, Script] = {}
    problems: list[str] = []
    for path in sorted(directory.glob("*.toml")):
        try:
            script = parse_script(path.read_text(encoding="utf-8"), builtin=True)
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path.name}: {exc}")
            continue
        except ScriptError as exc:
            problems.extend(f"{path.name}: {p}" for p in exc.problems)
            continue
        if script.name in scripts:
            problems.append(
                f"{path.name}: the name {script.name!r} is already used by another script"
            )
            continue
        scripts[script.name] = script
    return scripts, problems


def render(text: str, values: Mapping[str, Sequence[Part]]) -> list[Part]:
    """Fill placeholders; a value may hold `When` parts so times show in each reader's zone."""
    parts: list[Part] = []
    for literal, field, _spec, _conv in Formatter().parse(text):
        if literal:
            parts.append(literal)
        if field is not None:
            parts.extend(values.get(field, ()))
    return parts


def rename(source: str, new_name: str) -> str:
    """The same script source under another `name` (for `script copy`)."""
    pattern = re.compile(r"^(\s*name\s*=\s*)(\"[^\"\n]*\"|'[^'\n]*')", re.MULTILINE)
    lines = _Lines(source)
    line = lines.top("name")
    if line is None:
        return f'name = "{new_name}"\n' + source
    rows = source.split("\n")
    rows[line - 1] = pattern.sub(lambda m: f'{m.group(1)}"{new_name}"', rows[line - 1], count=1)
    return "\n".join(rows)
