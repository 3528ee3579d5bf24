"""ami-fast: a fast Asterisk Manager Interface client for asyncio, with a Rust core.

Public API (the rest of the package is private)::

    import ami_fast

    async with ami_fast.connect("ami:secret@127.0.0.1") as client:
        print((await client.request(client.create_action("Ping"))).items())
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from . import errors
from ._select import IMPLEMENTATION, Parser, ParserNative, ParserPy
from .errors import (
    ActionError,
    ActionTimeoutError,
    AmiError,
    AuthenticationError,
    ConnectionLostError,
    InvalidActionError,
    MessageTooLargeError,
    PermissionDeniedError,
    ProtocolError,
    SlowConsumerError,
    UnexpectedMessageError,
    UsageError,
)
from .messages import Action, Event, Message, Response

__version__ = "0.1.0"

# The client layer is imported lazily: `import ami_fast` for parsing stays cheap, and the
# names below resolve on first use.
_LAZY = {
    "Client": "client",
    "Collection": "collection",
    "Factory": "factory",
    "connect": "factory",
    "ActionSender": "action_sender",
    "ReconnectingClient": "reconnect",
    "ConnectionLost": "reconnect",
    "Reconnected": "reconnect",
    "sync": None,
    "testing": None,
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module_name = _LAZY[name]
        if module_name is None:
            return import_module(f".{name}", __name__)
        value = getattr(import_module(f".{module_name}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ami_fast' has no attribute {name!r}")


__all__ = [
    "IMPLEMENTATION",
    "Action",
    "ActionError",
    "ActionSender",
    "ActionTimeoutError",
    "AmiError",
    "AuthenticationError",
    "Client",
    "Collection",
    "ConnectionLost",
    "ConnectionLostError",
    "Event",
    "Factory",
    "InvalidActionError",
    "Message",
    "MessageTooLargeError",
    "Parser",
    "ParserNative",
    "ParserPy",
    "PermissionDeniedError",
    "ProtocolError",
    "Reconnected",
    "ReconnectingClient",
    "Response",
    "SlowConsumerError",
    "UnexpectedMessageError",
    "UsageError",
    "__version__",
    "connect",
    "errors",
    "sync",
    "testing",
]
