"""`circlebot invite-url`: the install link carries every permission the adapter checks for."""

from __future__ import annotations

import ast
import functools
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import discord
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters.discord import invite
from bot.cli import main
from bot.config import DiscordConfig

ADAPTER = Path(invite.__file__).parent

# Flags the adapter reads off members and roles to tell tiers apart, never off the bot itself;
# and Mention Everyone, read off the bot only to tell a moderator that a role chosen for pings
# cannot be pinged (the invite never asks for it: the bot pings only roles that allow it).
ABOUT_PEOPLE = {"manage_guild", "administrator", "mention_everyone"}


@functools.cache
def checked_flags() -> dict[str, list[str]]:
    """Every discord.Permissions flag read as an attribute anywhere in the adapter, with where
    (read once: parsing every adapter file per example outran Hypothesis' deadline on a
    loaded machine)."""
    found: dict[str, list[str]] = {}
    for source in sorted(ADAPTER.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in discord.Permissions.VALID_FLAGS:
                found.setdefault(node.attr, []).append(f"{source.name}:{node.lineno}")
    return found


def test_the_scan_sees_the_channel_checks() -> None:
    # the scan itself must find what cannot_post checks, or the next test proves nothing
    assert {"send_messages", "embed_links", "read_message_history"} <= set(checked_flags())


@settings(deadline=None)
@given(st.booleans())
def test_every_permission_the_adapter_checks_is_in_the_invite(watch: bool) -> None:
    needed = invite.permissions_needed(DiscordConfig(message_content=watch))
    missing = {
        flag: where
        for flag, where in checked_flags().items()
        if flag not in ABOUT_PEOPLE and not getattr(needed, flag)
    }
    assert not missing, f"checked in the adapter but not asked for in the invite: {missing}"


@given(st.booleans())
def test_the_invite_asks_for_each_feature_in_use_and_no_moderator_power(watch: bool) -> None:
    config = DiscordConfig(message_content=watch)
    needed = invite.permissions_needed(config)
    for feature in invite.features_in_use(config):
        assert invite.FEATURE_PERMISSIONS[feature] <= needed
    assert (invite.CHANNEL_WATCH in invite.features_in_use(config)) is watch
    power = discord.Permissions(
        administrator=True, manage_guild=True, manage_messages=True, manage_roles=True
    )
    assert not (needed & power).value
    assert needed.create_events  # the Events tab mirror is always on for Discord


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def _query(url: str) -> dict[str, list[str]]:
    parts = urlsplit(url.strip())
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "discord.com",
        "/oauth2/authorize",
    )
    return parse_qs(parts.query)


def test_invite_url_prints_the_install_link(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[discord]\napplication_id = "1234567890"\n')
    code, out, _ = _run(["--config", str(config), "invite-url"], capsys)
    assert code == 0
    query = _query(out)
    assert query["client_id"] == ["1234567890"]
    assert query["scope"] == ["bot applications.commands"]
    granted = discord.Permissions(int(query["permissions"][0]))
    assert granted == invite.permissions_needed(DiscordConfig())
    assert granted.send_messages and granted.read_message_history and granted.create_events

    # the flag wins over the config; channel watch in the config is reflected
    config.write_text('[discord]\napplication_id = "1"\nmessage_content = true\n')
    code, out, _ = _run(["--config", str(config), "invite-url", "--application-id", "987"], capsys)
    assert code == 0
    assert _query(out)["client_id"] == ["987"]


@pytest.mark.parametrize(
    ("toml", "flag", "says"),
    [
        ("", [], "no application id"),
        ('[discord]\napplication_id = "my-bot"\n', [], "discord.application_id 'my-bot'"),
        ("", ["--application-id", "12a"], "--application-id '12a'"),
    ],
)
def test_invite_url_without_a_usable_id_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str, flag: list[str], says: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(toml)
    code, out, err = _run(["--config", str(config), "invite-url", *flag], capsys)
    assert code == 2
    assert out == ""
    assert says in err and "Developer Portal" in err


def test_the_readme_names_every_permission_the_invite_asks_for() -> None:
    readme = " ".join((ADAPTER.parents[2] / "README.md").read_text().lower().split())
    section = readme[readme.index("### discord: the application") :]
    needed = invite.permissions_needed(DiscordConfig(message_content=True))
    names: dict[int, list[str]] = {}  # one bit may have several names (read_messages)
    for flag, bit in discord.Permissions.VALID_FLAGS.items():
        if needed.value & bit:
            names.setdefault(bit, []).append(flag)
    unnamed = [
        aliases
        for aliases in names.values()
        if not any(flag.replace("_", " ") in section for flag in aliases)
    ]
    assert not unnamed, f"README's Discord section does not name: {unnamed}"
