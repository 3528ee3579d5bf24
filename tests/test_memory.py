"""Bounded memory: millions of events through the parser and the client leave RSS flat, and
every per-connection structure has a bound (see docs/reliability.md, "Bounds").

RSS comes from ``/proc/self/statm`` (Linux). After a warm-up (allocator pools, interned keys,
the per-parser key cache, the dispatch queue's high water) the resident size may not grow by
more than ``GROWTH_LIMIT`` over the rest of the run. A leak of even 2 bytes per event would
show up as ~4 MiB over 2M events. No timing is asserted.
"""

from __future__ import annotations

import asyncio
import gc
import mmap
import os
from pathlib import Path
from typing import Any

import pytest

from ami_fast import IMPLEMENTATION, Parser
from ami_fast.client import Client
from ami_fast.connection import _TOMBSTONES_MAX, AmiConnection, RequestFailed
from ami_fast.errors import MessageTooLargeError, UsageError
from ami_fast.messages import Action
from helpers import eventually

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
    print(f"\nclient ({IMPLEMENTATION}): {seen} events dispatched, RSS growth {growth / 1024:.0f} KiB")
    client.close()
    client.connection_lost(None)
    await client.wait_closed()
    assert growth < GROWTH_LIMIT, f"RSS grew by {growth} bytes over {seen} events"


def test_rss_probe_sees_a_real_leak() -> None:
    # The probe itself must be able to fail: 16 MiB of freshly touched pages show up. (A fresh
    # anonymous mapping, so no already-resident free heap memory can be reused.)
    before = rss()
    block = mmap.mmap(-1, 16 << 20)
    for offset in range(0, len(block), mmap.PAGESIZE):
        block[offset] = 1
    grown = rss() - before
    block.close()
    assert grown >= 15 << 20, grown


# -- every per-connection structure has a bound -------------------------------------------------


def test_pending_requests_are_capped() -> None:
    conn = AmiConnection(max_pending=3)
    for _ in range(3):
        conn.send_action(Action("Ping"))
    with pytest.raises(UsageError, match="max_pending=3"):
        conn.send_action(Action("Ping"))
    assert conn.pending_count == 3


def test_timed_out_and_cancelled_entries_are_removed_and_tombstones_capped() -> None:
    conn = AmiConnection(max_pending=10)
    for _ in range(3 * _TOMBSTONES_MAX):
        action_id, _ = conn.send_action(Action("Ping"))
        conn.cancel(action_id)  # what a timeout does
    assert conn.pending_count == 0
    assert len(conn._tombstones) == _TOMBSTONES_MAX
    # A late reply to a forgotten request is counted, not kept.
    conn.receive_data(b"Asterisk Call Manager/11.0.0\r\n")
    late = conn.receive_data(b"Response: Success\r\nActionID: %s\r\n\r\n" % action_id.encode())
    assert late == [] and conn.stats.late_responses == 1


def test_follow_up_subscriptions_are_capped() -> None:
    conn = AmiConnection(linger_max=2)
    conn.add_follow_up("a", None)
    conn.add_follow_up("b", None)
    conn.add_follow_up("a", frozenset({"x"}))  # replacing one is fine
    with pytest.raises(UsageError, match="linger_max=2"):
        conn.add_follow_up("c", None)
    conn.remove_follow_up("a")
    conn.add_follow_up("c", None)


@pytest.mark.parametrize(
    ("cap", "expected"),
    [({"list_max_items": 5}, "list_max_items"), ({"list_max_bytes": 300}, "list_max_bytes")],
)
def test_open_collections_are_capped_in_items_and_bytes(cap: dict[str, int], expected: str) -> None:
    conn = AmiConnection(**cap)
    conn.receive_data(b"Asterisk Call Manager/11.0.0\r\n")
    aid, _ = conn.send_action(Action("CoreShowChannels"))
    head = b"Response: Success\r\nActionID: %s\r\nEventList: start\r\n\r\n" % aid.encode()
    item = b"Event: CoreShowChannel\r\nActionID: %s\r\nChannel: PJSIP/%s\r\n\r\n" % (aid.encode(), b"x" * 40)
    out = conn.receive_data(head + item * 50)
    failed = [i for i in out if isinstance(i, RequestFailed)]
    assert len(failed) == 1 and expected in str(failed[0].error)
    assert isinstance(failed[0].error, MessageTooLargeError)
    assert conn.pending_count == 0 and conn._lists == {}
    # The rest of the list is swallowed (counted), not turned into events.
    assert not [i for i in out if getattr(i, "kind", None) == "event"]
    assert conn.stats.late_list_items > 0


async def test_dispatch_queue_and_streams_are_bounded() -> None:
    client = Client(ping_interval=None, dispatch_queue=100)
    client.connection_made(_Transport())
    stream = client.events(maxsize=10)
    client.data_received(b"Asterisk Call Manager/11.0.0\r\n" + event_chunk(0))
    assert len(client._events) == 100 and client.stats.events_dropped == PER_CHUNK - 100
    await eventually(lambda: stream.dropped + len(stream._queue) == 100)  # the dispatch task ran
    assert len(stream._queue) == 10 and stream.dropped == 90
    client.close()
    client.connection_lost(None)
    await client.wait_closed()
