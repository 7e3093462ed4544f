"""A model of the dialogue engine: what a finished dialogue must hand to its owner.

Random sequences of what a member may type in a DM (answers, `back`, `keep`, `skip`, `done`,
`clear`, `pause`, `resume`, `cancel`, the steering words also as people type them: "Done.",
"KEEP!", words people type to leave (`stop`, `Quit!`, `beenden`, `sair`) and the same in quotes,
`yes` and `no`, and starting another dialogue in between) drive a real app; a small oracle that
knows only the rule "nothing the member wrote is dropped unless they ask and confirm a question
naming it, and a word to leave is never an answer unless quoted" says what must be kept after
every message and what must be saved.

Used by tests/test_dialogue_model.py (bounded) and benchmarks/dialogue_model.py (longer).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from bot.app import App
from bot.core.commands import Choice
from bot.core.dialogue import AnswerKind, Dialogue, Outcome, Step
from tests.harness.app import lift_rate_limit
from tests.harness.platform import FakePlatform

STEPS = (
    Step("name", "Your name?"),
    Step("items", "Some items?", AnswerKind.LIST),
    Step("note", "A note?", required=False),
    Step("extras", "Any extras?", AnswerKind.LIST, required=False),
    Step("mood", "Mood?", AnswerKind.CHOICE, choices=(Choice("calm"), Choice("busy"))),
)


WORDS = ("alpha", "beta gamma", "calm", "busy", "2", "zeta")


CONTROLS = ("back", "keep", "skip", "done", "clear", "pause", "resume", "cancel", "help")


# Words people type to leave, as first-time members typed them, in the languages of
# the crisis phrases: each pauses (never an answer), unless written in quotes.
QUITS = (
    *("stop", "quit", "exit", "end", "leave", "abort", "nevermind", "never mind"),
    *("beenden", "abbrechen", "aufhören", "salir", "parar", "quitter", "arrêter"),
    *("esci", "basta", "stoppen", "afsluiten", "sair"),
)


YESES = ("yes", "y", "oui", "ja", "sí")
NOES = ("no", "nein", "non")


STEERS = ("back", "keep", "skip", "done", "clear", "help")


# Interruptions, rarer, so most examples still reach the end; "other": another dialogue is
# started and finished in between; "again": the same dialogue is started again (a second
# `journal write`).
BREAKS = (
    ("say", "pause"),
    ("again", ""),
    *([("say", "resume")] * 3),
    ("other", ""),
    *([("say", "help")] * 6),
    ("say", "cancel"),
)


ANSWER = st.sampled_from(WORDS).map(lambda w: ("say", w))


# A steering word as people type it, mapped to the word it is: capitals from a phone, a full
# stop, the code marks of the bot's own `done`, full-width letters from an East Asian keyboard.
DRESSES = ("{}", "{}.", "{}!", " {} ", "`{}`", '"{}"', "{}…", "{}?")


FULL_WIDTH = {c: c + 0xFEE0 for c in range(ord("a"), ord("z") + 1)}


DRESSED = {
    dress.format(typed): word
    for word in (*STEERS, "pause", "resume", "cancel")
    for typed in (word, word.upper(), word.capitalize(), word.translate(FULL_WIDTH))
    for dress in DRESSES
}


STEER = st.sampled_from(sorted(DRESSED)).map(lambda typed: ("say", typed))


# A word to leave as people type it (any case, a mark after it), never in quotes ...
QUIT_DRESSES = ("{}", "{}.", "{}!", " {} ", "`{}`", "{}…")
DRESSED_QUITS = {
    dress.format(typed): "quit"
    for word in QUITS
    for typed in (word, word.upper(), word.capitalize())
    for dress in QUIT_DRESSES
}
# ... and in quotes, where it is the member's answer.
QUOTES = ('"{}"', "“{}”", "'{}'", "«{}»", '"{}".')
QUOTED = sorted(quote.format(word) for word in QUITS for quote in QUOTES)
DRESSED_REPLIES = {
    dress.format(typed): word
    for words, word in ((YESES, "yes"), (NOES, "no"))
    for typed in (w for base in words for w in (base, base.upper(), base.capitalize()))
    for dress in ("{}", "{}.", "{}!")
}


QUIT = st.sampled_from(sorted(DRESSED_QUITS)).map(lambda typed: ("say", typed))
QUOTED_QUIT = st.sampled_from(QUOTED).map(lambda typed: ("say", typed))
REPLY = st.sampled_from(sorted(DRESSED_REPLIES)).map(lambda typed: ("say", typed))


BREAK = st.sampled_from(BREAKS)


FINISH_MOVES = 3 * len(STEPS)  # enough to end from anywhere: resume, then answer and keep


# Only what may delete: answers, every steering word dressed, `yes` and `no`, interruptions.
DELETING_MOVES = st.lists(st.one_of(ANSWER, ANSWER, STEER, REPLY, REPLY, BREAK), max_size=40)


MOVES = st.lists(
    st.one_of(ANSWER, ANSWER, ANSWER, STEER, STEER, BREAK, QUIT, QUOTED_QUIT, REPLY),
    max_size=50,
)


@dataclass
class Model:
    """What the member has written and where they are, as the rule says it must be."""

    status: str = "active"  # active | paused | closed
    index: int = 0
    answers: dict[str, Any] = field(default_factory=dict)
    history: list[int] = field(default_factory=list)
    saved: dict[str, Any] | None = None
    asking: str | None = None  # `cancel` or `clear` asked; the next message answers it
    asked: bool = False  # the last message asked such a question

    def count(self) -> int:
        return sum(len(v) if isinstance(v, list) else 1 for v in self.answers.values())

    def say(self, typed: str) -> None:
        self.asked = False
        if self.status == "closed":
            return
        text = DRESSED.get(typed) or DRESSED_QUITS.get(typed) or typed
        reply = DRESSED_REPLIES.get(typed)
        asking, self.asking = self.asking, None  # one reply answers a question
        if asking and reply == "yes":  # the only way anything the member wrote goes
            if asking == "cancel":
                self.status = "closed"
            else:
                self.answers.pop(STEPS[self.index].id, None)
            return
        if asking and reply == "no":
            return
        if self.status == "paused":
            if text == "resume":
                self.status = "active"
            elif text == "cancel":
                self.ask("cancel") if self.count() else self.close()
            return
        step = STEPS[self.index]
        earlier = self.answers.get(step.id)
        if text == "back" and self.history:
            self.index = self.history.pop()
        elif text in ("pause", "quit"):
            self.status = "paused"
        elif text == "cancel":
            self.ask("cancel") if self.count() else self.close()
        elif text == "clear":
            if earlier not in (None, []):
                self.ask("clear")
        elif text in ("skip", "keep", "done"):
            if earlier not in (None, []):
                self.advance(earlier)
            elif not step.required and (
                text == "skip" or (text == "done" and step.kind is AnswerKind.LIST)
            ):
                self.advance(None)
        elif text in CONTROLS:
            return  # back on the first question, resume while open, help: nothing changes
        elif step.kind is AnswerKind.LIST:
            self.answers[step.id] = [*(earlier or []), text.strip()]
        elif step.kind is AnswerKind.CHOICE:
            chosen = {"calm": "calm", "busy": "busy", "1": "calm", "2": "busy"}.get(text)
            if chosen is not None:
                self.advance(chosen)
        else:
            self.advance(text.strip())

    def ask(self, what: str) -> None:
        self.asking = what
        self.asked = True

    def close(self) -> None:  # `cancel` with nothing written: nothing to ask about
        self.status = "closed"

    def advance(self, value: Any) -> None:
        step = STEPS[self.index]
        if value is None:
            self.answers.pop(step.id, None)
        else:
            self.answers[step.id] = value
        if self.index == len(STEPS) - 1:
            self.saved = dict(self.answers)
            self.status = "closed"
        else:
            self.history.append(self.index)
            self.index += 1

    def finishing_move(self) -> str:
        """What walks the dialogue to its end from here, keeping every answer ("" when over)."""
        if self.status != "active":
            return "resume" if self.status == "paused" else ""
        step = STEPS[self.index]
        if self.answers.get(step.id) not in (None, []):
            return "keep"
        return "2" if step.kind is AnswerKind.CHOICE else "zeta"

    def again(self) -> None:
        """The same dialogue started again: one holding answers goes on, else starts afresh."""
        self.asking = None
        if self.count():
            self.status = "active"
        else:
            self.status, self.index, self.history = "active", 0, []

    def interrupted(self) -> None:
        self.asking = None  # starting another dialogue withdraws the question
        if self.status == "active":
            self.status = "paused"


@dataclass
class World:
    """One app for the whole test; each example is a new member, so examples stay apart."""

    fake: FakePlatform = field(repr=False)  # a failing example shows its moves, not the app
    saved: dict[str, dict[str, Any]] = field(repr=False)
    members: itertools.count[int] = field(default_factory=itertools.count, repr=False)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text("World(...)")  # hypothesis prints a failing example's moves, not the app


def model_world(app: App) -> World:
    """The model's dialogue (and another to interrupt it) on a started app."""
    lift_rate_limit(app)  # one member typing very fast
    saved: dict[str, dict[str, Any]] = {}

    async def finish(outcome: Outcome) -> str:
        saved[outcome.actor_key] = dict(outcome.answers)
        return "saved"

    async def other_done(outcome: Outcome) -> str:
        return "other saved"

    app.dialogues.register(Dialogue("model", "Model walk", STEPS, finish))
    app.dialogues.register(Dialogue("other", "Other walk", (Step("q", "Anything?"),), other_done))
    return World(FakePlatform(app), saved)


async def play(world: World, moves: list[tuple[str, str]]) -> None:
    """Play `moves` as a new member, then walk to the end; AssertionError on any disagreement
    with the model (also used by `benchmarks/dialogue_model.py` for a longer run)."""
    fake = world.fake
    app = fake.app
    name = f"m{next(world.members)}"
    ctx = await app.dispatcher.context(fake.incoming(name, dm=True))
    await app.dialogues.start(ctx, "model")
    model = Model()
    for kind, text in [*moves, *[("finish", "")] * FINISH_MOVES]:
        if kind == "finish":  # then walk to the end, keeping what is there
            text = model.finishing_move()
            if not text:
                break
        if kind == "again":
            if model.status == "closed":
                continue
            await app.dialogues.start(ctx, "model")
            model.again()
        elif kind == "other":
            await app.dialogues.start(ctx, "other")
            said = await fake.say(name, "anything", dm=True)
            assert said[-1].text == "other saved"
            model.interrupted()
        else:
            said = await fake.say(name, text, dm=True)
            model.say(text)
            if model.asked:  # a question naming what would go
                where = "Model walk" if model.asking == "cancel" else "this question"
                assert where in said[0].text and "`yes`" in said[0].text, said
                if model.asking == "cancel":
                    assert f"({model.count()} answer" in said[0].text, said
        state = await app.dialogues.current(f"fake:{name}", "active")
        if model.status == "active":
            assert state is not None and state.step == STEPS[model.index].id
        else:
            assert state is None
        if model.status != "closed":  # every word kept, none of them a word to leave
            state = state or await app.dialogues.current(f"fake:{name}", "paused")
            assert state is not None and json.loads(state.answers) == model.answers, text
    assert model.status == "closed"
    assert world.saved.get(f"fake:{name}") == model.saved
