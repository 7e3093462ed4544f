"""Commands named in a message are spelled as the platform types them (`spell_commands`)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bot.adapters.discord.commands import discord_paths
from bot.core.message import Card, Command, Field, Message, spell_commands
from tests.harness.app import AppFactory, make_config

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


def _texts() -> Iterator[tuple[str, str]]:
    """Every translatable text (`_("...")`) in the product, with where it is."""
    root = Path(__file__).parents[1]
    for source in sorted([*(root / "bot").rglob("*.py"), *(root / "cogs").rglob("*.py")]):
        for node in ast.walk(ast.parse(source.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "_"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                yield f"{source.relative_to(root)}:{node.lineno}", node.args[0].value


async def test_texts_and_descriptions_name_commands_with_their_prefix(
    app_factory: AppFactory,
) -> None:
    # `spell_commands` renames only code that starts with the prefix (`{prefix}script list`):
    # a command named without it (`script list`) keeps its text-platform words on Discord,
    # where staff commands have their own top-level command (`/script-facilitator list`).
    app = await app_factory(make_config())
    moved = discord_paths(app.registry.specs)
    paths = {path for path, words in moved.items() if words != path}
    texts = list(_texts())
    texts += [(spec.name, spec.description) for spec in app.registry.specs]
    texts += [(spec.name, o.description) for spec in app.registry.specs for o in spec.options]
    bare = []
    for where, text in texts:
        for code in re.findall(r"`([^`]+)`", text):
            words = tuple(code.split(" "))
            if any(words[: len(path)] == path for path in paths):
                bare.append(f"{where}: `{code}`")
    assert paths and texts and not bare, f"commands Discord renames, named bare: {bare}"


_SPELLING_TEXT = st.text(alphabet=st.sampled_from("/!` crisisverifywatchon#\n"), max_size=40)


@given(
    st.lists(
        st.one_of(_SPELLING_TEXT, _SPELLING_TEXT.map(Command)),
        max_size=4,
    ),
    st.one_of(st.none(), _SPELLING_TEXT.map(lambda t: Card(t, t, (Field(t, t),), t))),
    st.sampled_from(["!", "/"]),
)
def test_the_quick_answer_for_a_message_naming_no_command_is_the_full_one(
    parts: list[str | Command], card: Card | None, prefix: str
) -> None:
    """A message without a command part, a card or the prefix is handed back at once; whatever
    the message, that is what spelling every part gives."""
    from bot.core.message import _spell_every_part

    message = Message(text=tuple(parts), card=card)
    assert spell_commands(message, prefix, discord_words) == _spell_every_part(
        message, prefix, discord_words
    )
