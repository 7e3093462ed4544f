"""The registry as an `app_commands.CommandTree`: one slash command or group per first word.

Discord shows or hides a command only as a whole top-level command (`default_member_permissions`
applies there, never to a subcommand), so staff commands get top-level commands of their own:
`discord_paths` moves each command above the lowest tier of its first word under
`<word>-<tier>` (`/crisis add` becomes `/crisis-mod add`, `/meeting schedule` becomes
`/meeting-facilitator schedule`), and every top-level command then holds one tier and carries
that tier's `TIER_PERMISSIONS`. Text platforms keep the registry's own paths.

Each spec gets a generated callback whose signature discord.py reads like a hand-written one
(typed, described, ranged options; choices; autocomplete), so the sync payload and the option
parsing are discord.py's own. Tiers are still checked by the core on every call;
`default_member_permissions` is only Discord's hint about who sees a command. A file option
reaches the core as the `discord.Attachment` itself: the core checks its size, then reads it.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, Protocol

import discord
from discord import app_commands

from bot.core.commands import (
    MAX_CHOICES,
    NAME_RE,
    Choice,
    CommandSpec,
    Option,
    OptionType,
    SpecError,
    fit_description,
)
from bot.core.permissions import Tier
from bot.i18n import _

GROUP_DESCRIPTION_MAX = 100

# The word added to a first word for the commands of a higher tier (`crisis-mod`).
TIER_SUFFIX: dict[Tier, str] = {
    Tier.FACILITATOR: "facilitator",
    Tier.MODERATOR: "mod",
    Tier.OWNER: "owner",
}

# What a top-level command of each tier asks of a member before Discord shows it (None: shown
# to everyone). Discord hides a command only by permission; a bot cannot name a role, so
# facilitator commands stay visible until a server admin restricts them under Integrations.
TIER_PERMISSIONS: dict[Tier, discord.Permissions | None] = {
    Tier.MEMBER: None,
    Tier.FACILITATOR: None,
    Tier.MODERATOR: discord.Permissions(manage_guild=True),
    Tier.OWNER: discord.Permissions(manage_guild=True),
}

Tree = app_commands.CommandTree[discord.Client]
Leaf = app_commands.Command[Any, ..., None]


class CommandHandler(Protocol):
    """What generated callbacks call into."""

    async def run_command(
        self, interaction: discord.Interaction, spec: CommandSpec, values: dict[str, Any]
    ) -> None:
        """Run one command with discord.py's parsed option values."""

    async def complete(
        self, interaction: discord.Interaction, spec: CommandSpec, option: str, partial: str
    ) -> list[Choice]:
        """The core's suggestions for one option (`suggestions` fits them to Discord)."""


def _annotation(option: Option) -> Any:
    """The Python type discord.py turns into the option's Discord type and limits."""
    kind = option.type
    if kind is OptionType.BOOLEAN:
        return bool
    if kind is OptionType.USER:
        return discord.User
    if kind is OptionType.CHANNEL:
        return discord.TextChannel  # the picker offers text and announcement channels only
    if kind is OptionType.ROLE:
        return discord.Role
    if kind is OptionType.ATTACHMENT:
        return discord.Attachment
    if kind in (OptionType.INTEGER, OptionType.NUMBER):
        number: type[int] | type[float] = int if kind is OptionType.INTEGER else float
        if option.min_value is None and option.max_value is None:
            return number
        low = None if option.min_value is None else number(option.min_value)
        high = None if option.max_value is None else number(option.max_value)
        return app_commands.Range[number, low, high]
    if option.choices:
        return str
    return app_commands.Range[str, option.min_length, option.limit]


def plain_values(
    values: dict[str, Any],
) -> tuple[dict[str, Any], dict[int, discord.abc.User]]:
    """discord.py's parsed option values as the core takes them: a picked person, channel or
    role as its id; also the people picked, by id, so they need not be looked up again."""
    raw: dict[str, Any] = {}
    known: dict[int, discord.abc.User] = {}
    for name, value in values.items():
        if isinstance(value, discord.User | discord.Member):
            known[value.id] = value
        if isinstance(
            value,
            discord.User
            | discord.Member
            | discord.Role
            | discord.abc.GuildChannel
            | app_commands.AppCommandChannel
            | app_commands.AppCommandThread,
        ):
            raw[name] = str(value.id)
        else:
            raw[name] = value
    return raw, known


def suggestions(
    spec: CommandSpec, option: str, choices: list[Choice]
) -> list[app_commands.Choice[Any]]:
    """The core's suggestions within Discord's limits: at most 25, names of 1-100 characters,
    and each value of the option's type (a number for an integer option)."""
    declared = spec.option(option)
    number = declared is not None and declared.type is OptionType.INTEGER
    shown: list[app_commands.Choice[Any]] = []
    for choice in choices[:MAX_CHOICES]:
        name = choice.display if len(choice.display) <= 100 else choice.display[:99] + "…"
        if number:
            if not choice.value.isdigit():
                continue
            shown.append(app_commands.Choice(name=name, value=int(choice.value)))
        else:
            shown.append(app_commands.Choice(name=name, value=choice.value[:100]))
    return shown


def _callback(
    spec: CommandSpec, handler: CommandHandler
) -> Callable[..., Coroutine[Any, Any, None]]:
    """A callback with a synthetic signature: one keyword parameter per option."""

    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        await handler.run_command(interaction, spec, values)

    parameters = [
        inspect.Parameter(
            "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
        )
    ]
    for option in spec.options:
        parameters.append(
            inspect.Parameter(
                option.name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=_annotation(option),
                default=inspect.Parameter.empty if option.required else None,
            )
        )
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    decorated: Callable[..., Coroutine[Any, Any, None]] = callback
    if spec.options:
        decorated = app_commands.describe(**{o.name: o.description for o in spec.options})(
            decorated
        )
    choices = {
        o.name: [app_commands.Choice(name=c.display, value=c.value) for c in o.choices]
        for o in spec.options
        if o.choices
    }
    if choices:
        decorated = app_commands.choices(**choices)(decorated)
    completers = {
        o.name: _completer(spec, o.name, handler) for o in spec.options if o.autocomplete
    }
    if completers:
        decorated = app_commands.autocomplete(**completers)(decorated)
    return decorated


def _completer(
    spec: CommandSpec, option: str, handler: CommandHandler
) -> Callable[[discord.Interaction, str], Coroutine[Any, Any, list[app_commands.Choice[Any]]]]:
    async def complete(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[Any]]:
        return suggestions(
            spec, option, await handler.complete(interaction, spec, option, current)
        )

    return complete


def _leaf(
    spec: CommandSpec,
    handler: CommandHandler,
    parent: app_commands.Group | None,
    name: str | None = None,
) -> Leaf:
    command: Leaf = app_commands.Command(
        name=name or spec.path[-1],
        description=spec.slash_description,
        callback=_callback(spec, handler),
        parent=parent,
    )
    return command


def discord_paths(specs: Iterable[CommandSpec]) -> dict[tuple[str, ...], tuple[str, ...]]:
    """Each spec's path on Discord: its own, or under `<word>-<tier>` when its tier is above
    the lowest tier among the commands sharing its first word.

    Raises `SpecError` when a moved name is too long or is already a first word of its own.
    """
    specs = list(specs)
    lowest: dict[str, Tier] = {}
    for spec in specs:
        word = spec.path[0]
        lowest[word] = min(lowest.get(word, spec.tier), spec.tier)
    words = set(lowest)
    paths: dict[tuple[str, ...], tuple[str, ...]] = {}
    for spec in specs:
        word = spec.path[0]
        if spec.tier == lowest[word] or len(spec.path) == 1:
            paths[spec.path] = spec.path
            continue
        staff = f"{word}-{TIER_SUFFIX[spec.tier]}"
        if staff in words or not NAME_RE.match(staff):
            raise SpecError(f"command {spec.name!r}: cannot move it to /{staff} on Discord")
        paths[spec.path] = (staff, *spec.path[1:])
    return paths


class SlashNames:
    """Each command's words on Discord (`discord_paths`), for what responders tell members."""

    def __init__(self, specs: Iterable[CommandSpec]) -> None:
        specs = list(specs)
        self._paths = discord_paths(specs)
        by_word: dict[str, list[CommandSpec]] = {}
        for spec in specs:
            by_word.setdefault(self._paths[spec.path][0], []).append(spec)
        self._tiers = {word: top_level_tier(group) for word, group in by_word.items()}

    def __call__(self, path: tuple[str, ...]) -> tuple[str, ...]:
        """The slash command's words for the command at `path` (unknown paths unchanged)."""
        return self._paths.get(path, path)

    def top_level(self, tier: Tier) -> list[str]:
        """The top-level commands that carry `tier`'s default permission, sorted."""
        return sorted(word for word, held in self._tiers.items() if held == tier)


def top_level_tier(specs: Iterable[CommandSpec]) -> Tier:
    """The tier whose permission a top-level command carries: the lowest among its commands,
    so Discord never hides a command from someone allowed to use it."""
    return min(s.tier for s in specs)


def _audience(tier: Tier) -> str:
    """Whom a staff group is for, in a group's description."""
    return {
        Tier.FACILITATOR: _("for facilitators"),
        Tier.MODERATOR: _("for moderators"),
        Tier.OWNER: _("for owners"),
    }.get(tier, "")


def _restrict(target: Leaf | app_commands.Group, specs: list[CommandSpec]) -> None:
    """Hints on the top-level entry (Discord ignores them on subcommands): usable in the
    bot's DMs when any command under it may run in a DM whose community is known (a DM's
    place carries the member's home guild), else guild-only."""
    target.default_permissions = TIER_PERMISSIONS[top_level_tier(specs)]
    if not any(s.scope.allows(is_dm=True, community_known=True) for s in specs):
        target.guild_only = True


def build_tree(
    client: discord.Client,
    specs: Iterable[CommandSpec],
    handler: CommandHandler,
    describe_group: Callable[[list[CommandSpec]], str],
) -> Tree:
    """A tree holding every spec at its `discord_paths` path; `describe_group` names a group
    from its commands (a staff group's name also says whom it is for)."""
    tree: Tree = app_commands.CommandTree(client)
    specs = list(specs)
    paths = discord_paths(specs)
    by_word: dict[str, list[CommandSpec]] = {}
    for spec in specs:
        by_word.setdefault(paths[spec.path][0], []).append(spec)
    for word, group_specs in by_word.items():
        if len(group_specs) == 1 and len(group_specs[0].path) == 1:
            leaf = _leaf(group_specs[0], handler, None)
            _restrict(leaf, group_specs)
            tree.add_command(leaf)
            continue
        description = describe_group(group_specs)
        if word != group_specs[0].path[0]:
            description = f"{description} ({_audience(top_level_tier(group_specs))})"
        description = fit_description(description, GROUP_DESCRIPTION_MAX) or word
        group = app_commands.Group(name=word, description=description)
        _restrict(group, group_specs)
        subgroups: dict[str, app_commands.Group] = {}
        for spec in group_specs:
            parent = group
            if len(spec.path) == 3:
                parent = subgroups.get(spec.path[1]) or app_commands.Group(
                    name=spec.path[1], description=description, parent=group
                )
                subgroups[spec.path[1]] = parent
            parent.add_command(_leaf(spec, handler, parent))
        tree.add_command(group)
    # A one-word alias is its own top-level command (`/help-now` runs `/crisis now`), so the
    # words someone reaches for first work on Discord as on text platforms; a spec naming its
    # `slash_aliases` keeps the others typed only, so they do not crowd the command list.
    for spec in specs:
        for alias in spec.aliases:
            listed = spec.slash_aliases is None or alias[0] in spec.slash_aliases
            if len(alias) == 1 and alias[0] not in by_word and listed:
                leaf = _leaf(spec, handler, None, name=alias[0])
                _restrict(leaf, [spec])
                tree.add_command(leaf)
    return tree


def payload_hash(tree: Tree) -> str:
    """A fingerprint of what a sync would send; equal hashes mean nothing to sync."""
    payload = [command.to_dict(tree) for command in tree.get_commands()]
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
