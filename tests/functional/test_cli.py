"""The ami-fast command line against the real server (run as `python -m ami_fast`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

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
