"""pytest-benchmark: the Client end to end (firehose events, requests in flight) vs panoramisk.

``.venv/bin/pytest benches/bench_client.py --benchmark-enable``. The servers run in child
processes, so each benchmark measures the client's side only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from ami_fast._bench.endtoend import FakeAsteriskProcess, client_firehose, request_latency
from ami_fast._bench.firehose import FirehoseProcess
from ami_fast._bench.peers import panoramisk_firehose

EVENTS = 100_000
PEER_EVENTS = 20_000


@pytest.fixture(scope="module")
def firehose() -> Iterator[FirehoseProcess]:
    with FirehoseProcess(events=EVENTS) as fh:
        yield fh


@pytest.fixture(scope="module")
def fake_asterisk() -> Iterator[FakeAsteriskProcess]:
    with FakeAsteriskProcess() as srv:
        yield srv


@pytest.mark.parametrize("consumer", ["callback", "iterator"])
def test_firehose_ami_fast(benchmark: Any, firehose: FirehoseProcess, consumer: str) -> None:
    benchmark.group = "firehose"
    result = benchmark.pedantic(
        lambda: asyncio.run(client_firehose(firehose.port, EVENTS, consumer=consumer)), rounds=3
    )
    benchmark.extra_info["events_per_s"] = result["events_per_s"]
    assert result["events"] == EVENTS


def test_firehose_panoramisk(benchmark: Any, firehose: FirehoseProcess) -> None:
    benchmark.group = "firehose"
    result = benchmark.pedantic(
        lambda: asyncio.run(panoramisk_firehose("127.0.0.1", firehose.port, PEER_EVENTS)), rounds=3
    )
    benchmark.extra_info["events_per_s"] = result["events_per_s"]
    assert result["events"] == PEER_EVENTS


@pytest.mark.parametrize(("in_flight", "total"), [(1, 2_000), (100, 10_000), (10_000, 20_000)])
def test_requests(benchmark: Any, fake_asterisk: FakeAsteriskProcess, in_flight: int, total: int) -> None:
    benchmark.group = "requests"
    result = benchmark.pedantic(
        lambda: asyncio.run(request_latency(fake_asterisk.url, in_flight, total)), rounds=1
    )
    benchmark.extra_info.update(
        {k: v for k, v in result.items() if k.endswith("_us") or k == "requests_per_s"}
    )
    assert result["requests"] == total
