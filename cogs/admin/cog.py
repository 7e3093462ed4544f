"""Moderators' set-up: essentials in one go, validated settings, cogs per community, audit log.

Every change is written to the audit log (who, which key, the new setting, when; never what a
member wrote). If a mod-log channel is set, new audit lines of every cog are mirrored there
through the outbox every few minutes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.core import (
    N_,
    RETENTION_MIN_DAYS,
    RETENTION_WARNING_DAYS,
    AuditRecord,
    AuditService,
    Choice,
    Clock,
    Cog,
    CogDirectory,
    CogHooks,
    Context,
    MemberService,
    Message,
    Option,
    OptionType,
    Outbox,
    OutboxRef,
    Place,
    RetentionPlanner,
    Scheduler,
    Scope,
    SettingsService,
    Target,
    Tier,
    UserError,
    WebConfig,
    When,
    available_cogs,
    check_country,
    check_language,
    command,
    convert_option,
    escape_markdown,
    local_time_note,
    parse_zone,
)
from cogs.admin import render

SCOPE = "admin"
DISABLED = "disabled_cogs"
MODLOG_LAST = "modlog_last_id"
ALWAYS_ON = frozenset({"general", "admin", "privacy"})
AUDIT_PAGE = 10
# A recorded line reaches the mod-log channel this long after (lines written together go out
# as one post); no line, no pass: the mirror is planned by `AuditService.record`, not polled.
MIRROR_AFTER = timedelta(seconds=10)
MIRROR_JOB = "admin.modlog"
MODLOG_KEY = "admin.modlog."  # + `<community id>.<last audit id>.<first audit id>`
RETENTION_MAX = 3650
ROLE_RE = re.compile(r"^<@&(\d+)>$")
MATRIX_USER_RE = re.compile(r"^@[^:\s]+:\S+$")  # a person's binding on Matrix, kept whole
CLEAR_WORDS = frozenset({"clear", "none", "off", "-"})


@dataclass(frozen=True)
class Key:
    """A setting a moderator can change: where it lives and what it takes."""

    name: str
    scope: str  # settings scope, or "community" for the community row, "roles" for bindings
    key: str
    kind: str  # zone | country | language | channel | channel_id | days | role | switch
    help: str


KEYS: tuple[Key, ...] = (
    Key("timezone", "community", "timezone", "zone", N_("Community time zone (IANA)")),
    Key("country", "community", "country", "country", N_("Default country for crisis lines")),
    Key("language", "community", "language", "language", N_("Default language")),
    Key("announce_channel", SCOPE, "announce_channel", "channel", N_("Announcements channel")),
    Key("journal_channel", "journal", "feed_channel", "channel", N_("Journal feed channel")),
    Key("alert_channel", "crisis", "alert_channel", "channel_id", N_("Moderators' alert channel")),
    Key(
        "modlog_channel", SCOPE, "modlog_channel", "channel", N_("Mod-log channel (audit mirror)")
    ),
    Key("facilitator_role", "roles", str(int(Tier.FACILITATOR)), "role", N_("Facilitator role")),
    Key("moderator_role", "roles", str(int(Tier.MODERATOR)), "role", N_("Moderator role")),
    Key(
        "retention_days",
        "privacy",
        "retention_days",
        "days",
        N_("Erase data of people gone N days"),
    ),
    Key("web.publish", "web", "publish", "switch", N_("Public schedule page and calendar feed")),
    Key("web.rsvp_counts", "web", "rsvp_counts", "switch", N_("RSVP counts on the public page")),
)
BY_NAME = {k.name: k for k in KEYS}
ON_WORDS = frozenset({"on", "yes", "true", "1"})


class AdminCog(Cog):
    """Set-up and settings for moderators."""

    name = "admin"
    description = "Community set-up and the audit log"
    data_statement = (
        "Stores the community's settings. For moderators, it keeps a log of their actions "
        "(who changed which setting, when), never anything members write."
    )

    def __init__(
        self,
        config: Any = None,
        *,
        audit: AuditService,
        web_config: WebConfig,
        clock: Clock,
        cogs: CogDirectory,
        members: MemberService,
        outbox: Outbox,
        scheduler: Scheduler,
        settings: SettingsService,
        retention: RetentionPlanner | None = None,
    ) -> None:
        """`retention`: setting `retention_days` plans the first erasing pass at once (without
        the privacy cog the setting is stored and nothing is erased)."""
        super().__init__(config)
        self.audit = audit
        self.web_config = web_config
        self.clock = clock
        self.cogs = cogs
        self.members = members
        self.outbox = outbox
        # a mod-log post names moderators: erasing one edits their name out of it
        outbox.on_unname(MODLOG_KEY, self._modlog_without)
        audit.listen("admin.modlog", self._recorded)
        self.scheduler = scheduler
        self.settings = settings
        self.retention = retention

    async def start(self) -> None:
        """Mirror what was recorded while the bot was down, if a mod log is set."""
        if await self._mirrored_communities():
            self._plan_mirror()

    def hooks(self) -> CogHooks:
        """Refuse commands of the cogs a community switched off."""
        return CogHooks(switched_off=self.disabled)

    async def delete_user_data(self, actor_key: str) -> None:
        """Nothing of a member's is stored here (audit lines are anonymised by `mydata`)."""

    async def delete_community_data(self, community_id: int) -> None:
        """Nothing of its own: the settings, role bindings and moderators' log it writes are
        the core's rows, erased with the community row."""

    async def export_user_data(self, actor_key: str) -> dict[str, Any]:
        """Nothing of a member's is stored here (their audit lines are in the core export)."""
        return {}

    # ------------------------------------------------------------------ helpers

    async def _place(self, ctx: Context, text: str) -> Place:
        option = Option("channel", OptionType.CHANNEL, "channel")
        place: Place = await convert_option(option, text, ctx)
        return ctx.own_place(place)

    @staticmethod
    async def _check_postable(ctx: Context, key: Key, place: Place) -> None:
        """A channel setting is only useful where the bot can post; say why not at once."""
        reason = await ctx.can_post(place)
        if reason:
            raise UserError(
                render.cannot_post(
                    channel=escape_markdown(place.label), key=key.name, reason=reason
                )
            )

    @staticmethod
    def _role(text: str) -> str:
        raw = text.strip()
        match = ROLE_RE.match(raw)
        role = match.group(1) if match else raw.lstrip("@&")
        if MATRIX_USER_RE.match(raw):
            role = raw  # a Matrix user id is looked up whole, "@" included (`tier_for`)
        if not role or len(role) > 255 or any(ch.isspace() for ch in role):
            raise UserError(render.role_expected())
        return role

    async def _validate(self, ctx: Context, key: Key, value: str | Place) -> Any:
        """The stored form of a typed value; None clears it."""
        if isinstance(value, str) and value.strip().lower() in CLEAR_WORDS:
            if key.scope == "community" and key.kind != "country":
                raise UserError(render.cannot_clear(key=key.name))
            return None
        if key.kind == "zone":
            return parse_zone(str(value)).key
        if key.kind == "country":
            return check_country(str(value))
        if key.kind == "language":
            return check_language(str(value))
        if key.kind in {"channel", "channel_id"}:
            place = (
                ctx.own_place(value) if isinstance(value, Place) else await self._place(ctx, value)
            )
            await self._check_postable(ctx, key, place)
            if key.name == "alert_channel":
                # the same rule as `crisis alerts`: an alert names a member in a hard moment
                readers = await ctx.members_can_read(place)
                if readers is not None:
                    raise UserError(
                        render.alert_channel_readable(
                            channel=escape_markdown(place.label or place.id), why=readers
                        )
                    )
            return place.key if key.kind == "channel" else place.id
        if key.kind == "switch":
            word = str(value).strip().lower()
            if word not in ON_WORDS:
                raise UserError(render.switch_expected(key=key.name))
            return True
        if key.kind == "days":
            text = str(value).strip()
            if not text.isdigit() or not RETENTION_MIN_DAYS <= int(text) <= RETENTION_MAX:
                raise UserError(
                    render.days_expected(key=key.name, low=RETENTION_MIN_DAYS, n=RETENTION_MAX)
                )
            return int(text)
        role = self._role(str(value))
        if await ctx.responder.held_by_everyone(role):
            raise UserError(render.role_for_everyone(key=key.name))
        return role

    @staticmethod
    async def _role_note(ctx: Context, key: Key, value: Any) -> str | None:
        """What the platform adds about a role just bound (Discord: who sees which commands)."""
        if key.scope != "roles" or value is None:
            return None
        return await ctx.responder.role_note(str(value), Tier(int(key.key)))

    async def _store(self, ctx: Context, community_id: int, key: Key, value: Any) -> None:
        settings = self.settings
        if key.scope == "community":
            await self.members.update_community(community_id, **{key.key: value or ""})
        elif key.scope == "roles":
            tier = int(key.key)
            if value is None:
                for role, bound in (await self.members.bindings(community_id)).items():
                    if bound == tier:
                        await self.members.bind(community_id, role, None)
            else:
                await self.members.bind(community_id, value, tier)
        else:
            await settings.set(community_id, key.scope, key.key, value)
            if key.name == "retention_days":
                # the period counts from now: nobody is erased for quiet before it was chosen
                await settings.set(
                    community_id,
                    key.scope,
                    "retention_since",
                    None if value is None else self.clock.now().isoformat(),
                )
            if key.name == "modlog_channel" and value is not None:
                await settings.set(community_id, SCOPE, MODLOG_LAST, await self._last_audit_id())
                self._plan_mirror()
            if key.name == "retention_days" and value is not None and self.retention is not None:
                self.retention.plan_retention()
        shown = "clear" if value is None else str(value)
        await self.audit.record(community_id, ctx.actor.key, "settings.set", f"{key.name}={shown}")

    async def _current(self, community_id: int) -> dict[str, str | None]:
        community = await self.members.community_by_id(community_id)
        bindings = await self.members.bindings(community_id)
        found: dict[str, str | None] = {}
        for key in KEYS:
            value: Any
            if key.scope == "community":
                value = getattr(community, key.key, None) if community else None
            elif key.scope == "roles":
                roles = sorted(r for r, t in bindings.items() if t == int(key.key))
                value = ", ".join(roles) if roles else None
            else:
                value = await self.settings.get(community_id, key.scope, key.key)
            if key.kind == "switch":
                value = "on" if value else None
            found[key.name] = None if value in (None, "") else str(value)
        return found

    def _status(self, current: dict[str, str | None], title: str) -> Message:
        return render.status(current, {k.name: k.help for k in KEYS}, title)

    # ------------------------------------------------------------------ setup & settings

    @command(
        "setup",
        tier=Tier.MODERATOR,
        scope=Scope.COMMUNITY,
        ephemeral=True,
        options=(
            Option("timezone", OptionType.STRING, "Community time zone, e.g. Europe/Berlin",
                   required=False, max_length=64, autocomplete="complete_zone"),
            Option("country", OptionType.STRING, "Default country code, e.g. US",
                   required=False, max_length=64, autocomplete="complete_country"),
            Option("announce_channel", OptionType.CHANNEL, "Where announcements go",
                   required=False),
            Option("journal_channel", OptionType.CHANNEL, "Where shared journal entries appear",
                   required=False),
            Option("alert_channel", OptionType.CHANNEL, "Moderators' channel for crisis alerts",
                   required=False),
            Option("modlog_channel", OptionType.CHANNEL, "Where the audit log is mirrored",
                   required=False),
            Option("facilitator_role", OptionType.ROLE, "The facilitators' role",
                   required=False, max_length=300),
            Option("moderator_role", OptionType.ROLE, "The moderators' role",
                   required=False, max_length=300),
        ),
    )  # fmt: skip
    async def setup(
        self,
        ctx: Context,
        timezone: str | None = None,
        country: str | None = None,
        announce_channel: Place | None = None,
        journal_channel: Place | None = None,
        alert_channel: Place | None = None,
        modlog_channel: Place | None = None,
        facilitator_role: str | None = None,
        moderator_role: str | None = None,
    ) -> None:
        """Set the community's essentials in one go and see what is still unset."""
        community_id = ctx.require_community().id
        given: dict[str, str | Place | None] = {
            "timezone": timezone,
            "country": country,
            "announce_channel": announce_channel,
            "journal_channel": journal_channel,
            "alert_channel": alert_channel,
            "modlog_channel": modlog_channel,
            "facilitator_role": facilitator_role,
            "moderator_role": moderator_role,
        }
        checked = [
            (BY_NAME[name], await self._validate(ctx, BY_NAME[name], value))
            for name, value in given.items()
            if value is not None
        ]
        for key, value in checked:  # everything is validated before anything changes
            await self._store(ctx, community_id, key, value)
        title = render.setup_title(len(checked))
        message = self._status(await self._current(community_id), title)
        if not checked:
            message = Message(
                text=(render.setup_hint(ctx.prefix),),
                card=message.card,
            )
        notes = [n for key, value in checked if (n := await self._role_note(ctx, key, value))]
        notes += [n for c in self.cogs.loaded() for n in await c.setup_notes(ctx)]
        if notes:
            lead = "\n\n" if message.text else ""
            message = Message(text=(*message.text, lead + "\n\n".join(notes)), card=message.card)
        await ctx.reply(message, ephemeral=True)

    @command("settings", "show", tier=Tier.MODERATOR, scope=Scope.COMMUNITY, ephemeral=True,
             text_default=True)  # fmt: skip
    async def settings_show(self, ctx: Context) -> None:
        """Show every community setting and what is still unset."""
        community_id = ctx.require_community().id
        message = self._status(await self._current(community_id), render.settings_title())
        disabled = await self.settings.get(community_id, SCOPE, DISABLED, [])
        if disabled:
            message = Message(
                text=(render.switched_off(disabled),),
                card=message.card,
            )
        await ctx.reply(message, ephemeral=True)

    @command(
        "settings",
        "set",
        tier=Tier.MODERATOR,
        scope=Scope.COMMUNITY,
        ephemeral=True,
        options=(
            Option(
                "key",
                OptionType.CHOICE,
                "Which setting",
                choices=tuple(Choice(k.name) for k in KEYS),
            ),
            Option("value", OptionType.STRING, "The new value, or `clear`", max_length=300),
        ),
    )
    async def settings_set(self, ctx: Context, key: str, value: str) -> None:
        """Change one community setting (each value is checked first)."""
        community_id = ctx.require_community().id
        spec = BY_NAME[key]
        stored = await self._validate(ctx, spec, value)
        await self._store(ctx, community_id, spec, stored)
        said = (
            render.switch_changed(key, stored is not None)
            if spec.kind == "switch"
            else render.setting_changed(key, stored)
        )
        if key == "web.publish" and stored is not None:
            web = self.web_config
            said += " " + render.published_at(
                web.page_url(community_id) if web.base_url else None,
                web.feed_url(community_id, webcal=True) if web.base_url else None,
            )
        if spec.kind == "zone" and stored is not None:
            said += " " + local_time_note(ZoneInfo(str(stored)), self.clock.now())
        if spec.name == "retention_days" and stored is not None:
            said += " " + render.retention_explained(int(stored), RETENTION_WARNING_DAYS)
        if note := await self._role_note(ctx, spec, stored):
            said += "\n\n" + note
        await ctx.reply(said, ephemeral=True)

    # ------------------------------------------------------------------ cogs per community

    def _switchable(self) -> tuple[Choice, ...]:
        return tuple(Choice(n) for n in available_cogs() if n not in ALWAYS_ON)

    async def _switch(self, ctx: Context, name: str, on: bool) -> None:
        community_id = ctx.require_community().id
        if name in ALWAYS_ON:
            raise UserError(render.always_on(name))
        if name not in available_cogs():
            parts = sorted(set(available_cogs()) - set(ALWAYS_ON))
            raise UserError(render.no_such_part(name, parts))
        disabled: list[str] = await self.settings.get(community_id, SCOPE, DISABLED, [])
        now_off = sorted(set(disabled) - {name}) if on else sorted({*disabled, name})
        await self.settings.set(community_id, SCOPE, DISABLED, now_off or None)
        await self.audit.record(
            community_id, ctx.actor.key, "cogs.enable" if on else "cogs.disable", name
        )
        await ctx.reply(render.switched(name, on, ctx.prefix), ephemeral=True)

    @command(
        "cogs",
        "enable",
        tier=Tier.MODERATOR,
        scope=Scope.COMMUNITY,
        ephemeral=True,
        options=(Option("name", OptionType.STRING, "The part to switch on", max_length=32),),
    )
    async def cogs_enable(self, ctx: Context, name: str) -> None:
        """Switch a part of the bot on in this community."""
        await self._switch(ctx, name.strip().lower(), True)

    @command(
        "cogs",
        "disable",
        tier=Tier.MODERATOR,
        scope=Scope.COMMUNITY,
        ephemeral=True,
        options=(Option("name", OptionType.STRING, "The part to switch off", max_length=32),),
    )
    async def cogs_disable(self, ctx: Context, name: str) -> None:
        """Switch a part of the bot off in this community."""
        await self._switch(ctx, name.strip().lower(), False)

    async def disabled(self, community_id: int) -> list[str]:
        """Cogs switched off in a community (for the dispatcher)."""
        found: list[str] = await self.settings.get(community_id, SCOPE, DISABLED, [])
        return found

    # ------------------------------------------------------------------ audit log

    @command(
        "audit",
        "list",
        tier=Tier.MODERATOR,
        scope=Scope.COMMUNITY,
        ephemeral=True,
        text_default=True,
        options=(
            Option("page", OptionType.INTEGER, "Page number, 1 is newest", required=False,
                   min_value=1, max_value=10000),
        ),
    )  # fmt: skip
    async def audit_list(self, ctx: Context, page: int = 1) -> None:
        """Show moderator actions here, newest first."""
        community_id = ctx.require_community().id
        found = await self.audit.page(community_id, page, AUDIT_PAGE)
        if not found.items:
            raise UserError(render.audit_empty(page, found.pages))
        lines = [await self._line(community_id, row) for row in found.items]
        await ctx.reply(render.audit_page(lines, page, found.pages), ephemeral=True)

    async def _line(
        self, community_id: int, row: AuditRecord, *, without: str | None = None
    ) -> list[str | When]:
        """One audit line; `without`: the actor key of a moderator shown as "a moderator"."""
        if without is not None and row.actor_key == without:
            who = render.a_moderator()
        else:
            who = await self._who(community_id, row.actor_key)
        return render.audit_line(row.created_at, who, row.action, row.detail)

    async def _who(self, community_id: int, actor_key: str) -> str:
        if ":" not in actor_key:
            return escape_markdown(actor_key)
        return escape_markdown(await self.members.pseudonym(community_id, actor_key) or actor_key)

    # ------------------------------------------------------------------ mod-log mirror

    async def _last_audit_id(self) -> int:
        return await self.audit.last_id()

    def _plan_mirror(self) -> None:
        """A mirror pass `MIRROR_AFTER` from now, unless one is planned sooner."""
        when = self.clock.now() + MIRROR_AFTER
        if any(at <= when for _job, at in self.scheduler.planned(MIRROR_JOB)):
            return
        self.scheduler.at(MIRROR_JOB, when, self.mirror)

    def _recorded(self, community_id: int | None) -> None:
        if community_id is not None:
            self._plan_mirror()

    async def mirror(self) -> int:
        """Copy new audit lines to each community's mod-log channel (at most 50 per post); a
        pass that posted plans one more, for lines past those 50 or recorded meanwhile."""
        sent = 0
        try:
            sent = await self._mirror_once()
        finally:
            if sent:
                self._plan_mirror()
        return sent

    async def _modlog_post(
        self, community_id: int, rows: list[AuditRecord], *, without: str | None = None
    ) -> Message:
        lines: list[str | When] = [render.audit_heading() + "\n"]
        for row in rows:
            lines += await self._line(community_id, row, without=without)
        return Message.of(*lines)

    async def _modlog_without(self, key: str, actor_key: str) -> Message | None:
        """The mod-log post `key` again, with `actor_key` shown as "a moderator" (the outbox
        edits it in when that moderator is erased); None (delete the post) when its lines
        cannot be read again (a key of an older shape, or the lines were pruned)."""
        parts = key.removeprefix(MODLOG_KEY).split(".")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            return None
        community_id, last, first = (int(p) for p in parts)
        rows = [
            row
            for row in await self.audit.after(community_id, first - 1, last - first + 1)
            if row.id <= last
        ]
        if not rows or rows[0].id != first or rows[-1].id != last:
            return None
        return await self._modlog_post(community_id, rows, without=actor_key)

    async def _mirrored_communities(self) -> list[int]:
        return await self.settings.communities_with(SCOPE, "modlog_channel")

    async def _mirror_once(self) -> int:
        settings = self.settings
        sent = 0
        for community_id in await self._mirrored_communities():
            channel = await settings.get(community_id, SCOPE, "modlog_channel")
            community = await self.members.community_by_id(community_id)
            if not channel or community is None:
                continue
            last = int(await settings.get(community_id, SCOPE, MODLOG_LAST, 0) or 0)
            rows = await self.audit.after(community_id, last, 50)
            if not rows:
                continue
            await self.outbox.enqueue(
                f"{MODLOG_KEY}{community_id}.{rows[-1].id}.{rows[0].id}",
                Target(community.platform, str(channel).removeprefix(f"{community.platform}:")),
                await self._modlog_post(community_id, rows),
                self.clock.now(),
                refs=(  # names them: withdrawn while pending, edited once sent
                    *{OutboxRef.member(row.actor_key) for row in rows},
                    *{OutboxRef.named(row.actor_key) for row in rows},
                    OutboxRef.community(community_id),
                ),
            )
            await settings.set(community_id, SCOPE, MODLOG_LAST, rows[-1].id)
            sent += 1
        return sent
