"""End-to-end benchmarks of the ami-fast Client: firehose events, requests, memory.

- Firehose: the loopback firehose server (another process) writes N events as fast as it can;
  the Client delivers each one to a counting ``on("event")`` callback, or to an ``async for``
  consumer over ``client.events()``. Timed from the ``Firehose`` request to the last event.
- Requests: ``Ping`` with 1, 100 or 10,000 requests in flight (that many workers, each sending
  its next request when the previous answer arrives) against ``ami_fast.testing.FakeAsterisk``
  running in another process; throughput and latency percentiles.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import statistics
import time
from collections.abc import Callable
from typing import Any

from .child import ChildServer

__all__ = ["FakeAsteriskProcess", "client_firehose", "request_latency"]


def _stats(client: Any) -> dict[str, Any]:
    stats = getattr(client, "stats", None)
    if stats is None:
        return {}
    if dataclasses.is_dataclass(stats) and not isinstance(stats, type):
        return dataclasses.asdict(stats)
    return {k: v for k, v in vars(stats).items() if not k.startswith("_")}


def url_for(port: int) -> str:
    return f"tcp://ami:amipass@127.0.0.1:{port}"


def lost_events(client: Any) -> int:
    """Events the client dropped under its overflow policy (dispatch queue and streams)."""
    stats = client.stats
    return int(getattr(stats, "events_dropped", 0)) + int(getattr(stats, "stream_events_dropped", 0))


async def wait_for_count(done: asyncio.Future[None], reached: Callable[[], bool], timeout: float) -> None:
    """Until `done` is set or `reached()` (which also counts drops, so a lossy run ends too)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done.done() and not reached() and loop.time() < deadline:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(done), 0.05)


async def client_firehose(
    port: int, n_events: int, *, consumer: str = "callback", timeout: float = 600.0
) -> dict[str, Any]:
    """Count `n_events` firehose events through a Client; consumer is "callback" or "iterator".

    The dispatch queue (and the iterator's queue) can hold the whole burst, so the number is
    the rate at which the client delivers events, not an effect of the drop policy; any drop is
    still reported.
    """
    import ami_fast

    queue = max(65_536, n_events + 1024)
    loop = asyncio.get_running_loop()
    async with ami_fast.connect(url_for(port), timeout=timeout, dispatch_queue=queue) as client:
        done: asyncio.Future[None] = loop.create_future()
        count = 0
        consumer_task: asyncio.Task[None] | None = None
        if consumer == "callback":

            def on_event(_event: Any) -> None:
                nonlocal count
                count += 1
                if count == n_events and not done.done():
                    done.set_result(None)

            client.on("event", on_event)
        else:
            events = client.events(maxsize=queue)

            async def consume() -> None:
                nonlocal count
                async for _event in events:
                    count += 1
                    if count == n_events:
                        break
                if not done.done():
                    done.set_result(None)

            consumer_task = asyncio.ensure_future(consume())
            await asyncio.sleep(0)  # let the iterator subscribe before the flood
        start = time.perf_counter()
        await client.request(client.create_action("Firehose", {"Count": str(n_events)}))
        await wait_for_count(done, lambda: count + lost_events(client) >= n_events, timeout)
        seconds = time.perf_counter() - start
        if consumer_task is not None:
            consumer_task.cancel()
        stats = _stats(client)
        lost = lost_events(client)
    return {
        "consumer": consumer,
        "events": count,
        "expected": n_events,
        "dropped": lost,
        "seconds": seconds,
        "events_per_s": count / seconds,
        "stats": stats,
    }


def _percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[index]


async def request_latency(url: str, in_flight: int, total: int) -> dict[str, Any]:
    """`in_flight` workers share `total` Ping requests; latency of each in microseconds."""
    import ami_fast

    latencies: list[float] = []
    async with ami_fast.connect(url, timeout=120.0) as client:
        remaining = total

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                t0 = time.perf_counter()
                await client.request(client.create_action("Ping"))
                latencies.append(time.perf_counter() - t0)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(in_flight)))
        seconds = time.perf_counter() - start
    latencies.sort()
    us = [x * 1e6 for x in latencies]
    return {
        "in_flight": in_flight,
        "requests": len(latencies),
        "seconds": seconds,
        "requests_per_s": len(latencies) / seconds,
        "p50_us": _percentile(us, 50),
        "p90_us": _percentile(us, 90),
        "p99_us": _percentile(us, 99),
        "max_us": us[-1] if us else float("nan"),
        "mean_us": statistics.fmean(us) if us else float("nan"),
    }


class FakeAsteriskProcess:
    """``ami_fast.testing.FakeAsterisk`` in a child process; ``url`` once started."""

    def __init__(self) -> None:
        self._child = ChildServer("ami_fast._bench.fake_server", "URL")
        self.url = ""

    def __enter__(self) -> FakeAsteriskProcess:
        self.url = self._child.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._child.stop()
