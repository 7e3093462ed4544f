"""Multi-step DM dialogues (worksheets, set-up walks) as data, resumable after a restart.

A dialogue is a list of steps; the member's place in it and their answers are one database row,
written after every answer, so nothing acknowledged is ever lost. Members steer with plain words:
`back`, `skip`, `keep`, `clear`, `pause`, `cancel`, `help`, and `done` to end a list.

A dialogue never discards what the member wrote unless they ask it to and confirm: `clear`
(empty the current question) and `cancel` (drop the dialogue) ask first, naming what they would
delete, and act only on `yes` as the very next reply (`ASK_FOR`); with nothing to delete they act
at once. `skip` on a list keeps the items collected so far, `skip`, `keep` or `done` on a
question answered before (after `back`, or prefilled by an edit) keep that answer, and a
steering word is never saved as an answer.

One rule for steering words when no dialogue is open but one is paused: `resume` resumes it,
`cancel` asks as above (naming the paused dialogue), and every other word only says what is
paused and how to go on; nothing acts on a paused dialogue unseen.

Words people type to leave (`stop`, `quit`, `exit`, `nevermind`, in the languages the bot's
crisis side knows: `QUIT_WORDS`) pause the dialogue, keeping its answers. Such a word in quotes
(`"stop"`) is an answer like any other.
"""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.core.commands import Choice
from bot.core.context import Context
from bot.core.convert import parse_datetime
from bot.core.errors import UserError
from bot.core.message import Action, ActionStyle, Message
from bot.i18n import _, ngettext
from bot.models import DialogueState

ACTION_PREFIX = "conv"
# (the member's words, whether a question is open) -> True when it answered them instead.
Reach = Callable[[str, bool], Awaitable[bool]]
ANSWER_MAX = 4000
PREVIEW_MAX = 300  # characters of an earlier answer repeated with its question


class AnswerKind(Enum):
    """What a step expects."""

    TEXT = "text"
    LIST = "list"
    SCALE = "scale"
    CHOICE = "choice"
    DATETIME = "datetime"


@dataclass(frozen=True)
class Step:
    """One question of a dialogue."""

    id: str
    prompt: str
    kind: AnswerKind = AnswerKind.TEXT
    required: bool = True
    low: int = 0
    high: int = 10
    choices: tuple[Choice, ...] = ()
    hint: str = ""
    validate: Callable[[Any], Any] | None = None  # returns the cleaned value or raises UserError
    branches: dict[str, str] = field(default_factory=dict)  # answer value -> next step id
    long: bool = False  # offer a form for long text where the platform has one
    then: str | None = None  # the next step id (or END) whatever the answer, unless a branch
    past_only: bool = False  # a DATETIME that has happened (an urge noted afterwards)


END = "__end__"


@dataclass(frozen=True)
class Outcome:
    """A finished dialogue handed to its owner."""

    actor_key: str
    community_id: int | None
    answers: dict[str, Any]
    ctx: Context
    # The same for every attempt to finish one dialogue: an owner that stores it (unique) saves
    # once even when a crash between its commit and the dialogue's close makes the member
    # send the last answer again.
    token: str = ""


@dataclass(frozen=True)
class Dialogue:
    """A dialogue definition; `finish` stores the result and returns the closing message."""

    id: str
    title: str
    steps: tuple[Step, ...]
    finish: Callable[[Outcome], Awaitable[Message | str]]
    intro: str = ""
    # For a dialogue that edits something saved: what cancelling leaves as it was (a message
    # id, `N_`-marked: "Your toolbox item stays as it was."); its answers are then only changes.
    kept_on_cancel: str = ""

    def __post_init__(self) -> None:
        ids = [s.id for s in self.steps]
        if not ids or len(set(ids)) != len(ids):
            raise ValueError(f"dialogue {self.id!r}: steps need unique ids")
        for step in self.steps:
            for target in (*step.branches.values(), *([step.then] if step.then else [])):
                if target != END and target not in ids:
                    raise ValueError(f"dialogue {self.id!r}: branch to unknown step {target!r}")

    def step(self, step_id: str) -> Step:
        """The step with this id."""
        return next(s for s in self.steps if s.id == step_id)

    def after(self, step: Step, answer: Any) -> str:
        """The id of the next step (or END) given the answer just accepted."""
        if isinstance(answer, str) and answer in step.branches:
            return step.branches[answer]
        if step.then is not None:
            return step.then
        index = self.steps.index(step)
        return self.steps[index + 1].id if index + 1 < len(self.steps) else END


CONTROL_WORDS = ("back", "skip", "keep", "clear", "pause", "cancel", "help", "done", "resume")

# Words people type to leave a dialogue, in the languages of the crisis phrases (data/crisis/
# phrases): they mean `pause`, so nothing is lost. Matched as the whole message, bare.
QUIT_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("stop", "quit", "exit", "end", "leave", "abort", "nevermind", "never mind", "nvm"),
    "de": ("stopp", "beenden", "ende", "aufhören", "abbrechen", "verlassen", "schluss"),
    "es": ("parar", "para", "salir", "terminar", "basta", "olvídalo", "cancelar"),
    "fr": ("arrête", "arrêter", "arrêt", "quitter", "sortir", "terminer", "annuler"),
    "it": ("esci", "uscire", "smetti", "fermati", "ferma", "annulla", "lascia perdere"),
    "nl": ("stoppen", "afsluiten", "einde", "verlaten", "afbreken", "laat maar", "annuleren"),
    "pt": ("sair", "fim", "chega", "esquece", "deixa pra lá", "cancelar"),
}

# The `yes` that confirms a question `cancel` or `clear` asked, and the `no` that withdraws it.
YES_WORDS = ("yes", "y", "yeah", "yep", "ja", "sí", "si", "oui", "sim")
NO_WORDS = ("no", "n", "nope", "nein", "non", "não", "nee")

# How long a question asked by `cancel` or `clear` waits for its `yes`.
ASK_FOR = timedelta(minutes=10)

# Quotes that make a quit word an answer ("stop"); the bot's own code marks (`done`) do not.
_QUOTES = "\"'“”„‟‘’‚‛«»‹›「」『』"


# What may surround a steering word as people type it: sentence marks ("Done."), quotes or code
# marks copied from the bot's own `done`, a command prefix ("!skip"), spaces.
_AROUND_WORD = re.compile(r"^[\W_]+|[\W_]+$")


def _bare(text: str) -> str:
    """`text` as a bare word: width-folded (NFKC), case-folded, marks around it removed."""
    return _AROUND_WORD.sub("", unicodedata.normalize("NFKC", text).casefold())


def _quit_words() -> set[str]:
    return {_bare(w) for words in QUIT_WORDS.values() for w in words} | {_bare(_("stop"))}


def quoted(text: str) -> bool:
    """True when `text` is wrapped in quotes (`"stop"`, `'stop'`, `“stop”`, `«stop»`), also with
    a sentence mark after them; the bot's own code marks (`` `done` ``) are not quotes."""
    folded = unicodedata.normalize("NFKC", text).strip().rstrip(".!?…,;")
    return len(folded) >= 2 and folded[0] in _QUOTES and folded[-1] in _QUOTES


def control_word(text: str) -> str | None:
    """Recognise a steering word in English or the member's language, however it is dressed
    ("Done.", "`keep`", "SKIP!", full-width letters); `"quit"` for a word people type to
    leave (`QUIT_WORDS`) unless it is in quotes; None for anything else."""
    word = _bare(text)
    if not word:
        return None
    for control in CONTROL_WORDS:
        if word in (control, _bare(_(control))):
            return control
    if word in _quit_words() and not quoted(text):
        return "quit"
    return None


def _one_of(text: str, words: tuple[str, ...], translated: str) -> bool:
    word = _bare(text)
    return bool(word) and (word in words or word == _bare(_(translated)))


def is_yes(text: str) -> bool:
    """True for a `yes` however dressed ("Yes!", "oui", "JA")."""
    return _one_of(text, YES_WORDS, "yes")


def is_no(text: str) -> bool:
    """True for a `no` however dressed ("No.", "nein", "non")."""
    return _one_of(text, NO_WORDS, "no")


def answer_count(answers: dict[str, Any]) -> int:
    """How many answers a dialogue holds: one per answered question, one per list item."""
    return sum(
        len(value) if isinstance(value, list) else 1
        for value in answers.values()
        if value is not None
    )


def _answers_phrase(n: int) -> str:
    return ngettext("{n} answer", "{n} answers", n).format(n=n)


class Dialogues:
    """Runs dialogues for members and keeps their state in the database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock
        self.dialogues: dict[str, Dialogue] = {}

    def register(self, dialogue: Dialogue) -> None:
        """Make a dialogue startable; ids are global."""
        if dialogue.id in self.dialogues:
            raise ValueError(f"dialogue {dialogue.id!r} registered twice")
        self.dialogues[dialogue.id] = dialogue

    async def current(self, actor_key: str, status: str = "active") -> DialogueState | None:
        """The member's most recent dialogue in this status."""
        async with self._sessions() as session:
            return await session.scalar(
                select(DialogueState)
                .where(DialogueState.actor_key == actor_key, DialogueState.status == status)
                .order_by(DialogueState.updated_at.desc(), DialogueState.id.desc())
                .limit(1)
            )

    async def paused(self, actor_key: str, dialogue_ids: Collection[str]) -> list[str]:
        """The ids among `dialogue_ids` the member has paused (or left open), most recent
        first, each once."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(DialogueState.dialogue_id)
                .where(
                    DialogueState.actor_key == actor_key,
                    DialogueState.dialogue_id.in_(sorted(dialogue_ids)),
                )
                .order_by(DialogueState.updated_at.desc(), DialogueState.id.desc())
            )
            return list(dict.fromkeys(rows))

    async def start(
        self,
        ctx: Context,
        dialogue_id: str,
        *,
        prefill: dict[str, Any] | None = None,
        first_step: str | None = None,
    ) -> None:
        """Open a dialogue in the member's DM; from a channel the channel only gets a pointer.

        One of the same id already holding answers is resumed instead (a second `journal
        write` never drops a paused entry); given `prefill` or `first_step` (an edit), the
        new one replaces it."""
        dialogue = self.dialogues.get(dialogue_id)
        if dialogue is None:
            raise UserError(_("There is no dialogue called `{name}`.").format(name=dialogue_id))
        if prefill is None and first_step is None:
            async with self._sessions() as session:
                held = await session.scalars(
                    select(DialogueState.answers).where(
                        DialogueState.actor_key == ctx.actor.key,
                        DialogueState.dialogue_id == dialogue_id,
                    )
                )
                written = any(answer_count(json.loads(answers)) for answers in held)
            if written and await self.resume(ctx, dialogue_id):
                return
        now = self._clock.now()
        async with self._sessions.begin() as session:
            await session.execute(
                delete(DialogueState).where(
                    DialogueState.actor_key == ctx.actor.key,
                    DialogueState.dialogue_id == dialogue_id,
                )
            )
            active = await session.scalars(
                select(DialogueState).where(
                    DialogueState.actor_key == ctx.actor.key,
                    DialogueState.status == "active",
                )
            )
            opened = list(active)
            paused = [other.dialogue_id for other in opened]
            for other in opened:
                other.status = "paused"
            await self._withdraw_questions(session, ctx.actor.key)
            state = DialogueState(
                actor_key=ctx.actor.key,
                community_id=ctx.community.id if ctx.community else None,
                dialogue_id=dialogue_id,
                step=first_step or dialogue.steps[0].id,
                answers=json.dumps(prefill or {}),
                history="[]",
                status="active",
                token=uuid.uuid4().hex,
                started_at=now,
                updated_at=now,
            )
            session.add(state)
        if not ctx.place.is_dm and not ctx.responder.points_to_dm:
            await ctx.reply(
                _("I've sent you a direct message to continue privately."), ephemeral=True
            )
        intro = (
            _(dialogue.intro)
            if dialogue.intro
            else _("Let's go through **{title}**.").format(title=_(dialogue.title))
        )
        help_line = _("You can type back, skip, keep, pause or cancel at any time.")
        await self._tell_paused(ctx, paused)
        await ctx.dm(f"{intro}\n{help_line}")
        await ctx.dm(self.question(state, dialogue))

    async def _tell_paused(self, ctx: Context, dialogue_ids: list[str]) -> None:
        """Say which open dialogues were paused to make room, so none seems lost."""
        for dialogue_id in dialogue_ids:
            dialogue = self.dialogues.get(dialogue_id)
            await ctx.dm(
                _(
                    "I've paused **{title}** with your answers kept. Type `resume` when you "
                    "want to go back to it."
                ).format(title=_(dialogue.title) if dialogue else dialogue_id)
            )

    def question(self, state: DialogueState, dialogue: Dialogue) -> Message:
        """The message asking the current step, with buttons where they help."""
        step = dialogue.step(state.step)
        answers = json.loads(state.answers)
        lines = [_(step.prompt)]
        earlier = answers.get(step.id)
        shown = {c.value: c.display for c in step.choices}
        earlier = shown.get(earlier, earlier) if isinstance(earlier, str) else earlier
        if earlier is not None and step.kind is not AnswerKind.LIST:
            lines.append(
                _("Your earlier answer: {answer}").format(answer=_preview(earlier))
                + "\n"
                + _("Type `keep` to keep it, or send a new answer.")
            )
        actions: list[Action] = []
        token = f"{ACTION_PREFIX}:{state.id}:{step.id}"
        if step.kind is AnswerKind.SCALE:
            lines.append(
                _("Answer with a number from {low} to {high}.").format(
                    low=step.low, high=step.high
                )
            )
            actions = [Action(f"{token}:{n}", str(n)) for n in range(step.low, step.high + 1)]
        elif step.kind is AnswerKind.CHOICE:
            lines.append(
                "\n".join(f"{i}. {c.display}" for i, c in enumerate(step.choices, start=1))
            )
            actions = [
                Action(f"{token}:{c.value}", c.display, ActionStyle.PRIMARY) for c in step.choices
            ]
        elif step.kind is AnswerKind.LIST:
            got = answers.get(step.id) or []
            lines.append(_("Send one item per message, then `done`."))
            if got:
                lines.append(
                    _(
                        "So far: {n} ({items}). `done` keeps them, new items are added, and "
                        "`clear` starts the list again."
                    ).format(n=len(got), items=_preview(got))
                )
        elif step.kind is AnswerKind.DATETIME:
            lines.append(_("For example 2026-12-01 19:00."))
        if not step.required:
            lines.append(_("(You can `skip` this one.)"))
        return Message(
            text=("\n".join(lines),),
            actions=tuple(actions[:25]),
            long_text_prompt=step.prompt if step.long else None,
        )

    async def handle_text(
        self, ctx: Context, text: str, *, reach: Reach | None = None, pointer: str = ""
    ) -> bool:
        """Treat a DM message as an answer or a steering word; False if no dialogue is open.

        `reach` answers words asking for help (the crisis lines) before they could be taken
        as an answer: `(text, answering)`, True when it answered; `answering` says a question
        is open, so only a message that is nothing but such words counts (`sos`, `help me`).
        Its answer leaves the dialogue where it was. `pointer` (where the crisis lines are)
        ends the `help` hint."""
        state = await self.current(ctx.actor.key)
        control = control_word(text)
        if state is None:
            paused = await self.current(ctx.actor.key, "paused")
            if paused is None:
                return False
            return await self._handle_paused(ctx, paused, text, control, reach)
        dialogue = self.dialogues.get(state.dialogue_id)
        if dialogue is None:
            await self._close(state.id)
            await ctx.reply(_("That dialogue is no longer available, so I closed it."))
            return True
        asked = self._asked(state)
        if asked:  # the question `cancel` or `clear` asked gets this one reply
            state = await self._save(state.id)
            if is_yes(text):
                await self._confirmed(ctx, state, dialogue, asked)
                return True
            if is_no(text):
                await ctx.reply(_("Nothing was deleted."))
                await ctx.reply(self.question(state, dialogue))
                return True
        step = dialogue.step(state.step)
        if control:
            await self._steer(ctx, state, dialogue, step, control, pointer, text)
            return True
        if reach is not None and await reach(text, True):
            # The lines came first; the question waits, with every answer kept.
            await ctx.reply(_("When you're ready, we can carry on here; your answers are kept."))
            await ctx.reply(self.question(state, dialogue))
            return True
        await self._answer(ctx, state, dialogue, step, text)
        return True

    async def _handle_paused(
        self,
        ctx: Context,
        paused: DialogueState,
        text: str,
        control: str | None,
        reach: Reach | None,
    ) -> bool:
        """A DM while no dialogue is open but `paused` is: only `resume` acts; `cancel` asks
        first, naming it; `yes` right after that question deletes it; anything else says what
        is paused and how to go on."""
        asked = self._asked(paused)
        if asked:
            paused = await self._save(paused.id)  # one reply only
            if asked == "cancel" and is_yes(text):
                await self._close(paused.id)
                await ctx.reply(self._cancelled(paused))
                return True
            if is_no(text):
                await ctx.reply(
                    _("Nothing was deleted; **{title}** stays paused.").format(
                        title=self._title(paused)
                    )
                )
                return True
        steers = control in ("resume", "cancel")
        if not steers and reach is not None and await reach(text, False):
            return True
        count = answer_count(json.loads(paused.answers))
        if control == "resume":
            await self.resume(ctx)
        elif control == "cancel" and count:
            await self._save(paused.id, asking="cancel")
            dialogue = self.dialogues.get(paused.dialogue_id)
            if dialogue is not None and dialogue.kept_on_cancel:
                question = _(
                    "Cancel your paused **{title}**? What you typed there would be dropped. "
                    "{kept} Reply `yes` to cancel it, or `resume` to go on."
                ).format(title=self._title(paused), kept=_(dialogue.kept_on_cancel))
            else:
                question = _(
                    "Cancel your paused **{title}** ({answers})? Its answers would be deleted. "
                    "Reply `yes` to cancel it, or `resume` to go on."
                ).format(title=self._title(paused), answers=_answers_phrase(count))
            await ctx.reply(question)
        elif control == "cancel":
            await self._close(paused.id)
            await ctx.reply(self._cancelled(paused))
        else:
            await ctx.reply(
                _(
                    "You have a paused dialogue (**{title}**, {answers} kept). Type `resume` "
                    "to go on with it, or `cancel` to drop it."
                ).format(title=self._title(paused), answers=_answers_phrase(count))
            )
        return True

    def _title(self, state: DialogueState) -> str:
        dialogue = self.dialogues.get(state.dialogue_id)
        return _(dialogue.title) if dialogue else state.dialogue_id

    def _asked(self, state: DialogueState) -> str | None:
        """What `state` asked in its last reply (`cancel`, `clear`) if still waiting."""
        if not state.asking or self._clock.now() - state.updated_at > ASK_FOR:
            return None
        return state.asking

    def _cancelled(self, state: DialogueState) -> str:
        count = answer_count(json.loads(state.answers))
        dialogue = self.dialogues.get(state.dialogue_id)
        if dialogue is not None and dialogue.kept_on_cancel:
            return _("Cancelled **{title}**. {kept}").format(
                title=self._title(state), kept=_(dialogue.kept_on_cancel)
            )
        if not count:
            return _("Cancelled **{title}**; it had no answers.").format(title=self._title(state))
        return ngettext(
            "Cancelled **{title}**; its {n} answer was deleted.",
            "Cancelled **{title}**; its {n} answers were deleted.",
            count,
        ).format(title=self._title(state), n=count)

    async def _confirmed(
        self, ctx: Context, state: DialogueState, dialogue: Dialogue, asked: str
    ) -> None:
        """`yes` to the question `cancel` or `clear` asked: do it."""
        if asked == "cancel":
            await self._close(state.id)
            await ctx.reply(self._cancelled(state))
            return
        answers = json.loads(state.answers)
        answers.pop(state.step, None)
        state = await self._save(state.id, answers=answers)
        await ctx.reply(_("Cleared; this question has no answer now."))
        await ctx.reply(self.question(state, dialogue))

    async def handle_action(self, ctx: Context, action_id: str) -> bool:
        """A button press; ids are untrusted, so they must match the member's open step."""
        parts = action_id.split(":", 3)
        if len(parts) != 4 or parts[0] != ACTION_PREFIX:
            return False
        state = await self.current(ctx.actor.key)
        if state is None or str(state.id) != parts[1] or state.step != parts[2]:
            await ctx.reply(_("That button is no longer active."), ephemeral=True)
            return True
        dialogue = self.dialogues.get(state.dialogue_id)
        if dialogue is None:
            return False
        await self._answer(ctx, state, dialogue, dialogue.step(state.step), parts[3])
        return True

    async def resume(self, ctx: Context, dialogue_id: str | Collection[str] | None = None) -> bool:
        """Continue the most recent paused (or interrupted) dialogue; with `dialogue_id`, the
        most recent one of that id (or of those ids: `worksheet resume` continues a worksheet,
        never a journal entry paused after it). False when there is none."""
        ids = {dialogue_id} if isinstance(dialogue_id, str) else set(dialogue_id or ())
        state = await self.current(ctx.actor.key)
        if state is None or (ids and state.dialogue_id not in ids):
            async with self._sessions.begin() as session:
                query = select(DialogueState).where(
                    DialogueState.actor_key == ctx.actor.key,
                    DialogueState.status == "paused",
                )
                if ids:
                    query = query.where(DialogueState.dialogue_id.in_(sorted(ids)))
                state = await session.scalar(
                    query.order_by(DialogueState.updated_at.desc()).limit(1)
                )
                if state is None:
                    return False
                others = await session.scalars(
                    select(DialogueState).where(
                        DialogueState.actor_key == ctx.actor.key,
                        DialogueState.status == "active",
                        DialogueState.id != state.id,
                    )
                )
                opened = list(others)
                paused = [other.dialogue_id for other in opened]
                for other in opened:
                    other.status = "paused"  # one open dialogue at a time
                state.status = "active"
                state.updated_at = self._clock.now()
                await self._withdraw_questions(session, ctx.actor.key)
        else:
            state = await self._save(state.id)
            paused = []
        dialogue = self.dialogues.get(state.dialogue_id)
        if dialogue is None:
            return False
        if not ctx.place.is_dm and not ctx.responder.points_to_dm:
            await ctx.reply(
                _("I've sent you a direct message to continue privately."), ephemeral=True
            )
        await self._tell_paused(ctx, paused)
        await ctx.dm(_("Welcome back to **{title}**.").format(title=dialogue.title))
        await ctx.dm(self.question(state, dialogue))
        return True

    async def _steer(
        self,
        ctx: Context,
        state: DialogueState,
        dialogue: Dialogue,
        step: Step,
        control: str,
        pointer: str = "",
        text: str = "",
    ) -> None:
        answers = json.loads(state.answers)
        count = answer_count(answers)
        title = _(dialogue.title)
        if control == "help":
            lines = [
                step.hint,
                _("Answer in a message. Words that steer: back, skip, keep, pause, cancel."),
                _(
                    "`stop`, `quit` or `exit` pause too. To answer with such a word, put it in "
                    'quotes: "stop".'
                ),
                pointer,  # `help` may be someone needing a person now, not a hint
            ]
            await ctx.reply("\n".join(filter(None, lines)))
        elif control == "pause":
            await self._save(state.id, status="paused")
            await ctx.reply(
                _(
                    "Paused **{title}**. Your answers are kept; type `resume` when you're ready."
                ).format(title=title)
            )
        elif control == "quit":
            await self._save(state.id, status="paused")
            await ctx.reply(
                _(
                    "Paused **{title}** ({answers} kept). Type `resume` to go on, or `cancel` "
                    'to drop it. If "{word}" was your answer, resume and send it in quotes.'
                ).format(title=title, answers=_answers_phrase(count), word=text.strip()[:40])
            )
        elif control == "cancel" and count:
            await self._save(state.id, asking="cancel")
            if dialogue.kept_on_cancel:
                text = _(
                    "Cancel **{title}**? What you typed here would be dropped. {kept} Reply "
                    "`yes` to cancel it, or `no` to go on."
                ).format(title=title, kept=_(dialogue.kept_on_cancel))
            else:
                text = _(
                    "Cancel **{title}** ({answers})? Its answers would be deleted. Reply `yes` "
                    "to cancel it, or `no` to go on."
                ).format(title=title, answers=_answers_phrase(count))
            await ctx.reply(text)
        elif control == "cancel":
            await self._close(state.id)
            await ctx.reply(self._cancelled(state))
        elif control == "back":
            history = json.loads(state.history)
            if not history:
                await ctx.reply(_("This is the first question."))
                await ctx.reply(self.question(state, dialogue))
                return
            previous = history.pop()
            state = await self._save(state.id, step=previous, history=history)
            await ctx.reply(self.question(state, dialogue))
        elif control == "resume":
            await ctx.reply(self.question(state, dialogue))
        elif control == "clear":
            earlier = answers.get(step.id)
            if earlier is None or earlier == []:
                await ctx.reply(_("There was nothing to clear here."))
                await ctx.reply(self.question(state, dialogue))
                return
            await self._save(state.id, asking="clear")
            await ctx.reply(
                _(
                    "Clear your answer to this question ({answer})? Reply `yes` to clear it, "
                    "or `keep` to keep it."
                ).format(answer=_preview(earlier))
            )
        else:
            await self._move_on(ctx, state, dialogue, step, control)

    async def _move_on(
        self, ctx: Context, state: DialogueState, dialogue: Dialogue, step: Step, control: str
    ) -> None:
        """`skip`, `keep` or `done`: go on, keeping whatever this question already holds."""
        earlier = json.loads(state.answers).get(step.id)
        if earlier is not None and earlier != []:  # an empty list holds nothing to keep
            await self._advance(ctx, state, dialogue, step, earlier)
            return
        ends_list = control == "done" and step.kind is AnswerKind.LIST
        if not step.required and (control == "skip" or ends_list):
            await self._advance(ctx, state, dialogue, step, None)
            return
        if control == "skip":
            text = _("This question needs an answer, so it cannot be skipped.")
        elif step.kind is AnswerKind.LIST:
            text = _("Add at least one item first, then `done`.")
        elif control == "keep":
            text = _("There is no earlier answer here to keep. Please send one.")
        else:
            text = _("`done` finishes a list. Here, please send your answer.")
        await ctx.reply(text)
        await ctx.reply(self.question(state, dialogue))

    async def _answer(
        self, ctx: Context, state: DialogueState, dialogue: Dialogue, step: Step, text: str
    ) -> None:
        try:
            value = self._parse(step, text, ctx)
        except UserError as exc:
            await ctx.reply(exc.message)
            await ctx.reply(self.question(state, dialogue))
            return
        if step.kind is AnswerKind.LIST:
            answers = json.loads(state.answers)
            items = [*(answers.get(step.id) or []), value]
            answers[step.id] = items
            await self._save(state.id, answers=answers)
            await ctx.reply(_("Added ({n}). Another, or `done`.").format(n=len(items)))
            return
        await self._advance(ctx, state, dialogue, step, value)

    def _parse(self, step: Step, text: str, ctx: Context) -> Any:
        raw = text.strip()
        if not raw:
            raise UserError(_("I need an answer here (or `skip` if the question allows it)."))
        if len(raw) > ANSWER_MAX:
            raise UserError(
                _("That is {n} characters; please keep an answer under {limit}.").format(
                    n=len(raw), limit=ANSWER_MAX
                )
            )
        value: Any = raw
        if step.kind is AnswerKind.SCALE:
            try:
                value = int(raw)
            except ValueError:
                raise UserError(
                    _("Please answer with a number from {low} to {high}.").format(
                        low=step.low, high=step.high
                    )
                ) from None
            if not step.low <= value <= step.high:
                raise UserError(
                    _("Please answer with a number from {low} to {high}.").format(
                        low=step.low, high=step.high
                    )
                )
        elif step.kind is AnswerKind.CHOICE:
            lowered = raw.lower()
            chosen = None
            for index, choice in enumerate(step.choices, start=1):
                if lowered in (choice.value.lower(), choice.display.lower(), str(index)):
                    chosen = choice.value
            if chosen is None:
                raise UserError(_("Please pick one of the listed choices."))
            value = chosen
        elif step.kind is AnswerKind.DATETIME:
            now = self._clock.now()
            moment = parse_datetime(
                raw,
                ctx.timezone,
                now,
                prefer="past" if step.past_only else "future",
                country=ctx.country,
            )
            if step.past_only and moment > now + timedelta(minutes=1):
                raise UserError(
                    _(
                        "{time} has not happened yet. Give a time that has passed, such as "
                        "`now`, `today 18:00` or `yesterday 22:00`."
                    ).format(time=moment.strftime("%Y-%m-%d %H:%M"))
                )
            value = moment.isoformat()
        if step.validate is not None:
            value = step.validate(value)
        return value

    async def _advance(
        self, ctx: Context, state: DialogueState, dialogue: Dialogue, step: Step, value: Any
    ) -> None:
        answers = json.loads(state.answers)
        if value is None:
            answers.pop(step.id, None)
        else:
            answers[step.id] = value
        following = dialogue.after(step, value)
        if following == END:
            await self._save(state.id, answers=answers)
            token = state.token or f"{state.id}@{state.started_at.isoformat()}"
            outcome = Outcome(ctx.actor.key, state.community_id, answers, ctx, token)
            closing = await dialogue.finish(outcome)
            await self._close(state.id)
            await ctx.reply(closing)
            return
        history = [*json.loads(state.history), step.id]
        state = await self._save(state.id, answers=answers, step=following, history=history)
        await ctx.reply(self.question(state, dialogue))

    async def _save(
        self,
        state_id: int,
        *,
        answers: dict[str, Any] | None = None,
        step: str | None = None,
        history: list[str] | None = None,
        status: str | None = None,
        asking: str | None = None,
    ) -> DialogueState:
        """Write what changed; every write withdraws a question asked before (`asking`), unless
        it asks one."""
        async with self._sessions.begin() as session:
            state = await session.get(DialogueState, state_id)
            if state is None:
                raise UserError(_("That dialogue was closed."))
            if answers is not None:
                state.answers = json.dumps(answers)
            if step is not None:
                state.step = step
            if history is not None:
                state.history = json.dumps(history)
            if status is not None:
                state.status = status
            state.asking = asking
            state.updated_at = self._clock.now()
        return state

    @staticmethod
    async def _withdraw_questions(session: AsyncSession, actor_key: str) -> None:
        """Starting or resuming a dialogue withdraws what `cancel` or `clear` asked before, so a
        later `yes` never confirms a question the member has moved on from."""
        await session.execute(
            update(DialogueState)
            .where(DialogueState.actor_key == actor_key, DialogueState.asking.is_not(None))
            .values(asking=None)
        )

    async def _close(self, state_id: int) -> None:
        async with self._sessions.begin() as session:
            await session.execute(delete(DialogueState).where(DialogueState.id == state_id))


def _display(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def _preview(value: Any, limit: int = PREVIEW_MAX) -> str:
    """An earlier answer, shortened so a question stays one short message."""
    text = _display(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
