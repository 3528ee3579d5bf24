"""The blocking wrapper: same actions and results, events, and no leaked threads or sockets."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest

import ami_fast
import ami_fast.sync
from ami_fast.collection import Collection
from ami_fast.errors import ActionError, AuthenticationError, UsageError
from ami_fast.simulator import RunningSimulator


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with RunningSimulator(rate=300.0, seed=21, auth_failure_delay=0.05) as running:
        yield running


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0


def test_actions_and_results(sim: RunningSimulator) -> None:
    with ami_fast.sync.connect(sim.url) as client:
        assert client.ping()["Ping"] == "Pong"
        assert client.version == "11.0.0"
        channels = client.core_show_channels()
        assert isinstance(channels, Collection) and channels.complete
        output = client.command("core show calls").get_command_output()
        assert "calls processed" in (output or "")
        action = client.create_action("Getvar", {"Variable": "NOPE"})
        response = client.request(action, timeout=5.0)
        assert response.action_id == action.action_id and response["Value"] == ""
        with pytest.raises(ActionError, match="No such channel"):
            client.hangup("PJSIP/none-00000000")
        event = client.originate("PJSIP/1001", exten="100", context="default", wait=True)
        assert event["Response"] == "Success"
        assert "originate" in dir(client)
    assert client.closed
    with pytest.raises(UsageError):
        client.ping()


def test_events_iterator_and_callbacks(sim: RunningSimulator) -> None:
    with ami_fast.sync.connect(sim.url) as client:
        seen: list[str] = []
        ready = threading.Event()

        def callback(event: ami_fast.Event) -> None:
            seen.append(event.name or "")
            if len(seen) >= 3:
                ready.set()

        client.on("event", callback)
        events = list(client.events(count=5))
        assert len(events) == 5 and all(isinstance(e, ami_fast.Event) for e in events)
        hangups = list(client.events("Hangup", count=2))
        assert [e.name for e in hangups] == ["Hangup", "Hangup"]
        assert ready.wait(5.0)
        client.off("event", callback)
        unsubscribe = client.on_event("Newchannel", lambda e: None)
        unsubscribe()
        quiet = list(client.events("NoSuchEvent", idle_timeout=0.2))
        assert quiet == []


def test_no_threads_or_sockets_leak(sim: RunningSimulator) -> None:
    # Warm-up (lazy imports, the first executor use) before taking the baseline.
    with ami_fast.sync.connect(sim.url) as client:
        client.ping()
    threads, fds = threading.active_count(), open_fds()
    for _ in range(3):
        with ami_fast.sync.connect(sim.url) as client:
            client.ping()
            list(client.events(count=2))
            assert threading.active_count() == threads + 1  # the one loop thread
        client.close()  # idempotent
    deadline = time.monotonic() + 5
    while (threading.active_count(), open_fds()) != (threads, fds) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == threads
    assert open_fds() == fds


def test_failed_connect_leaves_nothing_behind(sim: RunningSimulator) -> None:
    threads, fds = threading.active_count(), open_fds()
    with pytest.raises(AuthenticationError):
        ami_fast.sync.connect(sim.url.replace("amipass", "wrong"))
    with pytest.raises(ValueError):
        ami_fast.sync.connect("tcp://ami@127.0.0.1")  # user without secret
    with pytest.raises(OSError):
        ami_fast.sync.connect("ami:x@127.0.0.1:1", connect_timeout=2.0)
    assert threading.active_count() == threads
    assert open_fds() == fds


def test_end_without_with_block(sim: RunningSimulator) -> None:
    client = ami_fast.sync.connect(sim.url)
    assert client.queue_summary("sales")[0]["Queue"] == "sales"
    client.end()
    assert client.closed
    client.end()  # idempotent


def test_callbacks_may_not_block_on_the_loop(sim: RunningSimulator) -> None:
    with ami_fast.sync.connect(sim.url) as client:
        errors: list[BaseException] = []
        done = threading.Event()

        def bad(event: ami_fast.Event) -> None:
            try:
                client.ping()  # would deadlock: it runs on the loop thread
            except RuntimeError as exc:
                errors.append(exc)
            finally:
                done.set()

        client.on("event", bad)
        assert done.wait(5.0)
        client.off("event", bad)
    assert errors and "own loop thread" in str(errors[0])
