"""``ami-fast bridge``: a fleet of Asterisk servers into NATS JetStream (needs ``ami-fast[nats]``).

Every event of every configured server is published at least once to
``<prefix>.events.<server>.<EventName>`` with a ``Nats-Msg-Id`` of ``<server>.<epoch>.<seq>``;
gaps are marked; actions come back through ``<prefix>.actions.<server>``. See docs/fleets.md.
"""

from __future__ import annotations

from .bridge import Bridge, NatsUnavailableError
from .config import BridgeConfig, BridgeOptions, NatsOptions, ServerConfig, load_config, parse_config

__all__ = [
    "Bridge",
    "BridgeConfig",
    "BridgeOptions",
    "NatsOptions",
    "NatsUnavailableError",
    "ServerConfig",
    "load_config",
    "parse_config",
]
