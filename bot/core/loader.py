"""Load the cogs named in config, validate their settings, register their commands."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Any

import cogs
from bot import config
from bot.config import AppConfig
from bot.core.cog import Cog, Services
from bot.core.needs import MissingProvider, missing_message, needs_of
from bot.schema import Locator, Problem, validate


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
    for hook in ("delete_user_data", "export_user_data"):
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
        given: dict[str, Any] = {}
        for need in needs_of(cls):
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
        built[name] = cls(services, configs.get(name), **given)
        building.pop()
        return built[name]

    for name in classes:
        make(name)
    return built
