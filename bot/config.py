"""The config file: typed sections, every problem reported with its key, nothing half-started.

Every key is documented in config.example.toml. Secrets may come from environment variables
(named by the `*_env` keys) so the file can be shared without them.
"""

from __future__ import annotations

import difflib
import os
import tomllib
import types
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the config, named by its dotted key."""

    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


class ConfigError(Exception):
    """The config cannot be used; `problems` lists every reason."""

    def __init__(self, problems: list[ConfigProblem], source: str = "config") -> None:
        self.problems = problems
        self.source = source
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source} has {len(problems)} problem(s):\n{lines}")


@dataclass
class RateLimitConfig:
    """How many commands one member may send in a window."""

    commands: int = 10
    per_seconds: int = 30


@dataclass
class BotConfig:
    """General behaviour."""

    name: str = "circlebot"
    owners: list[str] = field(default_factory=list)
    timezone: str = "UTC"
    language: str = "en"
    log_level: str = "INFO"
    rate_limit: RateLimitConfig = field(default_factory=RateLimitConfig)
    # Days a community's data is kept after the bot is removed from it, then erased.
    removed_community_keep_days: int = 30


@dataclass
class DatabaseConfig:
    """Where data lives."""

    url: str = "sqlite+aiosqlite:///data/circlebot.sqlite3"
    auto_migrate: bool = False


@dataclass
class SecurityConfig:
    """Encryption keys for what members write; newest first."""

    encryption_keys: list[str] = field(default_factory=list)
    encryption_keys_env: str = "CIRCLEBOT_ENCRYPTION_KEYS"
    key_file: str = ""


@dataclass
class SchedulerConfig:
    """Timing of announcements, and how fast another process takes over the timed work."""

    grace_minutes: int = 15
    leader_poll_seconds: float = 5


@dataclass
class CogsConfig:
    """Which capabilities run, and their settings (`[cogs.NAME]` tables)."""

    enabled: list[str] = field(default_factory=lambda: ["general"])  # parse() default: all
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class DiscordConfig:
    """The Discord adapter."""

    enabled: bool = False
    token: str = ""
    token_env: str = "CIRCLEBOT_DISCORD_TOKEN"
    guild_ids: list[str] = field(default_factory=list)  # sync commands to these guilds at once
    shard_count: int = 0
    shard_ids: list[int] = field(default_factory=list)
    # Channel watch: read server messages (the privileged message-content intent, which must
    # also be switched on in the Developer Portal).
    message_content: bool = False

    def resolved_token(self) -> str:
        """The token from the file, else from the environment."""
        return self.token or os.environ.get(self.token_env, "")


@dataclass
class MatrixCommunityConfig:
    """A Matrix space, or a set of rooms, treated as one community."""

    id: str
    name: str = ""
    space: str = ""
    rooms: list[str] = field(default_factory=list)


@dataclass
class MatrixConfig:
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
    allowed_servers: list[str] = field(default_factory=list)
    facilitator_power: int = 25
    moderator_power: int = 50
    encrypt_dms: bool = True
    communities: list[MatrixCommunityConfig] = field(default_factory=list)

    def resolved_password(self) -> str:
        """The password from the file, else from the environment."""
        return self.password or os.environ.get(self.password_env, "")

    def resolved_token(self) -> str:
        """The access token from the file, else from the environment."""
        return self.access_token or os.environ.get(self.access_token_env, "")


@dataclass
class AppConfig:
    """The whole config file."""

    bot: BotConfig = field(default_factory=BotConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    cogs: CogsConfig = field(default_factory=CogsConfig)
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    matrix: MatrixConfig = field(default_factory=MatrixConfig)
    source: str = ""

    @property
    def platforms(self) -> list[str]:
        """The chat platforms switched on."""
        return [name for name in ("discord", "matrix") if getattr(self, name).enabled]


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is list:
        return f"a list of {_type_name(get_args(tp)[0])}s"
    if tp is str:
        return "a string"
    if tp is bool:
        return "true or false"
    if tp is int:
        return "a whole number"
    if tp is float:
        return "a number"
    if is_dataclass(tp):
        return "a table"
    return str(tp)


def _check_value(tp: Any, value: Any, key: str, problems: list[ConfigProblem]) -> Any:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _check_value(options[0], value, key, problems)
    if origin is dict or tp is Any:
        if origin is dict and not isinstance(value, dict):
            problems.append(ConfigProblem(key, f"must be a table, got {type(value).__name__}"))
        return value
    if origin is list:
        if not isinstance(value, list):
            problems.append(
                ConfigProblem(key, f"must be {_type_name(tp)}, got {type(value).__name__}")
            )
            return []
        inner = get_args(tp)[0]
        return [_check_value(inner, v, f"{key}[{i}]", problems) for i, v in enumerate(value)]
    if is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, dict):
            problems.append(ConfigProblem(key, f"must be a table, got {type(value).__name__}"))
            return tp()
        result, found = validate_section(tp, value, key)
        problems.extend(found)
        return result
    ok = (
        isinstance(value, bool)
        if tp is bool
        else isinstance(value, int) and not isinstance(value, bool)
        if tp is int
        else isinstance(value, (int, float)) and not isinstance(value, bool)
        if tp is float
        else isinstance(value, tp)
    )
    if not ok:
        problems.append(
            ConfigProblem(key, f"must be {_type_name(tp)}, got {type(value).__name__} {value!r}")
        )
    return value


def validate_section(
    cls: type[Any], data: dict[str, Any], prefix: str
) -> tuple[Any, list[ConfigProblem]]:
    """Build dataclass `cls` from a TOML table, collecting every problem."""
    problems: list[ConfigProblem] = []
    hints = get_type_hints(cls)
    names = [f.name for f in fields(cls) if f.name != "source"]
    values: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = (
                f" (did you mean `{close[0]}`?)" if close else f"; known keys: {', '.join(names)}"
            )
            problems.append(ConfigProblem(dotted, f"unknown key{hint}"))
            continue
        values[key] = _check_value(hints[key], value, dotted, problems)
    for f in fields(cls):
        if f.name not in values and f.default is MISSING and f.default_factory is MISSING:
            problems.append(ConfigProblem(f"{prefix}.{f.name}", "is required"))
    if problems:
        values = {
            k: v
            for k, v in values.items()
            if not any(p.key.startswith(f"{prefix}.{k}") for p in problems)
        }
        try:
            return cls(**values), problems
        except TypeError:
            return None, problems
    return cls(**values), problems


def parse(data: dict[str, Any], source: str = "config") -> AppConfig:
    """Validate a parsed TOML document; raise ConfigError listing every problem."""
    data = dict(data)
    cogs_table = dict(data.pop("cogs", {}) or {})
    from bot.core.loader import available_cogs, check_cog_settings

    enabled = cogs_table.pop("enabled", available_cogs())
    built, problems = validate_section(AppConfig, data, "")
    problems = [ConfigProblem(p.key.lstrip("."), p.message) for p in problems]
    config: AppConfig | None = built if isinstance(built, AppConfig) else None
    if config is None:
        raise ConfigError(problems, source)
    enabled_list = _check_value(list[str], enabled, "cogs.enabled", problems)
    config.cogs = CogsConfig(enabled=enabled_list, settings=cogs_table)
    config.source = source
    problems.extend(_cross_checks(config))
    problems.extend(check_cog_settings(config.cogs.enabled, config.cogs.settings))
    if problems:
        raise ConfigError(problems, source)
    return config


def _cross_checks(config: AppConfig) -> list[ConfigProblem]:
    """Rules that span keys: tokens for enabled platforms, zones, levels."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    problems: list[ConfigProblem] = []
    if config.discord.enabled and not config.discord.resolved_token():
        problems.append(
            ConfigProblem(
                "discord.token",
                "is required when discord.enabled = true (or set the environment variable "
                f"{config.discord.token_env})",
            )
        )
    m = config.matrix
    if m.enabled:
        if not m.homeserver.startswith(("https://", "http://")):
            problems.append(
                ConfigProblem("matrix.homeserver", "must be a URL like https://matrix.example.org")
            )
        if not (m.user_id.startswith("@") and ":" in m.user_id):
            problems.append(
                ConfigProblem(
                    "matrix.user_id", "must be a full Matrix id like @circlebot:example.org"
                )
            )
        if not (m.resolved_password() or m.resolved_token()):
            problems.append(
                ConfigProblem(
                    "matrix.password",
                    "a password or an access_token is required when matrix.enabled = true (or set "
                    f"{m.password_env} / {m.access_token_env})",
                )
            )
        if not 0 <= m.facilitator_power <= m.moderator_power:
            problems.append(
                ConfigProblem(
                    "matrix.facilitator_power", "must be between 0 and matrix.moderator_power"
                )
            )
        if not m.command_prefix or " " in m.command_prefix:
            problems.append(
                ConfigProblem("matrix.command_prefix", "must be a non-empty word such as !")
            )
    try:
        ZoneInfo(config.bot.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            ConfigProblem("bot.timezone", f"unknown time zone {config.bot.timezone!r}")
        )
    if config.bot.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        problems.append(ConfigProblem("bot.log_level", "must be DEBUG, INFO, WARNING or ERROR"))
    if not 1 <= config.bot.removed_community_keep_days <= 3650:
        problems.append(
            ConfigProblem("bot.removed_community_keep_days", "must be between 1 and 3650 days")
        )
    if config.bot.rate_limit.commands < 1 or config.bot.rate_limit.per_seconds < 1:
        problems.append(
            ConfigProblem("bot.rate_limit", "commands and per_seconds must be at least 1")
        )
    if config.scheduler.grace_minutes < 0:
        problems.append(ConfigProblem("scheduler.grace_minutes", "cannot be negative"))
    if config.scheduler.leader_poll_seconds <= 0:
        problems.append(ConfigProblem("scheduler.leader_poll_seconds", "must be more than 0"))
    for owner in config.bot.owners:
        if ":" not in owner:
            problems.append(
                ConfigProblem(
                    "bot.owners",
                    f"{owner!r} must look like discord:1234 or matrix:@me:example.org",
                )
            )
    return problems


def load(path: Path | None) -> AppConfig:
    """Read and validate a config file; a missing default file means all defaults."""
    if path is None:
        return parse({}, "defaults")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigProblem("(file)", f"{path} does not exist")], str(path)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([ConfigProblem("(syntax)", str(exc))], str(path)) from None
    return parse(data, str(path))
