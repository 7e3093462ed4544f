"""Files for commands: the size cap before any download, `file:PATH` on the console only, and
the scripts and crisis imports taking their content as text or as a file."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.console import CHANNEL, ConsoleAdapter, ConsoleResponder
from bot.app import App
from bot.clock import VirtualClock
from bot.core.commands import CommandSpec, Option, OptionType, SpecError
from bot.core.context import Context, ResponderDefaults
from bot.core.convert import MAX_FILE_BYTES, bind_text, convert_option, file_text
from bot.core.errors import ArgumentError
from bot.core.identity import Actor, Place
from bot.core.message import Attachment, Message
from bot.core.permissions import Tier
from tests.harness.app import AppFactory, make_config
from tests.harness.console import circlebot
from tests.harness.platform import FakePlatform, Said

UPLOAD = Option("upload", OptionType.ATTACHMENT, "The things as a file", required=False)
SPEC = CommandSpec(
    ("things", "import"),
    "Import things",
    options=(Option("text", OptionType.STRING, "The things as text", required=False), UPLOAD),
)
CSV = (
    "id,country,name,category,phone,hours,languages,source,verified_at\n"
    "nz-adult-line,NZ,Adult line,mental_health,0800543354,24/7,en,https://example.org/a,"
    "2026-10-01\n"
)
SCRIPT = """\
name = "short"
title = "Short check-in"
minutes = 15

[[steps]]
id = "round"
kind = "round_robin"
minutes = 10
text = "How are you today, {community}?"
"""


@dataclass
class Remote:
    """A platform's file: its announced size, and the bytes a download would bring."""

    filename: str
    data: bytes
    size: int
    content_type: str | None = "text/csv"
    reads: int = 0

    async def read(self) -> bytes:
        self.reads += 1
        return self.data


class ChatResponder(ResponderDefaults):
    """A chat platform's responder: it never opens files on the bot's machine."""

    prefix = "!"

    async def reply(self, message: Message, *, ephemeral: bool) -> None:
        return None

    async def dm(self, message: Message) -> None:
        return None

    async def defer(self, *, ephemeral: bool) -> None:
        return None

    async def resolve_actor(self, text: str) -> Actor | None:
        return None

    async def resolve_place(self, text: str) -> Place | None:
        return None


def chat(platform: str = "matrix") -> Context:
    place = Place(platform, "!room", "!room", False)
    return Context(Actor(platform, "@mo:x", "Mo"), place, None, Tier.MODERATOR, ChatResponder())


async def console(app_factory: AppFactory) -> Context:
    app = await app_factory(make_config(cogs={"enabled": ["general"]}))
    adapter = ConsoleAdapter(app, out=io.StringIO())
    actor = Actor("console", "you", "you")
    return Context(actor, CHANNEL, None, Tier.MODERATOR, ConsoleResponder(adapter, actor, CHANNEL))


async def refused(raw: Any, ctx: Context) -> str:
    with pytest.raises(ArgumentError) as caught:
        await convert_option(UPLOAD, raw, ctx)
    return caught.value.message


def test_free_words_never_fill_a_file_option_and_file_path_does() -> None:
    assert bind_text(SPEC, "a b c") == {"text": "a b c"}
    assert bind_text(SPEC, "file:/tmp/lines.csv") == {"upload": "/tmp/lines.csv"}
    assert bind_text(SPEC, 'partial:true file:"/tmp/my lines.csv"') == {
        "text": "partial:true",
        "upload": "/tmp/my lines.csv",
    }


def test_a_file_option_takes_no_choices_or_limits() -> None:
    with pytest.raises(SpecError, match="a file takes no choices"):
        Option("upload", OptionType.ATTACHMENT, "A file", max_length=10)


async def test_a_file_over_the_cap_is_refused_before_it_is_downloaded() -> None:
    remote = Remote("lines.csv", b"", MAX_FILE_BYTES + 1)
    message = await refused(remote, chat())
    assert "That file is too large for `upload`: 2.0 MB, and I accept files up to 2 MB" in message
    assert remote.reads == 0


async def test_a_file_larger_than_announced_is_still_refused() -> None:
    remote = Remote("lines.csv", b"x" * (MAX_FILE_BYTES + 1), 10)
    assert "too large" in await refused(remote, chat())
    assert remote.reads == 1
    big = Attachment("big.csv", b"x" * (3 * 1024 * 1024), "text/csv")
    assert "3.0 MB" in await refused(big, chat())


async def test_a_platform_file_becomes_an_attachment_without_its_folders() -> None:
    remote = Remote("C:\\Users\\mo\\lines.csv", CSV.encode(), len(CSV), "text/csv; charset=utf-8")
    got = await convert_option(UPLOAD, remote, chat())
    assert got == Attachment("lines.csv", CSV.encode(), "text/csv")


async def test_a_path_typed_on_a_chat_platform_is_not_read_from_disk(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not for chat")
    message = await refused(str(secret), chat("matrix"))
    assert message.startswith("The `upload` option takes a file, not text.")
    assert "Upload the file to this room, then reply to it with the command." in message
    discord = await refused(str(secret), chat("discord"))
    assert "Choose the file in the `upload` option of the command." in discord


async def test_the_console_reads_file_paths_and_names_a_missing_one(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    ctx = await console(app_factory)
    lines = tmp_path / "lines.csv"
    lines.write_text(CSV)
    got = await convert_option(UPLOAD, str(lines), ctx)
    assert got == Attachment("lines.csv", CSV.encode(), "text/csv")
    missing = await refused(str(tmp_path / "nope.csv"), ctx)
    assert missing == (
        f"I can't read the file `{tmp_path / 'nope.csv'}`: check that it exists and is a file."
    )
    assert "I can't read the file" in await refused(str(tmp_path), ctx)
    big = tmp_path / "big.csv"
    big.write_bytes(b"x" * (MAX_FILE_BYTES + 1))
    assert "too large" in await refused(str(big), ctx)


def test_file_text_accepts_utf8_with_a_bom_and_names_other_encodings() -> None:
    assert file_text(Attachment("a.csv", "\ufeffid,naïve".encode())) == "id,naïve"
    with pytest.raises(ArgumentError, match=r"`a\.csv` is not UTF-8 text"):
        file_text(Attachment("a.csv", "naïve".encode("latin-1")))


# -- the imports, through the dispatcher as an adapter hands them a file -----------------------


async def started(app_factory: AppFactory) -> tuple[App, FakePlatform]:
    start = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    config = make_config(cogs={"enabled": ["general", "crisis", "scripts"]})
    app = await app_factory(config, clock=VirtualClock(start))
    fake = FakePlatform(app)
    fake.actor("mod", Tier.MODERATOR)
    return app, fake


async def run(app: App, fake: FakePlatform, line: str, values: dict[str, Any]) -> list[Said]:
    resolved = app.registry.resolve(line.split())
    assert resolved is not None
    before = len(fake.said)
    await app.dispatcher.run(fake.incoming("mod"), resolved.spec, values)
    return fake.said[before:]


async def test_crisis_import_takes_a_file_or_text_but_not_both(app_factory: AppFactory) -> None:
    app, fake = await started(app_factory)
    upload = Attachment("lines.csv", CSV.encode(), "text/csv")
    both = await run(app, fake, "crisis import", {"data": CSV, "file": upload})
    neither = await fake.say("mod", "!crisis import")
    imported = await run(app, fake, "crisis import", {"file": upload})
    listed = await fake.say("ana", "!crisis list NZ")
    # A moderator's mistake with a moderator command gets the refusal alone (a member's
    # refusal under crisis also shows the lines: tests/cogs/test_crisis_help_words.py).
    assert len(both) == 1
    assert both[0].text == "Give the entries as text or as a file, not both."
    assert neither[0].text.partition("\n\n")[0] == (
        "Give the entries as TOML, CSV or JSON text, or as a file. "
        "Send the file together with the command."
    )
    assert "Imported 1 entries; 0 problem(s) refused." in imported[0].text
    assert "Adult line" in listed[0].text


async def test_a_bad_row_in_a_file_imports_nothing_unless_partial(
    app_factory: AppFactory,
) -> None:
    app, fake = await started(app_factory)
    bad = CSV + "xx-bad,XX,Nowhere,mental_health,+18006624357,24/7,en,https://e.org/b,2026-01-01\n"
    upload = Attachment("lines.csv", bad.encode(), "text/csv")
    refused = await run(app, fake, "crisis import", {"file": upload})
    partial = await run(app, fake, "crisis import", {"data": "partial:true", "file": upload})
    assert "Nothing was imported: 1 problem(s) in 2 row(s)" in refused[0].text
    assert "line 3: xx-bad.country" in refused[0].text
    assert "Imported 1 entries; 1 problem(s) refused." in partial[0].text


async def test_script_import_takes_a_toml_file(app_factory: AppFactory) -> None:
    app, fake = await started(app_factory)
    upload = Attachment("short.toml", SCRIPT.encode(), "application/toml")
    imported = await run(app, fake, "script import", {"file": upload})
    latin = Attachment("short.toml", "title = 'Café'".encode("latin-1"))
    unreadable = await run(app, fake, "script import", {"file": latin})
    neither = await fake.say("mod", "!script import")
    assert imported[0].text.startswith("Imported **short**: Short check-in, 1 steps.")
    assert unreadable[0].text.startswith("`short.toml` is not UTF-8 text.")
    assert neither[0].text.startswith("Give the script as TOML text or as a file.")


def test_the_console_imports_a_crisis_csv_and_a_script_toml_from_disk(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[cogs]\nenabled = ["general", "crisis", "scripts"]\n')
    (tmp_path / "lines.csv").write_text(CSV)
    (tmp_path / "short.toml").write_text(SCRIPT)
    stdin = (
        f"!crisis import file:{tmp_path / 'lines.csv'}\n"
        "@ana !crisis list NZ\n"
        "!script import file:short.toml\n"
        "!script list\n"
        f"!crisis import file:{tmp_path / 'missing.csv'}\n"
    )
    args = ("--config", str(config), "console", "--db", str(tmp_path / "c.sqlite3"))
    result = circlebot(*args, "--clock", "2026-11-25T03:00:00Z", stdin=stdin, cwd=tmp_path)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "[#general, private to you] Imported 1 entries; 0 problem(s) refused." in out
    assert "Adult line" in out
    assert "[#general, private to you] Imported short: Short check-in, 1 steps." in out
    assert "short: Short check-in (15 min, 1 steps, imported)" in out
    assert f"I can't read the file {tmp_path / 'missing.csv'}: check that it exists" in out
