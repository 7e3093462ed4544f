"""The journal through a real `circlebot console` process, as a newcomer would try it."""

from __future__ import annotations

import re
from pathlib import Path

from tests.harness.console import circlebot


def run(db: Path, script: str) -> str:
    result = circlebot(
        "console", "--db", str(db), "--clock", "2026-12-01T09:00:00Z", stdin=script, cwd=db.parent
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_sharing_feedback_groups_and_moderation_on_the_console(tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite3"
    first = run(
        db,
        "@ben !ping\n"
        "@ana !me name River\n"
        "@ana !journal write visibility:shared First week done, slowly.\n"
        "@ana !journal write just for me\n"
        "@ana !group create circle\n"
        "@ana !group invite @ben\n"
        ":advance 1m\n",
    )
    shared = re.search(r"shared as ([2-9a-z]{6})", first)
    private = re.search(r"privately as ([2-9a-z]{6})", first)
    join = re.search(r"\[dm ben\].*group join ([2-9a-z]{10})", first)
    assert shared and private and join, first
    second = run(
        db,
        "@ben !journal feed\n"
        f"@ben !journal read {private.group(1)}\n"
        "@ben !journal read zzzzzz\n"
        f"@ben !journal feedback {shared.group(1)} Well done, keep going.\n"
        f"@ben !group join {join.group(1)}\n"
        "@ben !group write circle hello from ben\n"
        "@ben !group write Week was hard\n"
        "@ana !group read circle\n"
        f"!journal remove {shared.group(1)}\n"
        ":advance 1m\n"
        "@ben !journal feed\n",
    )
    assert "First week done, slowly." in second and "by River" in second
    assert "ana" not in second.split("[dm ana]")[0].replace("private to ana", "")
    assert f"I can't find an entry {private.group(1)} that you can open." in second
    assert "I can't find an entry zzzzzz that you can open." in second
    assert "[dm ana] River" not in second
    assert re.search(r"\[dm ana\] a member left feedback on your shared entry", second)
    assert "Well done, keep going." in second
    assert "Welcome to circle" in second and "hello from ben" in second
    # ben's only group takes an entry whose first word names no group of his
    assert "not in a group journal called Week" not in second
    assert re.search(r"\*Week was hard\* \([2-9a-z]{6}\) by", second), second
    assert re.search(r"\[dm ana\] A moderator took your entry", second)
    assert second.rstrip().endswith("Nobody has shared an entry here yet.")


def test_deleting_a_shared_entry_takes_back_its_feed_post_and_the_feedback_dm(
    tmp_path: Path,
) -> None:
    db = tmp_path / "d.sqlite3"
    first = run(
        db,
        "!journal feed-channel #general\n"
        "@ana !me name River\n"
        "@ana !journal write visibility:shared Quietmarker walked past the shop.\n"
        ":advance 1m\n",
    )
    shared = re.search(r"shared as ([2-9a-z]{6})", first)
    assert shared, first
    assert re.search(r"\[#general\] .*shared by River", first), first
    second = run(
        db,
        f"@ben !journal feedback {shared.group(1)} Feedbackmarker proud of you.\n"
        ":advance 1m\n"
        f"@ana !journal delete {shared.group(1)}\n",
    )
    assert "[dm ana] a member left feedback" in second and "Feedbackmarker" in second
    answer = second.split("Deleted. It's gone for good.")[1]
    assert answer.lstrip().startswith("I also deleted 2 message(s) I had already posted with it")
    # the feed post (sent in the first run) and the DM quoting the feedback are taken back
    assert "[#general] (a message I posted here earlier was deleted)" in second
    assert "[dm ana] (a message I posted here earlier was deleted)" in second
    third = run(db, f"@ana !journal delete {shared.group(1)}\n!journal feed\n")
    assert "deleted)" not in third and "Nobody has shared an entry here yet." in third
