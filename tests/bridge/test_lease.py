"""Two bridges configured for the same server never both connect, so nothing is published twice."""

from __future__ import annotations

import asyncio
from collections import Counter

from ami_fast.bridge import Bridge, parse_config
from ami_fast.testing import FakeAsterisk

from .conftest import bridge_config, numbered_events, read_stream, wait_for


async def test_second_bridge_stands_by_then_takes_over(nats_url: str, tag: str) -> None:
    async with FakeAsterisk() as server:
        cfg = bridge_config(tag, nats_url, {"pbx": server.url})
        first = await Bridge(parse_config({**cfg, "bridge": {**cfg["bridge"], "id": "first"}})).start()
        await wait_for(lambda: first.links["pbx"].connected)
        second = await Bridge(parse_config({**cfg, "bridge": {**cfg["bridge"], "id": "second"}})).start()
        try:
            await wait_for(lambda: second.links["pbx"].state == "waiting_lease")
            server.push_raw(numbered_events(0, 500, "pbx"))
            await wait_for(lambda: first.boxes["pbx"].acked >= 500)
            await asyncio.sleep(0.3)
            assert len(server.active_connections) == 1
            assert not second.links["pbx"].connected and second.links["pbx"].events_received == 0

            await first.stop()  # releases the lease: the standby takes over at once
            await wait_for(lambda: second.links["pbx"].connected, 10)
            assert len(server.active_connections) == 1
            server.push_raw(numbered_events(500, 500, "pbx"))
            await wait_for(lambda: second.boxes["pbx"].acked >= 500)
        finally:
            await first.stop()
            await second.stop()
    total = first.boxes["pbx"].acked + second.boxes["pbx"].acked
    stored = await read_stream(nats_url, f"S{tag}", expect=total)
    seqs = Counter(int(m.fields["Seq"]) for m in stored if "Seq" in m.fields)
    assert sorted(seqs) == list(range(1000)) and max(seqs.values()) == 1
    connects = [m.doc for m in stored if m.doc["event"] == "_Connected"]
    assert len(connects) == 2 and connects[0]["epoch"] < connects[1]["epoch"]


async def test_holder_that_loses_its_lease_disconnects(nats_url: str, tag: str) -> None:
    import nats

    async with FakeAsterisk() as server:
        cfg = parse_config(bridge_config(tag, nats_url, {"pbx": server.url}, lease_ttl=2.0))
        async with Bridge(cfg) as bridge:
            link = bridge.links["pbx"]
            await wait_for(lambda: link.connected)
            nc = await nats.connect(nats_url)
            try:
                kv = await nc.jetstream().key_value(f"L{tag}")
                await kv.put("pbx", b"intruder")  # another owner now holds the key
                await wait_for(lambda: not link.connected, 5)
                assert link.state in ("waiting_lease", "backoff") and link.lease is not None
                assert link.lease.lost == 1
                assert len(server.active_connections) == 0 or not link.connected
                # The intruder never renews: its entry expires and the bridge takes the server back.
                await wait_for(lambda: link.connected, 10)
            finally:
                await nc.close()
