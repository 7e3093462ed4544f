"""The install link a server admin opens to add the bot, with the permissions it needs.

`FEATURE_PERMISSIONS` is the one table of what each feature asks of Discord; the invite's
permission integer is the union of the features in use (`features_in_use`), so adding a
permission check in the adapter means adding it here (tests/test_discord_invite.py checks).
"""

from __future__ import annotations

from collections.abc import Mapping

import discord

from bot.config import DiscordConfig

SCOPES = ("bot", "applications.commands")

POSTS = "posts"
CALENDAR_MIRROR = "calendar mirror"
CHANNEL_WATCH = "channel watch"

FEATURE_PERMISSIONS: Mapping[str, discord.Permissions] = {
    # Announcements, reminders, cards and files in the channels moderators bind (cannot_post
    # checks each of these). Read Message History: after a crash the bot reads its own recent
    # posts back so one that already went out is not posted twice (DiscordAdapter.find_sent).
    # Taking a post back deletes the bot's own message, which needs no Manage Messages.
    POSTS: discord.Permissions(
        view_channel=True,
        send_messages=True,
        send_messages_in_threads=True,
        embed_links=True,
        attach_files=True,
        read_message_history=True,
    ),
    # Meetings on the server's Events tab (always on for Discord: bot.adapters.discord.events).
    # Create Events lets the bot edit and delete the events it created; an event in a voice
    # channel also needs View Channel and Connect there. A stage-channel event needs more
    # (Manage Channels, Mute and Move Members), which the bot does not ask for: such an event
    # is refused by Discord and logged.
    CALENDAR_MIRROR: discord.Permissions(create_events=True, view_channel=True, connect=True),
    # `crisis watch on`: server messages arrive through the gateway in channels the bot can
    # see; no history is read (the privileged intent is switched on separately).
    CHANNEL_WATCH: discord.Permissions(view_channel=True),
}


def features_in_use(config: DiscordConfig) -> list[str]:
    """The keys of `FEATURE_PERMISSIONS` this configuration uses, in table order."""
    used = [POSTS, CALENDAR_MIRROR]
    if config.message_content:
        used.append(CHANNEL_WATCH)
    return used


def permissions_needed(config: DiscordConfig) -> discord.Permissions:
    """The union of the permissions of the features in use."""
    needed = discord.Permissions.none()
    for feature in features_in_use(config):
        needed |= FEATURE_PERMISSIONS[feature]
    return needed


def invite_url(application_id: int, config: DiscordConfig) -> str:
    """The OAuth2 URL that adds the bot to a server (scopes `bot applications.commands`).

    `application_id` is the Developer Portal's Application ID (also the bot's user id).
    """
    return discord.utils.oauth_url(
        application_id, permissions=permissions_needed(config), scopes=SCOPES
    )
