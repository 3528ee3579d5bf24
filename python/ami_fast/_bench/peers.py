"""Drivers for panoramisk (v1.4), the most used pure-Python AMI library, as a baseline.

Parsing: panoramisk has no parser object; its ``AMIProtocol.data_received`` decodes the chunk,
splits it and builds a ``panoramisk.message.Message`` per message, then hands each to
``handle_message``. We feed the protocol directly (no socket) and replace ``handle_message``
on the instance with a list append, so every message it builds is collected, responses
included. That skips panoramisk's routing, so its numbers here are, if anything, flattering.

End to end: ``panoramisk_firehose`` runs a real ``panoramisk.Manager`` against the loopback
firehose server and counts events in a ``register_event("*", ...)`` callback.
"""

from __future__ import annotations

import asyncio
import importlib.util
import time
from typing import Any

__all__ = ["PanoramiskParser", "panoramisk_available", "panoramisk_firehose"]


def panoramisk_available() -> bool:
    return importlib.util.find_spec("panoramisk") is not None


class _NullTransport:
    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


class PanoramiskParser:
    """``feed(chunk) -> list[panoramisk Message]`` on top of panoramisk's own receive path."""

    def __init__(self) -> None:
        from panoramisk.ami_protocol import AMIProtocol  # type: ignore[import-untyped]

        self._out: list[Any] = []
        self._protocol: Any = AMIProtocol()
        self._protocol.connection_made(_NullTransport())
        self._protocol.encoding = "utf8"  # what panoramisk.Manager sets by default
        self._protocol.handle_message = self._out.append

    def feed(self, data: bytes) -> list[Any]:
        self._protocol.data_received(data)
        out = self._out[:]
        self._out.clear()
        return out


async def panoramisk_firehose(
    host: str, port: int, n_events: int, *, timeout: float = 600.0
) -> dict[str, Any]:
    """Log in with panoramisk, ask the firehose server for `n_events`, count them in a callback."""
    from panoramisk import Manager  # type: ignore[import-untyped]

    loop = asyncio.get_running_loop()
    manager: Any = Manager(
        loop=loop,
        host=host,
        port=port,
        username="ami",
        secret="amipass",
        ping_delay=3600,
        ping_interval=3600,
        reconnect_timeout=3600,
    )
    done: asyncio.Future[None] = loop.create_future()
    count = 0

    def on_event(_manager: Any, _event: Any) -> None:
        nonlocal count
        count += 1
        if count == n_events and not done.done():
            done.set_result(None)

    await manager.connect()
    try:
        deadline = time.monotonic() + 30
        while manager.authenticated_future is not None or not manager.authenticated:
            if time.monotonic() > deadline:
                raise TimeoutError("panoramisk did not log in")
            await asyncio.sleep(0.005)
        manager.register_event("*", on_event)
        start = time.perf_counter()
        await manager.send_action({"Action": "Firehose", "Count": str(n_events)})
        await asyncio.wait_for(done, timeout)
        seconds = time.perf_counter() - start
    finally:
        manager.close()
    return {"events": count, "seconds": seconds, "events_per_s": count / seconds}
