"""Crisis lines for where a member is, and a calm private answer to a crisis phrase."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
import weakref
from dataclasses import replace
from datetime import date, timedelta
from pathlib import PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import NonNegativeInt

from bot.core import (
    DATA_DIR,
    Attachment,
    AuditService,
    Choice,
    Clock,
    Cog,
    CogHooks,
    CommunityInfo,
    Context,
    CrisisLines,
    Database,
    DeliveryError,
    Dispatcher,
    MemberService,
    Message,
    NotFound,
    Option,
    OptionType,
    Outbox,
    Place,
    Problem,
    Scheduler,
    Scope,
    Section,
    SettingsService,
    Target,
    Tier,
    UserError,
    Written,
    _,
    check_country,
    command,
    escape_markdown,
    file_hint,
    file_text,
    using_language,
)
from cogs.crisis import directory, render
from cogs.crisis.answer import CALL_WORDS, URGENT_KINDS, AnswerText, load_answers
from cogs.crisis.directory import CATEGORIES, Entry, ParseResult, RowChecker
from cogs.crisis.hours import hours_or_none
from cogs.crisis.phrases import Detection, Detector, expand, shipped_detector
from cogs.crisis.render import (
    answer_words,
    country_name,
    emergency_numbers,
    entry_line,
    fallback_line,
    lines_again,
    lines_block,
    none_open,
    none_open_now,
    reach_order,
    topic_name,
)
from cogs.crisis.service import QUIET_ALERT, QUIET_URGENT, CrisisService
from cogs.crisis.watch import ANSWER_KINDS, ChannelWatch, watch_off, watch_on, watch_status

log = logging.getLogger("circlebot.crisis")

CRISIS_DIR = DATA_DIR / "crisis"
SUPERSEDED_FILE = "superseded.toml"
SHORT_CODES_FILE = "short-codes.toml"
# Directory files: entries converted from other sources first, then the hand-curated seed, whose
# entries replace a converted entry with the same id (it holds details a source lacks).
SEED_GLOB = "seed*.toml"
CURATED_FILE = "seed.toml"
REPORT_LINES = 15
MAX_EXTRA_PHRASES = 200
QUIET_JOB = "crisis.quiet"  # deletes the quiet periods that are over
TOPIC_CHOICES = tuple(Choice(c) for c in CATEGORIES)
EDIT_FIELDS = (
    "name",
    "category",
    "topics",
    "region",
    "phone",
    "text",
    "chat",
    "hours",
    "languages",
    "free",
    "anonymous",
    "description",
    "website",
    "source",
    "pair",
    "country",
)
CLEARABLE = {"topics", "region", "phone", "text", "chat", "description", "website", "pair"}
CLEAR_WORDS = {"clear", "none", "-"}
PARTIAL_FLAG = re.compile(r"\s*(?:--partial|partial[:=](?:true|yes|on|1))\s+", re.IGNORECASE)
FILE_FORMATS = {".toml": "toml", ".csv": "csv", ".json": "json"}  # else read from the text


class CrisisConfig(Section):
    """`[cogs.crisis]`: the international fallback and how often a phrase answer may repeat."""

    fallback_name: str = "Find A Helpline"
    fallback_url: str = "https://findahelpline.com/"
    answer_every_minutes: NonNegativeInt = 60


ENTRY_ID = Option(
    "id", OptionType.STRING, "The entry's id", max_length=64, autocomplete="complete_entry"
)
# Named only on text platforms (`confirm:yes`): a free-text value before it keeps all its words.
CONFIRM_OPTION = Option(
    "confirm",
    OptionType.STRING,
    "yes: go ahead although the country is left with no line open 24/7",
    required=False,
    max_length=10,
    autocomplete="complete_confirm",
    known_only=True,
)
CONFIRM_WORDS = {"yes", "y", "true", "on", "1"}
WORDS_OPTION = Option(
    "words",
    OptionType.STRING,
    "Say anything you like; add country:GB for another country's lines",
    required=False,
    max_length=1000,
)


# Words people reach for first, typed as a command (`!sos`, `!helpline`, `/911` in a DM):
# each runs `crisis now`. On Discord the first three are slash commands of their own too.
# `help me` stays `help` for the `me` commands (led by a pointer here); `help-me` typed as one
# word, and near misses of these names, reach `crisis now` through the dispatcher.
REACHING_WORDS = tuple((word,) for word in CALL_WORDS)

# The crisis commands a member runs to see lines; every other one is a moderator's.
MEMBER_ASKS = frozenset({"crisis now", "crisis list", "crisis countries"})


def _zone(name: str) -> ZoneInfo:
    """The IANA zone `name`, else UTC (a stored setting that tzdata no longer knows)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def round_the_clock(entry: Entry) -> bool:
    """Whether some way to reach `entry` is open 24/7 (its hours read as data)."""
    for contact in entry.contacts:
        hours = hours_or_none(contact.hours, entry.country)
        if hours is not None and hours.always:
            return True
    return False


def _phones(entry: Entry) -> set[str]:
    return {c.number for c in entry.contacts if c.method == "phone" and c.number}


def _field_text(entry: Entry, field: str) -> str:
    """What `field` of `entry` holds, as `crisis edit` echoes it (old -> new)."""
    if field in ("phone", "text", "chat"):
        key = "url" if field == "chat" else "number"
        values = [str(c.to_dict().get(key, "")) for c in entry.contacts if c.method == field]
    elif field in ("hours", "languages", "free", "anonymous"):
        values = []
        for contact in entry.contacts:
            value = getattr(contact, field)
            if isinstance(value, tuple):
                shown = ",".join(value)
            elif isinstance(value, bool):
                shown = str(value).lower()
            else:
                shown = "" if value is None else str(value)
            if shown not in values:
                values.append(shown)
    else:
        value = entry.to_dict().get(field, "")
        values = [", ".join(value) if isinstance(value, list) else str(value)]
    shown = " / ".join(v for v in values if v)
    return escape_markdown(shown) if shown else render.no_value()


def _unknown_country_first(message: Message, words: str) -> Message:
    """`message` led by a note when `words` chose a country (`country:ZZ`) that is none."""
    unknown = directory.unknown_country_in_words(words)
    if unknown is None:
        return message
    note = render.unknown_country_here(text=escape_markdown(unknown[:40]))
    return replace(message, text=(note, "\n", *message.text))


def _report(title: str, problems: list[Problem], notes: list[Problem]) -> Message:
    """A short text with the first problems, and the whole report as a file when it is long."""
    lines = [title]
    note = render.note_label()
    listed = [*(f"- {p}" for p in problems), *(f"- {note}: {n}" for n in notes)]
    lines.extend(escape_markdown(line) for line in listed[:REPORT_LINES])
    if len(listed) > REPORT_LINES:
        lines.append(render.report_more(n=len(listed) - REPORT_LINES))
        body = "\n".join([title, *listed]) + "\n"
        return Message.of(
            "\n".join(lines),
            attachment=Attachment("crisis-import-report.txt", body.encode(), "text/plain"),
        )
    return Message.of("\n".join(lines))


class CrisisCog(Cog, CrisisLines):
    """The crisis directory and the crisis-phrase answer."""

    name = "crisis"
    description = "Crisis lines and help right now"
    data_statement = (
        "Stores nothing you write. When you write a crisis phrase it stores, for an hour, that "
        "it already answered you, so it does not repeat itself: a row naming you only by a "
        "keyed hash of your account that nobody without the bot's keys can link to you, "
        "deleted when the hour is over (or when you erase your data). If a "
        "community turned on alerts, a channel only its moderators can read is told your "
        "pseudonym and a link to your account (never your words), and the bot's answer to you "
        "says so; the alert is sent at once and the bot keeps no record of it. Words you write "
        "into your journal, a worksheet or your urge log never alert anyone. When a moderator "
        "verifies a directory entry, their account is stored as the verifier."
    )
    Config = CrisisConfig

    def __init__(
        self,
        config: Any = None,
        *,
        audit: AuditService,
        clock: Clock,
        db: Database,
        dispatcher: Dispatcher,
        members: MemberService,
        outbox: Outbox,
        scheduler: Scheduler,
        settings: SettingsService,
    ) -> None:
        super().__init__(config or CrisisConfig())
        self.audit = audit
        self.clock = clock
        self.db = db
        self.dispatcher = dispatcher
        self.members = members
        self.outbox = outbox
        self.scheduler = scheduler
        self.settings = settings
        self.cfg: CrisisConfig = self.config
        self.service = CrisisService(db.sessions, clock)
        self.superseded = directory.load_superseded(CRISIS_DIR / SUPERSEDED_FILE)
        self.short_codes = directory.load_short_codes(CRISIS_DIR / SHORT_CODES_FILE)
        self.detector = Detector([])
        self.watch = ChannelWatch(self)
        self._detectors: dict[tuple[str, ...], Detector] = {}
        # Contexts already answered: one event checked twice (by the dispatcher, then by a cog
        # on a field it stores) gets one answer.
        self._handled: weakref.WeakValueDictionary[int, Context] = weakref.WeakValueDictionary()
        self._tiers: dict[str, Tier] = {}  # each command's tier, by name (`tier_of`)
        self.answers, problems = load_answers(CRISIS_DIR)
        for problem in problems:
            log.error("crisis answers: %s", problem)

    # ------------------------------------------------------------------ start-up

    async def start(self) -> None:
        """Rewrite the seed rows from data/crisis, load phrase lists, and watch member text."""
        entries, problems = self.load_seed()
        for problem in problems:
            log.error("crisis seed: %s", problem)
        await self.service.replace_seed(entries)
        self.detector, phrase_problems = shipped_detector(CRISIS_DIR / "phrases")
        for problem in phrase_problems:
            log.error("crisis phrases: %s", problem)
        self._detectors.clear()
        await self.end_quiet_periods()

    async def end_quiet_periods(self) -> None:
        """Delete the quiet periods that are over, and plan this again for when the next one
        ends (at most one period from now, since a new one may begin meanwhile)."""
        quiet = timedelta(minutes=self.cfg.answer_every_minutes)
        if not quiet:
            return  # no quiet period, nothing is ever stored
        now = self.clock.now()
        next_end = await self.service.end_quiet_periods(now)
        when = now + quiet if next_end is None else min(next_end, now + quiet)
        self.scheduler.at(QUIET_JOB, when, self.end_quiet_periods)

    def hooks(self) -> CogHooks:
        """Watch member text, answer refusals of crisis commands with the lines, and read
        channel text where moderators switched channel watch on."""
        return CogHooks(
            text_check=self.check_text,
            refusal=self.answer_refusal,
            channel_reader=self.watch.read,
            help_words=self.names_help,
        )

    def names_help(self, words: str, whole: bool) -> bool:
        """Whether `words` ask for help in any language of answers.toml (`help_words`): they
        are nothing but a help word (`whole`), else they begin with one. The same words a
        plain direct message is answered for, for a command or a dialogue answer."""
        return self.answers.help_word_language(words, whole=whole) is not None

    def load_seed(self) -> tuple[list[Entry], list[str]]:
        """Valid entries of every data/crisis/*.toml; a broken file or row is reported."""
        entries: list[Entry] = []
        problems: list[str] = []
        seen: dict[str, str] = {}
        paths = sorted(CRISIS_DIR.glob(SEED_GLOB), key=lambda p: (p.name == CURATED_FILE, p.name))
        for path in paths:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(f"{path.name}: {exc}")
                continue
            result = directory.parse(
                text,
                today=self.today(),
                # The shipped lines were checked on real dates: a clock behind them (a server's
                # wrong clock, a test's virtual one) must not drop one as "checked in the
                # future"; the suite holds the files to a fixed date (test_crisis_directory).
                future_ok=True,
                superseded=self.superseded,
                fmt="toml",
                require_verified=True,
                short_codes=self.short_codes,
                file=path.name,
            )
            problems.extend(str(p) for p in result.problems)
            for entry in result.entries:
                if entry.id in seen and path.name == CURATED_FILE != seen[entry.id]:
                    entries = [e for e in entries if e.id != entry.id]  # curated detail wins
                elif entry.id in seen:
                    problems.append(f"{path.name}: id {entry.id} is already used by another file")
                    continue
                seen[entry.id] = path.name
                entries.append(entry)
        return entries, problems

    def today(self) -> date:
        """Today's date in UTC, from the app's clock."""
        return self.clock.now().date()

    # ------------------------------------------------------------------ for other cogs

    async def lines_for(
        self,
        community_id: int | None,
        country: str | None,
        *,
        prefix: str,
        zone: ZoneInfo | None = None,
    ) -> str:
        """Markdown: the lines for `country` (else the community's country), then the fallback.

        Lines open 24/7 come first, then open lines latest closing first (`render.reach_order`);
        an open one says until when, a closed one when it opens, on the clock of `zone` (the
        reader's; else the community's)."""
        info = await self.members.community_by_id(community_id) if community_id else None
        if not country and info is not None:
            country = info.country
        if zone is None:
            zone = _zone(info.timezone if info else "UTC")
        entries = await self.service.directory(community_id, country) if country else []
        return lines_block(
            entries,
            country or None,
            self.cfg.fallback_name,
            self.cfg.fallback_url,
            prefix,
            now=self.clock.now(),
            zone=zone,
        )

    async def _member_country(self, ctx: Context) -> str:
        profile = await self.members.profile(ctx.actor.key)
        return profile.country or (ctx.community.country if ctx.community else "")

    # ------------------------------------------------------------------ the phrase answer

    async def check_text(self, ctx: Context, text: str, source: str) -> bool:
        """Answer a crisis phrase privately; True when the text reads as distress.

        The full answer comes at most once an hour per member. Within that hour words addressed
        to the bot (a direct message, a command) still get a short caring answer; text read
        elsewhere gets nothing more, so the bot never nags. Words typed after one of this cog's
        own commands are answered by the command itself. Whether the moderators are told
        depends on where the words were written (`source`, see `_alert_moderators`).
        """
        if source == Written.command(self.name):
            return False
        if source == Written.DM_UNANSWERED:
            return await self._answer_help_words(ctx, text)
        if self._handled.get(id(ctx)) is ctx:
            return True
        detection = await self.detect(ctx, text)
        if detection is None:
            return False
        self._handled[id(ctx)] = ctx
        first, alerted = await self._note_distress(ctx, source)
        if first:
            message = await self.answer(
                ctx,
                text,
                distress=True,
                kind=ANSWER_KINDS[detection.kind],
                language=detection.language or None,
                alerted=alerted,
            )
            await ctx.refuse(message)  # private whatever the command declared
        elif ctx.place.is_dm or source.startswith((Written.COMMAND, Written.PRIVATE)):
            # Words addressed to the bot (a DM, a command) always get a private answer.
            await ctx.refuse(await self.still_here(ctx, text))
        return True

    async def _answer_help_words(self, ctx: Context, text: str) -> bool:
        """A direct message no command, dialogue or crisis phrase took that asks for help in
        plain words ("help me", "sos", "ayuda"): the lines as the crisis command gives them,
        then where the commands are. True when answered."""
        language = self.answers.asks_for_help(text, ctx.language)
        if language is None:
            return False
        message = await self.answer(ctx, text, language=language)
        pointer = self._commands_pointer(ctx, language)
        await ctx.refuse(replace(message, text=(*message.text, "\n", pointer)))
        return True

    def _commands_pointer(self, ctx: Context, language: str) -> str:
        """Where the commands are, in the answer's language (`render.commands_pointer`)."""
        text = self.answers.text(language)
        with using_language(text.language), answer_words(text):
            return render.commands_pointer(prefix=ctx.prefix)

    def plea_language(self, text: str, prefer: str = "") -> str | None:
        """The language in which `text` is a plea for help, for channel watch
        (`Answers.plea_language`); None for other text."""
        return self.answers.plea_language(text, prefer)

    async def plea_answer(self, ctx: Context, text: str, *, alerted: bool) -> Message:
        """The lines for a plea read in a watched channel ("sos", "help me please"), in its
        language, as the crisis command gives them (no caring first sentence: a bare "help"
        may be someone new looking for the commands), then where the commands are; `alerted`
        says that the moderators were told."""
        language = self.answers.plea_language(text, ctx.language) or ctx.language
        message = await self.answer(ctx, text, language=language, alerted=alerted)
        pointer = self._commands_pointer(ctx, language)
        return replace(message, text=(*message.text, "\n", pointer))

    async def reads_as_distress(self, ctx: Context, text: str) -> bool:
        """True when the shipped or the community's phrases find a crisis phrase in `text`."""
        return await self.detect(ctx, text) is not None

    async def detect(self, ctx: Context, text: str) -> Detection | None:
        """What the shipped or the community's phrases find in `text` (kind and language)."""
        community_id = ctx.community.id if ctx.community else None
        return await self.detect_text(community_id, text, prefer=ctx.language)

    async def detect_text(
        self, community_id: int | None, text: str, prefer: str = ""
    ) -> Detection | None:
        """What the shipped or the community's phrases find in `text`: on the event loop when
        that is quick (`Detector.detect_without_lookup`), else in a worker thread.

        Every word no list knows costs a fuzzy lookup in each language (a millisecond or more),
        so a long message in another language, or pasted code, takes from a second to tens of
        seconds; with channel watch reading every message, checking on the event loop would
        stall the whole bot (gateway heartbeats, every community's commands) meanwhile. A
        short text whose every word is known without that lookup (most commands' arguments)
        is checked here at once: microseconds, less than the hop to a thread.
        """
        detector = await self.detector_for(community_id)
        answered, found = detector.detect_without_lookup(text, prefer)
        if answered:
            return found
        return await asyncio.to_thread(detector.detect, text, prefer)

    async def detector_for(self, community_id: int | None) -> Detector:
        """The shipped phrases plus the ones the community added."""
        extras: list[str] = []
        if community_id is not None:
            extras = await self.settings.get(community_id, self.name, "phrases", [])
        return self._detector(tuple(extras))

    async def _note_distress(
        self, ctx: Context, source: str, *, alert: bool = True
    ) -> tuple[bool, bool]:
        """Record a distress answer to words written at `source` (`Written`): (first in the
        quiet period, moderators were alerted). `alert=False` (a plea for the lines, which
        `crisis` itself answers without alerting) only starts the answer's quiet period.

        The answer and the alert each have their own quiet period. Only the first words in
        the alert's period that were not written privately may alert the community's
        moderators, if they asked (`_alert_moderators`): words in a journal first never hold
        back the alert for words in a DM or a watched channel after them. When the
        moderators were alerted the full answer is due, so the member is told
        (`answer(alerted=True)`), even within the answer's period.
        """
        now = self.clock.now()
        quiet = timedelta(minutes=self.cfg.answer_every_minutes)
        key = ctx.actor.key
        # Stored, not kept in memory, so every process on the database counts the same period.
        first = not quiet or await self.service.begin_quiet(key, now, now + quiet)
        if not alert or not Written.shared(source) or ctx.community is None:
            return first, False
        if await self.alert_channel(ctx.community.id) is None:
            return first, False  # alerts are off: no alert's period to store
        if quiet and not await self.service.begin_quiet(key, now, now + quiet, QUIET_ALERT):
            return first, False
        alerted = await self._alert_moderators(ctx, source)
        return first or alerted, alerted

    async def _note_urgent(self, ctx: Context) -> bool:
        """Record an urgent answer (`Detection.urgent`): True when it is the first in its own
        quiet period, so words more urgent than the ones that began the answer's period ("I
        want to die", then "I O.D.d last night") get the urgent answer once."""
        now = self.clock.now()
        quiet = timedelta(minutes=self.cfg.answer_every_minutes)
        return not quiet or await self.service.begin_quiet(
            ctx.actor.key, now, now + quiet, QUIET_URGENT
        )

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
        """The crisis answer: the member's country lines and emergency number, in their language.

        `kind` is what the words suggest (see `answer.CONCERN_KINDS`; worked out from `words`
        when None); with an urgent kind (an overdose, poisoning, trouble breathing, someone not
        waking up) the emergency number comes first. `distress` adds the caring first sentence.
        `country` (ISO 3166-1 alpha-2) overrides the member's own country; `alerted` says that
        the community's moderators were told.
        """
        language = language or self.written_in(words, ctx.language) or ctx.language
        text = self.answers.text(language)
        kind = kind or self.kind_of(words, language)
        with using_language(text.language), answer_words(text):
            return await self._compose(ctx, text, kind, distress, country, alerted)

    async def _compose(
        self,
        ctx: Context,
        text: AnswerText,
        kind: str,
        distress: bool,
        country: str | None,
        alerted: bool,
    ) -> Message:
        urgent = kind in URGENT_KINDS
        code = country or await self._member_country(ctx)
        community_id = ctx.community.id if ctx.community else None
        block = await self.lines_for(
            community_id, code or None, prefix=ctx.prefix, zone=_zone(ctx.timezone)
        )
        emergency = self.answers.emergency.get(code) if code else None
        numbers = emergency_numbers(emergency) if emergency else ""
        now = self.clock.now()
        entries = await self.service.directory(community_id, code) if code else []
        # No line open now, or none listed for the country at all: the emergency number
        # comes before anything else (said plainly when there are lines, all closed).
        closed = bool(code) and (not entries or none_open(entries, now))
        parts: list[str] = []
        if urgent:
            parts.append(text.urgent.format(numbers=numbers) if numbers else text.danger)
        elif closed:
            if entries:
                parts.append(none_open_now(code, entries, now))
            parts.append(
                text.emergency.format(country=country_name(code), numbers=numbers)
                if emergency
                else text.danger
            )
        if distress or urgent:
            parts.append(text.intro.get(kind, text.intro["suicide"]))
        parts.append(block)
        if closed or urgent:
            pass
        elif emergency is None:
            parts.append(text.danger)
        else:
            parts.append(text.emergency.format(country=country_name(code), numbers=numbers))
        if alerted:
            parts.append(text.moderators_told)
        parts.append(text.not_a_service)
        return Message.of("\n".join(parts))

    def written_in(self, words: str, prefer: str = "") -> str | None:
        """The language of the crisis phrase, urgent words or help words in `words`, if any;
        `prefer` (the member's language) wins when several languages find them."""
        found = self.detector.detect(words, prefer=prefer)
        if found:
            return found.language
        return self.answers.language_of(words, prefer) or self.answers.asks_for_help(words, prefer)

    def kind_of(self, words: str, language: str) -> str:
        """What the words suggest, as `answer.CONCERN_KINDS` names it."""
        found = self.detector.detect(words)
        if found is not None:
            return ANSWER_KINDS[found.kind]
        return self.answers.concern_kind(words, (language,))

    async def still_here(self, ctx: Context, words: str = "") -> Message:
        """The short answer within the quiet period: still here, and the emergency number."""
        language = self.written_in(words, ctx.language) or ctx.language
        text = self.answers.text(language)
        with using_language(text.language), answer_words(text):
            return await self._still_here(ctx, text, words)

    async def _still_here(self, ctx: Context, text: AnswerText, words: str) -> Message:
        language = text.language
        code = await self._member_country(ctx)
        emergency = self.answers.emergency.get(code) if code else None
        community_id = ctx.community.id if ctx.community else None
        entries = await self.service.directory(community_id, code) if code else []
        now = self.clock.now()
        # "there for you now, day or night" only while a line it sent is open now; with no
        # country known it looked for none (and sent the directory of every country's lines)
        closed = bool(code) and (not entries or none_open(entries, now))
        parts = [text.still_here_closed if closed else text.still_here]
        if emergency is not None:
            numbers = emergency_numbers(emergency)
            if self.kind_of(words, language) in URGENT_KINDS:
                parts.insert(0, text.urgent.format(numbers=numbers))
            elif closed:
                # no listed line is open now: the emergency number before anything else
                parts.insert(0, text.emergency.format(country=country_name(code), numbers=numbers))
            else:
                parts.append(text.emergency.format(country=country_name(code), numbers=numbers))
        else:
            parts.append(text.danger)
        parts.append(
            lines_again(
                entries,
                code or None,
                self.cfg.fallback_name,
                self.cfg.fallback_url,
                now=now,
                zone=_zone(ctx.timezone),
            )
        )
        return Message.of("\n".join(parts))

    async def answer_refusal(self, ctx: Context, words: str, refusal: Message) -> bool:
        """A refusal or error under a member's `crisis` command (a typo, a country not known)
        still shows the lines first (then says what went wrong); a staff command refused for
        its tier (a member typing `crisis watch on`) gets the refusal and one line saying how
        to get the lines (`render.crisis_pointer`).

        Words that read as distress get the caring answer alone; asking for the lines
        (`crisis now`, `crisis list`, `crisis countries`) where crisis is switched off gets
        them with no refusal before them. A moderator's mistake gets the error alone (False).
        """
        distress = await self.reads_as_distress(ctx, words)
        # Where crisis is switched off, asking for the lines still gets them, plainly: the
        # switch is checked before anything else, so the refusal is the switch itself.
        off = ctx.community is not None and await self.dispatcher.switched_off_in(
            ctx.community.id, self.name
        )
        plain = off and ctx.command_name in MEMBER_ASKS
        if not distress and not plain and ctx.tier >= Tier.MODERATOR:
            return False  # a moderator's mistake: the error alone
        if not distress and ctx.tier < self.tier_of(ctx.command_name):
            # A staff command tried by someone below its tier (`crisis watch on` typed by a
            # member exploring): the refusal and where the lines are, never the whole crisis
            # answer, which would read as "are you OK?" to someone who only looked around.
            pointer = render.crisis_pointer(prefix=ctx.prefix)
            await ctx.reply(replace(refusal, text=(*refusal.text, "\n", pointer)), ephemeral=True)
            return True
        if plain and not distress and ctx.command_name == "crisis countries":
            await self.crisis_countries(ctx)
            return True
        first, alerted = (
            await self._note_distress(ctx, Written.command(self.name))
            if distress
            else (False, False)
        )
        if distress and not first:
            await ctx.reply(await self.still_here(ctx, words), ephemeral=True)
            return True
        try:
            code, rest = directory.country_in_words(words)
            message = await self.answer(
                ctx, rest, distress=distress, country=code, alerted=alerted
            )
        except Exception:
            log.exception("the crisis answer failed; sending the static one")
            message = self.static_answer(ctx)
        if not distress and not plain and refusal.text:
            # the lines first, what went wrong after them: someone reaching for help reads a
            # line before a refusal
            message = replace(message, text=(*message.text, "\n\n", *refusal.text))
        message = _unknown_country_first(message, words)
        await ctx.reply(message, ephemeral=True)
        return True

    def tier_of(self, command_name: str) -> Tier:
        """The tier this cog's command `command_name` (`crisis watch on`) needs; a member's
        for a name that is none of its commands."""
        if not self._tiers:
            self._tiers = {spec.name: spec.tier for spec, _helpers in self.commands()}
        return self._tiers.get(command_name, Tier.MEMBER)

    def static_answer(self, ctx: Context) -> Message:
        """What can always be said, without the database: the fallback directory."""
        text = self.answers.text(ctx.language)
        return Message.of(
            "\n".join(
                [
                    fallback_line(self.cfg.fallback_name, self.cfg.fallback_url),
                    text.danger,
                    text.not_a_service,
                ]
            )
        )

    def _detector(self, extras: tuple[str, ...]) -> Detector:
        detector = self._detectors.get(extras)
        if detector is None:
            detector = self.detector.with_extra(extras)
            if len(self._detectors) > 100:
                self._detectors.clear()
            self._detectors[extras] = detector
        return detector

    async def _alert_moderators(
        self, ctx: Context, source: str, *, dms_closed: bool = False
    ) -> bool:
        """Tell the moderators' channel someone may need support: who, never what they wrote.

        Every alert passes here, and where the words were written decides first: only words
        written where others read them or addressed to the bot (`Written.shared`: a watched
        channel, a command's ordinary or published option, a message to the bot) may alert.
        Words written into a space the bot keeps for the member alone (their journal, a
        worksheet or dialogue answer, the urge log, any `Option.private_text`) never do: they
        get the private answer only, so a member can write honestly where the bot says "only
        you". Whoever calls this tells the member when it returned True.

        Sent at once, never stored: no outbox row, no log line naming anyone, so the bot keeps
        no record of who had a hard moment. The channel is checked again before each alert:
        if members can read it now, nothing is sent. True when the moderators were told.
        """
        if not Written.shared(source) or ctx.community is None:
            return False
        channel = await self.alert_channel(ctx.community.id)
        if channel is None:
            return False
        place = Place(ctx.place.platform, str(channel), ctx.place.community_id, False)
        if await ctx.members_can_read(place) is not None:
            log.warning("a crisis alert was not sent: members can read the alert channel now")
            return False
        members = self.members
        chosen = await members.pseudonym(ctx.community.id, ctx.actor.key)
        with using_language(ctx.community.language):
            # the account comes as the mention; the text never shows the account's name
            shown = escape_markdown(chosen) if chosen else render.none_chosen()
            text = render.alert_text(name=shown)
            if dms_closed:
                text = render.alert_dms_closed() + " " + text
        try:
            await self.outbox.send_now(
                Target(ctx.place.platform, str(channel)),
                Message.of(text, mention=ctx.actor.key, alert=True),
                uuid.uuid4().hex,
            )
        except DeliveryError:
            log.warning("a crisis alert could not be delivered to the alert channel")
            return False
        return True

    async def alert_channel(self, community_id: int) -> str | None:
        """The moderators' alert channel's id, or None when alerts are off."""
        channel = await self.settings.get(community_id, self.name, "alert_channel")
        return str(channel) if channel else None

    # ------------------------------------------------------------------ channel watch

    watch_on = watch_on
    watch_off = watch_off
    watch_status = watch_status

    async def data_statement_in(self, community: CommunityInfo | None) -> str:
        """The data statement, and whether this community's channels are watched."""
        return _(self.data_statement) + " " + await self.watch.statement(community)

    async def setup_notes(self, ctx: Context) -> list[str]:
        """Channel watch, offered with a plain explanation."""
        return [await self.watch.setup_note(ctx)]

    # ------------------------------------------------------------------ member commands

    @command(
        "crisis",
        "now",
        ephemeral=True,
        text_default=True,
        aliases=REACHING_WORDS,
        slash_aliases=("help-now", "sos", "helpline"),
        options=(WORDS_OPTION,),
    )
    async def crisis_now(self, ctx: Context, words: str | None = None) -> None:
        """Show crisis lines for where you are, privately, with how to reach them now."""
        text = words or ""
        code, rest = directory.country_in_words(text)
        distress = bool(rest) and await self.reads_as_distress(ctx, rest)
        first, alerted = (
            await self._note_distress(ctx, Written.command(self.name))
            if distress
            else (False, False)
        )
        # Within the quiet period: the full lines again, without repeating the alert.
        message = await self.answer(
            ctx, rest, distress=distress and first, country=code, alerted=alerted
        )
        await ctx.reply(_unknown_country_first(message, text), ephemeral=True)

    @command(
        "crisis",
        "list",
        ephemeral=True,
        options=(
            Option(
                "country",
                OptionType.STRING,
                "A country's code or name, such as GB, UK or Ireland",
                required=False,
                max_length=60,
                autocomplete="complete_country",
                names="country_names",
            ),
            Option(
                "topic",
                OptionType.CHOICE,
                "Only lines for this topic",
                required=False,
                choices=TOPIC_CHOICES,
            ),
        ),
    )
    async def crisis_list(
        self, ctx: Context, country: str | None = None, topic: str | None = None
    ) -> None:
        """List the lines of a country, optionally for one topic."""
        code = self._country(country) if country else await self._member_country(ctx)
        if not code:
            raise UserError(render.which_country(prefix=ctx.prefix))
        community_id = ctx.community.id if ctx.community else None
        now = self.clock.now()
        found = reach_order(await self.service.directory(community_id, code), now, topic)
        moderator = ctx.tier >= Tier.MODERATOR
        if found:
            heading = render.lines_heading(country=country_name(code))
            if topic:
                heading += " · " + topic_name(topic)
            body = [heading]
            for e, _reach in found:
                body.append(entry_line(e, with_id=moderator, now=now, zone=_zone(ctx.timezone)))
                if e.description:
                    body.append(escape_markdown(e.description))
        else:
            body = [
                render.no_lines(
                    country=country_name(code), topic=f" ({topic_name(topic)})" if topic else ""
                )
            ]
        emergency = self.answers.emergency.get(code)
        if emergency is not None:
            body.append(
                self.answers.text(ctx.language).emergency.format(
                    country=country_name(code), numbers=emergency_numbers(emergency)
                )
            )
        body.append(fallback_line(self.cfg.fallback_name, self.cfg.fallback_url))
        await ctx.reply("\n".join(body), ephemeral=True)

    @command("crisis", "countries", ephemeral=True)
    async def crisis_countries(self, ctx: Context) -> None:
        """Which countries the directory has lines for."""
        community_id = ctx.community.id if ctx.community else None
        counts: dict[str, int] = {}
        for e in await self.service.directory(community_id):
            counts[e.country] = counts.get(e.country, 0) + 1
        lines = [render.countries_heading(prefix=ctx.prefix)]
        lines.extend(
            f"- {country_name(c)} (`{c}`): {n}"
            for c, n in sorted(counts.items(), key=lambda kv: country_name(kv[0]))
        )
        lines.append(fallback_line(self.cfg.fallback_name, self.cfg.fallback_url))
        await ctx.reply("\n".join(lines), ephemeral=True)

    # ------------------------------------------------------------------ moderator commands

    @staticmethod
    def _country(text: str) -> str:
        """The country `text` names, read as `me country` reads it; else the same refusal."""
        return check_country(text)

    async def complete_entry(self, ctx: Context, partial: str) -> list[Choice]:
        """This community's directory entries whose id, name or country holds what was typed:
        `ie-samaritans · Samaritans (IE)`."""
        if ctx.community is None:
            return []
        needle = partial.strip().casefold()
        found = []
        for entry in sorted(await self.service.directory(ctx.community.id), key=lambda e: e.id):
            label = f"{entry.id} · {entry.name} ({entry.country})"
            if needle in label.casefold():
                found.append(Choice(entry.id, label[:100]))
        return found[:25]

    async def _entry(self, ctx: Context, entry_id: str) -> Entry:
        entry = await self.service.find(ctx.require_community().id, entry_id.strip().lower())
        if entry is None:
            raise NotFound(
                render.no_entry(id=escape_markdown(entry_id.strip()[:64]), prefix=ctx.prefix)
            )
        return entry

    def _check(self, raw: dict[str, Any]) -> Entry:
        checker = RowChecker(
            self.today(), self.superseded, short_codes=self.short_codes, strict_hours=True
        )
        entry = checker.check(raw, 0)
        result = checker.finish()
        if entry is None or result.problems:
            problems = "\n".join(f"- {escape_markdown(p.message)}" for p in result.problems)
            raise UserError(render.nothing_saved() + "\n" + problems)
        return entry

    @command(
        "crisis",
        "add",
        tier=Tier.MODERATOR,
        scope=Scope.COMMUNITY,
        ephemeral=True,
        options=(
            Option(
                "country",
                OptionType.STRING,
                "A country's code or name, such as GB, UK or Ireland",
                max_length=60,
                autocomplete="complete_country",
            ),
            Option("name", OptionType.STRING, "The line's name", max_length=200),
            Option("category", OptionType.CHOICE, "What it is mainly for", choices=TOPIC_CHOICES),
            Option(
                "source",
                OptionType.STRING,
                "https page where you checked the facts",
                max_length=500,
            ),
            Option(
                "phone",
                OptionType.STRING,
                "Number to call (E.164 or short code)",
                required=False,
                max_length=40,
            ),
            Option("text", OptionType.STRING, "Number to text", required=False, max_length=40),
            Option(
                "chat", OptionType.STRING, "https link to a chat", required=False, max_length=500
            ),
            Option(
                "hours",
                OptionType.STRING,
                "When it is open: 24/7 or e.g. Mon-Fri 09:00-17:00; left out, shown as not given",
                required=False,
                max_length=100,
            ),
            Option(
                "languages",
                OptionType.STRING,
                "Language tags, e.g. en,es",
                required=False,
                max_length=100,
            ),
            Option("website", OptionType.STRING, "https website", required=False, max_length=500),
            Option(
                "id",
                OptionType.STRING,
                "Short id; made from country and name if left out",
                required=False,
                max_length=64,
            ),
            Option(
                "description",
                OptionType.STRING,
                "Who it is for (at most 280 characters)",
                required=False,
                max_length=400,
            ),
        ),
    )
    async def crisis_add(
        self,
        ctx: Context,
        country: str,
        name: str,
        category: str,
        source: str,
        phone: str | None = None,
        text: str | None = None,
        chat: str | None = None,
        hours: str | None = None,
        languages: str | None = None,
        website: str | None = None,
        id: str | None = None,
        description: str | None = None,
    ) -> None:
        """Add a line to this community's directory (you vouch that you checked it today)."""
        community_id = ctx.require_community().id
        code = self._country(country)
        slug = (id or f"{code}-{name}").strip().lower()
        slug = re.sub(r"[^a-z0-9]+", "-", slug).strip("-")[:64]
        if await self.service.find(community_id, slug) is not None:
            raise UserError(render.entry_exists(id=slug, prefix=ctx.prefix))
        # No hours given is not 24/7: the line shows "hours not given — check with the line".
        base = {"languages": languages or (ctx.community.language if ctx.community else "en")}
        if hours:
            base["hours"] = hours
        contacts: list[dict[str, Any]] = []
        if phone:
            contacts.append({"method": "phone", "number": phone, **base})
        if text:
            contacts.append({"method": "text", "number": text, **base})
        if chat:
            contacts.append({"method": "chat", "url": chat, **base})
        raw: dict[str, Any] = {
            "id": slug,
            "country": code,
            "name": name,
            "category": category,
            "source": source,
            "contacts": contacts,
            "verified_at": self.today(),
            "verified_by": ctx.actor.key,
        }
        if website:
            raw["website"] = website
        if description:
            raw["description"] = description
        entry = self._check(raw)
        await self.service.save(community_id, [entry])
        await self.audit.record(community_id, ctx.actor.key, "crisis.add", f"id={slug}")
        lines = [render.entry_added(id=slug), entry_line(entry)]
        lines.extend(await self._duplicate_notes(community_id, entry))
        await ctx.reply("\n".join(lines), ephemeral=True)

    @command(
        "crisis",
        "edit",
        tier=Tier.MODERATOR,
        scope=Scope.COMMUNITY,
        ephemeral=True,
        options=(
            ENTRY_ID,
            Option(
                "field",
                OptionType.CHOICE,
                "What to change",
                choices=tuple(Choice(f) for f in EDIT_FIELDS),
            ),
            Option(
                "value",
                OptionType.STRING,
                "The new value; `clear` removes an optional one",
                max_length=500,
            ),
            CONFIRM_OPTION,
        ),
    )
    async def crisis_edit(
        self, ctx: Context, id: str, field: str, value: str, confirm: str | None = None
    ) -> None:
        """Change one field of an entry for this community (stamps it verified by you today).

        Replies with the field's old and new value. A change that leaves the entry's country
        without a line open 24/7 is refused unless `confirm`; a phone number another entry of
        the country lists is saved with a warning."""
        community_id = ctx.require_community().id
        entry = await self._entry(ctx, id)
        raw = entry.to_dict()
        value = value.strip()
        clear = value.lower() in CLEAR_WORDS
        if clear and field not in CLEARABLE:
            raise UserError(render.cannot_clear(field=field))
        if field in ("phone", "text", "chat"):
            raw["contacts"] = self._replace_contacts(entry, field, None if clear else value)
        elif field in ("hours", "languages", "free", "anonymous"):
            for contact in raw["contacts"]:
                contact[field] = value
        else:
            raw[field] = "" if clear else value
        raw["verified_at"] = self.today()
        raw["verified_by"] = ctx.actor.key
        updated = self._check(raw)
        await self._refuse_losing_round_the_clock(
            ctx, entry, updated, confirm, f"crisis edit {entry.id} {field} {value}"
        )
        await self.service.save(community_id, [updated])
        await self.audit.record(
            community_id, ctx.actor.key, "crisis.edit", f"id={entry.id} field={field}"
        )
        lines = [
            render.entry_changed(id=entry.id),
            render.field_change(
                field=field, old=_field_text(entry, field), new=_field_text(updated, field)
            ),
            entry_line(updated),
        ]
        if field in ("phone", "text") and not clear:
            lines.append(render.details_kept(hours=_field_text(updated, "hours")))
        lines.extend(await self._duplicate_notes(community_id, updated))
        await ctx.reply("\n".join(lines), ephemeral=True)

    async def complete_confirm(self, ctx: Context, partial: str) -> list[Choice]:
        """The one word that confirms a change leaving a country with no line open 24/7."""
        return [Choice("yes")]

    async def _refuse_losing_round_the_clock(
        self, ctx: Context, old: Entry, new: Entry | None, confirm: str | None, command: str
    ) -> None:
        """Raise `UserError` naming the consequence when `old` becoming `new` (None: removed)
        leaves its country with no line open 24/7 in this community, unless `confirm` is yes
        (anything else given for it is refused, nothing changed)."""
        if confirm is not None and confirm.strip().lower() not in CONFIRM_WORDS:
            raise UserError(render.confirm_word(word=escape_markdown(confirm[:10])))
        if confirm is not None or not round_the_clock(old):
            return
        if new is not None and new.country == old.country and round_the_clock(new):
            return
        others = await self.service.directory(ctx.require_community().id, old.country)
        if any(round_the_clock(e) for e in others if e.id != old.id):
            return
        raise UserError(
            render.last_round_the_clock(
                id=old.id,
                country=country_name(old.country),
                command=f"{ctx.prefix}{command} confirm:yes",
            )
        )

    async def _duplicate_notes(self, community_id: int, entry: Entry) -> list[str]:
        """A warning per other entry of the country that lists one of `entry`'s phone numbers."""
        numbers = _phones(entry)
        out = []
        for other in await self.service.directory(community_id, entry.country):
            same = sorted(numbers & _phones(other))
            if other.id != entry.id and same:
                out.append(render.duplicate_number(number=", ".join(same), id=other.id))
        return out

    @staticmethod
    def _replace_contacts(entry: Entry, method: str, value: str | None) -> list[dict[str, Any]]:
        """The contacts with every `method` contact replaced by one with `value` (or none)."""
        old = [c for c in entry.contacts if c.method == method]
        kept = [c.to_dict() for c in entry.contacts if c.method != method]
        if value is None:
            return kept
        template = (old or list(entry.contacts))[0].to_dict()
        new: dict[str, Any] = {
            k: v for k, v in template.items() if k in ("languages", "hours", "free", "anonymous")
        }
        new["method"] = method
        new["url" if method == "chat" else "number"] = value
        if method == "phone" and len(old) == 1 and old[0].options:
            new["options"] = template.get("options", [])
        return [*kept, new]

    @command(
        "crisis",
        "remove",
        tier=Tier.MODERATOR,
        scope=Scope.COMMUNITY,
        ephemeral=True,
        options=(ENTRY_ID, CONFIRM_OPTION),
    )
    async def crisis_remove(self, ctx: Context, id: str, confirm: str | None = None) -> None:
        """Remove an entry from this community's directory; removing its country's last line
        open 24/7 asks for `confirm`."""
        community_id = ctx.require_community().id
        entry = await self._entry(ctx, id)
        await self._refuse_losing_round_the_clock(
            ctx, entry, None, confirm, f"crisis remove {entry.id}"
        )
        await self.service.remove(community_id, entry)
        await self.audit.record(community_id, ctx.actor.key, "crisis.remove", f"id={entry.id}")
        await ctx.reply(
            render.entry_removed(id=entry.id),
            ephemeral=True,
        )

    @command(
        "crisis",
        "verify",
        tier=Tier.MODERATOR,
        scope=Scope.COMMUNITY,
        ephemeral=True,
        options=(ENTRY_ID,),
    )
    async def crisis_verify(self, ctx: Context, id: str) -> None:
        """Record that you checked an entry against its source today."""
        community_id = ctx.require_community().id
        entry = await self._entry(ctx, id)
        stamped = replace(entry, verified_at=self.today(), verified_by=ctx.actor.key)
        await self.service.save(community_id, [stamped])
        await self.audit.record(community_id, ctx.actor.key, "crisis.verify", f"id={entry.id}")
        await ctx.reply(
            render.entry_checked(id=entry.id, date=self.today().isoformat()),
            ephemeral=True,
        )

    @command("crisis", "stale", tier=Tier.MODERATOR, scope=Scope.COMMUNITY, ephemeral=True)
    async def crisis_stale(self, ctx: Context) -> None:
        """List entries not checked in the last 24 months, or never."""
        entries = await self.service.directory(ctx.require_community().id)
        stale = sorted(
            (e for e in entries if directory.is_stale(e, self.today())),
            key=lambda e: (e.verified_at or date.min, e.id),
        )
        if not stale:
            await ctx.reply(render.all_checked(), ephemeral=True)
            return
        lines = [render.check_due_heading(n=len(stale), prefix=ctx.prefix)]
        for e in stale:
            when = e.verified_at.isoformat() if e.verified_at else render.never_checked()
            lines.append(f"- `{e.id}` {escape_markdown(e.name)}: {when}")
        await ctx.reply("\n".join(lines), ephemeral=True)

    @command(
        "crisis",
        "import",
        tier=Tier.MODERATOR,
        scope=Scope.COMMUNITY,
        ephemeral=True,
        slow=True,
        options=(
            Option(
                "data",
                OptionType.STRING,
                "TOML, CSV or open-helplines JSON; start with partial:true to keep good rows",
                required=False,
                max_length=6000,
            ),
            Option(
                "file",
                OptionType.ATTACHMENT,
                "The entries as a .toml, .csv or .json file instead of text",
                required=False,
            ),
        ),
    )
    async def crisis_import(
        self, ctx: Context, data: str | None = None, file: Attachment | None = None
    ) -> None:
        """Import entries from text or a file; every row is checked, none saved if one is bad."""
        # The flag rides in front of the text: a text option must be last to take many lines.
        # With a file the flag may be all the text, hence the line end added before matching.
        text = data or ""
        flag = PARTIAL_FLAG.match(text + "\n")
        partial = flag is not None
        if flag is not None:
            text = text[flag.end() :]
        fmt: str | None = None
        if file is not None:
            if text.strip():
                raise UserError(render.import_text_and_file())
            text = file_text(file)
            fmt = FILE_FORMATS.get(PurePosixPath(file.filename).suffix.lower())
        elif not text.strip():
            raise UserError(render.import_nothing_given() + " " + file_hint(ctx, "crisis import"))
        community_id = ctx.require_community().id
        result: ParseResult = directory.parse(
            text,
            today=self.today(),
            superseded=self.superseded,
            fmt=fmt,
            short_codes=self.short_codes,
        )
        if not result.entries and not result.problems:
            raise UserError(render.import_found_nothing())
        if result.problems and not partial:
            await ctx.reply(
                _report(
                    render.import_refused(bad=len(result.problems), rows=result.rows),
                    result.problems,
                    result.notes,
                ),
                ephemeral=True,
            )
            return
        await self.service.save(community_id, result.entries)
        await self.audit.record(
            community_id,
            ctx.actor.key,
            "crisis.import",
            f"imported={len(result.entries)} refused={len(result.problems)} "
            f"ids={','.join(e.id for e in result.entries)}",
        )
        await ctx.reply(
            _report(
                render.imported(n=len(result.entries), bad=len(result.problems)),
                result.problems,
                result.notes,
            ),
            ephemeral=True,
        )

    @command(
        "crisis",
        "export",
        tier=Tier.MODERATOR,
        scope=Scope.COMMUNITY,
        ephemeral=True,
        options=(
            Option(
                "format",
                OptionType.CHOICE,
                "File format; TOML keeps every detail",
                required=False,
                choices=(Choice("toml"), Choice("csv")),
            ),
        ),
    )
    async def crisis_export(self, ctx: Context, format: str = "toml") -> None:
        """Download this community's directory as a file that its import command reads back."""
        entries = sorted(
            await self.service.directory(ctx.require_community().id), key=lambda e: e.id
        )
        if format == "csv":
            body, lossy = directory.to_csv(entries)
            note = render.csv_cannot_hold(ids=", ".join(lossy)) if lossy else ""
            attachment = Attachment("crisis-directory.csv", body.encode(), "text/csv")
        else:
            note = ""
            attachment = Attachment(
                "crisis-directory.toml", directory.to_toml(entries).encode(), "application/toml"
            )
        text = render.entry_count(n=len(entries)) + (f" {note}" if note else "")
        await ctx.reply(Message.of(text, attachment=attachment), ephemeral=True)

    @command(
        "crisis",
        "alerts",
        tier=Tier.MODERATOR,
        scope=Scope.COMMUNITY,
        ephemeral=True,
        options=(
            Option(
                "channel",
                OptionType.CHANNEL,
                "The moderators' channel; leave out to stop",
                required=False,
            ),
        ),
    )
    async def crisis_alerts(self, ctx: Context, channel: Place | None = None) -> None:
        """Tell a moderators-only channel when someone may need support (a name, never words)."""
        community_id = ctx.require_community().id
        if channel is not None:
            channel = ctx.own_place(channel)
            label = escape_markdown(channel.label or channel.id)
            readers = await ctx.members_can_read(channel)
            if readers is not None:
                raise UserError(render.alert_channel_readable(channel=label, why=readers))
            cannot = await ctx.can_post(channel)
            if cannot is not None:
                raise UserError(render.alert_channel_unusable(channel=label, why=cannot))
        await self.settings.set(
            community_id, self.name, "alert_channel", channel.id if channel else None
        )
        await self.audit.record(
            community_id,
            ctx.actor.key,
            "crisis.alerts",
            f"channel={channel.id}" if channel else "off",
        )
        if channel is None:
            await ctx.reply(render.alerts_off(), ephemeral=True)
        else:
            await ctx.reply(
                render.alerts_on(channel=escape_markdown(channel.label or channel.id)),
                ephemeral=True,
            )

    @command(
        "crisis",
        "phrases",
        "list",
        tier=Tier.MODERATOR,
        scope=Scope.COMMUNITY,
        ephemeral=True,
        text_default=True,
    )
    async def phrases_list(self, ctx: Context) -> None:
        """Show the crisis phrases this community added to the shipped lists."""
        extras = await self.settings.get(ctx.require_community().id, self.name, "phrases", [])
        languages = ", ".join(self.detector.languages) or render.no_languages()
        lines = [render.shipped_phrases(languages=languages)]
        if extras:
            lines.append(render.phrases_added_heading())
            lines.extend("- `{}`".format(p.replace("`", "")) for p in extras)
        else:
            lines.append(render.no_phrases_added())
        await ctx.reply("\n".join(lines), ephemeral=True)

    @command(
        "crisis",
        "phrases",
        "add",
        tier=Tier.MODERATOR,
        scope=Scope.COMMUNITY,
        ephemeral=True,
        options=(
            Option(
                "phrase",
                OptionType.STRING,
                "Words that should get a crisis answer",
                max_length=100,
            ),
        ),
    )
    async def phrases_add(self, ctx: Context, phrase: str) -> None:
        """Add a crisis phrase for this community; (a|b) offers alternatives."""
        community_id = ctx.require_community().id
        phrase = " ".join(phrase.split())
        try:
            expand(phrase)
        except ValueError as exc:
            raise UserError(render.phrase_unusable(reason=exc)) from None
        extras: list[str] = await self.settings.get(community_id, self.name, "phrases", [])
        if phrase in extras:
            raise UserError(render.phrase_known())
        if len(extras) >= MAX_EXTRA_PHRASES:
            raise UserError(render.too_many_phrases(n=MAX_EXTRA_PHRASES))
        await self.settings.set(community_id, self.name, "phrases", [*extras, phrase])
        await self.audit.record(community_id, ctx.actor.key, "crisis.phrases.add")
        await ctx.reply(render.phrase_added(), ephemeral=True)

    @command(
        "crisis",
        "phrases",
        "remove",
        tier=Tier.MODERATOR,
        scope=Scope.COMMUNITY,
        ephemeral=True,
        options=(
            Option("phrase", OptionType.STRING, "A phrase this community added", max_length=100),
        ),
    )
    async def phrases_remove(self, ctx: Context, phrase: str) -> None:
        """Remove a crisis phrase this community added."""
        community_id = ctx.require_community().id
        phrase = " ".join(phrase.split())
        extras: list[str] = await self.settings.get(community_id, self.name, "phrases", [])
        if phrase not in extras:
            raise NotFound(render.phrase_not_added())
        await self.settings.set(
            community_id, self.name, "phrases", [p for p in extras if p != phrase] or None
        )
        await self.audit.record(community_id, ctx.actor.key, "crisis.phrases.remove")
        await ctx.reply(render.phrase_removed(), ephemeral=True)

    async def delete_user_data(self, actor_key: str) -> None:
        """Forget when we last answered this person; entries they verified stay, unnamed."""
        await self.service.forget_quiet(actor_key)
        await self.service.forget_verifier(actor_key)

    async def delete_community_data(self, community_id: int) -> None:
        """The community's own directory entries (the shipped ones stay)."""
        await self.service.delete_community_data(community_id)

    async def export_user_data(self, actor_key: str) -> dict[str, Any]:
        """Directory entries the person verified; nothing they write is stored here."""
        return {"verified_entries": await self.service.verified_by(actor_key)}
