"""Bounded memory: millions of events through the parser and the client leave RSS flat.

RSS comes from ``/proc/self/statm`` (Linux). After a warm-up (allocator pools, interned keys,
the per-parser key cache, the dispatch queue's high water) the resident size may not grow by
more than ``GROWTH_LIMIT`` over the rest of the run. A leak of even 2 bytes per event would
show up as ~4 MiB over 2M events. No timing is asserted.
"""

from __future__ import annotations

import asyncio
import gc
import os
from pathlib import Path
from typing import Any

import pytest

from ami_fast import IMPLEMENTATION, Parser
from ami_fast.client import Client

pytestmark = pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs /proc (Linux)")

GROWTH_LIMIT = 4 << 20
# The native parser does 2M events in a few seconds; the pure twin is ~10x slower, so it gets
# fewer (still enough to expose a per-event leak of a few bytes).
EVENTS = 2_000_000 if IMPLEMENTATION == "native" else 400_000
PER_CHUNK = 1_000


def rss() -> int:
    gc.collect()
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def event_chunk(base: int) -> bytes:
    # Realistic events with varying values (so nothing is cached by identity) and an
    # ActionID-less shape, plus a few rare keys that exercise the unknown-key cache.
    return b"".join(
        b"Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/%d-%08x\r\n"
        b"ChannelState: 4\r\nChannelStateDesc: Ring\r\nCallerIDNum: %d\r\nUniqueid: 17%d.%d\r\n"
        b"Linkedid: 17%d.%d\r\nX-Custom-%d: v\r\n\r\n" % (n % 97, n, n, base, n, base, n, n % 50)
        for n in range(base, base + PER_CHUNK)
    )


def test_parser_memory_is_flat_over_millions_of_events() -> None:
    parser = Parser()
    parser.feed(b"Asterisk Call Manager/11.0.0\r\n")
    chunks = [event_chunk(k * PER_CHUNK) for k in range(8)]
    rounds = EVENTS // PER_CHUNK
    warm = rounds // 10
    count = 0
    before = 0
    for r in range(rounds):
        # Cut each chunk unevenly so the unfinished tail is carried between feeds.
        data = chunks[r % len(chunks)]
        cut = 1 + (r * 7919) % (len(data) - 1)
        for piece in (data[:cut], data[cut:]):
            msgs = parser.feed(piece)
            count += len(msgs)
            if msgs:
                msgs[-1].get_field_value("Channel")  # touch a value: lazy decoding paths run
        if r == warm:
            before = rss()
    after = rss()
    assert count == rounds * PER_CHUNK
    assert parser.buffered == 0
    growth = after - before
    print(f"\nparser ({IMPLEMENTATION}): {count} events, RSS growth after warm-up {growth / 1024:.0f} KiB")
    assert growth < GROWTH_LIMIT, f"RSS grew by {growth} bytes over {count} events"


class _Transport(asyncio.Transport):
    """A do-nothing transport: the client believes it is connected."""

    def __init__(self) -> None:
        super().__init__()
        self._closing = False

    def write(self, data: Any) -> None:
        pass

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        self._closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


async def test_client_dispatch_memory_is_flat_over_millions_of_events() -> None:
    client = Client(ping_interval=None, dispatch_queue=4 * PER_CHUNK)
    seen = 0

    def noop(event: Any) -> None:
        nonlocal seen
        seen += 1

    client.on("event", noop)
    transport = _Transport()
    client.connection_made(transport)
    client.data_received(b"Asterisk Call Manager/11.0.0\r\n")
    chunks = [event_chunk(k * PER_CHUNK) for k in range(8)]
    rounds = EVENTS // PER_CHUNK
    warm = rounds // 10
    before = 0
    for r in range(rounds):
        client.data_received(chunks[r % len(chunks)])
        while client._events:  # let the dispatch task drain: nothing may pile up
            await asyncio.sleep(0)
        if r == warm:
            before = rss()
    after = rss()
    assert seen == rounds * PER_CHUNK
    assert client.stats.events_dropped == 0
    growth = after - before
    print(f"\nclient ({IMPLEMENTATION}): {seen} events dispatched, RSS growth after warm-up {growth / 1024:.0f} KiB")
    client.close()
    client.connection_lost(None)
    await client.wait_closed()
    assert growth < GROWTH_LIMIT, f"RSS grew by {growth} bytes over {seen} events"


def test_rss_probe_sees_a_real_leak() -> None:
    # The probe itself must be able to fail: keeping 8 MiB alive shows up.
    before = rss()
    hold = [bytes(1 << 20) + bytes([i]) for i in range(8)]
    grown = rss() - before
    assert grown >= 7 << 20, grown
    del hold
