"""A queue wallboard: refresh a table of every queue from QueueSummary, live.

    python examples/queue_wallboard.py ami:amipass@127.0.0.1 [refreshes]

Each refresh is one QueueSummary list (a Collection of QueueSummary events); the counts of
answered and abandoned calls come from the AgentConnect/QueueCallerAbandon event stream.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter

import ami_fast


async def main(url: str, refreshes: int) -> None:
    answered: Counter[str] = Counter()
    abandoned: Counter[str] = Counter()
    async with ami_fast.connect(url) as client:
        client.on_event("AgentConnect", lambda e: answered.update([e["Queue"]]))
        client.on_event("QueueCallerAbandon", lambda e: abandoned.update([e["Queue"]]))
        sender = ami_fast.ActionSender(client)
        for n in range(refreshes):
            summary = await sender.queue_summary()
            if sys.stdout.isatty():
                print("\x1b[H\x1b[J", end="")  # clear the screen on a terminal
            print(f"refresh {n + 1}/{refreshes}")
            print(f"{'queue':<10} {'agents':>6} {'free':>5} {'waiting':>7} ", end="")
            print(f"{'longest':>7} {'answered':>8} {'abandoned':>9}")
            for q in summary:
                name = q["Queue"]
                print(
                    f"{name:<10} {q['LoggedIn']:>6} {q['Available']:>5} {q['Callers']:>7} "
                    f"{q['LongestHoldTime']:>6}s {answered[name]:>8} {abandoned[name]:>9}"
                )
            sys.stdout.flush()
            await asyncio.sleep(1.0)


if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("AMI_URL", "ami:amipass@127.0.0.1")
    asyncio.run(main(url, int(sys.argv[2]) if len(sys.argv) > 2 else 10))
