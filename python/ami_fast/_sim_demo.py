"""``ami-fast demo``: the embedded simulator, a client watching it live, and a final report.

The simulator serves from its own thread; the client runs on this thread's event loop, so
this thread's CPU time is the client's cost (parsing, routing, dispatch). Parsing alone is
measured at the end by re-parsing a sample of the very bytes the simulator sent, with the
native parser and with the pure-Python twin.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TextIO

from . import _select
from .action_sender import ActionSender
from .simulator import RunningSimulator

__all__ = ["run_demo"]

NEXT_STEPS = """\
Next: point ami-fast at a real Asterisk
  1. /etc/asterisk/manager.conf:
       [general]
       enabled = yes
       bindaddr = 127.0.0.1
       [ami]
       secret = change-me
       read = all
       write = all
     then: asterisk -rx "manager reload"
  2. export AMI_URL=ami@127.0.0.1 AMI_SECRET=change-me
     ami-fast ping
     ami-fast events Newchannel Hangup --count 10
     ami-fast command "core show channels"
     ami-fast action QueueStatus --format table
  3. in Python:
       async with ami_fast.connect("ami:change-me@127.0.0.1") as client:
           print(await ami_fast.ActionSender(client).core_show_channels())"""


@dataclass
class _Watch:
    names: Counter[str] = field(default_factory=Counter)
    events: int = 0
    calls_up: int = 0
    waiting: int = 0
    cdrs: int = 0

    def on_event(self, event: Any) -> None:
        self.events += 1
        name = event.name or "?"
        self.names[name] += 1
        if name == "Cdr":
            self.cdrs += 1


def _top(names: Counter[str], n: int = 5) -> str:
    total = sum(names.values()) or 1
    return ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in names.most_common(n))


def measure_parse(sample: bytes, parser_cls: Any, *, min_time: float = 0.15) -> tuple[float, int]:
    """CPU seconds per event to parse ``sample`` (fed in 64 KiB chunks) with ``parser_cls``.

    CPU time of this thread, not wall time, so other load on the machine does not count;
    repeats until ``min_time`` of CPU has passed and keeps the best run."""
    chunks = [sample[i : i + 65536] for i in range(0, len(sample), 65536)]
    best = float("inf")
    count = 0
    spent = 0.0
    while spent < min_time or count == 0:
        parser = parser_cls()
        start = time.thread_time()
        n = 0
        for chunk in chunks:
            n += len(parser.feed(chunk))
        elapsed = time.thread_time() - start
        spent += elapsed
        count = n
        best = min(best, elapsed)
    return (best / count if count else 0.0), count


async def _watch(
    sim: RunningSimulator, seconds: float, out: TextIO, tty: bool, state: _Watch
) -> dict[str, Any]:
    import ami_fast

    async with ami_fast.connect(sim.url) as client:
        client.on("event", state.on_event)
        sender = ActionSender(client)
        start = time.monotonic()
        cpu0 = time.thread_time()
        last_t, last_n, last_cpu = start, 0, cpu0
        drawn = 0
        while True:
            elapsed = time.monotonic() - start
            if elapsed >= seconds:
                break
            await asyncio.sleep(min(1.0, seconds - elapsed))
            status = await sender.core_status()
            state.calls_up = int(status.get_field_value("CoreCurrentCalls") or 0)
            summary = await sender.queue_summary()
            state.waiting = sum(int(e.get_field_value("Callers") or 0) for e in summary)
            now, cpu = time.monotonic(), time.thread_time()
            n = state.events
            rate = (n - last_n) / (now - last_t) if now > last_t else 0.0
            cpu_per_event = (cpu - last_cpu) / (n - last_n) * 1e6 if n > last_n else 0.0
            last_t, last_n, last_cpu = now, n, cpu
            lines = [
                f"{now - start:5.1f}s  {rate:8,.0f} events/s  calls up {state.calls_up:4d}  "
                f"waiting {state.waiting:3d}  client CPU {cpu_per_event:5.1f} µs/event",
                f"        top: {_top(state.names)}",
            ]
            if tty:
                if drawn:
                    out.write(f"\x1b[{drawn}F\x1b[J")
                out.write("\n".join(lines) + "\n")
                drawn = len(lines)
            else:
                out.write(lines[0] + "\n")
            out.flush()
        total_time = time.monotonic() - start
        total_cpu = time.thread_time() - cpu0
        stats = client.stats
        return {
            "seconds": total_time,
            "cpu": total_cpu,
            "dropped": stats.events_dropped,
            "protocol_errors": stats.protocol_errors,
        }


def run_demo(*, seconds: float = 5.0, rate: float = 3000.0, out: TextIO | None = None) -> int:
    """Run the demo; returns the exit code (0 when events flowed)."""
    out = out if out is not None else sys.stdout
    tty = bool(getattr(out, "isatty", lambda: False)())
    impl = _select.IMPLEMENTATION
    print(
        f"ami-fast demo: a simulated call centre at ~{rate:,.0f} events/s for {seconds:g} s (parser: {impl})",
        file=out,
    )
    state = _Watch()
    with RunningSimulator(rate=rate) as sim:
        print(f"simulator listening on {sim.url}", file=out, flush=True)
        result = asyncio.run(_watch(sim, seconds, out, tty, state))
        sample = b"".join(sim.call(lambda: list(sim.simulator.recent) if sim.simulator else []))

    n, secs = state.events, result["seconds"]
    print(file=out)
    print("Report", file=out)
    print(
        f"  events received   {n:,} in {secs:.1f} s ({n / secs:,.0f}/s); dropped {result['dropped']}, "
        f"protocol errors {result['protocol_errors']}",
        file=out,
    )
    print(
        f"  calls             {state.cdrs:,} completed, {state.calls_up} up at the end, "
        f"{state.waiting} waiting in queues",
        file=out,
    )
    print("  top events        " + ", ".join(f"{k} {v:,}" for k, v in state.names.most_common(6)), file=out)
    if n:
        print(
            f"  client CPU        {result['cpu'] / n * 1e6:.1f} µs/event (parse + route + dispatch, "
            f"{impl} parser, loop thread)",
            file=out,
        )
    if sample:
        parts = []
        for label, cls in (("native", _select.ParserNative), ("pure Python", _select.ParserPy)):
            if cls is None:
                parts.append(f"{label}: not built")
                continue
            per_event, count = measure_parse(sample, cls)
            parts.append(f"{label} {per_event * 1e6:.2f} µs/event")
        print(
            f"  parse only        {', '.join(parts)} (re-parsing {count:,} events of this traffic)", file=out
        )
    print(file=out)
    print(NEXT_STEPS, file=out, flush=True)
    if n == 0:
        print("ami-fast demo: no event arrived; something is wrong", file=sys.stderr)
        return 1
    return 0
