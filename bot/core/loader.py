"""Load the cogs named in config, validate their settings, register their commands."""

from __future__ import annotations

import importlib
import logging
import pkgutil
from pathlib import Path
from typing import Any

import cogs
from bot import config
from bot.clock import Clock
from bot.config import AppConfig, BotConfig, WebConfig
from bot.core.cog import Cog, Services
from bot.core.dialogue import Dialogues
from bot.core.dispatch import Dispatcher
from bot.core.hooks import TextChecks
from bot.core.mirror import CalendarMirror
from bot.core.needs import MissingProvider, missing_message, needs_of, unimplemented
from bot.core.registry import Registry
from bot.core.suggest import SharedSuggestions
from bot.db import Database
from bot.outbox import Outbox
from bot.scheduler import Scheduler
from bot.schema import Locator, Problem, validate
from bot.services.audit import AuditService
from bot.services.members import MemberService
from bot.services.settings import SettingsService

log = logging.getLogger("circlebot.loader")


class LoadError(Exception):
    """A cog could not be loaded; every problem is listed."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def available_cogs() -> list[str]:
    """Names of the cog packages shipped with the bot."""
    return sorted(m.name for m in pkgutil.iter_modules(cogs.__path__) if m.ispkg)


def cog_class(name: str) -> type[Cog]:
    """The Cog subclass a cog package exports as `COG`."""
    module = importlib.import_module(f"cogs.{name}")
    cls = getattr(module, "COG", None)
    if not (isinstance(cls, type) and issubclass(cls, Cog)):
        raise TypeError(f"cogs.{name} does not export a Cog subclass as COG")
    for hook in ("delete_user_data", "export_user_data", "delete_community_data"):
        if getattr(cls, hook) is getattr(Cog, hook):
            raise TypeError(f"cogs.{name} must implement {hook}")
    return cls


def check_cog_settings(
    enabled: list[str],
    settings: dict[str, Any],
    *,
    file: str = "config",
    locator: Locator | None = None,
) -> list[Problem]:
    """Problems with `[cogs]`: unknown names, and each cog's own settings (file, line, key)."""
    known = available_cogs()
    problems: list[Problem] = []

    def problem(path: tuple[str, ...], message: str) -> None:
        line = locator.line(path) if locator else None
        problems.append(Problem(file, line, ".".join(path), message))

    for name in enabled:
        if name not in known:
            problem(("cogs", "enabled"), f"unknown cog {name!r}; available: {known}")
    for name, section in settings.items():
        if name not in known:
            problem(("cogs", name), f"unknown cog; available: {known}")
            continue
        cls = cog_class(name)
        if cls.Config is None:
            if section:
                problem(("cogs", name), "this cog takes no settings")
            continue
        if not isinstance(section, dict):
            problem(("cogs", name), f"must be a table, got {type(section).__name__}")
            continue
        _value, found = validate(
            cls.Config, section, file=file, locator=locator, prefix=("cogs", name)
        )
        problems.extend(found)
    return problems


class ShippedCogs:
    """The cogs shipped in `cogs/`, as the config's `CogCatalog`."""

    def names(self) -> list[str]:
        """Every shipped cog."""
        return available_cogs()

    def check(
        self, enabled: list[str], settings: dict[str, Any], *, file: str, locator: Locator | None
    ) -> list[Problem]:
        """See `check_cog_settings`."""
        return check_cog_settings(enabled, settings, file=file, locator=locator)


SHIPPED = ShippedCogs()


def read_config(path: Path | None) -> AppConfig:
    """`bot.config.load` with the shipped cogs: the whole file, cog settings included.

    Raises:
        ConfigError: every problem with the file.
    """
    return config.load(path, cogs=SHIPPED)


def parse_config(
    data: dict[str, Any], source: str = "config", locator: Locator | None = None
) -> AppConfig:
    """`bot.config.parse` with the shipped cogs.

    Raises:
        ConfigError: every problem with the document.
    """
    return config.parse(data, source, locator, cogs=SHIPPED)


def load(enabled: list[str], settings: dict[str, Any], services: Services) -> list[Cog]:
    """Instantiate enabled cogs (the `general` cog always) and register their commands.

    A cog that asks for another cog's protocol in its constructor (bot/core/needs.py) is built
    after the cog that provides it and gets that instance. Raises `LoadError` for bad settings
    and `MissingProvider` when a required need has no enabled provider.
    """
    problems = check_cog_settings(enabled, settings)
    if problems:
        raise LoadError(problems)
    names = ["general", *[n for n in enabled if n != "general"]]
    configs: dict[str, Any] = {}
    for name in names:
        cls = cog_class(name)
        if cls.Config is not None:
            configs[name], _problems = validate(
                cls.Config, settings.get(name, {}), file="config", prefix=("cogs", name)
            )
    built = build({name: cog_class(name) for name in names}, services, configs)
    loaded = [built[name] for name in names]  # registered in the configured order
    for cog in loaded:
        services.cogs[cog.name] = cog
        for spec, helpers in cog.commands():
            services.registry.add(spec, helpers)
        for dialogue in cog.dialogues():
            services.dialogues.register(dialogue)
        for prefix, handler in cog.actions().items():
            services.dispatcher.register_action(prefix, handler)
    return loaded


def build(
    classes: dict[str, type[Cog]], services: Services, configs: dict[str, Any]
) -> dict[str, Cog]:
    """One instance of each class, providers before the cogs that need them.

    Raises `MissingProvider` for a required need no class here provides, and `LoadError`
    when two classes here provide the same need or cogs need each other in a circle.
    """
    built: dict[str, Cog] = {}
    building: list[str] = []
    core = core_services(services)

    def make(name: str) -> Cog:
        if name in built:
            return built[name]
        if name in building:
            circle = " -> ".join([*building[building.index(name) :], name])
            raise LoadError(
                [Problem("config", None, "cogs.enabled", f"cogs need each other: {circle}")]
            )
        building.append(name)
        cls = classes[name]
        if missing := unimplemented(cls):
            raise TypeError(
                f"cog {name!r} declares {', '.join(missing)} but does not define "
                f"{'it' if len(missing) == 1 else 'them'} (renamed?)"
            )
        given: dict[str, Any] = {}
        for need in needs_of(cls, core):
            if need.kind in core:
                given[need.parameter] = core[need.kind]
                continue
            offer = [n for n, c in classes.items() if need.kind in c.__mro__]
            if len(offer) > 1:
                raise LoadError(
                    [
                        Problem(
                            "config",
                            None,
                            "cogs.enabled",
                            f"{need.kind.__name__} is provided by more than one cog: {offer}",
                        )
                    ]
                )
            if offer:
                given[need.parameter] = make(offer[0])
            elif need.optional:
                given[need.parameter] = None
            else:
                shipped = [(n, cog_class(n)) for n in available_cogs()]
                raise MissingProvider(missing_message(name, need, shipped))
        built[name] = cls(configs.get(name), **given)
        building.pop()
        return built[name]

    for name in classes:
        make(name)
    return built


def core_services(services: Services) -> dict[type[Any], object]:
    """What a cog may ask for by type in its constructor, besides other cogs' protocols."""
    return {
        BotConfig: services.config.bot,
        WebConfig: services.config.web,
        Database: services.db,
        Clock: services.clock,
        Scheduler: services.scheduler,
        Outbox: services.outbox,
        MemberService: services.members,
        SettingsService: services.settings,
        AuditService: services.audit,
        Dialogues: services.dialogues,
        Registry: services.registry,
        TextChecks: services.text_checks,
        Dispatcher: services.dispatcher,
        SharedSuggestions: services.suggestions,
        CalendarMirror: services.mirror,
        CogDirectory: CogDirectory(services),
    }


class CogDirectory:
    """The cogs of this process, for the cogs that speak about all of them: help headings
    and `about` (general), set-up notes (admin), `mydata` (privacy)."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._bare: dict[str, Cog] = {}

    def loaded(self) -> list[Cog]:
        """The loaded cogs, in the configured order (`general` first)."""
        return list(self._services.cogs.values())

    def heading(self, name: str) -> str:
        """The help heading of the cog called `name`: its description, or the name itself when
        no such cog is loaded. Hands out words, never the cog (no cog reaches another by name)."""
        cog = self._services.cogs.get(name)
        return cog.description if cog is not None else name

    def every_cog(self) -> list[Cog]:
        """Loaded cogs, plus a bare instance of each shipped cog that is switched off (their
        data is still exported and erased); one that cannot be built is logged and left out."""
        found = self.loaded()
        loaded = {c.name for c in found}
        for name in available_cogs():
            if name in loaded:
                continue
            if name not in self._bare:
                cls = cog_class(name)
                config = cls.Config() if cls.Config is not None else None
                try:
                    self._bare[name] = build({name: cls}, self._services, {name: config})[name]
                except Exception:
                    log.exception(
                        "could not prepare the switched-off cog %s for privacy work", name
                    )
                    continue
            found.append(self._bare[name])
        return found
