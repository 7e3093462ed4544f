"""Every word a member reads is in the translation template (data/locale/circlebot.pot).

The template is made by `make template` (bot/i18n_extract.py, with the extractors babel.cfg
names); this test fails when a text was added or changed without extracting again, or when the
extractors miss a kind of text (command help, option descriptions, cog descriptions, data-file
texts).
The crisis answer's sentences (data/crisis/answers.toml) are the one exception: they are
translated and reviewed per language in that file (its header says why).
"""

from __future__ import annotations

import inspect
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from bot.core.commands import spec_of
from bot.core.loader import available_cogs, cog_class
from bot.i18n_extract import build_template
from bot.paths import DATA_DIR
from cogs.journal.prompts import load_prompts
from cogs.scripts.script import load_directory
from cogs.worksheets.definitions import load_all

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "data" / "locale" / "circlebot.pot"


def template_ids() -> set[str]:
    with TEMPLATE.open("rb") as handle:
        catalog = read_po(handle)
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}


def declared_texts() -> dict[str, str]:
    """text -> where it comes from, for every text the running bot shows from declarations."""
    found: dict[str, str] = {}
    for name in available_cogs():
        cls = cog_class(name)
        found[cls.description] = f"cogs.{name} description"
        found[cls.data_statement] = f"cogs.{name} data_statement"
        for attr, member in inspect.getmembers(cls):
            spec = spec_of(member)
            if spec is None:
                continue
            found[spec.description] = f"help of `{spec.name}` ({attr})"
            for option in spec.options:
                found[option.description] = f"option `{option.name}` of `{spec.name}`"
    return found


def data_texts() -> dict[str, str]:
    found: dict[str, str] = {}
    scripts, problems = load_directory(DATA_DIR / "scripts")
    assert problems == []
    for script in scripts.values():
        for text in (script.title, script.description):
            found[text] = f"script {script.name}"
        for step in script.steps:
            for text in (step.text, *step.prompts):
                found[text] = f"script {script.name}, step {step.id}"
    sheets, sheet_problems = load_all(DATA_DIR / "worksheets")
    assert sheet_problems == []
    for sheet in sheets.values():
        for text in (sheet.title, sheet.summary, sheet.intro):
            found[text] = f"worksheet {sheet.id}"
        if sheet.flags is not None:
            found[sheet.flags.note] = f"worksheet {sheet.id}, flags"
        for step in sheet.steps:
            for text in (step.prompt, step.hint, *(c.label for c in step.choices)):
                found[text] = f"worksheet {sheet.id}, step {step.id}"
    prompts, prompt_problems = load_prompts()
    assert prompt_problems == []
    for prompt in prompts:
        found[prompt.text] = f"journal prompt {prompt.id}"
    found.pop("", None)
    return found


def test_every_declared_and_data_text_is_in_the_template() -> None:
    known = template_ids()
    texts = {**declared_texts(), **data_texts()}
    missing = sorted(f"{where}: {text!r}" for text, where in texts.items() if text not in known)
    assert missing == [], "run `make template`:\n" + "\n".join(missing[:20])


def test_every_marked_string_in_the_code_is_in_the_template() -> None:
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    known = template_ids()
    missing: list[str] = []
    for filename, line, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map
    ):
        text = message if isinstance(message, str) else message[0]
        if text and text not in known:
            missing.append(f"{filename}:{line}: {text!r}")
    assert missing == [], "run `make template`:\n" + "\n".join(missing[:20])


def test_making_the_template_again_on_the_same_tree_changes_nothing() -> None:
    """`make template` is deterministic: no date or file order leaks into the bytes, so two
    branches that regenerate it do not conflict and an unchanged tree gives no diff."""
    made = build_template(ROOT)
    assert made == build_template(ROOT)
    assert made == TEMPLATE.read_bytes(), "run `make template`"
