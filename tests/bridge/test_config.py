"""Config loading: a valid fleet file, and one clear line for every mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from ami_fast.bridge import load_config, parse_config
from ami_fast.cli import main

GOOD = """
[nats]
url = "nats://127.0.0.1:4222"
stream = "AMI"

[bridge]
buffer_events = 5000
overflow = "drop_oldest"
metrics = "127.0.0.1:9108"

[servers.pbx1]
url = "tcp://bridge@10.0.0.11:5038"
secret_env = "PBX1_SECRET"
exclude = ["RTCP*", "VarSet"]

[servers.pbx2]
url = "tls://bridge@pbx2.example.com"
secret_file = "pbx2.secret"
include = ["Newchannel", "Hangup", "Queue*"]
events = "call,agent"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fleet.toml"
    path.write_text(text)
    return path


def test_valid_file(tmp_path: Path) -> None:
    (tmp_path / "pbx2.secret").write_text("s3cr:et/\n")
    cfg = load_config(write(tmp_path, GOOD), environ={"PBX1_SECRET": "p@ss"})
    one, two = cfg.servers
    assert (one.id, two.id) == ("pbx1", "pbx2")
    assert one.url == "tcp://bridge:p%40ss@10.0.0.11:5038"
    assert two.url == "tls://bridge:s3cr%3Aet%2F@pbx2.example.com"  # file read, newline dropped, quoted
    assert "p@ss" not in repr(one) and "p%40ss" not in repr(one)
    assert cfg.bridge.buffer_events == 5000 and cfg.bridge.overflow == "drop_oldest"
    assert two.events == "call,agent"
    assert not one.wants("VarSet") and not one.wants("rtcpsent") and one.wants("Newchannel")
    assert two.wants("QueueMemberStatus") and not two.wants("VarSet")
    assert cfg.only(["pbx2"]).servers == [two]


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("[nats\n", {}, "fleet.toml: invalid TOML: "),
        ("[nats]\n", {}, "fleet.toml: no servers: add at least one [servers.<id>] table with a url"),
        (
            '[servers.a]\nurl = "tcp://u@h"\n',
            {},
            "fleet.toml: servers.a: the URL names user 'u' but no secret",
        ),
        (
            '[servers.a]\nurl = "tcp://u@h"\nsecret_env = "NOPE"\n',
            {},
            "fleet.toml: servers.a.secret_env: environment variable NOPE is not set",
        ),
        (
            '[servers.a]\nurl = "tcp://u@h"\nsecret_env = "S"\nsecret_file = "f"\n',
            {"S": "x"},
            "fleet.toml: servers.a: set one of secret_env or secret_file, not both",
        ),
        (
            '[servers.a]\nurl = "tcp://u@h"\nsecret_file = "missing.txt"\n',
            {},
            "fleet.toml: servers.a.secret_file: cannot read",
        ),
        ('[servers."a.b"]\nurl = "tcp://h"\n', {}, "fleet.toml: servers.a.b: a server id may only use"),
        ("[servers.a]\nurl = 5\n", {}, "fleet.toml: servers.a.url: expected a string, got a number"),
        (
            '[servers.a]\nurl = "ftp://h"\n',
            {},
            "fleet.toml: servers.a.url: invalid AMI URL: unsupported scheme",
        ),
        ('[servers.a]\nurl = "tcp://h"\nexclud = ["X"]\n', {}, "fleet.toml: servers.a: unknown key 'exclud'"),
        ('[servers.a]\nhost = "h"\n', {}, "fleet.toml: servers.a: missing url"),
        (
            '[bridge]\noverflow = "block"\n[servers.a]\nurl = "tcp://h"\n',
            {},
            "fleet.toml: bridge.overflow: must be one of 'drop_newest', 'drop_oldest', got 'block'",
        ),
        (
            '[bridge]\nbuffer_events = 0\n[servers.a]\nurl = "tcp://h"\n',
            {},
            "fleet.toml: bridge.buffer_events: must be at least 1, got 0",
        ),
        (
            '[bridge]\nlease = "yes"\n[servers.a]\nurl = "tcp://h"\n',
            {},
            "fleet.toml: bridge.lease: expected true or false, got a string",
        ),
        (
            '[bridge]\nmetrics = "9108"\n[servers.a]\nurl = "tcp://h"\n',
            {},
            "fleet.toml: bridge.metrics: expected host:port",
        ),
        (
            '[nats]\nsubject_prefix = "a.>"\n[servers.a]\nurl = "tcp://h"\n',
            {},
            "fleet.toml: nats.subject_prefix:",
        ),
        (
            '[nats]\nurl_env = "NO_SUCH"\n[servers.a]\nurl = "tcp://h"\n',
            {},
            "fleet.toml: nats.url_env: environment variable NO_SUCH is not set",
        ),
        ('[natss]\n[servers.a]\nurl = "tcp://h"\n', {}, "fleet.toml: unknown key 'natss'"),
        (
            '[servers.a]\nurl = "tcp://h"\n',
            {},
            "fleet.toml: servers.a.url: names no user: use tcp://user@host",
        ),
    ],
)
def test_errors_are_one_clear_line(tmp_path: Path, text: str, env: dict[str, str], expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ValueError) as info:
        load_config(path, environ=env)
    message = str(info.value)
    assert "\n" not in message
    assert message.replace(str(path), "fleet.toml").startswith(expected), message


def test_secret_never_in_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as info:
        parse_config({"servers": {"a": {"url": "tcp://u:topsecret@h:99999"}}})
    assert "topsecret" not in str(info.value)


@pytest.mark.parametrize(
    "name",
    ["Login", "Challenge", "Events", "Filter", "GetConfig", "getconfigjson", "UpdateConfig", "CreateConfig"],
)
def test_reserved_actions_are_refused_even_when_allowed(name: str) -> None:
    # GetConfig of manager.conf would carry every AMI secret onto the broker.
    cfg = parse_config({"servers": {"a": {"url": "tcp://u:p@h", "actions_allow": ["*"]}}})
    server = cfg.servers[0]
    assert not server.action_allowed(name)
    assert server.action_allowed("QueueStatus") and server.action_allowed("Command")


def test_missing_file_and_unknown_server(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read the config file"):
        load_config(tmp_path / "nope.toml")
    cfg = parse_config({"servers": {"a": {"url": "tcp://u:p@h"}}})
    with pytest.raises(ValueError, match="no server named 'b'"):
        cfg.only(["b"])


def test_cli_config_error_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, '[servers.a]\nurl = "tcp://u@h"\nsecret_env = "AMI_FAST_TEST_NO_SUCH_VAR"\n')
    assert main(["bridge", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    expected = "servers.a.secret_env: environment variable AMI_FAST_TEST_NO_SUCH_VAR is not set"
    assert err == f"ami-fast: {path}: {expected}\n"
    assert main(["bridge", "--config", str(tmp_path / "missing.toml")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
