"""The base every cog extends: commands, dialogues, jobs, and a mandatory data-deletion hook."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

from bot.core import suggest
from bot.core.commands import AutocompleteFn, Choice, CommandSpec, names_helper, spec_of
from bot.core.dialogue import Dialogue
from bot.core.dispatch import ActionHandler, CogHooks, Dispatcher
from bot.i18n import _

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.config import AppConfig
    from bot.core.context import CommunityInfo, Context
    from bot.core.dialogue import Dialogues
    from bot.core.hooks import TextChecks
    from bot.core.mirror import CalendarMirror
    from bot.core.registry import Registry
    from bot.core.suggest import SharedSuggestions
    from bot.db import Database
    from bot.outbox import Outbox
    from bot.scheduler import Scheduler
    from bot.services.audit import AuditService
    from bot.services.members import MemberService
    from bot.services.settings import SettingsService


@dataclass
class Services:
    """What the app hands the loader, which gives each cog the parts its constructor asks
    for (bot/core/loader.py); cogs never build engines, schedulers or clients."""

    config: AppConfig
    db: Database
    clock: Clock
    scheduler: Scheduler
    outbox: Outbox
    members: MemberService
    settings: SettingsService
    audit: AuditService
    dialogues: Dialogues
    registry: Registry
    cogs: dict[str, Cog]
    text_checks: TextChecks
    suggestions: SharedSuggestions
    dispatcher: Dispatcher
    mirror: CalendarMirror


class Cog:
    """One capability. Subclasses set the class attributes and decorate commands."""

    name: ClassVar[str]
    description: ClassVar[str]
    data_statement: ClassVar[str]  # what this cog stores about a member, and why
    Config: ClassVar[type[Any] | None] = None

    def __init__(self, config: Any = None) -> None:
        """`config`: the cog's validated `[cogs.NAME]` settings (an instance of `Config`), or
        None for a cog without settings.

        A subclass lists what it uses as keyword-only parameters typed with core services
        (`clock: Clock`, `members: MemberService`) or another cog's protocol
        (`meetings: MeetingSchedule | None = None`, bot/core/needs.py); the loader passes them
        by type, so the constructor is the whole list of what a cog depends on.
        """
        self.config = config

    def commands(self) -> list[tuple[CommandSpec, dict[str, AutocompleteFn]]]:
        """Every `@command` method bound to this instance, with its autocomplete helpers (and
        `Option.names` methods, under `names_helper(option)`)."""
        found: list[tuple[CommandSpec, dict[str, AutocompleteFn]]] = []
        for attr, _value in inspect.getmembers(type(self)):
            spec = spec_of(getattr(type(self), attr))
            if spec is None:
                continue
            bound = getattr(self, attr)
            helpers: dict[str, AutocompleteFn] = {}
            checks = {o.name: getattr(self, o.check) for o in spec.options if o.check}
            for option in spec.options:
                if option.autocomplete:
                    helpers[option.name] = getattr(self, option.autocomplete)
                if option.names:
                    helpers[names_helper(option.name)] = getattr(self, option.names)
            found.append((replace(spec, callback=bound, cog=self.name, checks=checks), helpers))
        return found

    async def complete_zone(self, ctx: Context, partial: str) -> list[Choice]:
        """Time zones for an option naming one (`autocomplete="complete_zone"`)."""
        return suggest.zones(partial)

    async def complete_country(self, ctx: Context, partial: str) -> list[Choice]:
        """Countries for an option naming one (`autocomplete="complete_country"`)."""
        return suggest.countries(partial)

    async def country_names(self, ctx: Context, partial: str) -> list[Choice]:
        """Countries' names of several words, so one typed unquoted is one value
        (`names="country_names"` on an option naming a country); `partial` is unused."""
        return suggest.country_names()

    async def complete_language(self, ctx: Context, partial: str) -> list[Choice]:
        """The bot's languages for an option naming one (`autocomplete="complete_language"`)."""
        return suggest.languages(partial)

    def dialogues(self) -> list[Dialogue]:
        """Dialogues this cog offers."""
        return []

    def actions(self) -> dict[str, ActionHandler]:
        """Button handlers by id prefix (`scripts` for ids like `scripts:12:next`).

        A handler gets the presser's context and the raw, untrusted id and returns False when
        the id does not match anything live.
        """
        return {}

    def hooks(self) -> CogHooks:
        """What the core should call while this cog runs (seen, text checks, cog switches,
        refusals, channel text); attached after `start`, detached before `stop`."""
        return CogHooks()

    async def start(self) -> None:
        """Rebuild derived state (scheduled jobs) from the database."""

    async def after_start(self) -> None:
        """Called once the app's start-up (or a takeover's rebuild of this cog) has finished:
        begin background work `start` prepared (default: none)."""

    async def settled(self) -> None:
        """Return once what `start` left running in the background (planning a large schedule)
        is done; at once for a cog that leaves nothing (the default)."""

    async def stop(self) -> None:
        """Release what `start` set up besides jobs (the core cancels jobs whose id starts
        with `NAME.` after this)."""

    async def data_statement_in(self, community: CommunityInfo | None) -> str:
        """What this cog stores or reads, as it is set up in `community` (translated);
        `about` and `mydata what` show it. By default the class's `data_statement`."""
        return _(self.data_statement)

    async def setup_notes(self, ctx: Context) -> list[str]:
        """Lines `setup` shows moderators about what this cog offers them (Markdown)."""
        return []

    async def move_place(self, old_key: str, new_key: str) -> None:
        """A channel was replaced by another (a Matrix room upgrade): point the rows that
        name `old_key` (a place key, `matrix:!old:example.org`) at `new_key`. Settings and
        pending outbox items are moved by the core; a cog that keeps places in its own rows
        overrides this."""

    async def delete_user_data(self, actor_key: str) -> None:
        """Erase every row about this person (mandatory; `mydata erase` calls it)."""
        raise NotImplementedError

    async def delete_community_data(self, community_id: int) -> None:
        """Erase every row this cog keeps for the community (its database id) and everything
        it planned in the outbox for it: pending and sent items, posts kept current, plan
        stamps (mandatory; erasing a community the bot was removed from calls it, before the
        community row itself goes). The bot is no longer there, so nothing is deleted on the
        platform. A cog with nothing tied to a community says so in its docstring."""
        raise NotImplementedError

    async def export_user_data(self, actor_key: str) -> dict[str, Any]:
        """Everything this cog stores about the person, decrypted (mandatory; `mydata export`).

        Keys name kinds of record ("entries", "rsvps"); values are JSON-ready lists or dicts
        (`export_row` turns a model row into one).
        """
        raise NotImplementedError
