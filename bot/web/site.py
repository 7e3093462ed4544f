"""The public schedule as a small ASGI app: a page per published community, a page per
meeting, and a subscribable iCalendar feed.

Starlette routes and Jinja2 templates (autoescaped: every title and label a member wrote is
escaped); meetings come through `bot.core.PublicSchedule`, which the meetings cog provides, never
from its tables. A community that has not published (`settings set web.publish on`), or that
does not exist, gets the same plain 404, so the pages reveal nothing about it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.config import WebConfig
from bot.core.context import CommunityInfo
from bot.core.needs import PublicOccurrence, PublicSchedule
from bot.i18n import _, ngettext, using_language

HERE = Path(__file__).resolve().parent
SCOPE = "web"  # settings scope: `publish` and `rsvp_counts` (admin cog's `web.*` keys)
UPCOMING = 20  # occurrences on a community's page
PER_MEETING = 8  # occurrences on a meeting's page
# Same-origin scripts and styles only, nothing framed, nothing sent elsewhere.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "cross-origin-opener-policy": "same-origin",
}
HSTS = "max-age=31536000"
_STAMP = re.compile(rb"^DTSTAMP[:;][^\r\n]*\r?\n", re.MULTILINE)
# Row ids are 64-bit signed integers in SQLite and PostgreSQL; a longer number in a URL is no
# row, and handing it to the database would fail (500) instead of the plain 404.
ID_MAX = 2**63 - 1

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Communities(Protocol):
    """The slice of the members service the site reads."""

    async def community_by_id(self, community_id: int) -> CommunityInfo | None:
        """The community, or None."""
        ...


class Settings(Protocol):
    """The slice of the settings service the site reads."""

    async def get(self, community_id: int, scope: str, key: str, default: Any = None) -> Any:
        """A stored value, or `default`."""
        ...


@dataclass(frozen=True)
class Site:
    """Everything the pages read: the web config, communities, settings, the schedule (None
    when the meetings cog is not enabled: every page is then a 404)."""

    config: WebConfig
    communities: Communities
    settings: Settings
    schedule: PublicSchedule | None
    bot_name: str = "circlebot"


class SecureHeaders:
    """Adds the security headers to every response (pure ASGI, so streamed files get them
    too); HSTS only when the public address is https."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.extra = [(k.encode(), v.encode()) for k, v in HEADERS.items()]
        if hsts:
            self.extra.append((b"strict-transport-security", HSTS.encode()))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + self.extra
            await send(message)

        await self.app(scope, receive, with_headers)


def environment() -> Environment:
    """Jinja2 with autoescape on for every template and gettext from the bot's catalog."""
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_, ngettext=ngettext, newstyle=True
    )
    return env


def length_text(minutes: int) -> str:
    """`1 hour 30 minutes`: a meeting's length in words."""
    hours, rest = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(ngettext("%(num)d hour", "%(num)d hours", hours) % {"num": hours})
    if rest or not hours:
        parts.append(ngettext("%(num)d minute", "%(num)d minutes", rest) % {"num": rest})
    return " ".join(parts)


@dataclass(frozen=True)
class Moment:
    """A time as the page shows it: ISO UTC for the browser, words in the community's zone."""

    iso: str
    text: str


def moment(when: datetime, zone: ZoneInfo, language: str) -> Moment:
    """`when` (aware) for a `<time>` element: the machine form in UTC, the readable form in
    `zone` (babel's CLDR formats for `language`)."""
    local = when.astimezone(zone)
    locale = language.replace("-", "_")
    text = "{day}, {time} ({zone})".format(
        day=format_date(local.date(), format="full", locale=locale),
        time=format_time(local.time(), format="HH:mm", locale=locale),
        zone=zone.key.replace("_", " "),
    )
    return Moment(when.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ"), text)


def _row_id(request: Request, name: str) -> int:
    """The id in the URL's `name` part, or a 404 when no row can have it (see ID_MAX)."""
    value = int(request.path_params[name])
    if not 0 < value <= ID_MAX:
        raise HTTPException(404)
    return value


def _not_found() -> Response:
    return PlainTextResponse("Not found\n", status_code=404)


class Pages:
    """The request handlers (one instance per app)."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.env = environment()

    async def _published(self, request: Request) -> CommunityInfo:
        """The community of the URL when it exists and publishes; else a 404, the same either
        way."""
        if self.site.schedule is None:
            raise HTTPException(404)
        community_id = _row_id(request, "community")
        info: CommunityInfo | None = await self.site.communities.community_by_id(community_id)
        if info is None or not await self.site.settings.get(info.id, SCOPE, "publish", False):
            raise HTTPException(404)
        return info

    async def _counts(self, info: CommunityInfo) -> bool:
        return bool(await self.site.settings.get(info.id, SCOPE, "rsvp_counts", False))

    def _render(self, template: str, info: CommunityInfo, **values: Any) -> HTMLResponse:
        zone = ZoneInfo(info.timezone)
        web = self.site.config

        def when(moment_: datetime) -> Moment:
            return moment(moment_, zone, info.language)

        with using_language(info.language):
            html = self.env.get_template(template).render(
                lang=info.language,
                community=info,
                zone=zone.key,
                zone_label=zone.key.replace("_", " "),
                when=when,
                length=length_text,
                page_url=web.page_path(info.id),
                feed_https=web.feed_url(info.id)
                if web.base_url
                else web.page_path(info.id) + "calendar.ics",
                feed_webcal=web.feed_url(info.id, webcal=True) if web.base_url else None,
                bot_name=self.site.bot_name,
                **values,
            )
        return HTMLResponse(html, headers={"cache-control": "public, max-age=60"})

    async def home(self, request: Request) -> Response:
        """The root: a plain page that lists nothing (communities share their own link)."""
        html = self.env.get_template("home.html").render(lang="en", bot_name=self.site.bot_name)
        return HTMLResponse(html)

    async def community(self, request: Request) -> Response:
        """A community's upcoming meetings."""
        info = await self._published(request)
        assert self.site.schedule is not None
        with using_language(info.language):
            found = await self.site.schedule.public_upcoming(
                info.id, limit=UPCOMING, with_counts=await self._counts(info)
            )
        return self._render("community.html", info, occurrences=found)

    async def meeting(self, request: Request) -> Response:
        """One meeting and its next occurrences."""
        info = await self._published(request)
        assert self.site.schedule is not None
        with using_language(info.language):
            found = await self.site.schedule.public_meeting(
                info.id,
                _row_id(request, "meeting"),
                limit=PER_MEETING,
                with_counts=await self._counts(info),
            )
        if found is None:
            raise HTTPException(404)
        first: PublicOccurrence | None = found[0] if found else None
        return self._render("meeting.html", info, occurrences=found, first=first)

    async def feed(self, request: Request) -> Response:
        """The community's iCalendar feed (text/calendar)."""
        info = await self._published(request)
        assert self.site.schedule is not None
        web = self.site.config
        link = web.page_url(info.id) if web.base_url else str(request.url)[: -len("calendar.ics")]
        with using_language(info.language):
            data = await self.site.schedule.public_feed(info.id, name=info.name, url=link)
        # Calendar apps poll the feed; an unchanged one answers 304 (RFC 9110 strong ETag).
        # DTSTAMP is the time of the request, so it is left out of the tag.
        tag = '"' + hashlib.sha256(_STAMP.sub(b"", data)).hexdigest()[:32] + '"'
        headers = {
            "cache-control": "public, max-age=300",
            "etag": tag,
            "content-disposition": f'inline; filename="meetings-{info.id}.ics"',
        }
        if tag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(data, media_type="text/calendar; charset=utf-8", headers=headers)


async def _not_found_handler(request: Request, exc: Exception) -> Response:
    return _not_found()


def create_app(site: Site) -> Starlette:
    """The ASGI app for `site`."""
    pages = Pages(site)
    routes = [
        Route("/", pages.home, name="home"),
        Route("/c/{community:int}/", pages.community, name="community"),
        Route("/c/{community:int}/meetings/{meeting:int}", pages.meeting, name="meeting"),
        Route("/c/{community:int}/calendar.ics", pages.feed, name="feed"),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(SecureHeaders, hsts=site.config.base_url.startswith("https://"))],
        exception_handlers={404: _not_found_handler},
    )
