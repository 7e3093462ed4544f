"""`circlebot`: run the bot, try it in the console, migrate, check a config, make a key."""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import json
import logging
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot import __version__, crypto, keycheck
from bot.app import App, StartupError, resolve_keys, sqlite_path
from bot.clock import Clock, SystemClock, VirtualClock
from bot.config import AppConfig, ConfigError
from bot.core.loader import LoadError
from bot.core.loader import read_config as load_config
from bot.db import DatabaseUnreachable
from bot.leader import ProcessView, StatusView
from bot.platform import Platform

DEFAULT_CONFIG = Path("config.toml")
DEFAULT_DB = Path("data/circlebot.sqlite3")
DB_HELP = (
    "a SQLite file, or a database URL such as postgresql+asyncpg://user@host/name, instead of "
    "database.url"
)

log = logging.getLogger("circlebot")


def build_parser() -> argparse.ArgumentParser:
    """The command line, with help on every subcommand."""
    parser = argparse.ArgumentParser(
        prog="circlebot",
        description="A peer-support chat bot for SMART-style mutual-help communities "
        "on Discord and Matrix. With no platform configured, `circlebot run` opens the console.",
    )
    parser.add_argument("--version", action="version", version=f"circlebot {__version__}")
    parser.add_argument(
        "--config", type=Path, help="config file (default: ./config.toml if it exists)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser(
        "run",
        help="start on the platforms enabled in the config (the console when none is)",
        description="Start the bot on Discord and/or Matrix as configured. With no platform "
        "enabled it starts the console on SQLite instead.",
    )
    console = sub.add_parser(
        "console",
        help="chat with the bot in this terminal, in one local community",
        description="A local chat: type !help. A line is `[@name] [dm] text`: without @name "
        "you type as 'you', a moderator; each @name starts as a member (`:tier NAME "
        "moderator` changes that). Lines starting with `:` are directives (:help, :tier, "
        ":tz, :advance, :quit). Reads piped input until EOF.",
    )
    console.add_argument(
        "--db",
        help=f"a SQLite file (default: {DEFAULT_DB}) or a database URL such as "
        "postgresql+asyncpg://user@host/name (its key then comes from the config, the "
        f"environment or {DEFAULT_DB.with_suffix('.key')})",
    )
    console.add_argument(
        "--clock",
        help="run on a virtual clock starting at this ISO 8601 time (e.g. "
        "2026-12-01T09:00:00Z); `:advance 1h` moves it",
    )
    console.add_argument(
        "--files", type=Path, default=Path("data/files"), help="where sent files are written"
    )
    sub.add_parser(
        "web",
        help="serve the public schedule pages and calendar feeds ([web] in the config)",
        description="Serve the pages of the communities whose moderators published them "
        "(settings set web.publish on) on [web] host:port, for a TLS reverse proxy in front. "
        "Reads the database only; no chat platform is connected.",
    )
    migrate = sub.add_parser(
        "migrate",
        help="bring the database schema up to date",
        description="Apply pending migrations to the configured database (back it up first).",
    )
    migrate.add_argument("--db", help=DB_HELP)
    check = sub.add_parser(
        "check-config",
        help="validate a config file and list every problem with its key",
        description="Read a config file and print every problem, each with its dotted key.",
    )
    check.add_argument("path", type=Path, nargs="?", help="the file (default: --config)")
    sub.add_parser(
        "generate-key",
        help="print a new encryption key for security.encryption_keys",
        description="Print a new Fernet key. Put it first in security.encryption_keys (or the "
        "CIRCLEBOT_ENCRYPTION_KEYS variable) and keep older keys after it until rotated.",
    )
    rotate = sub.add_parser(
        "rotate-key",
        help="re-encrypt all stored text with the newest key (safe to re-run)",
        description="Re-encrypt every encrypted column with the FIRST configured key, in "
        "batches. First put a new key (circlebot generate-key) in front of the old ones and "
        "restart the bot; after this reports nothing left, remove the old keys. Safe to run "
        "while the bot runs, and to run again after a crash.",
    )
    rotate.add_argument("--db", help=DB_HELP)
    rotate.add_argument("--batch", type=int, default=500, help="rows per transaction")
    export = sub.add_parser(
        "export-community",
        help="write every row of one community to a JSON file",
        description="Write every row tied to one community (settings, meetings, journals, "
        "...) to FILE. Encrypted text stays encrypted unless --decrypt; importing an "
        "encrypted export needs the same keys. Personal rows not tied to a community "
        "(profiles, toolboxes) are not included: members can use `mydata export`.",
    )
    export.add_argument("community_id", type=int, help="the community's database id")
    export.add_argument("file", type=Path, help="where to write the JSON")
    export.add_argument("--decrypt", action="store_true", help="write text in plain form")
    export.add_argument("--db", help=DB_HELP)
    status = sub.add_parser(
        "status",
        help="show running processes, timed work, the outbox backlog and the last error",
        description="Read the database: every running process (host, pid, heartbeat, "
        "platforms, whether it does timed work), pending outbox items, on PostgreSQL the queue "
        "of timed jobs (queued, overdue, running) and the last logged error. Exits 0 when a "
        "process doing timed work has a fresh heartbeat (PostgreSQL: one working the queue; "
        "SQLite: the leader), 1 otherwise (usable as a health check).",
    )
    status.add_argument("--db", help=DB_HELP)
    status.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object for supervisors (the same facts; same exit codes)",
    )
    invite = sub.add_parser(
        "invite-url",
        help="print the link that adds the bot to a Discord server, with the permissions it needs",
        description="Print the OAuth2 install link (scopes bot and applications.commands) with "
        "the permissions of the features in use: posting in bound channels, the Events tab "
        "mirror, and channel watch when discord.message_content is on. Open it as a server "
        "admin and pick the server.",
    )
    invite.add_argument(
        "--application-id",
        help="the Application ID from the Developer Portal (default: discord.application_id)",
    )
    imp = sub.add_parser(
        "import-community",
        help="add a community from an export-community file",
        description="Add the community in FILE to this database with fresh ids, in one "
        "transaction. Refuses a community that already exists here.",
    )
    imp.add_argument("file", type=Path, help="the JSON written by export-community")
    imp.add_argument("--db", help=DB_HELP)
    return parser


async def _maintenance(config: AppConfig, args: argparse.Namespace) -> int:
    from bot import maintenance

    url = database_url(args.db, config)
    db_file = sqlite_path(url)
    console_keys = (
        db_file.with_suffix(".key") if db_file and db_file.with_suffix(".key").exists() else None
    )
    keys = resolve_keys(config, console_key_file=console_keys)
    crypto.use_keys(keys.keys)
    app = App(config, db_url=url)
    try:
        status = await app.db.status()
        if not status.up_to_date:
            raise StartupError(
                f"The database {app.db.display_url} is not up to date; run `circlebot migrate`."
            )
        try:
            await keycheck.verify(app.db, source=keys.description)
        except keycheck.KeyMismatch as exc:
            raise StartupError(str(exc)) from None
        if args.command == "rotate-key":
            if len(keys.keys) < 2:
                print(
                    "Only one key is configured, so there is nothing older to move away from. "
                    "Put a new key (circlebot generate-key) in front of it first.",
                    file=sys.stderr,
                )
            report = await maintenance.rotate_keys(
                app.db, keys.keys, batch=max(1, args.batch), progress=log.info
            )
            print(
                f"Re-encrypted {report.rotated} values; {report.current} were already under "
                f"the newest key; {report.changed_meanwhile} changed meanwhile. Nothing is left "
                "under older keys: you can remove them from the configuration."
            )
            return 0
        if args.command == "export-community":
            try:
                data = await maintenance.export_community(
                    app.db, args.community_id, decrypt=args.decrypt
                )
            except LookupError as exc:
                raise StartupError(str(exc)) from None
            maintenance.write_json(args.file, data)
            rows = sum(len(v) for v in data["tables"].values())
            print(f"Wrote {rows} rows to {args.file}. {data['note']}")
            return 0
        try:
            payload = json.loads(args.file.read_text())
            report_ = await maintenance.import_community(app.db, payload)
        except (OSError, ValueError, KeyError, crypto.KeyringError) as exc:
            raise StartupError(f"cannot import {args.file}: {exc}") from None
        print(
            f"Imported as community id {report_.community_id}: {sum(report_.rows.values())} rows."
        )
        return 0
    finally:
        await app.db.close()


def _ago(now: datetime, then: datetime) -> str:
    seconds = int((now - then).total_seconds())
    if abs(seconds) < 120:
        span = f"{abs(seconds)}s"
    elif abs(seconds) < 7200:
        span = f"{abs(seconds) // 60}m"
    else:
        span = f"{abs(seconds) // 3600}h"
    return f"{span} ago" if seconds >= 0 else f"in {span}"


def _utc(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


async def _status(config: AppConfig, args: argparse.Namespace) -> int:
    from sqlalchemy.exc import DBAPIError

    from bot.db import Database, reaching, utcnow
    from bot.leader import read_status

    url = database_url(args.db, config)
    db_file = sqlite_path(url) if args.db else None
    if db_file is not None and not db_file.exists():
        raise StartupError(f"{args.db} does not exist")
    db = Database(url)
    try:
        with reaching(db.display_url):
            view = await read_status(db.sessions)
    except DatabaseUnreachable as exc:
        if args.json:
            print(json.dumps(status_json_unreachable(db.display_url, exc.reason)))
        raise
    except DBAPIError:
        problem = (
            f"cannot read the status of {db.display_url}; is it migrated (`circlebot migrate`)?"
        )
        if args.json:
            print(json.dumps(status_json_unreachable(db.display_url, problem, reachable=True)))
        raise StartupError(problem) from None
    finally:
        await db.close()
    now = utcnow()
    if args.json:
        print(json.dumps(status_json(db.display_url, view, now), indent=2))
        return 0 if view.workers(now) else 1
    return _print_status(db.display_url, view, now)


def status_json(display_url: str, view: StatusView, now: datetime) -> dict[str, Any]:
    """`circlebot status --json`: what a supervisor checks, as one JSON object.

    Keys: `healthy` (a process doing timed work has a fresh heartbeat: on PostgreSQL one
    that works the shared queue of timed jobs, on SQLite the leader), `database` (`url`
    without password, `reachable`, `problem`), `timed_work_by` (the first such process, or
    null: on PostgreSQL every live process takes timed jobs, none leads), `processes` (each:
    id, host, pid, started_at and heartbeat_at as ISO 8601 UTC, heartbeat_age_seconds, fresh,
    does_timed_work, platforms: name -> connected),
    `outbox` (pending, oldest_due, failed, skipped, retracting: counts of items; last_failure,
    last_skip: the newest such item as "<key> (due <UTC time>): <reason>", or null), `timed_jobs`
    (PostgreSQL: workers, the live processes working the queue; queued; overdue, queued and
    due over a minute ago; running; next_due as ISO 8601 UTC or null; null on SQLite) and
    `last_error` (where and what kind, never a member's words) or null.
    """

    def process(p: ProcessView) -> dict[str, Any]:
        return {
            "id": p.id,
            "host": p.host,
            "pid": p.pid,
            "started_at": p.started_at.astimezone(UTC).isoformat(),
            "heartbeat_at": p.heartbeat_at.astimezone(UTC).isoformat(),
            "heartbeat_age_seconds": round((now - p.heartbeat_at).total_seconds(), 1),
            "fresh": p.fresh(now),
            "does_timed_work": p.leader,
            "platforms": dict(p.platforms),
        }

    leader = view.leader(now)
    last = view.last_error()
    return {
        "healthy": leader is not None,
        "database": {"url": display_url, "reachable": True, "problem": None},
        "timed_work_by": process(leader) if leader is not None else None,
        "processes": [process(p) for p in view.processes],
        "outbox": {
            "pending": view.pending,
            "oldest_due": view.oldest_due.astimezone(UTC).isoformat() if view.oldest_due else None,
            "failed": view.failed,
            "last_failure": view.last_failure or None,
            "skipped": view.skipped,
            "last_skip": view.last_skip or None,
            "retracting": view.retracting,
        },
        "timed_jobs": None
        if view.jobs is None
        else {
            "workers": len(view.workers(now)),
            "queued": view.jobs.queued,
            "overdue": view.jobs.overdue,
            "running": view.jobs.running,
            "next_due": view.jobs.next_due.astimezone(UTC).isoformat()
            if view.jobs.next_due
            else None,
        },
        "last_error": None
        if last is None
        else {"host": last[0].host, "pid": last[0].pid, **last[1]},
    }


def status_json_unreachable(
    display_url: str, problem: str, *, reachable: bool = False
) -> dict[str, Any]:
    """`circlebot status --json` when the database cannot be read: unhealthy, and why."""
    return {
        "healthy": False,
        "database": {"url": display_url, "reachable": reachable, "problem": problem},
        "timed_work_by": None,
        "processes": [],
        "outbox": None,
        "timed_jobs": None,
        "last_error": None,
    }


def _print_status(display_url: str, view: StatusView, now: datetime) -> int:
    from bot.leader import FRESH_SECONDS

    db_display_url = display_url
    print(f"Database: {db_display_url}")
    print(f"Processes: {len(view.processes)}")
    for p in view.processes:
        if view.jobs is not None:
            role = "worker  " if p.leader else "idle    "
        else:
            role = "leader  " if p.leader else "follower"
        beat = _ago(now, p.heartbeat_at) + ("" if p.fresh(now) else " (stale)")
        platforms = (
            ", ".join(
                f"{n} {'connected' if ok else 'not connected'}" for n, ok in p.platforms.items()
            )
            or "none"
        )
        print(
            f"  {role} {p.host} pid {p.pid}  started {_utc(p.started_at)}  heartbeat {beat}  "
            f"platforms: {platforms}"
        )
    oldest = (
        f", oldest due {_utc(view.oldest_due)} ({_ago(now, view.oldest_due)})"
        if view.oldest_due
        else ""
    )
    print(f"Outbox: {view.pending} pending{oldest}")
    if view.failed:
        print(f"Outbox: {view.failed} failed (not delivered); the last: {view.last_failure}")
    if view.skipped:
        print(
            f"Outbox: {view.skipped} skipped (could not be sent in time: the bot was down, or "
            f"they were planned too late); the last: {view.last_skip}"
        )
    if view.retracting:
        print(
            f"Outbox: {view.retracting} posted message(s) still to delete on the platform "
            "(what they carried was deleted; retried until the platform allows it)"
        )
    last = view.last_error()
    if last is None:
        print("Last error: none reported")
    else:
        proc, err = last
        kind = f" ({err['type']})" if err.get("type") else ""
        print(
            f"Last error: {err.get('at', '?')} on {proc.host} pid {proc.pid}: "
            f"{err.get('logger', '?')}: {err.get('what', '')}{kind}"
        )
    if view.jobs is not None:
        return _print_queue(view, now)
    leader = view.leader(now)
    if leader is None:
        print(
            f"Leader: none with a heartbeat in the last {int(FRESH_SECONDS)}s; announcements "
            "and reminders are not being sent."
        )
        return 1
    print(f"Leader: {leader.host} pid {leader.pid}, heartbeat {_ago(now, leader.heartbeat_at)}.")
    return 0


def _print_queue(view: StatusView, now: datetime) -> int:
    """The shared queue of timed jobs (PostgreSQL); 1 when no live process works it."""
    from bot.leader import FRESH_SECONDS, OVERDUE_SECONDS

    assert view.jobs is not None
    jobs = view.jobs
    upcoming = (
        f", next due {_utc(jobs.next_due)} ({_ago(now, jobs.next_due)})" if jobs.next_due else ""
    )
    print(
        f"Timed jobs: {jobs.queued} queued, {jobs.overdue} overdue (due over "
        f"{int(OVERDUE_SECONDS)}s ago), {jobs.running} running{upcoming}"
    )
    workers = view.workers(now)
    if not workers:
        print(
            f"Timed jobs: no process with a heartbeat in the last {int(FRESH_SECONDS)}s works "
            "the queue; announcements and reminders are not being sent."
        )
        return 1
    print(f"Timed jobs: worked by {len(workers)} live process(es), none leads.")
    return 0


def _config(path: Path | None) -> AppConfig:
    if path is None and DEFAULT_CONFIG.exists():
        path = DEFAULT_CONFIG
    return load_config(path)


def _setup_logging(verbose: bool, level: str, console: bool) -> None:
    chosen = logging.DEBUG if verbose else (logging.WARNING if console else logging.INFO)
    if not verbose and not console:
        chosen = getattr(logging, level.upper(), logging.INFO)
    logging.basicConfig(
        level=chosen,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    quiet_libraries()


def quiet_libraries() -> None:
    """Keep libraries that log SQL parameters or payloads (member text) out of the logs."""
    for noisy in ("apscheduler", "aiosqlite", "alembic", "sqlalchemy.engine", "nio", "discord"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _clock(text: str | None) -> Clock:
    if not text:
        return SystemClock()
    try:
        start = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise StartupError(
            f"--clock: {text!r} is not an ISO 8601 time such as 2026-12-01T09:00:00Z"
        ) from None
    if start.tzinfo is None:
        raise StartupError("--clock needs a time zone, e.g. 2026-12-01T09:00:00Z")
    return VirtualClock(start)


def database_url(given: str | None, config: AppConfig) -> str:
    """The URL a maintenance command (`migrate`, `status`, ...) works on: `given` as a database
    URL when it has `://`, else as a SQLite file path; None means `database.url`."""
    if not given:
        return config.database.url
    return given if "://" in given else f"sqlite+aiosqlite:///{given}"


def console_database(given: str | None, config: AppConfig) -> tuple[str, Path]:
    """The console's database URL and the path its key file sits next to.

    `given` is a SQLite file path or a database URL (anything with `://`); None means the
    configured SQLite file, else the default one.
    """
    if given and "://" in given:
        return given, DEFAULT_DB
    db_path = Path(given) if given else (sqlite_path(config.database.url) or DEFAULT_DB)
    return f"sqlite+aiosqlite:///{db_path}", db_path


async def _console(config: AppConfig, args: argparse.Namespace) -> int:
    from bot.adapters.console import ConsoleAdapter, utf8_stdio

    url, db_path = console_database(getattr(args, "db", None), config)
    server = "://" in url.removeprefix("sqlite+aiosqlite://")
    keys = resolve_keys(
        config,
        console_key_file=db_path.with_suffix(".key"),
        # a database URL never gets a new key here: it may well hold data under another one
        create=not server and not keycheck.sqlite_holds_encrypted_data(db_path),
        database_url=server,
    )
    crypto.use_keys(keys.keys)
    if keys.created:
        print(
            f"Created a new encryption key in {db_path.with_suffix('.key')} (readable only "
            "by you). Keep it: without it, saved entries cannot be read.",
            file=sys.stderr,
        )
    app = App(config, clock=_clock(getattr(args, "clock", None)), db_url=url)
    app.key_source = keys.description
    utf8_stdio()
    adapter = ConsoleAdapter(
        app, files_dir=getattr(args, "files", Path("data/files")), interactive=sys.stdin.isatty()
    )
    stop = asyncio.Event()
    _on_signals(stop)
    try:
        await app.open(migrate=True)
        await app.start(freeze_gc=True)
        freeze_after_start()
        await adapter.run(stop)
    finally:
        await app.close()
    return 0


async def _run(config: AppConfig, args: argparse.Namespace) -> int:
    if not config.platforms:
        print("No platform is enabled in the config, so here is the console.", file=sys.stderr)
        return await _console(config, args)
    keys = resolve_keys(config, console_key_file=None)
    crypto.use_keys(keys.keys)
    app = App(config)
    app.key_source = keys.description
    await app.open(migrate=False)
    adapters: list[Platform] = []
    for platform in config.platforms:
        module = importlib.import_module(f"bot.adapters.{platform}")
        adapter: Platform = module.create(app)
        adapters.append(adapter)
    stop = asyncio.Event()
    _on_signals(stop)
    try:
        # inside: a start-up that fails after the cogs started still stops them and closes
        await app.start(freeze_gc=True)
        freeze_after_start()
        async with asyncio.TaskGroup() as group:
            for adapter in adapters:
                group.create_task(adapter.run(stop))
            if config.web.enabled:
                from bot.web.serve import serve  # Starlette and uvicorn load only when used

                group.create_task(serve(app, stop))
    except ExceptionGroup as failed:  # an adapter's StartupError is one line, not a traceback
        first = failed.exceptions[0]
        if len(failed.exceptions) == 1 and isinstance(first, StartupError):
            raise first from None
        raise
    finally:
        await app.close()
    print("Stopped cleanly.", file=sys.stderr)
    return 0


def freeze_after_start() -> None:
    """Move every object alive after start-up out of the garbage collector's reach.

    Modules, the command registry, the config and the compiled crisis phrase lists live as long
    as the process; `gc.freeze()` keeps each later full collection from walking them again
    (benchmarks/discord_interactions.py measures the bot with and without it). The collection
    first drops start-up garbage, so none of it is kept for good.
    """
    gc.collect()
    gc.freeze()


def _on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


async def _web(config: AppConfig, args: argparse.Namespace) -> int:
    from bot.web.serve import serve  # Starlette and uvicorn load only when used

    if not config.web.base_url:
        print(
            "web.base_url is not set: feed links will be relative to the request.",
            file=sys.stderr,
        )
    # A SQLite database the console made has its key beside it (data/circlebot.key): the
    # pages read that database, so they read that key too (never make a new one).
    db_file = sqlite_path(config.database.url)
    beside = db_file.with_suffix(".key") if db_file else None
    keys = resolve_keys(
        config, console_key_file=beside if beside and beside.exists() else None, create=False
    )
    crypto.use_keys(keys.keys)
    app = App(config)
    app.key_source = keys.description
    await app.open(migrate=False, claim=False)
    stop = asyncio.Event()
    _on_signals(stop)
    try:
        await serve(app, stop)
    finally:
        await app.db.close()
    print("Stopped cleanly.", file=sys.stderr)
    return 0


async def _migrate(config: AppConfig, args: argparse.Namespace) -> int:
    url = database_url(args.db, config)
    app = App(config, db_url=url)
    try:
        before = await app.db.status()
        after = await app.db.migrate()
    finally:
        await app.db.close()
    if before.current == after.current:
        print(f"{app.db.display_url} is already up to date ({after.describe_current}).")
    else:
        print(
            f"Migrated {app.db.display_url} from {before.describe_current} to "
            f"{after.describe_current}."
        )
    return 0


def _invite_url(config: AppConfig, args: argparse.Namespace) -> int:
    """Print the install link; a missing or malformed id is a message on stderr and exit 2."""
    from bot.adapters.discord.invite import invite_url

    given: str | None = args.application_id
    application_id = (given if given is not None else config.discord.application_id).strip()
    if not application_id:
        print(
            "circlebot invite-url: no application id. Pass --application-id ID or set "
            "discord.application_id in the config (the Developer Portal shows it under "
            "General Information).",
            file=sys.stderr,
        )
        return 2
    if not (application_id.isascii() and application_id.isdigit()):
        where = "--application-id" if given is not None else "discord.application_id"
        print(
            f"circlebot invite-url: {where} {application_id!r} is not an application id "
            "(digits only, as shown under General Information in the Developer Portal).",
            file=sys.stderr,
        )
        return 2
    print(invite_url(int(application_id), config.discord))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `circlebot` command."""
    args = build_parser().parse_args(argv)
    command = args.command or "run"
    try:
        if command == "generate-key":
            print(crypto.generate_key())
            return 0
        if command == "check-config":
            path = args.path or args.config or DEFAULT_CONFIG
            config = load_config(path)
            platforms = ", ".join(config.platforms) or "none (the console)"
            print(f"{path}: OK. Platforms: {platforms}. Cogs: {', '.join(config.cogs.enabled)}.")
            return 0
        config = _config(args.config)
        if command == "invite-url":
            return _invite_url(config, args)
        _setup_logging(
            args.verbose,
            config.bot.log_level,
            console=command in {"console", "status"} or not config.platforms,
        )
        if command == "migrate":
            return asyncio.run(_migrate(config, args))
        if command == "status":
            return asyncio.run(_status(config, args))
        if command in {"rotate-key", "export-community", "import-community"}:
            return asyncio.run(_maintenance(config, args))
        if command == "console":
            return asyncio.run(_console(config, args))
        if command == "web":
            return asyncio.run(_web(config, args))
        return asyncio.run(_run(config, args))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except DatabaseUnreachable as exc:
        print(f"circlebot {command}: {exc}", file=sys.stderr)
        return 1
    except (StartupError, LoadError, crypto.KeyringError) as exc:
        print(f"circlebot cannot start: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
