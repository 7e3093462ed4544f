"""Writing prompts from data/journal/*.toml, validated so one broken file never stops the bot."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from bot.core import (
    DATA_DIR,
    FrozenSection,
    NonBlank,
    Problem,
    Section,
    load_toml,
    readable,
    validate,
)

log = logging.getLogger("circlebot.journal")

PROMPTS_DIR = DATA_DIR / "journal"
TAGS = ("motivation", "urges", "problem_solving", "balance")
TEXT_MAX = 300
Tag = Literal["motivation", "urges", "problem_solving", "balance"]


@dataclass(frozen=True)
class Prompt:
    """One suggestion for what to write about."""

    id: str
    text: str
    tags: tuple[str, ...]


class PromptDef(FrozenSection):
    """One `[[prompt]]` table."""

    id: NonBlank
    text: NonBlank = Field(max_length=TEXT_MAX)
    tags: list[Tag] = Field(default_factory=list)


class PromptFile(Section):
    """A prompts file: `[[prompt]]` tables, each checked on its own so one bad prompt does not
    hide the others."""

    prompt: list[dict[str, Any]] = Field(default_factory=list)


def load_prompts(directory: Path = PROMPTS_DIR) -> tuple[list[Prompt], list[Problem]]:
    """Every valid prompt, and every problem (file, line, key) of the others."""
    prompts: list[Prompt] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for path in sorted(directory.glob("*.toml")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(path.name, None, "", f"cannot be read: {exc}"))
            continue
        parsed, found, locator = load_toml(PromptFile, text, file=path.name)
        problems.extend(found)
        if parsed is None:
            continue
        for index, item in enumerate(parsed.prompt):
            where = ("prompt", index)
            checked, wrong = validate(
                PromptDef, item, file=path.name, locator=locator, prefix=where
            )
            problems.extend(wrong)
            if checked is None:
                continue
            if checked.id in seen:
                line = locator.line((*where, "id")) if locator else None
                key = readable((*where, "id"), {"prompt": parsed.prompt})
                problems.append(Problem(path.name, line, key, f"{checked.id!r} is used twice"))
                continue
            seen.add(checked.id)
            prompts.append(Prompt(checked.id, checked.text.strip(), tuple(checked.tags)))
    for problem in problems:
        log.warning("journal prompts: %s", problem)
    return prompts, problems
