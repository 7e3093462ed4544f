"""Which slash commands each member sees on Discord, and that help names them as synced.

discord.py's real client syncs the whole command tree to the stand-in, which lists commands to
a user the way Discord's picker does with no overrides under Integrations: by the command's
`default_member_permissions` against the member's server permissions.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.core.permissions import Tier
from tests.harness.discord import EPHEMERAL, Circle

pytestmark = pytest.mark.e2e

MANAGE_GUILD = 1 << 5

MODERATOR_ONLY = {
    "audit",
    "cogs",
    "crisis-mod",
    "journal-mod",
    "meeting-mod",
    "script-mod",
    "settings",
    "setup",
}


async def test_a_member_a_facilitator_and_a_moderator_see_their_own_commands(
    circle: Circle,
) -> None:
    state = circle.standin.state
    guild = circle.standin.guild
    mods = state.add_role(guild, "Mods", MANAGE_GUILD)
    mia = state.add_user("mia", global_name="Mia")
    state.add_member(guild, mia, roles=[mods])
    app = await circle.app()
    adapter = circle.adapter(app)
    async with circle.standin.client_running(adapter.client):
        pass
    member = state.visible_commands(guild, circle.user("bob"))
    facilitator = state.visible_commands(guild, circle.user("alice"))  # no Manage Server
    moderator = state.visible_commands(guild, mia)
    assert {"crisis", "meeting", "journal", "script", "me", "help", "help-now"} <= member
    assert member.isdisjoint(MODERATOR_ONLY)
    # A bot cannot restrict by role: facilitator commands show until an admin restricts them.
    assert {"meeting-facilitator", "script-facilitator"} <= member
    assert facilitator == member
    assert moderator - member == MODERATOR_ONLY
    assert state.visible_commands(guild, circle.user("owner")) == moderator
    # The README's table says the same, tier by tier.
    by_tier: dict[str, set[str]] = {}
    for spec in app.registry.specs:
        names = {adapter.command_words(spec.path)[0]} | {
            a[0]
            for a in spec.aliases
            if len(a) == 1 and (spec.slash_aliases is None or a[0] in spec.slash_aliases)
        }
        by_tier.setdefault(spec.tier.name.lower(), set()).update(names)
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    table = {
        cells[1].strip(): set(re.findall(r"`/([-\w]+)`", cells[2]))
        for line in readme.splitlines()
        if (cells := line.split("|")) and len(cells) > 3 and cells[1].strip() in by_tier
    }
    assert table == by_tier


async def test_staff_commands_run_under_their_new_names_and_help_names_them(
    circle: Circle,
) -> None:
    app = await circle.app()
    adapter = circle.adapter(app)
    standin = circle.standin
    async with standin.client_running(adapter.client):
        community = await app.members.community("discord", str(standin.guild.id))
        facilitator = standin.state.role_named(standin.guild, "Facilitator")
        await app.members.bind(community.id, str(facilitator.id), int(Tier.FACILITATOR))
        stale = await circle.reply("crisis-mod stale", user="owner")
        refused = await circle.reply("crisis-mod stale", user="bob")
        scripts = await circle.reply("script-facilitator list", user="alice")
        copied = await circle.reply(
            "script-mod copy", {"name": "standard", "new_name": "ours"}, user="owner"
        )
        member_help = await circle.reply("help", user="bob")
        asked = await standin.send_command("help", user=circle.user("owner"))
        await standin.wait_for_interaction_response(asked.id)
        # a long list arrives in pieces: the answer, then follow-ups
        pieces = await standin.wait_for(
            lambda: (
                (p := [standin.original_response(asked.id), *standin.followups(asked.id)])
                and "/worksheet" in str(p)
                and p
            )
        )
        explained = await circle.reply("help", {"command": "crisis-mod add"}, user="owner")
        group = await circle.reply("help", {"command": "meeting-facilitator"}, user="alice")
        sent = await standin.send_autocomplete(
            "help", {"command": "crisis-m"}, "command", user=circle.user("owner")
        )
        suggested = await standin.wait_for_interaction_response(sent.id)
    assert stale["data"]["flags"] == EPHEMERAL
    assert "Only a" not in stale["data"]["content"]
    # a member trying a staff crisis command: the refusal and where the lines are, not the
    # whole crisis answer (a false "are you OK?" to someone exploring)
    assert refused["data"]["content"] == (
        "Only a moderator can use `crisis-mod stale`.\nIf you need a crisis line, type `/crisis`."
    )
    assert "Only a" not in str(scripts["data"])
    # What the bot says names commands as Discord has them, wherever the words come from.
    assert "`/script-mod export ours`" in copied["data"]["content"]
    text = "\n".join(str((p or {}).get("content")) for p in pieces)
    assert "`/crisis-mod add`" in text and "`/crisis now`" in text
    assert "`/meeting-facilitator schedule`" in text and "`/meeting-mod announce`" in text
    assert "`/crisis add`" not in text and "`/meeting schedule`" not in text
    assert "crisis-mod" not in member_help["data"]["content"]
    assert "`/crisis now`" in member_help["data"]["content"]
    assert explained["data"]["content"].startswith("`/crisis-mod add <country>")
    assert "`/meeting-facilitator schedule`" in group["data"]["content"]
    assert "`/meeting list`" not in group["data"]["content"]
    names = [c["name"] for c in suggested["data"]["choices"]]
    assert names and all(n.startswith("crisis-mod ") for n in names)
    assert standin.violations == []


def _option(commands: list[dict[str, Any]], path: str, name: str) -> dict[str, Any]:
    """A synced option by its command's slash path (`meeting-mod ping`) and name."""
    words = path.split()
    entry = next(c for c in commands if c["name"] == words[0])
    for word in words[1:]:
        entry = next(o for o in entry["options"] if o["name"] == word)
    return next(o for o in entry["options"] if o["name"] == name)


async def test_roles_and_channels_are_chosen_with_discords_pickers(circle: Circle) -> None:
    app = await circle.app()
    standin = circle.standin
    guild = standin.guild
    helpers = standin.state.role_named(guild, "Facilitator")
    voice = standin.state.channel_named("Meeting Room")
    async with standin.client_running(circle.adapter(app).client):
        done = await circle.reply(
            "setup",
            {"facilitator_role": helpers, "announce_channel": circle.general},
            user="owner",
        )
        with pytest.raises(ValueError, match="does not offer #Meeting Room"):
            await standin.send_command(
                "crisis-mod alerts", {"channel": voice}, user=circle.user("owner")
            )
        community = await app.members.community("discord", str(guild.id))
        bindings = await app.members.bindings(community.id)
    commands = standin.state.global_commands
    text_channels = [0, 5]  # text and announcement channels
    for path, name in [
        ("setup", "announce_channel"),
        ("setup", "alert_channel"),
        ("crisis-mod alerts", "channel"),
        ("journal-mod feed-channel", "channel"),
        ("meeting-facilitator schedule", "channel"),
    ]:
        option = _option(commands, path, name)
        assert (option["type"], sorted(option["channel_types"])) == (7, text_channels), path
    for path, name in [
        ("setup", "facilitator_role"),
        ("setup", "moderator_role"),
        ("meeting-mod ping", "role"),
    ]:
        assert _option(commands, path, name)["type"] == 8, path
    assert "Only a" not in str(done["data"])
    assert bindings[str(helpers.id)] == int(Tier.FACILITATOR)
    assert standin.violations == []


async def test_binding_a_role_says_who_discord_shows_the_staff_commands_to(
    circle: Circle,
) -> None:
    # Discord shows a top-level command by its default permission only: a moderator role
    # without Manage Server does not see the moderator commands, and everyone sees the
    # facilitator ones, until an admin changes that under Integrations. The admin binding
    # the role is told so at once, naming the commands.
    state = circle.standin.state
    guild = circle.standin.guild
    helpers = state.role_named(guild, "Facilitator")
    wardens = state.add_role(guild, "Wardens", 0)  # moderators without Manage Server
    mods = state.add_role(guild, "Mods", MANAGE_GUILD)
    app = await circle.app()
    async with circle.standin.client_running(circle.adapter(app).client):
        lacking = await circle.reply("setup", {"moderator_role": wardens}, user="owner")
        holding = await circle.reply("setup", {"moderator_role": mods}, user="owner")
        set_later = await circle.reply(
            "settings set", {"key": "moderator_role", "value": f"<@&{wardens.id}>"}, user="owner"
        )
        facilitators = await circle.reply("setup", {"facilitator_role": helpers}, user="owner")
    for answer in (lacking, set_later):
        text = answer["data"]["content"]
        assert "**@Wardens** lacks Manage Server" in text, text
        assert "`/crisis-mod`" in text and "`/setup`" in text and "Integrations" in text
        assert "`/meeting-facilitator`" not in text
    assert "Manage Server" not in str(holding["data"])
    text = facilitators["data"]["content"]
    assert "`/meeting-facilitator`, `/script-facilitator`" in text and "Integrations" in text
    assert "`/crisis-mod`" not in text
    assert circle.standin.violations == []


async def test_a_ping_role_that_cannot_be_pinged_is_named_at_once(circle: Circle) -> None:
    # Discord notifies a role's members of a bot's post only when the role allows mentions
    # (or the bot holds Mention Everyone, which the invite does not ask for): a moderator who
    # picks another role learns it when choosing, not when nobody comes.
    state = circle.standin.state
    guild = circle.standin.guild
    quiet = state.role_named(guild, "Member")  # mentions not allowed
    loud = state.add_role(guild, "Circle pings", mentionable=True)
    everyone = state.guilds[guild.id].roles[guild.id]
    app = await circle.app()
    start = (app.clock.now() + timedelta(days=2)).replace(second=0, microsecond=0)
    async with circle.standin.client_running(circle.adapter(app).client):
        await circle.reply(
            "meeting-facilitator schedule",
            {"title": "Circle", "start": f"{start:%Y-%m-%d %H:%M}", "duration": "60m"},
            user="owner",
        )
        muted = await circle.reply(
            "meeting-mod ping", {"meeting": "#1", "role": quiet}, user="owner"
        )
        fine = await circle.reply(
            "meeting-mod ping", {"meeting": "#1", "role": loud}, user="owner"
        )
        nobody = await circle.reply(
            "meeting-mod ping", {"meeting": "#1", "role": everyone}, user="owner"
        )
        view = (await app.cogs["meetings"].service.all_in(1))[0]  # type: ignore[attr-defined]
    text = muted["data"]["content"]
    assert "will ping that role" in text
    assert "**@Member** does not allow mentions" in text and "Allow anyone to @mention" in text
    assert "does not allow mentions" not in fine["data"]["content"]
    assert "is not a role a post can ping" in nobody["data"]["content"]
    assert view.ping_role == str(loud.id)  # the refused @everyone changed nothing
    assert circle.standin.violations == []


async def test_the_everyone_role_is_never_bound_to_a_staff_tier(circle: Circle) -> None:
    # @everyone's id is the server's own: bound to a tier it would make every member staff
    # (the tier lookup skips it, so the binding would also be a setting that does nothing).
    guild = circle.standin.guild
    everyone = circle.standin.state.guilds[guild.id].roles[guild.id]
    app = await circle.app()
    async with circle.standin.client_running(circle.adapter(app).client):
        for option in ("moderator_role", "facilitator_role"):
            refused = await circle.reply("setup", {option: everyone}, user="owner")
            text = refused["data"]["content"]
            assert f"Every member holds that role, so `{option}` would make everyone" in text
        typed = await circle.reply(
            "settings set", {"key": "moderator_role", "value": f"<@&{guild.id}>"}, user="owner"
        )
        assert "Nothing was changed." in typed["data"]["content"]
    community = await app.members.community("discord", str(guild.id))
    assert await app.members.bindings(community.id) == {}
    assert circle.standin.violations == []
