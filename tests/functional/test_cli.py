"""The ami-fast command line against the real server (run as `python -m ami_fast`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import ami_fast.sync

from .conftest import AmiServer


def _cli(*args: str, url: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("AMI_URL", "AMI_SECRET")}
    return subprocess.run(
        [sys.executable, "-m", "ami_fast", *args, "--url", url],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def test_cli_ping_command_and_action(ami_server: AmiServer) -> None:
    ping = _cli("ping", url=ami_server.url)
    assert ping.returncode == 0, ping.stderr

    command = _cli("command", "dialplan show ami-agents", url=ami_server.url)
    assert command.returncode == 0, command.stderr
    assert "[ Context 'ami-agents' created by 'pbx_config' ]" in command.stdout
    assert "\n\n" in command.stdout  # the empty output line survives

    action = _cli("action", "Getvar", "Variable=AMI_TEST_GLOBAL", "--format", "json", url=ami_server.url)
    assert action.returncode == 0, action.stderr
    assert "hello" in json.dumps(json.loads(action.stdout))


@pytest.mark.parametrize(
    ("args", "user", "secret", "code"),
    [
        (("command", "core show no-such-thing"), "ami", None, 1),  # action error
        (("ping",), "ami", "wrong-secret", 4),  # login failed
        (("action", "Command", "Command=core show uptime"), "amilimited", None, 1),  # permission denied
    ],
)
def test_cli_failures_have_distinct_exit_codes(
    ami_server: AmiServer, args: tuple[str, ...], user: str, secret: str | None, code: int
) -> None:
    result = _cli(*args, url=ami_server.url_for(user, secret))
    assert result.returncode == code, (result.stdout, result.stderr)
    # One line says what failed (a failing CLI command's own output may come before it).
    assert result.stderr.strip().splitlines()[-1].startswith("ami-fast: "), result.stderr
    assert "wrong-secret" not in result.stderr and "amipass" not in result.stderr


def test_cli_events_and_a_collection(ami_server: AmiServer, tag: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("AMI_URL", "AMI_SECRET", "PYTHONUNBUFFERED")}
    args = ["events", "UserEvent", "--where", f"UserEvent={tag}*", "--fields", "UserEvent,Seq"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "ami_fast", *args, "--count", "2", "--url", ami_server.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        with ami_fast.sync.connect(ami_server.url) as client:
            # Sent until the CLI (which may still be logging in) has printed two and exited.
            for seq in range(100):
                client.user_event(f"{tag}-{seq}", {"Seq": seq})
                try:
                    proc.wait(0.2)
                    break
                except subprocess.TimeoutExpired:
                    pass
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        proc.wait(10)
    assert proc.returncode == 0, err
    docs = [json.loads(line) for line in out.splitlines()]
    assert len(docs) == 2, out
    assert all(set(d) == {"Event", "UserEvent", "Seq"} and d["UserEvent"].startswith(tag) for d in docs)

    listed = _cli("action", "DeviceStateList", "--format", "json", url=ami_server.url)
    assert listed.returncode == 0, listed.stderr
    doc = json.loads(listed.stdout)
    text = json.dumps(doc)
    assert "DeviceStateListComplete" in text and "DeviceStateChange" in text, text[:500]
