"""Helpers shared by the client-level test modules (the ``srv`` fixture is in conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import ami_fast
from ami_fast.client import Client
from ami_fast.testing import FakeAsterisk, FakeConnection

# ReconnectingClient settings that keep the tests fast.
RECONNECT_FAST: dict[str, Any] = {
    "backoff_initial": 0.01,
    "backoff_max": 0.05,
    "auth_backoff": 0.01,
    "shutdown_delay": 0.01,
    "ping_interval": None,
    "stable_after": 0.0,
}


async def connect(srv: FakeAsterisk, **options: Any) -> Client:
    """A logged-in client to ``srv``; no keepalive Pings unless ``ping_interval`` is given."""
    options.setdefault("ping_interval", None)
    return await ami_fast.Factory(**options).create_client(srv.url)


async def eventually(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for a condition the event loop makes true; the timeout only guards against hangs."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.002)


def live(srv: FakeAsterisk) -> FakeConnection:
    """The one logged-in connection of ``srv``."""
    conns = [c for c in srv.active_connections if c.logged_in]
    assert len(conns) == 1, conns
    return conns[0]
