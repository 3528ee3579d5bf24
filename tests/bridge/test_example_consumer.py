"""examples/nats_consumer.py reads what the bridge published (markers and events)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import ami_fast
from ami_fast.bridge import Bridge, parse_config
from ami_fast.simulator import Simulator

from .conftest import bridge_config, wait_for

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "nats_consumer.py"


async def test_example_consumer_prints_markers_and_events(nats_url: str, tag: str) -> None:
    async with Simulator(rate=500, seed=3) as sim:
        cfg = parse_config(bridge_config(tag, nats_url, {"pbx": sim.url}))
        async with Bridge(cfg) as bridge:
            await wait_for(lambda: bridge.boxes["pbx"].acked >= 30)
    env = {**os.environ, "PYTHONPATH": str(Path(ami_fast.__file__).resolve().parents[1])}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLE), nats_url, "25", "--prefix", tag, "--stream", f"S{tag}",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    assert len(lines) == 25
    assert lines[0].startswith("pbx ") and lines[0].split()[2] == "_Connected"
    assert [int(line.split()[1].split(".")[1]) for line in lines] == list(range(1, 26))
    assert not any("gap" in line for line in lines)
