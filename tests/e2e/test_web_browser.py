"""The public schedule in a real headless Chromium (Debian's package, driven by Playwright
through `executable_path`; nothing is downloaded): the server is started by the test on a free
port, the browser is set to another zone, and the page must show that zone's local time with
the right summer-time offset. A missing Chromium fails the test (never skips it)."""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest_asyncio
from icalendar import Calendar
from playwright.async_api import async_playwright

from bot.app import App
from bot.clock import VirtualClock
from bot.core.permissions import Tier
from bot.web.serve import serve
from tests.harness.app import AppFactory, make_config
from tests.harness.platform import FakePlatform

NOW = datetime(2027, 3, 15, 9, 0, tzinfo=UTC)


def chromium() -> str:
    """The system Chromium; raises (never skips) when it is missing: `.ci/run` installs it
    (`apt-get install chromium`)."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError("Chromium is not installed: apt-get install -y chromium")


@pytest_asyncio.fixture
async def site(app_factory: AppFactory) -> AsyncIterator[tuple[App, FakePlatform, str]]:
    """A published community in Europe/Berlin served over HTTP on a free loopback port."""
    app = await app_factory(
        make_config(cogs={"enabled": ["general", "admin", "meetings"]}),
        clock=VirtualClock(NOW),
        fast_typing=True,
    )
    fake = FakePlatform(app)
    app.add_transport(fake)
    fake.actor("mod", Tier.MODERATOR)
    await fake.say("mod", "!settings set timezone Europe/Berlin")
    await fake.say("mod", "!settings set web.publish on")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, stop, sock=sock))
    try:
        yield app, fake, f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        await server
        sock.close()


async def test_the_page_shows_the_visitors_own_summer_time(
    site: tuple[App, FakePlatform, str], tmp_path: Path
) -> None:
    """20 March 2027: New York is on summer time (since 14 March), Berlin not yet (28 March).
    19:00 in Berlin is 18:00 UTC, 14:00 in New York; a fixed-offset guess would say 13:00."""
    _app, fake, base = site
    await fake.say(
        "mod",
        '!meeting schedule "Saturday <b>circle</b>" "2027-03-20 19:00" 60m zone:Europe/Berlin',
    )
    executable = chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            context = await browser.new_context(timezone_id="America/New_York", locale="en-US")
            page = await context.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            response = await page.goto(f"{base}/c/1/")
            assert response is not None and response.status == 200
            shown = page.locator("time").first
            await shown.wait_for()
            assert await shown.get_attribute("data-shown-zone") == "America/New_York"
            text = await shown.inner_text()
            assert "Saturday, March 20, 2027" in text and "14:00" in text, text
            assert "EDT" in text, text
            beside = await page.locator(".community-time").first.inner_text()
            assert "19:00 (Europe/Berlin)" in beside
            note = page.locator("#zone-note")
            assert "your time zone, America/New_York" in await note.inner_text()
            # the title a member wrote is text, not markup
            assert await page.locator("h3 b").count() == 0
            assert "Saturday <b>circle</b>" in await page.locator("h3").first.inner_text()
            # keyboard: the first Tab reaches the skip link, whose target is the list
            await page.keyboard.press("Tab")
            focused = await page.evaluate("document.activeElement.getAttribute('href')")
            assert focused == "#main"
            assert errors == []  # no CSP violation, no script error
            await page.screenshot(path=tmp_path / "new_york.png", full_page=True)

            # a visitor in Berlin sees the community's time untouched
            berlin = await browser.new_context(timezone_id="Europe/Berlin", locale="en-GB")
            page = await berlin.new_page()
            await page.goto(f"{base}/c/1/")
            same = await page.locator("time").first.inner_text()
            assert same == "Saturday, March 20, 2027, 19:00 (Europe/Berlin)"
            note_text = await page.locator("#zone-note").inner_text()
            assert note_text == "Times are shown in the community's time zone, Europe/Berlin."
            await page.screenshot(path=tmp_path / "berlin.png", full_page=True)
        finally:
            await browser.close()
    assert (tmp_path / "new_york.png").stat().st_size > 1000


VISITOR_ZONES = (
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",  # a half-hour summer shift, southern hemisphere
    "Asia/Kolkata",  # +05:30, no summer time
    "Pacific/Chatham",  # +12:45 / +13:45
)


async def test_every_time_matches_the_zone_database_for_visitors_around_the_world(
    site: tuple[App, FakePlatform, str],
) -> None:
    """Twenty weekly times across the March/April clock changes of both hemispheres: each one
    the browser shows is the time zoneinfo gives for the visitor's zone."""
    _app, fake, base = site
    await fake.say(
        "mod", '!meeting schedule "Circle" "2027-03-16 19:00" 60m repeat:weekly zone:Europe/Berlin'
    )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium(), headless=True)
        try:
            for zone in VISITOR_ZONES:
                context = await browser.new_context(timezone_id=zone, locale="en-US")
                page = await context.new_page()
                await page.goto(f"{base}/c/1/")
                shown = await page.eval_on_selector_all(
                    "time[data-shown-zone]",
                    "els => els.map(e => [e.getAttribute('datetime'), e.textContent])",
                )
                assert len(shown) == 20, zone
                for iso, text in shown:
                    local = datetime.fromisoformat(iso).astimezone(ZoneInfo(zone))
                    assert f"{local:%H:%M}" in text, (zone, iso, text)
                    assert f"{local:%B} {local.day}, {local.year}" in text, (zone, iso, text)
                await context.close()
        finally:
            await browser.close()


async def test_without_javascript_the_community_time_is_readable(
    site: tuple[App, FakePlatform, str], tmp_path: Path
) -> None:
    _app, fake, base = site
    await fake.say("mod", '!meeting schedule "Circle" "2027-03-20 19:00" 60m zone:Europe/Berlin')
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium(), headless=True)
        try:
            context = await browser.new_context(
                timezone_id="Asia/Tokyo", java_script_enabled=False
            )
            page = await context.new_page()
            await page.goto(f"{base}/c/1/")
            text = await page.locator("time").first.inner_text()
            assert text == "Saturday, March 20, 2027, 19:00 (Europe/Berlin)"
            await page.screenshot(path=tmp_path / "no_script.png", full_page=True)
        finally:
            await browser.close()


async def test_the_served_feed_reflects_a_move_and_a_cancellation(
    site: tuple[App, FakePlatform, str],
) -> None:
    """Over real HTTP, as a calendar app fetches it after each change."""
    _app, fake, base = site
    await fake.say(
        "mod", '!meeting schedule "Circle" "2027-03-16 19:00" 60m repeat:weekly zone:Europe/Berlin'
    )
    async with async_playwright() as playwright:
        request = await playwright.request.new_context()
        try:
            before = Calendar.from_ical(
                await (await request.get(f"{base}/c/1/calendar.ics")).body()
            )
            await fake.say("mod", "!meeting cancel Circle 2027-03-23")
            await fake.say("mod", '!meeting move Circle 2027-03-30 "2027-03-31 20:00"')
            got = await request.get(f"{base}/c/1/calendar.ics")
            assert got.headers["content-type"].startswith("text/calendar")
            after = Calendar.from_ical(await got.body())
        finally:
            await request.dispose()
    berlin = ZoneInfo("Europe/Berlin")
    [old] = before.walk("VEVENT")
    master = next(e for e in after.walk("VEVENT") if "RECURRENCE-ID" not in e)
    [moved] = [e for e in after.walk("VEVENT") if "RECURRENCE-ID" in e]
    assert master["UID"] == old["UID"] == moved["UID"]
    assert int(master["SEQUENCE"]) > int(old["SEQUENCE"])
    assert [d.dt for d in master["EXDATE"].dts] == [datetime(2027, 3, 23, 19, tzinfo=berlin)]
    assert moved["RECURRENCE-ID"].dt == datetime(2027, 3, 30, 19, tzinfo=berlin)
    assert moved["DTSTART"].dt == datetime(2027, 3, 31, 20, tzinfo=berlin)
