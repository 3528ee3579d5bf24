"""`ami-fast bridge --config ...` as a process: runs, stops cleanly on SIGTERM, one-line errors."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import ami_fast
from ami_fast.simulator import Simulator

from .conftest import read_stream

ENV = {**os.environ, "PYTHONPATH": str(Path(ami_fast.__file__).resolve().parents[1])}


async def run_cli(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ami_fast", "bridge", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=ENV,
    )  # fmt: skip


async def test_runs_until_sigterm_then_drains(nats_url: str, tag: str, tmp_path: Path) -> None:
    async with Simulator(rate=1000, seed=5) as sim:
        user_host = sim.url.replace(":amipass@", "@")  # the secret comes from the environment
        config = tmp_path / "fleet.toml"
        config.write_text(
            f'[nats]\nurl = "{nats_url}"\nsubject_prefix = "{tag}"\nstream = "S{tag}"\nstorage = "memory"\n'
            f'[bridge]\nlease_bucket = "L{tag}"\n'
            f'[servers.pbx1]\nurl = "{user_host}"\nsecret_env = "PBX1_SECRET"\n'
            f'[servers.pbx2]\nurl = "{user_host}"\nsecret_env = "PBX1_SECRET"\n'
        )
        ENV["PBX1_SECRET"] = "amipass"
        proc = await run_cli("--config", str(config), "--servers", "pbx2")
        try:
            # Connected, logged in, events flowing.
            assert len(await read_stream(nats_url, f"S{tag}", expect=3)) >= 3
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    assert b"amipass" not in err  # the secret never shows in the logs
    stored = await read_stream(nats_url, f"S{tag}")
    assert stored and {m.doc["server"] for m in stored} == {"pbx2"}  # --servers picked one
    assert stored[0].doc["event"] == "_Connected"
    assert stored[-1].doc["event"] == "_ConnectionLost" and stored[-1].doc["reason"] == "bridge stopping"
    assert [m.doc["seq"] for m in stored] == list(range(1, len(stored) + 1))


async def test_unreachable_broker_is_one_line_exit_3(tmp_path: Path) -> None:
    config = tmp_path / "fleet.toml"
    config.write_text(
        '[nats]\nurl = "nats://127.0.0.1:1"\nconnect_timeout = 0.5\n[servers.a]\nurl = "tcp://u:p@127.0.0.1:1"\n'
    )
    proc = await run_cli("--config", str(config))
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 3
    lines = err.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "ami-fast: connection failed: cannot connect to NATS at nats://127.0.0.1:1"
    )
