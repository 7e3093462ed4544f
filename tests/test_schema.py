"""The schema layer: every problem in the config or a data file names its file, line and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.config import ConfigError
from bot.core.loader import read_config as load_config
from bot.schema import Locator, Problem, Section, load_toml, readable
from cogs.journal.prompts import load_prompts


def config_problems(tmp_path: Path, text: str) -> list[Problem]:
    path = tmp_path / "circlebot.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value.problems


def only(problems: list[Problem], key: str) -> Problem:
    found = [p for p in problems if p.key == key]
    assert len(found) == 1, problems
    return found[0]


def test_config_bad_value_names_file_line_and_key(tmp_path: Path) -> None:
    problems = config_problems(tmp_path, '[bot]\nname = "x"\n\n[matrix]\nmoderator_power = "50"\n')
    problem = only(problems, "matrix.moderator_power")
    assert (problem.file, problem.line) == (str(tmp_path / "circlebot.toml"), 5)
    assert "must be a whole number" in problem.message and "'50'" in problem.message


def test_config_missing_key_points_at_its_table(tmp_path: Path) -> None:
    problems = config_problems(tmp_path, '[matrix]\n\n[[matrix.communities]]\nname = "Group"\n')
    problem = only(problems, "matrix.community 1.id")
    assert problem.line == 3 and problem.message == "is required"
    assert problem.file.endswith("circlebot.toml")


def test_config_unknown_key_suggests_the_close_one(tmp_path: Path) -> None:
    problems = config_problems(tmp_path, "[scheduler]\ngrace_minutes = 5\ngrace_minute = 3\n")
    problem = only(problems, "scheduler.grace_minute")
    assert problem.line == 3 and "did you mean `grace_minutes`" in problem.message


def test_cog_settings_are_checked_with_their_lines(tmp_path: Path) -> None:
    problems = config_problems(
        tmp_path, '[cogs]\nenabled = ["journal"]\n\n[cogs.journal]\npage_size = 5\npages = 2\n'
    )
    problem = only(problems, "cogs.journal.pages")
    assert (
        problem.line == 6 and "unknown key" in problem.message and "page_size" in problem.message
    )


def test_every_config_problem_is_reported_at_once(tmp_path: Path) -> None:
    problems = config_problems(
        tmp_path, '[bot]\nlog_level = 3\ntimezone = "Mars/Base"\n[discord]\nenabled = true\n'
    )
    keys = {p.key for p in problems}
    assert {"bot.log_level", "discord.token"} <= keys


def test_prompt_file_bad_value_missing_and_unknown_key(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text(
        '[[prompt]]\nid = "fine"\ntext = "Fine."\n\n'
        '[[prompt]]\nid = "long"\ntext = "' + "x" * 301 + '"\n\n'
        '[[prompt]]\ntext = "No id."\n\n'
        '[[prompt]]\nid = "odd"\ntext = "Odd."\ncolour = "blue"\n',
        encoding="utf-8",
    )
    prompts, problems = load_prompts(tmp_path)
    assert [p.id for p in prompts] == ["fine"]
    by_key = {p.key: p for p in problems}
    assert all(p.file == "mine.toml" for p in problems)
    assert (
        by_key["prompt 2 (long).text"].line == 7
        and "at most 300" in by_key["prompt 2 (long).text"].message
    )
    assert by_key["prompt 3.id"].line == 9 and by_key["prompt 3.id"].message == "is required"
    assert by_key["prompt 4 (odd).colour"].line == 15
    assert "unknown key" in by_key["prompt 4 (odd).colour"].message


# The locator: for any TOML of tables, arrays of tables and multi-line texts, every key written
# is found on the line it was written on.
NAMES = st.sampled_from(["id", "name", "kind", "text", "steps", "choices", "a-b", "x_1"])
LOOKALIKE = st.sampled_from(["plain words", "id = 3", "[[steps]]", "kind = 'x'", ""])


@st.composite
def toml_documents(draw: st.DrawFn) -> tuple[str, dict[tuple[str | int, ...], int]]:
    lines: list[str] = []
    expected: dict[tuple[str | int, ...], int] = {}
    counts: dict[str, int] = {}

    def keys(table: tuple[str | int, ...]) -> None:
        for key in draw(st.lists(NAMES, unique=True, max_size=4)):
            if draw(st.booleans()):
                lines.append(f"{key} = " + '"""')
                expected.setdefault((*table, key), len(lines))
                lines.extend(draw(st.lists(LOOKALIKE, max_size=3)))
                lines.append('"""')
            else:
                lines.append(f"{key} = {draw(st.integers(0, 9))}")
                expected.setdefault((*table, key), len(lines))

    keys(())
    for _ in range(draw(st.integers(0, 5))):
        name = draw(st.sampled_from(["steps", "prompt", "bot"]))
        if name == "bot":
            if "bot" in counts:
                continue
            counts["bot"] = 0
            lines.append("[bot]")
            expected[("bot",)] = len(lines)
            keys(("bot",))
            continue
        index = counts.get(name, 0)
        counts[name] = index + 1
        lines.append(f"[[{name}]]")
        expected.setdefault((name,), len(lines))
        expected[(name, index)] = len(lines)
        keys((name, index))
        if name == "steps":
            for sub in range(draw(st.integers(0, 2))):
                lines.append("[[steps.choices]]")
                expected.setdefault(("steps", index, "choices"), len(lines))
                expected[("steps", index, "choices", sub)] = len(lines)
                keys(("steps", index, "choices", sub))
    return "\n".join(lines) + "\n", expected


@settings(max_examples=150)
@given(toml_documents())
def test_locator_finds_every_written_key_on_its_line(
    document: tuple[str, dict[tuple[str | int, ...], int]],
) -> None:
    text, expected = document
    locator = Locator(text)
    assert set(locator.lines) == set(expected), text  # nothing inside a text taken for a key
    for path, line in expected.items():
        assert locator.line(path) == line, (path, text)
        assert locator.line((*path, "never_written")) == line


SCRIPT = """\
name = "evening"
title = "Evening"
minutes = 30

[[steps]]
id = "hello"
kind = "read_aloud"
minutes = 5
text = "Welcome."

[[steps]]
id = "round"
kind = "round_robin"
minutes = "ten"
text = "How are you?"
"""


@pytest.mark.parametrize(
    ("change", "line", "key", "words"),
    [
        (("minutes = 5\ntext", "minutes = -5\ntext"), 8, "step 1 (hello).minutes", "at least 0"),
        (('kind = "read_aloud"\n', ""), 5, "step 1 (hello).kind", "is required; use one of"),
        (
            ('text = "Welcome."\n', 'text = "Welcome."\ncolour = 1\n'),
            10,
            "step 1 (hello).colour",
            "unknown key",
        ),
    ],
)
def test_script_problems_name_file_line_and_key(
    tmp_path: Path, change: tuple[str, str], line: int, key: str, words: str
) -> None:
    from cogs.scripts.script import load_directory

    (tmp_path / "evening.toml").write_text(
        SCRIPT.replace('minutes = "ten"', "minutes = 10").replace(*change), encoding="utf-8"
    )
    scripts, problems = load_directory(tmp_path)
    assert scripts == {}
    assert any(
        p.startswith(f"evening.toml: line {line}: {key}: ") and words in p for p in problems
    )


def test_script_bad_type_is_named_with_its_line() -> None:
    from cogs.scripts.script import ScriptError, parse_script

    with pytest.raises(ScriptError) as caught:
        parse_script(SCRIPT, file="evening.toml")
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.key) == (
        "evening.toml",
        14,
        "step 2 (round).minutes",
    )
    assert "must be a number" in problem.message and "'ten'" in problem.message


WORKSHEET = """\
id = "plan"
title = "Plan"
tags = ["urges"]

[[steps]]
id = "first"
prompt = "What comes first?"
kind = "choice"

[[steps.choices]]
value = "a"
label = "A"
"""


@pytest.mark.parametrize(
    ("change", "line", "key", "words"),
    [
        (('kind = "choice"', "kind = 3"), 8, "step 1 (first).kind", "must be one of"),
        (('value = "a"\n', ""), 10, "step 1 (first).choice 1.value", "is required"),
        (
            ('label = "A"', 'label = "A"\nemoji = ":)"'),
            13,
            "step 1 (first).choice 1.emoji",
            "unknown key",
        ),
        (('tags = ["urges"]', 'tags = ["urges"]\nauthor = "me"'), 4, "author", "unknown key"),
    ],
)
def test_worksheet_problems_name_file_line_and_key(
    tmp_path: Path, change: tuple[str, str], line: int, key: str, words: str
) -> None:
    from cogs.worksheets.definitions import load_all

    (tmp_path / "plan.toml").write_text(WORKSHEET.replace(*change), encoding="utf-8")
    sheets, problems = load_all(tmp_path)
    assert sheets == {}
    found = [p for p in problems if p.key == key]
    assert found and found[0].file == "plan.toml" and found[0].line == line, problems
    assert words in found[0].message


def test_a_valid_worksheet_still_loads(tmp_path: Path) -> None:
    from cogs.worksheets.definitions import load_all

    (tmp_path / "plan.toml").write_text(WORKSHEET, encoding="utf-8")
    sheets, problems = load_all(tmp_path)
    assert problems == [] and [c.value for c in sheets["plan"].steps[0].choices] == ["a"]


DIRECTORY = """\
[[entry]]
id = "gb-example-line"
country = "GB"
name = "Example line"
category = "mental_health"
source = "https://example.org/"
verified_at = 2026-01-01

[[entry.contacts]]
method = "phone"
number = "116 123"
languages = ["en"]
hours = "24/7"
"""


@pytest.mark.parametrize(
    ("change", "line", "key", "words"),
    [
        (('category = "mental_health"', 'category = "moods"'), 7, "category", "is unknown"),
        (('name = "Example line"\n', ""), 3, "name", "must not be empty"),
        (('hours = "24/7"', 'hours = "24/7"\nfax = "1"'), 16, "contact 1.fax", "unknown key"),
    ],
)
def test_crisis_directory_problems_name_file_line_and_key(
    change: tuple[str, str], line: int, key: str, words: str
) -> None:
    from datetime import date

    from cogs.crisis.directory import parse

    text = "# helplines\n\n" + DIRECTORY.replace(*change)
    result = parse(text, today=date(2026, 6, 1), superseded={}, fmt="toml", file="lines.toml")
    assert result.entries == []
    [problem] = result.problems
    assert (problem.file, problem.line) == ("lines.toml", line)
    assert problem.key == f"gb-example-line.{key}" and words in problem.message, problem


# Keys read as the file's author counts: the n-th [[steps]] table is "step n", named by its id.
class _Choice(Section):
    label: str


class _Step(Section):
    id: str | None = None
    minutes: int = 0
    choices: list[_Choice]


class _Steps(Section):
    steps: list[_Step]


@settings(max_examples=40, deadline=None)
@given(
    ids=st.lists(st.one_of(st.none(), st.from_regex(r"[a-z]{1,8}", fullmatch=True)), max_size=6),
    bad=st.integers(min_value=0, max_value=5),
    in_choice=st.booleans(),
)
def test_a_problem_key_counts_tables_from_one_and_names_them_by_id(
    ids: list[str | None], bad: int, in_choice: bool
) -> None:
    ids = ids + [None] * (bad + 1 - len(ids))  # the bad table exists
    tables = []
    for n, ident in enumerate(ids):
        lines = ["[[steps]]", *([f'id = "{ident}"'] if ident else [])]
        lines.append('minutes = "ten"' if n == bad and not in_choice else "minutes = 1")
        lines += ["[[steps.choices]]", "label = 3" if n == bad and in_choice else 'label = "A"']
        tables.append("\n".join(lines))
    text = "\n\n".join(tables) + "\n"
    _value, problems, _locator = load_toml(_Steps, text, file="f.toml")
    [problem] = problems
    named = f"step {bad + 1}" + (f" ({ids[bad]})" if ids[bad] else "")
    key = f"{named}.choice 1.label" if in_choice else f"{named}.minutes"
    assert problem.key == key
    written = "label = 3" if in_choice else 'minutes = "ten"'
    assert problem.line is not None and text.splitlines()[problem.line - 1] == written


def test_readable_without_the_data_still_counts_from_one() -> None:
    assert readable(("steps", 0, "kind")) == "step 1.kind"
    assert readable(("entries", 2)) == "entry 3"
    assert readable(("bot", "timezone")) == "bot.timezone"


# A wrong value is quoted as it is written in the file, never in Python's spelling.
_TOML_LEAVES = st.sampled_from(
    ["true", "false", "42", "1.5", "2026-01-01", "2026-01-01T10:00:00", "10:00:00", "'a'", '"b"']
)
_TOML_VALUES = st.recursive(
    _TOML_LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.lists(inner, min_size=1, max_size=2).map(
            lambda xs: "{ " + ", ".join(f"k{i} = {x}" for i, x in enumerate(xs)) + " }"
        ),
    ),
    max_leaves=4,
)
_PYTHON_SPELLING = ("True", "False", "datetime", "{'", "': ")


@settings(max_examples=40, deadline=None)
@given(value=_TOML_VALUES, key=st.sampled_from(["name", "owners", "removed_community_keep_days"]))
def test_a_wrong_value_is_quoted_as_toml(
    tmp_path_factory: pytest.TempPathFactory, value: str, key: str
) -> None:
    tmp_path = tmp_path_factory.mktemp("config")
    text = f"[bot]\n{key} = {value}\n"
    try:
        problems = config_problems(tmp_path, text)
    except pytest.fail.Exception:
        return  # the value happened to be valid
    for problem in problems:
        assert problem.line == 2, problem
        assert not any(word in problem.message for word in _PYTHON_SPELLING), problem


def test_a_config_syntax_error_names_its_line(tmp_path: Path) -> None:
    [problem] = config_problems(tmp_path, '[bot]\nname = "x"\nname = "y"\n')
    assert (problem.line, problem.key) == (3, "") and "not valid TOML" in problem.message


def test_a_crisis_date_with_a_time_is_a_problem_not_a_crash() -> None:
    from datetime import date

    from cogs.crisis.directory import parse

    text = DIRECTORY.replace("verified_at = 2026-01-01", "verified_at = 2026-01-01T10:00:00")
    result = parse(text, today=date(2026, 6, 1), superseded={}, fmt="toml", file="lines.toml")
    assert result.entries == []
    [problem] = result.problems
    assert (problem.line, problem.key) == (7, "gb-example-line.verified_at")
    assert "write the date alone" in problem.message


def test_a_matrix_community_id_written_twice_is_named(tmp_path: Path) -> None:
    problems = config_problems(
        tmp_path,
        '[[matrix.communities]]\nid = "a"\n\n[[matrix.communities]]\nid = "b"\n\n'
        '[[matrix.communities]]\nid = "a"\n',
    )
    problem = only(problems, "matrix.community 3 (a).id")
    assert (
        problem.line == 8 and "used twice" in problem.message and "community 1" in problem.message
    )


# A count, size or period in a cog's settings below what makes sense is refused on its line
# (a page_size of 0 or a negative plan_hours used to be accepted and fail later, at run time).
@settings(max_examples=30, deadline=None)
@given(
    setting=st.sampled_from(
        [
            ("journal", "page_size", 1),
            ("journal", "max_entry_chars", 1),
            ("journal", "writes_per_hour", 1),
            ("meetings", "page_size", 1),
            ("meetings", "plan_hours", 1),
            ("meetings", "max_duration_hours", 1),
            ("meetings", "rsvp_remind_minutes", 0),
            ("crisis", "answer_every_minutes", 0),
            ("scripts", "speaker_minutes", 0),
        ]
    ),
    below=st.integers(min_value=1, max_value=10_000),
)
def test_a_cog_setting_below_its_floor_is_refused(
    tmp_path_factory: pytest.TempPathFactory, setting: tuple[str, str, int], below: int
) -> None:
    cog, key, floor = setting
    tmp_path = tmp_path_factory.mktemp("config")
    problems = config_problems(tmp_path, f"[cogs.{cog}]\n{key} = {floor - below}\n")
    problem = only(problems, f"cogs.{cog}.{key}")
    assert problem.line == 2 and f"not {floor - below}" in problem.message


def test_a_negative_announcement_offset_is_refused(tmp_path: Path) -> None:
    problems = config_problems(tmp_path, "[cogs.meetings]\nannounce_minutes = [1440, -5]\n")
    [problem] = problems
    assert problem.line == 2 and "at least 0, not -5" in problem.message


@settings(max_examples=30, deadline=None)
@given(
    field=st.sampled_from(["country", "category", "source", "id", "verified_at"]),
    value=_TOML_VALUES.filter(lambda v: not v.startswith(("'", '"', "2026-01-01"))),
)
@example(field="id", value="true")  # read as the text `true`, it passed as an id
@example(field="id", value="123")
# cut after 30 characters at a "{": the cut is marked, so it never reads as Python's "{'"
@example(field="category", value="{ k0 = [{ k0 = true }], k1 = { k0 = true } }")
def test_a_crisis_row_quotes_a_wrong_value_as_toml(field: str, value: str) -> None:
    from datetime import date

    from cogs.crisis.directory import parse

    text = re.sub(rf"(?m)^{field} = .*$", f"{field} = {value}", DIRECTORY)
    result = parse(text, today=date(2026, 6, 1), superseded={}, fmt="toml", file="lines.toml")
    assert result.problems, text
    for problem in result.problems:
        assert not any(word in str(problem) for word in _PYTHON_SPELLING), problem
