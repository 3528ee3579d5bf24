"""Memory benchmarks: RSS stays flat over millions of events; bytes per pending request."""

from __future__ import annotations

import asyncio
import gc
import os
import tracemalloc
from typing import Any

from .endtoend import lost_events, url_for, wait_for_count

__all__ = ["memory_flat", "parser_memory", "pending_request_memory", "rss_mib"]


def rss_mib() -> float:
    """Resident set size of this process, from /proc (no psutil needed)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / (1 << 20)
    except OSError:  # not Linux
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def parser_memory(parser_cls: Any, chunks: list[bytes], n_messages: int) -> dict[str, Any]:
    """RSS before and after feeding `n_messages` (the chunks, repeated) to one parser,
    reading every message's name. One warm-up pass first."""
    per_pass = 0
    parser = parser_cls()
    for data in chunks:
        for message in parser.feed(data):
            per_pass += 1
            _ = message.name
    gc.collect()
    before = rss_mib()
    done = 0
    while done < n_messages:
        for data in chunks:
            for message in parser.feed(data):
                _ = message.name
        done += per_pass
    gc.collect()
    after = rss_mib()
    return {"messages": done, "rss_before_mib": before, "rss_after_mib": after, "growth_mib": after - before}


async def memory_flat(port: int, n_events: int, *, warmup: int = 200_000) -> dict[str, Any]:
    """RSS before and after `n_events` firehose events into a counting callback.

    The client keeps its default bounded dispatch queue, so a flood faster than the callback
    is absorbed by the drop policy (the drops are reported) instead of by memory.
    """
    import ami_fast

    loop = asyncio.get_running_loop()
    async with ami_fast.connect(url_for(port), timeout=600.0) as client:
        count = 0
        target = 0
        reached: asyncio.Future[None] = loop.create_future()

        def on_event(_event: Any) -> None:
            nonlocal count
            count += 1
            if count == target and not reached.done():
                reached.set_result(None)

        async def burst(n: int) -> None:
            nonlocal count, target, reached
            count, target, reached = 0, n, loop.create_future()
            dropped_before = lost_events(client)
            await client.request(client.create_action("Firehose", {"Count": str(n)}))
            await wait_for_count(reached, lambda: count + lost_events(client) - dropped_before >= n, 600)

        client.on("event", on_event)
        # A warm-up first, so allocator pools and caches are populated before the baseline.
        await burst(warmup)
        gc.collect()
        before = rss_mib()
        dropped = lost_events(client)
        await burst(n_events)
        gc.collect()
        after = rss_mib()
        dropped = lost_events(client) - dropped
    return {
        "events": n_events,
        "delivered": n_events - dropped,
        "dropped": dropped,
        "rss_before_mib": before,
        "rss_after_mib": after,
        "growth_mib": after - before,
    }


async def pending_request_memory(port: int, n: int = 10_000) -> dict[str, Any]:
    """Bytes per pending request: `n` requests the server never answers, each in a Task."""
    import ami_fast

    async with ami_fast.connect(url_for(port), timeout=600.0) as client:
        actions = [client.create_action("BenchHold") for _ in range(n)]
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        tasks = [asyncio.ensure_future(client.request(a, timeout=600.0)) for a in actions]
        await asyncio.sleep(0.2)  # every request written and pending
        used = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        # The baseline cost of the caller's side alone: a Task awaiting a bare Future.
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in range(n)]

        async def wait(f: asyncio.Future[None]) -> None:
            await f

        tracemalloc.start()
        base2 = tracemalloc.get_traced_memory()[0]
        bare = [asyncio.ensure_future(wait(f)) for f in futures]
        await asyncio.sleep(0)
        bare_used = tracemalloc.get_traced_memory()[0] - base2
        tracemalloc.stop()
        for f in futures:
            f.set_result(None)
        await asyncio.gather(*bare)
        client.close()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "pending": n,
        "bytes_per_request": used / n,
        "bytes_per_bare_task": bare_used / n,
        "client_bytes_per_request": (used - bare_used) / n,
    }
