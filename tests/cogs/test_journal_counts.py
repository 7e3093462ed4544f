"""Sentences of the journal that count things agree with the count: "1 of your entries
matches", "3 of your entries match", "the newest 1 entry", "written 1 entry in the last hour",
"at most 1 character" (each through `ngettext`, so a translation gives every plural form its
language has).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clock import VirtualClock
from cogs.journal import cog as journal_cog
from cogs.journal.cog import JournalCog
from tests.harness.app import AppFactory, own_loop
from tests.harness.journal import START, journal_app
from tests.harness.platform import Said

MATCHED = re.compile(r"^(More than )?(\d+) of your entries (matches|match):", re.MULTILINE)
SHOWING = re.compile(r"Showing the newest (\d+) (entry|entries);")
WORDS = ("alpha", "bravo", "delta", "echo", "kilo", "lima", "oscar", "romeo", "tango", "zulu")


def texts(said: list[Said]) -> str:
    return "\n".join(s.text for s in said)


def agrees(count: int, singular: str, plural: str, said: str) -> bool:
    return said == (singular if count == 1 else plural)


async def test_one_match_is_one_entry_that_matches(app_factory: AppFactory) -> None:
    _app, fake = await journal_app(app_factory)
    await fake.say("ana", "!journal write Walked to the harbour at dawn")
    found = texts(await fake.say("ana", "!journal search harbour"))
    assert "1 of your entries matches:" in found
    assert "entries match:" not in found
    await fake.say("ana", "!journal write The harbour again")
    assert "2 of your entries match:" in texts(await fake.say("ana", "!journal search harbour"))


def test_search_counts_agree_with_their_numbers(tmp_path: Path) -> None:
    """However many entries match, however many are counted exactly (`search_count_max`) and
    shown: each count sentence of the answer takes the form its number needs."""
    serial = itertools.count(1)
    shown_before = journal_cog.SEARCH_SHOWN
    with own_loop(tmp_path) as (loop, factory):
        app, fake = loop.run_until_complete(journal_app(factory, clock=VirtualClock(START)))
        journal = app.cogs["journal"]
        assert isinstance(journal, JournalCog)
        service = journal.service

        @settings(
            max_examples=30,
            derandomize=True,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(
            matching=st.integers(min_value=1, max_value=5),
            cap=st.integers(min_value=1, max_value=6),
            shown=st.integers(min_value=1, max_value=6),
        )
        def check(matching: int, cap: int, shown: int) -> None:
            n = next(serial)
            word = "".join(WORDS[int(d)] for d in str(n))  # a word no earlier example wrote
            app.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
            for i in range(matching):
                loop.run_until_complete(fake.say("ana", f"!journal write note {i} {word}"))
            service.limits = replace(service.limits, search_count_max=cap)
            journal_cog.SEARCH_SHOWN = shown
            try:
                answer = texts(loop.run_until_complete(fake.say("ana", f"!journal search {word}")))
            finally:
                journal_cog.SEARCH_SHOWN = shown_before
            header = MATCHED.search(answer)
            assert header is not None, answer
            more, count, verb = header.groups()
            assert bool(more) == (matching > cap), answer
            assert int(count) == min(matching, cap), answer
            assert agrees(int(count), "matches", "match", verb), answer
            footer = SHOWING.search(answer)
            assert (footer is not None) == (matching > min(cap, shown)), answer
            if footer is not None:
                assert int(footer.group(1)) == min(matching, shown), answer
                assert agrees(int(footer.group(1)), "entry", "entries", footer.group(2)), answer

        check()


async def test_a_limit_of_one_is_one_entry_and_one_character(app_factory: AppFactory) -> None:
    _app, fake = await journal_app(app_factory, writes_per_hour=1, max_title_chars=1)
    await fake.say("ana", "!journal write First of the hour")
    said = texts(await fake.say("ana", "!journal write Second of the hour"))
    assert "You've written 1 entry in the last hour, which is the limit here." in said
    said = texts(await fake.say("ana", "!journal write title:Long A titled line", dm=True))
    assert "A title can be at most 1 character." in said
