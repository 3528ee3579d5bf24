"""Blocking use from a plain script (no asyncio): actions, a list, and a few events.

    python examples/blocking.py ami:amipass@127.0.0.1

``ami_fast.sync.connect`` runs a private event loop on a daemon thread; leaving the ``with``
block logs off, stops it and joins the thread.
"""

from __future__ import annotations

import os
import sys

import ami_fast.sync


def main(url: str) -> None:
    with ami_fast.sync.connect(url) as client:
        pong = client.ping()
        print(f"ping: {pong['Ping']} (AMI {client.version})")
        channels = client.core_show_channels()
        print(f"{len(channels)} channels up")
        for chan in list(channels)[:3]:
            print(f"  {chan['Channel']:<32} {chan['ChannelStateDesc']:<8} {chan['Duration']}")
        print(client.command("core show calls").get_command_output())
        for event in client.events("Hangup", count=3):
            print(f"hangup: {event['Channel']} ({event['Cause-txt']})")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("AMI_URL", "ami:amipass@127.0.0.1"))
