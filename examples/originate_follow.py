"""Originate a call and follow its events until it hangs up.

    python examples/originate_follow.py ami:amipass@127.0.0.1 [PJSIP/1001]

``originate()`` is asynchronous by default (a synchronous Originate would block the AMI
connection until the callee answers); ``wait=True`` returns its ``OriginateResponse``.
"""

from __future__ import annotations

import asyncio
import os
import sys

import ami_fast


async def main(url: str, endpoint: str) -> None:
    async with ami_fast.connect(url) as client:
        sender = ami_fast.ActionSender(client)
        # Subscribe before originating, so no event of the new call is missed.
        async with client.events() as stream:
            result = await sender.originate(
                endpoint,
                context="default",
                exten="100",
                priority=1,
                caller_id='"ami-fast" <100>',
                variables={"CAMPAIGN": "demo"},
                wait=True,
            )
            print(
                f"OriginateResponse: {result['Response']} (reason {result['Reason']}) on {result['Channel']}"
            )
            if result["Response"] != "Success":
                return
            uniqueid = result["Uniqueid"]
            async for event in stream:
                if uniqueid not in (event.get("Uniqueid"), event.get("Linkedid"), event.get("UniqueID")):
                    continue
                print(f"  {event.name:<18} {event.get('ChannelStateDesc') or event.get('Disposition') or ''}")
                if event.name == "Cdr":
                    break


if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("AMI_URL", "ami:amipass@127.0.0.1")
    asyncio.run(main(url, sys.argv[2] if len(sys.argv) > 2 else "PJSIP/1001"))
