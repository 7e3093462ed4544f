"""Encryption at rest for what members write (journal bodies, worksheet answers, DM answers).

Fernet tokens in an `EncryptedText` column; MultiFernet so an old key keeps decrypting while a
new one encrypts (rotation). The keyring is process-wide because SQLAlchemy column types are
created at import time, before the app has read its config.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Dialect, Text
from sqlalchemy.types import TypeDecorator


class KeyringError(Exception):
    """No usable key, or a token that no configured key can read."""


class Keyring:
    """The configured keys; the first encrypts, all decrypt."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise KeyringError("no encryption key configured")
        try:
            self._fernets = [Fernet(k.encode() if isinstance(k, str) else k) for k in keys]
        except (ValueError, TypeError) as exc:
            raise KeyringError(
                "an encryption key is not valid (it must be 32 url-safe base64-encoded bytes; "
                "make one with `circlebot generate-key`)"
            ) from exc
        self._multi = MultiFernet(self._fernets)

    def encrypt(self, plaintext: str) -> str:
        """Encrypt with the newest key."""
        return self._multi.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Decrypt with whichever configured key made the token."""
        try:
            return self._multi.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise KeyringError("stored text cannot be decrypted with the configured keys") from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt a token under the newest key."""
        return self._multi.rotate(token.encode("ascii")).decode("ascii")


_keyring: Keyring | None = None


def use_keys(keys: Sequence[str]) -> Keyring:
    """Install the process-wide keyring (the app does this before touching the database)."""
    global _keyring
    _keyring = Keyring(keys)
    return _keyring


def keyring() -> Keyring:
    """The installed keyring; refuses to store anything when none is configured."""
    if _keyring is None:
        raise KeyringError("encryption keys are not loaded")
    return _keyring


def generate_key() -> str:
    """A fresh Fernet key as text."""
    return Fernet.generate_key().decode("ascii")


def load_or_create_key_file(path: Path) -> tuple[list[str], bool]:
    """Read keys (one per line, newest first) or create the file with 0600 permissions.

    Returns the keys and whether the file was just created, so the caller can say so.
    """
    if path.exists():
        keys = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        return keys, False
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return [key], True


class EncryptedText(TypeDecorator[str]):
    """A text column whose value is stored as a Fernet token, never as plaintext."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else keyring().encrypt(value)

    def process_result_value(self, value: Any | None, dialect: Dialect) -> str | None:
        return None if value is None else keyring().decrypt(str(value))
