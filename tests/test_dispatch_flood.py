"""Loopback floods from another process: a no-op consumer keeps up with the default dispatch
queue (nothing dropped); a slow one never stops the reading, and every drop is counted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import ami_fast
from ami_fast._bench.firehose import FirehoseProcess

# Well over the default queue (65,536): a dispatcher that lags a little per socket read (the old
# one delivered 256 events per read of ~580) overflows it long before the end.
FLOOD = 400_000


@pytest.fixture(scope="module")
def firehose() -> Iterator[FirehoseProcess]:
    with FirehoseProcess(events=20_000) as fh:
        yield fh


async def _until(condition: Callable[[], bool], what: Callable[[], str], timeout: float = 120.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout  # only guards against a hang
    while not condition():
        assert loop.time() < deadline, f"timed out waiting: {what()}"
        await asyncio.sleep(0.01)


def _url(fh: FirehoseProcess) -> str:
    return f"tcp://ami:amipass@127.0.0.1:{fh.port}"


async def test_no_op_callback_keeps_up_with_the_default_queue(firehose: FirehoseProcess) -> None:
    count = 0

    def on_event(_event: Any) -> None:
        nonlocal count
        count += 1

    async with ami_fast.connect(_url(firehose), timeout=60, ping_interval=None) as client:
        assert client.dispatch_queue == 65_536
        client.on("event", on_event)
        await client.request(client.create_action("Firehose", {"Count": str(FLOOD)}))
        stats = client.stats
        await _until(lambda: count + stats.events_dropped >= FLOOD, lambda: f"{count} of {FLOOD}")
        assert stats.events_dropped == 0
        assert count == stats.events_dispatched == stats.events_received == FLOOD


async def test_no_op_iterator_keeps_up_with_the_default_queues(firehose: FirehoseProcess) -> None:
    count = 0
    async with ami_fast.connect(_url(firehose), timeout=60, ping_interval=None) as client:
        stream = client.events()

        async def consume() -> None:
            nonlocal count
            async for _event in stream:
                count += 1
                if count == FLOOD:
                    return

        task = asyncio.ensure_future(consume())
        await client.request(client.create_action("Firehose", {"Count": str(FLOOD)}))
        stats = client.stats

        def lost() -> int:
            return int(stats.events_dropped + stats.stream_events_dropped)

        await _until(lambda: task.done() or count + lost() >= FLOOD, lambda: f"{count} of {FLOOD}")
        task.cancel()
        assert lost() == 0 and stream.dropped == 0
        assert count == stats.events_received == FLOOD


async def test_slow_callback_never_stops_the_reading(firehose: FirehoseProcess) -> None:
    n = 20_000
    delivered = 0

    def slow(_event: Any) -> None:
        nonlocal delivered
        time.sleep(0.001)  # blocks the loop: the dispatcher must still let reads in
        delivered += 1

    async with ami_fast.connect(
        _url(firehose), timeout=60, ping_interval=None, dispatch_queue=1_000
    ) as client:
        client.on("event", slow)
        await client.request(client.create_action("Firehose", {"Count": str(n)}))
        stats = client.stats
        # Every event is read long before the callback could have seen them all.
        await _until(lambda: stats.events_received == n, lambda: f"{stats.events_received} read")
        assert delivered < n
        assert stats.events_dropped > 0
        assert stats.dispatch_queue_high_water <= 1_000
        queued = stats.events_received - stats.events_dispatched - stats.events_dropped
        assert 0 <= queued <= 1_000  # the rest is waiting: nothing vanished uncounted
        assert not client.closed
        client.close()  # no need to deliver the backlog at 1 ms an event
