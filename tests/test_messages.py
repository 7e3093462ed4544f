"""Outbound safety, message rendering and translation, as readers would see them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from hypothesis import given
from hypothesis import strategies as st

from bot import i18n
from bot.adapters.discord.render import render as discord_render
from bot.adapters.matrix.render import text_content, when_renderer
from bot.core.message import (
    Action,
    Card,
    Command,
    Field,
    Message,
    When,
    fill_parts,
    markdown_to_html,
    markdown_to_plain,
)
from bot.safety import ZWSP, clean, defuse, escape_markdown
from tests.harness.app import AppFactory
from tests.harness.platform import FakePlatform


@pytest.mark.parametrize(
    "text",
    [
        "@everyone look",
        "hey @here",
        "@room now",
        "ping <@123456>",
        "role <@&987>",
        "old <@!55>",
        "＠everyone wide",
        "@EVERYONE caps",
    ],
)
def test_mentions_in_member_text_are_defused(text: str) -> None:
    out = defuse(text)
    assert ZWSP in out
    for token in ("@everyone", "@here", "@room", "<@123456>", "<@&987>", "<@!55>"):
        assert token not in out.lower()


def _defuse_in_full(text: str) -> str:
    """`defuse` without its quick answer for text holding no `@`, `＠` or `<`."""
    text = re.sub("[\x00\ud800-\udfff]", "\ufffd", text)
    text = re.sub(
        r"[@＠](everyone|here|room|channel)",
        lambda m: f"@{ZWSP}{m.group(1)}",
        text,
        flags=re.IGNORECASE,
    )
    return re.sub(r"<(@[!&]?|#)(\d+)>", lambda m: f"<{m.group(1)}{ZWSP}{m.group(2)}>", text)


_MENTION_TEXT = st.text(
    alphabet=st.sampled_from(list("@＠<>&!#123 everyoneHEREroomchannel\x00\ud800")), max_size=40
)


@given(st.one_of(_MENTION_TEXT, st.text(max_size=40)))
def test_defusing_text_with_no_mention_sign_skips_nothing_it_would_change(text: str) -> None:
    assert defuse(text) == _defuse_in_full(text)


@given(st.lists(_MENTION_TEXT, max_size=4), st.lists(_MENTION_TEXT, max_size=2))
def test_a_clean_message_is_the_same_as_cleaning_every_part(
    parts: list[str], labels: list[str]
) -> None:
    actions = tuple(Action(f"a:{n}", label) for n, label in enumerate(labels))
    message = Message(text=tuple(parts), actions=actions)
    cleaned = clean(message)
    assert "".join(str(p) for p in cleaned.text) == defuse("".join(parts))
    assert [a.label for a in cleaned.actions] == [defuse(label) for label in labels]
    assert clean(cleaned) == cleaned


def test_clean_reaches_cards_and_buttons() -> None:
    msg = clean(
        Message(
            text=("hi @everyone",),
            card=Card("@here title", "desc <@&1>", (Field("@room", "<@2>"),), "@everyone"),
        )
    )
    flat = repr(msg)
    for token in ("@everyone", "@here", "@room", "<@&1>", "<@2>"):
        assert token not in flat


async def test_a_member_cannot_make_the_bot_ping_through_a_pseudonym(
    app_factory: AppFactory,
) -> None:
    fake = FakePlatform(await app_factory())
    said = await fake.say("ana", "!me name Hi @everyone")
    assert "@everyone" not in said[0].text
    assert f"@{ZWSP}everyone" in said[0].text


def test_markdown_subset_renders_to_html_and_plain_text() -> None:
    text = "**Tuesday** *circle*\n- `!help`\n- [site](https://example.org/a?b=1&c=2)\n<script>"
    html = markdown_to_html(text)
    assert "<strong>Tuesday</strong> <em>circle</em><br>" in html
    assert "<ul><li><code>!help</code></li>" in html
    assert '<a href="https://example.org/a?b=1&amp;c=2">site</a>' in html
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert markdown_to_plain(text).startswith("Tuesday circle\n- !help\n- site (https://")


def test_escaped_member_text_shows_literally() -> None:
    typed = "I *really* [did](it) _it_"
    assert markdown_to_plain(escape_markdown(typed)) == typed
    assert "<em>" not in markdown_to_html(escape_markdown(typed))


def test_message_json_round_trip_keeps_times_aware() -> None:
    at = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    msg = Message.of("Starts ", When(at, "relative"), " today")
    back = Message.from_json(msg.to_json())
    assert back == msg
    with pytest.raises(ValueError, match="aware"):
        When(datetime(2026, 1, 1))
    alert = Message.of("check in", mention="matrix:@ana:hs", alert=True).with_prefix("(late) ")
    assert Message.from_json(alert.to_json()) == alert and alert.alert


# Words around the command: any letters, digits, spaces and sentence punctuation (Markdown
# markers and braces belong to the template's author, not to the words around a command).
_words = st.text(
    alphabet=st.characters(
        categories=("L", "N", "Zs"), include_characters=".,;:'?!()-", exclude_characters="{}"
    ),
    max_size=30,
)

START = datetime(2026, 11, 30, 12, tzinfo=UTC)


@given(
    before=_words,
    after=_words,
    command=st.sampled_from(["meeting reminders off", "me country", "journal list"]),
    prefix=st.sampled_from(["!", "?", ".cb "]),
)
def test_a_command_named_in_any_message_shows_the_readers_own_prefix(
    before: str, after: str, command: str, prefix: str
) -> None:
    """A message built without a command context (a reminder from the outbox) names commands
    that work when copied: `/` on Discord, the configured prefix on Matrix; the outbox keeps
    the command as a command, not as text rendered for one platform."""
    message = Message.of(
        *fill_parts(before + "{command}" + after, {"command": [Command(command)]})
    )
    assert Message.from_json(message.to_json()) == message
    pieces = discord_render(message)
    assert f"`/{command}`" in "".join(p.content or "" for p in pieces)
    content = text_content(message, when_renderer(ZoneInfo("UTC"), START), prefix)
    assert content is not None and f"{prefix}{command}" in content["body"]


def test_a_matrix_alert_notifies_its_readers_and_other_messages_stay_notices() -> None:
    """Moderators are notified of an alert (m.text; every m.notice is silenced by the default
    push rules), and the member it names is still not highlighted (empty m.mentions)."""
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    render = when_renderer(ZoneInfo("UTC"), at)
    alert = text_content(Message.of("check in", mention="matrix:@ana:hs", alert=True), render, "!")
    notice = text_content(Message.of("check in", mention="matrix:@ana:hs"), render, "!")
    assert alert is not None and notice is not None
    assert (alert["msgtype"], notice["msgtype"]) == ("m.text", "m.notice")
    assert alert["m.mentions"] == {} and "@ana:hs" in alert["body"]


async def test_a_new_language_needs_only_a_catalog(
    app_factory: AppFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = Catalog(locale="de", domain=i18n.DOMAIN)
    catalog.add("pong", "Pong! Ich bin da.")
    catalog.add("I'll use {language} with you.", "Ich spreche mit dir jetzt {language}.")
    target = tmp_path / "de" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / f"{i18n.DOMAIN}.mo").open("wb") as handle:
        write_mo(handle, catalog)
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n._catalog.cache_clear()
    try:
        fake = FakePlatform(await app_factory())
        assert "de" in i18n.available_languages()
        said = await fake.say("ana", "!me language de")
        assert said[0].text == "Ich spreche mit dir jetzt Deutsch (de)."
        assert (await fake.say("ana", "!ping"))[0].text == "Pong! Ich bin da."
        assert (await fake.say("ben", "!ping"))[0].text == "pong"
    finally:
        i18n._catalog.cache_clear()
