"""``ami_fast.testing.FakeAsterisk`` in its own process, for the request benchmarks.

Prints ``URL <url>`` on stdout once listening, then serves until stdin closes. Running it in a
separate process keeps the server's work off the client's core.
"""

from __future__ import annotations

import asyncio
import sys

__all__ = ["main"]


async def _serve() -> None:
    from ..testing import FakeAsterisk

    async with FakeAsterisk(users={"ami": "amipass"}) as srv:
        print(f"URL tcp://ami:amipass@{srv.host}:{srv.port}", flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin


def main() -> None:
    asyncio.run(_serve())


if __name__ == "__main__":
    main()
