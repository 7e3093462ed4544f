"""The Matrix set-up guide names config keys exactly as the config reads them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from bot.config import MatrixCommunityConfig, MatrixConfig

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "matrix.md"


def test_every_key_in_the_guides_table_is_a_matrix_setting() -> None:
    text = GUIDE.read_text()
    named = set(re.findall(r"^\| `([a-z_]+)`", text, flags=re.MULTILINE))
    assert len(named) >= 8  # the table was found
    assert named <= set(MatrixConfig.model_fields)


def test_keys_written_as_matrix_dot_key_exist() -> None:
    text = GUIDE.read_text()
    named = set(re.findall(r"`matrix\.([a-z_]+)`", text))
    assert named <= set(MatrixConfig.model_fields)


def test_the_communities_example_is_valid_config() -> None:
    text = GUIDE.read_text()
    block = re.search(r"```toml\n(.*?)```", text, flags=re.DOTALL)
    assert block is not None
    parsed = tomllib.loads(block.group(1))
    for entry in parsed["matrix"]["communities"]:
        MatrixCommunityConfig.model_validate(entry)
