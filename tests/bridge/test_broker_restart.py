"""nats-server killed and restarted during a flood: nothing lost within the buffer bound, and
drops beyond it counted and marked."""

from __future__ import annotations

import asyncio
from collections import Counter

from ami_fast.bridge import Bridge, parse_config
from ami_fast.simulator import Simulator

from .conftest import PrivateNats, bridge_config, numbered_events, read_stream, wait_for

CHUNK = 250


def file_config(tag: str, url: str, sim_url: str, **bridge: object) -> dict[str, object]:
    cfg = bridge_config(tag, url, {"pbx": sim_url}, **bridge)
    cfg["nats"]["storage"] = "file"  # type: ignore[index]  # the stream must survive the restart
    return cfg


async def test_broker_restart_mid_flood_loses_nothing(private_nats: PrivateNats, tag: str) -> None:
    total = 40 * CHUNK
    async with Simulator(rate=0, warm_start=False) as sim:
        cfg = parse_config(file_config(tag, private_nats.url, sim.url))
        async with Bridge(cfg) as bridge:
            link, box = bridge.links["pbx"], bridge.boxes["pbx"]
            await wait_for(lambda: link.connected)
            for i in range(40):
                sim.server.push_raw(numbered_events(i * CHUNK, CHUNK, "pbx"))
                if i == 10:
                    for _ in range(10_000):  # kill it with messages in flight
                        if box.unacked_in_flight:
                            break
                        await asyncio.sleep(0)
                    assert box.unacked_in_flight
                    private_nats.kill()
                    await wait_for(lambda: not bridge.publisher.connected)  # type: ignore[union-attr]
                await asyncio.sleep(0.01)
                if i == 25:
                    assert len(box) > 0  # the flood went on into the buffer while the broker was down
                    await private_nats.start()
            await wait_for(lambda: link.events_received >= total and len(box) == 0, 30)
            stats = bridge.stats()["pbx"]
            # (Whether anything had to be resent depends on whether the acks of the messages in
            # flight at the kill were already on their way: either way nothing may be lost.)
            assert bridge.publisher.broker_disconnects >= 1  # type: ignore[union-attr]
        stored = await read_stream(private_nats.url, f"S{tag}", expect=bridge.stats()["pbx"]["seq"])

    assert stats["dropped_buffer"] == 0
    seqs = [int(m.fields["Seq"]) for m in stored if "Seq" in m.fields]
    assert seqs == list(range(total))  # every event, once, in order
    assert [m.doc["seq"] for m in stored] == list(range(1, len(stored) + 1))
    assert Counter(m.msg_id for m in stored).most_common(1)[0][1] == 1


async def test_outage_beyond_the_buffer_counts_and_marks_the_drops(
    private_nats: PrivateNats, tag: str
) -> None:
    bound = 1000
    async with Simulator(rate=0, warm_start=False) as sim:
        cfg = parse_config(file_config(tag, private_nats.url, sim.url, buffer_events=bound))
        async with Bridge(cfg) as bridge:
            link, box = bridge.links["pbx"], bridge.boxes["pbx"]
            await wait_for(lambda: link.connected)
            sim.server.push_raw(numbered_events(0, 100, "pbx"))
            await wait_for(lambda: box.acked >= 100)
            private_nats.kill()
            await wait_for(lambda: not bridge.publisher.connected)  # type: ignore[union-attr]
            for i in range(100, 3100, CHUNK):
                sim.server.push_raw(numbered_events(i, CHUNK, "pbx"))
                await asyncio.sleep(0.005)
            await wait_for(lambda: link.events_received >= 3100)
            assert len(box) == bound and box.dropped > 0
            await private_nats.start()
            await wait_for(lambda: len(box) == 0, 30)
            sim.server.push_raw(numbered_events(3100, 100, "pbx"))  # room again: the _Dropped marker goes out
            await wait_for(lambda: link.events_received >= 3200 and len(box) == 0, 30)
            dropped = box.dropped
        stored = await read_stream(private_nats.url, f"S{tag}", expect=bridge.stats()["pbx"]["seq"] - dropped)

    seqs = [int(m.fields["Seq"]) for m in stored if "Seq" in m.fields]
    assert len(seqs) == len(set(seqs))  # nothing twice
    assert len(seqs) + dropped == 3200  # what is missing is exactly what was counted
    # drop_newest keeps the oldest run: everything up to the bound, then the events after the outage.
    assert seqs == sorted(seqs) and seqs[-100:] == list(range(3100, 3200))
    markers = [m.doc for m in stored if m.doc["event"] == "_Dropped"]
    assert len(markers) == 1 and markers[0]["dropped"] == dropped
    # The gap is visible as a jump in the bridge's sequence numbers, right before the marker.
    bridge_seqs = [m.doc["seq"] for m in stored]
    assert len(bridge_seqs) + dropped == bridge_seqs[-1]


async def test_refused_publishes_are_retried_in_order(nats_url: str, tag: str) -> None:
    import nats
    from nats.js.api import StorageType, StreamConfig

    async with Simulator(rate=0, warm_start=False) as sim:
        cfg = parse_config(bridge_config(tag, nats_url, {"pbx": sim.url}, retry_max_delay=0.2))
        async with Bridge(cfg) as bridge:
            link, box = bridge.links["pbx"], bridge.boxes["pbx"]
            lane = bridge.publisher.lane(box)  # type: ignore[union-attr]
            await wait_for(lambda: link.connected and len(box) == 0)
            nc = await nats.connect(nats_url)
            try:
                js = nc.jetstream()
                await js.delete_stream(f"S{tag}")  # every publish now gets "no responders"
                sim.server.push_raw(numbered_events(0, 300, "pbx"))
                await wait_for(lambda: lane.publish_errors > 0 and link.events_received >= 300)
                assert box.acked < 300
                await js.add_stream(
                    StreamConfig(name=f"S{tag}", subjects=[f"{tag}.events.>"], storage=StorageType.MEMORY)
                )
                await wait_for(lambda: len(box) == 0, 30)
            finally:
                await nc.close()
            assert lane.retries >= 1 and box.resent >= 1
        stored = await read_stream(nats_url, f"S{tag}", expect=301)
    seqs = [int(m.fields["Seq"]) for m in stored if "Seq" in m.fields]
    assert seqs == list(range(300))
