"""The blocking wrapper: same actions and results, events, and no leaked threads or sockets."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

import ami_fast
import ami_fast.sync
from ami_fast.collection import Collection
from ami_fast.errors import ActionError, AuthenticationError, ConnectionLostError, UsageError
from ami_fast.reconnect import ConnectionLost, Reconnected
from ami_fast.simulator import RunningSimulator
from ami_fast.testing import FakeAsterisk
from helpers import RECONNECT_FAST, eventually, live

T = TypeVar("T")

FAST = RECONNECT_FAST


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
            assert [t.name for t in threading.enumerate()].count("ami-fast-sync-loop") == 1
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


# -- connect_reconnecting: the blocking calls run in a worker thread, so the test's own loop
# -- keeps serving the FakeAsterisk.


def blocking(fn: Callable[..., T], *args: Any, **kwargs: Any) -> asyncio.Future[T]:
    return asyncio.ensure_future(asyncio.wait_for(asyncio.to_thread(fn, *args, **kwargs), 10))


async def test_reconnecting_markers_callbacks_and_requests(srv: FakeAsterisk) -> None:
    client = await blocking(ami_fast.sync.connect_reconnecting, srv.url, **FAST)
    try:
        assert (client.epoch, client.connected, client.stopped) == (1, True, False)
        ticks: list[tuple[str, str]] = []
        client.on_event("Tick", lambda e: ticks.append((e["N"], threading.current_thread().name)))
        stream = client.events("Tick")
        srv.push_event("Tick", {"N": "1"})
        assert (await blocking(next, stream))["N"] == "1"
        live(srv).close()  # the server drops the link
        lost, back = await blocking(lambda: [next(stream), next(stream)])
        assert isinstance(lost, ConnectionLost) and lost.epoch == 1
        assert isinstance(lost.error, ConnectionLostError)
        assert isinstance(back, Reconnected) and back.epoch == 2
        await blocking(client.wait_connected, 5.0)
        assert client.epoch == 2 and client.connected and client.stats["reconnects"] == 1
        assert (await blocking(client.ping))["Ping"] == "Pong"
        action = client.create_action("Getvar", {"Variable": "NOPE"})
        response = await blocking(client.request, action, timeout=5.0)
        assert response.name == "Success" and response["Value"] == ""
        with pytest.raises(ActionError, match="Database entry not found"):
            await blocking(client.db_get, "fam", "nokey")
        srv.push_event("Tick", {"N": "2"})
        assert (await blocking(next, stream))["N"] == "2"
        # Callbacks follow the sessions too, and run on the loop thread.
        assert ticks == [("1", "ami-fast-sync-loop"), ("2", "ami-fast-sync-loop")]
        assert "originate" in dir(client)
    finally:
        await blocking(client.close)
    assert client.stopped and not client.connected
    assert list(stream) == []  # closing ended the iteration
    with pytest.raises(UsageError):
        client.ping()


async def test_reconnecting_state_is_reapplied(srv: FakeAsterisk) -> None:
    with await blocking(ami_fast.sync.connect_reconnecting, srv.url, **FAST) as client:
        assert (await blocking(client.add_filter, "Event: Tick"))["Response"] == "Success"
        assert (await blocking(client.set_events, "user"))["Response"] == "Success"
        assert client.filters == [("Event: Tick", None)]
        live(srv).close()
        # wait_connected alone could return before the client has even seen the drop
        await eventually(lambda: client.epoch == 2 and client.connected)
        received = [
            (m.name, m.get_field_value("Filter") or m.get_field_value("EventMask")) for m in srv.received
        ]
        logins = [i for i, (name, _) in enumerate(received) if name == "Login"]
        assert len(logins) == 2
        assert received[logins[1] + 1 :][:2] == [("Events", "user"), ("Filter", "Event: Tick")]
        await blocking(client.close)


async def test_reconnecting_fails_fast_while_down_then_recovers(srv: FakeAsterisk) -> None:
    client = await blocking(ami_fast.sync.connect_reconnecting, srv.url, max_auth_failures=None, **FAST)
    try:
        stream = client.events("Tick")
        srv.users["ami"].secret = "changed"  # every new login is refused from now on
        live(srv).close()
        assert isinstance(await blocking(next, stream), ConnectionLost)
        with pytest.raises(ConnectionLostError):
            await blocking(client.ping)  # nothing is queued while reconnecting
        with pytest.raises(ConnectionLostError):
            await blocking(client.request, client.create_action("Ping"))
        with pytest.raises(TimeoutError):
            await blocking(client.wait_connected, 0.05)
        assert not client.connected and client.stats["auth_failures"] >= 1
        srv.users["ami"].secret = "amipass"
        back = await blocking(next, stream)
        assert isinstance(back, Reconnected) and back.epoch == 2 and back.attempts >= 2
        await blocking(client.wait_connected, 5.0)
        assert (await blocking(client.ping))["Ping"] == "Pong"
    finally:
        await blocking(client.close)


async def test_reconnecting_login_failure_is_authentication_error(srv: FakeAsterisk) -> None:
    threads = len([t for t in threading.enumerate() if not t.name.startswith("asyncio_")])
    with pytest.raises(AuthenticationError, match="2 consecutive login failures"):
        await blocking(
            ami_fast.sync.connect_reconnecting, srv.url_for("ami", "wrong"), max_auth_failures=2, **FAST
        )
    with pytest.raises(ValueError):
        await blocking(ami_fast.sync.connect_reconnecting, "tcp://127.0.0.1:1")  # no credentials
    assert not [t for t in threading.enumerate() if t.name == "ami-fast-sync-loop"]
    # asyncio.to_thread may have started more than one worker of its own by now
    assert len([t for t in threading.enumerate() if not t.name.startswith("asyncio_")]) <= threads
    # Later: the supervisor gives up; the iterator, the calls and wait_connected say why.
    client = await blocking(ami_fast.sync.connect_reconnecting, srv.url, max_auth_failures=2, **FAST)
    stream = client.events()
    srv.users["ami"].secret = "changed"
    live(srv).close()
    with pytest.raises(AuthenticationError, match="gave up"):
        await blocking(list, stream)  # ConnectionLost first, then the stop error
    with pytest.raises(AuthenticationError):
        await blocking(client.ping)
    with pytest.raises(AuthenticationError):
        await blocking(client.wait_connected, 1.0)
    assert client.stopped and client.stats["auth_failures"] == 2
    assert isinstance(client.last_error, AuthenticationError)
    await blocking(client.close)


async def test_reconnecting_leaves_no_threads_or_sockets(srv: FakeAsterisk) -> None:
    loop = asyncio.get_running_loop()

    async def drop() -> None:
        live(srv).close()

    def cycle() -> None:
        with ami_fast.sync.connect_reconnecting(srv.url, **FAST) as client:
            stream = client.events("Tick")
            asyncio.run_coroutine_threadsafe(drop(), loop).result(5)
            assert [type(next(stream)) for _ in range(2)] == [ConnectionLost, Reconnected]
            client.wait_connected(5.0)
            client.ping()
            assert [t.name for t in threading.enumerate()].count("ami-fast-sync-loop") == 1
        client.close()  # idempotent

    def scenario() -> tuple[tuple[int, int], tuple[int, int]]:
        cycle()  # warm-up (lazy imports, the first executor use) before the baseline
        before = (threading.active_count(), open_fds())
        for _ in range(3):
            cycle()
        deadline = time.monotonic() + 5
        while (threading.active_count(), open_fds()) != before and time.monotonic() < deadline:
            time.sleep(0.01)  # the server side of the sockets closes on the test's loop
        return before, (threading.active_count(), open_fds())

    before, after = await asyncio.wait_for(asyncio.to_thread(scenario), 60)
    assert after == before
