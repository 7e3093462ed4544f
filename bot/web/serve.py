"""Running the site: uvicorn inside the bot's own event loop, stopped by the bot's stop event.

`circlebot web` serves the pages alone (the database opened for reading, no chat platform);
`circlebot run` serves them beside the adapters when `[web] enabled = true`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn

from bot.app import App
from bot.core.needs import PublicSchedule
from bot.platform import StartupError
from bot.web.site import Site, create_app

log = logging.getLogger(__name__)


def site_of(app: App) -> Site:
    """The site over an opened app: the schedule is the enabled cog that declares
    `PublicSchedule` (by inheritance, as the loader matches needs), or None."""
    schedule = next(
        (cog for cog in app.cogs.values() if PublicSchedule in type(cog).__mro__), None
    )
    return Site(
        config=app.config.web,
        communities=app.members,
        settings=app.settings,
        schedule=schedule if isinstance(schedule, PublicSchedule) else None,
        bot_name=app.config.bot.name,
    )


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the bot's stop event ends it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(app: App, stop: asyncio.Event, *, sock: socket.socket | None = None) -> None:
    """Serve the site on `[web] host:port` (or on `sock`, already bound) until `stop` is set.
    Behind a reverse proxy: X-Forwarded-* headers are believed from `forwarded_allow_ips`
    only. Raises `StartupError` when it cannot listen."""
    web = app.config.web
    config = uvicorn.Config(
        create_app(site_of(app)),
        host=web.host,
        port=web.port,
        proxy_headers=True,
        forwarded_allow_ips=web.forwarded_allow_ips,
        server_header=False,
        lifespan="off",
        log_config=None,
        access_log=False,
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock] if sock is not None else None))
    log.info(
        "public pages on http://%s:%s (public address %s)",
        web.host,
        web.port,
        web.base_url or "not set",
    )
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        server.should_exit = True
        stopped.cancel()
        try:
            await task
        except SystemExit:  # uvicorn exits when it cannot listen (address in use, no right)
            raise StartupError(
                f"the public pages cannot listen on {web.host}:{web.port} (see the log above)"
            ) from None
