"""`mydata`: what is stored and why, an export by DM, erasure with a confirmation step.

A member who leaves keeps their data until they erase it, or until the community's retention
period (`settings set retention_days N`, off by default) passes without the bot seeing them.
Platforms do not reliably tell a bot who left, so "left" means: not seen in any community they
belong to for that many days (joining, or anything the bot saw them do), counted from the day
moderators turned the period on. A daily job erases those people exactly as `mydata erase`.
"""

from __future__ import annotations

import json
import logging
import secrets
from datetime import datetime, time, timedelta
from typing import Any

from bot.core import (
    RETENTION_WARNING_DAYS,
    Attachment,
    AuditService,
    BotConfig,
    Card,
    Clock,
    Cog,
    CogDirectory,
    CogHooks,
    Context,
    Database,
    DeliveryError,
    Field,
    MemberService,
    Message,
    Option,
    OptionType,
    Outbox,
    RetentionPlanner,
    Scheduler,
    SettingsService,
    UserError,
    _,
    command,
    scrub_free_space,
    using_language,
)
from cogs.privacy import render
from cogs.privacy.service import Departing, PrivacyService

log = logging.getLogger("circlebot.privacy")

CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
CODE_LENGTH = 6
CODE_VALID = timedelta(minutes=10)
RETENTION_JOB = "privacy.retention"
RETENTION_HOUR = time(3, 0)


class PrivacyCog(Cog, RetentionPlanner):
    """Red-DiscordBot-style data statements and deletion, reachable by every member."""

    name = "privacy"
    description = "Your data: what is stored, export, erase"
    data_statement = (
        "Stores the day you were last seen in each community, so a retention period set by "
        "moderators can erase data of people who left, and, while you are erasing your data, "
        "the confirmation code (encrypted, for 10 minutes). The bot itself also keeps messages "
        "it is due to send you (encrypted, until sent) and, for moderators, a log of their "
        "actions (never what members wrote). For a message it posted with something you can "
        "delete (a shared entry, feedback, a toolbox copy) it keeps where it posted it, never "
        "the text, so deleting that removes the message from the platform too. If the bot is "
        "removed from a community, that community's data is erased a set number of days later"
        " (30 unless the operator changed it) unless it is added back."
    )

    def __init__(
        self,
        config: Any = None,
        *,
        audit: AuditService,
        bot_config: BotConfig,
        clock: Clock,
        cogs: CogDirectory,
        db: Database,
        members: MemberService,
        outbox: Outbox,
        scheduler: Scheduler,
        settings: SettingsService,
    ) -> None:
        super().__init__(config)
        self.audit = audit
        self.bot_config = bot_config
        self.clock = clock
        self.cogs = cogs
        self.db = db
        self.members = members
        self.outbox = outbox
        self.scheduler = scheduler
        self.settings = settings
        self.service = PrivacyService(
            clock=clock,
            cogs=cogs,
            db=db,
            outbox=outbox,
            settings=settings,
            members=members,
        )

    def hooks(self) -> CogHooks:
        """Watch for activity (presence), for retention periods."""
        return CogHooks(seen=self.service.touch)

    async def start(self) -> None:
        """Plan the daily retention pass."""
        self.plan_retention()  # also erases communities the bot was removed from

    def plan_retention(self) -> None:
        """Plan the next daily pass (admin calls this when a period is first set)."""
        now = self.clock.now()
        when = datetime.combine(now.date(), RETENTION_HOUR, tzinfo=now.tzinfo)
        if when <= now:
            when += timedelta(days=1)
        self.scheduler.at(RETENTION_JOB, when, self.run_retention)

    async def run_retention(self) -> int:
        """The daily pass: erase people whose communities' retention periods have passed, and
        communities the bot was removed from longer ago than `bot.removed_community_keep_days`.
        Plans the next pass; returns how many people were erased."""
        erased = 0
        try:
            now = self.clock.now()
            notice = timedelta(days=RETENTION_WARNING_DAYS)
            for person in await self.service.departing():
                if person.erase_at - notice > now:
                    continue  # not yet: warned when the erase is a week away
                warned = person.warned_at
                if warned is None:
                    # Nobody is erased unwarned: the warning goes now, the erase a week later
                    # at the earliest (also when the pass runs late, or the period just began).
                    await self.service.retention_warning(person, await self._warning(person))
                    continue
                if person.erase_at <= now and warned <= now - notice:
                    await self.service.erase(person.actor_key)
                    erased += 1
            if erased:
                await self.audit.record(None, "circlebot", "privacy.retention", f"erased={erased}")
            await self.erase_removed_communities()
        finally:
            self.plan_retention()
        return erased

    async def _warning(self, person: Departing) -> Message:
        """The DM before a retention erase, in the person's language (else the community's)."""
        profile = await self.members.profile(person.actor_key)
        community = await self.members.community_by_id(person.community_id)
        language = profile.language or (community.language if community else "")
        with using_language(language):
            return render.retention_warning(
                community.name if community else "",
                person.days,
                person.last_seen,
                max(person.erase_at, self.clock.now() + timedelta(days=RETENTION_WARNING_DAYS)),
            )

    async def erase_removed_communities(self) -> int:
        """Erase every community the bot was removed from and not added back to in time."""
        days = self.bot_config.removed_community_keep_days
        cutoff = self.clock.now() - timedelta(days=days)
        gone = await self.members.left_before(cutoff)
        for info in gone:
            # the bot is no longer there, so nothing can be deleted on the platform: only the
            # rows go, pending ones (announcements, DMs about the community) included
            await self.service.erase_community(info.id)
            await self.audit.record(
                None, "circlebot", "privacy.community_erased", f"community={info.id}"
            )
        if gone:
            await scrub_free_space(self.db)
        return len(gone)

    def _titles(self) -> dict[str, str]:
        return {c.name: _(c.description) for c in self.service.every_cog()}

    def _statements(self) -> dict[str, str]:
        return {c.name: _(c.data_statement) for c in self.service.every_cog()}

    # ------------------------------------------------------------------ commands

    @command("mydata", "what", ephemeral=True, text_default=True)
    async def mydata_what(self, ctx: Context) -> None:
        """What each part of the bot stores about you, and why."""
        await self._touch(ctx)
        fields = tuple(
            [
                Field(_(c.description), await c.data_statement_in(ctx.community))
                for c in self.cogs.loaded()
            ]
        )
        await ctx.reply(
            Message(
                card=Card(
                    title=render.stored_title(),
                    fields=fields,
                    footer=render.stored_footer(prefix=ctx.prefix),
                )
            ),
            ephemeral=True,
        )

    @command("mydata", "export", ephemeral=True, slow=True)
    async def mydata_export(self, ctx: Context) -> None:
        """Get everything stored about you as files, in a direct message."""
        await self._touch(ctx)
        data = await self.service.export(ctx.actor.key)
        stamp = self.clock.now().strftime("%Y%m%d")
        as_json = json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")
        as_markdown = render.markdown(
            data, self._titles(), self._statements(), zone=ctx.zone
        ).encode("utf-8")
        try:
            await ctx.dm(
                Message.of(
                    render.export_json_caption(),
                    attachment=Attachment(
                        f"circlebot-mydata-{stamp}.json", as_json, "application/json"
                    ),
                )
            )
            await ctx.dm(
                Message.of(
                    render.export_document_caption(),
                    attachment=Attachment(
                        f"circlebot-mydata-{stamp}.md", as_markdown, "text/markdown"
                    ),
                )
            )
        except DeliveryError:
            raise UserError(render.export_dms_closed()) from None
        if not ctx.place.is_dm:
            await ctx.reply(render.export_sent(), ephemeral=True)

    @command(
        "mydata",
        "erase",
        ephemeral=True,
        options=(
            Option(
                "code",
                OptionType.STRING,
                "The confirmation code from the first step",
                required=False,
                max_length=40,
                private_text=True,
            ),
        ),
    )
    async def mydata_erase(self, ctx: Context, code: str | None = None) -> None:
        """Erase everything stored about you (asks for a confirmation code first)."""
        key = ctx.actor.key
        now = self.clock.now()
        if code is None:
            data = await self.service.export(key)
            lines = render.counts(data, self._titles())
            fresh = "".join(secrets.choice(CODE_ALPHABET) for _n in range(CODE_LENGTH))
            await self.service.new_erase_code(key, fresh, now + CODE_VALID)
            what = "\n".join(lines) if lines else render.only_account_id()
            await ctx.reply(
                render.erase_warning(
                    what=what, prefix=ctx.prefix, code=fresh, kinds=render.export_kinds(data)
                ),
                ephemeral=True,
            )
            return
        typed = code.strip().lower().removeprefix("confirm").strip()
        expected = await self.service.erase_code(key)
        if (
            expected is None
            or expected[1] < now
            # bytes: compare_digest refuses a str with non-ASCII characters, which anyone can type
            or not secrets.compare_digest(typed.encode(), expected[0].encode())
        ):
            raise UserError(render.erase_code_wrong(prefix=ctx.prefix))
        gone = await self.service.erase(key)
        answer = render.erased()
        await ctx.reply(f"{answer} {gone.note()}".strip(), ephemeral=True)

    async def _touch(self, ctx: Context) -> None:
        if ctx.community is not None:
            await self.service.touch(ctx.community.id, ctx.actor.key)

    # ------------------------------------------------------------------ hooks

    async def delete_user_data(self, actor_key: str) -> None:
        """Forget presence and any waiting confirmation code (the core rows are erased later)."""
        await self.service.forget_erase_code(actor_key)
        await self.service.forget_presence(actor_key)

    async def delete_community_data(self, community_id: int) -> None:
        """The days members were last seen there."""
        await self.service.forget_community_presence(community_id)

    async def export_user_data(self, actor_key: str) -> dict[str, Any]:
        """The days the person was last seen per community."""
        return {"last_seen": await self.service.presence(actor_key)}
