"""The speaking queue across steps: moving through a script never loses a raised hand.

The rule (cogs/scripts/service.py): the speaking order belongs to the step where the hands were
raised. Next, back and goto keep the order of the step left behind and bring it back when the
meeting returns there; the channel is told whose hands stay kept. A hand leaves the order only
when its owner lowers it, is given the floor, or passes (or the script ends, which the channel
sees).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.clock import VirtualClock
from bot.core.permissions import Tier
from cogs.scripts import render
from cogs.scripts.cog import SCRIPTS_DIR
from cogs.scripts.script import load_directory
from tests.harness.app import AppFactory
from tests.harness.platform import FakePlatform, Said

START = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
PSEUDONYMS = {"ana": "Wren", "ben": "Birch", "cara": "Cove", "dan": "Dune"}
MEMBERS = tuple(PSEUDONYMS)
STANDARD = load_directory(SCRIPTS_DIR)[0]["standard"]
STEPS = STANDARD.steps


def public(said: list[Said]) -> str:
    return "\n".join(s.text for s in said if s.where == "channel")


async def open_app(app_factory: AppFactory) -> tuple[App, FakePlatform]:
    return await app_factory.on_platform(
        ["general", "scripts"], clock=VirtualClock(START), actors={"fran": Tier.FACILITATOR}
    )


async def test_a_mistapped_back_keeps_the_queue_and_the_speaker(app_factory: AppFactory) -> None:
    """A newcomer's case: Back then Next returns to check-in with everyone still waiting."""
    _app, fake = await open_app(app_factory)
    for name, pseudonym in PSEUDONYMS.items():
        await fake.say(name, f"!me name {pseudonym}")
    await fake.say("fran", "!script start standard")
    await fake.say("fran", "!script next")
    for name in ("ana", "ben", "cara"):
        await fake.say(name, "!hand raise")
    await fake.say("fran", "!script next-speaker")

    back = public(await fake.say("fran", "!script back"))
    assert "Welcome and ground rules" in back
    assert "The speaking order of **Check-in** is kept" in back
    assert "`!script goto check_in`" in back
    assert "**Wren** had the floor. Hands up: 1. Birch, 2. Cove." in back

    again = public(await fake.say("fran", "!script next"))
    assert "Back at **Check-in**, with its speaking order as it was" in again
    assert "Sharing now: **Wren**. Hands up: 1. Birch, 2. Cove." in again
    status = (await fake.say("fran", "!script status"))[0].text
    assert "Sharing now: **Wren**. Hands up: 1. Birch, 2. Cove." in status
    lowered = public(await fake.say("ben", "!hand lower"))
    assert "Birch lowered their hand. Sharing now: **Wren**. Hands up: 1. Cove." in lowered


async def test_each_round_has_its_own_order_and_kept_hands_can_be_lowered(
    app_factory: AppFactory,
) -> None:
    """Check-out is a new round (who passed check-in may share); a hand kept for check-in is
    lowered from anywhere; a restart keeps the kept orders."""
    app, fake = await open_app(app_factory)
    for name, pseudonym in PSEUDONYMS.items():
        await fake.say(name, f"!me name {pseudonym}")
    await fake.say("fran", "!script start standard")
    await fake.say("fran", "!script goto check_in")
    await fake.say("dan", "!pass")
    await fake.say("ana", "!hand")
    await fake.say("ben", "!hand")
    working = public(await fake.say("fran", "!script goto working_time"))
    assert "Hands up: 1. Wren, 2. Birch. Passed: 1." in working
    assert "To speak in this step too, raise your hand here." in working
    await fake.say("cara", "!hand")
    await app.close()

    app, fake = await open_app(app_factory)
    lowered = public(await fake.say("ben", "!hand lower"))
    assert "Birch lowered their hand for **Check-in**." in lowered
    status = (await fake.say("fran", "!script status"))[0].text
    assert "Hands up: 1. Cove." in status
    assert "kept for when the meeting goes back there" in status and "1. Wren." in status
    check_out = public(await fake.say("fran", "!script goto check_out"))
    assert "Back at" not in check_out  # a new round
    assert "passes this round" in public(await fake.say("dan", "!pass"))
    kept = public(await fake.say("fran", "!script goto check_in"))
    assert "Hands up: 1. Wren. Passed: 1." in kept
    ended = public(await fake.say("fran", "!script end"))
    assert "script has ended" in ended


async def test_a_kept_hand_is_exported_and_erased_with_the_person(
    app_factory: AppFactory,
) -> None:
    app, fake = await open_app(app_factory)
    for name, pseudonym in PSEUDONYMS.items():
        await fake.say(name, f"!me name {pseudonym}")
    await fake.say("fran", "!script start standard")
    await fake.say("fran", "!script goto check_in")
    await fake.say("ana", "!hand")
    await fake.say("ben", "!hand")
    await fake.say("fran", "!script next")
    cog = app.cogs["scripts"]
    exported = await cog.export_user_data("fake:ana")
    (run,) = exported["running_meetings"]
    assert run["roles"] == ["in queue (step 2, kept for its return)"]
    assert run["name_shown"] == "Wren"
    await cog.delete_user_data("fake:ana")
    status = (await fake.say("fran", "!script status"))[0].text
    assert "Hands up: 1. Birch." in status and "Wren" not in status
    assert (await cog.export_user_data("fake:ana"))["running_meetings"] == []


# ---- the property --------------------------------------------------------------------------

Move = tuple[str, str]

QUEUE_STEPS = [s.id for s in STEPS if s.has_queue]
RAISE = st.sampled_from(MEMBERS).map(lambda m: ("raise", m))
MOVE: st.SearchStrategy[Move] = st.one_of(  # hands and steps with a queue drawn more often
    RAISE,
    RAISE,
    RAISE,
    st.sampled_from(MEMBERS).map(lambda m: ("lower", m)),
    st.sampled_from(MEMBERS).map(lambda m: ("pass", m)),
    st.sampled_from([("next", ""), ("back", ""), ("back", ""), ("speaker", "")]),
    st.sampled_from([*QUEUE_STEPS, *QUEUE_STEPS, *(s.id for s in STEPS)]).map(
        lambda s: ("goto", s)
    ),
    st.sampled_from([s.id for s in STEPS]).map(lambda s: ("detour", s)),
    st.sampled_from([("pause", ""), ("resume", ""), ("restart", "")]),
)
MOVES = st.lists(MOVE, min_size=8, max_size=30)


@dataclass
class Order:
    """One step's speaking order, as the oracle keeps it."""

    queue: list[str] = field(default_factory=list)
    speaker: str | None = None
    passed: list[str] = field(default_factory=list)


@dataclass
class Oracle:
    """Knows only the rule: a hand leaves when its owner lowers it, is called, or passes."""

    step: int = 0
    orders: dict[int, Order] = field(default_factory=dict)

    def here(self) -> Order:
        return self.orders.setdefault(self.step, Order())


@dataclass
class World:
    factory: AppFactory
    app: App
    fake: FakePlatform


async def check_status(world: World, oracle: Oracle) -> None:
    """What the facilitator sees in `script status` is exactly the oracle's hands."""
    text = (await world.fake.say("fran", "!script status"))[0].text
    step = STEPS[oracle.step]
    assert f"step {oracle.step + 1} of {len(STEPS)}" in text, text
    here = oracle.here()
    if step.has_queue:
        assert (
            render.queue_text(
                PSEUDONYMS[here.speaker] if here.speaker else None,
                [PSEUDONYMS[m] for m in here.queue],
                len(here.queue),
                len(here.passed),
            )
            in text
        ), (text, here)
    kept = {i: o for i, o in oracle.orders.items() if i != oracle.step and o.queue}
    lines = [line for line in text.splitlines() if "is kept for when the meeting" in line]
    assert len(lines) == len(kept), (text, oracle)
    for index, order in kept.items():
        want = render.kept_note(
            step=STEPS[index].title,
            command=f"!script goto {STEPS[index].id}",
            queue=render.kept_queue_text(
                PSEUDONYMS[order.speaker] if order.speaker else None,
                [PSEUDONYMS[m] for m in order.queue],
                len(order.queue),
                len(order.passed),
            ),
        )
        assert want in lines, (want, lines)


async def play(world: World, oracle: Oracle, move: Move) -> None:
    """One move against the app and the oracle; what the channel must have seen is checked."""
    verb, arg = move
    if verb == "detour":  # there and straight back: a mis-tap, or a look at another step
        home = STEPS[oracle.step].id
        await play(world, oracle, ("goto", arg))
        await play(world, oracle, ("goto", home))
        return
    fake = world.fake
    order = oracle.here()
    step = STEPS[oracle.step]
    if verb in ("next", "back", "goto"):
        target = {
            "next": oracle.step + 1,
            "back": oracle.step - 1,
            "goto": STANDARD.index_of(arg) if arg else 0,
        }[verb]
        if target is None or not 0 <= target < len(STEPS):
            return  # before the first step is refused; after the last ends the script
        said = await fake.say("fran", f"!script {verb} {arg}".strip())
        shown = public(said)
        assert f"step {target + 1} of {len(STEPS)}" in shown, shown
        if target != oracle.step:
            # everyone whose hand stays up in the step left behind is told so, by name
            for member in order.queue:
                assert PSEUDONYMS[member] in shown, (member, shown)
            arriving = oracle.orders.get(target, Order())
            for member in [*arriving.queue, *([arriving.speaker] if arriving.speaker else [])]:
                assert PSEUDONYMS[member] in shown, (member, shown)
        oracle.step = target
    elif verb == "raise":
        said = await fake.say(arg, "!hand raise")
        if step.has_queue and arg != order.speaker and arg not in order.queue:
            assert f"{PSEUDONYMS[arg]} raised a hand" in public(said), said
            order.queue.append(arg)
            if arg in order.passed:
                order.passed.remove(arg)
        else:
            assert said[0].where == "ephemeral", said
    elif verb == "lower":
        said = await fake.say(arg, "!hand lower")
        others = [o for o in oracle.orders.values() if o is not order and arg in o.queue]
        if arg in order.queue:
            order.queue.remove(arg)
            assert f"{PSEUDONYMS[arg]} lowered their hand." in public(said), said
        elif others:
            for other in others:
                other.queue.remove(arg)
            assert f"{PSEUDONYMS[arg]} lowered their hand for" in public(said), said
        else:
            assert "Your hand is not up" in said[0].text, said
    elif verb == "pass":
        said = await fake.say(arg, "!pass")
        if step.kind == "round_robin" and arg not in order.passed:
            assert "passes this round" in public(said), said
            if arg in order.queue:
                order.queue.remove(arg)
            if order.speaker == arg:
                order.speaker = None
            order.passed.append(arg)
        else:
            assert said[0].where == "ephemeral", said
    elif verb == "speaker":
        said = await fake.say("fran", "!script next-speaker")
        if step.has_queue:
            order.speaker = order.queue.pop(0) if order.queue else None
            if order.speaker:
                assert f"The floor is yours, **{PSEUDONYMS[order.speaker]}**" in public(said)
            else:
                assert "No hands are up" in public(said), said
    elif verb in ("pause", "resume"):
        await fake.say("fran", f"!script {verb}")
    else:  # restart
        await world.app.close()
        world.app, world.fake = await open_app(world.factory)
    await check_status(world, oracle)


QUEUE_MOVES = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@QUEUE_MOVES
@given(moves=MOVES)
async def test_moving_between_steps_never_silently_drops_a_hand(
    app_factory: AppFactory, moves: list[Move]
) -> None:
    """Any sequence of next/back/goto/raise/lower/next-speaker/pass/pause/restart: status
    always shows every hand the oracle says is up, in its step, and each member whose hand is
    up anywhere can still lower it."""
    world = World(app_factory, *await open_app(app_factory))
    for name, pseudonym in PSEUDONYMS.items():
        await world.fake.say(name, f"!me name {pseudonym}")
    await world.fake.say("fran", "!script end")
    await world.fake.say("fran", "!script start standard")
    oracle = Oracle()
    try:
        for move in moves:
            await play(world, oracle, move)
        for member in MEMBERS:
            await play(world, oracle, ("lower", member))
    finally:
        await world.app.close()
