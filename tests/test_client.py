"""Client against FakeAsterisk: ordering, volume, timeouts, close/end, lists, callbacks, floods."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator

import pytest

import ami_fast
from ami_fast.client import Client
from ami_fast.collection import Collection
from ami_fast.errors import (
    ActionError,
    ActionTimeoutError,
    ConnectionLostError,
    InvalidActionError,
    MessageTooLargeError,
    PermissionDeniedError,
    SlowConsumerError,
    UnexpectedMessageError,
    UsageError,
)
from ami_fast.messages import Message
from ami_fast.testing import FakeAsterisk, FakeConnection
from helpers import connect, eventually


@pytest.fixture
async def client(srv: FakeAsterisk) -> AsyncIterator[Client]:
    c = await connect(srv)
    yield c
    c.close()
    await c.wait_closed()


def only_conn(srv: FakeAsterisk) -> FakeConnection:
    (conn,) = srv.active_connections
    return conn


# -- requests ---------------------------------------------------------------------------


async def test_ping_and_command(client: Client) -> None:
    pong = await client.request(client.create_action("Ping"))
    assert pong.get_field_value("Ping") == "Pong"
    out = await client.request(client.create_action("Command", {"Command": "core show version"}))
    assert out.get_command_output() == "Asterisk 22.10.1 built by fake"
    assert client.version == "11.0.0"
    assert not client.is_busy


async def test_action_error_carries_the_response(client: Client) -> None:
    with pytest.raises(ActionError) as info:
        await client.request(client.create_action("NoSuchAction"))
    assert info.value.response.get_field_value(
        "Message",
    ).startswith("Invalid/unknown command")  # type: ignore[union-attr]
    with pytest.raises(ActionError) as info:
        await client.request(client.create_action("Command", {"Command": "bogus"}))
    assert info.value.command_output is not None and "No such command" in info.value.command_output


async def test_permission_denied(srv: FakeAsterisk) -> None:
    c = await ami_fast.Factory(ping_interval=None).create_client(srv.url_for("amilimited"))
    try:
        with pytest.raises(PermissionDeniedError):
            await c.request(c.create_action("Command", {"Command": "core show version"}))
        assert (await c.request(c.create_action("Ping"))).get_field_value("Ping") == "Pong"
    finally:
        await c.end()


async def test_action_ids_unique_and_own_id_honoured(srv: FakeAsterisk, client: Client) -> None:
    ids = [client.create_action("Ping").action_id for _ in range(100)]
    assert len(set(ids)) == 100
    other = await connect(srv)
    try:
        assert other.create_action("Ping").action_id.rsplit("-", 1)[0] != ids[0].rsplit("-", 1)[0]  # type: ignore[union-attr]
    finally:
        other.close()
    gate = asyncio.Event()

    async def held(conn: FakeConnection, action: Message) -> None:
        await gate.wait()
        conn.send_response(action)

    srv.on_action("Held", held)
    mine = client.create_action("Held", {"ActionID": "my-own-id"})
    assert mine.action_id == "my-own-id"
    task = asyncio.create_task(client.request(mine))
    await srv.wait_for_action("Held")
    with pytest.raises(UsageError, match="already pending"):
        await client.request(client.create_action("Held", {"ActionID": "my-own-id"}))
    gate.set()
    assert (await task).action_id == "my-own-id"


async def test_out_of_order_responses(srv: FakeAsterisk, client: Client) -> None:
    held: list[tuple[FakeConnection, Message]] = []

    def collect(conn: FakeConnection, action: Message) -> None:
        held.append((conn, action))
        if len(held) == 3:  # answer in reverse order, each with its own payload
            for c, a in reversed(held):
                c.send_response(a, {"Seq": a.get_field_value("Seq")})

    srv.on_action("Reverse", collect)
    results = await asyncio.gather(
        *(client.request(client.create_action("Reverse", {"Seq": str(n)})) for n in range(3))
    )
    assert [r.get_field_value("Seq") for r in results] == ["0", "1", "2"]
    assert [a.get_field_value("Seq") for _, a in held] == ["0", "1", "2"]


async def test_ten_thousand_requests_in_flight(srv: FakeAsterisk, client: Client) -> None:
    n = 10_000
    held: list[Message] = []

    def collect(conn: FakeConnection, action: Message) -> None:
        held.append(action)
        if len(held) == n:
            random.Random(7).shuffle(held)
            conn.send_raw(b"".join(conn.response_bytes(a, {"Seq": a.get_field_value("Seq")}) for a in held))

    srv.on_action("Bulk", collect)
    tasks = [
        asyncio.ensure_future(client.request(client.create_action("Bulk", {"Seq": str(k)}))) for k in range(n)
    ]
    await srv.wait_for_action("Bulk", n, timeout=60)
    results = await asyncio.gather(*tasks)
    assert [r.get_field_value("Seq") for r in results] == [str(k) for k in range(n)]
    assert len({r.action_id for r in results}) == n
    assert client.stats.unexpected_responses == 0 and not client.is_busy


async def test_too_many_in_flight_is_refused(srv: FakeAsterisk) -> None:
    c = await connect(srv, max_pending=3)
    gate = asyncio.Event()

    async def held(conn: FakeConnection, action: Message) -> None:
        await gate.wait()
        conn.send_response(action)

    srv.on_action("Held", held)
    tasks = [asyncio.ensure_future(c.request(c.create_action("Held"))) for _ in range(3)]
    await asyncio.sleep(0)
    assert c.is_busy
    with pytest.raises(UsageError, match="max_pending"):
        await c.request(c.create_action("Ping"))
    gate.set()
    await asyncio.gather(*tasks)
    await c.end()


async def test_timeout_forgets_the_action_id(srv: FakeAsterisk, client: Client) -> None:
    late: list[tuple[FakeConnection, Message]] = []
    srv.on_action("Slow", lambda conn, action: late.append((conn, action)))
    errors: list[BaseException] = []
    client.on("error", errors.append)
    with pytest.raises(ActionTimeoutError) as info:
        await client.request(client.create_action("Slow"), timeout=0.05)
    assert isinstance(info.value, TimeoutError)
    assert client.stats.requests_timed_out == 1 and not client.is_busy
    await eventually(lambda: bool(late))  # the client timed out; the server may not have read it yet
    conn, action = late[0]
    conn.send_response(action)  # the late reply: counted, dropped, not an error
    await client.request(client.create_action("Ping"))
    assert client.stats.late_responses == 1
    assert errors == []


async def test_list_timeout(srv: FakeAsterisk, client: Client) -> None:
    srv.on_action(
        "Endless",
        lambda conn, action: conn.send_response(action, {"EventList": "start", "Message": "will follow"}),
    )
    with pytest.raises(ActionTimeoutError, match="event list"):
        await client.request(client.create_action("Endless"), list_timeout=0.05)
    assert not client.is_busy


async def test_cancelling_the_caller_cancels_the_request(srv: FakeAsterisk, client: Client) -> None:
    srv.on_action("Slow", lambda conn, action: None)
    task = asyncio.create_task(client.request(client.create_action("Slow"), timeout=None))
    await srv.wait_for_action("Slow")
    assert client.is_busy
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not client.is_busy


async def test_injection_refused_before_writing(srv: FakeAsterisk, client: Client) -> None:
    before = bytes(only_conn(srv).rx_bytes)
    with pytest.raises(InvalidActionError):
        client.create_action("UserEvent", {"UserEvent": "x\r\nAction: Originate\r\nChannel: Local/1"})
    with pytest.raises(InvalidActionError):
        client.create_action("Ping\r\nAction: Originate")
    with pytest.raises(InvalidActionError):
        client.create_action("Ping", {"Bad Key": "x"})
    await client.request(client.create_action("Ping"))
    sent = bytes(only_conn(srv).rx_bytes)[len(before) :]
    assert sent.count(b"Action:") == 1 and b"Originate" not in sent


# -- lists --------------------------------------------------------------------------------


async def test_lists_resolve_as_collections(srv: FakeAsterisk, client: Client) -> None:
    srv.channels = [{"Channel": "PJSIP/a-1", "State": "6"}, {"Channel": "PJSIP/b-2", "State": "6"}]
    coll = await client.request(client.create_action("CoreShowChannels"))
    assert isinstance(coll, Collection) and isinstance(coll, ami_fast.Response)
    assert [e.get_field_value("Channel") for e in coll] == ["PJSIP/a-1", "PJSIP/b-2"]
    status = await client.request(client.create_action("Status"))
    assert isinstance(status, Collection) and len(status) == 2
    assert status.complete_event is not None and status.complete_event.get_field_value("Items") == "2"
    assert status.get_field_value("Message") == "Channel status will follow"


async def test_list_items_mismatch_reported(srv: FakeAsterisk, client: Client) -> None:
    srv.on_action("Odd", lambda conn, a: conn.send_list(a, "Item", [{"N": "1"}], list_items=4))
    errors: list[BaseException] = []
    client.on("error", errors.append)
    coll = await client.request(client.create_action("Odd"))
    assert isinstance(coll, Collection) and coll.list_items_mismatch
    await eventually(lambda: len(errors) == 1)
    assert "ListItems" in str(errors[0])


async def test_list_entries_do_not_reach_the_event_stream(srv: FakeAsterisk, client: Client) -> None:
    got: list[str | None] = []
    client.on("event", lambda e: got.append(e.name))

    def lst(conn: FakeConnection, action: Message) -> None:
        conn.send_raw(conn.response_bytes(action, {"EventList": "start"}))
        conn.send_event("Item", action=action)
        conn.send_event("Broadcast")
        conn.send_event("ListComplete", {"EventList": "Complete", "ListItems": 1}, action=action)

    srv.on_action("Mixed", lst)
    coll = await client.request(client.create_action("Mixed"))
    assert [e.name for e in coll] == ["Item"]  # type: ignore[union-attr]
    await eventually(lambda: "Broadcast" in got)
    assert "Item" not in got and "ListComplete" not in got


async def test_user_event_echo_is_a_normal_event(client: Client) -> None:
    stream = client.events("UserEvent")
    action = client.create_action("UserEvent", {"UserEvent": "Hello", "Foo": "bar"})
    await client.request(action)
    event = await asyncio.wait_for(stream.__anext__(), 5)
    assert event.action_id == action.action_id and event.get_field_value("Foo") == "bar"


async def test_follow_up(srv: FakeAsterisk, client: Client) -> None:
    def originate(conn: FakeConnection, action: Message) -> None:
        conn.send_response(action, {"Message": "Originate successfully queued"})
        conn.send_event("Newchannel", {"Channel": "Local/1@x-0001;1"})
        conn.send_event("OriginateResponse", {"Response": "Success", "Reason": "4"}, action=action)

    srv.on_action("Originate", originate)
    events: list[str | None] = []
    client.on("event", lambda e: events.append(e.name))
    action = client.create_action("Originate", {"Channel": "Local/1@x", "Async": "true"})
    follow = client.follow_up(action.action_id)  # type: ignore[arg-type]
    await client.request(action)
    event = await asyncio.wait_for(follow, 5)
    assert event.get_field_value("Reason") == "4"
    await eventually(lambda: "Newchannel" in events)
    assert "OriginateResponse" not in events


async def test_follow_up_timeout(client: Client) -> None:
    fut = client.follow_up("never", timeout=0.02)
    with pytest.raises(ActionTimeoutError):
        await fut


# -- close and end ------------------------------------------------------------------------


def hang_list(conn: FakeConnection, action: Message) -> None:
    conn.send_raw(conn.response_bytes(action, {"EventList": "start", "Message": "will follow"}))
    conn.send_event("Entry", {"N": "1"}, action=action)


async def test_close_rejects_pending_requests_and_open_lists(srv: FakeAsterisk, client: Client) -> None:
    srv.on_action("Silent", lambda conn, action: None)
    srv.on_action("HangList", hang_list)
    closes: list[int] = []
    client.on("close", lambda: closes.append(1))
    pending = asyncio.create_task(client.request(client.create_action("Silent")))
    open_list = asyncio.create_task(client.request(client.create_action("HangList")))
    await srv.wait_for_action("HangList")
    await srv.wait_for_action("Silent")
    await eventually(lambda: client.stats.list_items_received == 1)
    assert client.is_busy
    client.close()
    for task in (pending, open_list):
        with pytest.raises(ConnectionLostError):
            await task
    with pytest.raises(UsageError):
        await client.request(client.create_action("Ping"))
    await client.wait_closed()
    client.close()
    await asyncio.sleep(0)
    assert closes == [1] and client.closed and client.close_reason is None


async def test_end_waits_for_pending_requests_and_lists(srv: FakeAsterisk, client: Client) -> None:
    open_lists: list[tuple[FakeConnection, Message]] = []

    def start(conn: FakeConnection, action: Message) -> None:
        hang_list(conn, action)
        open_lists.append((conn, action))

    srv.on_action("HangList", start)
    listed = asyncio.create_task(client.request(client.create_action("HangList")))
    await srv.wait_for_action("HangList")
    ending = asyncio.create_task(client.end())
    await asyncio.sleep(0.02)
    assert not ending.done() and not listed.done()
    with pytest.raises(UsageError, match="closing"):
        await client.request(client.create_action("Ping"))
    conn, action = open_lists[0]
    conn.send_event("HangListComplete", {"EventList": "Complete", "ListItems": 1}, action=action)
    await ending
    coll = await listed
    assert isinstance(coll, Collection) and coll.complete and len(coll) == 1
    assert [m.name for m in conn.received][-1] == "Logoff"
    assert client.closed and client.close_reason is None


async def test_end_timeout_then_close(srv: FakeAsterisk, client: Client) -> None:
    srv.on_action("Silent", lambda conn, action: None)
    task = asyncio.create_task(client.request(client.create_action("Silent"), timeout=None))
    await srv.wait_for_action("Silent")
    await client.end(timeout=0.02)
    with pytest.raises(ConnectionLostError):
        await task


async def test_server_disconnect_mid_list(srv: FakeAsterisk, client: Client) -> None:
    closes: list[BaseException | None] = []
    client.on("close", lambda: closes.append(client.close_reason))

    def broken(conn: FakeConnection, action: Message) -> None:
        hang_list(conn, action)
        conn.send_raw(b"Event: Entry\r\nActionID: ")  # cut in the middle of a message
        conn.close()

    srv.on_action("Broken", broken)
    errors: list[BaseException] = []
    client.on("error", errors.append)
    with pytest.raises(ConnectionLostError):
        await client.request(client.create_action("Broken"))
    await client.wait_closed()
    assert client.closed and len(closes) == 1 and isinstance(closes[0], ConnectionLostError)
    with pytest.raises(UsageError):
        await client.request(client.create_action("Ping"))
    assert any(isinstance(e, ami_fast.ProtocolError) for e in errors)  # the truncated tail


async def test_goodbye_is_a_clean_close(client: Client) -> None:
    bye = await client.request(client.create_action("Logoff"))
    assert bye.name == "Goodbye"
    await asyncio.wait_for(client.wait_closed(), 5)
    assert client.close_reason is None


async def test_async_context_manager_ends(srv: FakeAsterisk) -> None:
    async with ami_fast.connect(srv.url, ping_interval=None) as c:
        await c.request(c.create_action("Ping"))
    assert c.closed
    assert [m.name for m in srv.received][-1] == "Logoff"


# -- events and callbacks -------------------------------------------------------------------


async def test_events_in_arrival_order_sync_and_async_callbacks(srv: FakeAsterisk, client: Client) -> None:
    seen: list[tuple[str, str | None]] = []

    async def slow(event: Message) -> None:
        await asyncio.sleep(0)
        seen.append(("async", event.get_field_value("N")))

    client.on("event", lambda e: seen.append(("sync", e.get_field_value("N"))))
    client.on("event", slow)
    for n in range(50):
        srv.push_event("Tick", {"N": n})
    await client.request(client.create_action("Ping"))
    await eventually(lambda: len([s for s in seen if s[1] is not None]) >= 100)
    ticks = [s for s in seen if s[1] is not None]
    assert ticks == [(kind, str(n)) for n in range(50) for kind in ("sync", "async")]


async def test_early_events_wait_for_the_first_subscriber(srv: FakeAsterisk) -> None:
    c = await connect(srv)
    await c.request(c.create_action("Ping"))
    got: list[str | None] = []
    c.on_event("FullyBooted", lambda e: got.append(e.name))
    await eventually(lambda: got == ["FullyBooted"])
    await c.end()


async def test_on_event_by_name_and_off(srv: FakeAsterisk, client: Client) -> None:
    named: list[str | None] = []
    cb = named.append
    unsubscribe = client.on_event("newchannel", lambda e: cb(e.get_field_value("N")))
    markers: list[str | None] = []
    client.on_event("Marker", lambda e: markers.append(e.name))
    srv.push_event("Newchannel", {"N": "1"})
    srv.push_event("Hangup", {"N": "2"})
    srv.push_event("Marker")
    await eventually(lambda: len(markers) == 1)
    unsubscribe()
    srv.push_event("Newchannel", {"N": "3"})
    srv.push_event("Marker")
    await eventually(lambda: len(markers) == 2)  # events are delivered in order
    assert named == ["1"]
    with pytest.raises(ValueError):
        client.on("nonsense", print)


async def test_raising_callback_is_reported_and_harmless(
    srv: FakeAsterisk, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    errors: list[BaseException] = []
    got: list[str | None] = []

    def bad(event: Message) -> None:
        if event.name != "Tick":
            return
        if event.get_field_value("N") == "1":
            raise RuntimeError("boom in callback")
        got.append(event.get_field_value("N"))

    client.on("event", bad)
    client.on("error", errors.append)
    with caplog.at_level(logging.ERROR, logger="ami_fast.client"):
        for n in range(3):
            srv.push_event("Tick", {"N": n})
        await eventually(lambda: len(got) == 2)
    assert got == ["0", "2"]
    assert len(errors) == 1 and str(errors[0]) == "boom in callback"
    assert client.stats.callback_errors == 1 and not client.closed
    assert any("boom in callback" in (r.exc_text or "") or r.exc_info for r in caplog.records)
    assert (await client.request(client.create_action("Ping"))).get_field_value("Ping") == "Pong"


async def test_callbacks_never_run_inside_data_received(srv: FakeAsterisk, client: Client) -> None:
    inside: list[bool] = []
    original = client.data_received
    state = {"in": False}

    def wrapped(data: bytes) -> None:
        state["in"] = True
        try:
            original(data)
        finally:
            state["in"] = False

    client.data_received = wrapped  # type: ignore[method-assign]
    client.on("event", lambda e: inside.append(state["in"]))
    client.on("error", lambda e: inside.append(state["in"]))
    srv.push_event("Tick")
    only_conn(srv).send_response(None, {"ActionID": "stray"})
    await eventually(lambda: len(inside) == 3)
    assert len(inside) == 3 and not any(inside)  # FullyBooted, Tick, the stray response


async def test_unexpected_response_and_protocol_error_are_not_fatal(srv: FakeAsterisk) -> None:
    c = await connect(srv, parser=ami_fast.ParserPy(max_message_bytes=1024))
    errors: list[BaseException] = []
    c.on("error", errors.append)
    conn = only_conn(srv)
    conn.send_raw(b"Response: Success\r\nActionID: nobody\r\n\r\n")
    conn.send_raw(b"Event: Huge\r\nX: " + b"y" * 4000 + b"\r\n\r\n")
    assert (await c.request(c.create_action("Ping"))).get_field_value("Ping") == "Pong"
    await eventually(lambda: len(errors) == 2)
    assert [type(e) for e in errors] == [UnexpectedMessageError, MessageTooLargeError]
    assert c.stats.unexpected_responses == 1 and c.stats.protocol_errors == 1 and not c.closed
    await c.end()


async def test_events_iterator_ends_at_close(srv: FakeAsterisk, client: Client) -> None:
    got: list[str | None] = []

    async def consume() -> None:
        async for event in client.events("Tick"):
            got.append(event.get_field_value("N"))

    task = asyncio.create_task(consume())
    await asyncio.sleep(0)
    for n in range(5):
        srv.push_event("Tick", {"N": n})
        srv.push_event("Other")
    only_conn(srv).end()  # server closes: the queued events are still delivered
    await asyncio.wait_for(task, 5)
    assert got == ["0", "1", "2", "3", "4"]
    assert isinstance(client.close_reason, ConnectionLostError)


# -- slow consumers ---------------------------------------------------------------------------


async def test_slow_consumer_drop_oldest_is_counted(
    srv: FakeAsterisk, caplog: pytest.LogCaptureFixture
) -> None:
    c = await connect(srv, dispatch_queue=64)
    gate = asyncio.Event()
    got: list[int] = []

    async def slow(event: Message) -> None:
        await gate.wait()
        got.append(int(event.get_field_value("N") or -1))

    c.on_event("Tick", slow)
    n = 2000
    with caplog.at_level(logging.WARNING, logger="ami_fast.client"):
        srv.push_raw(b"".join(b"Event: Tick\r\nN: %d\r\n\r\n" % k for k in range(n)))
        # reading never stalls: a request completes while the handler is blocked
        assert (await c.request(c.create_action("Ping"))).get_field_value("Ping") == "Pong"
        await srv.wait_until(lambda: True)
        gate.set()
        await eventually(lambda: bool(got) and got[-1] == n - 1)
    stats = c.stats
    assert stats.events_dropped > 0
    assert stats.dispatch_queue_high_water <= 64
    assert got[-1] == n - 1 and got == sorted(got)  # the newest survive, in order
    assert stats.events_dispatched + stats.events_dropped == stats.events_received
    assert any("dropping the oldest" in r.getMessage() for r in caplog.records)
    assert not c.closed
    await c.end()


async def test_slow_consumer_disconnect_policy(srv: FakeAsterisk) -> None:
    c = await connect(srv, dispatch_queue=16, overflow="disconnect")
    gate = asyncio.Event()

    async def slow(event: Message) -> None:
        await gate.wait()

    c.on("event", slow)
    srv.on_action("Silent", lambda conn, action: None)
    pending = asyncio.create_task(c.request(c.create_action("Silent")))
    await srv.wait_for_action("Silent")
    srv.push_raw(b"".join(b"Event: Tick\r\nN: %d\r\n\r\n" % k for k in range(200)))
    with pytest.raises(SlowConsumerError):
        await pending
    gate.set()
    await c.wait_closed()
    assert isinstance(c.close_reason, SlowConsumerError)


async def test_events_stream_overflow_counts_drops(srv: FakeAsterisk, client: Client) -> None:
    stream = client.events("Tick", maxsize=10)
    srv.push_raw(b"".join(b"Event: Tick\r\nN: %d\r\n\r\n" % k for k in range(100)))
    await eventually(lambda: stream.dropped + len(stream._queue) == 100)
    assert stream.dropped == 90 and client.stats.stream_events_dropped == 90
    first = await stream.__anext__()
    assert first.get_field_value("N") == "90"
    stream.close()


# -- keepalive ----------------------------------------------------------------------------------


async def test_keepalive_pings_when_idle(srv: FakeAsterisk) -> None:
    c = await connect(srv, ping_interval=0.02)
    await srv.wait_for_action("Ping", 2)
    assert not c.closed
    await c.end()


async def test_keepalive_deadline_closes_a_dead_link(srv: FakeAsterisk) -> None:
    srv.on_action("Ping", lambda conn, action: None)  # a half-open link: nothing comes back
    c = await connect(srv, ping_interval=0.02, ping_deadline=0.02)
    await asyncio.wait_for(c.wait_closed(), 5)
    assert isinstance(c.close_reason, ConnectionLostError) and "Ping" in str(c.close_reason)


async def test_repr_has_no_secret(srv: FakeAsterisk, client: Client) -> None:
    assert "amipass" not in repr(client)
    assert "open" in repr(client)


async def test_lag_warning_when_handlers_fall_behind(
    srv: FakeAsterisk, client: Client, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ami_fast.client._LAG_WARNING", 0.01)
    gate = asyncio.Event()
    client.on_event("Tick", lambda e: gate.wait())  # returns an awaitable: awaited in turn
    with caplog.at_level(logging.WARNING, logger="ami_fast.client"):
        srv.push_event("Tick")
        await eventually(lambda: client.stats.events_dispatched >= 1 and client.stats.events_received >= 2)
        await asyncio.sleep(0.03)  # the handler stays blocked longer than the (patched) bound
        srv.push_event("Tick")
        await eventually(lambda: any("behind" in r.getMessage() for r in caplog.records))
    gate.set()


async def test_no_lag_warning_for_time_spent_before_anyone_subscribed(
    srv: FakeAsterisk, client: Client, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `ami-fast events` logs in, then subscribes: the events queued meanwhile waited for a
    # listener, not for a slow one.
    monkeypatch.setattr("ami_fast.client._LAG_WARNING", 0.05)
    srv.push_event("Tick")
    await eventually(lambda: client.stats.events_received >= 2)  # FullyBooted + Tick, unheard
    await asyncio.sleep(0.1)  # idle longer than the (patched) bound, with events queued
    seen: list[str] = []
    with caplog.at_level(logging.WARNING, logger="ami_fast.client"):
        client.on_event("Tock", lambda e: seen.append(e.name))
        # Bytes read in the same loop turn as the subscription, before the dispatcher wakes.
        client.data_received(b"Event: Tock\r\n\r\n")
        await eventually(lambda: seen == ["Tock"])
    assert not [r for r in caplog.records if "behind" in r.getMessage()]


async def test_close_discards_queued_events_and_counts_them(srv: FakeAsterisk, client: Client) -> None:
    gate = asyncio.Event()
    client.on_event("Tick", lambda e: gate.wait())
    srv.push_raw(b"".join(b"Event: Tick\r\nN: %d\r\n\r\n" % k for k in range(20)))
    await eventually(lambda: client.stats.events_received >= 21)  # FullyBooted + 20
    client.close()
    gate.set()
    await client.wait_closed()
    s = client.stats
    assert s.events_discarded_at_close > 0
    assert s.events_dispatched + s.events_discarded_at_close == s.events_received


async def test_concurrent_end_calls(srv: FakeAsterisk, client: Client) -> None:
    await asyncio.gather(client.end(), client.end(), client.end())
    assert client.closed
    assert [m.name for m in srv.received].count("Logoff") == 1
    await client.end()  # after closing: a no-op


async def test_unconnected_client_refuses_requests() -> None:
    c = Client()
    with pytest.raises(UsageError, match="not connected"):
        await c.request(c.create_action("Ping"))
    c.close()
    await c.wait_closed()
    assert c.closed


async def test_async_error_and_close_listeners(srv: FakeAsterisk, client: Client) -> None:
    seen: list[str] = []

    async def on_error(exc: BaseException) -> None:
        await asyncio.sleep(0)
        seen.append(type(exc).__name__)

    def broken_listener(exc: BaseException) -> None:
        raise RuntimeError("error listener failed")

    async def on_close() -> None:
        seen.append("close")

    client.on("error", broken_listener)  # its failure is only logged
    client.on("error", on_error)
    client.on("close", on_close)
    only_conn(srv).send_response(None, {"ActionID": "stray"})
    await eventually(lambda: seen == ["UnexpectedMessageError"])
    client.off("error", broken_listener)
    client.close()
    await client.wait_closed()
    assert seen == ["UnexpectedMessageError", "close"]


async def test_callbacks_may_request_and_end(srv: FakeAsterisk, client: Client) -> None:
    answers: list[str | None] = []

    async def on_tick(event: Message) -> None:
        pong = await client.request(client.create_action("Ping"))  # resolved by data_received
        answers.append(pong.get_field_value("Ping"))
        await client.end()  # from the dispatch task itself: must not deadlock

    client.on_event("Tick", on_tick)
    srv.push_event("Tick")
    await asyncio.wait_for(client.wait_closed(), 10)
    assert answers == ["Pong"] and client.close_reason is None


async def test_write_flow_control_gates_requests(srv: FakeAsterisk, client: Client) -> None:
    client.pause_writing()  # what the transport calls when its buffer is over the high-water mark
    task = asyncio.create_task(client.request(client.create_action("Ping")))
    await asyncio.sleep(0.01)
    assert not task.done() and not client.is_busy  # nothing registered or written yet
    client.resume_writing()
    assert (await task).get_field_value("Ping") == "Pong"


async def test_events_stream_disconnect_policy(srv: FakeAsterisk, client: Client) -> None:
    stream = client.events("Tick", maxsize=5, overflow="disconnect")
    srv.push_raw(b"".join(b"Event: Tick\r\nN: %d\r\n\r\n" % k for k in range(20)))
    await asyncio.wait_for(client.wait_closed(), 10)
    assert isinstance(client.close_reason, SlowConsumerError)
    got = []
    with pytest.raises(SlowConsumerError):
        async for event in stream:
            got.append(event.get_field_value("N"))
    assert got == ["0", "1", "2", "3", "4"]


# -- subscriptions changed while a batch is dispatched ------------------------------------------


async def test_listener_changes_apply_from_the_next_event_of_a_batch(
    srv: FakeAsterisk, client: Client
) -> None:
    first: list[str] = []
    second: list[str] = []

    def add(event: Message) -> None:
        second.append(event.get_field_value("N") or "")

    def once(event: Message) -> None:
        if event.name != "Tick":  # e.g. FullyBooted after the login
            return
        first.append(event.get_field_value("N") or "")
        client.off("event", once)  # the rest of the chunk must not reach it
        client.on("event", add)  # ...but must reach this one

    client.on("event", once)
    srv.push_raw(b"".join(b"Event: Tick\r\nN: %d\r\n\r\n" % k for k in range(50)))  # one chunk
    await eventually(lambda: len(second) >= 49)
    assert first == ["0"] and second == [str(k) for k in range(1, 50)]
