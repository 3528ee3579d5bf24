"""Each script in examples/ runs against the simulator, in bounded time, and prints what it should."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import ami_fast
from ami_fast.simulator import RunningSimulator

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PACKAGE_ROOT = str(Path(ami_fast.__file__).resolve().parents[1])


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with RunningSimulator(rate=800.0, seed=41) as running:
        yield running


def run_example(name: str, *args: str, url: str, via_env: bool = False) -> str:
    env = {**os.environ, "PYTHONPATH": PACKAGE_ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    argv = [sys.executable, str(EXAMPLES / name)]
    if via_env:
        env["AMI_URL"] = url
    else:
        argv.append(url)
    done = subprocess.run([*argv, *args], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_example_is_tested() -> None:
    tested = {"list_commands.py", "originate_follow.py", "queue_wallboard.py", "cdr_to_csv.py", "blocking.py"}
    tested.add("nats_consumer.py")  # needs a nats-server: tests/bridge/test_example_consumer.py
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested


def test_list_commands(sim: RunningSimulator) -> None:
    out = run_example("list_commands.py", url=sim.url, via_env=True)
    names = {line.split()[0].lower() for line in out.splitlines()}
    assert {"ping", "originate", "queuestatus", "coreshowchannels"} <= names


def test_originate_follow(sim: RunningSimulator) -> None:
    out = run_example("originate_follow.py", "PJSIP/2001", url=sim.url)
    lines = out.splitlines()
    assert lines[0].startswith("OriginateResponse: Success (reason 4) on PJSIP/2001-")
    followed = [line.split()[0] for line in lines[1:]]
    assert followed[0] == "Newchannel" and followed[-1] == "Cdr"
    assert "Hangup" in followed and followed.index("Newstate") < followed.index("Hangup")


def test_queue_wallboard(sim: RunningSimulator) -> None:
    out = run_example("queue_wallboard.py", "2", url=sim.url)
    assert "\x1b[" not in out  # no screen clearing when not on a terminal
    assert out.count("refresh ") == 2
    rows = [
        line.split()
        for line in out.splitlines()
        if line.split() and line.split()[0] in ("sales", "support", "billing")
    ]
    assert len(rows) == 6 and all(len(r) == 7 for r in rows)


def test_cdr_to_csv(sim: RunningSimulator, tmp_path: Path) -> None:
    out = run_example("cdr_to_csv.py", "3", url=sim.url)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 3
    assert all(r["Disposition"] == "ANSWERED" and r["UniqueID"] for r in rows)
    target = tmp_path / "cdr.csv"
    run_example("cdr_to_csv.py", "2", str(target), url=sim.url)
    assert len(list(csv.DictReader(target.open()))) == 2


def test_blocking(sim: RunningSimulator) -> None:
    out = run_example("blocking.py", url=sim.url)
    assert out.startswith("ping: Pong (AMI 11.0.0)")
    assert "channels up" in out and "calls processed" in out
    assert out.count("hangup: ") == 3
