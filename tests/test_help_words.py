"""A command's help as a member reads it: whole sentences, never cut where the source wrapped.

The help of a command is the first paragraph of its docstring (lines up to the first blank
one, joined with spaces). `help`, `help COMMAND` and the catalogue show it whole; Discord's
slash-command list, limited to 100 characters, shows its leading whole sentences, or as many
whole words as fit followed by an ellipsis.
"""

from __future__ import annotations

import inspect
import textwrap

import discord
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters.discord.commands import build_tree
from bot.core.commands import MAX_DESCRIPTION, CommandSpec, description_of, fit_description
from bot.core.permissions import Scope, Tier
from bot.i18n_extract import declared_texts
from cogs.meetings import cog as meetings
from tests.harness.app import AppFactory
from tests.harness.discord import NoHandler

# How a sentence of help may end: a full stop, a question, a closing bracket or quote.
SENTENCE_END = (".", "?", "!", ")", "`", "'", '"')
WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz'", min_size=1, max_size=14)
SENTENCE = st.builds(
    lambda words, end: " ".join(words) + end,
    st.lists(WORD, min_size=1, max_size=25),
    st.sampled_from([".", "?", "!", ";", ","]),
)


def docstring_of(spec: CommandSpec) -> str:
    assert spec.callback is not None, spec.name
    return inspect.getdoc(spec.callback) or ""


def slash_descriptions(entry: dict[str, object]) -> list[str]:
    """The description of every runnable command under one synced top-level entry."""
    subs = [o for o in entry.get("options") or [] if isinstance(o, dict) and o["type"] in (1, 2)]
    if not subs:
        return [str(entry["description"])]
    return [d for sub in subs for d in slash_descriptions(sub)]


async def test_every_command_explains_itself_in_whole_sentences(app_factory: AppFactory) -> None:
    app, fake = await app_factory.on_platform(actors={"mod": Tier.MODERATOR})
    specs = list(app.registry.specs)
    assert len(specs) > 50
    listed = (await fake.say("mod", "!help"))[0].text
    for spec in specs:
        # What the source says, read whole: the wrapped lines of the first paragraph.
        paragraph = " ".join(docstring_of(spec).split("\n\n")[0].split())
        assert spec.description == paragraph, spec.name
        assert spec.description.endswith(SENTENCE_END), (spec.name, spec.description)
        explained = (await fake.say("mod", f"!help {spec.name}"))[0]
        assert explained.message.card is not None, spec.name
        assert explained.message.card.title == spec.description
        if spec.scope is not Scope.DM:
            assert f"`!{spec.name}`: {spec.description}" in listed, spec.name


async def test_meeting_delete_help_reads_to_the_end_of_its_sentence(
    app_factory: AppFactory,
) -> None:
    _app, fake = await app_factory.on_platform(actors={"mod": Tier.MODERATOR})
    text = (await fake.say("mod", "!help meeting delete"))[0].text
    assert "pending announcements are withdrawn. A meeting with dates to come" in text
    assert "which can be undone." in text


async def test_every_slash_description_fits_and_ends_cleanly(app_factory: AppFactory) -> None:
    app, _fake = await app_factory.on_platform()
    specs = list(app.registry.specs)
    tree = build_tree(
        discord.Client(intents=discord.Intents.none()), specs, NoHandler(), lambda g: "Commands"
    )
    shown = [d for c in tree.get_commands() for d in slash_descriptions(c.to_dict(tree))]
    assert len(shown) >= len(specs)
    wanted = {spec.slash_description for spec in specs}
    for spec in specs:
        slash = spec.slash_description
        assert 1 <= len(slash) <= MAX_DESCRIPTION, spec.name
        if slash.endswith("…"):
            kept = slash[:-1]
            assert spec.description.startswith(kept), spec.name
            assert spec.description[len(kept)] == " " or not kept[-1].isalnum(), spec.name
        else:
            assert spec.description.startswith(slash), spec.name
            assert slash.endswith(SENTENCE_END), (spec.name, slash)
    assert wanted <= set(shown)
    delete = next(s for s in specs if s.name == "meeting delete")
    assert delete.slash_description == (
        "Delete a meeting with its RSVPs; pending announcements are withdrawn."
    )


def test_the_catalogue_holds_the_help_as_shown() -> None:
    texts = {text for _line, text in declared_texts(inspect.getsource(meetings))}
    assert any(t.startswith("Delete a meeting with its RSVPs") for t in texts)
    delete = next(t for t in texts if t.startswith("Delete a meeting with its RSVPs"))
    assert delete.endswith("which can be undone.")


@settings(max_examples=200, deadline=None)
@given(
    sentences=st.lists(SENTENCE, min_size=1, max_size=6),
    width=st.integers(min_value=20, max_value=100),
    rest=st.text(alphabet="abc \n", max_size=40),
)
def test_a_wrapped_first_paragraph_is_read_whole(
    sentences: list[str], width: int, rest: str
) -> None:
    paragraph = " ".join(sentences)
    doc = textwrap.fill(paragraph, width) + "\n\n" + rest
    assert description_of(doc) == paragraph


@settings(max_examples=300, deadline=None)
@given(
    sentences=st.lists(SENTENCE, min_size=1, max_size=6),
    limit=st.integers(min_value=20, max_value=MAX_DESCRIPTION),  # longer than any word
)
def test_a_fitted_description_is_whole_sentences_or_whole_words_and_an_ellipsis(
    sentences: list[str], limit: int
) -> None:
    text = " ".join(sentences)
    fitted = fit_description(text, limit)
    assert 1 <= len(fitted) <= limit
    if len(text) <= limit:
        assert fitted == text
    elif fitted.endswith("…"):
        kept = fitted[:-1]
        assert text.startswith(kept)
        assert text[len(kept)] in " ,;"  # the cut falls between words
        assert not kept.endswith((" ", ",", ";"))
    else:
        assert text.startswith(fitted)
        assert fitted.endswith((".", "?", "!"))
        assert text[len(fitted)] == " "
