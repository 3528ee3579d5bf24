"""An Asterisk restart shows up as markers: _ConnectionLost ends an epoch, _Reconnected opens
the next (the real Asterisk when AMI_TEST_URL and AMI_TEST_RESTART are set, else FakeAsterisk)."""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess

import pytest

from ami_fast.bridge import Bridge, parse_config
from ami_fast.testing import FakeAsterisk

from .conftest import Stored, bridge_config, read_stream, wait_for


def check_epochs(stored: list[Stored], expected_epochs: int) -> list[list[Stored]]:
    """Split by epoch and check each: seq 1..n, opened by a connect marker, closed by a lost one."""
    epochs: dict[int, list[Stored]] = {}
    for m in stored:
        epochs.setdefault(m.doc["epoch"], []).append(m)
    assert len(epochs) == expected_epochs
    assert list(epochs) == sorted(epochs)  # epochs increase, in stream order
    out = []
    for n, (epoch, msgs) in enumerate(epochs.items()):
        assert [m.doc["seq"] for m in msgs] == list(range(1, len(msgs) + 1))
        assert msgs[0].doc["event"] == ("_Connected" if n == 0 else "_Reconnected")
        assert msgs[-1].doc["event"] == "_ConnectionLost"
        assert all(m.msg_id == f"{m.doc['server']}.{epoch}.{m.doc['seq']}" for m in msgs)
        out.append(msgs)
    return out


async def test_fake_asterisk_restart_gives_markers(nats_url: str, tag: str) -> None:
    server = await FakeAsterisk().start()
    port = server.port
    cfg = parse_config(bridge_config(tag, nats_url, {"pbx": server.url}))
    async with Bridge(cfg) as bridge:
        link = bridge.links["pbx"]
        await wait_for(lambda: link.connected)
        server.push_event("UserEvent", {"UserEvent": "before"})
        await wait_for(lambda: link.events_received >= 1)
        await server.stop()
        await wait_for(lambda: not link.connected)
        server = await FakeAsterisk(port=port).start()
        try:
            await wait_for(lambda: link.connected)
            server.push_event("UserEvent", {"UserEvent": "after"})
            await wait_for(lambda: link.events_received >= 2)
        finally:
            await server.stop()
        await wait_for(lambda: not link.connected)
        stats = bridge.stats()["pbx"]
    assert stats["reconnects"] >= 1
    stored = await read_stream(nats_url, f"S{tag}", expect=bridge.boxes["pbx"].acked)
    first, second, *_ = check_epochs(stored, len({m.doc["epoch"] for m in stored}))

    def names(msgs: list[Stored]) -> list[str]:
        return [m.fields.get("UserEvent", m.doc["event"]) for m in msgs if m.doc["event"] != "FullyBooted"]

    assert names(first) == ["_Connected", "before", "_ConnectionLost"]
    assert names(second) == ["_Reconnected", "after", "_ConnectionLost"]
    lost = first[-1]
    assert lost.subject == f"{tag}.events.pbx._ConnectionLost" and lost.doc["marker"] == "ConnectionLost"
    assert "closed by the server" in lost.doc["reason"]
    assert second[0].subject == f"{tag}.events.pbx._Reconnected" and second[0].doc["connection"] == 2


async def test_real_asterisk_restart_gives_markers(nats_url: str, tag: str) -> None:
    url, restart = os.environ.get("AMI_TEST_URL"), os.environ.get("AMI_TEST_RESTART")
    if not url or not restart:
        if os.environ.get("AMI_TEST_REQUIRED", "") not in ("", "0"):
            pytest.fail("AMI_TEST_REQUIRED is set but AMI_TEST_URL/AMI_TEST_RESTART are not")
        pytest.skip(
            'needs the real Asterisk: eval "$(scripts/asterisk/env.sh)" (AMI_TEST_URL, AMI_TEST_RESTART)'
        )
    cfg = parse_config(bridge_config(tag, nats_url, {"pbx": url}, reconnect_max_delay=1.0))
    async with Bridge(cfg) as bridge:
        link = bridge.links["pbx"]
        await wait_for(lambda: link.connected)
        await asyncio.to_thread(
            subprocess.run, shlex.split(restart), check=True, capture_output=True, timeout=120
        )
        await wait_for(lambda: link.connects >= 2 and link.connected, 60)
    stored = await read_stream(nats_url, f"S{tag}", expect=bridge.boxes["pbx"].acked)
    markers = [m.doc["event"] for m in stored if m.doc["event"].startswith("_")]
    assert markers[:3] == ["_Connected", "_ConnectionLost", "_Reconnected"]
    assert markers[-1] == "_ConnectionLost"


async def test_stop_does_not_wait_for_a_hanging_login(nats_url: str, tag: str) -> None:
    """A server that accepts TCP and never answers: stop() abandons the attempt."""
    silent: list[asyncio.StreamWriter] = []

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        silent.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    raw = bridge_config(tag, nats_url, {"pbx": f"tcp://ami:x@127.0.0.1:{port}"})
    raw["servers"]["pbx"]["connect_timeout"] = 600
    bridge = await Bridge(parse_config(raw)).start()
    try:
        await wait_for(lambda: bool(silent))
        assert bridge.links["pbx"].state == "connecting"
    finally:
        await asyncio.wait_for(bridge.stop(), 60)  # a hang guard: the login would wait 600 s
        server.close()
        for w in silent:
            w.close()
    assert bridge.links["pbx"].state == "stopped" and bridge.links["pbx"].connects == 0
