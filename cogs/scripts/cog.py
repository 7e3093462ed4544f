"""Facilitator scripts: post each step, keep time quietly, keep the speaking order."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import NonNegativeInt

from bot.core import (
    DATA_DIR,
    N_,
    Action,
    ActionHandler,
    ActionStyle,
    Actor,
    Attachment,
    AuditService,
    Choice,
    Clock,
    Cog,
    CogHooks,
    CommandSpec,
    CommunityInfo,
    Context,
    CrisisLines,
    Database,
    MeetingSchedule,
    MemberService,
    Message,
    NotFound,
    Option,
    OptionType,
    Outbox,
    OutboxRef,
    Part,
    PermissionDenied,
    ScheduledMeeting,
    Scheduler,
    Scope,
    Section,
    Target,
    Tier,
    UserError,
    closest_name,
    command,
    escape_markdown,
    file_hint,
    file_text,
    name_key,
    using_language,
)
from cogs.scripts import render
from cogs.scripts.script import (
    NAME_RE,
    Script,
    ScriptError,
    ScriptStep,
    load_directory,
    name_like,
    parse_script,
    rename,
)
from cogs.scripts.service import FORMER, AlreadyRunning, KeptStep, RunView, ScriptService

log = logging.getLogger("circlebot.scripts")

SCRIPTS_DIR = DATA_DIR / "scripts"
ACTION_PREFIX = "scripts"
PANEL = "scripts"  # the step panel of a channel: edited in place when its buttons are pressed
POST = "scripts.post."  # outbox keys of channel posts that show a member's pseudonym
PAGE = 1900
FACILITATOR_VERBS = ("next", "back", "pause", "resume", "end", "speaker")
MEMBER_VERBS = ("hand", "pass")


def script_name(description: str) -> Option:
    """The `name` option every script command takes, with name suggestions."""
    return Option(
        "name", OptionType.STRING, description, max_length=32, autocomplete="complete_script"
    )


class ScriptsConfig(Section):
    """Settings from `[cogs.scripts]`."""

    speaker_minutes: NonNegativeInt = 2  # the gentle per-speaker nudge; 0 turns it off
    default_script: str = "standard"


@dataclass(frozen=True)
class Meant:
    """What a facilitator command of this cog is aimed at (`ScriptsCog._meant`).

    `script`: the script named, None for the meeting's own (or the community's default);
    `meeting`: the scheduled meeting meant, None for none; `title`: the meeting's name for the
    texts (a title that names no scheduled meeting is kept as typed), None for none;
    `choices`: two or more meetings could be meant, so nothing is guessed and the member is
    asked which."""

    script: str | None = None
    meeting: ScheduledMeeting | None = None
    title: str | None = None
    choices: tuple[ScheduledMeeting, ...] = ()

    @property
    def ref(self) -> str | None:
        """The meeting for `Context.may`: `#id` for a scheduled one, else the title."""
        return f"#{self.meeting.meeting_id}" if self.meeting is not None else self.title


def _matching(
    meetings: list[ScheduledMeeting], ref: str, *, whole: bool = False
) -> list[ScheduledMeeting]:
    """The meetings (cancelled series aside) `ref` names, as the meetings part reads a
    reference: `#id` or id; else an exact title (any case); else, unless `whole`, the titles
    it begins. Several when several share the title or the beginning."""
    live = [m for m in meetings if not m.cancelled]
    text = ref.strip()
    if number := re.fullmatch(r"#?(\d{1,9})", text):
        return [m for m in live if m.meeting_id == int(number.group(1))]
    folded = text.casefold()
    exact = [m for m in live if m.title.casefold() == folded]
    if exact or whole or not folded:
        return exact
    return [m for m in live if m.title.casefold().startswith(folded)]


def _strip_fences(text: str) -> str:
    """Accept TOML pasted inside a Markdown code block."""
    body = text.strip()
    if body.startswith("```"):
        body = body.split("\n", 1)[1] if "\n" in body else ""
        if body.rstrip().endswith("```"):
            body = body.rstrip()[:-3]
    return body


class ScriptsCog(Cog):
    """Runs a meeting's script with the facilitator, one step at a time."""

    name = "scripts"
    description = "Meeting scripts: steps, timing and the speaking order"
    data_statement = (
        "While a script runs in a channel, keeps which step the meeting is at, the "
        "facilitator's account, and each step's speaking queue (who raised a hand, spoke or "
        "passed, with the name shown), so a restart resumes the meeting. All of it is deleted "
        "when the script ends. Nothing said in a meeting is stored. For imported scripts, "
        "keeps who imported them."
    )
    Config = ScriptsConfig

    def __init__(
        self,
        config: ScriptsConfig | None = None,
        *,
        audit: AuditService,
        clock: Clock,
        db: Database,
        members: MemberService,
        outbox: Outbox,
        scheduler: Scheduler,
        meetings: MeetingSchedule | None = None,
        crisis: CrisisLines | None = None,
    ) -> None:
        """`meetings`: `{next_meeting}` names the next one, `script start` finds the meeting
        starting here (without it the schedule is pointed to; who may steer is the core's
        `Context.may`, which the meetings cog tells who is a meeting's named facilitator);
        `crisis`: `{crisis_line}` lists the community's lines (without it, a general pointer).
        """
        super().__init__(config)
        self.audit = audit
        self.clock = clock
        self.db = db
        self.members = members
        self.outbox = outbox
        # a channel post naming a member (a step, the speaking order) is deleted when they erase
        outbox.on_unname(POST, self._post_without)
        self.scheduler = scheduler
        self.meetings = meetings
        self.crisis = crisis
        self.settings = config or ScriptsConfig()
        self.service = ScriptService(db.sessions, clock)
        self.builtin, self.load_problems = load_directory(SCRIPTS_DIR)
        for problem in self.load_problems:
            log.warning("data/scripts/%s", problem)

    def actions(self) -> dict[str, ActionHandler]:
        """Buttons on step messages carry ids like `scripts:12:3:next`."""
        return {ACTION_PREFIX: self.handle_action}

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Re-plan the quiet timers of every running script."""
        for run in await self.service.all_runs():
            try:
                script = await self._script(run.community_id, run.script_name)
            except NotFound:
                log.warning("run %s uses a script that no longer exists", run.id)
                continue
            self._plan(run, script)

    async def move_place(self, old_key: str, new_key: str) -> None:
        """A script running in a replaced room carries on in its replacement."""
        await self.service.move_place(old_key, new_key)

    async def delete_user_data(self, actor_key: str) -> None:
        """Take the person out of every speaking queue and imported-script record. A run they
        facilitated goes on (any facilitator or moderator, or the meeting's named
        facilitators, steer it), and its channel is told that the facilitator has left. The
        channel posts that named them went before this (`_post_without`)."""
        for run in await self.service.delete_user_data(actor_key):
            self.scheduler.cancel_prefix(f"{self.name}.{run.id}.step")
            with using_language(await self._language(run)):
                note = render.facilitator_left()
            await self.outbox.enqueue(
                f"{self.name}.{run.id}.left.{uuid.uuid4().hex}",
                Target(run.platform, run.channel_id),
                note,
                self.clock.now(),
                refs=(OutboxRef.community(run.community_id),),
            )

    async def _post_without(self, key: str, actor_key: str) -> Message | None:
        """A kept channel post (`_post`) without `actor_key`: None, so the outbox deletes it.
        Its text is not kept, and the run it showed has moved on or ended, so it cannot be
        told again without them."""
        return None

    async def delete_community_data(self, community_id: int) -> None:
        """Script runs in its channels and the scripts imported there."""
        await self.service.delete_community_data(community_id)

    async def export_user_data(self, actor_key: str) -> dict[str, Any]:
        """Where the person is in running meetings, and scripts they imported."""
        return await self.service.export_user_data(actor_key)

    # ---- scripts ---------------------------------------------------------------------------

    async def _scripts(self, community_id: int) -> dict[str, Script]:
        found = dict(self.builtin)
        for name, source in (await self.service.custom_sources(community_id)).items():
            try:
                found.setdefault(name, parse_script(source))
            except ScriptError:
                log.warning(
                    "imported script %s in community %s no longer parses", name, community_id
                )
        return found

    async def _script(self, community_id: int, name: str, prefix: str = "!") -> Script:
        """The script called `name` here; `prefix` names `script list` in the refusal."""
        key = name.strip().lower()
        if key in self.builtin:
            return self.builtin[key]
        source = await self.service.custom_source(community_id, key)
        if source is not None:
            try:
                return parse_script(source)
            except ScriptError:
                pass
        names = [*self.builtin, *await self.service.custom_sources(community_id)]
        near = closest_name(key, names)
        if near is not None and name_key(near) == name_key(key) and near != key:
            return await self._script(community_id, near, prefix)  # case, spaces, emoji aside
        hint = " " + render.did_you_mean(name=near) if near else ""
        listed = render.list_hint(prefix=prefix)
        raise NotFound(render.no_script(name=name[:40]) + hint + " " + listed)

    async def complete_meeting(self, ctx: Context, partial: str) -> list[Choice]:
        """The meetings by title this member may start a script for (when the meetings part is
        on): for the facilitator tier the community's coming meetings; for anyone else only
        those they are named facilitator of that are current (`_runnable`), soonest first."""
        if ctx.community is None or self.meetings is None:
            return []
        if ctx.tier >= Tier.FACILITATOR:
            titles = await self.meetings.meeting_titles(ctx.community.id, partial)
            return [Choice(t[:100]) for t in titles][:25]
        needle = partial.strip().casefold().lstrip("#")
        live = [
            m
            for m in await self._scheduled(ctx.community.id)
            if m.current
            and not m.cancelled
            and (not needle or needle in m.title.casefold() or needle == str(m.meeting_id))
        ]
        ours = await self._runnable(ctx, live)
        ours.sort(key=lambda m: (m.start is None, m.start, m.meeting_id))
        return [Choice(m.title[:100]) for m in ours][:25]

    def hooks(self) -> CogHooks:
        """Offer the script names to other cogs' options (a meeting's `script`), and say which
        meeting a facilitator command runs (its named facilitator may run it then)."""
        return CogHooks(suggestions={"script": self.complete_script}, meeting_of=self.meeting_of)

    async def complete_script(self, ctx: Context, partial: str) -> list[Choice]:
        """Suggest script names."""
        if ctx.community is None:
            return []
        needle = partial.strip().lower()
        return [
            Choice(s.name, f"{s.name}: {s.title}"[:100])
            for s in (await self._scripts(ctx.community.id)).values()
            if needle in s.name or needle in s.title.lower()
        ][:25]

    async def complete_step(self, ctx: Context, partial: str) -> list[Choice]:
        """Suggest the steps of the script running here."""
        run = await self.service.at_place(ctx.place.key)
        if run is None:
            return []
        script = await self._script(run.community_id, run.script_name)
        needle = partial.strip().lower()
        return [
            Choice(s.id, f"{i + 1}. {s.title}"[:100])
            for i, s in enumerate(script.steps)
            if needle in s.id or needle in s.title.lower()
        ][:25]

    # ---- which meeting a command runs ------------------------------------------------------

    async def _scheduled(self, community_id: int) -> list[ScheduledMeeting]:
        """The community's meetings, with a script or not (none without the meetings part)."""
        if self.meetings is None:
            return []
        try:
            return await self.meetings.scheduled_meetings(community_id)
        except Exception:
            log.exception("meetings.scheduled_meetings failed")
            return []

    async def _scripted(self, community_id: int) -> list[ScheduledMeeting]:
        """The community's meetings that name a script."""
        return [m for m in await self._scheduled(community_id) if m.script]

    async def _is_script(self, community_id: int, name: str) -> bool:
        try:
            await self._script(community_id, name)
        except NotFound:
            return False
        return True

    async def _meant(self, ctx: Context, script: str | None, meeting: str | None) -> Meant:
        """The one reading of what `script start` (and every facilitator command, through
        `meeting_of`) is aimed at, whether or not the meeting names a script:

        - unnamed words in the script's place that name no script here but are a meeting's
          title here (with the words after them, `script start Tuesday circle`) are the
          meeting;
        - a meeting given (`meeting:` or read so) is the one its `#id`, title or the start of
          its title names; a title that names none is kept for the texts;
        - else the meeting held here whose occurrence is current (from an hour before its
          start until half an hour after its end: the named facilitator's window);
        - two or more meetings fit: `choices`, to ask which.
        """
        community = ctx.require_community()
        known = await self._scheduled(community.id)
        words = ctx.read_from_words
        if script and "script" in words and not await self._is_script(community.id, script):
            typed = " ".join([script, *([meeting] if meeting and "meeting" in words else [])])
            if _matching(known, typed, whole=True):
                script, meeting = None, typed
        if meeting:
            found = _matching(known, meeting)
            if len(found) > 1:
                return Meant(script, choices=tuple(found))
            if found:
                return Meant(script, found[0], found[0].title)
            return Meant(script, None, meeting)
        here = [m for m in known if ctx.place.key in m.places and m.current and not m.cancelled]
        if len(here) > 1:
            return Meant(script, choices=tuple(here))
        if here:
            return Meant(script, here[0], here[0].title)
        return Meant(script)

    async def _runnable(
        self, ctx: Context, meetings: Sequence[ScheduledMeeting]
    ) -> list[ScheduledMeeting]:
        """Those of `meetings` the member may start a script for now (`Context.may`): all of
        them for the facilitator tier, else the current ones they are named facilitator of."""
        if ctx.tier >= Tier.FACILITATOR:
            return list(meetings)
        return [m for m in meetings if await ctx.may(Tier.FACILITATOR, f"#{m.meeting_id}")]

    async def _named_for_one(self, ctx: Context, choices: tuple[ScheduledMeeting, ...]) -> str:
        """`#id` of the first of `choices` the member may run as facilitator, else ""."""
        for choice in choices:
            if await ctx.may(Tier.FACILITATOR, f"#{choice.meeting_id}"):
                return f"#{choice.meeting_id}"
        return ""

    async def _scheduled_script(self, ctx: Context, meeting: ScheduledMeeting) -> Script:
        """The meeting's script; when it is gone, a refusal that says so and how to go on."""
        try:
            return await self._script(ctx.require_community().id, meeting.script, ctx.prefix)
        except NotFound:
            raise NotFound(
                render.meeting_script_gone(
                    meeting=escape_markdown(meeting.title),
                    name=escape_markdown(meeting.script),
                    id=meeting.meeting_id,
                    default=self.settings.default_script,
                    prefix=ctx.prefix,
                )
            ) from None

    # ---- who may do what -------------------------------------------------------------------

    async def _steer_check(self, ctx: Context, run: RunView) -> None:
        """Steering a run (a command or a button): the facilitator tier, or the named
        facilitator of the run's meeting while it is current (`Context.may`, the core's rule;
        someone taken off the meeting stops at once, even having started the run)."""
        if not await ctx.may(Tier.FACILITATOR, run.meeting):
            raise PermissionDenied(render.not_your_script())

    async def meeting_of(
        self, ctx: Context, spec: CommandSpec, values: Mapping[str, Any]
    ) -> str | None:
        """The meeting a facilitator command of this cog runs (`CogHooks.meeting_of`): the
        script running here's, else the one `_meant` reads from its `script` and `meeting`
        (`#id`; when several could be meant, one of them the member is named for, so the
        command itself asks which); None for none."""
        run = await self.service.at_place(ctx.place.key)
        if run is not None:
            return run.meeting
        script, meeting = values.get("script"), values.get("meeting")
        meant = await self._meant(
            ctx,
            script.strip() if isinstance(script, str) and script.strip() else None,
            " ".join(meeting.split()) if isinstance(meeting, str) and meeting.strip() else None,
        )
        if meant.choices:
            return await self._named_for_one(ctx, meant.choices) or None
        return meant.ref

    async def _run_here(self, ctx: Context) -> RunView:
        run = await self.service.at_place(ctx.place.key)
        if run is None:
            raise UserError(render.not_running(prefix=ctx.prefix))
        return run

    # ---- names -----------------------------------------------------------------------------

    async def _labels(
        self, run: RunView, keys: list[str], *, facilitator: bool = False, opening: bool = False
    ) -> list[str]:
        """What others see for these people: no two people of the run read the same
        (`MemberService.listed_names`): the facilitator by pseudonym or "a volunteer
        facilitator", everyone else by pseudonym or "member N", numbered in the order they
        first took part in the run and kept for the whole run; never the account name.
        Markdown-escaped. `facilitator`: the facilitator named as such (their role in the
        script's texts), not as one of the list."""
        if facilitator:
            names = await self.members.public_names(
                run.community_id, keys, facilitator=True, opening=opening
            )
            return [
                render.a_former_member() if key == FORMER else escape_markdown(name)
                for key, name in zip(keys, names, strict=True)
            ]
        shown = await self._run_labels(run, opening=opening)
        return [escape_markdown(shown[key]) for key in keys]

    async def _run_labels(self, run: RunView, *, opening: bool = False) -> dict[str, str]:
        """The label of everyone a run lists (see `_labels`), by actor key."""
        leader = run.facilitator_key
        fixed = {FORMER: render.a_former_member()}
        if leader != FORMER:
            fixed[leader] = await self.members.public_name(
                run.community_id, leader, facilitator=True, opening=opening
            )
        order = [
            leader,
            *run.names,
            *run.spoken,
            *run.passed,
            *([run.speaker_key] if run.speaker_key else []),
            *run.queue,
        ]
        return await self.members.listed_names(
            run.community_id, order, fixed=fixed, opening=opening
        )

    async def _label(
        self, run: RunView, key: str, *, facilitator: bool = False, opening: bool = False
    ) -> str:
        return (await self._labels(run, [key], facilitator=facilitator, opening=opening))[0]

    async def _public_name(self, ctx: Context, actor: Actor) -> str:
        """The name kept with the run for `actor` (the one others see; plain text)."""
        return await self.members.public_name(ctx.require_community().id, actor.key)

    async def _post(self, ctx: Context, run: RunView, message: Message | str) -> None:
        """Post `message` in the channel. A post that shows a pseudonym of someone the run
        knows is kept in the outbox (`Outbox.record_post`, whom it names and where), so when
        one of them erases their data the post is deleted on the platform."""
        posted = await ctx.reply(message, ephemeral=False)
        if not posted:
            return
        shown = Message.coerce(message)
        text = "".join(p for p in shown.text if isinstance(p, str))
        if shown.card is not None:
            card = shown.card
            fields = (f"{f.name} {f.value}" for f in card.fields)
            text += " ".join((card.title, card.description, card.footer, *fields))
        people = {
            run.facilitator_key,
            *run.names,
            *run.queue,
            *run.spoken,
            *run.passed,
            *([run.speaker_key] if run.speaker_key else []),
            *(key for kept in run.kept.values() for key in kept.people()),
        } - {FORMER}
        named = []
        for key in sorted(people):
            name = await self.members.pseudonym(run.community_id, key)
            if name and (name in text or escape_markdown(name) in text):
                named.append(key)
        if named:
            await self.outbox.record_post(
                f"{POST}{run.id}.{uuid.uuid4().hex}",
                Target(ctx.place.platform, ctx.place.id),
                posted,
                refs=(
                    *(OutboxRef.named(key) for key in named),
                    OutboxRef.community(run.community_id),
                ),
            )

    async def _queue_text(
        self, run: RunView, *, speaker: bool = True, you: str | None = None
    ) -> str:
        """The speaking order; `you`: the reader's actor key, marked "(you)" in a view only
        they see."""
        shown_speaker = run.speaker_key if speaker else None
        labels = await self._run_labels(run)

        def label(key: str) -> str:
            text = escape_markdown(labels[key])
            return render.you_marked(text) if key == you else text

        return render.queue_text(
            label(shown_speaker) if shown_speaker else None,
            [label(key) for key in run.queue[: render.SHOWN_QUEUE]],
            len(run.queue),
            len(run.passed),
        )

    # ---- messages --------------------------------------------------------------------------

    async def _next_meeting(self, run: RunView) -> list[Part]:
        if self.meetings is not None:
            try:
                found = await self.meetings.next_meeting(run.community_id, run.meeting)
            except Exception:
                log.exception("meetings.next_meeting failed")
                found = None
            if found:
                name, at = found
                return render.next_meeting(str(name), at)
        return render.no_next_meeting()

    async def _crisis_lines(
        self, run: RunView, community: CommunityInfo | None, prefix: str
    ) -> str:
        if self.crisis is not None:
            try:
                lines = await self.crisis.lines_for(
                    run.community_id,
                    (community.country if community else "") or None,
                    prefix=prefix,
                )
            except Exception:
                log.exception("crisis.lines_for failed")
                lines = ""
            if lines:
                return str(lines).rstrip().rstrip(".")  # the script's sentence supplies its own
        return render.default_crisis_lines()

    async def _values(
        self, run: RunView, step: ScriptStep, community: CommunityInfo | None, prefix: str
    ) -> dict[str, list[Part]]:
        used = " ".join((step.text, *step.prompts))
        values: dict[str, list[Part]] = {
            "meeting": [escape_markdown(run.meeting) if run.meeting else render.this_meeting()],
            "facilitator": [await self._label(run, run.facilitator_key, facilitator=True)],
            "community": [escape_markdown(community.name) if community else ""],
        }
        if "{next_meeting}" in used:
            values["next_meeting"] = await self._next_meeting(run)
        if "{crisis_line}" in used:
            values["crisis_line"] = [await self._crisis_lines(run, community, prefix)]
        return values

    async def _step_message(self, ctx: Context, run: RunView, script: Script) -> Message:
        step = script.steps[run.step_index]
        values = await self._values(run, step, ctx.community, ctx.prefix)
        base = f"{ACTION_PREFIX}:{run.id}:{run.step_index}"
        actions = render.buttons(base, script, run.step_index)
        ends_at = (
            run.step_started_at + timedelta(minutes=step.minutes)
            if step.minutes > 0 and run.paused_at is None
            else None
        )
        return render.step_message(
            script, run.step_index, values, ctx.prefix, actions, ends_at, PANEL
        )

    async def _post_step(self, ctx: Context, run: RunView, script: Script) -> None:
        self._plan(run, script)
        await self._post(ctx, run, await self._step_message(ctx, run, script))

    # ---- timers ----------------------------------------------------------------------------

    def _plan(self, run: RunView, script: Script) -> None:
        """Quiet nudges: the step's time for the facilitator, a turn's time for the speaker."""
        scheduler = self.scheduler
        scheduler.cancel_prefix(f"{self.name}.{run.id}.")
        if run.paused_at is not None or run.step_index >= len(script.steps):
            return
        step = script.steps[run.step_index]
        if step.minutes > 0 and not run.step_nudged and run.facilitator_key != FORMER:
            scheduler.at(
                f"{self.name}.{run.id}.step",
                run.step_started_at + timedelta(minutes=step.minutes),
                self._step_due,
                run.id,
                run.step_index,
                run.step_started_at,
            )
        minutes = self.settings.speaker_minutes
        if minutes > 0 and run.speaker_key and run.speaker_started_at and not run.speaker_nudged:
            scheduler.at(
                f"{self.name}.{run.id}.speaker",
                run.speaker_started_at + timedelta(minutes=minutes),
                self._speaker_due,
                run.id,
                run.speaker_key,
                run.speaker_started_at,
            )

    async def _language(self, run: RunView) -> str:
        community = await self.members.community_by_id(run.community_id)
        return community.language if community else "en"

    async def _step_due(self, run_id: int, index: int, started: datetime) -> None:
        if not await self.service.claim_step_nudge(run_id, index, started):
            return
        run = await self.service.by_id(run_id)
        if run is None:
            return
        script = await self._script(run.community_id, run.script_name)
        step = script.steps[index]
        with using_language(await self._language(run)):
            nudge = render.step_time_up(
                step=escape_markdown(step.title), minutes=render.minutes(step.minutes)
            )
        await self.outbox.enqueue(
            f"{self.name}.{run.id}.{index}.{started.isoformat()}.step",
            Target(run.platform, run.facilitator_key, is_dm=True),
            nudge,
            self.clock.now(),
        )

    async def _speaker_due(self, run_id: int, key: str, started: datetime) -> None:
        if not await self.service.claim_speaker_nudge(run_id, key, started):
            return
        run = await self.service.by_id(run_id)
        if run is None:
            return
        with using_language(await self._language(run)):
            text = render.share_time_note(minutes=self.settings.speaker_minutes)
        await self.outbox.enqueue(
            # once per turn (`claim_speaker_nudge`); the key never holds whom it went to, as
            # a settled row's key outlives the person's erasure
            f"{self.name}.{run.id}.{uuid.uuid4().hex}.speaker",
            Target(run.platform, key, is_dm=True),
            Message.of(text),
            self.clock.now(),
        )

    # ---- steering (shared by commands and buttons) -----------------------------------------

    async def _go(self, ctx: Context, run: RunView, index: int) -> None:
        """Move to step `index` (past the last: end). Hands are never dropped on the way
        (`ScriptService.move`): the channel is told whose hands stay kept with the step left
        behind, and sees the speaking order a step it comes back to had."""
        script = await self._script(run.community_id, run.script_name)
        if index >= len(script.steps):
            await self._finish(ctx, run)
            return
        left = run.step_index
        run = await self.service.move(run.id, index)
        await self._post_step(ctx, run, script)
        if left == index:
            return
        notes: list[str] = []
        kept = run.kept.get(left)
        if kept is not None and kept.waiting:
            note = await self._kept_note(ctx, run, script, left, kept)
            if script.steps[index].has_queue:
                note += " " + render.raise_here_too()
            notes.append(note)
        if run.queue or run.speaker_key or run.passed:
            step = escape_markdown(script.steps[index].title)
            notes.append(render.order_restored(step=step, queue=await self._queue_text(run)))
        if notes:
            await self._post(ctx, run, "\n".join(notes))

    async def _kept_note(
        self, ctx: Context, run: RunView, script: Script, index: int, kept: KeptStep
    ) -> str:
        """The speaking order kept for step `index`, with the command that goes back to it."""
        return render.kept_note(
            step=escape_markdown(script.steps[index].title),
            command=f"{ctx.prefix}script goto {script.steps[index].id}",
            queue=render.kept_queue_text(
                await self._label(run, kept.speaker_key) if kept.speaker_key else None,
                await self._labels(run, list(kept.queue[: render.SHOWN_QUEUE])),
                len(kept.queue),
                len(kept.passed),
            ),
        )

    async def _kept_notes(self, ctx: Context, run: RunView, script: Script) -> str:
        """`script status`: a line for each step left with people still waiting there."""
        lines = [
            await self._kept_note(ctx, run, script, index, kept)
            for index, kept in sorted(run.kept.items())
            if kept.waiting and index < len(script.steps)
        ]
        return "".join("\n" + line for line in lines)

    async def _finish(self, ctx: Context, run: RunView) -> None:
        self.scheduler.cancel_prefix(f"{self.name}.{run.id}.")
        await self.service.end(run.id)
        await ctx.reply(Message.of(render.script_ended(), panel=PANEL), ephemeral=False)

    async def _back(self, ctx: Context, run: RunView) -> None:
        if run.step_index == 0:
            raise UserError(render.at_first_step())
        await self._go(ctx, run, run.step_index - 1)

    async def _pause(self, ctx: Context, run: RunView) -> None:
        run = await self.service.pause(run.id)
        self.scheduler.cancel_prefix(f"{self.name}.{run.id}.")
        await ctx.reply(
            Message.of(
                render.paused(),
                actions=(
                    Action(
                        f"{ACTION_PREFIX}:{run.id}:{run.step_index}:resume",
                        render.resume_label(),
                        ActionStyle.PRIMARY,
                        "\u25b6\ufe0f",
                        "script resume",
                    ),
                ),
                panel=PANEL,
            ),
            ephemeral=False,
        )

    async def _resume(self, ctx: Context, run: RunView) -> None:
        run = await self.service.resume(run.id)
        script = await self._script(run.community_id, run.script_name)
        self._plan(run, script)
        back = render.resumed(step=escape_markdown(script.steps[run.step_index].title))
        step = await self._step_message(ctx, run, script)
        await self._post(ctx, run, step.with_prefix(back + "\n"))

    async def _queue_step(self, ctx: Context, run: RunView) -> ScriptStep:
        script = await self._script(run.community_id, run.script_name)
        step = script.steps[run.step_index]
        if not step.has_queue:
            raise UserError(render.no_hands_now(step=escape_markdown(step.title)))
        return step

    async def _hand(self, ctx: Context, run: RunView) -> None:
        await self._queue_step(ctx, run)
        run = await self.service.raise_hand(
            run.id, ctx.actor.key, await self._public_name(ctx, ctx.actor)
        )
        await self._post(
            ctx,
            run,
            render.hand_raised(
                name=await self._label(run, ctx.actor.key, opening=True),
                queue=await self._queue_text(run),
            ),
        )

    async def _pass(self, ctx: Context, run: RunView) -> None:
        step = await self._queue_step(ctx, run)
        if step.kind != "round_robin":
            raise UserError(render.no_round())
        run = await self.service.pass_turn(
            run.id, ctx.actor.key, await self._public_name(ctx, ctx.actor)
        )
        script = await self._script(run.community_id, run.script_name)
        self._plan(run, script)
        await self._post(
            ctx,
            run,
            render.passed(
                name=await self._label(run, ctx.actor.key, opening=True),
                queue=await self._queue_text(run),
            ),
        )

    async def _next_speaker(self, ctx: Context, run: RunView) -> None:
        await self._queue_step(ctx, run)
        run = await self.service.next_speaker(run.id)
        script = await self._script(run.community_id, run.script_name)
        self._plan(run, script)
        if run.speaker_key is None:
            await ctx.reply(
                render.no_hands_up(prefix=ctx.prefix),
                ephemeral=False,
            )
            return
        await self._post(
            ctx,
            run,
            render.floor_given(
                name=await self._label(run, run.speaker_key),
                queue=await self._queue_text(run, speaker=False),
            ).rstrip(),
        )

    # ---- buttons ---------------------------------------------------------------------------

    async def handle_action(self, ctx: Context, action_id: str) -> bool:
        """A button on a step message; ids are untrusted and must match the live run here."""
        parts = action_id.split(":")
        if (
            len(parts) != 4
            or parts[0] != ACTION_PREFIX
            or not parts[1].isdigit()
            or not parts[2].isdigit()
            or parts[3] not in (*FACILITATOR_VERBS, *MEMBER_VERBS)
        ):
            return False
        run = await self.service.by_id(int(parts[1]))
        if run is None or run.place_key != ctx.place.key:
            return False
        verb = parts[3]
        if int(parts[2]) != run.step_index:
            await ctx.reply(
                render.stale_button(),
                ephemeral=True,
            )
            return True
        if verb in FACILITATOR_VERBS:
            await self._steer_check(ctx, run)
        if verb == "next":
            await self._go(ctx, run, run.step_index + 1)
        elif verb == "back":
            await self._back(ctx, run)
        elif verb == "pause":
            await self._pause(ctx, run)
        elif verb == "resume":
            await self._resume(ctx, run)
        elif verb == "end":
            await self._finish(ctx, run)
        elif verb == "speaker":
            await self._next_speaker(ctx, run)
        elif verb == "hand":
            await self._hand(ctx, run)
        else:
            await self._pass(ctx, run)
        return True

    # ---- facilitator commands --------------------------------------------------------------

    @command(
        "script",
        "start",
        scope=Scope.COMMUNITY,
        options=(
            Option(
                "script",
                OptionType.STRING,
                "Which script (default: the standard meeting)",
                required=False,
                max_length=32,
                autocomplete="complete_script",
            ),
            Option(
                "meeting",
                OptionType.STRING,
                "The meeting's name, for the texts and the next-meeting time",
                required=False,
                max_length=100,
                published=True,
                autocomplete="complete_meeting",
            ),
        ),
    )
    async def script_start(
        self, ctx: Context, script: str | None = None, meeting: str | None = None
    ) -> None:
        """Start running a meeting script in this channel."""
        community = ctx.require_community()
        meant = await self._meant(
            ctx,
            script.strip() if script and script.strip() else None,
            " ".join(meeting.split()) if meeting else None,
        )
        if meant.choices:  # nothing is guessed; only those this member may run are offered
            ours = await self._runnable(ctx, meant.choices)
            if not ours:
                raise PermissionDenied(render.none_to_start(prefix=ctx.prefix))
            listed = render.meeting_list([(escape_markdown(m.title), m.meeting_id) for m in ours])
            command = f"{ctx.prefix}script start meeting:#{ours[0].meeting_id}"
            if len(ours) == 1:
                raise UserError(render.which_meeting_yours(meeting=listed, command=command))
            raise UserError(render.which_meeting(meetings=listed, command=command))
        if not await ctx.may(Tier.FACILITATOR, meant.ref):
            if meant.ref is None and self.meetings is not None:  # none of theirs is current
                raise PermissionDenied(render.none_to_start(prefix=ctx.prefix))
            raise PermissionDenied(render.cannot_start())
        if meant.script is None and meant.meeting is not None and meant.meeting.script:
            chosen = await self._scheduled_script(ctx, meant.meeting)
        else:
            chosen = await self._script(
                community.id, meant.script or self.settings.default_script, ctx.prefix
            )
        meeting = meant.title
        try:
            run = await self.service.begin(
                community_id=community.id,
                platform=ctx.place.platform,
                channel_id=ctx.place.id,
                place_key=ctx.place.key,
                script_name=chosen.name,
                meeting=meeting,
                facilitator_key=ctx.actor.key,
                facilitator_name=await self._public_name(ctx, ctx.actor),
            )
        except AlreadyRunning as exc:
            running = await self._script(community.id, exc.run.script_name)
            raise UserError(
                render.already_running(
                    title=escape_markdown(running.title),
                    n=exc.run.step_index + 1,
                    total=len(running.steps),
                    name=await self._label(exc.run, exc.run.facilitator_key),
                    prefix=ctx.prefix,
                )
            ) from None
        await self._post_step(ctx, run, chosen)

    @command("script", "next", scope=Scope.COMMUNITY)
    async def script_next(self, ctx: Context) -> None:
        """Next step (the last ends the script); hands still up stay kept with their step."""
        run = await self._run_here(ctx)
        await self._steer_check(ctx, run)
        await self._go(ctx, run, run.step_index + 1)

    @command("script", "back", scope=Scope.COMMUNITY)
    async def script_back(self, ctx: Context) -> None:
        """Go back to the previous step, with its speaking order as it was left."""
        run = await self._run_here(ctx)
        await self._steer_check(ctx, run)
        await self._back(ctx, run)

    @command(
        "script",
        "goto",
        scope=Scope.COMMUNITY,
        options=(
            Option(
                "step",
                OptionType.STRING,
                "The step's id or number",
                max_length=32,
                autocomplete="complete_step",
            ),
        ),
    )
    async def script_goto(self, ctx: Context, step: str) -> None:
        """Jump to a step by id or number; each step keeps its own speaking order."""
        run = await self._run_here(ctx)
        await self._steer_check(ctx, run)
        script = await self._script(run.community_id, run.script_name)
        index = script.index_of(step)
        if index is None:
            raise NotFound(
                render.no_such_step(
                    step=step[:32], steps=", ".join(s.id for s in script.steps)[:1500]
                )
            )
        await self._go(ctx, run, index)

    @command("script", "pause", scope=Scope.COMMUNITY)
    async def script_pause(self, ctx: Context) -> None:
        """Pause the script and its clock."""
        run = await self._run_here(ctx)
        await self._steer_check(ctx, run)
        await self._pause(ctx, run)

    @command("script", "resume", scope=Scope.COMMUNITY)
    async def script_resume(self, ctx: Context) -> None:
        """Carry on after a pause."""
        run = await self._run_here(ctx)
        await self._steer_check(ctx, run)
        await self._resume(ctx, run)

    @command("script", "end", scope=Scope.COMMUNITY)
    async def script_end(self, ctx: Context) -> None:
        """End the script here; its speaking queue is deleted."""
        run = await self._run_here(ctx)
        await self._steer_check(ctx, run)
        await self._finish(ctx, run)

    @command("script", "status", scope=Scope.COMMUNITY, ephemeral=True)
    async def script_status(self, ctx: Context) -> None:
        """Show the current step, the time used and left, and the speaking queue."""
        run = await self._run_here(ctx)
        script = await self._script(run.community_id, run.script_name)
        step = script.steps[run.step_index]
        now = run.paused_at or self.clock.now()
        used = max(0.0, (now - run.step_started_at).total_seconds() / 60)
        total = max(0.0, (now - run.started_at).total_seconds() / 60)
        shown = render.status(
            script,
            run.step_index,
            used,
            total,
            await self._label(run, run.facilitator_key, facilitator=True),
            run.paused_at is not None,
            await self._queue_text(run, you=ctx.actor.key) if step.has_queue else None,
        )
        await ctx.reply(shown + await self._kept_notes(ctx, run, script), ephemeral=True)

    @command("script", "next-speaker", scope=Scope.COMMUNITY)
    async def script_next_speaker(self, ctx: Context) -> None:
        """Give the floor to the next raised hand."""
        run = await self._run_here(ctx)
        await self._steer_check(ctx, run)
        await self._next_speaker(ctx, run)

    @command(
        "script",
        "add",
        scope=Scope.COMMUNITY,
        options=(Option("member", OptionType.USER, "Who to add to the speaking queue"),),
    )
    async def script_add(self, ctx: Context, member: Actor) -> None:
        """Add someone (say, a late joiner) to the end of the speaking queue."""
        run = await self._run_here(ctx)
        await self._steer_check(ctx, run)
        await self._queue_step(ctx, run)
        name = await self.members.public_name(ctx.require_community().id, member.key, opening=True)
        run = await self.service.add(run.id, member.key, name)
        await self._post(
            ctx,
            run,
            render.already_queued(
                name=await self._label(run, member.key, opening=True),
                queue=await self._queue_text(run),
            ),
        )

    # ---- member commands -------------------------------------------------------------------

    @command("hand", "raise", scope=Scope.COMMUNITY, text_default=True)
    async def hand_raise(self, ctx: Context) -> None:
        """Raise your hand to share in this round or discussion."""
        await self._hand(ctx, await self._run_here(ctx))

    @command("hand", "lower", scope=Scope.COMMUNITY)
    async def hand_lower(self, ctx: Context) -> None:
        """Lower your hand, in this step or one the meeting will come back to."""
        run = await self._run_here(ctx)
        run, elsewhere = await self.service.lower_hand(run.id, ctx.actor.key)
        name = await self._label(run, ctx.actor.key, opening=True)
        if elsewhere:
            script = await self._script(run.community_id, run.script_name)
            steps = ", ".join(escape_markdown(script.steps[i].title) for i in elsewhere)
            await self._post(ctx, run, render.hand_lowered_kept(name=name, steps=steps))
            return
        await self._post(
            ctx,
            run,
            render.hand_lowered(name=name, queue=await self._queue_text(run)),
        )

    @command("pass", scope=Scope.COMMUNITY)
    async def pass_round(self, ctx: Context) -> None:
        """Sit this round out; passing is always fine."""
        await self._pass(ctx, await self._run_here(ctx))

    # ---- managing scripts ------------------------------------------------------------------

    @command("script", "list", tier=Tier.FACILITATOR, scope=Scope.COMMUNITY, ephemeral=True)
    async def script_list(self, ctx: Context) -> None:
        """List the scripts this community can run."""
        scripts = await self._scripts(ctx.require_community().id)
        problems = self.load_problems if ctx.tier >= Tier.MODERATOR else []
        shown = render.script_list(list(scripts.values()), ctx.prefix, problems, PAGE + 90)
        await ctx.reply(shown, ephemeral=True)

    @command(
        "script",
        "preview",
        tier=Tier.FACILITATOR,
        scope=Scope.COMMUNITY,
        ephemeral=True,
        options=(script_name(N_("Which script")),),
    )
    async def script_preview(self, ctx: Context, name: str) -> None:
        """Show a whole script, step by step, before running it."""
        script = await self._script(ctx.require_community().id, name, ctx.prefix)
        for page in render.preview(script, PAGE):
            await ctx.reply(page, ephemeral=True)

    @command(
        "script",
        "import",
        tier=Tier.MODERATOR,
        scope=Scope.COMMUNITY,
        ephemeral=True,
        options=(
            Option(
                "script_toml",
                OptionType.STRING,
                "The script as TOML text (an export of the standard script shows the format)",
                required=False,
                max_length=6000,
            ),
            Option(
                "file",
                OptionType.ATTACHMENT,
                "The script as a .toml file instead of text",
                required=False,
            ),
        ),
    )
    async def script_import(
        self, ctx: Context, script_toml: str | None = None, file: Attachment | None = None
    ) -> None:
        """Add or replace a script from TOML text or a file; every problem is shown by line."""
        community = ctx.require_community()
        if file is not None and script_toml:
            raise UserError(render.import_text_and_file())
        if file is None and not script_toml:
            raise UserError(render.import_nothing_given() + " " + file_hint(ctx, "script import"))
        source = _strip_fences(file_text(file) if file is not None else script_toml or "")
        try:
            script = parse_script(source)
        except ScriptError as exc:
            raise UserError(render.problems_text(render.import_refused(), exc.problems)) from None
        if script.name in self.builtin:
            raise UserError(render.cannot_replace_builtin(name=script.name))
        if await self.service.running_script(community.id, script.name):
            raise UserError(render.running_cannot_import(name=script.name))
        replaced = await self.service.save_custom(community.id, script.name, source, ctx.actor.key)
        await self.audit.record(
            community.id,
            ctx.actor.key,
            "scripts.import",
            f"name={script.name} steps={len(script.steps)} replaced={replaced}",
        )
        text = render.replaced() if replaced else render.imported()
        await ctx.reply(
            (text + render.import_summary()).format(
                name=script.name,
                title=escape_markdown(script.title),
                n=len(script.steps),
                prefix=ctx.prefix,
            ),
            ephemeral=True,
        )

    @command(
        "script",
        "export",
        tier=Tier.MODERATOR,
        scope=Scope.COMMUNITY,
        ephemeral=True,
        options=(script_name(N_("Which script")),),
    )
    async def script_export(self, ctx: Context, name: str) -> None:
        """Get a script as a TOML file to edit and import again."""
        script = await self._script(ctx.require_community().id, name, ctx.prefix)
        await ctx.reply(
            Message.of(
                render.export_caption(name=script.name),
                attachment=Attachment(
                    f"{script.name}.toml", script.source.encode("utf-8"), "application/toml"
                ),
            ),
            ephemeral=True,
        )

    @command(
        "script",
        "delete",
        tier=Tier.MODERATOR,
        scope=Scope.COMMUNITY,
        ephemeral=True,
        options=(script_name(N_("Which imported script")),),
    )
    async def script_delete(self, ctx: Context, name: str) -> None:
        """Delete an imported script (built-in ones can only be copied)."""
        community = ctx.require_community()
        key = name.strip().lower()
        if key in self.builtin:
            raise UserError(render.cannot_delete_builtin(name=key, prefix=ctx.prefix))
        if await self.service.running_script(community.id, key):
            raise UserError(render.running_cannot_delete(name=key))
        using = [  # meetings still to come: over and cancelled ones say so if they need it
            m
            for m in await self._scripted(community.id)
            if m.script.casefold() == key and m.start is not None
        ]
        if using and await self.service.custom_source(community.id, key) is not None:
            raise UserError(
                render.meetings_use_script(
                    name=key,
                    meetings=render.meeting_list(
                        [(escape_markdown(m.title), m.meeting_id) for m in using]
                    ),
                    n=len(using),
                    id=using[0].meeting_id,
                    default=self.settings.default_script,
                    prefix=ctx.prefix,
                )
            )
        if not await self.service.delete_custom(community.id, key):
            raise NotFound(render.no_script_listed(name=name[:40], prefix=ctx.prefix))
        await self.audit.record(community.id, ctx.actor.key, "scripts.delete", f"name={key}")
        await ctx.reply(render.script_deleted(name=key), ephemeral=True)

    @command(
        "script",
        "copy",
        tier=Tier.MODERATOR,
        scope=Scope.COMMUNITY,
        ephemeral=True,
        options=(
            script_name(N_("The script to copy")),
            Option("new_name", OptionType.STRING, "The copy's name", max_length=32),
        ),
    )
    async def script_copy(self, ctx: Context, name: str, new_name: str) -> None:
        """Copy a script under a new name, to adapt it for this community."""
        community = ctx.require_community()
        original = await self._script(community.id, name, ctx.prefix)
        target = new_name.strip().lower()
        if not NAME_RE.match(target):  # before the copy: its name line would be the reason
            suggestion = name_like(new_name)
            if suggestion in self.builtin or (
                suggestion and await self.service.custom_source(community.id, suggestion)
            ):
                suggestion = ""  # taken: offering it would only be refused next
            command = f"{ctx.prefix}script copy {original.name} {suggestion}"
            raise UserError(render.name_rule(new_name.strip()[:40], suggestion, command))
        if target in self.builtin or await self.service.custom_source(community.id, target):
            raise UserError(render.name_taken(name=target[:32]))
        try:
            copy = parse_script(rename(original.source, target))
        except ScriptError as exc:
            raise UserError(render.problems_text(render.name_unusable(), exc.problems)) from None
        await self.service.save_custom(community.id, copy.name, copy.source, ctx.actor.key)
        await self.audit.record(
            community.id, ctx.actor.key, "scripts.copy", f"name={original.name} new={copy.name}"
        )
        await ctx.reply(
            render.copied(name=original.name, new=copy.name, prefix=ctx.prefix),
            ephemeral=True,
        )
