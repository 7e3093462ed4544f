"""Channel watch on the console: moderators switch it on and off, a crisis phrase of each kind
in a watched channel gets a private answer (never a public one), at most once an hour, and
`about`, `mydata what` and `setup` say whether watch is on."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.console import circlebot

KINDS = {
    "suicide": "honestly i dont wanna live anymore",
    "self-harm": "i started cutting myself again last night",
    "overdose": "i took way too many pills and i cant breathe",
    "violence at home": "he hits me and im scared to go home",
}


def run(tmp_path: Path, script: str) -> str:
    result = circlebot(
        "console", "--db", str(tmp_path / "c.sqlite3"), stdin=script + ":quit\n", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_plain_chat_is_not_read_until_watch_is_on(tmp_path: Path) -> None:
    out = run(
        tmp_path,
        "@ana I want to kill myself\n"
        "!about\n"
        "!crisis watch on\n"
        "@ana I want to kill myself\n"
        "@ana I want to kill myself\n",
    )
    before, after = out.split("Channel watch is on for every channel.", 1)
    assert "It sounds like" not in before
    assert "Channel watch is off here" in before  # about, before watch
    assert "nothing I read is stored or logged" in after
    # One private answer in ana's DM, nothing in the channel, and no repeat within the hour.
    assert after.count("[dm ana]") == 1
    assert "[#general]" not in after.split("[dm ana]", 1)[1]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_gets_a_private_answer_in_a_watched_channel(tmp_path: Path, kind: str) -> None:
    out = run(tmp_path, f"@ana !me country US\n!crisis watch on #general\n@ana {KINDS[kind]}\n")
    answer = out.split("[dm ana]", 1)[1]
    assert "988" in answer
    assert "[#general]" not in answer
    if kind == "overdose":
        first = answer.strip().splitlines()[0]
        assert "911" in first  # the emergency number leads an urgent answer


def test_an_overdose_after_other_words_within_the_hour_gets_the_urgent_answer(
    tmp_path: Path,
) -> None:
    """The quiet hour holds back repeats, not escalation: "I want to die" and then, ten minutes
    later, "I O.D.d last night" gets the urgent answer once; a second urgent message in the
    hour and more of the first words get nothing more."""
    out = run(
        tmp_path,
        "@tia !me country US\n"
        "!crisis watch on\n"
        "@tia i want to die\n"
        ":advance 10m\n"
        "@tia I O.D.d last night\n"
        ":advance 10m\n"
        "@tia i took way too many pills and i cant breathe\n"
        "@tia i want to die\n",
    )
    answers = out.split("[dm tia]")[1:]
    assert len(answers) == 2, out
    assert "911" not in answers[0].strip().splitlines()[0]
    assert "911" in answers[1].strip().splitlines()[0]  # the number leads the urgent answer
    assert "[#general]" not in "".join(answers)


def test_words_spelled_with_dots_are_read_as_words_in_a_watched_channel(tmp_path: Path) -> None:
    """ "M.o.d.e.r.a.t.o.r" once read as "o d" (overdose) inside it; "o.d." alone still is."""
    out = run(
        tmp_path,
        "!crisis watch on\n"
        "@bob M.o.d.e.r.a.t.o.r here\n"
        "@cai D.O.N.E with today, g.o.o.d night\n"
        "@ana !me name G.o.d.i.v.a\n"
        "@dee I might o.d. tonight\n",
    )
    assert "[dm bob]" not in out and "[dm cai]" not in out
    # The name is taken, not answered with the crisis lines ("I haven't shown those words").
    assert "you appear here as G.o.d.i.v.a" in out and "haven't shown" not in out
    assert "emergency number" in out.split("[dm dee]", 1)[1]


def test_watch_off_stops_reading_and_members_are_told(tmp_path: Path) -> None:
    out = run(
        tmp_path,
        "!crisis watch on #general\n"
        "@ana !about\n"
        "@ana !mydata what\n"
        "!crisis watch off\n"
        "@ana I want to die\n"
        "@ana !mydata what\n"
        "!setup\n",
    )
    on, off = out.split("Channel watch is off: I no longer read", 1)
    assert on.count("Channel watch is ON here (#general)") == 2  # about and mydata what
    assert "[dm ana]" not in off
    assert "Channel watch is off here" in off
    assert "crisis watch on" in off.split("Community set-up", 1)[1]


def test_watching_some_channels_only(tmp_path: Path) -> None:
    out = run(
        tmp_path,
        ":tier ana moderator\n"
        "!crisis watch on #mods\n"
        "@ana I want to die\n"
        "!crisis watch on #general\n"
        "!crisis watch off #mods\n"
        "!crisis watch status\n"
        "!crisis watch on #nowhere\n"
        "!crisis watch off\n"
        "!crisis watch off\n",
    )
    assert "Channel watch is on for #mods." in out
    assert "[dm ana]" not in out.split("Channel watch is on for #mods, #general", 1)[0]
    assert "Channel watch now covers #general." in out
    assert "Channel watch is on (#general)." in out
    assert "I can't find these channels here: #nowhere." in out
    assert "Channel watch is already off." in out


def test_members_cannot_switch_watch(tmp_path: Path) -> None:
    out = run(tmp_path, "@ana !crisis watch on\n@ana !about\n")
    assert "Channel watch is on" not in out
    assert "Channel watch is off here" in out


def test_nothing_read_in_a_watched_channel_is_stored_or_logged(tmp_path: Path) -> None:
    marker, other = "zqxmarkerwatch", "vqkmarkerplain"
    db = tmp_path / "c.sqlite3"
    result = circlebot(
        "console",
        "--db",
        str(db),
        stdin=(
            "!crisis alerts #mods\n"
            "!crisis watch on\n"
            f"@ana I want to kill myself {marker}\n"
            f"@ben just chatting about {other} today\n"
            ":quit\n"
        ),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "[dm ana]" in result.stdout and "[#mods] A member may need support" in result.stdout
    stored = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    for word in (marker, other):
        assert word.encode() not in stored
        assert word not in result.stderr
        # No answer or alert quotes what the member wrote.
        assert all(word not in line for line in result.stdout.splitlines() if "] " in line)
