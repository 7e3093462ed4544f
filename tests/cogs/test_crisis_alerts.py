"""Crisis alerts go only to a channel that only moderators read, name the member without
pinging them, never quote them, and leave nothing stored."""

from __future__ import annotations

from pathlib import Path

from tests.harness.console import circlebot


def test_console_alerts_go_only_to_the_moderators_channel(tmp_path: Path) -> None:
    result = circlebot(
        "console",
        "--db",
        str(tmp_path / "c.sqlite3"),
        stdin=(
            "!crisis alerts #general\n"
            "!crisis alerts #mods\n"
            "@ana !me name Fern\n"
            "@ana dm I want to kill myself\n"
            ":quit\n"
        ),
        cwd=tmp_path,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Everyone in this community reads #general." in out
    assert "#mods will get their pseudonym" in out
    alert = out.split("[#mods] ", 1)[1].splitlines()
    assert alert[0].startswith("A member may need support") and "Pseudonym: Fern." in alert[0]
    assert alert[1].strip() == "@ana"
    assert "kill" not in "\n".join(alert[:2])
    assert "[#general] A member may need support" not in out
