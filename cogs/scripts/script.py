"""Meeting scripts as data: parse a TOML script, report every problem with its line, render.

The file's shape is `ScriptFile` (bot.schema: pydantic finds the problems, the locator gives
each its line and key).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Formatter
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, Field, model_validator

from bot.core import (
    FrozenSection,
    Locator,
    NonBlank,
    Part,
    Problem,
    SchemaError,
    _,
    fill_parts,
    load_toml,
    readable,
)

Kind = Literal[
    "read_aloud", "round_robin", "facilitator_choice", "open_discussion", "announcement"
]
KINDS: tuple[str, ...] = get_args(Kind)
PLACEHOLDERS = ("meeting", "facilitator", "next_meeting", "crisis_line", "community")
MAX_STEPS = 200
MAX_STEP_TEXT = 1900  # a chat message holds 2,000 characters; leave room for the step heading
MAX_PROMPT = 300
MAX_PROMPTS = 10
MAX_TITLE = 100
MAX_DESCRIPTION = 300
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
STEP_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


class ScriptError(SchemaError):
    """A script could not be used; `problems` lists everything found, in line order."""


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


def _check_text(text: str) -> str:
    """Only the known placeholders, and braces doubled where meant literally."""
    try:
        parsed = list(Formatter().parse(text))
    except ValueError:
        raise ValueError(
            _("a lone {{ or }}; write {{{{ or }}}} for a literal brace.").format()
        ) from None
    known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
    for _lit, field, spec, conv in parsed:
        if field is None:
            continue
        if field not in PLACEHOLDERS or spec or conv:
            shown = "{" + field + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
            raise ValueError(
                _("unknown placeholder {shown}; known ones are {known}.").format(
                    shown=shown, known=known
                )
            )
    return text


def _check_name(pattern: re.Pattern[str], example: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(
                _("use 1-32 lower-case letters, digits, - or _ (e.g. {example}).").format(
                    example=example
                )
            )
        return value

    return AfterValidator(check)


Text = Annotated[NonBlank, AfterValidator(_check_text)]
PromptText = Annotated[
    str, Field(min_length=1, max_length=MAX_PROMPT), AfterValidator(_check_text)
]


class StepTable(FrozenSection):
    """One `[[steps]]` table as written."""

    id: Annotated[str, _check_name(STEP_ID_RE, 'id = "check_in"')]
    title: str = Field("", max_length=MAX_TITLE)
    kind: Kind
    minutes: float = Field(0, ge=0, le=600)
    cross_talk: bool | None = None
    text: Text = Field(description=_("it is what the bot posts for this step"))
    prompts: list[PromptText] = Field(default_factory=list, max_length=MAX_PROMPTS)

    @model_validator(mode="after")
    def _fits_one_message(self) -> StepTable:
        length = len(self.text) + sum(len(p) for p in self.prompts)
        if length > MAX_STEP_TEXT:
            raise ValueError(
                _(
                    "text and prompts are {length} characters; the limit is {limit} "
                    "so the step fits in one chat message. Split it into two steps."
                ).format(length=f"{length:,}", limit=f"{MAX_STEP_TEXT:,}")
            )
        return self


class ScriptFile(FrozenSection):
    """A whole script file as written."""

    name: Annotated[str, _check_name(NAME_RE, 'name = "tuesday-evening"')]
    title: NonBlank = Field(max_length=MAX_TITLE)
    description: str = Field("", max_length=MAX_DESCRIPTION)
    minutes: float = Field(gt=0, le=600, description=_("the meeting's length in minutes"))
    steps: list[StepTable] = Field(
        min_length=1, max_length=MAX_STEPS, description=_("add at least one [[steps]] table")
    )


def parse_script(source: str, *, builtin: bool = False, file: str = "") -> Script:
    """Validate a script's TOML text; raises ScriptError listing every problem with its line
    and key (`file` names the file in each problem, when there is one)."""
    data, problems, locator = load_toml(ScriptFile, source, file=file)
    if data is not None and locator is not None:
        seen: set[str] = set()
        for index, step in enumerate(data.steps):
            if step.id in seen:
                where = ("steps", index, "id")
                message = _("the id is used by an earlier step.")
                problems.append(Problem(file, locator.line(where), readable(where, data), message))
            seen.add(step.id)
    if data is None or problems:
        raise ScriptError(problems)
    return Script(
        name=data.name,
        title=data.title.strip(),
        description=data.description.strip(),
        minutes=data.minutes,
        steps=tuple(
            ScriptStep(
                id=step.id,
                title=step.title or step.id.replace("_", " ").replace("-", " ").capitalize(),
                kind=step.kind,
                minutes=step.minutes,
                cross_talk=(
                    step.kind == "open_discussion" if step.cross_talk is None else step.cross_talk
                ),
                text=step.text.strip(),
                prompts=tuple(step.prompts),
            )
            for step in data.steps
        ),
        source=source,
        builtin=builtin,
    )


def load_directory(directory: Path) -> tuple[dict[str, Script], list[str]]:
    """Every valid script in `directory`; broken files are reported and skipped."""
    scripts: dict[str, Script] = {}
    problems: list[str] = []
    for path in sorted(directory.glob("*.toml")):
        try:
            script = parse_script(path.read_text(encoding="utf-8"), builtin=True, file=path.name)
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path.name}: {exc}")
            continue
        except ScriptError as exc:
            problems.extend(str(p) for p in exc.problems)
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
    return fill_parts(text, values)


def name_like(text: str) -> str:
    """The script name closest to what a person typed (`Our circle` -> `our-circle`, accents
    dropped), or "" when nothing usable is left; always matches `NAME_RE` when not empty."""
    plain = (
        unicodedata.normalize("NFKD", text.casefold()).encode("ascii", "ignore").decode("ascii")
    )
    words = re.sub(r"[^a-z0-9_-]+", "-", plain.lower()).strip("-_")
    return words[:32].rstrip("-_")


def rename(source: str, new_name: str) -> str:
    """The same script source under another `name` (for `script copy`)."""
    pattern = re.compile(r"^(\s*name\s*=\s*)(\"[^\"\n]*\"|'[^'\n]*')", re.MULTILINE)
    line = Locator(source).lines.get(("name",))
    if line is None:
        return f'name = "{new_name}"\n' + source
    rows = source.split("\n")
    rows[line - 1] = pattern.sub(lambda m: f'{m.group(1)}"{new_name}"', rows[line - 1], count=1)
    return "\n".join(rows)
