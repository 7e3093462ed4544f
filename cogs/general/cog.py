"""Help, about, ping, and `me`: a member's pseudonym, time zone, country and language."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from bot.core import (
    COUNTRY_NAMES,
    AnswerKind,
    BotConfig,
    Card,
    Choice,
    Clock,
    Cog,
    CogDirectory,
    CommandSpec,
    Context,
    Dialogue,
    Dialogues,
    Dispatcher,
    Field,
    MemberService,
    Message,
    Option,
    OptionType,
    Outcome,
    Registry,
    Scope,
    Step,
    UserError,
    __version__,
    available_languages,
    check_country,
    check_language,
    command,
    escape_markdown,
    language_name,
    local_time_note,
    parse_zone,
    using_language,
)
from cogs.general import render


def check_zone(text: str) -> str:
    """An IANA zone name, validated."""
    return parse_zone(text).key


class GeneralCog(Cog):
    """Always loaded: the commands a newcomer needs first."""

    name = "general"
    description = "Help, about, and your own settings"
    data_statement = (
        "Stores your chosen pseudonym in each community, and the time zone, country and "
        "language you set with `me`, so times, crisis lines and texts fit you. Unfinished "
        "dialogues are kept (encrypted) until you finish or cancel them."
    )

    def __init__(
        self,
        config: Any = None,
        *,
        bot_config: BotConfig,
        clock: Clock,
        cogs: CogDirectory,
        dialogue_engine: Dialogues,
        dispatcher: Dispatcher,
        members: MemberService,
        registry: Registry,
    ) -> None:
        super().__init__(config)
        self.bot_config = bot_config
        self.clock = clock
        self.cogs = cogs
        self.dialogue_engine = dialogue_engine
        self.dispatcher = dispatcher
        self.members = members
        self.registry = registry

    @command(
        "help",
        ephemeral=True,
        options=(
            Option(
                "command",
                OptionType.STRING,
                "A command or group to explain",
                required=False,
                max_length=100,
                autocomplete="complete_command",
            ),
        ),
    )
    async def help(self, ctx: Context, command: str | None = None) -> None:
        """Show the commands you can use, or explain one."""
        registry = self.registry
        visible = everything = registry.visible_to(ctx.tier)
        if ctx.place.is_dm:  # what would be refused here is not offered
            known = ctx.community is not None
            visible = [s for s in visible if s.scope.allows(is_dm=True, community_known=known)]
        lead = ""
        if command:
            words = tuple(command.strip().lstrip("/!").lower().split())
            # `help me` explains the `me` commands, but may be someone asking for help: the
            # way to the crisis lines comes first.
            if words and self.dispatcher.reaching(f"help {words[0]}") is not None:
                lead = self.dispatcher.crisis_pointer(ctx.prefix)
            exact = registry.get(words) or next(
                (s for s in everything if self._typed(ctx, s) == words), None
            )
            if exact is not None and exact.tier <= ctx.tier:
                explained = self._explain(ctx, exact)
                await ctx.reply(
                    explained.with_prefix(f"{lead}\n") if lead else explained, ephemeral=True
                )
                return

            def starts(spec: CommandSpec) -> bool:
                n = len(words)
                return words in (spec.path[:n], self._typed(ctx, spec)[:n])

            group = [s for s in visible if starts(s)]
            if not group and any(starts(s) for s in everything):
                raise UserError(render.community_only(" ".join(words), ctx.prefix))
            if not group:
                text = render.unknown_command(command, ctx.prefix)
                # Words after `help` that are no command may be someone asking for help.
                pointer = self.dispatcher.crisis_pointer(ctx.prefix)
                raise UserError(" ".join(filter(None, (text, pointer))))
            visible = group
        groups: dict[str, list[CommandSpec]] = {}
        for spec in visible:
            groups.setdefault(self.cogs.heading(spec.cog), []).append(spec)
        elsewhere = not command and len(visible) < len(everything)
        listed = render.command_list(groups, ctx.prefix, ctx.spell, elsewhere)
        await ctx.reply("\n".join(filter(None, (lead, listed))), ephemeral=True)

    @staticmethod
    def _typed(ctx: Context, spec: CommandSpec) -> tuple[str, ...]:
        """The words that run `spec` where the member is (Discord moves staff commands)."""
        return ctx.responder.command_words(spec.path)

    def _explain(self, ctx: Context, spec: CommandSpec) -> Message:
        return render.explain(spec, ctx.spell(spec.path))

    async def complete_command(self, ctx: Context, partial: str) -> list[Choice]:
        """Suggest command names the member can use, as they are typed where they are."""
        needle = partial.lower().strip().lstrip("/!")
        found = []
        for spec in self.registry.visible_to(ctx.tier):
            typed = " ".join(self._typed(ctx, spec))
            if needle in typed or needle in spec.name:
                found.append(Choice(typed))
        return found[:25]

    @command("about", ephemeral=True)
    async def about(self, ctx: Context) -> None:
        """What this bot is, which parts are on, and what each part stores."""
        cogs = list(self.cogs.loaded())
        parts = [(c.description, await c.data_statement_in(ctx.community)) for c in cogs]
        shown = render.about(self.bot_config.name, __version__, parts, [c.name for c in cogs])
        await ctx.reply(shown, ephemeral=True)

    @command("ping")
    async def ping(self, ctx: Context) -> None:
        """Check that the bot is listening."""
        await ctx.reply(render.pong())

    @command("me", "show", ephemeral=True, text_default=True)
    async def me_show(self, ctx: Context) -> None:
        """Show your own settings (only you see this)."""
        profile = await self.members.profile(ctx.actor.key)
        pseudonym = None
        if ctx.community is not None:
            pseudonym = await self.members.pseudonym(ctx.community.id, ctx.actor.key)
        unset = render.not_set()
        community_zone = ctx.community.timezone if ctx.community else "UTC"
        fields = (
            Field(render.pseudonym_label(), escape_markdown(pseudonym) if pseudonym else unset),
            Field(
                render.zone_label(),
                profile.timezone or render.zone_not_set(zone=community_zone),
            ),
            Field(render.country_label(), profile.country or unset),
            Field(render.language_label(), profile.language or unset),
        )
        await ctx.reply(
            Message(
                card=Card(
                    title=render.settings_title(),
                    fields=fields,
                    footer=render.settings_footer(prefix=ctx.prefix),
                )
            ),
            ephemeral=True,
        )

    @command(
        "me",
        "name",
        scope=Scope.MEMBER,
        ephemeral=True,
        options=(
            Option(
                "pseudonym",
                OptionType.STRING,
                "The name others see here; `clear` removes it",
                max_length=64,
                published=True,
            ),
        ),
    )
    async def me_name(self, ctx: Context, pseudonym: str) -> None:
        """Choose the name others see in this community (not your account name)."""
        name = None if pseudonym.strip().lower() == "clear" else pseudonym
        await self.members.set_pseudonym(ctx.require_community().id, ctx.actor.key, name)
        if name is None:
            await ctx.reply(render.pseudonym_cleared(), ephemeral=True)
        else:
            await ctx.reply(
                render.pseudonym_set(name=escape_markdown(" ".join(name.split()))),
                ephemeral=True,
            )

    @command(
        "me",
        "timezone",
        ephemeral=True,
        aliases=(("me", "tz"), ("me", "zone"), ("me", "time-zone")),  # `time zone` too
        options=(
            Option(
                "zone",
                OptionType.STRING,
                "A zone such as Europe/Berlin, a city or your country; `clear` resets",
                max_length=64,
                autocomplete="complete_zone",
            ),
        ),
    )
    async def me_timezone(self, ctx: Context, zone: str) -> None:
        """Set your time zone so meeting times show in your local time."""
        value = None if zone.strip().lower() == "clear" else check_zone(zone)
        await self.members.update_profile(ctx.actor.key, timezone=value)
        await ctx.reply(
            render.zone_set(zone=value) + " " + local_time_note(ZoneInfo(value), self.clock.now())
            if value
            else render.zone_cleared(),
            ephemeral=True,
        )

    @command(
        "me",
        "country",
        ephemeral=True,
        options=(
            Option(
                "country",
                OptionType.STRING,
                "Two-letter code such as US, GB or DE; `clear` resets",
                max_length=64,
                autocomplete="complete_country",
            ),
        ),
    )
    async def me_country(self, ctx: Context, country: str) -> None:
        """Set your country so crisis lines fit where you are."""
        value = None if country.strip().lower() == "clear" else check_country(country)
        await self.members.update_profile(ctx.actor.key, country=value)
        await ctx.reply(
            render.country_set(name=COUNTRY_NAMES[value], code=value)
            if value
            else render.country_cleared(),
            ephemeral=True,
        )

    @command(
        "me",
        "language",
        ephemeral=True,
        options=(
            Option(
                "language",
                OptionType.STRING,
                "Language code such as en; `clear` resets",
                max_length=16,
                autocomplete="complete_language",
            ),
        ),
    )
    async def me_language(self, ctx: Context, language: str) -> None:
        """Choose the language I use with you."""
        value = None if language.strip().lower() == "clear" else check_language(language)
        await self.members.update_profile(ctx.actor.key, language=value)
        if value is None:
            await ctx.reply(render.language_cleared(), ephemeral=True)
            return
        with using_language(value):  # confirm in the language just chosen
            shown = f"{language_name(value)} ({value})"
            await ctx.reply(render.language_set(language=shown), ephemeral=True)

    @command("me", "setup", dm=True)
    async def me_setup(self, ctx: Context) -> None:
        """Walk through your settings one question at a time, in a direct message."""
        await self.dialogue_engine.start(ctx, "me_setup")

    def dialogues(self) -> list[Dialogue]:
        """The `me setup` walk-through."""
        return [
            Dialogue(
                id="me_setup",
                title=render.settings_dialogue_title(),
                intro=render.setup_intro(),
                steps=(
                    Step(
                        "pseudonym",
                        render.ask_pseudonym(),
                        required=False,
                        validate=self._check_pseudonym,
                    ),
                    Step(
                        "timezone",
                        render.ask_zone(),
                        required=False,
                        validate=check_zone,
                    ),
                    Step(
                        "country",
                        render.ask_country(),
                        required=False,
                        validate=check_country,
                    ),
                    Step(
                        "language",
                        render.ask_language(),
                        kind=AnswerKind.CHOICE,
                        required=False,
                        choices=tuple(Choice(code) for code in available_languages()),
                    ),
                ),
                finish=self._finish_setup,
            )
        ]

    @staticmethod
    def _check_pseudonym(value: Any) -> Any:
        name = " ".join(str(value).split())
        if len(name) > 32:
            raise UserError(render.pseudonym_too_long())
        return name

    async def _finish_setup(self, outcome: Outcome) -> Message | str:
        answers = outcome.answers
        members = self.members
        profile_values = {
            k: answers[k] for k in ("timezone", "country", "language") if k in answers
        }
        if profile_values:
            await members.update_profile(outcome.actor_key, **profile_values)
        if "pseudonym" in answers and outcome.community_id is not None:
            try:
                await members.set_pseudonym(
                    outcome.community_id, outcome.actor_key, answers["pseudonym"]
                )
            except UserError as exc:
                return render.saved_but_name(problem=exc.message, prefix=outcome.ctx.prefix)
        return render.all_set(prefix=outcome.ctx.prefix)

    async def delete_user_data(self, actor_key: str) -> None:
        """Erase profile, pseudonyms and unfinished dialogues."""
        await self.members.delete_user_data(actor_key)

    async def delete_community_data(self, community_id: int) -> None:
        """Nothing of its own: pseudonyms and dialogues are the core's rows, erased with the
        community row."""

    async def export_user_data(self, actor_key: str) -> dict[str, Any]:
        """Profile, pseudonym per community, and unfinished dialogues (answers decrypted)."""
        return await self.members.export_user_data(actor_key)
