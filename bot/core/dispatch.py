"""From an incoming command to a reply: tier and scope checks, conversion, errors, rate limit.

`UserError` becomes a friendly reply; anything else is logged with an error id and the member
gets a short apology carrying that id. One structured log line per command, never with text a
member wrote.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import re
import time
import unicodedata
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.core.commands import AutocompleteFn, Choice, CommandSpec, OptionType
from bot.core.context import CommunityInfo, Context, Responder, system_now
from bot.core.convert import (
    AmbiguousWords,
    bind_text,
    convert_option,
    lower_first,
    weighs_known,
)
from bot.core.dialogue import ACTION_PREFIX, Dialogues
from bot.core.errors import ArgumentError, PermissionDenied, RateLimited, UserError
from bot.core.hooks import TextCheck, TextChecks, Written
from bot.core.identity import Actor, Place
from bot.core.message import Message
from bot.core.permissions import Scope, Tier
from bot.core.registry import Registry
from bot.core.suggest import SharedSuggestions
from bot.crypto import actor_tag
from bot.i18n import _, set_language
from bot.safety import escape_markdown, unstorable
from bot.services import reads
from bot.services.members import MemberService

log = logging.getLogger("circlebot.commands")

ActionHandler = Callable[[Context, str], Awaitable[bool]]
# (ctx, the member's words, the refusal) -> True when the handler answered instead.
RefusalHandler = Callable[[Context, str, Message], Awaitable[bool]]
# A command of the cog -> what a member below its tier is told instead of "Only a {tier} can
# use ...", or None for that.
TierRefusal = Callable[[CommandSpec], str | None]
# (ctx, a command of the cog the member is below the tier of, its option values as given or
# read from the words; empty when they could not be read) -> the whole refusal for a member
# whom the command's options name in a way that makes the tier's words wrong or misleading
# (the meetings cog: one of the meeting's named facilitators, told what they can do there),
# or None for `TierRefusal`'s words.
NamedRefusal = Callable[[Context, CommandSpec, Mapping[str, Any]], Awaitable[str | None]]
# (community id, meeting `#id` or title, actor key) -> whether the person is a named
# facilitator of that meeting and the meeting is current (the meetings cog decides the window).
NamedFacilitator = Callable[[int, str, str], Awaitable[bool]]
# (ctx, a command of the cog, its option values as given) -> the meeting (`#id` or title) that
# command runs, or None when it runs none (then only the tier counts).
MeetingOf = Callable[[Context, CommandSpec, Mapping[str, Any]], Awaitable[str | None]]
# (the event, the plain text) for plain chat in a community channel; see `read_channel`.
ChannelReader = Callable[["Incoming", str], Awaitable[None]]
# (community id, actor key) for every event in a community.
SeenHook = Callable[[int, str], Awaitable[None]]
# community id -> names of the cogs that community switched off.
SwitchedOff = Callable[[int], Awaitable[list[str]]]
# (words, whole) -> whether the words ask for help in any language the cog knows: the whole
# words are nothing but a help word (`whole`), or they begin with one (`hilfe bitte`).
HelpWords = Callable[[str, bool], bool]


@dataclass(frozen=True)
class CogHooks:
    """What a cog asks the core to call, declared on the cog (`Cog.hooks`).

    The core attaches them when the cog starts and detaches them when it stops
    (`Dispatcher.attach`, `Dispatcher.detach`); no cog sets the dispatcher's fields itself.
    """

    seen: SeenHook | None = None  # privacy: counts activity for retention
    text_check: TextCheck | None = None  # crisis: reads DMs, journal entries, answers
    switched_off: SwitchedOff | None = None  # admin: a community's cog switches
    refusal: RefusalHandler | None = None  # answers in place of the cog's own refusals
    tier_refusal: TierRefusal | None = None  # its own words for a member below a command's tier
    # its own words for a member below a command's tier whom the command's options name
    # (meetings: a named facilitator of the meeting the command changes)
    named_refusal: NamedRefusal | None = None
    channel_reader: ChannelReader | None = None  # plain chat in community channels
    help_words: HelpWords | None = None  # crisis: words asking for help, in every language
    # meetings: who is named facilitator of a meeting, while it is current
    named_facilitator: NamedFacilitator | None = None
    # scripts: which meeting each of its facilitator commands runs, for the named facilitator
    meeting_of: MeetingOf | None = None
    # names other cogs' options may suggest (scripts: {"script": its script names})
    suggestions: Mapping[str, AutocompleteFn] = field(default_factory=dict)


@dataclass(frozen=True)
class Incoming:
    """What an adapter knows about one event before the core looks at it."""

    actor: Actor
    place: Place
    tier: Tier
    responder: Responder
    community_name: str = ""


class RateLimiter:
    """A sliding window per member, so one person cannot flood the bot: at most `limit`
    commands in any `window_seconds`, read on `clock` (the app's clock, so a virtual clock's
    time is the time that counts; default the monotonic clock). A `limit` of 0 means no limit."""

    def __init__(
        self, limit: int, window_seconds: float, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    @classmethod
    def unlimited(cls) -> RateLimiter:
        """No limit: for input that is a script, not a person typing."""
        return cls(0, 0.0)

    def allow(self, key: str, now: float | None = None) -> bool:
        """Record a hit for member `key` at `now` (seconds; default: the clock's reading);
        False, and nothing recorded, when the member is over the limit."""
        if self.limit <= 0:
            return True
        if now is None:
            now = self._clock().timestamp() if self._clock else time.monotonic()
        hits = self._hits.setdefault(key, deque())
        while hits and now - hits[0] > self.window_seconds:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True


def tier_name(tier: Tier) -> str:
    """A tier's name in the member's language."""
    return {
        Tier.MEMBER: _("member"),
        Tier.FACILITATOR: _("facilitator"),
        Tier.MODERATOR: _("moderator"),
        Tier.OWNER: _("owner"),
    }[tier]


def pseudonymous(key: str) -> str:
    """A short stable keyed hash of an actor key for logs (a log reader cannot compute it)."""
    return actor_tag(key, "log", length=10)


class Dispatcher:
    """Runs commands for every adapter the same way."""

    def __init__(
        self,
        registry: Registry,
        members: MemberService,
        dialogues: Dialogues,
        *,
        text_checks: TextChecks | None = None,
        suggestions: SharedSuggestions | None = None,
        owners: frozenset[str] = frozenset(),
        default_timezone: str = "UTC",
        rate_limiter: RateLimiter | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.registry = registry
        self.clock = clock or system_now  # the app's clock, handed to each command's context
        self.members = members
        self.dialogues = dialogues
        self.text_checks = text_checks or TextChecks()
        self.owners = owners
        self.default_timezone = default_timezone
        self.rate_limiter = rate_limiter or RateLimiter(10, 30.0)
        self.accepting = True
        self._inflight = 0
        self._actions: dict[str, ActionHandler] = {}
        self._refusals: dict[str, RefusalHandler] = {}
        self._tier_refusals: dict[str, TierRefusal] = {}
        self._named_refusals: dict[str, NamedRefusal] = {}
        self._channel_readers: dict[str, ChannelReader] = {}
        # Hooks the started cogs declared (`CogHooks`), by cog name.
        self._switched_off: dict[str, SwitchedOff] = {}
        self._seen: dict[str, SeenHook] = {}
        self._help_words: dict[str, HelpWords] = {}
        self._named_facilitator: dict[str, NamedFacilitator] = {}
        self._meeting_of: dict[str, MeetingOf] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self.suggestions = suggestions or SharedSuggestions()

    async def context(
        self, incoming: Incoming, spec: CommandSpec | None = None, *, join: bool = True
    ) -> Context:
        """Build the context: community row, member's zone and language, final tier.

        `join=False` for words that may be meant for another bot: the person is not recorded
        as a member of the community (nor counted as active) for them.
        """
        community: CommunityInfo | None = None
        if incoming.place.community_id is not None:
            community = await self.members.community(
                incoming.place.platform,
                incoming.place.community_id,
                incoming.community_name,
                timezone=self.default_timezone,
            )
            if join:
                await self.members.join(community.id, incoming.actor.key)
                for seen in list(self._seen.values()):
                    await seen(community.id, incoming.actor.key)
        profile = await self.members.profile(incoming.actor.key)
        tier = Tier.OWNER if incoming.actor.key in self.owners else incoming.tier
        language = profile.language or (community.language if community else "en")
        set_language(language)
        named = None
        if community is not None and self._named_facilitator:
            named = self._named_check(community.id, incoming.actor.key)
        return Context(
            actor=incoming.actor,
            place=incoming.place,
            community=community,
            tier=tier,
            responder=incoming.responder,
            timezone=profile.timezone or (community.timezone if community else "UTC"),
            language=language,
            country=profile.country or (community.country if community else ""),
            ephemeral_default=spec.private if spec else incoming.place.is_dm,
            command_private=spec.private if spec else None,
            command_name=spec.name if spec else "",
            now=self.clock,
            named_facilitator=named,
        )

    def _named_check(self, community_id: int, actor_key: str) -> Callable[[str], Awaitable[bool]]:
        """`Context.named_facilitator` for one person in one community: any provider says so
        (a failing provider counts as no)."""

        async def named(meeting: str) -> bool:
            for provider in list(self._named_facilitator.values()):
                try:
                    if await provider(community_id, meeting, actor_key):
                        return True
                except Exception:
                    log.exception("a named-facilitator check failed")
            return False

        return named

    def _may_be_named(self, spec: CommandSpec) -> bool:
        """Whether someone below `spec`'s tier could still run it as a meeting's named
        facilitator: a facilitator's command of a cog that says which meeting it runs, with
        a meetings part to say who is named."""
        return (
            spec.tier is Tier.FACILITATOR
            and spec.cog in self._meeting_of
            and bool(self._named_facilitator)
        )

    def _below_tier(self, spec: CommandSpec, typed: str) -> PermissionDenied:
        """The refusal for someone `Context.may` does not let run `spec`: the cog's own words,
        else who may (the tier, and the meeting's named facilitator where that counts)."""
        words = self._cog_tier_refusal(spec)
        if words is None and self._may_be_named(spec):
            words = _("Only a {tier} or the meeting's named facilitator can use `{command}`.")
        if words is None:
            words = _("Only a {tier} can use `{command}`.")
        return PermissionDenied(words.format(tier=tier_name(spec.tier), command=typed))

    async def _tier_refused(
        self, ctx: Context, spec: CommandSpec, typed: str, raw: str | Mapping[str, Any]
    ) -> PermissionDenied:
        """The refusal for someone below `spec`'s tier who may not run it even as a meeting's
        named facilitator: the cog's words for whom its options name (`CogHooks.named_refusal`:
        the meeting's own named facilitator learns what they can do instead), else
        `_below_tier`'s. The options are read only to choose the words; the command never runs."""
        hook = self._named_refusals.get(spec.cog)
        if hook is None or ctx.community is None:
            return self._below_tier(spec, typed)
        values: Mapping[str, Any] = {}
        try:
            if isinstance(raw, str):
                values = bind_text(spec, raw, await self._known_values(ctx, spec), [])
            else:
                values = dict(raw)
            words = await hook(ctx, spec, values)
        except UserError:
            words = None
        except Exception:
            log.exception("the named refusal of %s failed", spec.cog)
            words = None
        return self._below_tier(spec, typed) if words is None else PermissionDenied(words)

    async def _meeting_of_command(
        self, ctx: Context, spec: CommandSpec, values: Mapping[str, Any]
    ) -> str | None:
        """The meeting `spec` runs with these values, as its cog says (None on failure)."""
        hook = self._meeting_of.get(spec.cog)
        if hook is None:
            return None
        try:
            return await hook(ctx, spec, values)
        except UserError:
            return None
        except Exception:
            log.exception("the meeting_of hook of %s failed", spec.cog)
            return None

    async def run(
        self, incoming: Incoming, spec: CommandSpec, raw: str | Mapping[str, Any]
    ) -> None:
        """Check, convert and call one command; never raises to the adapter."""
        started = time.perf_counter()
        outcome = "ok"
        error_id = ""
        self._enter()
        scope = reads.CommandReads()
        scope_token = reads.enter(scope)
        try:
            ctx = await self.context(incoming, spec)
            # Words meant for the member alone, typed where others read: the message goes
            # first (before any check can refuse), and the member learns of it privately after
            # the command's own answer, whatever that answer was.
            shown = _private_words_shown(incoming, spec, raw)
            left = await _remove_command(incoming) if shown else None
            try:
                outcome = await self._run_checked(ctx, spec, raw)
            except UserError as exc:
                outcome = type(exc).__name__
                if not await self._refused(ctx, spec, raw, Message.coerce(exc.message)):
                    await ctx.refuse(exc.message)
            except Exception:
                error_id = uuid.uuid4().hex[:8]
                outcome = "error"
                log.exception("command %s failed (error id %s)", spec.qualified, error_id)
                if not await self._refused(ctx, spec, raw, Message.coerce(apology(error_id))):
                    await self._apologise(ctx, error_id)
            if shown:
                await ctx.refuse(removal_note(incoming.place.label, left))
        except Exception:
            error_id = error_id or uuid.uuid4().hex[:8]
            outcome = "error"
            log.exception(
                "command %s failed before it ran (error id %s)", spec.qualified, error_id
            )
        finally:
            reads.leave(scope_token)
            try:
                await scope.close()
            finally:
                self._leave()
                if log.isEnabledFor(logging.INFO):  # the keyed tag costs an HMAC per command
                    log.info(
                        "cmd=%s actor=%s platform=%s dm=%s outcome=%s ms=%.1f%s",
                        spec.qualified,
                        pseudonymous(incoming.actor.key),
                        incoming.place.platform,
                        incoming.place.is_dm,
                        outcome,
                        (time.perf_counter() - started) * 1000,
                        f" error_id={error_id}" if error_id else "",
                    )

    async def _run_checked(
        self, ctx: Context, spec: CommandSpec, raw: str | Mapping[str, Any]
    ) -> str:
        if not self.accepting:
            await ctx.refuse(_("I'm restarting; please try again in a minute."))
            return "shutting_down"
        # Crisis phrases are looked for in every member-written argument of every command
        # (pseudonyms, titles, notes...), before any refusal, so no parse error or missing
        # permission can swallow them. The check answers privately.
        distress = await self._check_words(ctx, spec, raw)
        try:
            return await self._run_unchecked(ctx, spec, raw, distress)
        except UserError:
            if distress:
                return "answered_distress"  # a refusal after a caring answer would be cold
            raise

    async def _run_unchecked(
        self, ctx: Context, spec: CommandSpec, raw: str | Mapping[str, Any], distress: bool
    ) -> str:
        if not self.rate_limiter.allow(ctx.actor.key):
            # A refusal like any other, so a cog may still answer (crisis: the lines).
            raise RateLimited(
                _(
                    "That's a lot of commands in a short time. Please slow down and try again "
                    "in a little while."
                )
            )
        typed = " ".join(ctx.responder.command_words(spec.path))  # as the platform names it
        if ctx.community is not None and await self._switched_off_in(ctx.community.id, spec.cog):
            raise PermissionDenied(
                _("`{command}` is switched off in this community.").format(command=typed)
            )
        # Tiers are decided here, for every command: `Context.may`. Below the tier, only a
        # facilitator's command may still run (for the named facilitator of the meeting it
        # runs); which meeting that is needs the options, so that waits for them.
        below = ctx.tier < spec.tier
        if below and not self._may_be_named(spec):
            raise await self._tier_refused(ctx, spec, typed, raw)
        if not spec.scope.allows(is_dm=ctx.place.is_dm, community_known=ctx.community is not None):
            raise PermissionDenied(_scope_refusal(spec.scope, typed))
        filled: list[str] = []  # options that unnamed words filled, in order
        if isinstance(raw, str):
            try:
                values = bind_text(spec, raw, await self._known_values(ctx, spec), filled)
            except AmbiguousWords as exc:  # which meeting? asked with lines to copy
                if below:  # not theirs to run: nothing about the words
                    raise self._below_tier(spec, typed) from None
                exc.message = exc.question(f"{ctx.prefix}{typed}")
                raise
            except UserError:
                if below:
                    raise self._below_tier(spec, typed) from None
                raise
            ctx.read_from_words = frozenset(filled)
        else:
            values = dict(raw)
        if below:
            meeting = await self._meeting_of_command(ctx, spec, values)
            if not await ctx.may(spec.tier, meeting):
                raise self._below_tier(spec, typed)
        try:
            return await self._convert_and_call(ctx, spec, values, distress)
        except UserError as exc:
            hint = _unnamed_hint(spec, values, filled, exc.message)
            if hint is None:
                raise
            exc.message = f"{exc.message} {hint}"
            raise

    async def _convert_and_call(
        self, ctx: Context, spec: CommandSpec, values: dict[str, Any], distress: bool
    ) -> str:
        unknown = set(values) - {o.name for o in spec.options}
        if unknown:
            raise ArgumentError(_("Unknown option `{name}`.").format(name=sorted(unknown)[0]))
        kwargs: dict[str, Any] = {}
        for option in spec.options:
            if option.name in values and values[option.name] is not None:
                kwargs[option.name] = await convert_option(option, values[option.name], ctx)
            elif option.required:
                for given in spec.options:  # which meeting? is fixed before what is missing
                    check = spec.checks.get(given.name)
                    if check is not None and isinstance(kwargs.get(given.name), str):
                        await check(ctx, kwargs[given.name])
                raise ArgumentError(
                    _(
                        "`{command}` is missing `{name}:` — {description}. Type `{prefix}help "
                        "{command}` for the details."
                    ).format(
                        command=spec.name,
                        name=option.name,
                        description=lower_first(option.description),
                        prefix=ctx.prefix,
                    )
                )
        if distress and any(o.published and o.name in kwargs for o in spec.options):
            await ctx.refuse(
                _(
                    "I haven't shown those words to anyone. If you still want to set this, "
                    "choose other words; the lines I sent are there for you now."
                )
            )
            return "withheld"
        assert spec.callback is not None
        # The checks are done: the command's own work reads and writes in its own sessions.
        scope = reads.current()
        if scope is not None:
            await scope.release()
        await spec.callback(ctx, **kwargs)
        return "ok"

    async def _known_values(self, ctx: Context, spec: CommandSpec) -> dict[str, list[str]]:
        """For each `known_only` option, the values its autocomplete offers this member (at
        most 25: a member's own groups), so free words are read as a name only when they are
        one; for each optional text option with an autocomplete that other words may come
        before or after (`weighs_known`), the same, so several unquoted last words that name
        one are bound to it whole (`group read Monday crew`); for each `Option.names` option,
        the names its method gives (meeting titles), so several unquoted words can be one of
        them."""
        known: dict[str, list[str]] = {}
        for option in spec.options:
            weighed = weighs_known(spec, option)
            fn = self.registry.autocomplete(spec, option.name) if weighed else None
            if option.names:
                fn = self.registry.names(spec, option.name)
            if fn is not None:
                known[option.name] = [c.value for c in await fn(ctx, "")]
        return known

    async def _check_words(
        self, ctx: Context, spec: CommandSpec, raw: str | Mapping[str, Any]
    ) -> bool:
        """Run the text checks on what the member typed after the command; True if one hit.

        The words are private (`Written.command(..., private=True)`) when they fill one of the
        command's `Option.private_text` options, or, typed as text and not yet bound to
        options, when the command has one: its words may be the member's own.
        """
        text = (
            raw
            if isinstance(raw, str)
            else "\n".join(v for v in raw.values() if isinstance(v, str))
        )
        if not text.strip():
            return False
        private = bool(spec.private_options) and (
            isinstance(raw, str) or any(raw.get(o.name) for o in spec.private_options)
        )
        return await self.text_checks.run(ctx, text, Written.command(spec.cog, private=private))

    def attach(self, cog: str, hooks: CogHooks) -> None:
        """Start calling the hooks cog `cog` declared (again: replaces them, keeps one copy)."""
        if hooks.seen is not None:
            self._seen[cog] = hooks.seen
        if hooks.text_check is not None:
            self.text_checks.add(hooks.text_check)
        if hooks.switched_off is not None:
            self._switched_off[cog] = hooks.switched_off
        if hooks.refusal is not None:
            self.register_refusal(cog, hooks.refusal)
        if hooks.tier_refusal is not None:
            self._tier_refusals[cog] = hooks.tier_refusal
        if hooks.named_refusal is not None:
            self._named_refusals[cog] = hooks.named_refusal
        if hooks.channel_reader is not None:
            self.register_channel_reader(cog, hooks.channel_reader)
        if hooks.help_words is not None:
            self._help_words[cog] = hooks.help_words
        if hooks.named_facilitator is not None:
            self._named_facilitator[cog] = hooks.named_facilitator
        if hooks.meeting_of is not None:
            self._meeting_of[cog] = hooks.meeting_of
        self.suggestions.offer(cog, hooks.suggestions)

    def detach(self, cog: str, hooks: CogHooks) -> None:
        """Stop calling cog `cog`'s hooks (it is stopping)."""
        self._seen.pop(cog, None)
        if hooks.text_check is not None:
            self.text_checks.remove(hooks.text_check)
        self._switched_off.pop(cog, None)
        self.unregister_refusal(cog)
        self._tier_refusals.pop(cog, None)
        self._named_refusals.pop(cog, None)
        self.unregister_channel_reader(cog)
        self._help_words.pop(cog, None)
        self._named_facilitator.pop(cog, None)
        self._meeting_of.pop(cog, None)
        self.suggestions.withdraw(cog)

    async def switched_off_in(self, community_id: int, cog: str) -> bool:
        """True when the community's moderators switched cog `cog` off."""
        return await self._switched_off_in(community_id, cog)

    async def _switched_off_in(self, community_id: int, cog: str) -> bool:
        for switched_off in list(self._switched_off.values()):
            if cog in await switched_off(community_id):
                return True
        return False

    def register_refusal(self, cog: str, handler: RefusalHandler) -> None:
        """Let a cog answer in place of its commands' refusals and errors (crisis: the lines)."""
        self._refusals[cog] = handler

    def unregister_refusal(self, cog: str) -> None:
        """A cog unloading."""
        self._refusals.pop(cog, None)

    def _cog_tier_refusal(self, spec: CommandSpec) -> str | None:
        """The words `spec`'s cog has for a member below its tier (`CogHooks.tier_refusal`);
        None when it has none or its hook failed (the core's words are used then)."""
        words = self._tier_refusals.get(spec.cog)
        if words is None:
            return None
        try:
            return words(spec)
        except Exception:
            log.exception("the tier refusal of %s failed", spec.cog)
            return None

    def register_channel_reader(self, cog: str, reader: ChannelReader) -> None:
        """Let a cog see plain chat in community channels (the crisis cog's channel watch,
        which itself reads only where moderators switched it on)."""
        self._channel_readers[cog] = reader

    def unregister_channel_reader(self, cog: str) -> None:
        """A cog unloading."""
        self._channel_readers.pop(cog, None)

    async def read_channel(self, incoming: Incoming, text: str) -> None:
        """Plain chat in a community channel, from an adapter. Nothing here stores or logs it;
        without a registered reader it is dropped unread."""
        if incoming.place.is_dm or not text.strip():
            return
        typed = await self._typed_private_words(incoming, text)
        if typed is not None:
            # A command carrying the member's own words, typed as chat: not channel chat,
            # so no channel reader sees it; the text checks read it as the command's.
            await self._not_run_here(incoming, *typed, text=text)
            return
        for cog, reader in list(self._channel_readers.items()):
            try:
                await reader(incoming, text)
            except Exception:
                log.exception("the channel reader of %s failed", cog)  # never the text

    async def _typed_private_words(
        self, incoming: Incoming, text: str
    ) -> tuple[CommandSpec, str | None] | None:
        """Chat that is a command carrying a member's own words (`Option.private_text`) typed
        as a plain message where the platform does not run typed commands (Discord: `/journal
        write ...` sent as text), or a near miss of one (`/journl write ...`, `/journal wrte
        ...`, read as `_meant_private` reads a mistyped command): its message is removed at
        once. Mentions typed first (`@CircleBot /journal write ...`, `<@123> /journal write
        ...`) are read past. (the command meant, why it is still there) for `_not_run_here`;
        None for any other chat."""
        body, exact = _command_body(_without_mentions(text.strip()), incoming.responder.prefix)
        if body is None:
            return None
        resolved = self.registry.resolve(body.split())
        spec: CommandSpec | None = None
        if resolved is not None:
            rest = _after_words(body, resolved.consumed)
            if _private_words_shown(incoming, resolved.spec, rest):
                spec = resolved.spec
        if spec is None:
            spec = self._meant_private(incoming, body, loose=not exact)
        if spec is None:
            return None
        return spec, await _remove_command(incoming)

    async def _not_run_here(
        self, incoming: Incoming, spec: CommandSpec, left: str | None, *, text: str
    ) -> None:
        """Tell the member privately that the command typed as chat did not run (nothing of
        it was kept) and what became of their message; its words (`text`) are read by the
        text checks as private words typed with that command."""
        try:
            ctx = await self.context(incoming, join=False)
            await self.text_checks.run(ctx, text, Written.command(spec.cog, private=True))
            words = " ".join(incoming.responder.command_words(spec.path))
            ran = _(
                "I did not run `{prefix}{command}`: typed as a message, it is not a command "
                "here, so nothing of it was kept. Choose the command from the list that opens "
                "as you type `{prefix}`, and only you will see the answer."
            ).format(prefix=ctx.prefix, command=words)
            await ctx.refuse(ran + "\n" + removal_note(incoming.place.label, left))
        except Exception:
            log.exception("could not tell a member what became of their message")

    async def _refused(
        self, ctx: Context, spec: CommandSpec, raw: str | Mapping[str, Any], refusal: Message
    ) -> bool:
        handler = self._refusals.get(spec.cog)
        if handler is None:
            return False
        words = (
            raw
            if isinstance(raw, str)
            else " ".join(v for v in raw.values() if isinstance(v, str))
        )
        try:
            return await handler(ctx, words, refusal)
        except Exception:
            log.exception("the refusal handler of %s failed", spec.cog)
            return False

    async def _apologise(self, ctx: Context, error_id: str) -> None:
        try:
            await ctx.refuse(apology(error_id))
        except Exception:
            log.exception("could not send the apology for error id %s", error_id)

    async def handle_text(self, incoming: Incoming, text: str, prefix: str) -> bool:
        """Text platforms: run a command line, or feed a DM to the open dialogue.

        Returns False when the text was neither (plain chat in a channel is not read).
        """
        stripped = text.strip()
        body, exact = _command_body(stripped, prefix)
        if body is not None:
            words = body.split()
            resolved = self.registry.resolve(words)
            # A group's default reached by its name alone (`toolbox` for `toolbox list`): a
            # mistyped private command after it (`! toolbox edi 6 I ...`) is that command, not
            # words for the default, which would leave them in the channel. In a DM too: the
            # member is asked which command they meant.
            if (
                resolved is not None
                and resolved.consumed < len(resolved.spec.path)
                and self._meant_private(incoming, body, loose=not exact, dm=True) is not None
            ):
                resolved = None
            # ...nor are words that default cannot take after a group keeping members' own
            # words (`!toolbox relapsed`, its default taking a page number): unknown words.
            if (
                resolved is not None
                and exact
                and resolved.consumed < len(resolved.spec.path)
                and len(words) > resolved.consumed
                and not words[resolved.consumed].isdigit()
                and not any(o.type is OptionType.STRING for o in resolved.spec.options)
                and self._in_private_group(incoming, body)
            ):
                resolved = None
            if resolved is None:
                if await self._unknown(incoming, body, prefix, exact=exact):
                    return True
                if exact or not incoming.place.is_dm:
                    return False
                return await self.handle_answer(incoming, stripped, prefix)
            rest = _after_words(body, resolved.consumed)
            await self.run(incoming, resolved.spec, rest)
            return True
        if not incoming.place.is_dm:
            await self.read_channel(incoming, stripped)
            return False
        return await self.handle_answer(incoming, stripped, prefix)

    async def handle_answer(self, incoming: Incoming, text: str, prefix: str) -> bool:
        """Private text that is never a command (a DM line, a long-text form): the dialogue."""
        stripped = text.strip()
        self._enter()
        try:
            ctx = await self.context(incoming)
            answered = await self.text_checks.run(ctx, stripped, await self.dm_source(ctx))
            if unstorable(stripped):
                raise UserError(
                    _(
                        "That message has a character I cannot store. Please send it again "
                        "without it."
                    )
                )

            async def reach(words: str, answering: bool) -> bool:
                if answered:  # the caring answer was given; no second one
                    return False
                return await self._reach(incoming, ctx, words, whole=answering)

            pointer = self.crisis_pointer(prefix)
            if await self.dialogues.handle_text(ctx, stripped, reach=reach, pointer=pointer):
                return True
            if answered:
                return True  # no "I only understand commands" after a caring answer
            # Plain words asking for help ("help me", "sos") get the lines, not a refusal.
            if await self._reach(incoming, ctx, stripped, whole=False):
                return True
            text = _("I only understand commands here. Type `{prefix}help` to see them.").format(
                prefix=prefix
            )
            await ctx.reply(" ".join(filter(None, (text, self.crisis_pointer(prefix)))))
            return True
        except UserError as exc:
            await incoming.responder.reply(Message.coerce(exc.message), ephemeral=True)
            return True
        except Exception:
            error_id = uuid.uuid4().hex[:8]
            log.exception("direct message handling failed (error id %s)", error_id)
            await incoming.responder.reply(
                Message.coerce(
                    _("Sorry, something went wrong on my side (error id `{error_id}`).").format(
                        error_id=error_id
                    )
                ),
                ephemeral=True,
            )
            return True
        finally:
            self._leave()

    async def dm_source(self, ctx: Context) -> str:
        """Where a direct message's words were written: an answer to the member's open
        dialogue (a worksheet, a journal entry's form: kept for them alone) or a message to the
        bot."""
        if await self.dialogues.current(ctx.actor.key) is not None:
            return Written.DIALOGUE
        return Written.DM

    def crisis_pointer(self, prefix: str) -> str:
        """One sentence leading to the crisis lines, for answers that would otherwise only say
        what the bot cannot do; empty when no crisis command is loaded."""
        if self.registry.resolve(["crisis"]) is None:
            return ""
        return _("If you need someone to talk to right now, type `{prefix}crisis`.").format(
            prefix=prefix
        )

    def reaching(self, words: str, *, loose: bool = False) -> CommandSpec | None:
        """The crisis command (`crisis now`) when `words` name it as someone reaching for help
        types it: its name or one of its one-word aliases (`crisis`, `sos`, `helpline`,
        `911`), in any case or width, with marks around it or its parts written apart or
        hyphenated (`help-me`, `help me`, `SOS!`), or a near miss of a name of five letters or
        more (`crsis`, `emergancy`, `hepline`; after a loose prefix only a letter left out or
        two swapped). None for other words, or when no crisis command is loaded."""
        key = _reach_key(words)
        found = self.registry.resolve(["crisis"])
        if not key or found is None:
            return None
        names = _reaching_names(found.spec)
        if key in names:
            return found.spec
        if any(len(n) >= 5 and _typo_of(key, n, loose=loose) for n in names):
            return found.spec
        return None

    def asks_for_help(self, words: str, *, whole: bool) -> CommandSpec | None:
        """The crisis command when `words` ask for help in a language a started cog knows
        (`CogHooks.help_words`: `hilfe`, `ayuda`, `au secours`, `I need help`): nothing but
        such words (`whole`, for a message that would otherwise be a dialogue answer), else
        beginning with them (`hilfe bitte`, for an unknown command). None for other words, or
        when no crisis command is loaded."""
        found = self.registry.resolve(["crisis"])
        if found is None or not words.strip():
            return None
        if any(check(words, whole) for check in self._help_words.values()):
            return found.spec
        return None

    def near_reaching(self, word: str) -> bool:
        """Whether an unknown command's word is close to a word for help (`help`, `crisis`,
        `sos`, `hotline`...), so its answer points to the crisis lines, in a channel too."""
        key = _reach_key(word)
        found = self.registry.resolve(["crisis"])
        if not key or found is None:
            return False
        names = sorted({"help", *_reaching_names(found.spec)})
        return bool(difflib.get_close_matches(key, names, n=1, cutoff=0.75))

    async def _reach(self, incoming: Incoming, ctx: Context, words: str, *, whole: bool) -> bool:
        """Private words no command took that ask for the crisis lines: they run the crisis
        command. `whole`: only when the whole message asks (`sos`, `help me`, `crisis?`, a
        help word of any language: `hilfe`, `I need help`), for a message that would
        otherwise be an answer in a dialogue; else the plain words asking for help anywhere
        ("can you help me"), or a first word that names the crisis command (`911 please`,
        `crsis`). True when answered."""
        if whole:
            # A help word of any language (`hilfe`, `I need help`, `crisi`) before a near miss
            # of the crisis command's names: the crisis answer reads the language from them.
            spec = self.asks_for_help(words, whole=True)
            rest = words
            if spec is None:
                spec = self.reaching(words)
                rest = ""
        else:
            if await self.text_checks.run(ctx, words, Written.DM_UNANSWERED):
                return True
            first = words.split(None, 1)[0] if words.strip() else ""
            spec = self.reaching(first)
            rest = _after_words(words, 1)
        if spec is None:
            return False
        await self.run(incoming, spec, rest)
        return True

    async def _unknown(self, incoming: Incoming, body: str, prefix: str, *, exact: bool) -> bool:
        """Answer an unknown command in DMs, or in a channel when it looks like a typo.

        Words that read as distress get the private crisis answer instead, wherever they are.
        Other bots in a room may share the prefix, so unrelated words stay unanswered there;
        so does anything after a loosely typed prefix (`! wow`) that is neither.
        """
        ctx = await self.context(incoming, join=False)
        # A mistyped command meant to carry the member's own words (`!journal wrte I ...`,
        # after a loose prefix too: `！journl write I ...`, `! journal wrte I ...`): the message
        # goes first, as for the command itself, then the member is told which command was
        # meant, as after an exact prefix, and what became of the message.
        spec = self._meant_private(incoming, body, loose=not exact)
        if spec is None and exact and self._in_private_group(incoming, body):
            # Words after a group that keeps members' own words (`!journal find relapsed`,
            # `!journal relapsed last night`) that name none of its commands: the bot cannot
            # tell they are not the member's own, so they go as a private command's would,
            # and the member is told privately, with the group's commands.
            left = await _remove_command(incoming)
            note = removal_note(incoming.place.label, left)
            return await self._answer_unknown(incoming, ctx, body, prefix, exact=exact, note=note)
        if spec is None:
            return await self._answer_unknown(incoming, ctx, body, prefix, exact=exact)
        left = await _remove_command(incoming)
        note = removal_note(incoming.place.label, left)
        if not await self.text_checks.run(ctx, body, Written.command(spec.cog, private=True)):
            named = " ".join(incoming.responder.command_words(spec.path))
            # Only the command meant is named: the name as typed may carry the member's
            # words (`write:I relapsed`, `writeRelapsed`).
            meant = _("Did you mean `{prefix}{name}`?").format(prefix=prefix, name=named)
            # The mistyped command did not run: a member who thinks their entry is saved
            # would lose it without knowing.
            note = meant + " " + _("It did not run, so nothing of it was kept.") + " " + note
        await ctx.refuse(note)
        return True

    def _meant_private(
        self, incoming: Incoming, body: str, *, loose: bool = False, dm: bool = False
    ) -> CommandSpec | None:
        """The command an unknown line in a shared place was meant to be, when that command
        carries a member's own words (`Option.private_text`) and the line has words for it.

        Each name is read as the one it is a plausible typo of (`_typo_of`): `journl`, `wrte`,
        `writ`, `wriet`, `write:` as `journal write`; the names typed glued or hyphenated
        (`journalwrite`, `journal-write`) too, and a name with the member's first word run
        into it, after punctuation (`write:I`, `write,I`, `journalwrite:I`) or as a capital
        (`writeRelapsed`). After a loose prefix (`! `, `！`: other bots and ordinary chat
        share it) only a letter left out or two letters swapped count, never a longer or
        different word (`! journal writing helps` is chat, not `journal write`), nor an
        English word (`! journal rite of passage`). None in a DM (unless `dm`), for a line
        naming no such command, or one with nothing after the name."""
        if incoming.place.is_dm and not dm:
            return None
        typed = {p: s for s in self.registry.specs for p in (s.path, *s.aliases)}
        body = self._unglued(_glued_apart(body, 0), typed)
        path: tuple[str, ...] = ()
        for depth in range(3):
            body = _glued_apart(body, depth)
            words = body.split()
            if len(words) <= depth:
                return None
            names = sorted({p[depth] for p in typed if len(p) > depth and p[:depth] == path})
            word = words[depth].lower()
            run_into = None if loose else _camel_glued(words[depth], names)
            if run_into is not None:  # `writeRelapsed`: the name, then the member's word
                tail = words[depth][len(run_into) :]
                body = " ".join((*words[:depth], run_into, tail, _after_words(body, depth + 1)))
                word = run_into
            low = word
            if low not in names:
                if loose and word in _ENGLISH_NEAR_NAMES:
                    return None
                close = [name for name in names if _typo_of(low, name, loose=loose)]
                if len(close) != 1:  # none, or no telling which was meant
                    return None
                low = close[0]
            path = (*path, low)
            spec = typed.get(path)
            if spec is not None:
                rest = _after_words(body, depth + 1)
                if not _carries_private_words(spec, rest):
                    return None
                return spec
        return None

    def _in_private_group(self, incoming: Incoming, body: str) -> bool:
        """Whether `body`, in a shared place, is a group's name then words that name none of
        its commands, and the group holds a command of a cog that keeps members' own words (a
        cog with any `Option.private_text` option: journal, worksheets, privacy...)."""
        if incoming.place.is_dm:
            return False
        specs = self.registry.specs
        private_cogs = {s.cog for s in specs if s.private_options}
        words = body.lower().split()
        for length in range(min(2, len(words) - 1), 0, -1):
            head = tuple(words[:length])
            inside = [
                s
                for s in specs
                for p in (s.path, *s.aliases)
                if len(p) > length and p[:length] == head
            ]
            if inside:
                return any(s.cog in private_cogs for s in inside)
        return False

    @staticmethod
    def _unglued(body: str, typed: Mapping[tuple[str, ...], CommandSpec]) -> str:
        """`body` with a first word that is a command's names run together (`journalwrite`,
        `journal-write`, `journal_write`, a colon after) written apart; else `body` as is."""
        first = body.split(None, 1)[0].lower().rstrip(":") if body.strip() else ""
        for path in typed:
            for length in range(2, len(path) + 1):
                if first in {sep.join(path[:length]) for sep in ("", "-", "_")}:
                    return " ".join((*path[:length], _after_words(body, 1)))
        return body

    async def _answer_unknown(
        self,
        incoming: Incoming,
        ctx: Context,
        body: str,
        prefix: str,
        *,
        exact: bool,
        note: str | None = None,
    ) -> bool:
        """`_unknown`'s answer: the crisis answer, the group's commands or the nearest name;
        `note` (what became of the member's message) told privately with it."""
        word = body.split()[0]
        if await self.text_checks.run(
            ctx, body, Written.command("unknown", private=note is not None)
        ):
            if note is not None:
                await ctx.refuse(note)
            return True
        # A word asking for help (`!help-me`, `!crsis`, `! sos!`) gets the lines themselves;
        # words after a command's own name (`!crisis watch of`) are that group's to answer.
        named = self.registry.resolve([word]) is not None
        # A help word of any language first (`!hilfe`, `!ayuda por favor`, `!au secours`,
        # `!crisi`): the lines in the language of the words, as for them in a direct message.
        reach = None if named else self.asks_for_help(body, whole=False)
        rest = body
        if reach is None and not named:
            reach = self.reaching(word, loose=not exact)
            rest = _after_words(body, 1)
        if reach is not None:
            await self.run(incoming, reach, rest)
            return True
        if exact and await self._group_only(incoming, ctx, body, prefix, note=note):
            return True
        if note is not None:
            await ctx.refuse(note)
            return True
        names = sorted({spec.path[0] for spec in self.registry.specs})
        close = difflib.get_close_matches(word.lower(), names, n=1, cutoff=0.75)
        # Other bots may share the prefix: unrelated words stay unanswered in a channel, but
        # never a word close to one asking for help.
        helpful = exact and self.near_reaching(word)
        if not exact or (not close and not incoming.place.is_dm and not helpful):
            return False
        text = _("I don't know the command `{command}`.").format(command=word[:40])
        if close:
            text += " " + _("Did you mean `{prefix}{name}`?").format(prefix=prefix, name=close[0])
        text += " " + _("Type `{prefix}help` to see what you can use.").format(prefix=prefix)
        if helpful:
            text = " ".join(filter(None, (text, self.crisis_pointer(prefix))))
        await ctx.reply(text, ephemeral=True)
        return True

    async def _group_only(
        self, incoming: Incoming, ctx: Context, body: str, prefix: str, *, note: str | None = None
    ) -> bool:
        """`!script` alone lists that group's commands (through `help`); `!script shwo` or
        `!me blah` names the nearest command of the group and the group's commands (those the
        member may use), with `note` after (what became of the member's message). False when
        the first words are no group."""
        words = body.lower().split()
        specs = self.registry.specs
        group: tuple[str, ...] = ()
        for length in range(min(2, len(words)), 0, -1):
            head = tuple(words[:length])
            if any(len(s.path) > length and s.path[:length] == head for s in specs):
                group = head
                break
        if not group:
            return False
        depth = len(group)
        helper = self.registry.get(("help",))
        if len(words) == depth and helper is not None:
            await self.run(incoming, helper, " ".join(group))
            return True
        inside = [s for s in specs if len(s.path) > depth and s.path[:depth] == group]
        typed_paths = [p for s in inside for p in (s.path, *s.aliases) if p[:depth] == group]
        subs = sorted({p[depth] for p in typed_paths if len(p) > depth})
        named = " ".join(group)
        typed = " ".join(words[: depth + 1])[:40]
        text = _("`{prefix}{typed}` is not a command.").format(prefix=prefix, typed=typed)
        close = difflib.get_close_matches(words[depth] if len(words) > depth else "", subs, n=1)
        if close:
            text += " " + _("Did you mean `{prefix}{group} {name}`?").format(
                prefix=prefix, group=named, name=close[0]
            )
        usable = [s.path[depth] for s in inside if s.tier <= ctx.tier]
        if not usable and depth > 1:
            # None of this group is the member's: the words are the shorter group's, when its
            # default takes words (`!crisis watch foo` from a member: `crisis now` with them).
            parent = group[:-1]
            default = next(
                (
                    s
                    for s in specs
                    if s.text_default
                    and s.options
                    and s.tier <= ctx.tier
                    and len(s.path) == depth
                    and s.path[:-1] == parent
                ),
                None,
            )
            if default is not None:
                await self.run(incoming, default, " ".join(body.split()[depth - 1 :]))
                if note is not None:
                    await ctx.refuse(note)
                return True
        if usable:
            text += " " + _("The `{prefix}{group}` commands are: {names}.").format(
                prefix=prefix, group=named, names=", ".join(dict.fromkeys(usable))
            )
        else:  # none is the member's to use: where to go instead, never an empty list
            text += " " + _("Type `{prefix}help` to see what you can use.").format(prefix=prefix)
            text = " ".join(filter(None, (text, self.crisis_pointer(prefix))))
        if note is not None:
            await ctx.refuse(text + " " + note)
            return True
        await ctx.reply(text, ephemeral=True)
        return True

    def register_action(self, prefix: str, handler: ActionHandler) -> None:
        """Route button ids `PREFIX:...` to a cog (the dialogue engine owns `conv:`)."""
        if prefix in self._actions or prefix == ACTION_PREFIX or ":" in prefix:
            raise ValueError(f"action prefix {prefix!r} is taken or invalid")
        self._actions[prefix] = handler

    async def handle_action(self, incoming: Incoming, action_id: str) -> None:
        """A button press. Ids are untrusted: the owner checks they match live state."""
        self._enter()
        try:
            ctx = await self.context(incoming)
            action_id = action_id[:200]
            prefix = action_id.split(":", 1)[0]
            handler = self._actions.get(prefix)
            if handler is not None:
                handled = await handler(ctx, action_id)
            else:
                handled = await self.dialogues.handle_action(ctx, action_id)
            if not handled:
                await ctx.reply(_("That button is no longer active."), ephemeral=True)
        except UserError as exc:
            await incoming.responder.reply(Message.coerce(exc.message), ephemeral=True)
        except Exception:
            error_id = uuid.uuid4().hex[:8]
            log.exception("button handling failed (error id %s)", error_id)
            await incoming.responder.reply(
                Message.coerce(
                    _("Sorry, something went wrong on my side (error id `{error_id}`).").format(
                        error_id=error_id
                    )
                ),
                ephemeral=True,
            )
        finally:
            self._leave()

    async def autocomplete(
        self,
        incoming: Incoming,
        spec: CommandSpec,
        option: str,
        partial: str,
        filled: Mapping[str, str] | None = None,
    ) -> list[Choice]:
        """Suggestions for one option (Discord autocomplete, Matrix/console hints); `filled`:
        the other options' values as typed so far, for suggestions that depend on them."""
        fn = self.registry.autocomplete(spec, option)
        if fn is None:
            return []
        ctx = await self.context(incoming, spec)
        ctx.filled = {k: v[:100] for k, v in (filled or {}).items() if k != option}
        if ctx.tier < spec.tier and not self._may_be_named(spec):
            return []
        try:
            return (await fn(ctx, partial[:100]))[:25]
        except Exception:
            log.exception("autocomplete for %s.%s failed", spec.qualified, option)
            return []

    def _enter(self) -> None:
        self._inflight += 1
        self._idle.clear()

    def _leave(self) -> None:
        self._inflight -= 1
        if self._inflight == 0:
            self._idle.set()

    async def drain(self, within_seconds: float) -> bool:
        """Stop taking new commands and wait up to `within_seconds` for running ones; False
        when some were still running then."""
        self.accepting = False
        try:
            await asyncio.wait_for(self._idle.wait(), within_seconds)
            return True
        except TimeoutError:
            return False


def _scope_refusal(scope: Scope, typed: str) -> str:
    """Why a command of `scope` does not run here (`Scope.allows` said no), and where it
    does; `typed` is the command as the platform names it."""
    if scope is Scope.DM:
        return _("`{command}` works in a direct message with me.").format(command=typed)
    if scope is Scope.MEMBER:
        return _(
            "`{command}` needs to know your community, and I don't know it here yet. Use any "
            "command once in your community's channel; after that `{command}` works in our "
            "direct messages too."
        ).format(command=typed)
    return _("`{command}` works in a community channel, not in a direct message.").format(
        command=typed
    )


def apology(error_id: str) -> str:
    """The member's message when a command failed on the bot's side."""
    return _(
        "Sorry, something went wrong on my side. Nothing you did caused it. "
        "If it keeps happening, tell a moderator the error id `{error_id}`."
    ).format(error_id=error_id)


def _private_words_shown(
    incoming: Incoming, spec: CommandSpec, raw: str | Mapping[str, Any]
) -> bool:
    """Whether a command typed as text in a shared place carries words one of its
    `Option.private_text` options takes. Words that cannot be read as the command's options
    count as carrying them: which option they were meant for is unknown."""
    return not incoming.place.is_dm and _carries_private_words(spec, raw)


def _carries_private_words(spec: CommandSpec, raw: str | Mapping[str, Any]) -> bool:
    """Whether words typed after a command fill one of its `Option.private_text` options
    (or cannot be read as its options at all), wherever they were typed."""
    if not isinstance(raw, str) or not raw.strip():
        return False
    private = spec.private_options
    if not private:
        return False
    try:
        values = bind_text(spec, raw)
    except UserError:
        return True
    return any(str(values.get(o.name) or "").strip() for o in private)


async def _remove_command(incoming: Incoming) -> str | None:
    """Remove the message that carried a command (`Responder.remove_command`); why it is
    still there when it could not be, never raising."""
    try:
        return await incoming.responder.remove_command()
    except Exception:
        log.exception("removing a member's message failed")
        return _("Something went wrong on my side while removing it.")


def removal_note(place: str, left: str | None) -> str:
    """What the member is told privately after their own words were typed in `place` (its
    label, e.g. `#general`): that the message is gone, or that it is still there (`left`: why,
    and how to remove it). Never quotes the words."""
    where = escape_markdown(place) if place else _("the channel")
    if left is None:
        text = _(
            "I removed your message from {place}, so others there no longer see what you wrote."
        ).format(place=where)
    else:
        text = _(
            "Your message in {place} is still there for others to read: I could not remove "
            "it. {why}"
        ).format(place=where, why=left)
    return text + " " + _("Next time, write it to me in a direct message, where only you see it.")


def _command_body(text: str, prefix: str) -> tuple[str | None, bool]:
    """(the text after the prefix, whether the prefix was typed exactly), or (None, False).

    A prefix in its full-width form (`！crisis`, from CJK keyboards) or followed by spaces
    (`! crisis`) still counts, but as a loose one: only a known command or words that read as
    distress are answered after it.
    """
    if not text or not prefix:
        return None, False
    if text.startswith(prefix) and len(text) > len(prefix) and not text[len(prefix)].isspace():
        return text[len(prefix) :], True
    head = unicodedata.normalize("NFKC", text[: len(prefix)])
    if head == prefix:
        body = text[len(prefix) :].strip()
        return (body or None), False
    return None, False


_MARKS_AND_SPACES = re.compile(r"[\W_]+")


def _reach_key(words: str) -> str:
    """`words` as a key for the crisis command's names: width- and case-folded, with every
    space, hyphen and mark removed (`Help-me!` and `help me` as `helpme`)."""
    return _MARKS_AND_SPACES.sub("", unicodedata.normalize("NFKC", words).casefold())


def _reaching_names(spec: CommandSpec) -> frozenset[str]:
    """The crisis command's group word and one-word aliases, as `_reach_key` keys them."""
    paths = (spec.path[:1], *(a for a in spec.aliases if len(a) == 1))
    return frozenset(_reach_key("".join(p)) for p in paths)


_MENTION = re.compile(r"(?:<@!?\d+>|@\S+)\s*")


def _without_mentions(text: str) -> str:
    """`text` without the mentions typed before it (`@CircleBot /journal write ...`,
    `<@123> /journal write ...`): what follows is read as typed alone."""
    rest = text
    while (found := _MENTION.match(rest)) is not None and found.end() < len(rest):
        rest = rest[found.end() :]
    return rest


def _typo_of(typed: str, name: str, *, loose: bool) -> bool:
    """Whether `typed` (lower case) is a plausible typo of the command name `name`: one
    letter left out or two neighbouring letters swapped; unless `loose`, also one letter
    added or changed (`writes`, `wrute`). After a loose prefix a longer or different word is
    the member's chat (`writing`, `wrote`, `logic`), never a typo."""
    if typed == name or len(typed) < 2:  # one letter names nothing
        return False
    if len(typed) == len(name) - 1:
        return any(name[:i] + name[i + 1 :] == typed for i in range(len(name)))
    if len(typed) == len(name):
        diff = [i for i in range(len(name)) if typed[i] != name[i]]
        if len(diff) == 2 and diff[1] == diff[0] + 1:
            i = diff[0]
            return typed[i] == name[i + 1] and typed[i + 1] == name[i]
        return not loose and len(diff) == 1
    if len(typed) == len(name) + 1 and not loose:
        return any(typed[:i] + typed[i + 1 :] == name for i in range(len(typed)))
    return False


# English words a letter short of, or two letters swapped in, a name of a command carrying
# a member's words (journal, group, urge, write, edit, feedback, log): after a loose prefix,
# shared with chat and other bots, `! journal rite of passage` or `/ journal writ large` is
# the member's chat, not a typo to delete. Other near misses of those names are no words.
_ENGLISH_NEAR_NAMES = frozenset({"rite", "writ", "lo"})

# Punctuation a member types straight after a command's name, before their words, with no
# space (`write:I`, `write,I`, `write;I`, `write.I`, full-width `write：I`); `-` and `_` join
# names (`journal-write`) and are not in it.
_GLUE = re.compile(r"^([^\W_](?:[\w-]*[^\W_])?)[:,;.!?…、，：；。]+(?=\S)")


def _glued_apart(body: str, index: int) -> str:
    """`body` with its word at `index` (0 = first) split where punctuation glues a word to
    a name (`write:I relapsed` as `write I relapsed`); a word ending in punctuation loses it
    (`write:` as `write`). Other words and the spacing after are kept."""
    words = body.split()
    if len(words) <= index:
        return body
    word = words[index]
    rest = _after_words(body, index + 1)
    found = _GLUE.match(word)
    if found is not None:
        parts = [found.group(1), word[found.end() :]]
    else:
        parts = [word.rstrip(":,;.!?…、，：；。") or word]
    return " ".join(filter(None, (*words[:index], *parts, rest)))


def _camel_glued(word: str, names: list[str]) -> str | None:
    """The name `word` starts with when the member's next word was run into it with its
    capital (`writeRelapsed`, `writeI`): that name; else None. A word in capitals
    (`WRITES`) is one word."""
    for name in names:
        head, tail = word[: len(name)], word[len(name) :]
        if head.lower() == name and head != head.upper() and tail[:1].isupper():
            return name
    return None


def _after_words(body: str, count: int) -> str:
    """The raw text after the first `count` words, keeping its spacing and quotes."""
    rest = body.lstrip()
    for _word in range(count):
        parts = rest.split(None, 1)
        rest = parts[1] if len(parts) > 1 else ""
    return rest


def _unnamed_hint(
    spec: CommandSpec, values: Mapping[str, Any], filled: list[str], refusal: str
) -> str | None:
    """For a refusal that quotes a word an optional option took without being named (the
    words after the required ones: `60m` as `until`), which option took it, so an extra word
    is seen as extra; None when the refusal is about no such word."""
    optional = {o.name: o for o in spec.options if not o.required}
    for name in reversed(filled):  # of equal words the later option is the one refused
        word = str(values.get(name, "")).strip()
        if name in optional and word and f"`{word[:40]}" in refusal:
            return _(
                "I read `{word}` as `{option}` ({description}). If it is extra, leave it out; "
                "to give `{option}`, name it: `{option}:…`."
            ).format(word=word[:40], option=name, description=optional[name].description)
    return None
