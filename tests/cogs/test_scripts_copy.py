"""`script copy` with a name typed as people type titles: refused with the name it would take,
and that suggestion, copied as offered, works; a refusal changes nothing."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import crypto
from bot.clock import VirtualClock
from bot.core.permissions import Tier
from cogs.scripts.script import NAME_RE, name_like
from tests.harness.app import AppFactory

START = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
TYPED = st.text(
    alphabet=st.sampled_from("abcXYZ019 -_.!'\"éßøЖ李"), min_size=1, max_size=32
).filter(lambda t: t.strip() and '"' not in t)


@given(typed=st.text(max_size=60))
def test_a_suggested_name_is_a_script_name_or_none(typed: str) -> None:
    suggestion = name_like(typed)
    assert suggestion == "" or NAME_RE.match(suggestion)
    if NAME_RE.match(typed):
        assert suggestion == typed  # a name that already is one stays as it is


async def copy_as_typed(typed: list[str]) -> list[tuple[str, str, str]]:
    """Copy `standard` under each typed name, then run the suggested command where one was
    offered; (typed, first answer, script list after) for each."""
    factory = AppFactory(Path(tempfile.mkdtemp(prefix="circlebot-copy-")))
    try:
        _app, fake = await factory.on_platform(
            ["general", "scripts"], clock=VirtualClock(START), actors={"mo": Tier.MODERATOR}
        )
        seen = []
        for name in typed:
            before = (await fake.say("mo", "!script list"))[0].text
            answer = (await fake.say("mo", f'!script copy standard "{name}"'))[0].text
            after = (await fake.say("mo", "!script list"))[0].text
            seen.append((name, answer, before, after))
            if "Did you mean `" in answer:
                offered = answer.split("Did you mean `", 1)[1].split("`", 1)[0]
                again = (await fake.say("mo", offered))[0].text
                seen.append(
                    (offered, again, after, (await fake.say("mo", "!script list"))[0].text)
                )
        return [(n, a, f"{b}\n---\n{c}") for n, a, b, c in seen]
    finally:
        await factory.close()


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(typed=st.lists(TYPED, min_size=1, max_size=4))
def test_a_copy_name_is_taken_as_typed_or_refused_with_one_that_works(
    typed: list[str], encryption_keys: list[str]
) -> None:
    crypto.use_keys(encryption_keys)
    for name, answer, lists in asyncio.run(copy_as_typed(typed)):
        before, after = lists.split("\n---\n")
        target = name.strip().lower()
        if answer.startswith("Copied"):
            made = answer.split("** to **", 1)[1].split("**", 1)[0]
            assert NAME_RE.match(made), answer
            assert f"- `{made}`:" in after and f"- `{made}`:" not in before
        else:
            assert after == before, f"a refusal changed the scripts: {answer}"
            if not NAME_RE.match(target):
                assert "can't be a script name" in answer, answer
                offered = answer.split("Did you mean `", 1)[-1].split("`", 1)[0]
                assert "Did you mean" not in answer or f"- `{offered.split()[-1]}`:" not in after
                assert "line " not in answer  # not the copy's TOML, which nobody wrote


async def test_a_title_gets_the_name_to_copy(app_factory: AppFactory) -> None:
    _app, fake = await app_factory.on_platform(
        ["general", "scripts"], clock=VirtualClock(START), actors={"mo": Tier.MODERATOR}
    )
    answer = (await fake.say("mo", '!script copy standard "Our circle"'))[0].text
    assert answer == (
        "`Our circle` can't be a script name. Script names use 1-32 lower-case letters, digits, "
        "- or _. Did you mean `!script copy standard our-circle`?"
    )
    assert "our-circle" not in (await fake.say("mo", "!script list"))[0].text
    done = (await fake.say("mo", "!script copy standard our-circle"))[0].text
    assert done.startswith("Copied **standard** to **our-circle**")
    greek = (await fake.say("mo", '!script copy standard "Straße Größe"'))[0].text
    assert "Did you mean `!script copy standard strasse-grosse`?" in greek
