"""Channel watch: moderators let the bot read plain chat in the community's channels for crisis
phrases only, and answer the writer privately.

Members in a hard moment usually write where they already are. With `crisis watch on` the bot
reads the community's channels (all, or the ones named) and checks each message against the
crisis phrases; nothing it reads is stored or logged. A message that is a plea for help (a help
word alone or a short plea: `sos`, `911`, `hotline`, `help me`, `somebody help me please`,
`ayuda por favor`; see `Answers.plea_language`) gets the crisis lines as `crisis` gives them,
in the plea's language; chat that merely uses such a word ("thanks for the help", "help wanted:
volunteers") does not. A plea shares the crisis phrases' quiet period but alerts nobody: it
asks for the lines, as `crisis` and `sos` typed as commands do, and those never alert (a bare
"help" is as often a newcomer looking for the bot's help). A match is answered in a direct message,
never in the channel (a public line seconds later would point at the member), at most once an
hour per member. If the community turned on alerts, its moderators are told first (the member's
pseudonym, never their words) and the direct message tells the member so. When the direct
message cannot be delivered (closed DMs) nothing is posted in public, and the moderators hear
that the member's DMs are closed.

The setting is the crisis cog's `watch`: `{"channels": [place ids], "labels": {id: name}}`;
an empty list means every channel; no setting means off.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Protocol

from bot.core import (
    AuditService,
    CommunityInfo,
    Context,
    DeliveryError,
    Dispatcher,
    Incoming,
    MemberService,
    Message,
    Option,
    OptionType,
    Place,
    Scope,
    SettingsService,
    Tier,
    UserError,
    Written,
    _,
    command,
    escape_markdown,
)
from cogs.crisis.phrases import Concern, Detection

log = logging.getLogger("circlebot.crisis")

# The detector's concern kinds as the answer text (cogs/crisis/answer.py) names them.
ANSWER_KINDS: dict[Concern, str] = {
    Concern.MEDICAL_EMERGENCY: "overdose",
    Concern.SUICIDE: "suicide",
    Concern.SELF_HARM: "self-harm",
    Concern.DOMESTIC_VIOLENCE: "domestic-violence",
}
WATCH = "watch"
MAX_CHANNELS = 50
_SPLIT = re.compile(r"[\s,]+")

CHANNELS_OPTION = Option(
    "channels",
    OptionType.STRING,
    "Channels, as mentions or names; leave out for every channel",
    required=False,
    max_length=1000,
)


class Watcher(Protocol):
    """What channel watch asks of the crisis cog (`CrisisCog` implements it)."""

    @property
    def name(self) -> str: ...
    @property
    def settings(self) -> SettingsService: ...
    @property
    def members(self) -> MemberService: ...
    @property
    def dispatcher(self) -> Dispatcher: ...
    @property
    def audit(self) -> AuditService: ...
    @property
    def watch(self) -> ChannelWatch: ...

    async def detect_text(
        self, community_id: int | None, text: str, prefer: str = ""
    ) -> Detection | None:
        """Crisis phrases in `text`, or None."""

    async def _note_distress(
        self, ctx: Context, source: str, *, alert: bool = True
    ) -> tuple[bool, bool]:
        """(first in the quiet period, moderators alerted); `alert=False`: never alerts."""

    async def _note_urgent(self, ctx: Context) -> bool:
        """True when an urgent answer is the first in its own quiet period."""

    async def answer(
        self,
        ctx: Context,
        words: str = "",
        *,
        distress: bool = False,
        kind: str | None = None,
        language: str | None = None,
        country: str | None = None,
        alerted: bool = False,
    ) -> Message:
        """The crisis answer for the member."""

    async def _alert_moderators(
        self, ctx: Context, source: str, *, dms_closed: bool = False
    ) -> bool:
        """Tell the community's moderators; True when they were told."""

    async def alert_channel(self, community_id: int) -> str | None:
        """The moderators' alert channel's id, or None when alerts are off."""

    def plea_language(self, text: str, prefer: str = "") -> str | None:
        """The language in which `text` is a plea for help ("sos", "help me please"), or
        None for any other text."""

    async def plea_answer(self, ctx: Context, text: str, *, alerted: bool) -> Message:
        """The lines for a plea, in its language."""


class ChannelWatch:
    """Reads watched channels for crisis phrases and answers privately (see the module)."""

    def __init__(self, cog: Watcher) -> None:
        self.cog = cog

    async def setting(self, community_id: int) -> dict[str, Any] | None:
        """The stored watch setting, or None when watch is off."""
        value = await self.cog.settings.get(community_id, self.cog.name, WATCH)
        return value if isinstance(value, dict) else None

    # ------------------------------------------------------------------ reading

    async def read(self, incoming: Incoming, text: str) -> None:
        """One plain channel message: answered privately if watch is on there and it holds a
        crisis phrase or is a plea for help (`Answers.plea_language`: `sos`, `911`, `help me`,
        `somebody help me please`); otherwise forgotten at once. Never stored, never logged."""
        place = incoming.place
        if place.is_dm or place.community_id is None:
            return
        community = await self.cog.members.community(
            place.platform, place.community_id, incoming.community_name
        )
        watch = await self.setting(community.id)
        if watch is None:
            return
        channels = watch.get("channels") or []
        if channels and place.id not in channels:
            return
        detection = await self.cog.detect_text(community.id, text)
        # No crisis phrase: a plea ("sos", "help me", "somebody help me please") is answered
        # too; other chat that uses a help word ("thanks for the help") is not.
        if detection is None and self.cog.plea_language(text) is None:
            return
        ctx = await self.cog.dispatcher.context(incoming)
        # The alert goes first, so the private answer says only what happened. A plea asks
        # for the lines, as `!sos` does: the same quiet period, and no alert.
        first, alerted = await self.cog._note_distress(
            ctx, Written.CHANNEL, alert=detection is not None
        )
        # An urgent answer has its own period: an overdose after "I want to die" is answered.
        urgent = detection is not None and detection.urgent and await self.cog._note_urgent(ctx)
        if not (first or urgent):
            return  # at most once an hour per member in channels: never nag
        if detection is None:
            message = await self.cog.plea_answer(ctx, text, alerted=alerted)
        else:
            message = await self.cog.answer(
                ctx,
                text,
                distress=True,
                kind=ANSWER_KINDS[detection.kind],
                language=detection.language or None,
                alerted=alerted,
            )
        try:
            await ctx.dm(message)
        except DeliveryError:
            log.info("a channel-watch answer could not be sent privately; nothing was posted")
            await self.cog._alert_moderators(ctx, Written.CHANNEL, dms_closed=True)

    # ------------------------------------------------------------------ what members are told

    async def statement(self, community: CommunityInfo | None) -> str:
        """Whether this community's channels are read, for `about` and `mydata what`."""
        if community is None:
            return _("Channel watch applies to community channels only.")
        watch = await self.setting(community.id)
        if watch is None:
            return _(
                "Channel watch is off here: the bot does not read messages in this community's "
                "channels."
            )
        return _(
            "Channel watch is ON here ({where}): the bot reads messages there only to notice "
            "crisis phrases and calls for help (such as `sos` or `help me` on their own), stores "
            "and logs none of them, and answers the writer privately."
        ).format(where=self.where(watch))

    async def setup_note(self, ctx: Context) -> str:
        """The offer shown by `setup`."""
        watch = await self.setting(ctx.require_community().id)
        state = (
            _("Channel watch is on ({where}).").format(where=self.where(watch))
            if watch is not None
            else _("Channel watch is off.")
        )
        # Switched on earlier, but the platform stopped delivering channel text since (Discord:
        # the message-content switch was turned off): moderators must not believe it works.
        unreadable = await ctx.cannot_read_channels() if watch is not None else None
        return " ".join(
            [
                state,
                *([_("But it is not working now:"), unreadable] if unreadable else []),
                _(
                    "People in a hard moment often write in a channel, not to the bot. With "
                    "`{prefix}crisis watch on` (optionally naming channels) the bot reads "
                    "messages there for crisis phrases and calls for help (`sos`, `help me`) "
                    "only, stores and logs nothing it reads, "
                    "and answers the writer in a private message, at most once an hour. "
                    "`{prefix}crisis watch off` stops it; `about` tells members whether it "
                    "is on."
                ).format(prefix=ctx.prefix),
            ]
        )

    @staticmethod
    def where(watch: dict[str, Any]) -> str:
        """'every channel' or the channels' names."""
        channels = watch.get("channels") or []
        if not channels:
            return _("every channel")
        labels: dict[str, str] = watch.get("labels") or {}
        return ", ".join(escape_markdown(labels.get(c, c)) for c in channels)

    # ------------------------------------------------------------------ moderators

    async def places(self, ctx: Context, channels: str | None) -> list[Place]:
        """The channels named in `channels` (mentions, names or ids), each checked."""
        words = [w for w in _SPLIT.split(channels or "") if w]
        if len(words) > MAX_CHANNELS:
            raise UserError(_("Name at most {n} channels.").format(n=MAX_CHANNELS))
        found: list[Place] = []
        unknown: list[str] = []
        for word in words:
            place = await ctx.responder.resolve_place(word)
            if place is None:
                unknown.append(word)
            else:
                found.append(ctx.own_place(place))
        if unknown:
            raise UserError(
                _("I can't find these channels here: {names}.").format(
                    names=", ".join(escape_markdown(w[:60]) for w in unknown)
                )
            )
        return found

    async def turn_on(self, ctx: Context, channels: str | None) -> None:
        reason = await ctx.cannot_read_channels()
        if reason is not None:
            raise UserError(reason)
        community_id = ctx.require_community().id
        places = await self.places(ctx, channels)
        current = await self.setting(community_id)
        if places:
            if current is not None and not current.get("channels"):
                raise UserError(
                    _(
                        "Channel watch already covers every channel. To watch only some, turn "
                        "it off, then on with the channels: `{prefix}crisis watch on #channel`."
                    ).format(prefix=ctx.prefix)
                )
            ids = list((current or {}).get("channels") or [])
            labels = dict((current or {}).get("labels") or {})
            for place in places:
                if place.id not in ids:
                    ids.append(place.id)
                labels[place.id] = place.label or place.id
            watch: dict[str, Any] = {"channels": ids, "labels": labels}
        else:
            watch = {"channels": [], "labels": {}}
        await self.cog.settings.set(community_id, self.cog.name, WATCH, watch)
        await self.cog.audit.record(
            community_id,
            ctx.actor.key,
            "crisis.watch.on",
            "channels=" + (",".join(watch["channels"]) or "all"),
        )
        await ctx.reply(
            "\n".join(
                [
                    _("Channel watch is on for {where}.").format(where=self.where(watch)),
                    _(
                        "I read messages there only to notice crisis phrases and calls for help "
                        "(`sos`, `help me` on their own); nothing I read is stored or logged. "
                        "When someone writes one, I answer them in a private "
                        "message, at most once an hour, never in the channel. If their direct "
                        "messages are closed, nothing is posted in public."
                    ),
                    await self.alerts_note(ctx, community_id),
                    _(
                        "`{prefix}about` and `{prefix}mydata what` tell members that watch is on."
                    ).format(prefix=ctx.prefix),
                ]
            ),
            ephemeral=True,
        )

    async def alerts_note(self, ctx: Context, community_id: int) -> str:
        """What moderators are told when watch answers someone, for `watch on`."""
        channel_id = await self.cog.alert_channel(community_id)
        if channel_id is None:
            return _(
                "Crisis alerts are off, so moderators are not told. With `{prefix}crisis "
                "alerts` and a channel only moderators read, that channel would get the "
                "writer's pseudonym (never their words), and the private message would tell "
                "the writer so."
            ).format(prefix=ctx.prefix)
        place = await ctx.responder.resolve_place(channel_id)
        label = escape_markdown(place.label or place.id) if place else channel_id
        return _(
            "Crisis alerts are on: {channel} gets the writer's pseudonym and a link to their "
            "account (never their words), and the private message tells the writer that the "
            "moderators know; if their direct messages are closed, the alert says so."
        ).format(channel=label)

    async def turn_off(self, ctx: Context, channels: str | None) -> None:
        community_id = ctx.require_community().id
        places = await self.places(ctx, channels)
        current = await self.setting(community_id)
        if current is None:
            raise UserError(_("Channel watch is already off."))
        watch: dict[str, Any] | None = None
        if places:
            ids = list(current.get("channels") or [])
            if not ids:
                raise UserError(
                    _(
                        "Channel watch covers every channel. Turn it off with "
                        "`{prefix}crisis watch off`, then on with the channels to keep."
                    ).format(prefix=ctx.prefix)
                )
            gone = {p.id for p in places}
            kept = [c for c in ids if c not in gone]
            if kept:
                labels = {k: v for k, v in (current.get("labels") or {}).items() if k in kept}
                watch = {"channels": kept, "labels": labels}
        await self.cog.settings.set(community_id, self.cog.name, WATCH, watch)
        await self.cog.audit.record(
            community_id,
            ctx.actor.key,
            "crisis.watch.off",
            "channels=" + ",".join(p.id for p in places) if places else "all",
        )
        if watch is None:
            text = _(
                "Channel watch is off: I no longer read messages in this community's channels."
            )
        else:
            text = _("Channel watch now covers {where}.").format(where=self.where(watch))
        await ctx.reply(text, ephemeral=True)


# Commands: defined here, taken into the crisis cog's class (`watch_on = watch.watch_on`).


@command(
    "crisis",
    "watch",
    "on",
    tier=Tier.MODERATOR,
    scope=Scope.COMMUNITY,
    ephemeral=True,
    options=(CHANNELS_OPTION,),
)
async def watch_on(self: Watcher, ctx: Context, channels: str | None = None) -> None:
    """Let the bot read channels for crisis phrases only and answer the writer privately."""
    await self.watch.turn_on(ctx, channels)


@command(
    "crisis",
    "watch",
    "off",
    tier=Tier.MODERATOR,
    scope=Scope.COMMUNITY,
    ephemeral=True,
    options=(CHANNELS_OPTION,),
)
async def watch_off(self: Watcher, ctx: Context, channels: str | None = None) -> None:
    """Stop reading channels (all of them, or the ones named)."""
    await self.watch.turn_off(ctx, channels)


@command(
    "crisis",
    "watch",
    "status",
    tier=Tier.MODERATOR,
    scope=Scope.COMMUNITY,
    ephemeral=True,
    text_default=True,
)
async def watch_status(self: Watcher, ctx: Context) -> None:
    """Whether the bot reads this community's channels for crisis phrases, and which."""
    await ctx.reply(await self.watch.setup_note(ctx), ephemeral=True)
