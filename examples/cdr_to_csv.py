"""Write CDR events to CSV as calls end (stdout, or a file).

    python examples/cdr_to_csv.py ami:amipass@127.0.0.1 [count] [out.csv]

Asterisk sends one ``Event: Cdr`` per call leg when cdr_manager is enabled (``cdr,all`` read).
"""

from __future__ import annotations

import asyncio
import csv
import os
import sys
from typing import TextIO

import ami_fast

COLUMNS = [
    "UniqueID",
    "StartTime",
    "AnswerTime",
    "EndTime",
    "Source",
    "Destination",
    "DestinationContext",
    "Channel",
    "DestinationChannel",
    "Duration",
    "BillableSeconds",
    "Disposition",
]


async def main(url: str, count: int, out: TextIO) -> None:
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    async with ami_fast.connect(url) as client:
        written = 0
        async with client.events("Cdr") as stream:  # only Cdr events reach this iterator
            async for event in stream:
                writer.writerow({key: event.get(key, "") for key in COLUMNS})
                out.flush()
                written += 1
                if written >= count:
                    break


if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("AMI_URL", "ami:amipass@127.0.0.1")
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    if len(sys.argv) > 3:
        with open(sys.argv[3], "w", newline="") as f:
            asyncio.run(main(url, count, f))
    else:
        asyncio.run(main(url, count, sys.stdout))
