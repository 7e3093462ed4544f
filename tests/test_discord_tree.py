"""The Discord command tree hides staff commands the only way Discord can: per top-level command.

For any set of commands, the synced payload keeps every moderator command under a top-level
command that carries Manage Server, no member or facilitator command under one, and one tier per
top-level command; each command's words after the first are unchanged, so text platforms and
Discord differ only in the first word.
"""

from __future__ import annotations

from typing import Any

import discord
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters.discord.commands import build_tree, discord_paths
from bot.core.commands import CommandSpec
from bot.core.permissions import Scope, Tier
from tests.harness.app import AppFactory
from tests.harness.discord import NoHandler

MANAGE_GUILD = str(discord.Permissions(manage_guild=True).value)
TIERS = st.sampled_from([Tier.MEMBER, Tier.FACILITATOR, Tier.MODERATOR])
SCOPES = st.sampled_from(list(Scope))


@st.composite
def command_sets(draw: st.DrawFn) -> list[CommandSpec]:
    """Groups (`word sub`, `word sub leaf`) and single commands, of mixed tiers."""
    groups = draw(st.sets(st.sampled_from(["crisis", "meeting", "journal", "script"]), max_size=4))
    singles = draw(st.sets(st.sampled_from(["setup", "ping", "about"]), max_size=3))
    specs = [
        CommandSpec(path=(word,), description="A command", tier=draw(TIERS), scope=draw(SCOPES))
        for word in singles
    ]
    for word in groups:
        subs = draw(st.sets(st.sampled_from(["add", "list", "edit", "now"]), min_size=1))
        for sub in sorted(subs):
            specs.append(
                CommandSpec(
                    path=(word, sub), description="A command", tier=draw(TIERS), scope=draw(SCOPES)
                )
            )
        if draw(st.booleans()):
            for leaf in sorted(draw(st.sets(st.sampled_from(["on", "off"]), min_size=1))):
                specs.append(
                    CommandSpec(
                        path=(word, "watch", leaf),
                        description="A command",
                        tier=draw(TIERS),
                        scope=draw(SCOPES),
                    )
                )
    return specs


def leaves(entry: dict[str, Any], words: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The word paths of every runnable command under one synced entry."""
    subs = [o for o in entry.get("options") or [] if o["type"] in (1, 2)]
    if not subs:
        return [words]
    return [p for o in subs for p in leaves(o, (*words, o["name"]))]


@given(command_sets())
@settings(max_examples=60, deadline=None)
def test_every_moderator_command_sits_under_manage_server_and_no_other(
    specs: list[CommandSpec],
) -> None:
    client = discord.Client(intents=discord.Intents.none())
    tree = build_tree(client, specs, NoHandler(), lambda group: "Commands")
    paths = discord_paths(specs)
    tier_at = {paths[s.path]: s.tier for s in specs}
    assert len(tier_at) == len(specs)  # no two commands share a slash path
    for spec in specs:
        assert paths[spec.path][1:] == spec.path[1:]
    for command in tree.get_commands():
        payload = command.to_dict(tree)
        tiers = {tier_at[p] for p in leaves(payload, (payload["name"],))}
        assert len(tiers) == 1, payload["name"]
        hidden = str(payload["default_member_permissions"]) == MANAGE_GUILD
        assert hidden == (tiers == {Tier.MODERATOR}), payload["name"]


@given(command_sets())
@settings(max_examples=60, deadline=None, derandomize=True, database=None)
def test_a_top_level_command_is_offered_in_dms_iff_a_command_under_it_runs_there(
    specs: list[CommandSpec],
) -> None:
    """A DM carries the member's home guild, so `Scope.MEMBER` commands (meeting info, rsvp...)
    run there as `ANY` and `DM` ones do; only where every command under a top-level entry is
    for a community's channels does Discord keep it out of DMs."""
    client = discord.Client(intents=discord.Intents.none())
    tree = build_tree(client, specs, NoHandler(), lambda group: "Commands")
    paths = discord_paths(specs)
    scope_at = {paths[s.path]: s.scope for s in specs}
    for command in tree.get_commands():
        payload = command.to_dict(tree)
        scopes = {scope_at[p] for p in leaves(payload, (payload["name"],))}
        assert payload["dm_permission"] == (scopes != {Scope.COMMUNITY}), payload["name"]


async def test_members_meeting_commands_are_offered_in_dms_and_staff_ones_are_not(
    app_factory: AppFactory,
) -> None:
    app, _fake = await app_factory.on_platform()
    client = discord.Client(intents=discord.Intents.none())
    tree = build_tree(client, app.registry.specs, NoHandler(), lambda group: "Commands")
    offered = {c.name: c.to_dict(tree)["dm_permission"] for c in tree.get_commands()}
    assert offered["meeting"] is True  # info, rsvp, unrsvp... from the reminder DM
    assert offered["meeting-facilitator"] is False
    assert offered["meeting-mod"] is False
    assert offered["me"] is True


def test_staff_commands_move_under_a_tier_word_only_where_tiers_mix() -> None:
    specs = [
        CommandSpec(path=("crisis", "now"), description="Lines"),
        CommandSpec(path=("crisis", "add"), description="Add", tier=Tier.MODERATOR),
        CommandSpec(path=("crisis", "phrases", "add"), description="Add", tier=Tier.MODERATOR),
        CommandSpec(path=("meeting", "schedule"), description="New", tier=Tier.FACILITATOR),
        CommandSpec(path=("meeting", "list"), description="List"),
        CommandSpec(path=("settings", "show"), description="Show", tier=Tier.MODERATOR),
    ]
    assert discord_paths(specs) == {
        ("crisis", "now"): ("crisis", "now"),
        ("crisis", "add"): ("crisis-mod", "add"),
        ("crisis", "phrases", "add"): ("crisis-mod", "phrases", "add"),
        ("meeting", "schedule"): ("meeting-facilitator", "schedule"),
        ("meeting", "list"): ("meeting", "list"),
        ("settings", "show"): ("settings", "show"),
    }


async def test_a_meetings_named_facilitator_sees_its_commands_and_moderators_keep_theirs(
    app_factory: AppFactory,
) -> None:
    """The core lets a meeting's named facilitator run that meeting's facilitator commands
    (`Context.may`), so Discord must not hide them: every command of a cog that says which
    meeting its commands run (`CogHooks.meeting_of`), up to the facilitator tier, sits under
    a top-level command everyone sees; moderator commands stay under Manage Server."""
    app, _fake = await app_factory.on_platform()
    specs = list(app.registry.specs)
    tree = build_tree(
        discord.Client(intents=discord.Intents.none()), specs, NoHandler(), lambda g: "Commands"
    )
    paths = discord_paths(specs)
    shown = {c.name: c.to_dict(tree)["default_member_permissions"] for c in tree.get_commands()}
    running = {name for name, cog in app.cogs.items() if cog.hooks().meeting_of is not None}
    assert running == {"scripts"}
    for spec in specs:
        top = paths[spec.path][0]
        if spec.cog in running and spec.tier <= Tier.FACILITATOR:
            assert shown[top] is None, spec.name
        if spec.tier >= Tier.MODERATOR:
            assert str(shown[top]) == MANAGE_GUILD, spec.name
    assert shown["script"] is None and shown["script-facilitator"] is None
