"""Commands named in a message are spelled as the platform types them (`spell_commands`)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.core.message import Card, Command, Field, Message, spell_commands

MOVED = {
    ("crisis", "verify"): ("crisis-mod", "verify"),
    ("crisis", "watch", "on"): ("crisis-mod", "watch", "on"),
}


def discord_words(path: tuple[str, ...]) -> tuple[str, ...]:
    return MOVED.get(path, path)


def same_words(path: tuple[str, ...]) -> tuple[str, ...]:
    return path


@given(st.text(), st.sampled_from(["!", "/", "?"]))
def test_a_platform_that_types_paths_gets_the_message_back_unchanged(
    text: str, prefix: str
) -> None:
    message = Message(text=(text, Command("crisis verify x")), card=Card(text, text))
    assert spell_commands(message, prefix, same_words) is message


def test_moved_commands_are_renamed_in_code_text_commands_and_cards() -> None:
    message = Message(
        text=(
            "Check with `/crisis verify ID`, then `/crisis watch on #general`; ",
            Command("crisis verify"),
        ),
        card=Card("t", "`/crisis now` stays", fields=(Field("f", "`/crisis verify`"),)),
    )
    spelled = spell_commands(message, "/", discord_words)
    assert spelled.text == (
        "Check with `/crisis-mod verify ID`, then `/crisis-mod watch on #general`; ",
        Command("crisis-mod verify"),
    )
    assert spelled.card == Card(
        "t", "`/crisis now` stays", fields=(Field("f", "`/crisis-mod verify`"),)
    )
    # Already spelled, and text outside code or with another prefix, stay as they are.
    again = spell_commands(spelled, "/", discord_words)
    assert again == spelled
    plain = Message(text=("crisis verify and `!crisis verify`",))
    assert spell_commands(plain, "/", discord_words) is plain
