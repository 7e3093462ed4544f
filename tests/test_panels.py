"""Panels (`Message.panel`) and stale presses, as properties.

- `PanelBoard` (shared by the adapters): after any sequence of posts, each (place, panel) has
  exactly its newest message live, every earlier one retired, and a reaction key finds its
  button with or without a variation selector.
- The scripts cog's stale-press rules, whatever is pressed when: a press of any button ever
  shown, by a facilitator or a member, in any order with pauses, resumes, ends and restarts,
  either matches the live run and step (and the presser may use it), or it is answered only
  privately and changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.adapters.panels import PanelBoard
from bot.app import App
from bot.clock import VirtualClock
from bot.core.message import Action, Message
from bot.core.permissions import Tier
from cogs.scripts.cog import MEMBER_VERBS, ScriptsCog
from tests.harness.app import AppFactory
from tests.harness.platform import CHANNEL

START = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
PLACES = ("room-a", "room-b")
PANELS = ("scripts", "other")

post = st.tuples(st.sampled_from(PLACES), st.sampled_from(PANELS), st.integers(0, 12))


@given(posts=st.lists(post, max_size=30))
def test_only_the_newest_post_of_a_panel_is_live(posts: list[tuple[str, str, int]]) -> None:
    board = PanelBoard()
    shown: dict[tuple[str, str], list[str]] = {}
    for place, panel, n in posts:
        message_id = f"{place}/{panel}/{n}"  # ids are unique per platform
        message = Message.of("step", actions=(Action(f"a:{n}", "Next", emoji="\u23ed\ufe0f"),))
        before = board.live(place, panel)
        previous = board.show(place, panel, message_id, message)
        if before is None or before.message_id == message_id:
            assert previous is None
        else:
            assert previous == before
        shown.setdefault((place, panel), []).append(message_id)
        for (p, k), ids in shown.items():
            live = board.live(p, k)
            assert live is not None and live.message_id == ids[-1]
            assert not board.is_retired(ids[-1])
            assert all(board.is_retired(i) for i in ids[:-1] if i != ids[-1])
        assert board.action_for(message_id, "\u23ed") == f"a:{n}"  # selector or not
        assert board.action_for(message_id, "\u23ed\ufe0f") == f"a:{n}"
        assert board.action_for(message_id, "\U0001f44d") is None


def cog(app: App) -> ScriptsCog:
    found = app.cogs["scripts"]
    assert isinstance(found, ScriptsCog)
    return found


async def run_state(app: App) -> tuple[Any, ...] | None:
    run = await cog(app).service.at_place(CHANNEL.key)
    if run is None:
        return None
    return (run.id, run.step_index, run.paused_at, tuple(run.queue), run.speaker_key)


press = st.tuples(st.just("press"), st.sampled_from(["fran", "ana"]), st.integers(0, 10_000))
typed = st.tuples(
    st.just("type"),
    st.just("fran"),
    st.sampled_from(["next", "pause", "resume", "end", "start standard"]),
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(st.one_of(press, press, typed), min_size=1, max_size=14))
async def test_a_stale_or_foreign_press_is_refused_privately_and_changes_nothing(
    app_factory: AppFactory, steps: list[tuple[str, str, Any]]
) -> None:
    app, fake = await app_factory.on_platform(
        ["general", "scripts"], clock=VirtualClock(START), actors={"fran": Tier.FACILITATOR}
    )
    seen: list[str] = []  # every button id ever shown, oldest first

    def remember(said: list[Any]) -> None:
        seen.extend(a.id for s in said for a in s.message.actions if a.id not in seen)

    remember(await fake.say("fran", "!script start standard"))
    for kind, who, what in steps:
        if kind == "type":
            remember(await fake.say(who, f"!script {what}"))
            continue
        if not seen:
            continue
        action_id = seen[what % len(seen)]
        _prefix, run_id, step, verb = action_id.split(":")
        before = await run_state(app)
        matches = (
            before is not None
            and int(run_id) == before[0]
            and int(step) == before[1]
            and (who == "fran" or verb in MEMBER_VERBS)
        )
        start = len(fake.said)
        await app.dispatcher.handle_action(fake.incoming(who), action_id)
        said = fake.said[start:]
        remember(said)
        if not matches:
            assert said and all(s.where == "ephemeral" for s in said), (action_id, said)
            assert await run_state(app) == before
