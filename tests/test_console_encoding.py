"""The console on a terminal whose locale is not UTF-8 (a C locale without coercion, an ASCII
`PYTHONIOENCODING`) still reads and answers lines in every language.

The fault this holds down: `@u123 quiero suicidarme` or `@u456 死にたい` in a watched channel
printed "Traceback (most recent call last):" first: reading the line killed the console's
input thread (UnicodeDecodeError; the console then hung), or writing the Spanish answer failed
(UnicodeEncodeError) and the member got a traceback instead of the crisis lines.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cogs.crisis.answer import load_answers
from cogs.crisis.cog import CRISIS_DIR
from tests.harness.console import circlebot

ANSWERS, _problems = load_answers(CRISIS_DIR)
LINES = {
    "es": "@u123 quiero suicidarme",
    "fr": "@u789 je veux mourir",
    "de": "@u1 ich will mich umbringen",
    "pt": "@u333 quero me matar",
    "it": "@u44 voglio morire",
    "nl": "@u55 ik wil dood",
}
NOT_ANSWERED = ["@u456 死にたい", "@u22 я хочу покончить с собой", "@u77 ça va 😢 ¿qué tal?"]


@pytest.mark.parametrize(
    "env",
    [
        {"PYTHONIOENCODING": "ascii"},
        {"LC_ALL": "C", "LANG": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"},
        {"PYTHONIOENCODING": "latin-1"},
    ],
    ids=["ascii-io", "c-locale", "latin-1-io"],
)
def test_a_watched_channel_in_every_language_on_a_non_utf8_terminal(
    tmp_path: Path, env: dict[str, str]
) -> None:
    script = "\n".join(["!crisis watch on", *NOT_ANSWERED, *LINES.values(), ":quit", ""])
    result = circlebot(
        "console",
        "--db",
        str(tmp_path / "c.sqlite3"),
        "--clock",
        "2026-12-01T02:30:00Z",
        stdin=script,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    for language, line in LINES.items():
        name = line.split()[0].lstrip("@")
        answer = result.stdout.split(f"[dm {name}] ", 1)[1]
        assert answer.startswith(ANSWERS.text(language).intro["suicide"]), (language, answer)
