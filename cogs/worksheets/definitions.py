"""Worksheet definitions read from data/worksheets/*.toml and checked before the bot uses them.

A broken file is reported (file, line, key, problem) and left out; the others still load, so one
typo never keeps the bot from starting. The shape is `WorksheetFile` (bot.schema).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from bot.core import (
    END,
    AnswerKind,
    Choice,
    FrozenSection,
    Locator,
    NonBlank,
    Problem,
    load_toml,
    readable,
    validate,
)

TAGS = ("motivation", "urges", "problem_solving", "balance")
STAGES = (
    "precontemplation",
    "contemplation",
    "preparation",
    "action",
    "maintenance",
    "lapse",
    "graduation",
)
CHECKS = ("minutes", "past")  # named validators a step may ask for with `check = "..."`
ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,23}$")  # short enough for `worksheet.X.edit.Y` ids
MAX_STEPS = 40
MAX_BUTTONS = 25
MAX_LABEL = 80


@dataclass(frozen=True)
class StepDef:
    """One question as written in the data file."""

    id: str
    prompt: str
    kind: AnswerKind
    required: bool
    low: int
    high: int
    choices: tuple[Choice, ...]
    hint: str
    branches: dict[str, str]
    long: bool
    terms: bool  # list items may be marked `short:` or `long:`
    check: str

    def label(self, value: str) -> str:
        """The label of a choice value (the value itself when unknown)."""
        return next((c.display for c in self.choices if c.value == value), value)


@dataclass(frozen=True)
class Flags:
    """Words worth pointing out in some answers (absolutes in ABC beliefs)."""

    steps: tuple[str, ...]
    words: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class Worksheet:
    """A self-management tool: metadata for finding it and the questions it asks."""

    id: str
    title: str
    summary: str
    tags: tuple[str, ...]
    stages: tuple[str, ...]
    intro: str
    steps: tuple[StepDef, ...]
    flags: Flags | None = None
    suggest_from: str = ""  # a choice step whose answer is a stage; tools for it are suggested

    @property
    def dialogue_id(self) -> str:
        """The dialogue id the dialogue engine knows this worksheet by."""
        return f"worksheet.{self.id}"

    def step(self, step_id: str) -> StepDef | None:
        """The step with this id, if any."""
        return next((s for s in self.steps if s.id == step_id), None)


def _check_id(value: str) -> str:
    if not ID_RE.match(value):
        raise ValueError("use 1-24 lower-case letters, digits or _, starting with a letter")
    return value


def _check_name(value: str) -> str:
    if value and value not in CHECKS:
        raise ValueError(f"unknown check {value!r}; known: {', '.join(CHECKS)}")
    return value


SheetId = Annotated[str, AfterValidator(_check_id)]
KindName = Literal["text", "list", "scale", "choice", "datetime"]  # AnswerKind's values
Tag = Literal["motivation", "urges", "problem_solving", "balance"]
Stage = Literal[
    "precontemplation",
    "contemplation",
    "preparation",
    "action",
    "maintenance",
    "lapse",
    "graduation",
]


class ChoiceTable(FrozenSection):
    """One `{ value, label }` of a choice step."""

    value: str = Field(min_length=1, max_length=100)
    label: str = Field("", max_length=MAX_LABEL)


class StepTable(FrozenSection):
    """One `[[steps]]` table as written."""

    id: SheetId
    prompt: NonBlank
    kind: KindName = "text"
    required: bool = True
    low: int = 0
    high: int = 10
    choices: list[ChoiceTable] | None = Field(None, min_length=1, max_length=MAX_BUTTONS)
    hint: str = ""
    branches: dict[str, str] = Field(default_factory=dict)
    long: bool = False
    terms: bool = False
    check: Annotated[str, AfterValidator(_check_name)] = ""


class FlagsTable(FrozenSection):
    """`[flags]`: words worth pointing out in the answers of some steps."""

    steps: list[str] = Field(default_factory=list)
    words: list[NonBlank] = Field(min_length=1)
    note: NonBlank


class WorksheetFile(FrozenSection):
    """A worksheet file as written."""

    id: SheetId
    title: NonBlank = Field(max_length=100)
    summary: str = Field("", max_length=200)
    intro: str = Field("", max_length=1500)
    tags: list[Tag] = Field(min_length=1)
    stages: list[Stage] = Field(default_factory=list)
    steps: list[StepTable] = Field(min_length=1, max_length=MAX_STEPS)
    flags: FlagsTable | None = None
    suggest_from: str = ""


def load_all(directory: Path) -> tuple[dict[str, Worksheet], list[Problem]]:
    """Every valid worksheet in `directory` by id, and the problems of the others."""
    found: dict[str, Worksheet] = {}
    problems: list[Problem] = []
    if not directory.is_dir():
        return found, [Problem(str(directory), None, "", "folder not found")]
    for path in sorted(directory.glob("*.toml")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(path.name, None, "", f"cannot be read: {exc}"))
            continue
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            problems.extend(load_toml(WorksheetFile, text, file=path.name)[1])
            continue
        locator = Locator(text)
        sheet, found_problems = parse(data, path.name, locator)
        if sheet is not None and sheet.id in found:
            line = locator.line(("id",))
            found_problems.append(Problem(path.name, line, "id", f"{sheet.id!r} is used twice"))
        if found_problems or sheet is None:
            problems.extend(found_problems)
            continue
        found[sheet.id] = sheet
    return found, problems


def parse(
    data: dict[str, Any], file: str, locator: Locator | None = None
) -> tuple[Worksheet | None, list[Problem]]:
    """Check one parsed file; the worksheet only when nothing is wrong.

    The shape is `WorksheetFile`'s (pydantic); the rules that tie keys together (the id is the
    file name, branches lead to steps, a choice step has choices...) are `_rules`."""
    checked, problems = validate(WorksheetFile, data, file=file, locator=locator)
    if checked is None:
        return None, problems
    for path, message in _rules(checked, Path(file).stem):
        line = locator.line(path) if locator else None
        problems.append(Problem(file, line, readable(path, data), message))
    if problems:
        return None, problems
    steps = tuple(_step(step) for step in checked.steps)
    flags = checked.flags
    return (
        Worksheet(
            id=checked.id,
            title=checked.title.strip(),
            summary=checked.summary.strip(),
            tags=tuple(checked.tags),
            stages=tuple(checked.stages),
            intro=checked.intro.strip(),
            steps=steps,
            flags=(
                Flags(
                    tuple(flags.steps), tuple(w.lower() for w in flags.words), flags.note.strip()
                )
                if flags is not None
                else None
            ),
            suggest_from=checked.suggest_from.strip(),
        ),
        problems,
    )


Rule = tuple[tuple[str | int, ...], str]  # (key path, problem)


def _rules(sheet: WorksheetFile, stem: str) -> list[Rule]:
    """Rules that span keys, which a schema of one value at a time cannot state."""
    found: list[Rule] = []
    if sheet.id != stem:
        found.append((("id",), f"must match the file name ({stem!r})"))
    ids = [step.id for step in sheet.steps]
    for index, step in enumerate(sheet.steps):
        if step.id in ids[:index]:
            found.append((("steps", index, "id"), f"{step.id!r} is used twice"))
        found.extend(
            ((("steps", index, *path), message) for path, message in _step_rules(step, ids))
        )
    if sheet.flags is not None and not all(s in ids for s in sheet.flags.steps):
        found.append((("flags", "steps"), "must list ids of this worksheet's steps"))
    if sheet.suggest_from:
        source = next((s for s in sheet.steps if s.id == sheet.suggest_from), None)
        if source is None or source.kind != "choice":
            found.append((("suggest_from",), "must name a choice step"))
        elif any(c.value not in STAGES for c in source.choices or ()):
            found.append(
                (
                    ("suggest_from",),
                    f"the step's choice values must be stages: {', '.join(STAGES)}",
                )
            )
    return found


def _step_rules(step: StepTable, ids: list[str]) -> list[Rule]:
    found: list[Rule] = []
    if step.kind == "scale" and not (step.low < step.high and step.high - step.low < MAX_BUTTONS):
        found.append((("high",), f"needs low < high and at most {MAX_BUTTONS} values"))
    if step.kind == "choice" and step.choices is None:
        found.append((("choices",), "a choice step needs choices"))
    if step.kind != "choice" and step.choices is not None:
        found.append((("choices",), "only choice steps take choices"))
    values = [c.value for c in step.choices or ()]
    for index, value in enumerate(values):
        if value in values[:index]:
            found.append((("choices", index, "value"), f"{value!r} is used twice"))
    for answer, target in step.branches.items():
        if step.kind != "choice" or answer not in values:
            found.append(
                (("branches", answer), "branches are keyed by the choice values of this step")
            )
        if target != "end" and target not in ids:
            found.append((("branches", answer), f'unknown step {target!r} (or use "end")'))
    if step.terms and step.kind != "list":
        found.append((("terms",), "only list steps can mark items short- or long-term"))
    return found


def _step(step: StepTable) -> StepDef:
    return StepDef(
        id=step.id,
        prompt=step.prompt.strip(),
        kind=AnswerKind(step.kind),
        required=step.required,
        low=step.low,
        high=step.high,
        choices=tuple(Choice(c.value, c.label) for c in step.choices or ()),
        hint=step.hint.strip(),
        branches={k: END if v == "end" else v for k, v in step.branches.items()},
        long=step.long,
        terms=step.terms,
        check=step.check,
    )


def _flags(flags: FlagsTable | None) -> Flags | None:
    if flags is None:
        return None
    return Flags(tuple(flags.steps), tuple(w.lower() for w in flags.words), flags.note.strip())
