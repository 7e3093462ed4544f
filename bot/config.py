"""The config file: typed sections, every problem reported with its line and key, nothing
half-started.

Every key is documented in config.example.toml. Secrets may come from environment variables
(named by the `*_env` keys) so the file can be shared without them. The shapes are
`bot.schema.Section` models: pydantic checks types and unknown keys; the rules that span keys
are `_cross_checks`.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Protocol

from pydantic import Field

from bot.schema import (
    Locator,
    Problem,
    SchemaError,
    Section,
    dotted,
    readable,
    syntax_problem,
    validate_partial,
    value_as,
)


class ConfigError(SchemaError):
    """The config cannot be used; `problems` lists every reason, with its line and key."""

    def __init__(self, problems: list[Problem], source: str = "config") -> None:
        super().__init__(problems, source)
        lines = "\n".join(f"  - {p.local()}" for p in self.problems)
        self.args = (f"{source} has {len(self.problems)} problem(s):\n{lines}",)

    def __str__(self) -> str:
        return str(self.args[0])


class RateLimitConfig(Section):
    """How many commands one member may send in a window."""

    commands: int = 10
    per_seconds: int = 30


class BotConfig(Section):
    """General behaviour."""

    name: str = "circlebot"
    owners: list[str] = Field(default_factory=list)
    timezone: str = "UTC"
    language: str = "en"
    log_level: str = "INFO"
    rate_limit: RateLimitConfig = Field(default_factory=RateLimitConfig)
    # Days a community's data is kept after the bot is removed from it, then erased.
    removed_community_keep_days: int = 30


class DatabaseConfig(Section):
    """Where data lives."""

    url: str = "sqlite+aiosqlite:///data/circlebot.sqlite3"
    auto_migrate: bool = False


class SecurityConfig(Section):
    """Encryption keys for what members write; newest first."""

    encryption_keys: list[str] = Field(default_factory=list)
    encryption_keys_env: str = "CIRCLEBOT_ENCRYPTION_KEYS"
    key_file: str = ""


class SchedulerConfig(Section):
    """Timing of announcements, and how fast another process takes over the timed work."""

    grace_minutes: int = 15
    leader_poll_seconds: float = 5
    # How long a delivery pass holds the items it claimed before another process may take them
    # (renewed while it works); a process paused longer sends nothing more of them. On
    # PostgreSQL also how long a running timed job's heartbeat may be silent before another
    # process takes the job (its process died or froze).
    lease_seconds: float = 60


class CogsConfig(Section):
    """Which capabilities run, and their settings (`[cogs.NAME]` tables)."""

    enabled: list[str] = Field(default_factory=lambda: ["general"])  # parse() default: all
    settings: dict[str, Any] = Field(default_factory=dict)


class DiscordConfig(Section):
    """The Discord adapter."""

    enabled: bool = False
    token: str = ""
    token_env: str = "CIRCLEBOT_DISCORD_TOKEN"
    # The Developer Portal's Application ID, for `circlebot invite-url` (digits; optional).
    application_id: str = ""
    guild_ids: list[str] = Field(default_factory=list)  # sync commands to these guilds at once
    shard_count: int = 0
    shard_ids: list[int] = Field(default_factory=list)
    # Channel watch: read server messages (the privileged message-content intent, which must
    # also be switched on in the Developer Portal).
    message_content: bool = False

    def resolved_token(self) -> str:
        """The token from the file, else from the environment."""
        return self.token or os.environ.get(self.token_env, "")


class MatrixCommunityConfig(Section):
    """A Matrix space, or a set of rooms, treated as one community."""

    id: str
    name: str = ""
    space: str = ""
    rooms: list[str] = Field(default_factory=list)


class MatrixConfig(Section):
    """The Matrix adapter."""

    enabled: bool = False
    homeserver: str = ""
    user_id: str = ""
    password: str = ""
    password_env: str = "CIRCLEBOT_MATRIX_PASSWORD"
    access_token: str = ""
    access_token_env: str = "CIRCLEBOT_MATRIX_TOKEN"
    device_id: str = ""
    device_name: str = "circlebot"
    store_path: str = "data/matrix-store"
    command_prefix: str = "!"
    allowed_servers: list[str] = Field(default_factory=list)
    facilitator_power: int = 25
    moderator_power: int = 50
    encrypt_dms: bool = True
    communities: list[MatrixCommunityConfig] = Field(default_factory=list)

    def resolved_password(self) -> str:
        """The password from the file, else from the environment."""
        return self.password or os.environ.get(self.password_env, "")

    def resolved_token(self) -> str:
        """The access token from the file, else from the environment."""
        return self.access_token or os.environ.get(self.access_token_env, "")


class WebConfig(Section):
    """The public schedule pages and calendar feeds (`circlebot web`, or inside `circlebot run`
    when enabled). Meant to sit behind a TLS reverse proxy: `base_url` is the public https
    address the proxy answers on, `host`/`port` where this process listens for the proxy."""

    enabled: bool = False  # also serve the pages inside `circlebot run`
    base_url: str = ""  # e.g. https://meetings.example.org (no trailing slash needed)
    host: str = "127.0.0.1"
    port: int = 8080
    # Addresses of the reverse proxy whose X-Forwarded-For / -Proto headers are believed.
    forwarded_allow_ips: list[str] = Field(default_factory=lambda: ["127.0.0.1"])

    def page_path(self, community_id: int) -> str:
        """The path of a community's schedule page: `/c/<id>/`."""
        return f"/c/{community_id}/"

    def page_url(self, community_id: int) -> str:
        """The public address of a community's schedule page (`base_url` + its path)."""
        return self.base_url.rstrip("/") + self.page_path(community_id)

    def feed_url(self, community_id: int, *, webcal: bool = False) -> str:
        """The address of a community's calendar feed; `webcal` gives the webcal:// form
        calendar apps subscribe to (RFC-less convention: the https URL with another scheme)."""
        url = self.page_url(community_id) + "calendar.ics"
        if webcal:
            return "webcal://" + url.split("://", 1)[-1]
        return url


class FileConfig(Section):
    """The tables of the file itself (`[cogs]` is read apart: its sub-tables are per cog)."""

    bot: BotConfig = Field(default_factory=BotConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    security: SecurityConfig = Field(default_factory=SecurityConfig)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    discord: DiscordConfig = Field(default_factory=DiscordConfig)
    matrix: MatrixConfig = Field(default_factory=MatrixConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    cogs: dict[str, Any] = Field(default_factory=dict)


class AppConfig(FileConfig):
    """The whole config, as the bot uses it."""

    cogs: CogsConfig = Field(default_factory=CogsConfig)  # type: ignore[assignment]
    source: str = ""

    @property
    def platforms(self) -> list[str]:
        """The chat platforms switched on."""
        return [name for name in ("discord", "matrix") if getattr(self, name).enabled]


class CogCatalog(Protocol):
    """The cogs a config may enable, and the check of their settings.

    The config does not know the cogs; the loader (`bot.core.loader.SHIPPED`) does, and is
    handed in, so reading the config imports no cog.
    """

    def names(self) -> list[str]:
        """Every cog that can be enabled (the default for `cogs.enabled`)."""

    def check(
        self, enabled: list[str], settings: dict[str, Any], *, file: str, locator: Locator | None
    ) -> list[Problem]:
        """Problems with `[cogs]`: unknown names and each cog's own settings."""


def parse(
    data: dict[str, Any],
    source: str = "config",
    locator: Locator | None = None,
    *,
    cogs: CogCatalog,
) -> AppConfig:
    """Validate a parsed TOML document; raise ConfigError listing every problem.

    `locator` (from the file's text) gives each problem its line; `cogs` checks `[cogs]`.
    """
    file = source
    built, problems = validate_partial(FileConfig, data, file=file, locator=locator)
    if built is None:
        raise ConfigError(problems, source)
    cogs_table = dict(built.cogs)
    enabled: Any = cogs_table.pop("enabled", cogs.names())
    try:
        enabled = value_as(list[str], enabled)
    except ValueError:
        where = ("cogs", "enabled")
        line = locator.line(where) if locator else None
        problems.append(Problem(file, line, dotted(where), "must be a list of texts"))
        enabled = []
    config = AppConfig(
        **{name: getattr(built, name) for name in FileConfig.model_fields if name != "cogs"},
        cogs=CogsConfig(enabled=enabled, settings=cogs_table),
        source=source,
    )
    problems.extend(
        Problem(file, locator.line(key.split(".")) if locator else None, key, message)
        for key, message in _cross_checks(config)
    )
    problems.extend(_duplicate_communities(config, file, locator))
    problems.extend(
        cogs.check(config.cogs.enabled, config.cogs.settings, file=file, locator=locator)
    )
    if problems:
        raise ConfigError(problems, source)
    return config


def _duplicate_communities(config: AppConfig, file: str, locator: Locator | None) -> list[Problem]:
    """A Matrix community id written twice (a copied table): rooms would be merged unseen."""
    first: dict[str, int] = {}
    out: list[Problem] = []
    for index, community in enumerate(config.matrix.communities):
        if community.id not in first:
            first[community.id] = index
            continue
        path = ("matrix", "communities", index, "id")
        message = f"is used twice (first in community {first[community.id] + 1})"
        key = readable(path[1:], config.matrix)
        out.append(
            Problem(file, locator.line(path) if locator else None, f"matrix.{key}", message)
        )
    return out


def _cross_checks(config: AppConfig) -> list[tuple[str, str]]:
    """(key, message) for rules that span keys: tokens for enabled platforms, zones, levels."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    problems: list[tuple[str, str]] = []
    if config.discord.enabled and not config.discord.resolved_token():
        problems.append(
            (
                "discord.token",
                "is required when discord.enabled = true (or set the environment variable "
                f"{config.discord.token_env})",
            )
        )
    m = config.matrix
    if m.enabled:
        if not m.homeserver.startswith(("https://", "http://")):
            problems.append(("matrix.homeserver", "must be a URL like https://matrix.example.org"))
        if not (m.user_id.startswith("@") and ":" in m.user_id):
            problems.append(
                ("matrix.user_id", "must be a full Matrix id like @circlebot:example.org")
            )
        if not (m.resolved_password() or m.resolved_token()):
            problems.append(
                (
                    "matrix.password",
                    "a password or an access_token is required when matrix.enabled = true (or set "
                    f"{m.password_env} / {m.access_token_env})",
                )
            )
        if not 0 <= m.facilitator_power <= m.moderator_power:
            problems.append(
                ("matrix.facilitator_power", "must be between 0 and matrix.moderator_power")
            )
        if not m.command_prefix or " " in m.command_prefix:
            problems.append(("matrix.command_prefix", "must be a non-empty word such as !"))
    web = config.web
    if web.base_url and not web.base_url.startswith(("https://", "http://")):
        problems.append(("web.base_url", "must be a URL like https://meetings.example.org"))
    if web.enabled and not web.base_url:
        problems.append(
            ("web.base_url", "is required when web.enabled = true (the address people open)")
        )
    if not 1 <= web.port <= 65535:
        problems.append(("web.port", "must be between 1 and 65535"))
    try:
        ZoneInfo(config.bot.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(("bot.timezone", f"unknown time zone {config.bot.timezone!r}"))
    if config.bot.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        problems.append(("bot.log_level", "must be DEBUG, INFO, WARNING or ERROR"))
    if not 1 <= config.bot.removed_community_keep_days <= 3650:
        problems.append(("bot.removed_community_keep_days", "must be between 1 and 3650 days"))
    if config.bot.rate_limit.commands < 1 or config.bot.rate_limit.per_seconds < 1:
        problems.append(("bot.rate_limit", "commands and per_seconds must be at least 1"))
    if config.scheduler.grace_minutes < 0:
        problems.append(("scheduler.grace_minutes", "cannot be negative"))
    if config.scheduler.leader_poll_seconds <= 0:
        problems.append(("scheduler.leader_poll_seconds", "must be more than 0"))
    if config.scheduler.lease_seconds < 5:
        problems.append(("scheduler.lease_seconds", "must be at least 5"))
    for owner in config.bot.owners:
        if ":" not in owner:
            problems.append(
                (
                    "bot.owners",
                    f"{owner!r} must look like discord:1234 or matrix:@me:example.org",
                )
            )
    return problems


def load(path: Path | None, *, cogs: CogCatalog) -> AppConfig:
    """Read and validate a config file; a missing default file means all defaults.

    Raises:
        ConfigError: the file is missing, not TOML, or breaks the schema (every problem).
    """
    if path is None:
        return parse({}, "defaults", cogs=cogs)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [Problem(str(path), None, "(file)", f"{path} does not exist")], str(path)
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([syntax_problem(exc, str(path))], str(path)) from None
    return parse(data, str(path), Locator(text), cogs=cogs)
