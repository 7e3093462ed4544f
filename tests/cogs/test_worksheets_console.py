"""Dialogues keep what a member wrote, tried on the console as a newcomer would.

Each case walks a worksheet through the console adapter and then reads the saved toolbox item:
what is saved is exactly what was typed, and a steering word is never saved as an answer.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest_asyncio

from bot.adapters.console import ConsoleAdapter
from bot.app import App
from bot.clock import VirtualClock
from bot.core.dialogue import AnswerKind
from cogs.worksheets.cog import WorksheetsCog
from tests.harness.app import AppFactory, make_config

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ANA = "console:ana"


@dataclass
class Console:
    """The console adapter in-process; `type` returns what the bot printed for the lines."""

    app: App
    adapter: ConsoleAdapter
    out: io.StringIO

    async def type(self, *lines: str) -> str:
        start = len(self.out.getvalue())
        for line in lines:
            await self.adapter.handle_line(line)
        return self.out.getvalue()[start:]

    async def answer_current(self) -> bool:
        """Give a valid answer to the open question; False when no dialogue is open."""
        dialogues = self.app.dialogues
        state = await dialogues.current(ANA)
        if state is None:
            return False
        step = dialogues.dialogues[state.dialogue_id].step(state.step)
        lines = {
            AnswerKind.SCALE: [str(step.low)],
            AnswerKind.CHOICE: ["1"],
            AnswerKind.LIST: ["an item", "done"],
            AnswerKind.DATETIME: ["2026-12-01 19:00"],
        }.get(step.kind, ["an answer"])
        await self.type(*dm(*lines))
        return True

    async def answers(self, number: int = 1) -> dict[str, Any]:
        cog = self.app.services.cogs["worksheets"]
        assert isinstance(cog, WorksheetsCog)
        return (await cog.toolbox.get(ANA, number)).answers


@pytest_asyncio.fixture
async def console(app_factory: AppFactory, tmp_path: Path) -> Console:
    config = make_config(cogs={"enabled": ["general", "worksheets"]})
    app = await app_factory(config, clock=VirtualClock(START), fast_typing=True)
    out = io.StringIO()
    adapter = ConsoleAdapter(app, out=out, files_dir=tmp_path / "files")
    app.add_transport(adapter)
    return Console(app, adapter, out)


def dm(*lines: str) -> list[str]:
    return [f"@ana dm {line}" for line in lines]


async def test_skip_on_a_list_keeps_the_items_already_sent(console: Console) -> None:
    shown = await console.type("@ana !worksheet start brainstorm", *dm("noisy flat", "earplugs"))
    shown += await console.type(*dm("move out"))
    assert "So far" not in shown.split("Added (2)")[-1]  # asked once per item, not repeated
    await console.type(*dm("skip", "skip", "earplugs", "tonight"))
    assert await console.answers() == {
        "problem": "noisy flat",
        "ideas": ["earplugs", "move out"],
        "choice": "earplugs",
        "first_step": "tonight",
    }


async def test_keep_after_back_keeps_the_earlier_answer(console: Console) -> None:
    await console.type("@ana !worksheet start brainstorm", *dm("noisy flat"))
    shown = await console.type(*dm("back"))
    assert "Your earlier answer: noisy flat" in shown and "keep" in shown
    shown = await console.type(*dm("keep"))
    assert "Throw in every idea" in shown  # on to the next question
    await console.type(*dm("earplugs", "done", "skip", "earplugs", "tonight"))
    assert (await console.answers())["problem"] == "noisy flat"


async def test_done_after_back_is_not_saved_as_the_answer(console: Console) -> None:
    await console.type("@ana !worksheet start brainstorm", *dm("noisy flat", "earplugs"))
    await console.type(*dm("done", "back", "back"))
    shown = await console.type(*dm("done"))  # on a text question
    assert "Throw in every idea" in shown
    shown = await console.type(*dm("done"))  # the list keeps its item
    assert "what's good and what's hard" in shown
    await console.type(*dm("skip", "earplugs", "tonight"))
    answers = await console.answers()
    assert answers["problem"] == "noisy flat"
    assert answers["ideas"] == ["earplugs"]
    assert "done" not in [v for v in answers.values() if isinstance(v, str)]


async def test_done_on_an_unanswered_text_question_explains_and_saves_nothing(
    console: Console,
) -> None:
    shown = await console.type("@ana !worksheet start brainstorm", *dm("done"))
    assert "done finishes a list" in shown
    assert "What problem would you like to work on?" in shown.split("finishes a list")[-1]
    await console.type(*dm("noisy flat", "earplugs", "done", "skip", "earplugs", "tonight"))
    assert (await console.answers())["problem"] == "noisy flat"


async def test_toolbox_edit_without_an_answer_opens_the_dialogue_and_a_number_picks(
    console: Console,
) -> None:
    await console.type(
        "@ana !worksheet start brainstorm",
        *dm("noisy flat", "earplugs", "done", "skip", "earplugs", "tonight"),
    )
    shown = await console.type("@ana !toolbox edit 1")
    assert "Which answer would you like to change?" in shown and "5. What's the first" in shown
    shown = await console.type(*dm("5"))
    assert "only understand commands" not in shown
    assert "Your earlier answer: tonight" in shown
    shown = await console.type(*dm("tomorrow at nine"))
    assert "Updated #1" in shown
    answers = await console.answers()
    assert answers["first_step"] == "tomorrow at nine"
    assert answers["problem"] == "noisy flat"  # the rest is untouched
    await console.type("@ana !toolbox edit 1 problem", *dm("keep"))
    assert (await console.answers()) == answers  # `keep` changed nothing


async def test_steering_words_typed_as_people_type_them_are_never_saved(
    console: Console,
) -> None:
    """Phones capitalise and add full stops; "Done." or "Keep!" still steer, never an answer."""
    await console.type("@ana !worksheet start brainstorm", *dm("noisy flat", "earplugs"))
    shown = await console.type(*dm("Done."))
    assert "what's good and what's hard" in shown  # the list ended with its one item
    await console.type(*dm("Back!", "back", "Keep."))  # after back: keep the earlier answer
    await console.type(*dm("`done`", "SKIP!", "earplugs", "tonight…"))
    answers = await console.answers()
    assert answers["problem"] == "noisy flat"
    assert answers["ideas"] == ["earplugs"]
    assert answers["first_step"] == "tonight…"  # a member's own words keep their marks


async def test_toolbox_edit_naming_a_missing_answer_still_lets_the_member_pick(
    console: Console,
) -> None:
    await console.type(
        "@ana !worksheet start brainstorm",
        *dm("noisy flat", "earplugs", "done", "skip", "earplugs", "tonight"),
    )
    shown = await console.type("@ana !toolbox edit 1 7")
    assert "no answer “7”" in shown
    assert "Which answer would you like to change?" in shown
    shown = await console.type(*dm("1"))
    assert "only understand commands" not in shown
    assert "Your earlier answer: noisy flat" in shown
    await console.type(*dm("a noisy neighbour"))
    assert (await console.answers())["problem"] == "a noisy neighbour"


async def test_starting_a_second_worksheet_says_the_first_was_paused(console: Console) -> None:
    await console.type("@ana !worksheet start brainstorm", *dm("noisy flat", "earplugs"))
    shown = await console.type("@ana !worksheet start disarm")
    assert "paused" in shown and "Brainstorm" in shown.split("paused")[1][:40]
    for _answer in range(40):  # disarm has fewer questions; the bound only stops a bug
        if not await console.answer_current():
            break
    shown = await console.type(*dm("resume"))
    assert "Welcome back" in shown and "So far: 1 (earplugs)" in shown
    await console.type(*dm("done", "skip", "earplugs", "tonight"))
    brainstorm = await console.answers(2)
    assert brainstorm["problem"] == "noisy flat" and brainstorm["ideas"] == ["earplugs"]
