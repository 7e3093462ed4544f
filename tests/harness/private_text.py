"""Private words typed as commands in tests: words no answer of the bot contains by chance,
the command line that carries them, and a command name as a member mistypes it. Shared by
tests/test_private_text.py and tests/e2e/test_discord_private_typos.py."""

from __future__ import annotations

from hypothesis import strategies as st

from bot.core.commands import CommandSpec, OptionType

# Words no answer of the bot contains by chance (no vowels), so finding one is an echo.
WORD = st.text("bcdfghjklmnpqrstvwxz", min_size=6, max_size=12)
WORDS = st.lists(WORD, min_size=1, max_size=12).map(" ".join)


def line_for(spec: CommandSpec, words: str) -> str:
    """`!path` with a plausible value for each required option before the private one (an
    entry id that names nothing, a number), then the member's words; named (`mood:"..."`)
    when an optional option before it would take them by position (`journal list`'s dates)."""
    parts = [f"!{spec.name}"]
    for option in spec.options:
        if option.private_text:
            return " ".join([*parts, words])
        if option.required or option.type is OptionType.INTEGER:
            parts.append("6" if option.type is OptionType.INTEGER else "zzzzzz")
        else:
            named = next(o for o in spec.options if o.private_text)
            return " ".join([*parts, f'{named.name}:"{words}"'])
    return " ".join([*parts, words])


def mistyped(name: str, how: str) -> str:
    """`name` as a member mistypes it: a letter left off the end, its last two letters
    swapped, or a colon after it."""
    if how == "short":
        return name[:-1]
    if how == "swapped":
        return name[:-2] + name[-1] + name[-2]
    return name + ":"


def private_groups(specs: list[CommandSpec], cogs: set[str]) -> list[str]:
    """The names of the command groups (`journal`, `group`, `urge`, `toolbox`...) holding a
    command of one of `cogs`, as typed after the prefix."""
    return sorted(
        {" ".join(s.path[:n]) for s in specs if s.cog in cogs for n in range(1, len(s.path))}
    )
