"""Exceptions that carry a message meant for the person who typed the command."""

from __future__ import annotations


class UserError(Exception):
    """Something the member can fix; `dispatch` replies with the message and changes nothing."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ArgumentError(UserError):
    """A command's arguments could not be read or converted."""


class NotFound(UserError):
    """The thing asked for does not exist, or the member may not see it (same message)."""


class PermissionDenied(UserError):
    """The member's tier or the place does not allow this command."""


class RateLimited(UserError):
    """The member sent too many commands in a short time."""


class DeliveryError(Exception):
    """A platform refused a message; `permanent` means retrying will not help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class DMsClosed(DeliveryError):
    """The member does not accept direct messages from the bot."""

    def __init__(self, message: str = "direct messages are closed") -> None:
        super().__init__(message, permanent=True)
