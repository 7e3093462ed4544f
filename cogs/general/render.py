"""The words of the general cog: the command list, one command explained, and `about`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from bot.core import Card, CommandSpec, Field, Message, Scope, _, tier_name


def command_list(
    groups: Mapping[str, Sequence[CommandSpec]],
    prefix: str,
    spell: Callable[[tuple[str, ...]], str],
    elsewhere: bool = False,
) -> str:
    """`help`: the commands a member can use, under each part's description (`groups` maps a
    part's description to its commands), each as `spell` types it on the member's platform;
    `elsewhere` when a community's channel has more."""
    lines = [
        _("Commands you can use (type `{prefix}help COMMAND` for details):").format(prefix=prefix)
    ]
    for description, specs in groups.items():
        lines.append(f"**{_(description)}**")
        lines.extend(f"- `{spell(s.path)}`: {_(s.description)}" for s in specs)
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


def explain(spec: CommandSpec, typed: str) -> Message:
    """`help COMMAND`: how to type it (`typed`: the command as typed on the member's
    platform, prefix included), each option, who may use it and where."""
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
            Scope.MEMBER: _("community channels, or a DM once I know your community"),
            Scope.DM: _("direct messages"),
        }[spec.scope],
    )
    return Message(
        text=(f"`{typed}{' ' + usage if usage else ''}`",),
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


# The cog's replies: errors, questions and confirmations, each in the reader's language
# (cog.py only chooses which one to send).


def not_set() -> str:
    return _("not set")


def pong() -> str:
    return _("pong")


def pseudonym_label() -> str:
    return _("Pseudonym here")


def zone_label() -> str:
    return _("Time zone")


def country_label() -> str:
    return _("Country")


def language_label() -> str:
    return _("Language")


def pseudonym_too_long() -> str:
    return _("A pseudonym can be at most 32 characters.")


def all_set(prefix: object) -> str:
    return _("All set. `{prefix}me` shows your settings any time.").format(prefix=prefix)


def pseudonym_cleared() -> str:
    return _("Your pseudonym here is cleared.")


def zone_cleared() -> str:
    return _("Your time zone is cleared; I'll use the community's.")


def country_cleared() -> str:
    return _("Your country is cleared.")


def language_cleared() -> str:
    return _("Your language is cleared; I'll use the community's.")


def settings_dialogue_title() -> str:
    return _("your settings")


def setup_intro() -> str:
    return _(
        "A few quick questions about how I should show things to you. Every one can be skipped."
    )


def zone_not_set(zone: object) -> str:
    return _("not set (using {zone})").format(zone=zone)


def pseudonym_set(name: object) -> str:
    return _("From now on you appear here as **{name}**.").format(name=name)


def country_set(name: object, code: object) -> str:
    return _("Your country is now {name} ({code}).").format(name=name, code=code)


def language_set(language: object) -> str:
    return _("I'll use {language} with you.").format(language=language)


def ask_pseudonym() -> str:
    return _("What name would you like others here to see? It does not have to be your real name.")


def ask_zone() -> str:
    return _("Which time zone are you in? For example Europe/London or America/Chicago.")


def ask_country() -> str:
    return _(
        "Which country are you in? A two-letter code such as US "
        "is fine. I use it to show crisis lines that fit you."
    )


def ask_language() -> str:
    return _("Which language should I use?")


def saved_but_name(problem: object, prefix: object) -> str:
    return _(
        "Saved your other settings. {problem} Set a name later with `{prefix}me name`."
    ).format(problem=problem, prefix=prefix)


def settings_title() -> str:
    return _("Your settings")


def zone_set(zone: object) -> str:
    return _("Your time zone is now {zone}.").format(zone=zone)


def settings_footer(prefix: object) -> str:
    return _(
        "Change one with `{prefix}me name`, `{prefix}me timezone`, "
        "`{prefix}me country` or `{prefix}me language`, or walk through "
        "all of them with `{prefix}me setup`."
    ).format(prefix=prefix)
