"""The words of the general cog: the command list, one command explained, and `about`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.core import Card, CommandSpec, Field, Message, Scope, _, tier_name


def command_list(
    groups: Mapping[str, Sequence[CommandSpec]], prefix: str, elsewhere: bool = False
) -> str:
    """`help`: the commands a member can use, under each part's description (`groups` maps a
    part's description to its commands); `elsewhere` when a community's channel has more."""
    lines = [
        _("Commands you can use (type `{prefix}help COMMAND` for details):").format(prefix=prefix)
    ]
    for description, specs in groups.items():
        lines.append(f"**{_(description)}**")
        lines.extend(f"- `{prefix}{s.name}`: {_(s.description)}" for s in specs)
    if elsewhere:
        lines.append(_("Commands for a community's channels are listed when you ask there."))
    return "\n".join(lines)


def community_only(command: str, prefix: str) -> str:
    """`help COMMAND` in a direct message, for a command of a community's channels."""
    return _(
        "`{prefix}{command}` works in a community's channels, not in a direct message."
    ).format(prefix=prefix, command=command[:40])


def unknown_command(command: str, prefix: str) -> str:
    """`help WORDS` when no command the member can use starts with those words."""
    return _(
        "There is no command `{command}` that you can use. Type `{prefix}help` for the list."
    ).format(command=command[:40], prefix=prefix)


def explain(spec: CommandSpec, prefix: str) -> Message:
    """`help COMMAND`: how to type it, each option, who may use it and where."""
    usage = " ".join(f"<{o.name}>" if o.required else f"[{o.name}]" for o in spec.options)
    fields = [
        Field(
            o.name,
            _(o.description)
            + ("" if o.required else _(" (optional)"))
            + (
                "\n"
                + _("Choices: {choices}").format(choices=", ".join(c.display for c in o.choices))
                if o.choices
                else ""
            ),
        )
        for o in spec.options
    ]
    footer = _("For: {tier} and above. Where: {scope}.").format(
        tier=tier_name(spec.tier),
        scope={
            Scope.ANY: _("anywhere"),
            Scope.COMMUNITY: _("community channels"),
            Scope.DM: _("direct messages"),
        }[spec.scope],
    )
    return Message(
        text=(f"`{prefix}{spec.name}{' ' + usage if usage else ''}`",),
        card=Card(title=_(spec.description), fields=tuple(fields), footer=footer),
    )


def about(
    name: str, version: str, parts: Sequence[tuple[str, str]], switched_on: Sequence[str]
) -> Message:
    """`about`: what the bot is, and what each part (description, data statement) stores."""
    text = _(
        "{name} {version} is a peer-support tool for SMART-style self-management "
        "communities. It is not a crisis service and not therapy, and it is not an official "
        "SMART Recovery product."
    ).format(name=name, version=version)
    return Message(
        text=(text,),
        card=Card(
            title=_("What each part stores"),
            fields=tuple(Field(_(description), stored) for description, stored in parts),
            footer=_("Parts switched on: {cogs}").format(cogs=", ".join(switched_on)),
        ),
    )
