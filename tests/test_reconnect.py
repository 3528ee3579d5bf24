"""ReconnectingClient against FakeAsterisk: backoff, epochs, markers, state re-applied, no resend."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

import ami_fast
from ami_fast.client import Client
from ami_fast.errors import AuthenticationError, ConnectionLostError
from ami_fast.messages import Message
from ami_fast.reconnect import ConnectionLost, Reconnected, ReconnectingClient
from ami_fast.testing import FakeAsterisk, FakeConnection, FakeUser
from helpers import RECONNECT_FAST, eventually, live

FAST = RECONNECT_FAST


def make(srv: FakeAsterisk, **options: Any) -> ReconnectingClient:
    return ReconnectingClient(srv.url, **{**FAST, **options})


async def take(stream: Any, n: int, timeout: float = 10.0) -> list[Any]:
    out = []
    for _ in range(n):
        out.append(await asyncio.wait_for(stream.__anext__(), timeout))
    return out


def names(items: list[Any]) -> list[str]:
    return [
        type(i).__name__ + f":{i.epoch}" if isinstance(i, (ConnectionLost, Reconnected)) else i.name
        for i in items
    ]


def actions(srv: FakeAsterisk, name: str) -> list[Message]:
    return [m for m in srv.received if (m.name or "").lower() == name.lower()]


async def test_exported_lazily() -> None:
    assert ami_fast.ReconnectingClient is ReconnectingClient
    assert ami_fast.ConnectionLost is ConnectionLost and ami_fast.Reconnected is Reconnected


async def test_reconnects_with_markers_in_order(srv: FakeAsterisk) -> None:
    async with make(srv) as rc:
        assert rc.epoch == 1
        stream = rc.events("Tick")
        srv.push_event("Tick", {"N": 1})
        assert names(await take(stream, 1)) == ["Tick"]
        first = rc.client
        live(srv).close()  # abrupt drop
        srv.push_event("Tick", {"N": 2})  # nobody logged in yet: goes nowhere
        items = await take(stream, 2)
        assert names(items) == ["ConnectionLost:1", "Reconnected:2"]
        assert isinstance(items[0].error, ConnectionLostError)
        assert items[1].attempts >= 1 and items[1].downtime >= 0
        await rc.wait_connected(5)
        srv.push_event("Tick", {"N": 3})
        (tick,) = await take(stream, 1)
        assert tick.get_field_value("N") == "3"
        assert rc.epoch == 2 and rc.client is not first and first.closed
        assert rc.stats["reconnects"] == 1 and rc.stats["connections_lost"] == 1
    assert rc.stopped


async def test_marker_precedes_first_event_of_new_session(srv: FakeAsterisk) -> None:
    # FullyBooted arrives in the same chunk as the Login response: the Reconnected marker
    # must still come before it.
    async with make(srv) as rc:
        stream = rc.events("FullyBooted")
        live(srv).close()
        items = await take(stream, 3)
        assert names(items) == ["ConnectionLost:1", "Reconnected:2", "FullyBooted"]


async def test_pending_request_fails_and_nothing_is_resent(srv: FakeAsterisk) -> None:
    srv.on_action("Originate", lambda conn, action: None)  # never answered
    async with make(srv) as rc:
        task = asyncio.ensure_future(rc.request(rc.create_action("Originate", {"Channel": "Local/1@x"})))
        await srv.wait_for_action("Originate")
        live(srv).close()
        with pytest.raises(ConnectionLostError):
            await asyncio.wait_for(task, 5)
        await eventually(lambda: rc.epoch == 2 and rc.connected)
        await rc.request(rc.create_action("Ping"))  # the new session works
        assert len(actions(srv, "Originate")) == 1  # and never saw the Originate again


async def test_request_while_disconnected_fails_at_once(srv: FakeAsterisk) -> None:
    rc = make(srv, backoff_initial=0.05, backoff_max=0.05)
    await rc.wait_connected(5)
    port = srv.port
    await srv.stop()
    await eventually(lambda: not rc.connected)
    with pytest.raises(ConnectionLostError, match="reconnecting"):
        await rc.request(rc.create_action("Ping"))
    await eventually(lambda: rc.stats["failed_attempts"] >= 1)
    # The server comes back on the same port: the supervisor finds it again.
    async with FakeAsterisk(port=port, auth_failure_delay=0.01) as again:
        await rc.wait_connected(10)
        assert rc.epoch == 2 and rc.stats["failed_attempts"] >= 1
        await rc.request(rc.create_action("Ping"))
        assert len(actions(again, "Ping")) == 1
        await rc.close()


async def test_reapplies_event_mask_and_filters_before_anything_else(srv: FakeAsterisk) -> None:
    srv.on_action("Filter", lambda conn, action: conn.send_response(action))
    hook_calls: list[int] = []

    async def resync(client: Client, epoch: int) -> None:
        hook_calls.append(epoch)
        await client.request(client.create_action("CoreShowChannels"))

    async with make(srv, events="call,user", filters=["Event: Tick"], on_reconnect=resync) as rc:
        await rc.add_filter("", match_criteria="name(UserEvent)")
        await rc.set_events("user")
        before = len(srv.received)
        live(srv).close()
        await eventually(lambda: hook_calls == [2])
        # The hook records its call before its request reaches the server: wait for the bytes.
        await eventually(lambda: any(m.name == "CoreShowChannels" for m in srv.received[before:]))
        names_after = [(m.name or "").lower() for m in srv.received[before:]]
        assert names_after[:5] == ["challenge", "login", "events", "filter", "filter"]
        assert names_after[5] == "coreshowchannels"  # the hook runs after the state is back
        login, events_, f1, f2 = (srv.received[before + i] for i in (1, 2, 3, 4))
        assert login.get_field_value("Events") == "call,user"
        assert events_.get_field_value("EventMask") == "user"
        assert f1.get_field_value("Filter") == "Event: Tick" and f1.get_field_value("Operation") == "Add"
        assert f2.get_field_value("MatchCriteria") == "name(UserEvent)"
        assert rc.filters == [("Event: Tick", None), ("", "name(UserEvent)")]


async def test_a_refused_filter_does_not_stop_the_others(
    srv: FakeAsterisk, caplog: pytest.LogCaptureFixture
) -> None:
    refuse = False

    def filter_(conn: FakeConnection, action: Message) -> None:
        if refuse and action.get_field_value("Filter") == "Event: Tick":
            conn.send_error(action, "Filter was formatted incorrectly.")
        else:
            conn.send_response(action)

    srv.on_action("Filter", filter_)
    with caplog.at_level(logging.ERROR, logger="ami_fast.reconnect"):
        async with make(srv, events="user", filters=["Event: Tick", "Event: Tock"]) as rc:
            await rc.set_events("call")
            before = len(srv.received)
            refuse = True
            live(srv).close()
            await eventually(lambda: rc.epoch == 2 and rc.connected)
            sent = [(m.name, m.get_field_value("Filter")) for m in srv.received[before:]][2:]
            assert sent == [("Events", None), ("Filter", "Event: Tick"), ("Filter", "Event: Tock")]
            await rc.request(rc.create_action("Ping"))  # the session was kept
    refused = [r.getMessage() for r in caplog.records if "re-applying" in r.getMessage()]
    assert len(refused) == 1 and "Filter was formatted" in refused[0]


async def test_hook_not_called_for_first_session_and_errors_are_contained(
    srv: FakeAsterisk, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    def hook(client: Client, epoch: int) -> None:
        calls.append(epoch)
        raise RuntimeError("resync failed")

    with caplog.at_level(logging.ERROR, logger="ami_fast.reconnect"):
        async with make(srv, on_reconnect=hook) as rc:
            assert calls == []
            live(srv).close()
            await eventually(lambda: calls == [2])
            await eventually(lambda: rc.connected)
            await rc.request(rc.create_action("Ping"))
    assert any("on_reconnect hook failed" in r.getMessage() for r in caplog.records)


async def test_stops_after_consecutive_auth_failures(srv: FakeAsterisk) -> None:
    rc = make(srv, max_auth_failures=3)
    await rc.wait_connected(5)
    stream = rc.events("Nothing")
    srv.users["ami"] = FakeUser("rotated")  # the secret changed on the server
    live(srv).close()
    assert names(await take(stream, 1)) == ["ConnectionLost:1"]
    with pytest.raises(AuthenticationError, match=r"gave up .* after 3 consecutive login failures"):
        await asyncio.wait_for(stream.__anext__(), 10)
    assert rc.stopped and rc.stats["auth_failures"] == 3
    assert len(actions(srv, "Login")) == 1 + 3  # and not one more
    with pytest.raises(AuthenticationError):
        rc.client  # noqa: B018
    with pytest.raises(AuthenticationError):
        await rc.wait_connected(1)
    await rc.close()


async def test_first_login_failure_is_reported(srv: FakeAsterisk) -> None:
    rc = ReconnectingClient(srv.url_for("ami", "wrong"), **{**FAST, "max_auth_failures": 1})
    with pytest.raises(AuthenticationError, match="gave up"):
        async with rc:
            pass
    assert len(actions(srv, "Login")) == 1


async def test_auth_failure_counter_resets_after_a_good_login(srv: FakeAsterisk) -> None:
    # Two failures, a success, two failures: never three in a row, so it keeps going.
    rc = make(srv, max_auth_failures=3)
    await rc.wait_connected(5)
    for _ in range(2):
        srv.users["ami"] = FakeUser("rotated")
        live(srv).close()
        await eventually(lambda: rc.stats["auth_failures"] % 2 == 0 and rc.stats["auth_failures"] > 0)
        srv.users["ami"] = FakeUser("amipass")
        epoch = rc.epoch
        await eventually(lambda e=epoch: rc.epoch == e + 1 and rc.connected)  # type: ignore[misc]
    assert not rc.stopped and rc.stats["auth_failures"] >= 2
    await rc.close()


async def test_max_attempts_gives_up_with_connection_lost(srv: FakeAsterisk) -> None:
    rc = make(srv, max_attempts=2)
    await rc.wait_connected(5)
    stream = rc.events()
    await srv.stop()

    async def read_all() -> None:
        async for item in stream:
            assert isinstance(item, ConnectionLost)

    with pytest.raises(ConnectionLostError, match="after 2 failed connection attempts"):
        await asyncio.wait_for(read_all(), 10)
    assert rc.stopped
    await rc.close()


def test_backoff_is_exponential_capped_and_jittered() -> None:
    rc = ReconnectingClient(
        "tcp://u:p@127.0.0.1:1", backoff_initial=1.0, backoff_factor=2.0, backoff_max=10.0, jitter=0.5,
        rng=random.Random(7),
    )  # fmt: skip
    for failures, base in [(0, 1.0), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (50, 10.0)]:
        delays = [rc.next_delay(failures) for _ in range(200)]
        assert all(base * 0.5 <= d <= base for d in delays), (failures, min(delays), max(delays))
        assert len(set(delays)) > 100  # jittered: clients restarting together spread out
    assert rc.next_delay(0, after_shutdown=True) >= rc.shutdown_delay
    assert rc.next_delay(0, after_auth=True) >= rc.auth_backoff
    still = ReconnectingClient("tcp://u:p@127.0.0.1:1", backoff_initial=3.0, backoff_max=3.0, jitter=0.0)
    assert still.next_delay(9) == 3.0


def test_constructor_refusals() -> None:
    with pytest.raises(ValueError, match="credentials"):
        ReconnectingClient("tcp://127.0.0.1")
    with pytest.raises(ValueError, match="backoff"):
        ReconnectingClient("tcp://u:p@h", backoff_initial=0)
    with pytest.raises(ValueError, match="jitter"):
        ReconnectingClient("tcp://u:p@h", jitter=2)
    with pytest.raises(ami_fast.InvalidActionError):
        ReconnectingClient("tcp://u:p@h", filters=["Event: X\r\nAction: Originate"])
    with pytest.raises(ValueError) as info:
        ReconnectingClient("tcp://u:s3cr3t@h:x")
    assert "s3cr3t" not in str(info.value)


async def test_shutdown_gives_a_longer_first_backoff(srv: FakeAsterisk) -> None:
    rc = make(srv, shutdown_delay=0.2)
    delays: list[tuple[float, dict[str, bool]]] = []
    real = rc.next_delay

    def spy(failures: int, **kw: bool) -> float:
        d = real(failures, **kw)
        delays.append((d, kw))
        return d

    rc.next_delay = spy  # type: ignore[method-assign]
    await rc.wait_connected(5)
    stream = rc.events("Shutdown")
    port = srv.port
    await srv.shutdown()  # Event: Shutdown, then close
    (shutdown, lost) = await take(stream, 2)
    assert shutdown.name == "Shutdown"
    assert isinstance(lost, ConnectionLost) and lost.shutdown
    assert delays[0][1] == {"after_shutdown": True} and delays[0][0] >= 0.2
    async with FakeAsterisk(port=port, auth_failure_delay=0.01):
        await rc.wait_connected(10)
        assert rc.epoch == 2
        await rc.close()


async def test_reload_is_not_a_disconnect(srv: FakeAsterisk) -> None:
    async with make(srv) as rc:
        stream = rc.events("Reload", "Tick")
        srv.push_event("Reload", {"Privilege": "system,all", "Module": "manager", "Status": "Enabled"})
        srv.push_event("Tick")
        assert names(await take(stream, 2)) == ["Reload", "Tick"]
        assert rc.epoch == 1 and rc.connected and rc.stats["connections_lost"] == 0
        assert len(actions(srv, "Login")) == 1


async def test_goodbye_from_the_server_is_a_loss_too(srv: FakeAsterisk) -> None:
    async with make(srv) as rc:
        stream = rc.events("Nothing")
        conn = live(srv)
        conn.send_response(None, [("Message", "Thanks for all the fish.")], response="Goodbye")
        conn.end()
        assert names(await take(stream, 2)) == ["ConnectionLost:1", "Reconnected:2"]


async def test_keepalive_miss_is_a_loss_and_reconnects(srv: FakeAsterisk) -> None:
    silent: set[FakeConnection] = set()

    def ping(conn: FakeConnection, action: Message) -> None:
        if conn in silent:
            return  # the link "died": the socket stays open, nothing comes back
        conn.send_response(action, [("Ping", "Pong")])

    srv.on_action("Ping", ping)
    # A deadline generous enough for the second session to survive a loaded machine.
    async with make(srv, ping_interval=0.03, ping_deadline=1.0) as rc:
        stream = rc.events("Nothing")
        silent.add(live(srv))
        lost, back = await take(stream, 2)
        assert isinstance(lost, ConnectionLost) and "keepalive Ping" in str(lost.error)
        assert isinstance(back, Reconnected) and back.epoch == 2
        # The new session answers its pings and stays up across several intervals.
        await srv.wait_for_action("Ping", len(actions(srv, "Ping")) + 3)
        assert rc.epoch == 2 and rc.connected


async def test_stream_is_bounded_and_keeps_markers(srv: FakeAsterisk) -> None:
    async with make(srv) as rc:
        stream = rc.events("Tick", maxsize=3)
        srv.push_raw(b"".join(b"Event: Tick\r\nN: %d\r\n\r\n" % k for k in range(10)))
        await eventually(lambda: stream.dropped == 7)
        live(srv).close()
        await eventually(lambda: rc.epoch == 2)
        items = [i async for i in _drain(stream)]
        # Full: the oldest events went, both markers stayed.
        assert names(items)[-2:] == ["ConnectionLost:1", "Reconnected:2"]
        assert rc.stats["events_dropped"] >= 7


async def _drain(stream: Any) -> AsyncIterator[Any]:
    while stream._queue:
        yield await stream.__anext__()


async def test_callbacks_follow_every_session(srv: FakeAsterisk) -> None:
    seen: list[tuple[int, str | None]] = []
    async with make(srv) as rc:
        off = rc.on_event("Tick", lambda e: seen.append((rc.epoch, e.get_field_value("N"))))
        srv.push_event("Tick", {"N": 1})
        await eventually(lambda: len(seen) == 1)
        live(srv).close()
        await eventually(lambda: rc.epoch == 2 and rc.connected)
        srv.push_event("Tick", {"N": 2})
        await eventually(lambda: len(seen) == 2)
        off()
        srv.push_event("Tick", {"N": 3})
        await rc.request(rc.create_action("Ping"))
        await asyncio.sleep(0.02)
        assert seen == [(1, "1"), (2, "2")]


async def test_close_ends_streams_and_logs_off(srv: FakeAsterisk) -> None:
    rc = make(srv)
    await rc.wait_connected(5)
    stream = rc.events()
    await rc.close()
    assert [i async for i in stream if isinstance(i, (ConnectionLost, Reconnected))] == []
    assert len(actions(srv, "Logoff")) == 1
    assert rc.stopped and not rc.connected
    await asyncio.sleep(0.05)
    assert len(actions(srv, "Login")) == 1  # no reconnect after close


async def test_close_while_server_is_down(srv: FakeAsterisk) -> None:
    rc = make(srv, backoff_initial=0.02, backoff_max=0.02)
    await rc.wait_connected(5)
    await srv.stop()
    await eventually(lambda: rc.stats["failed_attempts"] >= 2)
    await asyncio.wait_for(rc.close(), 5)
    assert rc.stopped


async def test_before_connect_gates_every_attempt(srv: FakeAsterisk) -> None:
    gate = asyncio.Event()
    calls: list[int] = []

    async def before_connect() -> None:
        calls.append(len(actions(srv, "Login")))
        await gate.wait()

    rc = make(srv, before_connect=before_connect)
    rc.start()
    await eventually(lambda: calls == [0])
    await asyncio.sleep(0.05)  # the gate holds: no attempt at all
    assert actions(srv, "Login") == [] and rc.stats["attempts"] == 0
    gate.set()
    await rc.wait_connected(5)
    gate.clear()
    live(srv).close()
    await eventually(lambda: len(calls) == 2)  # called again, after the loss, before the attempt
    await asyncio.sleep(0.05)
    assert len(actions(srv, "Login")) == 1 and not rc.connected
    gate.set()
    await rc.wait_connected(5)
    assert rc.epoch == 2 and calls == [0, 1]
    await rc.close()


async def test_close_cancels_a_waiting_gate(srv: FakeAsterisk) -> None:
    entered = asyncio.Event()
    cancelled: list[bool] = []

    async def before_connect() -> None:
        entered.set()
        try:
            await asyncio.Event().wait()  # never opens
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    rc = make(srv, before_connect=before_connect)
    rc.start()
    await asyncio.wait_for(entered.wait(), 5)
    await asyncio.wait_for(rc.close(), 5)
    assert cancelled == [True] and rc.stopped and actions(srv, "Login") == []


async def test_a_failing_gate_stops_the_supervisor(srv: FakeAsterisk) -> None:
    async def before_connect() -> None:
        raise RuntimeError("no lease store")

    rc = make(srv, before_connect=before_connect)
    with pytest.raises(RuntimeError, match="no lease store"):
        await rc.wait_connected(5)
    assert rc.stopped and actions(srv, "Login") == []
    await rc.close()


async def test_drop_ends_the_session_with_its_reason_and_reconnects(srv: FakeAsterisk) -> None:
    async with make(srv) as rc:
        stream = rc.events("Tick")
        first = rc.client
        srv.push_event("Tick", {"N": 1})
        assert names(await take(stream, 1)) == ["Tick"]
        rc.drop("lease lost")
        lost, back = await take(stream, 2)
        assert isinstance(lost, ConnectionLost) and lost.epoch == 1
        assert isinstance(lost.error, ConnectionLostError) and str(lost.error) == "lease lost"
        assert isinstance(back, Reconnected) and back.epoch == 2
        await rc.wait_connected(5)
        assert first.closed and rc.client is not first and rc.last_error is lost.error
        assert rc.stats["connections_lost"] == 1 and len(actions(srv, "Login")) == 2


async def test_drop_during_an_attempt_ends_the_session_it_opens(srv: FakeAsterisk) -> None:
    rc = make(srv)
    reason = RuntimeError("dropped while logging in")
    gated: list[int] = []

    async def before_connect() -> None:
        gated.append(rc.epoch)
        if len(gated) == 1:
            # Runs once the attempt is under way (it must wait for the network).
            asyncio.get_running_loop().call_soon(rc.drop, reason)

    rc.before_connect = before_connect
    stream = rc.events("Nothing")
    rc.start()
    (lost,) = await take(stream, 1)
    assert isinstance(lost, ConnectionLost) and lost.epoch == 1 and lost.error is reason
    await rc.wait_connected(5)
    assert rc.epoch == 2 and gated == [0, 1] and len(actions(srv, "Login")) == 2
    await rc.close()


async def test_close_during_restore_still_logs_off(srv: FakeAsterisk) -> None:
    # close() while the first filter is unanswered: the next restore step must not turn the
    # graceful end (Logoff, events delivered) into an abrupt close.
    held: list[tuple[FakeConnection, Message]] = []
    srv.on_action("Filter", lambda conn, action: held.append((conn, action)))
    rc = make(srv, filters=["Event: A", "Event: B"])
    rc.start()
    await eventually(lambda: len(held) == 1)
    closing = asyncio.ensure_future(rc.close())
    await eventually(lambda: rc._closing)
    conn, action = held[0]
    conn.send_response(action)
    await asyncio.wait_for(closing, 5)
    assert len(actions(srv, "Logoff")) == 1
    assert len(actions(srv, "Filter")) == 1  # nothing else is sent once closing
    assert rc.stopped and not rc.connected


async def test_close_during_login_ends_the_session_even_if_the_cancel_is_lost(srv: FakeAsterisk) -> None:
    # On Python 3.11, asyncio.wait_for returns a result that is already there instead of
    # raising the cancellation (the connect in create_client, a request's timeout): close()
    # must not then wait forever on a session the supervisor goes on to open.
    rc = make(srv)
    real = rc._factory.create_client
    entered = asyncio.Event()

    async def cancel_lost(url: str) -> Client:
        entered.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()  # what wait_for does when the result is ready
        return await real(url)

    rc._factory.create_client = cancel_lost  # type: ignore[method-assign]
    rc.start()
    await entered.wait()
    await asyncio.wait_for(rc.close(), 5)
    assert rc.stopped and not rc.connected
    await eventually(lambda: not srv.active_connections)
    assert len(actions(srv, "Logoff")) == 1
