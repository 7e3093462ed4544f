"""The public schedule pages and calendar feed, through Starlette's TestClient.

The TestClient runs the app in its own event loop (its portal); the bot is built and driven
in that same loop (`client.portal.call`), so the pages and the database share one loop.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar
from starlette.testclient import TestClient

from bot.app import App
from bot.clock import VirtualClock
from bot.core.permissions import Tier
from bot.web.serve import site_of
from bot.web.site import create_app
from tests.harness.app import lift_rate_limit, make_config
from tests.harness.platform import FakePlatform, Said

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
BASE = "https://meetings.example.org"


class Web:
    """A bot with a community (zone Europe/Berlin) and its site, in the client's loop."""

    def __init__(self, client: TestClient, app: App, fake: FakePlatform) -> None:
        self.client = client
        self.app = app
        self.fake = fake

    def say(self, text: str, who: str = "mod") -> list[Said]:
        """A command (a moderator's by default), run in the app's loop."""
        said: list[Said] = self.client.portal.call(self.fake.say, who, text)
        return said

    def get(self, path: str) -> Any:
        return self.client.get(path)


async def _build(db: Path) -> tuple[App, FakePlatform]:
    app = App(
        make_config(cogs={"enabled": ["general", "admin", "meetings"]}, web={"base_url": BASE}),
        clock=VirtualClock(NOW),
        db_url=f"sqlite+aiosqlite:///{db}",
    )
    await app.open(migrate=True)
    await app.start()
    lift_rate_limit(app)
    fake = FakePlatform(app)
    app.add_transport(fake)
    fake.actor("mod", Tier.MODERATOR)
    return app, fake


@contextmanager
def published(db: Path, *, publish: bool = True, counts: bool = False) -> Iterator[Web]:
    """A bot on `db` whose community published its schedule (unless `publish=False`)."""
    site: list[Any] = []

    async def asgi(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":  # the site itself has nothing to start
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await site[0](scope, receive, send)

    with TestClient(asgi, base_url=BASE) as client:
        app, fake = client.portal.call(_build, db)
        try:
            site.append(create_app(site_of(app)))
            web = Web(client, app, fake)
            web.say("!settings set timezone Europe/Berlin")
            if publish:
                said = web.say("!settings set web.publish on")
                assert f"{BASE}/c/1/" in said[-1].text
                assert "webcal://meetings.example.org/c/1/calendar.ics" in said[-1].text
            if counts:
                web.say("!settings set web.rsvp_counts on")
            yield web
        finally:
            client.portal.call(app.close)


def times(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<time datetime="([^"]+)" data-zone="[^"]+">([^<]+)</time>', html)


def test_a_published_community_shows_its_meetings_in_its_zone(tmp_path: Path) -> None:
    with published(tmp_path / "bot.sqlite3") as web:
        web.say(
            '!meeting schedule "Tuesday Circle" "2027-03-02 19:00" 90m repeat:weekly '
            "zone:Europe/Berlin location:https://meet.example.org/circle"
        )
        web.say(
            '!meeting schedule "Family room" "2027-03-04 18:00" 60m zone:Europe/Berlin '
            "kind:family_friends"
        )
        page = web.get("/c/1/")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="en">' in html
    assert "Family &amp; Friends" in html  # the kind, as such
    assert "1 hour 30 minutes" in html and "1 hour</dd>" in html
    assert 'href="https://meet.example.org/circle"' in html
    shown = times(html)
    # machine time in UTC, readable time in the community's zone (CET, UTC+1, in March)
    assert ("2027-03-02T18:00:00Z", "Tuesday, March 2, 2027, 19:00 (Europe/Berlin)") in shown
    assert ("2027-03-04T17:00:00Z", "Thursday, March 4, 2027, 18:00 (Europe/Berlin)") in shown
    # after the EU switch to summer time the wall time stays 19:00, the UTC time moves
    assert ("2027-03-30T17:00:00Z", "Tuesday, March 30, 2027, 19:00 (Europe/Berlin)") in shown
    assert 'href="webcal://meetings.example.org/c/1/calendar.ics"' in html
    assert "Planning to come" not in html  # no RSVP counts unless the community shows them


def test_security_headers_on_every_response(tmp_path: Path) -> None:
    with published(tmp_path / "bot.sqlite3") as web:
        for path in ("/", "/c/1/", "/c/1/calendar.ics", "/static/localtime.js", "/c/99/"):
            headers = web.get(path).headers
            assert "frame-ancestors 'none'" in headers["content-security-policy"], path
            assert "script-src 'self'" in headers["content-security-policy"], path
            assert headers["x-content-type-options"] == "nosniff", path
            assert headers["referrer-policy"] == "no-referrer", path
            assert headers["strict-transport-security"].startswith("max-age="), path
            assert "server" not in headers, path


def test_an_unpublished_community_is_a_plain_404_like_none_at_all(tmp_path: Path) -> None:
    with published(tmp_path / "bot.sqlite3", publish=False) as web:
        web.say('!meeting schedule "Secret circle" "2027-03-02 19:00" 60m zone:UTC')
        for path in ("/c/1/", "/c/1/meetings/1", "/c/1/calendar.ics"):
            hidden = web.get(path)
            absent = web.get(path.replace("/c/1/", "/c/42/"))
            assert hidden.status_code == absent.status_code == 404
            assert hidden.content == absent.content == b"Not found\n"
        # published, then unpublished again: gone at once
        web.say("!settings set web.publish on")
        assert web.get("/c/1/").status_code == 200
        said = web.say("!settings set web.publish off")
        assert "`web.publish` is off." in said[-1].text
        assert web.get("/c/1/").status_code == 404


def test_any_number_in_an_address_is_a_page_or_the_plain_404(tmp_path: Path) -> None:
    # ids past what the database holds (64-bit) once failed with a server error
    with published(tmp_path / "bot.sqlite3") as web:
        web.say('!meeting schedule "Evening circle" "2027-03-02 19:00" 60m zone:UTC')

        @settings(max_examples=40, deadline=None)
        @given(
            community=st.integers(min_value=0, max_value=2**80) | st.sampled_from([1, 2**63]),
            meeting=st.integers(min_value=0, max_value=2**80) | st.sampled_from([1, 2**63]),
        )
        def check(community: int, meeting: int) -> None:
            for path in (
                f"/c/{community}/",
                f"/c/{community}/meetings/{meeting}",
                f"/c/{community}/calendar.ics",
            ):
                got = web.get(path)
                shown = community == 1 and (meeting == 1 or "/meetings/" not in path)
                assert got.status_code == (200 if shown else 404), path
                if not shown:
                    assert got.content == b"Not found\n"

        check()


def test_a_setting_that_is_not_on_or_off_is_refused(tmp_path: Path) -> None:
    with published(tmp_path / "bot.sqlite3", publish=False) as web:
        said = web.say("!settings set web.publish maybe")
        assert "takes `on` or `off`" in said[-1].text
        assert web.get("/c/1/").status_code == 404


def test_the_meeting_page_and_a_meeting_of_another_community(tmp_path: Path) -> None:
    with published(tmp_path / "bot.sqlite3", counts=True) as web:
        web.say('!meeting schedule "Circle" "2027-03-02 19:00" 60m repeat:weekly zone:UTC')
        web.say("!meeting rsvp Circle")
        page = web.get("/c/1/meetings/1")
        assert page.status_code == 200
        assert "<h1>Circle</h1>" in page.text
        assert "Repeats: every week on Tue" in page.text
        assert len(times(page.text)) == 8
        assert "Planning to come</dt><dd>1</dd>" in page.text  # counts switched on
        assert web.get("/c/1/meetings/2").status_code == 404


def test_no_member_is_named_anywhere_public(tmp_path: Path) -> None:
    """The facilitator's pseudonym and who RSVP'd stay in the chat: neither the pages nor the
    feed carry them, also with counts on."""
    with published(tmp_path / "bot.sqlite3", counts=True) as web:
        web.fake.actor("ana")
        web.say("!me name Pebblecanary")
        web.say("!me name Rivercanary", who="ana")
        web.say('!meeting schedule "Circle" "2027-03-02 19:00" 60m repeat:weekly zone:UTC')
        web.say("!meeting rsvp Circle", who="ana")
        assert "Pebblecanary" in web.say("!meeting info Circle")[-1].text  # named in the chat
        public = [web.get(p).text for p in ("/c/1/", "/c/1/meetings/1", "/c/1/calendar.ics")]
    assert all(
        "canary" not in text.lower() and "ana" not in re.findall(r"\w+", text) for text in public
    )


@settings(max_examples=8, deadline=None)
@given(
    title=st.text(
        alphabet=st.sampled_from(list("<>&\"'/ scriptalert()=x")), min_size=1, max_size=40
    ).filter(lambda t: t.strip())
)
def test_nothing_a_member_wrote_is_rendered_unescaped(
    tmp_path_factory: pytest.TempPathFactory, title: str
) -> None:
    """Any title made of markup characters appears escaped: no tag of it reaches the page."""
    with published(tmp_path_factory.mktemp("web") / "bot.sqlite3") as web:
        quoted = title.replace('"', "'")
        said = web.say(f'!meeting schedule "{quoted}" "2027-03-02 19:00" 60m zone:UTC')
        if "Scheduled" not in said[-1].text:
            return  # the bot refused the title: nothing to show
        for path in ("/c/1/", "/c/1/meetings/1"):
            html = web.get(path).text
            assert "<script>" not in html.replace('<script src="/static/localtime.js"', "")
            assert "<" not in "".join(re.findall(r"<h[13]>(?:<a [^>]+>)?(.*?)</", html))


def test_a_script_tag_in_a_title_is_shown_as_text(tmp_path: Path) -> None:
    with published(tmp_path / "bot.sqlite3") as web:
        web.say('!meeting schedule "<script>alert(1)</script>" "2027-03-02 19:00" 60m zone:UTC')
        html = web.get("/c/1/").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html


def test_the_feed_follows_moves_and_cancellations(tmp_path: Path) -> None:
    with published(tmp_path / "bot.sqlite3") as web:
        web.say(
            '!meeting schedule "Circle" "2027-03-02 19:00" 60m repeat:weekly zone:Europe/Berlin'
        )
        fetched = web.get("/c/1/calendar.ics")
        first, first_tag = Calendar.from_ical(fetched.content), fetched.headers["etag"]
        web.client.portal.call(web.app.clock.advance, timedelta(minutes=5))  # DTSTAMP moves
        assert (
            web.client.get("/c/1/calendar.ics", headers={"if-none-match": first_tag}).status_code
            == 304
        )
        web.say("!meeting cancel Circle 2027-03-09")
        web.say('!meeting move Circle 2027-03-16 "2027-03-17 20:00"')
        response = web.get("/c/1/calendar.ics")
        again = web.client.get(
            "/c/1/calendar.ics", headers={"if-none-match": response.headers["etag"]}
        )
    assert response.headers["content-type"].startswith("text/calendar")
    after = Calendar.from_ical(response.content)
    [master_before] = first.walk("VEVENT")
    events = after.walk("VEVENT")
    master = next(e for e in events if "RECURRENCE-ID" not in e)
    [moved] = [e for e in events if "RECURRENCE-ID" in e]
    assert str(master["UID"]) == str(master_before["UID"])  # the same event, kept in sync
    assert int(master["SEQUENCE"]) > int(master_before["SEQUENCE"])
    berlin = ZoneInfo("Europe/Berlin")
    assert [d.dt for d in master["EXDATE"].dts] == [datetime(2027, 3, 9, 19, 0, tzinfo=berlin)]
    assert moved["RECURRENCE-ID"].dt == datetime(2027, 3, 16, 19, 0, tzinfo=berlin)
    assert moved["DTSTART"].dt == datetime(2027, 3, 17, 20, 0, tzinfo=berlin)
    assert str(moved["UID"]) == str(master["UID"])
    # a calendar app asking again with the tag it has gets "unchanged" until something changes
    assert first_tag != response.headers["etag"]
    assert again.status_code == 304 and not again.content
    # the feed names no member: no ORGANIZER, no ATTENDEE
    assert b"ATTENDEE" not in response.content and b"ORGANIZER" not in response.content


def test_meeting_list_and_announcements_show_the_kind(tmp_path: Path) -> None:
    with published(tmp_path / "bot.sqlite3") as web:
        web.say(
            '!meeting schedule "Family room" "2027-03-02 19:00" 60m zone:UTC kind:family_friends'
        )
        said = web.say("!meeting list")
        assert "Family & Friends" in said[-1].text
        web.client.portal.call(
            web.app.scheduler.advance, datetime(2027, 3, 2, 19, tzinfo=UTC) - NOW
        )
        posts = [s.text for s in web.fake.said if "is starting now" in s.text]
    assert posts and "Kind: Family & Friends" in posts[-1]


@pytest.mark.parametrize("base_url", ["ftp://x.org", "meetings.example.org"])
def test_a_base_url_that_is_not_http_is_refused(base_url: str) -> None:
    from bot.config import ConfigError

    with pytest.raises(ConfigError, match=r"web\.base_url"):
        make_config(web={"base_url": base_url})
