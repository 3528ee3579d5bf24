"""The whole fleet path: simulated servers -> ami-fast bridge -> JetStream -> a consumer.

::

    scripts/nats/start.sh
    .venv/bin/python benches/bench_bridge.py [--servers 4] [--events 25000] [--nats nats://127.0.0.1:14222]

Three processes besides nats-server, so each CPU figure is one component's own:

- the **servers**: one child process serving ``--servers`` simulated Asterisks; each sends
  ``--events`` call-centre events (the simulator's traffic model, pre-generated) as fast as
  the bridge reads them;
- the **bridge**: this process (one ``Bridge`` with leases, metrics off);
- the **consumer**: a child process reading the stream with nats-py (an ordered push
  consumer), decoding every JSON payload.

Reported: the bridge's events/s from the first event read to the last JetStream ack and its
CPU per event (``time.process_time``); the consumer's events/s and CPU per event; nats-server's
CPU per event (from /proc, when its pid file is found); and the end-to-end time until the
consumer has every event. Numbers only, no assertion.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))

NATS_PID_FILE = Path(os.environ.get("NATS_HOME", "/tmp/ami-fast-nats")) / "nats-server.pid"


# -- child: the simulated servers ----------------------------------------------------------------


def generate(count: int, seed: int) -> bytes:
    """``count`` events of the simulator's call-centre model, as wire bytes."""
    from ami_fast._sim_model import CallCentre, SimConfig
    from ami_fast.simulator import encode_events

    model = CallCentre(SimConfig(rate=20_000, seed=seed), now=0.0, wall=time.time())
    events: list[Any] = []
    now = 0.0
    while len(events) < count:
        now += 0.05
        events.extend(model.advance(now))
    return encode_events(events[:count])


async def serve_sims(n: int, count: int) -> None:
    from ami_fast.simulator import Simulator

    sims = [await Simulator(rate=0, warm_start=False).start() for _ in range(n)]
    payloads = [generate(count, seed=i) for i in range(n)]
    print(json.dumps({"urls": [s.url for s in sims]}), flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    await reader.readline()  # "go"
    for sim, data in zip(sims, payloads, strict=True):
        sim.server.push_raw(data)  # the transport buffers it; TCP paces it to the bridge
    await reader.readline()  # EOF or "stop"
    for sim in sims:
        await sim.stop()


# -- child: the consumer -------------------------------------------------------------------------


async def consume(url: str, stream: str, total: int) -> None:
    import nats

    nc = await nats.connect(url)
    js = nc.jetstream()
    done = asyncio.Event()
    count = 0
    first = 0.0
    cpu0 = 0.0

    async def on_msg(msg: Any) -> None:
        nonlocal count, first, cpu0
        if count == 0:
            first, cpu0 = time.perf_counter(), time.process_time()
        json.loads(msg.data)
        count += 1
        if count >= total:
            done.set()

    sub = await js.subscribe(">", stream=stream, ordered_consumer=True, cb=on_msg)
    print(json.dumps({"ready": True}), flush=True)
    await done.wait()
    elapsed, cpu = time.perf_counter() - first, time.process_time() - cpu0
    print(json.dumps({"count": count, "elapsed": elapsed, "cpu": cpu, "done_at": time.time()}), flush=True)
    await sub.unsubscribe()
    await nc.close()


# -- the bridge (this process) ---------------------------------------------------------------------


def nats_cpu() -> float | None:
    try:
        pid = int(NATS_PID_FILE.read_text())
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


async def drop_stream(url: str, names: list[str]) -> None:
    """Delete the run's stream and lease bucket: the broker is shared and long-lived."""
    import nats

    nc = await nats.connect(url)
    try:
        for name in names:
            await nc.jetstream().delete_stream(name)
    finally:
        await nc.close()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from ami_fast.bridge import Bridge, parse_config

    tag = f"bench{uuid.uuid4().hex[:8]}"
    me = [sys.executable, __file__]
    sims = subprocess.Popen(
        [*me, "--child-sims", str(args.servers), str(args.events)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert sims.stdout is not None and sims.stdin is not None
    urls = json.loads(sims.stdout.readline())["urls"]
    cfg = parse_config({
        "nats": {"url": args.nats, "subject_prefix": tag, "stream": f"S{tag}", "storage": args.storage},
        "bridge": {"lease_bucket": f"L{tag}", "buffer_events": 1_000_000, "buffer_bytes": 1 << 30},
        "servers": {f"pbx{i}": {"url": u, "ping_interval": 0} for i, u in enumerate(urls)},
    })  # fmt: skip
    total_events = args.servers * args.events
    async with Bridge(cfg) as bridge:
        while not all(link.connected for link in bridge.links.values()):
            await asyncio.sleep(0.01)
        expected = sum(box.acked for box in bridge.boxes.values())  # login traffic and markers so far
        while sum(len(b) for b in bridge.boxes.values()):
            await asyncio.sleep(0.01)
        base_received = sum(link.events_received for link in bridge.links.values())
        consumer = subprocess.Popen(
            [*me, "--child-consume", args.nats, f"S{tag}", str(total_events + expected)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert consumer.stdout is not None
        consumer_ready = await asyncio.to_thread(consumer.stdout.readline)
        assert json.loads(consumer_ready)["ready"]
        nats0 = nats_cpu()
        cpu0, t0 = time.process_time(), time.perf_counter()
        sims.stdin.write("go\n")
        sims.stdin.flush()
        while sum(box.acked for box in bridge.boxes.values()) < expected + total_events:
            await asyncio.sleep(0.002)
        bridge_elapsed, bridge_cpu = time.perf_counter() - t0, time.process_time() - cpu0
        nats1 = nats_cpu()
        received = sum(link.events_received for link in bridge.links.values()) - base_received
        line = await asyncio.to_thread(consumer.stdout.readline)
        end_to_end = time.perf_counter() - t0
        stats = bridge.stats()
    sims.stdin.close()
    sims.wait(10)
    consumer.wait(10)
    await drop_stream(args.nats, [f"S{tag}", f"KV_L{tag}"])
    result = json.loads(line)
    dropped = sum(s["dropped_buffer"] + s["dropped_dispatch"] for s in stats.values())
    return {
        "servers": args.servers,
        "events": total_events,
        "received_by_bridge": received,
        "dropped": dropped,
        "resent": sum(s["resent"] for s in stats.values()),
        "bridge_events_per_s": total_events / bridge_elapsed,
        "bridge_cpu_us_per_event": bridge_cpu / total_events * 1e6,
        "nats_server_cpu_us_per_event": (nats1 - nats0) / total_events * 1e6
        if nats0 is not None and nats1 is not None
        else None,
        "consumer_events_per_s": result["count"] / result["elapsed"],
        "consumer_cpu_us_per_event": result["cpu"] / result["count"] * 1e6,
        "end_to_end_s": end_to_end,
        "end_to_end_events_per_s": total_events / end_to_end,
        "storage": args.storage,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}",
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child-sims":
        asyncio.run(serve_sims(int(argv[1]), int(argv[2])))
        return 0
    if argv and argv[0] == "--child-consume":
        asyncio.run(consume(argv[1], argv[2], int(argv[3])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=4)
    parser.add_argument("--events", type=int, default=25_000, help="events per server")
    parser.add_argument("--nats", default=os.environ.get("NATS_TEST_URL", "nats://127.0.0.1:14222"))
    parser.add_argument("--storage", choices=["file", "memory"], default="file")
    parser.add_argument("--json", action="store_true", help="print the result as JSON only")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['servers']} servers x {args.events:,} events, JetStream {result['storage']} storage")
    print(f"machine: {result['machine']}")
    r = result

    def row(label: str, rate: float | None, cpu: float | None) -> str:
        rate_text = f"{rate:>9,.0f} events/s" if rate is not None else " " * 18
        return f"{label:<12} {rate_text}  " + (f"{cpu:6.1f} us CPU/event" if cpu is not None else "")

    print(row("bridge:", r["bridge_events_per_s"], r["bridge_cpu_us_per_event"]))
    print(row("nats-server:", None, r["nats_server_cpu_us_per_event"]))
    print(row("consumer:", r["consumer_events_per_s"], r["consumer_cpu_us_per_event"]))
    print(row("end to end:", r["end_to_end_events_per_s"], None) + f"({r['end_to_end_s']:.2f} s for all)")
    print(f"dropped: {result['dropped']}, resent: {result['resent']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
