"""Read a fleet's AMI events from JetStream, as published by ``ami-fast bridge``.

    pip install 'ami-fast[nats]'
    python examples/nats_consumer.py nats://127.0.0.1:4222 [count] [--prefix ami] [--stream AMI]

A durable pull consumer: run several copies with the same ``--durable`` name and JetStream
shares the events among them (each is acknowledged once processed; an unacknowledged one is
redelivered). Markers (``_ConnectionLost``, ``_Reconnected``...) say where AMI could not deliver;
a jump in ``seq`` within an epoch means the bridge dropped events (its buffer was full).
"""

from __future__ import annotations

import argparse
import asyncio
import json

import nats
from nats.errors import TimeoutError as NatsTimeout


async def main(url: str, count: int | None, prefix: str, stream: str, durable: str) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    sub = await js.pull_subscribe(f"{prefix}.events.>", durable=durable, stream=stream)
    last: dict[str, tuple[int, int]] = {}  # server -> (epoch, seq) of the last message seen
    seen = 0
    try:
        while count is None or seen < count:
            try:
                batch = await sub.fetch(batch=256, timeout=1.0)
            except NatsTimeout:
                continue
            for msg in batch:
                doc = json.loads(msg.data)
                server, epoch, seq, name = doc["server"], doc["epoch"], doc["seq"], doc["event"]
                prev = last.get(server)
                if prev is not None and prev[0] == epoch and seq != prev[1] + 1:
                    print(f"{server}: gap of {seq - prev[1] - 1} event(s) before seq {seq}")
                last[server] = (epoch, seq)
                if name.startswith("_"):  # a marker from the bridge
                    print(f"{server} {epoch}.{seq} {name} {doc.get('reason', '')}".rstrip())
                else:
                    fields = doc["fields"]  # [[key, value], ...] in order, repeated keys kept
                    channel = next((v for k, v in fields if k == "Channel"), "")
                    print(f"{server} {epoch}.{seq} {name} {channel}".rstrip())
                await msg.ack()
                seen += 1
                if count is not None and seen >= count:
                    break
    finally:
        await nc.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="print a fleet's AMI events from JetStream")
    parser.add_argument("url", nargs="?", default="nats://127.0.0.1:4222")
    parser.add_argument("count", nargs="?", type=int, help="stop after this many messages")
    parser.add_argument("--prefix", default="ami", help="the bridge's subject_prefix")
    parser.add_argument("--stream", default="AMI", help="the bridge's stream")
    parser.add_argument("--durable", default="ami-example", help="consumer name shared by the workers")
    args = parser.parse_args()
    asyncio.run(main(args.url, args.count, args.prefix, args.stream, args.durable))
