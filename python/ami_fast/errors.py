"""The exception hierarchy of ami-fast, defined once.

Both parser implementations (the Rust extension and the pure-Python twin) raise or return
these very classes; the Rust code imports them from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .messages import Response

__all__ = [
    "ActionError",
    "ActionTimeoutError",
    "AmiError",
    "AuthenticationError",
    "ConnectionLostError",
    "InvalidActionError",
    "MessageTooLargeError",
    "PermissionDeniedError",
    "ProtocolError",
    "SlowConsumerError",
    "UnexpectedMessageError",
    "UsageError",
]


class AmiError(Exception):
    """Root of every error ami-fast raises."""


class ProtocolError(AmiError, ValueError):
    """The server sent something invalid.

    The parser reports it for that one message and carries on at the next message boundary.

    Attributes:
        offset: stream offset (bytes since the parser started) of the bad message's first byte.
        excerpt: the first 64 bytes of the bad message.
        action_id: the message's ActionID when it could be read, else ``None``.
        raw: the whole bad message when it was kept, ``None`` when it was discarded for size.
    """

    def __init__(
        self,
        message: str,
        *,
        offset: int = 0,
        excerpt: bytes = b"",
        action_id: str | None = None,
        raw: bytes | None = None,
    ) -> None:
        super().__init__(message)
        self.offset = offset
        self.excerpt = excerpt
        self.action_id = action_id
        self.raw = raw

    def __eq__(self, other: object) -> bool:
        # Errors are compared by value in the differential tests (native vs pure twin).
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, ProtocolError)
        return (
            str(self) == str(other)
            and self.offset == other.offset
            and self.excerpt == other.excerpt
            and self.action_id == other.action_id
            and self.raw == other.raw
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r}, offset={self.offset}, excerpt={self.excerpt!r})"


class MessageTooLargeError(ProtocolError):
    """A message went over a parser limit; the parser skipped it and resynchronised."""


class UnexpectedMessageError(ProtocolError):
    """A response with no ActionID, or one that matches no pending request. Never fatal."""

    def __init__(self, message: str, *, response: Any = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.response = response


class ActionError(AmiError):
    """The server answered an action with ``Response: Error``."""

    def __init__(self, response: Response, message: str | None = None) -> None:
        self.response = response
        self.message: str = message if message is not None else (response.get_field_value("Message") or "")
        action = response.action_id
        text = self.message or "action failed"
        super().__init__(f"{text} (ActionID {action})" if action else text)

    @property
    def command_output(self) -> str | None:
        return self.response.get_command_output() if hasattr(self.response, "get_command_output") else None


class AuthenticationError(ActionError):
    """Login failed (bad secret, unknown user, ACL). Terminal for that connection attempt."""


class PermissionDeniedError(ActionError):
    """The user lacks the write class this action needs (``Message: Permission denied``)."""


class ActionTimeoutError(AmiError, TimeoutError):
    """No response (or no end of the event list) arrived in time."""


class ConnectionLostError(AmiError, ConnectionError):
    """The connection closed while requests or lists were still open."""


class SlowConsumerError(ConnectionLostError):
    """The ``disconnect`` overflow policy fired: a consumer fell too far behind."""


class UsageError(AmiError, RuntimeError):
    """The caller misused the API (a request after close, a duplicate pending ActionID...)."""


class InvalidActionError(UsageError, ValueError):
    """The encoder refused an action before writing a byte (CR/LF/NUL, syntax, size limits)."""
