"""The words of the scripts cog: step messages, the speaking queue, status, lists, previews.

Pure functions of what the cog looked up (names already chosen and escaped by the cog); the
cog wires commands to the service and to these. A script's own texts pass through `_()` so a
translated catalog can carry the shipped scripts too (they are in the template).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.core import (
    Action,
    ActionStyle,
    Command,
    Message,
    Part,
    When,
    _,
    escape_markdown,
    fill_parts,
    ngettext,
    person_label,
)
from cogs.scripts.script import Script, ScriptStep, render

SHOWN_QUEUE = 20
MAX_SHOWN_PROBLEMS = 15


def kind_label(step: ScriptStep) -> str:
    """What kind of step this is, in words."""
    return {
        "read_aloud": _("read aloud"),
        "round_robin": _("round: one person at a time"),
        "facilitator_choice": _("facilitator's choice"),
        "open_discussion": _("open discussion"),
        "announcement": _("announcement"),
    }[step.kind]


def minutes(value: float) -> str:
    """`5` or `2.5`: minutes without a needless `.0`."""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def with_when(template: str, when: datetime, style: str = "full", **values: str) -> list[Part]:
    """A translated template holding `{time}`, split so the time renders per reader."""
    before, _sep, after = template.partition("{time}")
    return [before.format(**values), When(when, style), after.format(**values)]


def problems_text(title: str, problems: Sequence[object]) -> str:
    """A title and the first problems of a script, one per line."""
    shown = [f"- {escape_markdown(str(p))}" for p in problems[:MAX_SHOWN_PROBLEMS]]
    more = len(problems) - MAX_SHOWN_PROBLEMS
    if more > 0:
        shown.append(_("- and {n} more").format(n=more))
    return "\n".join([title, *shown])


def queue_text(speaker: str | None, queue: Sequence[str], waiting: int, passed: int) -> str:
    """`Sharing now: **ana**. Hands up: 1. ben, 2. lee.`; `queue` holds the first labels of
    the `waiting` people whose hands are up."""
    parts: list[str] = []
    if speaker is not None:
        parts.append(_("Sharing now: **{name}**.").format(name=speaker))
    if queue:
        names = [f"{i + 1}. {label}" for i, label in enumerate(queue)]
        if waiting > len(queue):
            names.append(_("and {n} more").format(n=waiting - len(queue)))
        parts.append(_("Hands up: {names}.").format(names=", ".join(names)))
    elif speaker is None:
        parts.append(_("No hands are up."))
    if passed:
        parts.append(_("Passed: {n}.").format(n=passed))
    return " ".join(parts)


def kept_queue_text(speaker: str | None, queue: Sequence[str], waiting: int, passed: int) -> str:
    """`queue_text` for a step the meeting has left: `**ana** had the floor. Hands up: ...`."""
    hands = queue_text(None, queue, waiting, passed)
    if speaker is None:
        return hands
    return _("**{name}** had the floor.").format(name=speaker) + " " + hands


def no_next_meeting() -> list[Part]:
    """`{next_meeting}` when the meetings cog knows of none."""
    return [_("the time on this community's meeting schedule")]


def next_meeting(name: str, at: datetime) -> list[Part]:
    """`{next_meeting}`: its name and time."""
    return with_when(_("{name}, {time}"), at, name=escape_markdown(name))


def default_crisis_lines() -> str:
    """`{crisis_line}` when the crisis cog has no lines for the community."""
    return _(
        "if you need urgent help, call your local emergency number. "
        "[findahelpline.com](https://findahelpline.com) lists free, confidential helplines "
        "in many countries"
    )


def this_meeting() -> str:
    """`{meeting}` when the run belongs to no scheduled meeting."""
    return _("this meeting")


def step_message(
    script: Script,
    index: int,
    values: Mapping[str, Sequence[Part]],
    prefix: str,
    actions: tuple[Action, ...],
    ends_at: datetime | None = None,
    panel: str | None = None,
) -> Message:
    """The post for step `index`: heading, the step's text and prompts, how to take part, and
    (for a timed step that is not paused) when its time is up, as a relative time."""
    step = script.steps[index]
    talk = _("cross-talk welcome") if step.cross_talk else _("no cross-talk, please")
    parts: list[Part] = [
        _("**{title}** · step {n} of {total} · {kind} · about {minutes} min · {talk}").format(
            title=escape_markdown(step.title),
            n=index + 1,
            total=len(script.steps),
            kind=kind_label(step),
            minutes=minutes(step.minutes),
            talk=talk,
        ),
        "\n",
    ]
    if ends_at is not None:
        parts.extend(
            [*with_when(_("Time for this step is up {time}."), ends_at, "relative"), "\n"]
        )
    parts.extend(render(_(step.text), values))
    for prompt in step.prompts:
        parts.extend(["\n- ", *render(_(prompt), values)])
    if step.kind == "round_robin":
        parts.append(
            "\n"
            + _(
                "*Raise a hand with `{prefix}hand raise` when you'd like to share, or "
                "`{prefix}pass` to sit this one out. Passing is always fine.*"
            ).format(prefix=prefix)
        )
    elif step.kind == "open_discussion":
        parts.append(
            "\n"
            + _("*Raise a hand with `{prefix}hand raise` to join the speaking order.*").format(
                prefix=prefix
            )
        )
    return Message.of(*parts, actions=actions, panel=panel)


def buttons(base: str, script: Script, index: int) -> tuple[Action, ...]:
    """The facilitator's and members' buttons under step `index` (ids start with `base`)."""
    step = script.steps[index]
    last = index + 1 >= len(script.steps)
    primary, success, danger = ActionStyle.PRIMARY, ActionStyle.SUCCESS, ActionStyle.DANGER
    shown = [
        Action(
            f"{base}:next",
            _("Finish") if last else _("Next step"),
            primary,
            "\u23ed\ufe0f",
            "script next",
        )
    ]
    if index > 0:
        shown.append(
            Action(f"{base}:back", _("Back"), emoji="\u23ee\ufe0f", command="script back")
        )
    if step.has_queue:
        shown.append(
            Action(
                f"{base}:speaker",
                _("Next speaker"),
                emoji="\U0001f3a4",
                command="script next-speaker",
            )
        )
        shown.append(Action(f"{base}:hand", _("Raise hand"), success, "\u270b", "hand raise"))
    if step.kind == "round_robin":
        shown.append(Action(f"{base}:pass", _("Pass"), emoji="\U0001f44b", command="pass"))
    shown.append(Action(f"{base}:pause", _("Pause"), emoji="\u23f8\ufe0f", command="script pause"))
    shown.append(Action(f"{base}:end", _("End"), danger, "\u23f9\ufe0f", "script end"))
    return tuple(shown)


def status(
    script: Script,
    index: int,
    used_minutes: float,
    total_minutes: float,
    facilitator: str,
    paused: bool,
    queue: str | None,
) -> str:
    """`script status`: where the meeting is, the time used and left, and the queue."""
    step = script.steps[index]
    left = step.minutes - used_minutes
    timing = (
        _("about {n} min left").format(n=int(left + 0.999))
        if left > 0
        else _("{n} min past the plan").format(n=int(-left))
    )
    lines = [
        _("**{title}**, step {n} of {total}: **{step}**").format(
            title=escape_markdown(script.title),
            n=index + 1,
            total=len(script.steps),
            step=escape_markdown(step.title),
        ),
        _("This step: {used} of {planned} min used, {timing}.").format(
            used=int(used_minutes), planned=minutes(step.minutes), timing=timing
        ),
        _("Meeting so far: {used} of {planned} min.").format(
            used=int(total_minutes), planned=minutes(script.minutes)
        ),
        _("Facilitator: {name}.").format(name=facilitator),
    ]
    if paused:
        lines.append(_("The script is paused."))
    if queue is not None:
        lines.append(queue)
    return "\n".join(lines)


def script_list(
    scripts: Sequence[Script], prefix: str, problems: Sequence[str], limit: int
) -> str:
    """`script list`: each script with its length and origin; load problems for moderators."""
    lines = [_("Scripts you can start with `{prefix}script start NAME`:").format(prefix=prefix)]
    for s in scripts:
        origin = _("built-in") if s.builtin else _("imported")
        lines.append(
            _("- `{name}`: {title} ({minutes} min, {n} steps, {origin})").format(
                name=s.name,
                title=escape_markdown(_(s.title)),
                minutes=minutes(s.minutes),
                n=len(s.steps),
                origin=origin,
            )
        )
    if problems:
        lines.append(_("Script files that could not be loaded:"))
        lines.extend(f"- {escape_markdown(p)}" for p in problems[:MAX_SHOWN_PROBLEMS])
    return "\n".join(lines)[:limit]


def preview(script: Script, page_chars: int) -> list[str]:
    """`script preview`: the whole script with placeholders named, in pages."""
    shown = {
        "meeting": _("[meeting name]"),
        "facilitator": _("[facilitator]"),
        "next_meeting": _("[next meeting time]"),
        "crisis_line": _("[crisis lines for this community]"),
        "community": _("[community name]"),
    }
    values: dict[str, list[Part]] = {k: [v] for k, v in shown.items()}
    blocks = [
        f"**{escape_markdown(_(script.title))}** ({minutes(script.minutes)} min)\n"
        + escape_markdown(_(script.description) if script.description else "")
    ]
    for i, step in enumerate(script.steps):
        talk = _("cross-talk welcome") if step.cross_talk else _("no cross-talk")
        body = "".join(str(p) for p in render(_(step.text), values))
        prompts = "".join(
            "\n- " + "".join(str(p) for p in render(_(prompt), values)) for prompt in step.prompts
        )
        blocks.append(
            f"**{i + 1}. {escape_markdown(step.title)}** (`{step.id}`, {kind_label(step)}, "
            f"{minutes(step.minutes)} min, {talk})\n{body}{prompts}"
        )
    pages: list[str] = []
    for block in blocks:
        if pages and len(pages[-1]) + len(block) + 2 <= page_chars:
            pages[-1] += "\n\n" + block
        else:
            pages.append(block)
    if len(pages) > 1:
        pages = [f"{page}\n*({n}/{len(pages)})*" for n, page in enumerate(pages, 1)]
    return pages


# The cog's replies: errors, questions and confirmations, each in the reader's language
# (cog.py only chooses which one to send).


def not_your_script() -> str:
    return _("Only a facilitator or this meeting's named facilitator can steer the script.")


def replaced() -> str:
    return _("Replaced **{name}**")


def imported() -> str:
    return _("Imported **{name}**")


def list_hint(prefix: object) -> str:
    return _("`{prefix}script list` shows them.").format(prefix=prefix)


def you_marked(label: str) -> str:
    """The reader's own place in a list only they see: `member 2 (you)`."""
    return _("{label} (you)").format(label=label)


def a_former_member() -> str:
    return person_label("former")


def facilitator_left() -> Message:
    """Told to the channel (from the outbox) when the facilitator of the script running there
    erased their data: the run goes on, and who may steer it."""
    return Message.of(
        *fill_parts(
            _(
                "The facilitator has left. The script goes on where it was: a facilitator or "
                "moderator, or another facilitator named for this meeting, can steer it "
                "({command})."
            ),
            {"command": [Command("script next")]},
        )
    )


def script_ended() -> str:
    return _(
        "The meeting script has ended. Thank you all for being here. Nothing said in "
        "this meeting was saved by the bot."
    )


def at_first_step() -> str:
    return _("This is the first step; there is nothing before it.")


def no_round() -> str:
    return _("There is no round to pass on right now.")


def cannot_start() -> str:
    return _(
        "Only a facilitator, or the meeting's named facilitator from an hour before it starts, "
        "can start its script here."
    )


def none_to_start(prefix: object) -> str:
    """`script start` by someone without the facilitator role, and no meeting here they are
    named facilitator of is current: nothing was started."""
    return _(
        "There's no meeting here you can run now. Only a facilitator, or the meeting's named "
        "facilitator from an hour before it starts, can start its script here; "
        "`{prefix}meeting list` shows the meetings and their times."
    ).format(prefix=prefix)


def import_text_and_file() -> str:
    return _("Give the script as text or as a file, not both.")


def step_time_up(step: object, minutes: object) -> Message:
    """The facilitator's private nudge (sent from the outbox: the command is a `Command` part,
    shown with the facilitator's platform prefix)."""
    return Message.of(
        *fill_parts(
            _(
                "Quiet note, only for you: the time planned for **{step}** ({minutes} min) is "
                "up. Move on whenever the room is ready ({command}); no need to rush anyone."
            ),
            {
                "step": [str(step)],
                "minutes": [str(minutes)],
                "command": [Command("script next")],
            },
        )
    )


def share_time_note(minutes: object) -> str:
    return _(
        "A gentle note, just for you: you've been sharing for about {minutes} minutes. "
        "Take a moment to finish your thought, so everyone gets a turn."
    ).format(minutes=minutes)


def paused() -> str:
    return _("The script is paused; the step clock has stopped. Take the time you need.")


def stale_button() -> str:
    return _("That button belongs to an earlier step; use the newest step message.")


def did_you_mean(name: object) -> str:
    return _("Did you mean `{name}`?").format(name=name)


def not_running(prefix: object) -> str:
    return _(
        "No meeting script is running here. A facilitator can start one with "
        "`{prefix}script start`."
    ).format(prefix=prefix)


def resumed(step: object) -> str:
    return _("We're back, at **{step}**.").format(step=step)


def no_hands_now(step: object) -> str:
    return _("Hands are for rounds and open discussion; the current step is **{step}**.").format(
        step=step
    )


def hand_raised(name: object, queue: object) -> str:
    return _("{name} raised a hand. {queue}").format(name=name, queue=queue)


def passed(name: object, queue: object) -> str:
    return _("{name} passes this round, and that's fine. {queue}").format(name=name, queue=queue)


def no_such_step(step: object, steps: object) -> str:
    return _("This script has no step `{step}`. Its steps: {steps}.").format(
        step=step, steps=steps
    )


def already_queued(name: object, queue: object) -> str:
    return _("{name} is in the queue. {queue}").format(name=name, queue=queue)


def hand_lowered(name: object, queue: object) -> str:
    return _("{name} lowered their hand. {queue}").format(name=name, queue=queue)


def hand_lowered_kept(name: object, steps: object) -> str:
    """A hand lowered in a step the meeting has left (where it was kept up)."""
    return _("{name} lowered their hand for **{steps}**.").format(name=name, steps=steps)


def kept_note(step: object, command: object, queue: object) -> str:
    """Said when the meeting leaves a step where people still wait to speak, and in status."""
    return _(
        "The speaking order of **{step}** is kept for when the meeting goes back there "
        "(`{command}`), so nobody's hand is lost: {queue}"
    ).format(step=step, command=command, queue=queue)


def raise_here_too() -> str:
    return _("To speak in this step too, raise your hand here.")


def order_restored(step: object, queue: object) -> str:
    """Said when the meeting comes back to a step whose speaking order was kept."""
    return _("Back at **{step}**, with its speaking order as it was: {queue}").format(
        step=step, queue=queue
    )


def import_nothing_given() -> str:
    return _("Give the script as TOML text or as a file.")


def import_refused() -> str:
    return _("That script was not imported. Please fix:")


def cannot_replace_builtin(name: object) -> str:
    return _(
        "`{name}` is a built-in script and cannot be replaced. Give yours another `name`."
    ).format(name=name)


def running_cannot_import(name: object) -> str:
    return _("`{name}` is running in a channel now; import it after that meeting.").format(
        name=name
    )


def cannot_delete_builtin(name: object, prefix: object) -> str:
    return _(
        "`{name}` is built in and cannot be deleted. To change it, copy it with "
        "`{prefix}script copy {name} NEW-NAME` and edit the copy."
    ).format(name=name, prefix=prefix)


def running_cannot_delete(name: object) -> str:
    return _("`{name}` is running in a channel now; end that meeting first.").format(name=name)


def no_script_listed(name: object, prefix: object) -> str:
    return _("There is no script called `{name}` here. `{prefix}script list` shows them.").format(
        name=name, prefix=prefix
    )


def script_deleted(name: object) -> str:
    return _("Deleted the script **{name}**.").format(name=name)


def name_taken(name: object) -> str:
    return _("A script called `{name}` already exists; pick another name.").format(name=name)


def name_rule(typed: object, suggestion: str, command: str) -> str:
    """`typed` is not a script name; `command` is the same command with `suggestion`."""
    rule = _("Script names use 1-32 lower-case letters, digits, - or _.")
    if not suggestion:
        return _("`{typed}` can't be a script name.").format(typed=typed) + " " + rule
    return (
        _("`{typed}` can't be a script name.").format(typed=typed)
        + " "
        + rule
        + " "
        + _("Did you mean `{command}`?").format(command=command)
    )


def name_unusable() -> str:
    return _("That name cannot be used:")


def copied(name: object, new: object, prefix: object) -> str:
    return _(
        "Copied **{name}** to **{new}**. Export it with `{prefix}script export {new}`, "
        "edit it, and import it again."
    ).format(name=name, new=new, prefix=prefix)


def no_hands_up(prefix: object) -> str:
    return _(
        "No hands are up. Wait a moment for anyone else, or move on with `{prefix}script next`."
    ).format(prefix=prefix)


def already_running(title: object, n: object, total: object, name: object, prefix: object) -> str:
    return _(
        "A script is already running here: {title}, at step {n} of {total}, "
        "facilitated by {name}. Only one script runs per channel; it can be ended "
        "with `{prefix}script end`."
    ).format(title=title, n=n, total=total, name=name, prefix=prefix)


def import_summary() -> str:
    return _(": {title}, {n} steps. See it with `{prefix}script preview {name}`.")


def export_caption(name: object) -> str:
    return _("Here is **{name}** as TOML.").format(name=name)


def no_script(name: object) -> str:
    return _("There is no script called `{name}` here.").format(name=name)


def resume_label() -> str:
    return _("Resume")


def floor_given(name: object, queue: object) -> str:
    return _("The floor is yours, **{name}**. {queue}").format(name=name, queue=queue)


MEETINGS_LISTED = 5


def meeting_list(meetings: Sequence[tuple[str, int]]) -> str:
    """`**Circle** (#1), **Evening** (#4)`: meetings by escaped title and number."""
    shown = [f"**{title}** (#{n})" for title, n in meetings[:MEETINGS_LISTED]]
    if len(meetings) > MEETINGS_LISTED:
        shown.append(_("and {n} more").format(n=len(meetings) - MEETINGS_LISTED))
    return ", ".join(shown)


def meetings_use_script(
    name: object, meetings: object, n: int, id: object, default: object, prefix: object
) -> str:
    return ngettext(
        "`{name}` is the script of a meeting: {meetings}. Give it another script first, "
        "e.g. `{prefix}meeting edit #{id} script:{default}`, then delete `{name}`.",
        "`{name}` is the script of {n} meetings: {meetings}. Give them another script "
        "first, e.g. `{prefix}meeting edit #{id} script:{default}`, then delete `{name}`.",
        n,
    ).format(name=name, meetings=meetings, n=n, id=id, default=default, prefix=prefix)


def meeting_script_gone(
    meeting: object, name: object, id: object, default: object, prefix: object
) -> str:
    return _(
        "The script of **{meeting}**, `{name}`, no longer exists here, so nothing was "
        "started. Start another by name, e.g. `{prefix}script start {default}`, or give "
        "the meeting one with `{prefix}meeting edit #{id} script:NAME`."
    ).format(meeting=meeting, name=name, id=id, default=default, prefix=prefix)


def which_meeting_yours(meeting: object, command: object) -> str:
    """Several meetings could be meant by a `script start`, one of them the member's to run:
    nothing is started, and only that one is offered."""
    return _(
        "More than one meeting could be meant; the one you can run is {meeting}. Nothing was "
        "started; to start it, type `{command}`."
    ).format(meeting=meeting, command=command)


def which_meeting(meetings: object, command: object) -> str:
    """Several meetings could be meant by a `script start`: nothing is started."""
    return _(
        "More than one meeting could be meant: {meetings}. Nothing was started; say which by "
        "its number, e.g. `{command}`."
    ).format(meetings=meetings, command=command)
