"""Files members send: a command sent as a reply to an uploaded file gets that file.

The file is downloaded (and decrypted, in an encrypted room) only when the core reads it, after
it has checked the size the event announces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nio import (
    AsyncClient,
    MemoryDownloadResponse,
    RoomEncryptedMedia,
    RoomGetEventResponse,
    RoomMessageMedia,
)
from nio.crypto.attachments import decrypt_attachment
from nio.exceptions import EncryptionError

from bot.core.errors import ArgumentError
from bot.i18n import _


@dataclass(frozen=True)
class MatrixFile:
    """A file a command replied to; downloaded (and decrypted) only when the core reads it."""

    client: AsyncClient
    url: str
    filename: str
    size: int  # from the event's info; 0 when missing (the core checks the bytes too)
    content_type: str | None
    encryption: dict[str, Any] | None = None  # key, hashes and iv of an encrypted file

    async def read(self) -> bytes:
        """The file's bytes from the homeserver.

        Raises:
            ArgumentError: the download failed or the file could not be decrypted.
        """
        response = await self.client.download(mxc=self.url)
        if not isinstance(response, MemoryDownloadResponse):
            raise ArgumentError(_("I couldn't fetch that file from the server. Please try again."))
        if self.encryption is None:
            return bytes(response.body)
        try:
            return bytes(
                decrypt_attachment(
                    response.body,
                    self.encryption["key"]["k"],
                    self.encryption["hashes"]["sha256"],
                    self.encryption["iv"],
                )
            )
        except (EncryptionError, KeyError, TypeError):
            raise ArgumentError(
                _("I couldn't decrypt that file. Please upload it again.")
            ) from None


async def replied_file(client: AsyncClient, room_id: str, event_id: str) -> MatrixFile | None:
    """The file the event `event_id` holds, or None when it is not a file (or one the bot
    could not decrypt)."""
    response = await client.room_get_event(room_id, event_id)
    event = response.event if isinstance(response, RoomGetEventResponse) else None
    if not isinstance(event, RoomMessageMedia | RoomEncryptedMedia):
        return None
    content = event.source.get("content", {})
    info = content.get("info") if isinstance(content.get("info"), dict) else {}
    size = info.get("size")
    return MatrixFile(
        client,
        event.url,
        str(content.get("filename") or event.body or "file"),
        size if isinstance(size, int) else 0,
        info.get("mimetype") if isinstance(info.get("mimetype"), str) else None,
        content.get("file") if isinstance(event, RoomEncryptedMedia) else None,
    )
