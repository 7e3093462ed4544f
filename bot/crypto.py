"""Encryption at rest for what members write (journal bodies, worksheet answers, DM answers).

Fernet tokens in an `EncryptedText` column; MultiFernet so an old key keeps decrypting while a
new one encrypts (rotation). The keyring is process-wide because SQLAlchemy column types are
created at import time, before the app has read its config.

Also here: the keyed hash (`actor_tag`) used wherever an account id must be recognisable
without being readable (row keys, log lines). A plain SHA-256 of an account id is joinable by
anyone who can hash the ids in the member table; an HMAC under a secret that only the
encryption keys unlock is not. And the helpers that create files and folders holding member
data readable by their owner only.
"""

from __future__ import annotations

import hashlib
import hmac
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
        self._raw = [k.encode() if isinstance(k, str) else bytes(k) for k in keys]
        self._newest = self._raw[0]

    def encrypt(self, plaintext: str) -> str:
        """Encrypt with the newest key."""
        return self._multi.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Decrypt with whichever configured key made the token."""
        try:
            return self._multi.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise KeyringError("stored text cannot be decrypted with the configured keys") from exc

    def encrypt_key_material(self) -> bytes:
        """A digest of the newest key (never the key itself), to derive other secrets from."""
        return hashlib.sha256(self._newest).digest()

    def key_materials(self) -> list[bytes]:
        """A digest of every configured key (never the keys), the newest first, to derive
        secrets that must follow the keys (the journal's search index key)."""
        return [hashlib.sha256(raw).digest() for raw in self._raw]

    def rotate(self, token: str) -> str:
        """Re-encrypt a token under the newest key."""
        return self._multi.rotate(token.encode("ascii")).decode("ascii")


_keyring: Keyring | None = None


def use_keys(keys: Sequence[str]) -> Keyring:
    """Install the process-wide keyring (the app does this before touching the database)."""
    global _keyring, _tag_secret
    _keyring = Keyring(keys)
    _tag_secret = None  # the database these keys open installs its own (bot/keycheck.py)
    return _keyring


def keyring() -> Keyring:
    """The installed keyring; refuses to store anything when none is configured."""
    if _keyring is None:
        raise KeyringError("encryption keys are not loaded")
    return _keyring


def key_materials() -> list[bytes]:
    """A digest of every configured key, the newest first (see `Keyring.key_materials`).

    Raises:
        KeyringError: no keys are loaded.
    """
    return keyring().key_materials()


def generate_key() -> str:
    """A fresh Fernet key as text."""
    return Fernet.generate_key().decode("ascii")


# ---------------------------------------------------------------------- keyed hash

TAG_SECRET_BYTES = 32
_tag_secret: bytes | None = None


def use_tag_secret(secret: bytes) -> None:
    """Install the secret `actor_tag` keys its HMAC with (the app's key check unlocks it).

    Raises:
        ValueError: when the secret is shorter than 32 bytes.
    """
    global _tag_secret
    if len(secret) < TAG_SECRET_BYTES:
        raise ValueError("the tag secret must be at least 32 bytes")
    _tag_secret = bytes(secret)


def _secret() -> bytes:
    if _tag_secret is not None:
        return _tag_secret
    # A process that has not opened a database (a tool, a unit test) still must not fall back
    # to a plain hash: derive a secret from the newest key instead. The app installs the
    # database's own secret at start, which stays the same across key rotation.
    newest = keyring().encrypt_key_material()
    return hmac.new(newest, b"circlebot actor tag", hashlib.sha256).digest()


def actor_tag(actor_key: str, purpose: str, *, length: int = 16) -> str:
    """A keyed, stable stand-in for an account id: hex of HMAC-SHA256(secret, purpose|key).

    Args:
        actor_key: the account key (`discord:1234`).
        purpose: what the tag is for (`log`, `matrix.recent`, `meetings.dm`); tags made for
            different purposes cannot be joined with each other.
        length: hex characters returned (4 to 64).

    Without the encryption keys nobody can compute a tag from a known account id, so a reader
    of the database or the logs cannot tell whose it is.
    """
    return keyed_digest(actor_key, purpose, length=length)


def keyed_digest(text: str, purpose: str, *, length: int = 64) -> str:
    """Hex of HMAC-SHA256(secret, purpose|text), cut to `length` characters (4 to 64).

    Equal texts give equal digests under one secret (the tag secret, which key rotation keeps);
    without the secret, nobody can compute one from a guessed text. Digests made for different
    purposes cannot be joined.

    Raises:
        ValueError: when `length` is outside 4 to 64.
    """
    if not 4 <= length <= 64:
        raise ValueError("length must be between 4 and 64")
    digest = hmac.new(_secret(), f"{purpose}|{text}".encode(), hashlib.sha256)
    return digest.hexdigest()[:length]


# ---------------------------------------------------------------------- private files

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) readable only by the owner; returns it.

    A folder that already exists is left as it is: it may be shared on purpose (`data/`).
    """
    if not path.exists():
        path.mkdir(parents=True, mode=PRIVATE_DIR_MODE, exist_ok=True)
        path.chmod(PRIVATE_DIR_MODE)  # mkdir's mode is reduced by the umask
    return path


def private_file(path: Path) -> None:
    """Create an empty file readable only by its owner; an existing file is left as it is."""
    if path.exists():
        return
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return  # another process made it just now
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to a file only its owner can read (0600), replacing what was there."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), PRIVATE_FILE_MODE)
        handle.write(data)


def load_or_create_key_file(path: Path, *, create: bool = True) -> tuple[list[str], bool]:
    """Read keys (one per line, newest first) or create the file with 0600 permissions.

    Returns the keys and whether the file was just created, so the caller can say so.

    Raises:
        KeyringError: the file is missing and `create` is False.
    """
    if path.exists():
        keys = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        return keys, False
    if not create:
        raise KeyringError(f"the key file {path} does not exist")
    private_dir(path.parent)
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
