"""Discord delivery: the outbox's transport (send, retract, find_sent) and the posting it rests
on, with the nonces, pacing and marker line that make a delivery happen once.

`Delivery` is mixed into `DiscordAdapter`, which owns the client and the state used here
(`pacer`, `_closed_dms`, `_posted_pieces`); it is kept apart so the adapter file holds the
incoming side (commands, buttons, forms, DMs) and this one what goes out.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import logging
import re
import time
from datetime import datetime, timedelta

import aiohttp
import discord

from bot.adapters.discord.render import build_view, render
from bot.adapters.discord.responder import DMS_CLOSED
from bot.adapters.panels import PanelBoard
from bot.core.errors import DeliveryError, DMsClosed
from bot.core.message import Message
from bot.crypto import actor_tag
from bot.i18n import _
from bot.outbox import Target, check_lease

log = logging.getLogger("circlebot.discord")

SENDS_PER_SECOND = 45.0  # outbox pace, under Discord's global 50 requests per second
DELIVERY_SLOTS = 50  # outbox sends in flight at once (the pacer and route buckets decide when)
CLOSED_DMS_RECHECK = 3600.0  # outbox DMs to a closed inbox are not retried for an hour
NONCE_MAX = 25
MARKER_LENGTH = 12  # hex characters of a delivery's keyed tag (48 bits)
HISTORY_LIMIT = 100  # messages one lookup reads: one page of Discord's Get Channel Messages
CLOCK_SKEW = timedelta(minutes=2)  # this host's clock against Discord's, when reading back
_MARKER = re.compile(rf"([0-9a-f]{{{MARKER_LENGTH}}})(?: (\d+)/(\d+))?$")


def nonce_for(key: str, index: int) -> str:
    """Discord drops a second message with the same nonce, so a resend after a crash is not
    shown twice; each piece of a split message needs its own."""
    return hashlib.sha256(f"{key}#{index}".encode()).hexdigest()[:NONCE_MAX]


def marker_tag(key: str) -> str:
    """The keyed tag an outbox delivery carries on Discord (HMAC of its idempotency key).

    Keyed (`bot.crypto.actor_tag`) because keys name meetings and members: nobody without the
    encryption keys can tell from a tag what it belongs to.
    """
    return actor_tag(key, "discord.delivery", length=MARKER_LENGTH)


def with_marker(content: str | None, tag: str, index: int, count: int) -> str:
    """`content` with a last line `-# ref <tag>` (`-# ref <tag> 2/3` for a split message).

    Why a visible line: Discord returns no nonce when history is read back, and every other
    field it returns (embed, buttons, attachments) is visible or changes what members see in
    a worse way (zero-width tricks render as garbage in some clients). Subtext (`-#`) is
    Discord's own small grey print, so the marker is honest and discreet: it is what a member
    can quote if an announcement went wrong, and what the bot reads back after a crash.
    """
    piece = f"{tag} {index + 1}/{count}" if count > 1 else tag
    line = _("-# ref {marker}").format(marker=piece)
    return f"{content}\n{line}" if content else line


MARKER_ROOM = 40  # content characters kept free for the marker line, translations included


def read_marker(content: str) -> tuple[str, int, int] | None:
    """(tag, piece index, piece count) from a message's last line, or None."""
    last = content.rstrip().rsplit("\n", 1)[-1]
    match = _MARKER.search(last) if last.startswith("-# ") else None
    if match is None:
        return None
    if match[2] is None:
        return match[1], 0, 1
    return match[1], int(match[2]) - 1, int(match[3])


def delivery_error(exc: discord.HTTPException) -> DeliveryError:
    """Discord's refusal as the outbox understands it (4xx will not get better by retrying)."""
    if isinstance(exc, discord.Forbidden) and exc.code == DMS_CLOSED:
        return DMsClosed()
    return DeliveryError(
        f"Discord answered {exc.status} (code {exc.code})", permanent=400 <= exc.status < 500
    )


class Pacer:
    """At most `per_second` paced requests start in any one-second window (a sliding window).

    Discord allows a bot 50 requests per second across all its routes (its global limit); the
    outbox keeps under that with room for the bot's other requests, so a burst of
    announcements never meets a 429. Written here because the rate-limiting libraries at hand
    are leaky buckets, which bound the long-run rate but let a full bucket plus a second's
    refill through in one window (up to twice the limit); discord.py itself paces only the
    per-route buckets Discord announces in its headers, and waits out a global 429 after the
    fact.
    """

    def __init__(self, per_second: float) -> None:
        self.per_second = max(1, int(per_second))
        self._starts: collections.deque[float] = collections.deque()  # loop time of each start
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        """Return once one more request may start (requests start in the order they asked)."""
        async with self._lock:
            loop = asyncio.get_running_loop()
            while True:
                now = loop.time()
                while self._starts and self._starts[0] <= now - 1.0:
                    self._starts.popleft()
                if len(self._starts) < self.per_second:
                    self._starts.append(now)
                    return
                await asyncio.sleep(self._starts[0] + 1.0 - now)


class Delivery:
    """Sending, retracting and finding the bot's own posts (mixed into `DiscordAdapter`)."""

    client: discord.Client
    pacer: Pacer
    _closed_dms: dict[int, float]  # user id -> when their DMs refused us (monotonic seconds)
    _posted_pieces: dict[str, dict[int, str]]  # key -> pieces a lookup found (index -> id)
    panels: PanelBoard  # live and retired panel messages (`Message.panel`)

    async def retire_panel(self, channel_id: int, message_id: str, message: Message) -> None:
        """Grey out the buttons of a panel message a newer post of its panel replaced, so
        they cannot be pressed; its text stays. A failure is only logged (a press on it is
        refused anyway: `PanelBoard.is_retired`)."""
        view = build_view(message.actions, message.long_text_prompt, disabled=True)
        if view is None:
            return  # no buttons to grey out
        channel = self.client.get_partial_messageable(channel_id)
        try:
            await channel.get_partial_message(int(message_id)).edit(
                view=view, allowed_mentions=discord.AllowedMentions.none()
            )
        except discord.HTTPException as exc:
            log.warning("could not disable an earlier panel's buttons: %s", exc)

    async def post(
        self,
        channel: discord.abc.Messageable,
        message: Message,
        *,
        idempotency_key: str | None = None,
    ) -> str | None:
        """Send every piece of a message; returns the ids of the pieces sent, space-separated
        (what `retract` needs to take the whole message back), None when none was sent.

        Keyed (outbox) sends are paced, carry nonces and end in a marker line (`with_marker`);
        pieces a lookup found already posted are not sent again.
        """
        reserve = MARKER_ROOM if idempotency_key is not None else 0
        parts = render(message, reserve=reserve)
        posted = self._posted_pieces.pop(idempotency_key or "", {})
        ids: list[str] = []
        for index, part in enumerate(parts):
            kwargs = part.kwargs()
            if idempotency_key is not None:
                if index in posted:
                    ids.append(posted[index])  # so retract takes back the whole message
                    continue
                await self.pacer.wait()
                check_lease()  # a process paused past its outbox lease sends nothing more
                kwargs["nonce"] = nonce_for(idempotency_key, index)
                tag = marker_tag(idempotency_key)
                kwargs["content"] = with_marker(kwargs.get("content"), tag, index, len(parts))
            sent = await channel.send(**kwargs)
            ids.append(str(sent.id))
        return " ".join(ids) or None

    async def send_dm(
        self, user_id: int, message: Message, *, idempotency_key: str | None = None
    ) -> str | None:
        """DM a member; closed DMs are remembered and raised as `DMsClosed`."""
        try:
            channel = await self.client.create_dm(discord.Object(user_id))
            sent = await self.post(channel, message, idempotency_key=idempotency_key)
        except discord.Forbidden as exc:
            if exc.code != DMS_CLOSED:
                raise
            self._closed_dms[user_id] = time.monotonic()
            raise DMsClosed() from exc
        self._closed_dms.pop(user_id, None)
        return sent

    @property
    def can_send(self) -> bool:
        """True once the gateway session is ready (the outbox waits until then)."""
        return self.client.is_ready()

    async def send(self, target: Target, message: Message, idempotency_key: str) -> str | None:
        """The outbox's delivery: once, paced, with Discord errors mapped for its retries.

        Returns the Discord ids of the message's pieces, space-separated.
        """
        if not self.client.is_ready():
            raise DeliveryError("not connected to Discord yet")
        try:
            if target.is_dm:
                user_id = int(target.platform_id)
                refused = self._closed_dms.get(user_id)
                if refused is not None and time.monotonic() - refused < CLOSED_DMS_RECHECK:
                    raise DMsClosed()
                return await self.send_dm(user_id, message, idempotency_key=idempotency_key)
            channel = self.client.get_partial_messageable(int(target.platform_id))
            return await self.post(channel, message, idempotency_key=idempotency_key)
        except ValueError as exc:
            raise DeliveryError("not a Discord target", permanent=True) from exc  # no ids in logs
        except discord.HTTPException as exc:
            raise delivery_error(exc) from exc
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise DeliveryError(f"Discord unreachable: {exc}") from exc

    async def _own_post(self, target: Target, message_id: str) -> discord.PartialMessage:
        """The bot's post `message_id` in the target's channel or DM (raises ValueError for
        ids that are not Discord's)."""
        if target.is_dm:
            channel: discord.abc.Messageable = await self.client.create_dm(
                discord.Object(int(target.platform_id))
            )
        else:
            channel = self.client.get_partial_messageable(int(target.platform_id))
        assert isinstance(channel, discord.DMChannel | discord.PartialMessageable)
        return channel.get_partial_message(int(message_id))

    async def retract(self, target: Target, message_id: str) -> None:
        """Delete a message the bot sent (its own: no Manage Messages needed); gone is fine."""
        if not self.client.is_ready():
            raise DeliveryError("not connected to Discord yet")
        try:
            await (await self._own_post(target, message_id)).delete()
        except discord.NotFound:
            return  # deleted already (by a moderator, or an earlier try)
        except ValueError as exc:
            raise DeliveryError("not a Discord message", permanent=True) from exc
        except discord.HTTPException as exc:
            raise delivery_error(exc) from exc
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise DeliveryError(f"Discord unreachable: {exc}") from exc

    async def edit(
        self, target: Target, message_id: str, message: Message, idempotency_key: str
    ) -> None:
        """Show `message` in the bot's post `message_id` instead, buttons and marker line
        included (a post kept current, e.g. an RSVP count); one piece only."""
        if not self.client.is_ready():
            raise DeliveryError("not connected to Discord yet")
        parts = render(message, reserve=MARKER_ROOM)
        if len(parts) != 1:
            raise DeliveryError("too long to edit in place", permanent=True)
        kwargs = parts[0].kwargs()
        tag = marker_tag(idempotency_key)
        content = with_marker(kwargs.get("content"), tag, 0, 1)
        try:
            await (await self._own_post(target, message_id)).edit(
                content=content,
                embed=kwargs.get("embed"),
                view=kwargs.get("view"),
                allowed_mentions=kwargs.get("allowed_mentions"),
            )
        except discord.NotFound as exc:
            raise DeliveryError("the post is gone", permanent=True) from exc
        except ValueError as exc:
            raise DeliveryError("not a Discord message", permanent=True) from exc
        except discord.HTTPException as exc:
            raise delivery_error(exc) from exc
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise DeliveryError(f"Discord unreachable: {exc}") from exc

    def _history_hidden(self, channel_id: int) -> bool:
        """Whether the bot is known to lack Read Message History in a server channel.

        Discord answers a history request without it with no messages rather than an error.
        """
        channel = self.client.get_channel(channel_id)
        if not isinstance(channel, discord.abc.GuildChannel | discord.Thread):
            return False
        me = channel.guild.me
        return me is not None and not channel.permissions_for(me).read_message_history

    async def find_sent(self, target: Target, idempotency_key: str, since: datetime) -> str | None:
        """After a crash between send and mark: the Discord ids of every piece this outbox
        item already posted, space-separated in order (what `retract` needs to take the whole
        message back, like `send`'s answer), else None.

        Discord drops a repeated nonce for a few minutes only and returns no nonce in history,
        so the lookup matches the marker every keyed send ends with (`with_marker`): it reads
        the bot's own messages in the channel or DM posted from `since` (aware UTC, the first
        try) minus `CLOCK_SKEW`, oldest first, at most `HISTORY_LIMIT` of them (one request).
        If only some pieces of a split message are there, None is returned and the following
        `send` posts only the missing pieces (and answers with the ids of all of them).

        What stays uncertain (the outbox then sends again, which may show the message twice):
        the bot lacks Read Message History there (Discord then returns no messages at all,
        not an error, so the permission is checked first) or View Channel (403); more than
        `HISTORY_LIMIT` messages were posted there between `since` minus the skew and the
        bot's post; the clocks differ by more than `CLOCK_SKEW`; a member deleted the post.
        A message posted before this marker existed carries none and is never found.

        Raises:
            DeliveryError: not connected, or Discord failed to answer (the outbox resends).
        """
        if not self.client.is_ready() or self.client.user is None:
            raise DeliveryError("not connected to Discord yet")
        me = self.client.user.id
        tag = marker_tag(idempotency_key)
        pieces: dict[int, str] = {}
        count = 0
        try:
            if target.is_dm:
                channel: discord.abc.Messageable = await self.client.create_dm(
                    discord.Object(int(target.platform_id))
                )
            else:
                channel_id = int(target.platform_id)
                if self._history_hidden(channel_id):
                    log.warning(
                        "cannot check whether an announcement was already posted: the bot "
                        "lacks Read Message History in a channel; sending it again (it may "
                        "show twice)"
                    )
                    return None
                channel = self.client.get_partial_messageable(channel_id)
            async for posted in channel.history(limit=HISTORY_LIMIT, after=since - CLOCK_SKEW):
                found = read_marker(posted.content) if posted.author.id == me else None
                if found is not None and found[0] == tag:
                    pieces[found[1]] = str(posted.id)
                    count = found[2]
        except ValueError as exc:
            raise DeliveryError("not a Discord target", permanent=True) from exc
        except discord.Forbidden:
            log.warning(
                "cannot read back a channel or DM (Discord refused: View Channel or Read Message "
                "History missing); sending the announcement again (it may show twice)"
            )
            return None
        except discord.HTTPException as exc:
            raise delivery_error(exc) from exc
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise DeliveryError(f"Discord unreachable: {exc}") from exc
        if count and count - 1 in pieces:  # the last piece went out, so the message did
            return " ".join(pieces[index] for index in sorted(pieces))
        if pieces:
            self._posted_pieces[idempotency_key] = pieces
        return None
