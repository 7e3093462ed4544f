"""The public schedule pages and calendar feed, through Starlette's async test client (httpx
over ASGI, in the test's own event loop, so the app and its database share one loop)."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from bot.app import App
from bot.clock import VirtualClock
from bot.core.permissions import Tier
from bot.web.serve import site_of
from bot.web.site import create_app
from tests.harness.app import AppFactory, make_config
from tests.harness.platform import FakePlatform

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
BASE = "https://meetings.example.org"


async def published(
    app_factory: AppFactory, *, publish: bool = True, counts: bool = False
) -> tuple[App, FakePlatform, httpx.AsyncClient]:
    app = await app_factory(
        make_config(
            cogs={"enabled": ["general", "admin", "meetings"]},
            web={"base_url": BASE},
        ),
        clock=VirtualClock(NOW),
        fast_typing=True,
    )
    fake = FakePlatform(app)
    app.add_transport(fake)
    fake.actor("mod", Tier.MODERATOR)
    await fake.say("mod", "!settings set timezone Europe/Berlin")
    if publish:
        said = await fake.say("mod", "!settings set web.publish on")
        assert f"{BASE}/c/1/" in said[-1].text and "webcal://meetings.example.org/c/1/" in (
            said[-1].text
        )
    if counts:
        await fake.say("mod", "!settings set web.rsvp_counts on")
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(site_of(app))), base_url=BASE
    )
    return app, fake, client


def times(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<time datetime="([^"]+)" data-zone="[^"]+">([^<]+)</time>', html)


async def test_a_published_community_shows_its_meetings_in_its_zone(
    app_factory: AppFactory,
) -> None:
    _app, fake, client = await published(app_factory)
    await fake.say(
        "mod",
        '!meeting schedule "Tuesday Circle" "2027-03-02 19:00" 90m repeat:weekly '
        "zone:Europe/Berlin location:https://meet.example.org/circle",
    )
    await fake.say(
        "mod",
        '!meeting schedule "Family room" "2027-03-04 18:00" 60m zone:Europe/Berlin '
        "kind:family_friends",
    )
    async with client:
        page = await client.get("/c/1/")
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


async def test_security_headers_on_every_response(app_factory: AppFactory) -> None:
    _app, _fake, client = await published(app_factory)
    async with client:
        for path in ("/", "/c/1/", "/c/1/calendar.ics", "/static/localtime.js", "/c/99/"):
            response = await client.get(path)
            headers = response.headers
            assert "frame-ancestors 'none'" in headers["content-security-policy"], path
            assert "script-src 'self'" in headers["content-security-policy"], path
            assert headers["x-content-type-options"] == "nosniff", path
            assert headers["referrer-policy"] == "no-referrer", path
            assert headers["strict-transport-security"].startswith("max-age="), path
            assert "server" not in headers, path


async def test_an_unpublished_community_is_a_plain_404_like_none_at_all(
    app_factory: AppFactory,
) -> None:
    _app, fake, client = await published(app_factory, publish=False)
    await fake.say("mod", '!meeting schedule "Secret circle" "2027-03-02 19:00" 60m zone:UTC')
    async with client:
        for path in ("/c/1/", "/c/1/meetings/1", "/c/1/calendar.ics"):
            hidden = await client.get(path)
            absent = await client.get(path.replace("/c/1/", "/c/42/"))
            assert hidden.status_code == absent.status_code == 404
            assert hidden.content == absent.content == b"Not found\n"
            assert "Secret" not in hidden.text
        # published, then unpublished again: gone at once
        await fake.say("mod", "!settings set web.publish on")
        assert (await client.get("/c/1/")).status_code == 200
        said = await fake.say("mod", "!settings set web.publish off")
        assert "`web.publish` is off." in said[-1].text
        assert (await client.get("/c/1/")).status_code == 404


async def test_a_setting_that_is_not_on_or_off_is_refused(app_factory: AppFactory) -> None:
    _app, fake, client = await published(app_factory, publish=False)
    said = await fake.say("mod", "!settings set web.publish maybe")
    assert "takes `on` or `off`" in said[-1].text
    async with client:
        assert (await client.get("/c/1/")).status_code == 404


async def test_the_meeting_page_and_a_meeting_of_another_community(
    app_factory: AppFactory,
) -> None:
    _app, fake, client = await published(app_factory, counts=True)
    await fake.say(
        "mod", '!meeting schedule "Circle" "2027-03-02 19:00" 60m repeat:weekly zone:UTC'
    )
    await fake.say("mod", "!meeting rsvp Circle")
    async with client:
        page = await client.get("/c/1/meetings/1")
        assert page.status_code == 200
        assert "<h1>Circle</h1>" in page.text
        assert "Repeats: every week on Tue" in page.text
        assert len(times(page.text)) == 8
        assert "Planning to come</dt><dd>1</dd>" in page.text  # counts switched on
        assert (await client.get("/c/1/meetings/2")).status_code == 404


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    title=st.text(
        alphabet=st.sampled_from(list("<>&\"'/ scriptalert()=x")), min_size=1, max_size=40
    ).filter(lambda t: t.strip())
)
async def test_nothing_a_member_wrote_is_rendered_unescaped(
    app_factory: AppFactory, title: str
) -> None:
    """Any title (made of markup characters) appears escaped: no tag or attribute of it
    reaches the page."""
    app, fake, client = await published(app_factory)
    try:
        quoted = title.replace('"', "'")
        said = await fake.say(
            "mod", f'!meeting schedule "{quoted}" "2027-03-02 19:00" 60m zone:UTC'
        )
        if "Scheduled" not in said[-1].text:
            return  # the bot refused the title (e.g. a blank one): nothing to show
        async with client:
            for path in ("/c/1/", "/c/1/meetings/1"):
                html = (await client.get(path)).text
                assert "<script>" not in html.replace('<script src="/static/localtime.js"', "")
                assert "<" not in "".join(re.findall(r"<h[13]>(?:<a [^>]+>)?(.*?)<", html))
    finally:
        await app.close()
        app_factory.apps.remove(app)
        os.remove(app_factory.directory / "bot.sqlite3")


async def test_a_script_tag_in_a_title_is_shown_as_text(app_factory: AppFactory) -> None:
    _app, fake, client = await published(app_factory)
    await fake.say(
        "mod", '!meeting schedule "<script>alert(1)</script>" "2027-03-02 19:00" 60m zone:UTC'
    )
    async with client:
        html = (await client.get("/c/1/")).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html


async def test_the_feed_follows_moves_and_cancellations(app_factory: AppFactory) -> None:
    _app, fake, client = await published(app_factory)
    await fake.say(
        "mod", '!meeting schedule "Circle" "2027-03-02 19:00" 60m repeat:weekly zone:Europe/Berlin'
    )
    async with client:
        first = Calendar.from_ical((await client.get("/c/1/calendar.ics")).content)
        await fake.say("mod", "!meeting cancel Circle 2027-03-09")
        await fake.say("mod", '!meeting move Circle 2027-03-16 "2027-03-17 20:00"')
        response = await client.get("/c/1/calendar.ics")
    assert response.headers["content-type"].startswith("text/calendar")
    after = Calendar.from_ical(response.content)
    [master_before] = first.walk("VEVENT")
    events = after.walk("VEVENT")
    master = next(e for e in events if "RECURRENCE-ID" not in e)
    [moved] = [e for e in events if "RECURRENCE-ID" in e]
    assert str(master["UID"]) == str(master_before["UID"])  # the same event, kept in sync
    assert int(master["SEQUENCE"]) > int(master_before["SEQUENCE"])
    berlin = ZoneInfo("Europe/Berlin")
    exdates = [d.dt for d in master["EXDATE"].dts]
    assert exdates == [datetime(2027, 3, 9, 19, 0, tzinfo=berlin)]
    assert moved["RECURRENCE-ID"].dt == datetime(2027, 3, 16, 19, 0, tzinfo=berlin)
    assert moved["DTSTART"].dt == datetime(2027, 3, 17, 20, 0, tzinfo=berlin)
    assert str(moved["UID"]) == str(master["UID"])
    assert after["X-WR-CALNAME"]
    # the feed names no member: no ORGANIZER, no ATTENDEE
    assert b"ATTENDEE" not in response.content and b"ORGANIZER" not in response.content


async def test_meeting_list_and_announcements_show_the_kind(app_factory: AppFactory) -> None:
    app, fake, _client = await published(app_factory)
    await fake.say(
        "mod",
        '!meeting schedule "Family room" "2027-03-02 19:00" 60m zone:UTC kind:family_friends',
    )
    said = await fake.say("mod", "!meeting list")
    assert "Family & Friends" in said[-1].text
    await app.scheduler.advance(datetime(2027, 3, 2, 19, tzinfo=UTC) - NOW)
    posts = [s.text for s in fake.said if "is starting now" in s.text]
    assert posts and "Kind: Family & Friends" in posts[-1]


@pytest.mark.parametrize("base_url", ["ftp://x.org", "meetings.example.org"])
def test_a_base_url_that_is_not_http_is_refused(base_url: str) -> None:
    from bot.config import ConfigError

    with pytest.raises(ConfigError, match=r"web\.base_url"):
        make_config(web={"base_url": base_url})
