"""Worksheet definitions read from data/worksheets/*.toml and checked before the bot uses them.

A broken file is reported (file, field, problem) and left out; the others still load, so one
typo never keeps the bot from starting.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core import END, AnswerKind, Choice

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
TOP_KEYS = {"id", "title", "summary", "tags", "stages", "intro", "steps", "flags", "suggest_from"}
STEP_KEYS = {
    "id",
    "prompt",
    "kind",
    "required",
    "low",
    "high",
    "choices",
    "hint",
    "branches",
    "long",
    "terms",
    "check",
}
MAX_STEPS = 40
MAX_BUTTONS = 25
MAX_LABEL = 80

Report = Callable[[str, str], None]  # (field, problem)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file, precise enough to fix without guessing."""

    file: str
    where: str
    message: str

    def __str__(self) -> str:
        where = f" {self.where}:" if self.where else ""
        return f"{self.file}:{where} {self.message}"


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
    def flow_id(self) -> str:
        """The dialogue id the conversation engine knows this worksheet by."""
        return f"worksheet.{self.id}"

    def step(self, step_id: str) -> StepDef | None:
        """The step with this id, if any."""
        return next((s for s in self.steps if s.id == step_id), None)


def load_all(directory: Path) -> tuple[dict[str, Worksheet], list[Problem]]:
    """Every valid worksheet in `directory` by id, and the problems of the others."""
    found: dict[str, Worksheet] = {}
    problems: list[Problem] = []
    if not directory.is_dir():
        return found, [Problem(str(directory), "", "folder not found")]
    for path in sorted(directory.glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(path.name, "", f"cannot be read: {exc}"))
            continue
        except tomllib.TOMLDecodeError as exc:
            problems.append(Problem(path.name, "", f"is not valid TOML: {exc}"))
            continue
        sheet, found_problems = parse(data, path.name)
        if sheet is not None and sheet.id in found:
            found_problems.append(Problem(path.name, "id", f"{sheet.id!r} is used twice"))
        if found_problems or sheet is None:
            problems.extend(found_problems)
            continue
        found[sheet.id] = sheet
    return found, problems


def parse(data: dict[str, Any], file: str) -> tuple[Worksheet | None, list[Problem]]:
    """Check one parsed file; the worksheet only when nothing is wrong."""
    problems: list[Problem] = []

    def bad(where: str, message: str) -> None:
        problems.append(Problem(file, where, message))

    for key in sorted(set(data) - TOP_KEYS):
        bad(key, f"unknown key; known keys: {', '.join(sorted(TOP_KEYS))}")
    sheet_id = _text(data, "id", bad, required=True)
    if sheet_id and not ID_RE.match(sheet_id):
        bad("id", "use 1-24 lower-case letters, digits or _, starting with a letter")
    stem = Path(file).stem
    if sheet_id and sheet_id != stem:
        bad("id", f"must match the file name ({stem!r})")
    title = _text(data, "title", bad, required=True, limit=100)
    summary = _text(data, "summary", bad, limit=200)
    intro = _text(data, "intro", bad, limit=1500)
    tags = _names(data, "tags", TAGS, bad, required=True)
    stages = _names(data, "stages", STAGES, bad)
    steps = _steps(data.get("steps"), bad)
    flags = _flags(data.get("flags"), steps, bad)
    suggest_from = _text(data, "suggest_from", bad)
    if suggest_from:
        source = next((s for s in steps if s.id == suggest_from), None)
        if source is None or source.kind is not AnswerKind.CHOICE:
            bad("suggest_from", "must name a choice step")
        elif any(c.value not in STAGES for c in source.choices):
            bad("suggest_from", f"the step's choice values must be stages: {', '.join(STAGES)}")
    if problems:
        return None, problems
    return (
        Worksheet(
            id=sheet_id,
            title=title,
            summary=summary,
            tags=tags,
            stages=stages,
            intro=intro,
            steps=tuple(steps),
            flags=flags,
            suggest_from=suggest_from,
        ),
        problems,
    )


def _text(
    data: dict[str, Any], key: str, bad: Report, *, required: bool = False, limit: int = 4000
) -> str:
    value = data.get(key)
    if value is None:
        if required:
            bad(key, "is required")
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        bad(key, "must be a non-empty text" if required else "must be text")
        return ""
    if len(value) > limit:
        bad(key, f"is {len(value)} characters; at most {limit}")
    return value.strip()


def _names(
    data: dict[str, Any],
    key: str,
    allowed: tuple[str, ...],
    bad: Report,
    *,
    required: bool = False,
) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        bad(key, "must be a list of names")
        return ()
    if required and not value:
        bad(key, f"needs at least one of: {', '.join(allowed)}")
    for name in value:
        if name not in allowed:
            bad(key, f"unknown {name!r}; use: {', '.join(allowed)}")
    return tuple(value)


def _steps(raw: Any, bad: Report) -> list[StepDef]:
    if not isinstance(raw, list) or not raw:
        bad("steps", "needs at least one [[steps]] table")
        return []
    if len(raw) > MAX_STEPS:
        bad("steps", f"at most {MAX_STEPS} steps")
    steps: list[StepDef] = []
    ids = [s.get("id") for s in raw if isinstance(s, dict)]
    for index, entry in enumerate(raw):
        where = f"steps[{index}]"
        if not isinstance(entry, dict):
            bad(where, "must be a table")
            continue
        step = _step(entry, where, ids, bad)
        if step is not None:
            if any(s.id == step.id for s in steps):
                bad(f"{where}.id", f"{step.id!r} is used twice")
            steps.append(step)
    return steps


def _step(entry: dict[str, Any], where: str, ids: list[Any], bad: Report) -> StepDef | None:
    local: list[tuple[str, str]] = []

    def fail(field: str, message: str) -> None:
        local.append((field, message))
        bad(f"{where}.{field}" if field else where, message)

    for key in sorted(set(entry) - STEP_KEYS):
        fail(key, f"unknown key; known keys: {', '.join(sorted(STEP_KEYS))}")
    step_id = entry.get("id")
    if not isinstance(step_id, str) or not ID_RE.match(step_id):
        fail("id", "use 1-24 lower-case letters, digits or _, starting with a letter")
    prompt = entry.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        fail("prompt", "is required text")
    kinds = [k.value for k in AnswerKind]
    kind_name = entry.get("kind", "text")
    kind = AnswerKind.TEXT
    if kind_name not in kinds:
        fail("kind", f"{kind_name!r} is not one of: {', '.join(kinds)}")
    else:
        kind = AnswerKind(kind_name)
    flags: dict[str, bool] = {}
    for key in ("required", "long", "terms"):
        value = entry.get(key, key == "required")
        if not isinstance(value, bool):
            fail(key, "must be true or false")
        flags[key] = bool(value)
    low, high = entry.get("low", 0), entry.get("high", 10)
    if not isinstance(low, int) or not isinstance(high, int) or isinstance(low, bool):
        fail("low", "low and high must be whole numbers")
        low, high = 0, 10
    elif kind is AnswerKind.SCALE and not (low < high and high - low < MAX_BUTTONS):
        fail("high", f"needs low < high and at most {MAX_BUTTONS} values")
    choices = _choices(entry.get("choices"), kind, fail)
    branches = entry.get("branches", {})
    if not isinstance(branches, dict):
        fail("branches", "must be a table of answer = step id")
        branches = {}
    values = {c.value for c in choices}
    for answer, target in branches.items():
        if kind is not AnswerKind.CHOICE or answer not in values:
            fail(f"branches.{answer}", "branches are keyed by the choice values of this step")
        if target != "end" and target not in ids:
            fail(f"branches.{answer}", f'unknown step {target!r} (or use "end")')
    if flags.get("terms") and kind is not AnswerKind.LIST:
        fail("terms", "only list steps can mark items short- or long-term")
    check = entry.get("check", "")
    if check and check not in CHECKS:
        fail("check", f"unknown check {check!r}; known: {', '.join(CHECKS)}")
    hint = entry.get("hint", "")
    if not isinstance(hint, str):
        fail("hint", "must be text")
    if local:
        return None
    return StepDef(
        id=str(step_id),
        prompt=str(prompt).strip(),
        kind=kind,
        required=flags["required"],
        low=low,
        high=high,
        choices=choices,
        hint=str(hint).strip(),
        branches={k: END if v == "end" else str(v) for k, v in branches.items()},
        long=flags["long"],
        terms=flags["terms"],
        check=str(check),
    )


def _choices(raw: Any, kind: AnswerKind, fail: Report) -> tuple[Choice, ...]:
    if raw is None:
        if kind is AnswerKind.CHOICE:
            fail("choices", "a choice step needs choices")
        return ()
    if kind is not AnswerKind.CHOICE:
        fail("choices", "only choice steps take choices")
        return ()
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_BUTTONS:
        fail("choices", f"must be a list of 1-{MAX_BUTTONS} {{ value, label }} tables")
        return ()
    out: list[Choice] = []
    for index, item in enumerate(raw):
        value = item.get("value") if isinstance(item, dict) else None
        label = item.get("label", "") if isinstance(item, dict) else None
        if not isinstance(value, str) or not 1 <= len(value) <= 100:
            fail(f"choices[{index}].value", "must be text of 1-100 characters")
            continue
        if not isinstance(label, str) or len(label) > MAX_LABEL:
            fail(f"choices[{index}].label", f"must be text of at most {MAX_LABEL} characters")
            continue
        if any(c.value == value for c in out):
            fail(f"choices[{index}].value", f"{value!r} is used twice")
        out.append(Choice(value, label))
    return tuple(out)


def _flags(raw: Any, steps: list[StepDef], bad: Report) -> Flags | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        bad("flags", "must be a table with steps, words and note")
        return None
    step_ids = raw.get("steps", [])
    words = raw.get("words", [])
    note = raw.get("note", "")
    known = {s.id for s in steps}
    if not isinstance(step_ids, list) or not all(s in known for s in step_ids):
        bad("flags.steps", "must list ids of this worksheet's steps")
        step_ids = []
    if not isinstance(words, list) or not words or not all(isinstance(w, str) for w in words):
        bad("flags.words", "must be a non-empty list of words")
        words = []
    if not isinstance(note, str) or not note.strip():
        bad("flags.note", "is required text")
        note = ""
    return Flags(tuple(step_ids), tuple(w.lower() for w in words), note.strip())
