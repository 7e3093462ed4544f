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

from bot.core.commands import OptionType
from bot.core.convert import bind_text
from bot.core.dispatch import Incoming
from bot.core.errors import ArgumentError
from bot.i18n import _
from bot.platform import Host


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


async def run_with_file(
    app: Host, client: AsyncClient, incoming: Incoming, body: str, reply_to: str
) -> bool:
    """A command sent as a reply to an uploaded file gets that file as its file option.

    False when the command takes no file or the replied-to event holds none: the text is
    then handled as usual, and a command that needs a file says how to send one.
    """
    prefix = app.config.matrix.command_prefix
    line = body.strip()
    resolved = (
        app.registry.resolve(line[len(prefix) :].split()) if line.startswith(prefix) else None
    )
    options = resolved.spec.options if resolved is not None else ()
    option = next((o for o in options if o.type is OptionType.ATTACHMENT), None)
    if resolved is None or option is None:
        return False
    file = await replied_file(client, incoming.place.id, reply_to)
    if file is None:
        return False  # not a file, or one we could not decrypt
    rest = line[len(prefix) :]
    for _word in range(resolved.consumed):
        parts = rest.lstrip().split(None, 1)
        rest = parts[1] if len(parts) > 1 else ""
    try:
        values: dict[str, Any] = dict(bind_text(resolved.spec, rest))
    except ArgumentError:
        return False  # the dispatcher reads the text again and explains the mistake
    if option.name in values:
        return False
    values[option.name] = file
    await app.dispatcher.run(incoming, resolved.spec, values)
    return True
