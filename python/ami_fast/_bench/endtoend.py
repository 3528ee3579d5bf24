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
import subprocess
import sys
import time
from typing import Any

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


async def client_firehose(
    port: int, n_events: int, *, consumer: str = "callback", timeout: float = 600.0
) -> dict[str, Any]:
    """Count `n_events` firehose events through a Client; consumer is "callback" or "iterator"."""
    import ami_fast

    loop = asyncio.get_running_loop()
    async with ami_fast.connect(url_for(port), timeout=timeout) as client:
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
            events = client.events(maxsize=1 << 20)

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
        with contextlib.suppress(asyncio.TimeoutError):  # a short count is reported, not raised
            await asyncio.wait_for(done, timeout)
        seconds = time.perf_counter() - start
        if consumer_task is not None:
            consumer_task.cancel()
        stats = _stats(client)
    return {
        "consumer": consumer,
        "events": count,
        "expected": n_events,
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
        self.url = ""
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> FakeAsteriskProcess:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "ami_fast._bench.fake_server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line.startswith("URL "):
            self.__exit__()
            raise RuntimeError(f"FakeAsterisk did not start: {line!r}")
        self.url = line.split()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
