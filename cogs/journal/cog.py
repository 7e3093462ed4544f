"""Journals: private entries, entries shared for encouragement, and small group journals."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
from datetime import datetime, timedelta
from typing import Any

from pydantic import PositiveInt

from bot.core import (
    Actor,
    AnswerKind,
    ArgumentError,
    AuditService,
    Choice,
    Clock,
    Cog,
    Context,
    Database,
    Dialogue,
    Dialogues,
    GroupJournal,
    MemberService,
    Message,
    NotFound,
    Option,
    OptionType,
    Outbox,
    OutboxRef,
    Outcome,
    Page,
    Place,
    RefKind,
    Scope,
    Section,
    SettingsService,
    Step,
    Target,
    TextChecks,
    Tier,
    UserError,
    When,
    _,
    command,
    escape_markdown,
    tokenize,
)
from cogs.journal import render
from cogs.journal.prompts import TAGS, Prompt, load_prompts
from cogs.journal.service import (
    GROUP,
    PRIVATE,
    SHARED,
    EntryView,
    JournalService,
    Limits,
    Saved,
    clean_code,
)

log = logging.getLogger("circlebot.journal")

SCOPE = "journal"
FEED_CHANNEL = "feed_channel"
SEARCH_SHOWN = 15
_FIELD = re.compile(r"^(title|mood|visibility)[:=]", re.IGNORECASE)
_MOOD_RANGE = re.compile(r"^\s*(\d{1,2})\s*(?:-\s*(\d{1,2}))?\s*$")


class JournalConfig(Section):
    """`[cogs.journal]` settings."""

    max_entry_chars: PositiveInt = 4000
    max_title_chars: PositiveInt = 100
    max_feedback_chars: PositiveInt = 1000
    writes_per_hour: PositiveInt = 20
    feedback_per_hour: PositiveInt = 30
    page_size: PositiveInt = 10
    invite_days: PositiveInt = 7
    # Search counts matches exactly up to this many, then says there are more than that.
    search_count_max: PositiveInt = 1000


ENTRY_ID = Option(
    "id",
    OptionType.STRING,
    "The entry's id, as shown by journal list",
    max_length=32,
    autocomplete="complete_entry",
    private_text=False,
)


def split_fields(text: str) -> tuple[dict[str, str], str]:
    """Leading `title:"..."`, `mood:7`, `visibility:shared` words, and the text after them."""
    fields: dict[str, str] = {}
    rest = ""
    for tok in tokenize(text):
        match = _FIELD.match(text[tok.start : tok.end])
        if match is None:
            rest = text[tok.start :]
            break
        name = match.group(1).lower()
        if name in fields:
            raise ArgumentError(render.given_twice(name=name))
        fields[name] = tok.value[len(match.group(0)) :]
    return fields, rest


def parse_mood(raw: str | None) -> int | None:
    """A mood typed as text."""
    if raw is None:
        return None
    try:
        mood = int(raw.strip())
    except ValueError:
        raise ArgumentError(render.mood_expected()) from None
    return JournalService.check_mood(mood)


def parse_visibility(raw: str | None, prefix: str) -> str | None:
    """`private` or `shared` (group entries are written with `group write`; `prefix` starts
    that command in the refusal)."""
    if raw is None:
        return None
    word = raw.strip().lower()
    for value in (PRIVATE, SHARED):
        if word in (value, _(value).lower()):
            return value
    raise ArgumentError(render.visibility_expected(prefix))


def parse_mood_range(raw: str) -> tuple[int, int]:
    """`7` or `4-7`."""
    match = _MOOD_RANGE.match(raw)
    low = int(match.group(1)) if match else 0
    high = int(match.group(2) or low) if match else 0
    if not match or not 1 <= low <= high <= 10:
        raise ArgumentError(render.mood_filter_expected())
    return low, high


class JournalCog(Cog, GroupJournal):
    """Private, shared and group journals."""

    name = "journal"
    description = "Your journal: private, shared for encouragement, or with a small group"
    data_statement = (
        "Stores the journal entries and feedback you write (title and text encrypted), the "
        "optional mood number, when you wrote them and who may see them, and the group "
        "journals you are in (group names are stored as typed). Shared entries show your "
        "pseudonym here, never your account name. If moderators chose a feed channel, a "
        "shared entry is also posted there; unsharing or deleting it deletes that post, and "
        "deleting feedback deletes the message that passed it on. So that search need not "
        "decrypt every entry, each entry also keeps a keyed code for each different word in "
        "it, never the words: whoever holds only the database cannot tell what the words are, "
        "but can see how many different words an entry has and which of one person's entries "
        "share a word. Editing or deleting an entry, or erasing your data, replaces or removes "
        "its codes."
    )
    Config = JournalConfig

    def __init__(
        self,
        config: JournalConfig | None = None,
        *,
        audit: AuditService,
        clock: Clock,
        community_settings: SettingsService,
        db: Database,
        dialogue_engine: Dialogues,
        members: MemberService,
        outbox: Outbox,
        text_checks: TextChecks,
    ) -> None:
        super().__init__(config)
        self.audit = audit
        self.clock = clock
        self.community_settings = community_settings
        self.db = db
        self.dialogue_engine = dialogue_engine
        self.members = members
        self.outbox = outbox
        self.text_checks = text_checks
        self.settings: JournalConfig = config or JournalConfig()
        c = self.settings
        self.service = JournalService(
            self.db.sessions,
            self.clock,
            Limits(
                entry_chars=c.max_entry_chars,
                title_chars=c.max_title_chars,
                feedback_chars=c.max_feedback_chars,
                writes_per_hour=c.writes_per_hour,
                feedback_per_hour=c.feedback_per_hour,
                page_size=c.page_size,
                invite_days=c.invite_days,
                search_count_max=c.search_count_max,
            ),
        )
        self.prompts: list[Prompt] = load_prompts()[0]
        self._reindexing: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Index, in the background, entries not yet indexed under the newest key (from before
        the search index, or before a key change); search stays exact meanwhile."""
        self._reindexing = asyncio.create_task(self._reindex())

    async def _reindex(self) -> None:
        try:
            done = await self.service.reindex()
        except Exception:  # search still scans what is not indexed; the next start retries
            log.exception("indexing journal entries for search failed")
            return
        if done:
            log.info("indexed %d journal entries for search", done)

    async def stop(self) -> None:
        """Stop indexing (what is done stays; the next start does the rest)."""
        task, self._reindexing = self._reindexing, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- helpers -----------------------------------------------------------------------------

    async def _name(self, community_id: int | None, actor_key: str | None) -> str:
        """The pseudonym someone chose here, never their account name."""
        if actor_key is None:
            return render.a_former_member()
        return escape_markdown(await self.members.public_name(community_id, actor_key))

    def _need_community(self, ctx: Context) -> int:
        if ctx.community is None:
            raise UserError(render.needs_community())
        return ctx.community.id

    async def _announce(self, community_id: int | None, entry: EntryView, prefix: str) -> None:
        """Post a newly shared entry to the feed channel, if moderators chose one."""
        if community_id is None:
            return
        channel = await self.community_settings.get(community_id, SCOPE, FEED_CHANNEL)
        community = await self.members.community_by_id(community_id)
        if not channel or community is None:
            return
        target = str(channel).removeprefix(f"{community.platform}:")
        name = await self._name(community_id, entry.author_key)
        message = render.feed_post(entry, name, prefix)
        # an edited entry is posted anew under its own key (its old post may still be waiting
        # to be deleted under the first one)
        edited = f".{entry.edited_at:%Y%m%dT%H%M%S%f}" if entry.edited_at else ""
        await self.outbox.enqueue(
            f"journal.feed.{entry.code}{edited}",
            Target(community.platform, target),
            message,
            self.clock.now(),
            refs=(
                OutboxRef(RefKind.JOURNAL_FEED_POST, entry.code),
                OutboxRef(RefKind.JOURNAL_ENTRY, entry.code),
                OutboxRef.member(entry.author_key),
                OutboxRef.community(community_id),
            ),
        )

    async def _tell(
        self,
        key: str,
        actor_key: str,
        message: Message,
        refs: tuple[OutboxRef, ...] = (),
        *,
        community_id: int | None = None,
    ) -> None:
        """A DM to another member, through the outbox so it survives a restart.

        `refs` name what the message quotes, so deleting that withdraws it if still pending
        (or deletes it on the platform once sent); `community_id` the community it is about.
        """
        await self.outbox.enqueue(
            key,
            Target(Actor.platform_of(actor_key), actor_key, True),
            message,
            self.clock.now(),
            refs=(*refs, *_community(community_id)),
        )

    # -- writing -----------------------------------------------------------------------------

    @command(
        "journal",
        "write",
        options=(
            Option(
                "text",
                OptionType.STRING,
                'Your entry; may start with title:"..." mood:1-10 visibility:shared',
                required=False,
                max_length=6000,
                private_text=True,
            ),
        ),
        ephemeral=True,
    )
    async def write(self, ctx: Context, text: str | None = None) -> None:
        """Write a journal entry (private unless you share it); no text opens a DM dialogue."""
        fields, body = split_fields(text or "")
        if not body.strip() and not fields:
            await self.dialogue_engine.start(ctx, "journal_write")
            return
        visibility = parse_visibility(fields.get("visibility"), ctx.prefix) or PRIVATE
        mood = parse_mood(fields.get("mood"))
        title = self.service.check_title(fields.get("title"))
        body = self.service.check_body(body)
        community_id = ctx.community.id if ctx.community else None
        await self.text_checks.run(ctx, body, "journal")
        saved = await self.service.write(
            ctx.actor.key, community_id, body, title=title, mood=mood, visibility=visibility
        )
        if saved.newly_shared:
            await self._announce(community_id, saved.entry, ctx.prefix)
        reply = render.saved(saved.entry, ctx.prefix)
        await ctx.reply(reply, ephemeral=True)

    @command(
        "journal",
        "prompt",
        options=(
            Option(
                "topic",
                OptionType.CHOICE,
                "One of the four points",
                required=False,
                choices=tuple(Choice(t, t.replace("_", " ")) for t in TAGS),
            ),
        ),
        ephemeral=True,
    )
    async def prompt(self, ctx: Context, topic: str | None = None) -> None:
        """Suggest something to write about when you don't know where to start."""
        pool = [p for p in self.prompts if topic is None or topic in p.tags]
        if not pool:
            raise UserError(render.no_prompts())
        chosen = random.choice(pool)
        await ctx.reply(render.prompt(chosen.text, ctx.prefix), ephemeral=True)

    # -- reading your own --------------------------------------------------------------------

    @command(
        "journal",
        "list",
        options=(
            Option("page", OptionType.INTEGER, "Page number", required=False, min_value=1),
            Option(
                "since", OptionType.DATETIME, "From this date, e.g. 2026-12-01", required=False
            ),
            Option("until", OptionType.DATETIME, "Up to this date (inclusive)", required=False),
            Option(
                "mood",
                OptionType.STRING,
                "Mood 1-10 or a range like 4-7",
                required=False,
                max_length=8,
                private_text=True,
            ),
        ),
        ephemeral=True,
    )
    async def list_entries(
        self,
        ctx: Context,
        page: int = 1,
        since: datetime | None = None,
        until: datetime | None = None,
        mood: str | None = None,
    ) -> None:
        """List your own entries, newest first."""
        if until is not None and until.astimezone(ctx.zone).time() == datetime.min.time():
            until += timedelta(days=1)  # a bare date means "through the end of that day"
        low, high = parse_mood_range(mood) if mood else (None, None)
        result = await self.service.list_own(
            ctx.actor.key, page, since=since, until=until, mood_min=low, mood_max=high
        )
        filtered = bool(since or until or mood)
        await ctx.reply(render.own_list(result, ctx.prefix, filtered), ephemeral=True)

    @command("journal", "read", options=(ENTRY_ID,), ephemeral=True)
    async def read(self, ctx: Context, id: str) -> None:
        """Open an entry: your own, a shared one here, or one from your group journal."""
        community_id = ctx.community.id if ctx.community else None
        entry = await self.service.read(ctx.actor.key, community_id, id)
        mine = entry.author_key == ctx.actor.key
        where = entry.community_id
        author = None if mine else await self._name(where, entry.author_key)
        names = [await self._name(where, fb.author_key) for fb in entry.feedback]
        await ctx.reply(render.entry(entry, author, names, ctx.prefix), ephemeral=True)

    @command(
        "journal",
        "edit",
        options=(
            ENTRY_ID,
            Option(
                "text",
                OptionType.STRING,
                'New text; may start with title:"..." mood:1-10 visibility:...',
                required=False,
                max_length=6000,
                private_text=True,
            ),
        ),
        ephemeral=True,
    )
    async def edit(self, ctx: Context, id: str, text: str | None = None) -> None:
        """Change one of your entries (a shared one goes private); no text: a DM dialogue.

        A shared entry whose text, title or mood changes loses its feed post and is private
        again until the member shares it (or the edit says `visibility:shared`): new words are
        never published on the strength of an earlier share. The answer says so.
        """
        fields, body = split_fields(text or "")
        if not body.strip() and not fields:
            await self.service.read_own(ctx.actor.key, id)
            await self.dialogue_engine.start(ctx, "journal_edit", prefill={"entry": id.strip()})
            return
        new_body = self.service.check_body(body) if body.strip() else None
        if new_body is not None:
            await self.text_checks.run(ctx, new_body, "journal")
        saved = await self.service.edit(
            ctx.actor.key,
            id,
            body=new_body,
            title=fields.get("title"),
            mood=parse_mood(fields.get("mood")),
            visibility=parse_visibility(fields.get("visibility"), ctx.prefix),
        )
        changed = new_body is not None or "title" in fields or "mood" in fields
        note = await self._refeed(saved, ctx.prefix, changed=changed)
        await ctx.reply(
            _with(render.entry_updated(code=saved.entry.code), note),
            ephemeral=True,
        )

    async def _refeed(self, saved: Saved, prefix: str, *, changed: bool) -> str:
        """After an edit: the feed post showing the old words (sent, or still waiting) is
        taken back when what it shows changed or the entry is no longer shared, and a shared
        entry is posted again as it is now. Returns what happened to sent messages (or "")."""
        entry = saved.entry
        note = ""
        if changed or entry.visibility != SHARED:
            gone = await self.outbox.forget(OutboxRef(RefKind.JOURNAL_FEED_POST, entry.code))
            note = gone.note()
        if saved.withdrawn:  # the new words stay private until the member shares them again
            note = _with(render.edit_withdrew_share(code=entry.code, prefix=prefix), note)
        if saved.newly_shared or (changed and entry.visibility == SHARED and not entry.removed):
            await self._announce(entry.community_id, entry, prefix)
        return note

    @command("journal", "delete", options=(ENTRY_ID,), ephemeral=True)
    async def delete(self, ctx: Context, id: str) -> None:
        """Delete one of your entries for good, with the feedback on it."""
        await self.service.delete(ctx.actor.key, id)
        gone = await self.outbox.forget(OutboxRef(RefKind.JOURNAL_ENTRY, clean_code(id)))
        await ctx.reply(_with(render.entry_deleted(), gone.note()), ephemeral=True)

    @command(
        "journal",
        "search",
        options=(
            Option(
                "text", OptionType.STRING, "Words to look for", max_length=200, private_text=True
            ),
        ),
        ephemeral=True,
    )
    async def search(self, ctx: Context, text: str) -> None:
        """Search your own entries for words."""
        found = await self.service.search(ctx.actor.key, text, SEARCH_SHOWN)
        await ctx.reply(
            render.search_results(found.entries, found.total, more=found.more), ephemeral=True
        )

    # -- sharing and feedback ----------------------------------------------------------------

    @command(
        "journal",
        "feed",
        options=(Option("page", OptionType.INTEGER, "Page number", required=False, min_value=1),),
        ephemeral=True,
    )
    async def feed(self, ctx: Context, page: int = 1) -> None:
        """Read entries members here have shared for encouragement."""
        community_id = self._need_community(ctx)
        result = await self.service.feed(community_id, page)
        if not result.total:
            await ctx.reply(render.feed_empty(), ephemeral=True)
            return
        await ctx.reply(await self._page_message(ctx, result, community_id), ephemeral=True)

    async def _page_message(
        self, ctx: Context, result: Page[EntryView], community_id: int
    ) -> Message:
        names = [await self._name(community_id, e.author_key) for e in result.items]
        return render.feed_page(result, names, ctx.prefix)

    @command(
        "journal",
        "feedback",
        options=(
            Option(
                "id",
                OptionType.STRING,
                "The shared entry's id",
                max_length=32,
                autocomplete="complete_shared",
                private_text=False,
            ),
            Option(
                "text",
                OptionType.STRING,
                "Your encouragement",
                max_length=2000,
                private_text=True,  # for the author's eyes: it reaches them privately
            ),
        ),
        ephemeral=True,
    )
    async def feedback(self, ctx: Context, id: str, text: str) -> None:
        """Leave a kind word on an entry someone shared; they get a private message."""
        body = self.service.check_feedback(text)
        community_id = ctx.community.id if ctx.community else None
        await self.text_checks.run(ctx, body, "journal")
        saved = await self.service.add_feedback(ctx.actor.key, community_id, id, body)
        entry = saved.entry
        if entry.author_key != ctx.actor.key:
            name = await self._name(entry.community_id, ctx.actor.key)
            await self._tell(
                f"journal.feedback.{saved.code}",
                entry.author_key,
                Message.of(
                    render.feedback_notice(name=name, title=render.title(entry), code=entry.code),
                    "\n" + escape_markdown(body) + "\n\n",
                    render.feedback_close_hint(prefix=ctx.prefix, code=entry.code),
                ),
                refs=(
                    OutboxRef(RefKind.FEEDBACK, saved.code),
                    OutboxRef(RefKind.JOURNAL_ENTRY, entry.code),
                    OutboxRef.member(ctx.actor.key),
                    *_community(entry.community_id),
                ),
            )
        await ctx.reply(
            render.feedback_passed_on(code=saved.code),
            ephemeral=True,
        )

    @command(
        "journal",
        "withdraw-feedback",
        options=(
            Option(
                "id",
                OptionType.STRING,
                "Your feedback's id",
                max_length=32,
                autocomplete="complete_own_feedback",
                private_text=False,
            ),
        ),
        ephemeral=True,
    )
    async def withdraw_feedback(self, ctx: Context, id: str) -> None:
        """Take back feedback you left."""
        await self.service.withdraw_feedback(ctx.actor.key, id)
        gone = await self.outbox.forget(OutboxRef(RefKind.FEEDBACK, clean_code(id)))
        await ctx.reply(_with(render.feedback_removed(), gone.note()), ephemeral=True)

    @command("journal", "close-feedback", options=(ENTRY_ID,), ephemeral=True)
    async def close_feedback(self, ctx: Context, id: str) -> None:
        """Stop taking feedback on one of your shared entries."""
        entry = await self.service.set_feedback_open(ctx.actor.key, id, False)
        await ctx.reply(
            render.feedback_closed(code=entry.code),
            ephemeral=True,
        )

    @command("journal", "share", options=(ENTRY_ID,), ephemeral=True)
    async def share(self, ctx: Context, id: str) -> None:
        """Share one of your private entries here so others can encourage you."""
        saved = await self.service.edit(ctx.actor.key, id, visibility=SHARED)
        await self._announce(saved.entry.community_id, saved.entry, ctx.prefix)
        await ctx.reply(render.saved(saved.entry, ctx.prefix), ephemeral=True)

    @command("journal", "unshare", options=(ENTRY_ID,), ephemeral=True)
    async def unshare(self, ctx: Context, id: str) -> None:
        """Make one of your shared entries private again."""
        saved = await self.service.edit(ctx.actor.key, id, visibility=PRIVATE)
        gone = await self.outbox.forget(OutboxRef(RefKind.JOURNAL_FEED_POST, saved.entry.code))
        await ctx.reply(
            _with(
                render.entry_unshared(code=saved.entry.code),
                gone.note(),
            ),
            ephemeral=True,
        )

    # -- moderators --------------------------------------------------------------------------

    @command(
        "journal",
        "remove",
        options=(
            Option(
                "id",
                OptionType.STRING,
                "The shared entry's id",
                max_length=32,
                autocomplete="complete_shared",
                private_text=False,
            ),
        ),
        tier=Tier.MODERATOR,
        scope=Scope.COMMUNITY,
        ephemeral=True,
    )
    async def remove(self, ctx: Context, id: str) -> None:
        """Take a shared entry out of view (the author is told; the audit log keeps no text)."""
        community_id = self._need_community(ctx)
        entry = await self.service.remove_entry(ctx.actor.key, community_id, id)
        gone = await self.outbox.forget(OutboxRef(RefKind.JOURNAL_FEED_POST, entry.code))
        await self.audit.record(
            community_id, ctx.actor.key, "journal.remove_entry", f"entry {entry.code}"
        )
        await self._tell(
            f"journal.removed.{entry.code}",
            entry.author_key,
            Message.of(render.entry_hidden_notice(code=entry.code)),
            community_id=community_id,
        )
        await ctx.reply(
            _with(
                render.entry_hidden(code=entry.code),
                gone.note(),
            ),
            ephemeral=True,
        )

    @command(
        "journal",
        "remove-feedback",
        options=(
            Option(
                "id",
                OptionType.STRING,
                "The feedback's id",
                max_length=32,
                autocomplete="complete_feed_feedback",
                private_text=False,
            ),
        ),
        tier=Tier.MODERATOR,
        scope=Scope.COMMUNITY,
        ephemeral=True,
    )
    async def remove_feedback(self, ctx: Context, id: str) -> None:
        """Take feedback out of view (its author is told; the audit log keeps no text)."""
        community_id = self._need_community(ctx)
        author, entry_code = await self.service.remove_feedback(ctx.actor.key, community_id, id)
        code = clean_code(id)
        await self.outbox.forget(OutboxRef(RefKind.FEEDBACK, code))
        await self.audit.record(
            community_id,
            ctx.actor.key,
            "journal.remove_feedback",
            f"feedback {code} on entry {entry_code}",
        )
        if author is not None:
            await self._tell(
                f"journal.removed-feedback.{code}",
                author,
                Message.of(render.feedback_hidden_notice(code=code)),
                community_id=community_id,
            )
        await ctx.reply(render.feedback_hidden(code=code), ephemeral=True)

    @command(
        "journal",
        "feed-channel",
        options=(
            Option(
                "channel",
                OptionType.CHANNEL,
                "Where shared entries appear; leave out to stop",
                required=False,
            ),
        ),
        tier=Tier.MODERATOR,
        scope=Scope.COMMUNITY,
        ephemeral=True,
    )
    async def feed_channel(self, ctx: Context, channel: Place | None = None) -> None:
        """Choose the channel where newly shared entries are posted (or stop posting)."""
        community_id = self._need_community(ctx)
        key = channel.key if channel else None
        await self.community_settings.set(community_id, SCOPE, FEED_CHANNEL, key)
        await self.audit.record(community_id, ctx.actor.key, "journal.feed_channel", key or "none")
        label = channel.label if channel else ""
        await ctx.reply(
            render.feed_on(channel=label) if key else render.feed_off(),
            ephemeral=True,
        )

    # -- groups ------------------------------------------------------------------------------

    @command(
        "group",
        "create",
        options=(
            Option(
                "name",
                OptionType.STRING,
                "A name for the group journal",
                max_length=40,
                published=True,  # invitees and group members see it
                private_text=False,
            ),
        ),
        scope=Scope.COMMUNITY,
        ephemeral=True,
    )
    async def group_create(self, ctx: Context, name: str) -> None:
        """Start a group journal; you then invite the members."""
        community_id = self._need_community(ctx)
        clean = await self.service.create_group(community_id, ctx.actor.key, name)
        await ctx.reply(
            render.group_ready(name=escape_markdown(clean), prefix=ctx.prefix),
            ephemeral=True,
        )

    @command(
        "group",
        "invite",
        options=(
            Option("member", OptionType.USER, "Who to invite"),
            Option(
                "group",
                OptionType.STRING,
                "The group journal (if you keep several)",
                required=False,
                max_length=40,
                autocomplete="complete_group",
                private_text=False,
            ),
        ),
        scope=Scope.COMMUNITY,
        ephemeral=True,
    )
    async def group_invite(self, ctx: Context, member: Actor, group: str | None = None) -> None:
        """Invite someone to your group journal; they get a join code privately."""
        community_id = self._need_community(ctx)
        invite = await self.service.invite(community_id, ctx.actor.key, member.key, group)
        inviter = await self._name(community_id, ctx.actor.key)
        assert ctx.community is not None
        await self._tell(
            f"journal.invite.{invite.code}",
            member.key,
            Message.of(
                render.group_invitation(
                    name=inviter,
                    group=escape_markdown(invite.group_name),
                    community=escape_markdown(ctx.community.name),
                    prefix=ctx.prefix,
                    code=invite.code,
                ),
                When(invite.expires_at, "date"),
                ".",
            ),
            community_id=community_id,
        )
        await ctx.reply(render.invitation_sent(), ephemeral=True)

    @command(
        "group",
        "join",
        options=(
            Option(
                "code",
                OptionType.STRING,
                "The join code you were sent",
                max_length=32,
                private_text=True,
            ),
        ),
        ephemeral=True,
    )
    async def group_join(self, ctx: Context, code: str) -> None:
        """Join a group journal with the code you were sent."""
        name = await self.service.join(ctx.actor.key, code)
        await ctx.reply(
            render.group_welcome(name=escape_markdown(name), prefix=ctx.prefix),
            ephemeral=True,
        )

    @command(
        "group",
        "leave",
        options=(
            Option(
                "group",
                OptionType.STRING,
                "The group journal to leave",
                required=False,
                max_length=40,
                autocomplete="complete_group",
                private_text=False,
            ),
        ),
        ephemeral=True,
    )
    async def group_leave(self, ctx: Context, group: str | None = None) -> None:
        """Leave a group journal."""
        community_id = self._need_community(ctx)
        name, closed = await self.service.leave(community_id, ctx.actor.key, group)
        text = render.group_left(name=escape_markdown(name))
        if closed:
            text += " " + render.group_closed()
        await ctx.reply(text, ephemeral=True)

    @command(
        "group",
        "write",
        options=(
            Option(
                "group",
                OptionType.STRING,
                "Which group journal; leave out if you are in one (only your groups' names count)",
                required=False,
                max_length=40,
                autocomplete="complete_group",
                known_only=True,
                private_text=False,
            ),
            Option(
                "text",
                OptionType.STRING,
                "Your entry; leave out for a DM dialogue",
                required=False,
                max_length=6000,
                private_text=True,
            ),
        ),
        ephemeral=True,
    )
    async def group_write(
        self, ctx: Context, group: str | None = None, text: str | None = None
    ) -> None:
        """Write in a group journal you belong to: `group write [group] your words`.

        The first words are the group only when they name one of your groups; otherwise they
        are all your entry, written to your only group (several: name it, or `group:NAME`).
        """
        community_id = self._need_community(ctx)
        group_id, _name = await self.service.group_of(community_id, ctx.actor.key, group)
        if not (text or "").strip():
            await self.dialogue_engine.start(
                ctx, "journal_group_write", prefill={"group_id": group_id}
            )
            return
        body = self.service.check_body(text or "")
        await self.text_checks.run(ctx, body, "journal")
        saved = await self.service.write(
            ctx.actor.key, community_id, body, visibility=GROUP, group_id=group_id
        )
        reply = render.saved(saved.entry, ctx.prefix) + " " + render.entry_begins(body)
        repeated = body.casefold().startswith(group.casefold()) if group else False
        if group and "group" in ctx.read_from_words and not repeated:
            # The leading word was one of the member's groups: say so, and how to keep it.
            reply += " " + render.word_read_as_group(group, body, ctx.prefix)
        await ctx.reply(reply, ephemeral=True)

    @command(
        "group",
        "read",
        options=(
            Option(
                "group",
                OptionType.STRING,
                "The group journal",
                required=False,
                max_length=40,
                autocomplete="complete_group",
                private_text=False,
            ),
            Option("page", OptionType.INTEGER, "Page number", required=False, min_value=1),
        ),
        ephemeral=True,
    )
    async def group_read(self, ctx: Context, group: str | None = None, page: int = 1) -> None:
        """Read a group journal you belong to."""
        community_id = self._need_community(ctx)
        name, result = await self.service.group_entries(community_id, ctx.actor.key, group, page)
        if not result.total:
            await ctx.reply(
                render.group_empty(name=escape_markdown(name), prefix=ctx.prefix),
                ephemeral=True,
            )
            return
        message = await self._page_message(ctx, result, community_id)
        await ctx.reply(
            Message.of(f"**{escape_markdown(name)}** · ", *message.text), ephemeral=True
        )

    # -- autocomplete ------------------------------------------------------------------------

    async def complete_entry(self, ctx: Context, partial: str) -> list[Choice]:
        """The member's recent entries."""
        page = await self.service.list_own(ctx.actor.key, 1)
        needle = partial.strip().lower()
        return [
            Choice(e.code, f"{e.code} · {(e.title or e.body)[:80]}")
            for e in page.items
            if needle in e.code or needle in (e.title or e.body).lower()
        ]

    async def complete_shared(self, ctx: Context, partial: str) -> list[Choice]:
        """Entries shared in this community's feed (every member here can read them)."""
        if ctx.community is None:
            return []
        page = await self.service.feed(ctx.community.id, 1)
        needle = partial.strip().lower()
        return [
            Choice(e.code, f"{e.code} · {' '.join((e.title or e.body).split())[:80]}")
            for e in page.items
            if needle in e.code or needle in (e.title or e.body).lower()
        ][:25]

    async def complete_own_feedback(self, ctx: Context, partial: str) -> list[Choice]:
        """The asking member's own feedback (never anyone else's)."""
        needle = partial.strip().lower()
        return [
            Choice(code, f"{code} · {' '.join(body.split())[:80]}")
            for code, body in await self.service.own_feedback(ctx.actor.key)
            if needle in code or needle in body.lower()
        ][:25]

    async def complete_feed_feedback(self, ctx: Context, partial: str) -> list[Choice]:
        """Feedback on this community's shared entries (every member here can read it)."""
        if ctx.community is None:
            return []
        needle = partial.strip().lower()
        return [
            Choice(code, f"{code} · {' '.join(body.split())[:80]}")
            for code, body in await self.service.community_feedback(ctx.community.id)
            if needle in code or needle in body.lower()
        ][:25]

    async def complete_group(self, ctx: Context, partial: str) -> list[Choice]:
        """The member's group journals here."""
        if ctx.community is None:
            return []
        names = await self.service.groups_of(ctx.community.id, ctx.actor.key)
        return [Choice(n) for n in names if partial.strip().lower() in n.lower()][:25]

    # -- dialogues ---------------------------------------------------------------------------

    def dialogues(self) -> list[Dialogue]:
        """Multi-line writing in DMs: new entries, group entries, and new text for an entry."""
        body = Step(
            "body",
            render.ask_text(),
            kind=AnswerKind.LIST,
            long=True,
            hint=render.text_hint(),
        )
        return [
            Dialogue(
                id="journal_write",
                title=render.a_journal_entry(),
                steps=(
                    body,
                    Step(
                        "title",
                        render.ask_title(),
                        required=False,
                        validate=self.service.check_title,
                    ),
                    Step(
                        "mood",
                        render.ask_mood(),
                        kind=AnswerKind.SCALE,
                        required=False,
                        low=1,
                        high=10,
                    ),
                    Step(
                        "visibility",
                        render.ask_visibility(),
                        kind=AnswerKind.CHOICE,
                        required=False,
                        choices=(
                            Choice(PRIVATE, render.private_choice()),
                            Choice(SHARED, render.shared_choice()),
                        ),
                    ),
                ),
                finish=self._finish_write,
            ),
            Dialogue(
                id="journal_group_write",
                title=render.a_group_journal_entry(),
                steps=(body,),
                finish=self._finish_group_write,
            ),
            Dialogue(
                id="journal_edit",
                title=render.edit_dialogue_title(),
                steps=(
                    Step(
                        "body",
                        render.ask_new_text(),
                        kind=AnswerKind.LIST,
                        long=True,
                    ),
                ),
                finish=self._finish_edit,
                kept_on_cancel=render.EDIT_KEPT,
            ),
        ]

    @staticmethod
    def _joined(outcome: Outcome) -> str:
        return "\n".join(str(item) for item in outcome.answers.get("body") or [])

    async def _finish_write(self, outcome: Outcome) -> Message | str:
        """The DM lines were already seen by the text checks as they arrived."""
        answers = outcome.answers
        visibility = answers.get("visibility") or PRIVATE
        saved = await self.service.write(
            outcome.actor_key,
            outcome.community_id,
            self._joined(outcome),
            title=answers.get("title"),
            mood=answers.get("mood"),
            visibility=visibility,
            source=outcome.token or None,
        )
        if saved.newly_shared:
            await self._announce(outcome.community_id, saved.entry, outcome.ctx.prefix)
        return render.saved(saved.entry, outcome.ctx.prefix)

    async def _finish_group_write(self, outcome: Outcome) -> Message | str:
        saved = await self.service.write(
            outcome.actor_key,
            outcome.community_id,
            self._joined(outcome),
            visibility=GROUP,
            group_id=int(outcome.answers["group_id"]),
            source=outcome.token or None,
        )
        return render.saved(saved.entry, outcome.ctx.prefix)

    async def _finish_edit(self, outcome: Outcome) -> Message | str:
        saved = await self.service.edit(
            outcome.actor_key, str(outcome.answers["entry"]), body=self._joined(outcome)
        )
        note = await self._refeed(saved, outcome.ctx.prefix, changed=True)
        return _with(render.entry_updated(code=saved.entry.code), note)

    async def share_into_group(
        self, community_id: int, author_key: str, group: str, title: str, body: str
    ) -> tuple[str, str]:
        """Post text another cog holds (a toolbox item) into a group journal the author is in.

        Returns (entry code, group name); `withdraw_from_group` revokes it.
        """
        group_id, name = await self.service.group_of(community_id, author_key, group)
        saved = await self.service.write(
            author_key, community_id, body, title=title, visibility=GROUP, group_id=group_id
        )
        return saved.entry.code, name

    async def group_names(self, community_id: int, actor_key: str) -> list[str]:
        """The member's own group journals in the community."""
        return await self.service.groups_of(community_id, actor_key)

    async def withdraw_from_group(self, author_key: str, code: str) -> None:
        """Remove an entry `share_into_group` made (a no-op when it is already gone)."""
        try:
            await self.service.delete(author_key, code)
        except NotFound:
            return
        finally:
            await self.outbox.forget(OutboxRef(RefKind.JOURNAL_ENTRY, clean_code(code)))

    async def delete_user_data(self, actor_key: str) -> None:
        """Erase entries (group posts too), feedback they wrote, group memberships, invites.

        What the outbox carries of them goes first, while the rows still say what that is:
        pending messages are withdrawn, sent ones (feed posts, feedback notices) deleted on
        the platform, now or by later delivery passes until the platform allows it."""
        entries, feedback = await self.service.codes_of(actor_key)
        await self.outbox.forget(*_carried(entries, feedback), keys_under=_feed_keys(entries))
        await self.service.delete_user_data(actor_key)

    async def delete_community_data(self, community_id: int) -> None:
        """Entries written there (with their feedback and feed posts) and its groups."""
        entries, feedback = await self.service.delete_community_data(community_id)
        await self.outbox.forget(
            *_carried(entries, feedback), retract=False, keys_under=_feed_keys(entries)
        )

    async def export_user_data(self, actor_key: str) -> dict[str, Any]:
        """Entries and feedback the person wrote, their groups and invites."""
        return await self.service.export_user_data(actor_key)


def _with(answer: str, note: str) -> str:
    """The answer, then what happened to messages already sent (when anything did)."""
    return f"{answer} {note}" if note else answer


def _carried(entries: list[str], feedback: list[str]) -> list[OutboxRef]:
    """The outbox references of these entries (anything quoting them, their feed posts) and of
    this feedback."""
    return [
        *(
            OutboxRef(kind, code)
            for code in entries
            for kind in (RefKind.JOURNAL_ENTRY, RefKind.JOURNAL_FEED_POST)
        ),
        *(OutboxRef(RefKind.FEEDBACK, code) for code in feedback),
    ]


def _feed_keys(entries: list[str]) -> tuple[str, ...]:
    """Key prefixes of these entries' feed posts (`journal.feed.<code>`, and after an edit
    `journal.feed.<code>.<when>`; entry codes all have one length, so no code's prefix is
    another's): their settled rows, which keep no references, go too."""
    return tuple(f"journal.feed.{code}" for code in entries)


def _community(community_id: int | None) -> tuple[OutboxRef, ...]:
    """The community reference of a message, when it belongs to one."""
    return () if community_id is None else (OutboxRef.community(community_id),)
