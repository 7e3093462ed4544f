"""Collects every cog's commands and resolves typed text to a command."""

from __future__ import annotations

import inspect
import itertools
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bot.core.commands import AutocompleteFn, CommandSpec, SpecError, names_helper
from bot.core.permissions import Tier

MAX_TOP_LEVEL = 100
MAX_SUBCOMMANDS = 25


@dataclass(frozen=True)
class Resolved:
    """A command found in a line of text, with the index of the first argument word."""

    spec: CommandSpec
    consumed: int


class Registry:
    """All commands of the loaded cogs, checked once at start-up."""

    def __init__(self) -> None:
        self._specs: dict[tuple[str, ...], CommandSpec] = {}
        self._text_paths: dict[tuple[str, ...], CommandSpec] = {}
        self._autocomplete: dict[tuple[tuple[str, ...], str], AutocompleteFn] = {}

    def add(
        self, spec: CommandSpec, autocomplete: dict[str, AutocompleteFn] | None = None
    ) -> None:
        """Register one command; the path must be new and must not clash with a group."""
        if spec.callback is None:
            raise SpecError(f"command {spec.name!r} has no callback")
        if spec.path in self._specs:
            raise SpecError(f"command {spec.name!r} is defined twice")
        for other in self._specs:
            shorter, longer = sorted((other, spec.path), key=len)
            if shorter != longer and longer[: len(shorter)] == shorter:
                raise SpecError(
                    f"{' '.join(shorter)!r} cannot be both a command and a group of commands"
                )
        self._check_signature(spec)
        self._specs[spec.path] = spec
        for path in (spec.path, *spec.aliases):
            self._text_paths[path] = spec
        for name, fn in (autocomplete or {}).items():
            self._autocomplete[(spec.path, name)] = fn
        self._check_limits()

    @staticmethod
    def _check_signature(spec: CommandSpec) -> None:
        assert spec.callback is not None
        params = list(inspect.signature(spec.callback).parameters.values())
        if not params:
            raise SpecError(f"command {spec.name!r}: the callback must take a context first")
        by_name = {p.name: p for p in params[1:]}
        wanted = {o.name for o in spec.options}
        if set(by_name) != wanted:
            missing = sorted(wanted - set(by_name))
            extra = sorted(set(by_name) - wanted)
            raise SpecError(
                f"command {spec.name!r}: callback parameters do not match options"
                f" (missing: {missing}, not options: {extra})"
            )
        for o in spec.options:
            has_default = by_name[o.name].default is not inspect.Parameter.empty
            if o.required == has_default:
                state = "required" if o.required else "optional"
                raise SpecError(
                    f"command {spec.name!r}: option {o.name!r} is {state} but its parameter"
                    f" {'has' if has_default else 'has no'} default"
                )

    def _check_limits(self) -> None:
        tops = {p[0] for p in self._specs}
        if len(tops) > MAX_TOP_LEVEL:
            raise SpecError(f"more than {MAX_TOP_LEVEL} top-level commands")
        children: dict[tuple[str, ...], set[str]] = {}
        for path in self._specs:
            for depth in range(1, len(path)):
                children.setdefault(path[:depth], set()).add(path[depth])
        for group, kids in children.items():
            if len(kids) > MAX_SUBCOMMANDS:
                raise SpecError(f"group {' '.join(group)!r} has more than {MAX_SUBCOMMANDS}")

    @property
    def specs(self) -> list[CommandSpec]:
        """Every command, sorted by path."""
        return [self._specs[p] for p in sorted(self._specs)]

    def get(self, path: Iterable[str]) -> CommandSpec | None:
        """The command at exactly this path."""
        return self._specs.get(tuple(path))

    def autocomplete(self, spec: CommandSpec, option: str) -> AutocompleteFn | None:
        """The suggestion function for one option, if the cog offers one."""
        return self._autocomplete.get((spec.path, option))

    def names(self, spec: CommandSpec, option: str) -> AutocompleteFn | None:
        """The method giving the names an `Option.names` option may be typed as, if any."""
        return self._autocomplete.get((spec.path, names_helper(option)))

    def visible_to(self, tier: Tier) -> list[CommandSpec]:
        """Commands a member of this tier may run (what `help` lists)."""
        return [s for s in self.specs if s.tier <= tier]

    def group(self, prefix: tuple[str, ...]) -> list[CommandSpec]:
        """Commands under a group, e.g. everything under `meeting`."""
        return [s for s in self.specs if s.path[: len(prefix)] == prefix]

    def resolve(self, words: list[str]) -> Resolved | None:
        """Find the longest command path at the start of `words`.

        Words are compared after Unicode NFKC folding and case folding, so full-width letters
        from CJK keyboards (`ｃｒｉｓｉｓ`) and any case match; a hyphenated name typed with
        spaces (`help now` for `help-now`) matches too, the exact split winning a tie.
        """
        folded = [fold_word(w) for w in words[:3]]
        for length in range(min(3, len(folded)), 0, -1):
            for path in _hyphen_joins(folded[:length]):
                spec = self._text_paths.get(path)
                if spec is not None:
                    return Resolved(spec, length)
        # A bare group name on a text platform runs the group's default command, if any; a
        # word after it is that command's value only when it takes one (`!toolbox 2`), so an
        # unknown subcommand (`!me blah`) is not read as the default (None: it is unknown).
        for length in range(min(2, len(folded)), 0, -1):
            prefix = tuple(folded[:length])
            for spec in self.group(prefix):
                if spec.text_default and len(spec.path) == length + 1:
                    if len(words) > length and not spec.options:
                        return None
                    return Resolved(spec, length)
        return None


def fold_word(word: str) -> str:
    """A typed command word as registered names are spelled: NFKC-folded, case-folded."""
    return unicodedata.normalize("NFKC", word).casefold()


def _hyphen_joins(words: list[str]) -> Iterator[tuple[str, ...]]:
    """Every path the words can spell with some adjacent pairs joined by `-`, fewest joins
    first (`["help", "now"]` gives `("help", "now")`, then `("help-now",)`)."""
    gaps = len(words) - 1
    for joins in range(gaps + 1):
        for joined in itertools.combinations(range(gaps), joins):
            path = [words[0]]
            for index, word in enumerate(words[1:]):
                if index in joined:
                    path[-1] += "-" + word
                else:
                    path.append(word)
            yield tuple(path)
