"""Every ``ami-fast`` command against the simulator: output, exit codes, one-line errors."""

from __future__ import annotations

import io
import json
import os
import select
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ami_fast
from ami_fast import cli
from ami_fast.simulator import RunningSimulator
from ami_fast.url import parse_url

PACKAGE_ROOT = str(Path(ami_fast.__file__).resolve().parents[1])


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with RunningSimulator(rate=400.0, seed=31, auth_failure_delay=0.05) as running:
        # An action the server receives but never answers, for the timeout exit code.
        running.call(lambda: running.simulator.server.on_action("Stall", lambda conn, action: None))  # type: ignore[union-attr]
        yield running


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AMI_URL", raising=False)
    monkeypatch.delenv("AMI_SECRET", raising=False)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("ami-fast: ")
    return lines[0]


def received(sim: RunningSimulator, name: str) -> int:
    server = sim.simulator.server  # type: ignore[union-attr]
    return sim.call(lambda: sum(1 for m in server.received if (m.name or "").lower() == name.lower()))  # type: ignore[no-any-return]


def test_ping(sim: RunningSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "ping", "--url", sim.url)
    assert code == 0 and err == ""
    assert out.startswith("Pong from 127.0.0.1:") and "AMI 11.0.0" in out


def test_url_from_environment_and_secret_from_ami_secret(
    sim: RunningSimulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMI_URL", sim.url.replace(":amipass@", "@"))
    monkeypatch.setenv("AMI_SECRET", "amipass")
    code, out, _ = run(capsys, "ping")
    assert code == 0 and "Pong" in out


def test_secret_prompt_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt: "p@ss:w/rd")
    url = cli.resolve_url("tls://ami@pbx.example.com", environ={}, stdin=Tty())
    parsed = parse_url(url)
    assert (parsed.username, parsed.secret, parsed.scheme, parsed.port) == ("ami", "p@ss:w/rd", "tls", 5039)
    with pytest.raises(cli.CliError) as info:
        cli.resolve_url("ami@127.0.0.1", environ={}, stdin=io.StringIO())
    assert info.value.code == cli.EXIT_USAGE and "AMI_SECRET" in str(info.value)


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "ping")
    assert code == cli.EXIT_USAGE and "--url" in one_line(err)
    code, _, err = run(capsys, "ping", "--url", "ftp://x")
    assert code == cli.EXIT_USAGE and "scheme" in one_line(err)
    code, _, err = run(capsys)
    assert code == cli.EXIT_USAGE
    with pytest.raises(SystemExit) as info:
        cli.main(["no-such-command"])
    assert info.value.code == cli.EXIT_USAGE
    capsys.readouterr()


def test_connection_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:  # bound but not listening: refused, and nobody can take the port
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        code, out, err = run(capsys, "ping", "--url", f"ami:x@127.0.0.1:{port}")
    assert code == cli.EXIT_CONNECT and out == ""
    assert "connection refused" in one_line(err)


def test_login_failed_never_prints_the_secret(
    sim: RunningSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "ping", "--url", sim.url.replace("amipass", "Wr0ngS3cret"))
    assert code == cli.EXIT_AUTH
    assert "login failed" in one_line(err) and "Wr0ngS3cret" not in err


def test_action_json_collection(sim: RunningSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "action", "CoreShowChannels", "--url", sim.url, "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["response"]["EventList"] == "start"
    assert int(doc["complete"]["ListItems"]) == len(doc["events"]) > 0
    assert all(e["Event"] == "CoreShowChannel" for e in doc["events"])


def test_action_table_and_repeated_fields(sim: RunningSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "action", "QueueSummary", "Queue=sales", "--url", sim.url, "--format", "table")
    assert code == 0
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if "LoggedIn" in line)
    assert lines[header].split()[:2] == ["Event", "Queue"] and set(lines[header + 1]) <= {"-", " "}
    assert lines[header + 2].startswith("QueueSummary") and "sales" in lines[header + 2]
    code, out, _ = run(
        capsys, "action", "UserEvent", "UserEvent=Cli", "Tag=a", "Tag=b", "--url", sim.url, "--format", "json"
    )
    assert code == 0 and json.loads(out)["Message"] == "Event Sent"
    ue = sim.call(lambda: [m for m in sim.simulator.server.received if m.name == "UserEvent"][-1])  # type: ignore[union-attr]
    assert ue.get_field_values("Tag") == ["a", "b"]


def test_action_error_exit_code(sim: RunningSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "action", "Hangup", "Channel=PJSIP/none-00000000", "--url", sim.url)
    assert code == cli.EXIT_ACTION and out == ""
    assert "action error: No such channel" in one_line(err)


def test_injection_refused_before_sending(sim: RunningSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    before = received(sim, "Logoff"), received(sim, "Ping")
    for bad in ("Foo=bar\r\nAction: Logoff", "Foo=x\nAction: Logoff", "Foo=a\x00b", "Fo\ro=x"):
        code, out, err = run(capsys, "action", "Ping", bad, "--url", sim.url)
        assert code == cli.EXIT_USAGE and out == ""
        assert "refused before sending" in one_line(err)
    code, _, err = run(capsys, "action", "Ping", "novalue", "--url", sim.url)
    assert code == cli.EXIT_USAGE and "key=value" in one_line(err)
    assert (received(sim, "Logoff"), received(sim, "Ping")) == before  # nothing was even connected


def test_timeout_exit_code(sim: RunningSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "action", "Stall", "--url", sim.url, "--timeout", "0.3")
    assert code == cli.EXIT_TIMEOUT and "timeout" in one_line(err)


def test_command_output(sim: RunningSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "command", "core show channels", "--url", sim.url)
    assert code == 0
    assert out.splitlines()[0].startswith("Channel") and "active channels" in out
    code, out, err = run(capsys, "command", "core show nonsense", "--url", sim.url)
    assert code == cli.EXIT_ACTION and out == ""
    assert "No such command" in err and err.strip().splitlines()[-1].startswith("ami-fast: action error")


def test_events_json_lines_with_filters(sim: RunningSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "events", "--url", sim.url, "--count", "5")
    assert code == 0 and err == ""  # stderr is not a terminal: no rate line
    docs = [json.loads(line) for line in out.splitlines()]
    assert len(docs) == 5 and all("Event" in d for d in docs)
    code, out, _ = run(
        capsys,
        "events",
        "hangup",
        "Cdr",
        "--url",
        sim.url,
        "--count",
        "3",
        "--fields",
        "Channel,Cause,Disposition",
    )
    docs = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(docs) == 3
    for d in docs:
        assert d["Event"] in ("Hangup", "Cdr")
        assert set(d) <= {"Event", "Channel", "Cause", "Disposition"} and "Channel" in d
    code, out, _ = run(
        capsys, "events", "Newchannel", "--where", "Channel=PJSIP/agent*", "--url", sim.url, "--count", "2"
    )
    docs = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(docs) == 2
    assert all(d["Channel"].startswith("PJSIP/agent") for d in docs)


def events_into_a_pipe(sim: RunningSimulator) -> subprocess.Popen[bytes]:
    """`ami-fast events UserEvent` with its stdout a block-buffered pipe, as for users."""
    env = {**os.environ, "PYTHONPATH": PACKAGE_ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("AMI_URL", None)
    env.pop("PYTHONUNBUFFERED", None)
    return subprocess.Popen(
        [sys.executable, "-m", "ami_fast", "events", "UserEvent", "--url", sim.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def first_output(proc: subprocess.Popen[bytes], sim: RunningSimulator) -> bytes:
    """Push UserEvents until the process writes something (it may not be logged in at first)."""
    assert proc.stdout is not None and proc.stderr is not None
    server = sim.simulator.server  # type: ignore[union-attr]
    for attempt in range(100):
        sim.call(lambda n=attempt: server.push_event("UserEvent", {"UserEvent": f"pipe-{n}"}))
        if select.select([proc.stdout], [], [], 0.2)[0]:
            return os.read(proc.stdout.fileno(), 65536)
        assert proc.poll() is None, proc.stderr.read()
    raise AssertionError("no output")


def test_events_reach_a_pipe_without_waiting_for_more(sim: RunningSimulator) -> None:
    # A quiet server: each event must leave a block-buffered pipe promptly, not after 256 more.
    proc = events_into_a_pipe(sim)
    try:
        got = first_output(proc, sim)
    finally:
        proc.terminate()
        proc.wait(10)
    doc = json.loads(got.splitlines()[0])
    assert doc["Event"] == "UserEvent" and doc["UserEvent"].startswith("pipe-")


def test_events_into_a_reader_that_goes_away_exits_quietly_even_when_quiet(sim: RunningSimulator) -> None:
    # `ami-fast events | head -1`: once the reader is gone the command ends with 0 and no noise.
    proc = events_into_a_pipe(sim)
    try:
        first_output(proc, sim)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # the reader goes away; no event follows (a quiet server)
        assert proc.wait(10) == 0  # noticed without waiting for the next event
        assert proc.stderr.read() == b""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_events_rate_line_only_on_a_terminal(
    sim: RunningSimulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    line = cli._RateLine(enabled=True)
    fake_err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", fake_err)
    for _ in range(3):
        line.tick()
    line.done()
    assert fake_err.getvalue().endswith("3 events\n")
    quiet = cli._RateLine(enabled=False)
    quiet.tick()
    quiet.done()
    assert fake_err.getvalue().count("events") == 1


def test_simulate_serves_other_programs() -> None:
    env = {**os.environ, "PYTHONPATH": PACKAGE_ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ami_fast", "simulate", "--port", "0", "--rate", "300", "--seconds", "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("serving a simulated Asterisk on tcp://ami:amipass@127.0.0.1:")
        url = first.split(" on ", 1)[1].split(" at ", 1)[0]
        with ami_fast.sync.connect(url) as client:
            assert client.ping()["Ping"] == "Pong"
            assert len(list(client.events(count=3))) == 3
    finally:
        proc.terminate()
        proc.wait(10)


def test_demo_runs_to_the_end_without_a_tty(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "demo", "--seconds", "1.5", "--rate", "600")
    assert code == 0
    assert "events/s" in out and "Report" in out and "events received" in out
    assert "parse only" in out and "point ami-fast at a real Asterisk" in out
    assert "\x1b[" not in out  # no cursor movement when stdout is not a terminal


def test_python_dash_m_entry_point() -> None:
    env = {**os.environ, "PYTHONPATH": PACKAGE_ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(
        [sys.executable, "-m", "ami_fast", "--help"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0
    for command in ("demo", "events", "action", "command", "ping", "simulate", "bench"):
        assert command in done.stdout


def test_bench_is_quick_by_default(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ami_fast._bench import compare

    calls: list[Any] = []
    monkeypatch.setattr(compare, "main", lambda argv: calls.append(argv) or 0)
    assert run(capsys, "bench")[0] == 0
    assert run(capsys, "bench", "--full", "--only", "parse")[0] == 0
    assert calls == [["--quick"], ["--only", "parse"]]


def test_bench_missing_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ami_fast._bench.compare", None)
    code, _, err = run(capsys, "bench")
    assert code == cli.EXIT_USAGE and "benchmarks not available" in one_line(err)


def test_demo_redraws_in_place_on_a_terminal() -> None:
    from ami_fast._sim_demo import run_demo

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    assert run_demo(seconds=1.3, rate=300.0, out=out) == 0
    text = out.getvalue()
    assert "\x1b[2F\x1b[J" in text  # the two live lines are redrawn, not appended
    assert "top:" in text and "Report" in text
