"""Writing prompts from data/journal/*.toml, validated so one broken file never stops the bot."""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass
from pathlib import Path

from bot.core import DATA_DIR

log = logging.getLogger("circlebot.journal")

PROMPTS_DIR = DATA_DIR / "journal"
TAGS = ("motivation", "urges", "problem_solving", "balance")
TEXT_MAX = 300


@dataclass(frozen=True)
class Prompt:
    """One suggestion for what to write about."""

    id: str
    text: str
    tags: tuple[str, ...]


def load_prompts(directory: Path = PROMPTS_DIR) -> tuple[list[Prompt], list[str]]:
    """Every valid prompt, and one line per problem naming the file and the prompt."""
    prompts: list[Prompt] = []
    problems: list[str] = []
    seen: set[str] = set()
    for path in sorted(directory.glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            problems.append(f"{path.name}: {exc}")
            continue
        items = data.get("prompt", [])
        if not isinstance(items, list):
            problems.append(f"{path.name}: `prompt` must be a list of [[prompt]] tables")
            continue
        for index, item in enumerate(items, start=1):
            where = f"{path.name}: prompt #{index}"
            problem = _check(item, seen)
            if problem:
                problems.append(f"{where}: {problem}")
                continue
            seen.add(item["id"])
            prompts.append(Prompt(item["id"], item["text"].strip(), tuple(item.get("tags", []))))
    for problem in problems:
        log.warning("journal prompts: %s", problem)
    return prompts, problems


def _check(item: object, seen: set[str]) -> str:
    if not isinstance(item, dict):
        return "is not a table"
    unknown = set(item) - {"id", "text", "tags"}
    if unknown:
        return f"unknown key(s) {', '.join(sorted(unknown))}"
    pid, text, tags = item.get("id"), item.get("text"), item.get("tags", [])
    if not isinstance(pid, str) or not pid.strip():
        return "needs an `id`"
    if pid in seen:
        return f"id {pid!r} is used twice"
    if not isinstance(text, str) or not text.strip():
        return f"{pid!r} needs a `text`"
    if len(text) > TEXT_MAX:
        return f"{pid!r}: text is longer than {TEXT_MAX} characters"
    if not isinstance(tags, list) or any(t not in TAGS for t in tags):
        return f"{pid!r}: tags must be a list from {', '.join(TAGS)}"
    return ""
