"""The journal's blind search index: keyed hashes of normalised words, never the words.

Entries are encrypted at rest, so a plain word index would give away what they say. Each row
here holds only `HMAC-SHA256(key, author | word)` cut to 64 bits, for every distinct normalised
word of an entry's title and body. Search hashes the words asked for the same way and looks
them up; nothing is decrypted except the entries shown.

The key is derived from the configured encryption keys (which live outside the database), so
someone holding the database alone can compute no hash for a word they guess. What the rows
still show them (the README's Privacy section says it for members): how many distinct words
each entry has, which entries of one author share a word (and so how often each of an
author's words is used), and which entries are indexed under which key. The author is part
of every hash, so the same word written by two members gives two unrelated hashes.

Every configured key has its own index key. Rows are written under the newest; search asks
under all of them, so entries still indexed under an older key are found while the journal
re-indexes them after a key change (`entries_to_reindex`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Callable

from bot.core import key_materials

INDEX_PURPOSE = b"circlebot journal search index"
WORD_MAX_CHARS = 64  # longer runs are cut: a pasted link or hash is still found by its start

# Letters and digits of any script; apostrophes and the like split words ("don't" is "don" and
# "t" on both sides of a search, so it still matches itself).
_WORD = re.compile(r"\w+")
# Scripts written without spaces between words: each character counts as a word, so a
# search for two characters finds entries holding both (a word index cannot do better without
# a dictionary per language).
_UNSPACED = re.compile(
    "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f\u0e80-\u0eff"
    "\u1000-\u109f\u1780-\u17ff\uac00-\ud7af]"
)


def normalise(text: str) -> str:
    """Text as search compares it: compatibility forms unified, accents dropped, case folded.

    `Café`, `CAFE` and `café` (composed or not) all become `cafe`; `Straße` becomes `strasse`;
    full-width `ＡＢＣ` becomes `abc`.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFKC", bare.casefold())


def words(text: str) -> set[str]:
    """The distinct normalised words of `text` (see `normalise`); punctuation separates."""
    found: set[str] = set()
    for run in _WORD.findall(normalise(text)):
        if _UNSPACED.search(run):
            for part in _UNSPACED.split(run):
                if part:
                    found.add(part[:WORD_MAX_CHARS])
            found.update(_UNSPACED.findall(run))
        else:
            found.add(run[:WORD_MAX_CHARS])
    return found


def entry_words(title: str | None, body: str) -> set[str]:
    """What an entry is found by: the words of its title and its body."""
    return words(f"{title or ''}\n{body}")


def _index_keys() -> list[bytes]:
    """One index key per configured encryption key, the newest first."""
    return [
        hmac.new(material, INDEX_PURPOSE, hashlib.sha256).digest() for material in key_materials()
    ]


def _key_id(key: bytes) -> int:
    digest = hmac.new(key, b"key id", hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big", signed=True)  # fits an INTEGER column


def key_id() -> int:
    """A short number naming the newest index key (stored per entry; says nothing of it)."""
    return _key_id(_index_keys()[0])


def key_ids() -> list[int]:
    """The numbers of every configured key's index key, the newest first."""
    return [_key_id(key) for key in _index_keys()]


def _hash(key: bytes, author_key: str, word: str) -> int:
    return _hasher(key, author_key)(word)


def _hasher(key: bytes, author_key: str) -> Callable[[str], int]:
    """HMAC-SHA256(key, author | word) cut to a signed 64-bit number (a BIGINT column); the
    HMAC state after the author is computed once and copied for each word."""
    base = hmac.new(key, f"{author_key}\x1f".encode(), hashlib.sha256)

    def code(word: str) -> int:
        mac = base.copy()
        mac.update(word.encode())
        return int.from_bytes(mac.digest()[:8], "big", signed=True)

    return code


def entry_hashes(author_key: str, title: str | None, body: str) -> set[int]:
    """The index rows' values for one entry, under the newest key."""
    code = _hasher(_index_keys()[0], author_key)
    return {code(word) for word in entry_words(title, body)}


def query_hashes(author_key: str, text: str) -> list[set[int]]:
    """For each distinct word asked for, its hashes under every configured key.

    An entry matches when, for every word, it has a row with one of that word's hashes.
    """
    keys = _index_keys()
    return [{_hash(key, author_key, word) for key in keys} for word in sorted(words(text))]
