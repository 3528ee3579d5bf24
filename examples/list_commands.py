"""Connect, list the actions the server offers, print them (the seed's quickstart).

python examples/list_commands.py ami:amipass@127.0.0.1
(or set AMI_URL; try it against `ami-fast simulate`)
"""

from __future__ import annotations

import asyncio
import os
import sys

import ami_fast


async def main(url: str) -> None:
    async with ami_fast.connect(url) as client:
        sender = ami_fast.ActionSender(client)
        response = await sender.list_commands()
        # One field per action: "Originate: Originate a call.  (Priv: originate,all)".
        for name, description in response.items():
            if name not in ("Response", "ActionID"):
                print(f"{name:<24} {description}")


if __name__ == "__main__":
    asyncio.run(
        main(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("AMI_URL", "ami:amipass@127.0.0.1"))
    )
