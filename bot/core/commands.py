"""Declarative commands: one spec renders as `/meeting schedule` and `!meeting schedule`.

Discord's limits are checked when a spec is defined, so a cog that would break slash-command
sync fails at import time with a clear message instead of at a moderator's first restart.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

from bot.core.permissions import Scope, Tier

if TYPE_CHECKING:
    from bot.core.context import Context

NAME_RE = re.compile(r"^[-_\w]{1,32}$")
MAX_OPTIONS = 25
MAX_CHOICES = 25
MAX_DESCRIPTION = 100  # Discord's limit for a slash command's or an option's description
MAX_HELP = 256  # a command's help is the title of its `help COMMAND` card (a Discord embed)
MAX_DEPTH = 3
DEFAULT_MAX_LENGTH = 4000
DISCORD_MAX_STRING = 6000


class OptionType(Enum):
    """What kind of value an option takes."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    USER = "user"
    CHANNEL = "channel"  # a text channel or room the bot posts in
    ROLE = "role"  # a role of the community: its platform id, or the text typed for it
    DATETIME = "datetime"
    DURATION = "duration"
    CHOICE = "choice"
    ATTACHMENT = "attachment"  # a file; the callback gets a `bot.core.message.Attachment`


@dataclass(frozen=True)
class Choice:
    """One allowed value of a choice option."""

    value: str
    label: str = ""

    @property
    def display(self) -> str:
        """Label shown to people; else the value in words (`verified_at` reads `verified at`)."""
        return self.label or self.value.replace("_", " ")


class SpecError(ValueError):
    """A command or option definition breaks a platform limit."""


@dataclass(frozen=True)
class Option:
    """A typed command parameter."""

    name: str
    type: OptionType
    description: str
    required: bool = True
    choices: tuple[Choice, ...] = ()
    min_value: float | None = None
    max_value: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    autocomplete: str | None = None  # name of a cog method: (ctx, partial) -> list[Choice]
    # Others will see the value (a pseudonym, a meeting's name): when the member's words read
    # as a crisis phrase, the dispatcher answers them privately and does not run the command.
    published: bool = False
    # On text platforms, where options are positional words: a leading word fills this option
    # only when it names one of the autocomplete's choices for the member; otherwise the words
    # flow on into the options after it (`group write Week was hard` is all text when no group
    # of the member is called "Week").
    known_only: bool = False
    # On text platforms: a cog method `(ctx, partial) -> list[Choice]` whose values are the
    # names this option may be given by (a community's meeting titles). Several leading words
    # fill the option as one value when together they are one of these names, or the start,
    # word by word, of just one of them, and enough words are left for the required options
    # after it (`meeting rsvp Circle of friends` needs no quotes); otherwise it takes one word.
    # When the words fit two or more such readings that name different things (`Circle` and
    # `Circle next` both meet: `meeting move Circle next 2026-12-10 19:00`), nothing is
    # guessed: the member is asked which they meant, with each written unambiguously.
    names: str | None = None
    # On text platforms: a regular expression (matched whole, any case) a value typed in words
    # must fit for a reading of the line that puts it here to count, when the leading words
    # could fill an `Option.names` option in several ways (`next|all|\d{4}-\d{1,2}-\d{1,2}`
    # for a meeting's date). An unnamed word that reads as a date, time, length of time or
    # person (`bot.core.convert.reads_as`) fills this option only when it fits the shape, and
    # otherwise passes on to a later optional option that takes it. It only weighs readings
    # and places words; it never refuses a value.
    shape: str | None = None
    # On text platforms: a date and a time of day typed as separate words (`2026-12-10 19:00`,
    # `tomorrow 7pm`, `next tue 19:00`, a zone such as `Europe/Berlin` after them) fill this
    # option together, as one moment, without quotes. An unnamed word that reads as a date or
    # time passes over optional options that take no such word to the first one that does:
    # never into a free-text option such as a title (`bot.core.convert._assign`).
    moment: bool = False
    # A cog method `(ctx, value) -> None` raising `UserError` when the value names nothing or
    # several things (a meeting reference): when a later required option is missing, it runs
    # first, so the member is told to fix this value (which meeting?) before the missing one.
    check: str | None = None
    # The member's own words, kept for them alone (a journal entry, feedback, an urge's
    # details: what the product stores encrypted). Typed as text in a shared channel, the
    # message that carried them is removed where the bot may, and the member is told
    # privately what happened to it (see `Dispatcher.run`). Its command must answer privately.
    # Searches, filters, secrets (an invite or confirmation code) and an answer typed as an
    # argument count too: the words show what the member wrote or is dealing with. None is
    # "not declared", read as False; every word option of a command in a cog that keeps a
    # member's own words says True or False (tests/test_private_text.py enumerates them), so
    # a new command cannot leave its words in a shared channel by forgetting.
    private_text: bool | None = None

    def __post_init__(self) -> None:
        where = f"option {self.name!r}"
        if self.private_text and self.type is not OptionType.STRING:
            raise SpecError(f"{where}: private_text is for an option that takes words")
        if self.shape is not None:
            re.compile(self.shape)  # a broken pattern fails where the option is declared
        if self.moment and self.type is not OptionType.STRING:
            raise SpecError(f"{where}: moment is for a string option")
        if self.names and (self.known_only or self.type is not OptionType.STRING):
            raise SpecError(f"{where}: names is for a string option that is not known_only")
        if self.known_only and (self.required or not self.autocomplete):
            raise SpecError(f"{where}: known_only needs autocomplete and required=False")
        if not NAME_RE.match(self.name) or self.name != self.name.lower():
            raise SpecError(f"{where}: names are 1-32 lower-case letters, digits, - or _")
        if not 1 <= len(self.description) <= MAX_DESCRIPTION:
            raise SpecError(f"{where}: description must be 1-{MAX_DESCRIPTION} characters")
        if "(optional)" in self.description.lower():
            # help adds "(optional)" from `required`; saying it twice reads "(optional) (optional)"
            raise SpecError(f"{where}: `required` says whether it is optional, not the text")
        if len(self.choices) > MAX_CHOICES:
            raise SpecError(f"{where}: at most {MAX_CHOICES} choices")
        if self.type is OptionType.CHOICE and not self.choices:
            raise SpecError(f"{where}: a choice option needs choices")
        if self.choices and self.autocomplete:
            raise SpecError(f"{where}: choices and autocomplete cannot be combined")
        for c in self.choices:
            if not 1 <= len(c.display) <= 100 or not 1 <= len(c.value) <= 100:
                raise SpecError(f"{where}: choice names and values are 1-100 characters")
        if self.max_length is not None and not 1 <= self.max_length <= DISCORD_MAX_STRING:
            raise SpecError(f"{where}: max_length must be 1-{DISCORD_MAX_STRING}")
        if self.type is OptionType.ATTACHMENT and (
            self.choices
            or self.autocomplete
            or {self.min_value, self.max_value, self.min_length, self.max_length} != {None}
        ):
            raise SpecError(f"{where}: a file takes no choices, limits or autocomplete")

    @property
    def limit(self) -> int:
        """Longest text accepted for this option."""
        return self.max_length or DEFAULT_MAX_LENGTH


@dataclass(frozen=True)
class CommandSpec:
    """A command: its path, help text, options and who may run it where."""

    path: tuple[str, ...]
    description: str
    options: tuple[Option, ...] = ()
    tier: Tier = Tier.MEMBER
    scope: Scope = Scope.ANY
    ephemeral: bool = False
    text_default: bool = False  # `!me` alone runs `me show` on text platforms
    aliases: tuple[tuple[str, ...], ...] = ()  # extra text paths, e.g. ("help-now",)
    # The one-word aliases Discord also lists as slash commands of their own (None: every
    # one-word alias); the others are typed only (`!911` on text platforms, `/911` in a DM).
    slash_aliases: tuple[str, ...] | None = None
    slow: bool = False  # defer at once on platforms with a reply deadline
    dm: bool = False  # answers continue in the member's DMs (a dialogue, a private copy)
    callback: Callable[..., Awaitable[None]] | None = field(default=None, compare=False)
    cog: str = ""
    # the options' `Option.check` methods, bound to the cog, by option name
    checks: Mapping[str, CheckFn] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        where = f"command {' '.join(self.path)!r}"
        if not 1 <= len(self.path) <= MAX_DEPTH:
            raise SpecError(f"{where}: 1-{MAX_DEPTH} words")
        for word in (*self.path, *(w for a in self.aliases for w in a)):
            if not NAME_RE.match(word) or word != word.lower():
                raise SpecError(f"{where}: each word is 1-32 lower-case letters, digits, - or _")
        if not 1 <= len(self.description) <= MAX_HELP:
            raise SpecError(f"{where}: description must be 1-{MAX_HELP} characters")
        one_word = {a[0] for a in self.aliases if len(a) == 1}
        if self.slash_aliases is not None and not set(self.slash_aliases) <= one_word:
            raise SpecError(f"{where}: slash_aliases must be one-word aliases")
        if len(self.options) > MAX_OPTIONS:
            raise SpecError(f"{where}: at most {MAX_OPTIONS} options")
        names = [o.name for o in self.options]
        if len(set(names)) != len(names):
            raise SpecError(f"{where}: option names repeat")
        seen_optional = False
        for o in self.options:
            if o.required and seen_optional:
                raise SpecError(f"{where}: required options must come before optional ones")
            seen_optional = seen_optional or not o.required
        if self.private_options and not self.private:
            raise SpecError(f"{where}: a private_text option needs ephemeral=True or dm=True")

    @property
    def slash_description(self) -> str:
        """The help cut to fit Discord's slash-command list (`fit_description`)."""
        return fit_description(self.description)

    @property
    def private_options(self) -> tuple[Option, ...]:
        """The options carrying words meant for the member alone (`Option.private_text`)."""
        return tuple(o for o in self.options if o.private_text)

    @property
    def name(self) -> str:
        """The path as typed: `meeting schedule`."""
        return " ".join(self.path)

    @property
    def qualified(self) -> str:
        """The path as a dotted id for logs: `meeting.schedule`."""
        return ".".join(self.path)

    @property
    def private(self) -> bool:
        """Whether only the member sees the answers (ephemeral replies or DMs).

        A private command also acknowledges privately: where a platform shows that work is
        under way ("... is thinking"), nobody else learns that the member used it.
        """
        return self.ephemeral or self.dm or self.scope is Scope.DM

    def option(self, name: str) -> Option | None:
        """The option called `name`, if any."""
        return next((o for o in self.options if o.name == name), None)


_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")
_DANGLING = ",;:-–— "


def description_of(doc: str) -> str:
    """A command's help from its (cleaned) docstring: the first paragraph, the lines up to
    the first blank one, joined with single spaces, so a sentence wrapped in the source
    reads whole. `bot.i18n_extract` takes the same text into the catalogue."""
    paragraph: list[str] = []
    for line in doc.strip().splitlines():
        if not line.strip():
            break
        paragraph.append(line.strip())
    return " ".join(paragraph)


def fit_description(text: str, limit: int = MAX_DESCRIPTION) -> str:
    """`text` within `limit` characters for Discord: whole, else its leading whole sentences
    that fit, else cut after the last whole word that fits, marked with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    sentences = _SENTENCE_END.split(text)
    kept = ""
    for sentence in sentences:
        longer = f"{kept} {sentence}" if kept else sentence
        if len(longer) > limit:
            break
        kept = longer
    if kept:
        return kept
    head = text[:limit]  # room for the ellipsis: `limit - 1` characters and "…"
    cut = head.rfind(" ", 0, limit)
    words = (head[:cut] if cut > 0 else head[: limit - 1]).rstrip(_DANGLING)
    return words[: limit - 1] + "…"


F = TypeVar("F", bound=Callable[..., Awaitable[None]])

SPEC_ATTR = "__circlebot_command__"


def command(
    *path: str,
    options: tuple[Option, ...] | list[Option] = (),
    tier: Tier = Tier.MEMBER,
    scope: Scope = Scope.ANY,
    ephemeral: bool = False,
    text_default: bool = False,
    aliases: tuple[tuple[str, ...], ...] = (),
    slash_aliases: tuple[str, ...] | None = None,
    slow: bool = False,
    dm: bool = False,
) -> Callable[[F], F]:
    """Mark a cog method as a command. Its docstring's first paragraph is the help text
    (`description_of`).

    `ephemeral` (replies only the member sees) and `dm` (answers continue in the member's
    DMs) declare a private command; the core then keeps every trace of it private.
    """

    def decorate(func: F) -> F:
        spec = CommandSpec(
            path=tuple(path),
            description=description_of(inspect.getdoc(func) or ""),
            options=tuple(options),
            tier=tier,
            scope=scope,
            ephemeral=ephemeral,
            text_default=text_default,
            aliases=aliases,
            slash_aliases=slash_aliases,
            slow=slow,
            dm=dm,
        )
        setattr(func, SPEC_ATTR, spec)
        return func

    return decorate


def spec_of(obj: Any) -> CommandSpec | None:
    """The spec a `@command` decorator attached, if any."""
    spec = getattr(obj, SPEC_ATTR, None)
    return spec if isinstance(spec, CommandSpec) else None


Callback = Callable[..., Awaitable[None]]
AutocompleteFn = Callable[["Context", str], Awaitable[list[Choice]]]
CheckFn = Callable[["Context", str], Awaitable[None]]


def names_helper(option: str) -> str:
    """The key a cog's `Option.names` method is registered under beside its autocomplete
    helpers (option names never contain `:`, so the two cannot clash)."""
    return f"{option}:names"
