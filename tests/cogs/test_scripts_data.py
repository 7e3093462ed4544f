"""Scripts as data: the shipped ones, bad ones rejected line by line, and moderators' tools."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import VirtualClock
from bot.core.permissions import Tier
from bot.paths import DATA_DIR
from cogs.scripts.script import KINDS, ScriptError, load_directory, parse_script
from tests.harness.app import AppFactory, make_config
from tests.harness.platform import FakePlatform

START = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
SHIPPED, SHIPPED_PROBLEMS = load_directory(DATA_DIR / "scripts")

GOOD = """\
name = "short"
title = "Short check-in"
minutes = 15

[[steps]]
id = "round"
kind = "round_robin"
minutes = 10
text = "How are you today, {community}?"

[[steps]]
id = "bye"
kind = "announcement"
minutes = 5
text = "See you at {next_meeting}."
"""

BAD = """\
name = "bad"
title = "Bad"
minutes = 60

[[steps]]
id = "one"
kind = "chanting"
minutes = 5
text = "Hello"

[[steps]]
id = "two"
kind = "read_aloud"
minutes = -3
text = "Welcome to {meetin}"
"""


def problems(source: str) -> list[str]:
    with pytest.raises(ScriptError) as caught:
        parse_script(source)
    return [str(p) for p in caught.value.problems]


def test_the_shipped_scripts_load_and_follow_the_domain() -> None:
    assert SHIPPED_PROBLEMS == []
    assert set(SHIPPED) == {"standard", "online", "hosted-discussion", "family-friends"}
    standard = SHIPPED["standard"]
    assert [(s.id, s.kind) for s in standard.steps] == [
        ("opening", "read_aloud"),
        ("check_in", "round_robin"),
        ("agenda", "facilitator_choice"),
        ("working_time", "open_discussion"),
        ("donations", "announcement"),
        ("check_out", "round_robin"),
        ("closing", "read_aloud"),
    ]
    assert SHIPPED["online"].minutes == 60 and standard.minutes == 90
    for script in SHIPPED.values():
        assert sum(s.minutes for s in script.steps) == script.minutes, script.name
        everything = " ".join(s.text + " ".join(s.prompts) for s in script.steps).lower()
        for word in ("addict", "alcoholic", "clean", "dirty", "sober", "relapser"):
            assert not re.search(rf"\b{word}", everything), (script.name, word)
        assert "not an official smart recovery" in everything or "isn't an official smart" in (
            everything
        )
        closing = script.steps[-1].text
        assert "{next_meeting}" in closing and "{crisis_line}" in closing
        assert script.steps[0].kind == "read_aloud"
        assert {s.kind for s in script.steps} <= set(KINDS)
        check_in = next(s for s in script.steps if s.id == "check_in")
        assert not check_in.cross_talk
    for name in ("online", "family-friends", "hosted-discussion"):
        assert "privately" in SHIPPED[name].steps[0].text or "private messages" in (
            SHIPPED[name].steps[0].text
        )
    family = SHIPPED["family-friends"]
    assert "domestic-violence" in family.steps[-1].text
    topics = " ".join(next(s for s in family.steps if s.id == "topic").prompts).lower()
    for topic in ("enabling", "natural consequences", "boundaries", "safety", "treatment"):
        assert topic in topics


def test_bad_scripts_name_each_problem_with_its_line() -> None:
    assert problems(BAD) == [
        "line 7: step 1 (one).kind: must be one of 'read_aloud', 'round_robin', "
        "'facilitator_choice', 'open_discussion' or 'announcement', got text 'chanting'",
        "line 14: step 2 (two).minutes: must be at least 0, not -3",
        "line 15: step 2 (two).text: unknown placeholder {meetin}; known ones are {meeting}, "
        "{facilitator}, {next_meeting}, {crisis_line}, {community}.",
    ]


def test_missing_steps_and_a_misspelt_key() -> None:
    assert problems('name = "x"\ntitle = "X"\nminutes = 10\nstep = []\n') == [
        "steps: is required; add at least one [[steps]] table",
        "line 4: step: unknown key (did you mean `steps`?)",
    ]


def test_five_thousand_steps_are_refused() -> None:
    step = '[[steps]]\nid = "s{n}"\nkind = "announcement"\nminutes = 1\ntext = "x"\n\n'
    source = 'name = "huge"\ntitle = "Huge"\nminutes = 60\n\n' + "".join(
        step.format(n=n) for n in range(5000)
    )
    assert problems(source) == ["line 5: steps: has 5,000 steps; at most 200"]


def test_text_over_the_message_limit_and_broken_braces() -> None:
    long_text = GOOD.replace("How are you today, {community}?", "x" * 1801).replace(
        "minutes = 10\n", 'minutes = 10\nprompts = ["' + "y" * 100 + '"]\n'
    )
    assert problems(long_text) == [
        "line 5: step 1 (round): text and prompts are 1,901 characters; the limit is 1,900 so "
        "the step fits in one chat message. Split it into two steps."
    ]
    lone = problems(GOOD.replace("{community}", "{community"))
    assert lone == [
        "line 9: step 1 (round).text: a lone { or }; write {{ or }} for a literal brace."
    ]
    sneaky = problems(GOOD.replace("{community}", "{community.__class__}"))
    assert "unknown placeholder {community.__class__}" in sneaky[0]
    assert problems('name = "x\n')[0].startswith("line 1: this is not valid TOML")
    dupes = problems(GOOD.replace('id = "bye"', 'id = "round"'))
    assert dupes == ["line 12: step 2 (round).id: the id is used by an earlier step."]
    no_kind = problems(GOOD.replace('kind = "announcement"\n', ""))
    assert no_kind[0].startswith("line 11: step 2 (bye).kind: is required; use one of read_aloud")


def test_a_broken_data_file_is_reported_and_the_rest_still_load(tmp_path: Path) -> None:
    (tmp_path / "good.toml").write_text(GOOD)
    (tmp_path / "broken.toml").write_text(BAD)
    (tmp_path / "twin.toml").write_text(GOOD)
    scripts, found = load_directory(tmp_path)
    assert list(scripts) == ["short"]
    assert found[0].startswith("broken.toml: line 7: step 1 (one).kind: must be one of")
    assert found[-1] == "twin.toml: the name 'short' is already used by another script"


async def test_the_bot_starts_with_a_broken_script_and_moderators_see_why(
    app_factory: AppFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "good.toml").write_text(GOOD)
    (tmp_path / "broken.toml").write_text(BAD)
    monkeypatch.setattr("cogs.scripts.cog.SCRIPTS_DIR", tmp_path)
    app = await app_factory(
        make_config(cogs={"enabled": ["general", "scripts"]}), clock=VirtualClock(START)
    )
    fake = FakePlatform(app)
    fake.actor("mo", Tier.MODERATOR)
    fake.actor("fran", Tier.FACILITATOR)
    listed = (await fake.say("mo", "!script list"))[0].text
    assert "`short`: Short check-in (15 min, 2 steps, built-in)" in listed
    assert "broken.toml: line 7" in listed
    assert "broken.toml" not in (await fake.say("fran", "!script list"))[0].text


async def test_moderators_import_export_copy_and_delete(app_factory: AppFactory) -> None:
    app = await app_factory(
        make_config(cogs={"enabled": ["general", "scripts"]}),
        clock=VirtualClock(START),
        fast_typing=True,
    )
    fake = FakePlatform(app)
    fake.actor("mo", Tier.MODERATOR)
    fake.actor("fran", Tier.FACILITATOR)

    refused = await fake.say("fran", "!script import " + GOOD)
    assert "Only a moderator" in refused[0].text
    rejected = (await fake.say("mo", "!script import ```toml\n" + BAD + "```"))[0]
    assert rejected.where == "ephemeral"
    assert rejected.text.startswith("That script was not imported. Please fix:\n- line 7:")
    assert "line 15: step 2 (two).text: unknown placeholder {meetin}" in rejected.text
    builtin_name = await fake.say("mo", "!script import " + GOOD.replace("short", "standard"))
    assert "built-in script and cannot be replaced" in builtin_name[0].text

    imported = (await fake.say("mo", "!script import " + GOOD))[0].text
    assert "Imported **short**: Short check-in, 2 steps." in imported
    assert "`short`: Short check-in (15 min, 2 steps, imported)" in (
        (await fake.say("fran", "!script list"))[0].text
    )
    started = (await fake.say("fran", "!script start short"))[0].text
    assert "How are you today, Fake circle?" in started
    busy = await fake.say("mo", "!script import " + GOOD.replace("Short", "Shorter"))
    assert "running in a channel now" in busy[0].text
    assert "running in a channel now" in (await fake.say("mo", "!script delete short"))[0].text
    await fake.say("fran", "!script end")
    replaced = (await fake.say("mo", "!script import " + GOOD.replace("Short", "Shorter")))[0]
    assert "Replaced **short**" in replaced.text

    exported = (await fake.say("mo", "!script export short"))[0].message.attachment
    assert exported is not None and exported.filename == "short.toml"
    assert parse_script(exported.data.decode()).title == "Shorter check-in"

    no = await fake.say("mo", "!script delete standard")
    assert "built in and cannot be deleted" in no[0].text and "script copy standard" in no[0].text
    copied = (await fake.say("mo", "!script copy standard our-evening"))[0].text
    assert "Copied **standard** to **our-evening**" in copied
    copy = (await fake.say("mo", "!script export our-evening"))[0].message.attachment
    assert copy is not None
    assert parse_script(copy.data.decode()).steps == SHIPPED["standard"].steps
    taken = await fake.say("mo", "!script copy standard our-evening")
    assert "already exists" in taken[0].text
    bad_name = await fake.say("mo", "!script copy standard Our_Evening!")
    assert "Did you mean `!script copy standard our_evening`?" in bad_name[0].text
    assert "Deleted the script **our-evening**" in (
        (await fake.say("mo", "!script delete our-evening"))[0].text
    )
    assert "no script called" in (await fake.say("mo", "!script delete our-evening"))[0].text

    community = await app.members.community("fake", "c1")
    actions = [r.action for r in await app.audit.recent(community.id)]
    assert actions == ["scripts.delete", "scripts.copy", "scripts.import", "scripts.import"]


async def test_preview_shows_the_whole_script_in_pages(app_factory: AppFactory) -> None:
    app = await app_factory(
        make_config(cogs={"enabled": ["general", "scripts"]}), clock=VirtualClock(START)
    )
    fake = FakePlatform(app)
    fake.actor("fran", Tier.FACILITATOR)
    pages = await fake.say("fran", "!script preview standard")
    assert len(pages) > 1 and all(p.where == "ephemeral" for p in pages)
    assert all(len(p.text) <= 2000 for p in pages)
    whole = "\n".join(p.text for p in pages)
    for step in SHIPPED["standard"].steps:
        assert step.title in whole
    assert "[next meeting time]" in whole and "[crisis lines for this community]" in whole
    assert f"({len(pages)}/{len(pages)})" in pages[-1].text
    member = await fake.say("ana", "!script preview standard")
    assert "Only a facilitator" in member[0].text
