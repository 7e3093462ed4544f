"""People type loosely: natural times, repeats in one phrase, past times in the urge log.

Each case types into the console adapter in-process, as a newcomer would, on a virtual clock.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from bot.adapters.console import ConsoleAdapter
from bot.adapters.matrix.render import when_renderer
from bot.app import App
from bot.clock import VirtualClock
from bot.core.convert import COUNTRY_NAMES, parse_zone
from bot.core.errors import ArgumentError
from bot.core.message import When
from bot.core.zones import country_zones, current_names
from cogs.meetings.cog import MeetingsCog
from tests.harness.app import AppFactory, make_config
from tests.harness.console import circlebot

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday


@dataclass
class Console:
    app: App
    out: io.StringIO
    adapter: ConsoleAdapter

    async def type(self, *lines: str) -> str:
        start = len(self.out.getvalue())
        for line in lines:
            await self.adapter.handle_line(line)
        return self.out.getvalue()[start:]

    async def meeting(self, ref: str) -> tuple[datetime, str, str]:
        """(wall time, zone, RRULE) of a stored meeting."""
        cog = self.app.services.cogs["meetings"]
        assert isinstance(cog, MeetingsCog)
        view = await cog.service.find(1, ref)
        return view.start_local, view.timezone, view.rrule


@pytest_asyncio.fixture
async def console(app_factory: AppFactory, tmp_path: Path) -> Console:
    config = make_config(
        cogs={"enabled": ["general", "meetings", "worksheets", "journal", "scripts"]}
    )
    app = await app_factory(config, clock=VirtualClock(START), fast_typing=True)
    out = io.StringIO()
    adapter = ConsoleAdapter(app, out=out, files_dir=tmp_path / "files")
    app.add_transport(adapter)
    await adapter.handle_line(":tier ana facilitator")
    return Console(app, out, adapter)


@pytest.mark.parametrize(
    ("typed", "wall"),
    [
        ("tomorrow 6:30pm", datetime(2026, 12, 1, 18, 30)),
        ("next tuesday 19:00", datetime(2026, 12, 1, 19, 0)),
        ("7pm", datetime(2026, 11, 30, 19, 0)),
        ("7:30 PM", datetime(2026, 11, 30, 19, 30)),
        ("9am", datetime(2026, 12, 1, 9, 0)),  # 09:00 today has passed in Berlin (10:00)
        ("5 March 2027 19:00", datetime(2027, 3, 5, 19, 0)),
        ("2026-12-01 19:00", datetime(2026, 12, 1, 19, 0)),
    ],
)
async def test_a_natural_start_is_read_in_the_authors_own_zone(
    console: Console, typed: str, wall: datetime
) -> None:
    await console.type("@ana !me timezone Europe/Berlin")
    shown = await console.type(f'@ana !meeting schedule Circle "{typed}" 60m')
    assert "Scheduled Circle" in shown, shown
    assert await console.meeting("Circle") == (wall, "Europe/Berlin", "")
    assert f"as {wall:%a %d %b %Y, %H:%M} CET (Europe/Berlin)" in shown


async def test_without_a_zone_of_their_own_the_communitys_is_used(console: Console) -> None:
    await console.type('@ana !meeting schedule Circle "tomorrow 7pm" 60m')
    assert await console.meeting("Circle") == (datetime(2026, 12, 1, 19, 0), "UTC", "")


async def test_a_date_without_a_time_is_refused_and_nothing_is_saved(console: Console) -> None:
    shown = await console.type('@ana !meeting schedule Circle "5 March 2027" 60m')
    assert "needs a time of day" in shown
    shown = await console.type("@ana !meeting list")
    assert "Circle" not in shown


async def test_a_repeat_typed_as_the_start_is_one_phrase(console: Console) -> None:
    await console.type("@ana !me timezone Europe/Berlin")
    shown = await console.type('@ana !meeting schedule Other "every other thursday 7pm" 60m')
    assert "every 2 weeks on Thu" in shown, shown
    assert await console.meeting("Other") == (
        datetime(2026, 12, 3, 19, 0),
        "Europe/Berlin",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH",
    )
    shown = await console.type('@ana !meeting schedule Vague "every other thursday" 60m')
    assert "not at what time" in shown


async def test_repeats_people_type_are_stored_as_meant(console: Console) -> None:
    base = '@ana !meeting schedule {t} "2027-01-15 19:00" 60m zone:UTC repeat:"{r}"'
    shown = await console.type(
        base.format(t="Mid", r="monthly on day 15"),
        base.format(t="Two", r="every 2 months on day 15"),
        base.format(t="Both", r="monthly on day 1 day 15"),
        base.format(t="Week", r="every weekday"),
        base.format(t="Tues", r="monthly on 2nd,4th tue"),
    )
    assert "Scheduled Mid (#1), every month on the 15th." in shown
    assert "Scheduled Two (#2), every 2 months on the 15th." in shown
    assert "Scheduled Both (#3), every month on the 1st and the 15th." in shown
    assert "Scheduled Week (#4), every weekday." in shown
    assert "Scheduled Tues (#5), every month on the 2nd and 4th Tuesday." in shown


async def test_a_meeting_on_the_31st_warns_and_offers_the_last_day(console: Console) -> None:
    shown = await console.type(
        '@ana !meeting schedule End "2027-01-31 19:00" 60m zone:UTC repeat:monthly'
    )
    assert "Months without a 31st day are skipped" in shown
    assert "monthly on the last day" in shown
    shown = await console.type(
        '@ana !meeting schedule Last "2027-01-31 19:00" 60m zone:UTC '
        'repeat:"monthly on the last day"'
    )
    assert "every month on the last day" in shown
    assert "skipped" not in shown


async def test_the_urge_log_takes_past_times_and_refuses_future_ones(console: Console) -> None:
    await console.type("@ana !me timezone Europe/Berlin")
    for typed, stored in (
        ("now", "2026-11-30T10:00:00+01:00"),
        ("today 8:00", "2026-11-30T08:00:00+01:00"),
        ("yesterday 22:00", "2026-11-29T22:00:00+01:00"),
        ("9pm", "2026-11-29T21:00:00+01:00"),  # the last 21:00, not tonight's
    ):
        await console.type("@ana !urge log", f"@ana dm {typed}")
        state = await console.app.dialogues.current("console:ana")
        assert state is not None and f'"when": "{stored}"' in state.answers, (typed, state)
        await console.type("@ana dm cancel", "@ana dm yes")
    shown = await console.type("@ana !urge log", "@ana dm in 5 months")
    assert "has not happened yet" in shown
    state = await console.app.dialogues.current("console:ana")
    assert state is not None and '"when"' not in state.answers


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("berlin", "Europe/Berlin"),
        ("Europe/london", "Europe/London"),
        ("new york", "America/New_York"),
        ("utc", "UTC"),
        ("UTC+0", "UTC"),
    ],
)
async def test_zones_match_without_exact_case_and_by_city(
    console: Console, typed: str, zone: str
) -> None:
    shown = await console.type(f'@ana !me timezone "{typed}"')
    assert f"Your time zone is now {zone}." in shown, shown
    local = START.astimezone(ZoneInfo(zone))
    label = "" if local.tzname() == zone else f" ({local.tzname()})"  # UTC: named once
    assert f"It is now {local:%a %H:%M}{label} in {zone}." in shown


@pytest.mark.parametrize(
    ("typed", "zone"),
    [("UK", "Europe/London"), ("Germany", "Europe/Berlin"), ("Deutschland", "Europe/Berlin")],
)
async def test_a_country_with_one_clock_sets_its_zone(
    console: Console, typed: str, zone: str
) -> None:
    shown = await console.type(f'@ana !me timezone "{typed}"')
    assert f"Your time zone is now {zone}." in shown, shown


async def test_a_country_with_several_clocks_names_its_best_known_places(
    console: Console,
) -> None:
    shown = await console.type('@ana !me timezone "United States"')
    assert "United States has more than one time zone" in shown, shown
    assert "America/New_York" in shown and "Your time zone is now" not in shown
    shown = await console.type("@ana !me show")
    assert "America/New_York" not in shown  # nothing was saved


@pytest.mark.parametrize(
    ("typed", "wanted"),
    [
        ("Cyprus", ["Asia/Nicosia"]),  # "most of Cyprus", not Famagusta
        ("Uzbekistan", ["Asia/Tashkent"]),  # the capital's clock, not Samarkand
        ("Australia", ["Australia/Sydney", "Australia/Melbourne"]),
        ("United States", ["America/New_York", "America/Los_Angeles"]),
        ("Chile", ["America/Santiago"]),
    ],
)
def test_a_countrys_best_known_places_come_first(typed: str, wanted: list[str]) -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    try:
        shown = parse_zone(typed, now).key
    except ArgumentError as exc:
        shown = exc.message
    assert all(zone in shown for zone in wanted), shown


def test_a_typo_is_answered_with_todays_zone_names_only() -> None:
    """Every zone name typed with one letter dropped is refused or read; what is suggested
    is always a name tzdata lists today (never Europe/Belfast or Africa/Asmera)."""
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    current = current_names() | {"UTC"}
    old = []
    for zone in sorted(current_names()):
        typo = zone[:-2] + zone[-1]
        try:
            parse_zone(typo, now)
        except ArgumentError as exc:
            named = re.findall(r"[A-Z][A-Za-z_]+/[A-Za-z_/-]+", exc.message)
            old += [f"{typo}: {n}" for n in named if n not in current and n != typo]
    assert not old, old[:10]


def test_every_country_name_gives_one_of_its_own_zones_or_a_refusal_naming_them() -> None:
    """Typed as its English name, every country is read as one of its own zones (tzdata's
    zone.tab), and only when all of them keep one clock; otherwise it is refused naming its
    zones. `Samoa` is the country, not Pacific/Samoa (an old name of American Samoa's zone)."""
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    wrong = []
    for code, name in sorted(COUNTRY_NAMES.items()):
        own = country_zones(code)
        try:
            zone, refusal = parse_zone(name, now).key, ""
        except ArgumentError as exc:
            zone, refusal = "", exc.message
        clocks = {
            tuple(datetime(2026, m, 15, 12, tzinfo=ZoneInfo(z)).utcoffset() for m in (1, 7))
            for z in own
        }
        if zone and zone not in own:
            wrong.append(f"{name}: {zone}, not one of {own}")
        if not zone and own and (len(clocks) == 1 or not any(z in refusal for z in own)):
            wrong.append(f"{name}: refused with {refusal!r}")
    assert not wrong, wrong
    assert parse_zone("Samoa", now).key == "Pacific/Apia"


@pytest.mark.parametrize(
    ("typed", "needle", "suggested"),
    [
        ("EST", "abbreviation", "America/New_York"),
        ("BST", "abbreviation", "Europe/London"),
        ("AEDT", "abbreviation", "Australia/Sydney"),
        ("UTC+2", "fixed offset (UTC+2)", "Europe/Athens"),
        ("+05:30", "fixed offset (UTC+5:30)", "Asia/Kolkata"),
        ("Etc/GMT+2", "fixed offset (UTC-2)", "America/Noronha"),
        ("localtime", "not a time zone I know", "Europe/Berlin"),
        ("posixrules", "not a time zone I know", "Europe/Berlin"),
        ("Factory", "not a time zone I know", "Europe/Berlin"),
        ("Europe/Londn", "not a time zone I know", "Europe/London"),
    ],
)
async def test_abbreviations_offsets_and_technical_zones_are_refused_with_places(
    console: Console, typed: str, needle: str, suggested: str
) -> None:
    shown = await console.type(f'@ana !me timezone "{typed}"')
    assert needle in shown and suggested in shown, shown
    shown = await console.type(f'@ana !meeting schedule Circle "tomorrow 7pm" 60m zone:"{typed}"')
    assert needle in shown and "Scheduled" not in shown


async def test_readers_see_zone_names_not_offsets(console: Console) -> None:
    await console.type("@ana !me timezone Europe/London")
    await console.type('@ana !meeting schedule Summer "2027-07-06 19:00" 60m')
    shown = await console.type("@ana !meeting list")
    assert "Tue 6 Jul 2027, 19:00 BST" in shown, shown
    render = when_renderer(ZoneInfo("Australia/Sydney"), START)
    assert render(When(datetime(2027, 1, 5, 8, 0, tzinfo=UTC))).startswith(
        "Tue 5 Jan 2027, 19:00 AEDT"
    )


async def test_phone_quotes_work_and_an_unknown_option_is_refused(console: Console) -> None:
    shown = await console.type("@ana !meeting schedule „Abend Runde“ ”2026-12-02 19:00” 90m")
    assert "Scheduled Abend Runde (#1), once." in shown, shown
    shown = await console.type('@ana !meeting schedule Circle "2026-12-02 19:00" 90m repat:weekly')
    assert "Unknown option repat. Did you mean repeat?" in shown
    assert "Scheduled" not in shown


async def test_a_bare_group_lists_its_commands(console: Console) -> None:
    for group in ("script", "journal", "meeting"):
        shown = await console.type(f"@ana !{group}")
        assert "I don't know the command" not in shown, shown
        assert f"!{group} list" in shown and "Commands you can use" in shown, shown
    shown = await console.type("@ana !script previwe standard")
    assert "!script previwe is not a command. Did you mean !script preview?" in shown, shown


async def test_help_in_a_dm_leaves_out_what_only_works_in_channels(console: Console) -> None:
    in_channel = await console.type("@ana !help")
    in_dm = await console.type("@ana dm !help")
    assert "!meeting schedule" in in_channel and "!script start" in in_channel
    assert "!meeting schedule" not in in_dm and "!script start" not in in_dm
    assert "!journal write" in in_dm and "!me timezone" in in_dm
    assert "listed when you ask there" in in_dm
    shown = await console.type("@ana dm !help meeting")
    assert "!meeting reminders" in shown and "!meeting schedule" not in shown
    shown = await console.type("@ana dm !help script")
    assert "works in a community's channels" in shown


async def test_names_match_without_case_or_emoji_and_near_misses_are_suggested(
    console: Console,
) -> None:
    await console.type('@ana !meeting schedule "🌱 Newcomers" "2026-12-02 19:00" 60m')
    shown = await console.type('@ana !meeting info "newcomers"')
    assert "🌱 Newcomers (#1)" in shown, shown
    shown = await console.type('@ana !meeting info "newcomrs circle"')
    assert "There is no meeting" in shown
    shown = await console.type('@ana !meeting info "Newcomer"')
    assert "Did you mean 🌱 Newcomers?" in shown.replace("**", ""), shown
    shown = await console.type('@ana !script preview "Family Friends"')
    assert "There is no script" not in shown, shown
    shown = await console.type("@ana !script preview standrd")
    assert "There is no script called standrd here. Did you mean standard?" in shown, shown
    await console.type("@ana !group create 🌱-Evening")
    shown = await console.type("@ana !group write evening Today went fine")
    assert "Saved to the group journal 🌱-Evening" in shown.replace("**", ""), shown
    shown = await console.type("@ana !group read evenin")
    assert "Did you mean 🌱-Evening?" in shown.replace("**", ""), shown


async def test_the_rate_limit_runs_on_the_apps_clock(app_factory: AppFactory) -> None:
    clock = VirtualClock(START)
    config = make_config(
        cogs={"enabled": ["general"]}, bot={"rate_limit": {"commands": 3, "per_seconds": 60}}
    )
    app = await app_factory(config, clock=clock)
    out = io.StringIO()
    adapter = ConsoleAdapter(app, out=out, interactive=True)
    app.add_transport(adapter)
    console = Console(app, out, adapter)
    said = await console.type(*["@ana !me timezone UTC"] * 4)
    assert said.count("Your time zone is now UTC.") == 3 and "slow down" in said
    clock.advance(timedelta(seconds=61))  # no real time passes: the app's minute does
    said = await console.type("@ana !me timezone UTC")
    assert "Your time zone is now UTC." in said and "slow down" not in said


def test_piped_console_input_is_a_script_and_not_throttled(tmp_path: Path) -> None:
    lines = "".join("@ana !me timezone UTC\n" for _ in range(25))
    result = circlebot("console", "--db", str(tmp_path / "c.sqlite3"), stdin=lines, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Your time zone is now UTC.") == 25
    assert "slow down" not in result.stdout


async def test_a_meeting_moves_to_a_natural_time_on_the_apps_clock(console: Console) -> None:
    await console.type(
        '@ana !meeting schedule Circle "2026-12-01 19:00" 60m repeat:weekly zone:UTC'
    )
    clock = console.app.clock
    assert isinstance(clock, VirtualClock)
    clock.advance(timedelta(days=14))  # "wednesday" is read from the app's today
    shown = await console.type('@ana !meeting move Circle next "wednesday 20:00"')
    assert "Wed 16 Dec 2026, 20:00 UTC" in shown, shown


async def test_the_community_zone_is_confirmed_with_its_local_time(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    config = make_config(cogs={"enabled": ["general", "admin"]})
    app = await app_factory(config, clock=VirtualClock(START))
    out = io.StringIO()
    adapter = ConsoleAdapter(app, out=out, files_dir=tmp_path / "files")
    app.add_transport(adapter)
    console = Console(app, out, adapter)
    shown = await console.type(":tier ana moderator", "@ana !settings set timezone sydney")
    assert "timezone is now Australia/Sydney." in shown.replace("`", ""), shown
    assert "It is now Mon 20:00 (AEDT) in Australia/Sydney." in shown
    shown = await console.type("@ana !settings set timezone EST")
    assert "abbreviation" in shown and "America/New_York" in shown


@pytest.mark.parametrize(
    ("typed", "needle"),
    [
        ("tomorrow 25:00", "25:00 is not a time of day"),
        ("tomorrow 13pm", "13pm is not a time of day"),
        ("tomorrow 7pm EST", "EST is an abbreviation"),
        ("next blursday 7pm", "is not a date and time I can read"),
    ],
)
async def test_times_that_would_be_misread_are_refused(
    console: Console, typed: str, needle: str
) -> None:
    shown = await console.type(f'@ana !meeting schedule Circle "{typed}" 60m')
    assert needle in shown and "Scheduled" not in shown, shown


async def test_the_author_reads_privately_how_their_time_was_understood(
    console: Console,
) -> None:
    await console.type("@ana !me timezone Europe/Berlin")
    shown = await console.type('@ana !meeting schedule Circle "tomorrow 7pm" 60m')
    public = [line for line in shown.split("\n[") if line.lstrip("[").startswith("#general]")]
    private = [line for line in shown.split("\n[") if "private to ana]" in line]
    # One public post, in the community's zone (UTC here), without the author's reading.
    assert len(public) == 1, shown
    assert "Scheduled Circle" in public[0] and "Next: Tue 1 Dec 2026, 18:00 UTC" in public[0]
    assert "I read" not in public[0], shown
    # The author alone is told how their words were read, in their own zone.
    assert len(private) == 1, shown
    assert "I read tomorrow 7pm as Tue 01 Dec 2026, 19:00 CET (Europe/Berlin)." in private[0]


async def test_monday_7pm_typed_on_monday_morning_is_tonight(console: Console) -> None:
    await console.type("@ana !me timezone Europe/Berlin")  # Mon 10:00 in Berlin
    await console.type('@ana !meeting schedule Tonight "mon 7pm" 60m')
    assert await console.meeting("Tonight") == (datetime(2026, 11, 30, 19, 0), "Europe/Berlin", "")
    await console.type('@ana !meeting schedule Later "monday 9am" 60m')  # 09:00 has passed
    assert await console.meeting("Later") == (datetime(2026, 12, 7, 9, 0), "Europe/Berlin", "")


@pytest.mark.parametrize("typed", ["tomorrow 7pm est", "7pm cet", "7 pm Ist", "7pm utc+2"])
async def test_a_zone_abbreviation_in_any_case_is_refused_and_nothing_is_saved(
    console: Console, typed: str
) -> None:
    shown = await console.type(f'@ana !meeting schedule Circle "{typed}" 60m')
    assert "Put the place after the time" in shown and "Scheduled" not in shown, shown
    assert "Circle" not in await console.type("@ana !meeting list")


async def test_journal_dates_are_read_on_the_apps_clock(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    # A virtual clock decades from the system's: "yesterday" must be the app's yesterday.
    config = make_config(cogs={"enabled": ["general", "journal"]})
    app = await app_factory(
        config, clock=VirtualClock(datetime(2060, 6, 10, 9, 0, tzinfo=UTC)), fast_typing=True
    )
    out = io.StringIO()
    adapter = ConsoleAdapter(app, out=out, files_dir=tmp_path / "files")
    app.add_transport(adapter)
    console = Console(app, out, adapter)
    await console.type("@ana !journal write a quiet evening walk")
    clock = app.clock
    assert isinstance(clock, VirtualClock)
    clock.advance(timedelta(days=2))
    shown = await console.type("@ana !journal list until:yesterday")
    assert "a quiet evening walk" in shown, shown
    shown = await console.type("@ana !journal list since:yesterday")
    assert "a quiet evening walk" not in shown and "No entries match" in shown, shown
