"""Review 3 of fixb (418e93d, 5c3d627): a private command typed as chat in a channel. Each
test fails on main at 2b1c24a."""

from __future__ import annotations

import pytest

from tests.harness.app import AppFactory
from tests.harness.platform import Said

REMOVED = "I removed your message from #general"


def private_to(said: list[Said], who: str) -> str:
    return "\n".join(s.text for s in said if s.where != "channel" and s.to == who)


@pytest.mark.parametrize(
    "line",
    [
        "!journal write:I relapsed last night",  # no space after the colon
        "!journal write,I relapsed last night",
        "!journal wrte:I relapsed last night",
        "!journalwrite:I relapsed last night",
        "!journal-write:I relapsed last night",
    ],
)
async def test_words_glued_to_a_private_command_are_not_left_in_the_channel(
    app_factory: AppFactory, line: str
) -> None:
    """`!journal write: I ...` is removed; without the space after the colon the words stay
    in the channel and the member is told nothing of it (or only "`!journal write:i` is not
    a command", quoting their first word)."""
    _app, fake = await app_factory.on_platform(["general", "journal"])
    said = await fake.say("ana", line)
    told = private_to(said, "ana")
    assert fake.typed[-1].removed or "still there" in told, (line, said)
    assert ":i`" not in told and ",i`" not in told, told


@pytest.mark.parametrize("line", ["!journal writeRelapsed again"])
async def test_the_private_answer_never_quotes_a_word_run_into_the_command(
    app_factory: AppFactory, line: str
) -> None:
    """The answer read "I don't know the command `journal writeRelapsed`": the member's own
    word, quoted back (the note promises never to quote the words)."""
    _app, fake = await app_factory.on_platform(["general", "journal"])
    said = await fake.say("ana", line)
    assert "relapsed" not in private_to(said, "ana").lower(), said


@pytest.mark.parametrize(
    "line", ["! journal rite of passage tonight", "! group rite of passage for us all"]
)
async def test_an_english_word_after_a_loose_prefix_is_not_a_typo(
    app_factory: AppFactory, line: str
) -> None:
    """`rite` is a word, not `write` with a letter left out: after a loose prefix (shared
    with chat and other bots) the message was deleted and answered "Did you mean"."""
    _app, fake = await app_factory.on_platform(["general", "journal"])
    await fake.say("ana", "!group create Tuesday")
    said = await fake.say("ana", line)
    assert not fake.typed[-1].removed, (line, said)
