"""Prometheus text output and the HTTP endpoint."""

from __future__ import annotations

import asyncio

from ami_fast.bridge.metrics import BUCKETS, Histogram, MetricsServer, render


def test_render_counters_gauges_and_histogram() -> None:
    hist = Histogram()
    for value in (0.0005, 0.003, 0.003, 100.0):
        hist.observe(value)
    text = render(
        [("ami_bridge_events_received_total", "counter", "events read", [({"server": 'a"b'}, 12.0)])],
        [("ami_bridge_publish_latency_seconds", "latency", [({"server": "a"}, hist)])],
    )
    lines = text.splitlines()
    assert "# TYPE ami_bridge_events_received_total counter" in lines
    assert 'ami_bridge_events_received_total{server="a\\"b"} 12' in lines
    assert 'ami_bridge_publish_latency_seconds_bucket{server="a",le="0.001"} 1' in lines
    assert 'ami_bridge_publish_latency_seconds_bucket{server="a",le="0.005"} 3' in lines
    assert f'ami_bridge_publish_latency_seconds_bucket{{server="a",le="{BUCKETS[-1]:g}"}} 3' in lines
    assert 'ami_bridge_publish_latency_seconds_bucket{server="a",le="+Inf"} 4' in lines
    assert 'ami_bridge_publish_latency_seconds_count{server="a"} 4' in lines
    assert text.endswith("\n")


async def test_endpoint_serves_text() -> None:
    server = MetricsServer("127.0.0.1", 0, lambda: "x_total 1\n")
    await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        data = await reader.read()
        writer.close()
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.0 200 OK") and b"text/plain; version=0.0.4" in head
        assert body == b"x_total 1\n"
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"POST / HTTP/1.1\r\n\r\n")
        assert (await reader.read()).startswith(b"HTTP/1.0 405")
        writer.close()
    finally:
        await server.close()
