"""Keepalive: a Ping only when the link is idle, with a deadline; a miss is a connection loss.

Timing here uses generous ratios (traffic every 10 ms against a 500 ms idle interval) and no
test asserts how long anything took.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import ami_fast
from ami_fast.client import Client
from ami_fast.errors import ConnectionLostError
from ami_fast.messages import Message
from ami_fast.testing import FakeAsterisk, FakeConnection
from helpers import eventually, live


async def connect(srv: FakeAsterisk, **options: Any) -> Client:
    return await ami_fast.Factory(**options).create_client(srv.url)


def pings(srv: FakeAsterisk) -> int:
    return sum(1 for m in srv.received if m.name == "Ping")


async def test_no_ping_while_traffic_flows_then_ping_when_idle(srv: FakeAsterisk) -> None:
    # 0.5 s idle interval: a loaded machine may stall the loop for a few hundred ms, which
    # would be real idleness to the client; traffic lasts 1.5 intervals.
    client = await connect(srv, ping_interval=0.5, ping_deadline=5)
    conn = live(srv)
    for n in range(75):  # >= 0.75 s of traffic, one event per 10 ms
        conn.send_event("Tick", {"N": n})
        await asyncio.sleep(0.01)
    assert pings(srv) == 0  # every received byte counts as life
    await srv.wait_for_action("Ping", 1)  # silence: now it pings
    assert not client.closed
    await client.end()


async def test_any_bytes_count_as_life_even_garbage(srv: FakeAsterisk) -> None:
    client = await connect(srv, ping_interval=0.5, ping_deadline=5)
    client.on("error", lambda e: None)
    conn = live(srv)
    for _ in range(75):
        conn.send_raw(b"garbage without colon\r\n\r\n")
        await asyncio.sleep(0.01)
    assert pings(srv) == 0
    assert client.stats.unknown_messages > 0 and not client.closed
    await client.end()


async def test_missed_deadline_is_a_loss_and_fails_pending_requests(srv: FakeAsterisk) -> None:
    srv.on_action("Ping", lambda conn, action: None)
    srv.on_action("Originate", lambda conn, action: None)
    client = await connect(srv, ping_interval=0.05, ping_deadline=0.1)
    errors: list[BaseException] = []
    closed: list[BaseException | None] = []
    client.on("close", lambda: closed.append(client.close_reason))
    pending = asyncio.ensure_future(client.request(client.create_action("Originate"), timeout=None))
    with pytest.raises(ConnectionLostError) as info:
        await asyncio.wait_for(pending, 10)
    errors.append(info.value)
    await client.wait_closed()
    assert "no reply to the keepalive Ping within 0.1 s" in str(client.close_reason)
    assert closed == [client.close_reason] and errors[0] is client.close_reason
    assert not client.is_busy


async def test_an_error_reply_to_ping_still_proves_life(srv: FakeAsterisk) -> None:
    srv.on_action("Ping", lambda conn, action: conn.send_error(action, "Nope"))
    client = await connect(srv, ping_interval=0.03, ping_deadline=5)
    await srv.wait_for_action("Ping", 4)
    assert not client.closed
    await client.end()


async def test_slow_reply_within_the_deadline_is_fine(srv: FakeAsterisk) -> None:
    async def slow(conn: FakeConnection, action: Message) -> None:
        await asyncio.sleep(0.05)
        conn.send_response(action, [("Ping", "Pong")])

    srv.on_action("Ping", slow)
    client = await connect(srv, ping_interval=0.03, ping_deadline=5)
    await srv.wait_for_action("Ping", 3)
    assert not client.closed
    await client.end()


async def test_pings_leave_nothing_behind(srv: FakeAsterisk) -> None:
    client = await connect(srv, ping_interval=0.01, ping_deadline=5)
    await srv.wait_for_action("Ping", 20)
    await eventually(lambda: not client.is_busy)
    conn_state = client._conn
    assert conn_state.pending_count == 0 and len(conn_state._tombstones) == 0
    assert client._requests == {} and client.stats.requests_timed_out == 0
    # Keepalive Pings never reach the event stream or error listeners.
    assert client.stats.unexpected_responses == 0
    await client.end()


async def test_user_requests_and_keepalive_coexist(srv: FakeAsterisk) -> None:
    client = await connect(srv, ping_interval=0.01, ping_deadline=5)
    for _ in range(20):
        response = await client.request(client.create_action("Ping"))
        assert response.get_field_value("Ping") == "Pong"
        await asyncio.sleep(0.005)
    await srv.wait_for_action("Ping", 25)
    await client.end()


async def test_keepalive_off(srv: FakeAsterisk) -> None:
    client = await connect(srv, ping_interval=None)
    await asyncio.sleep(0.1)
    assert pings(srv) == 0 and client._ping_timer is None
    await client.end()


async def test_keepalive_stops_after_close(srv: FakeAsterisk) -> None:
    client = await connect(srv, ping_interval=0.02, ping_deadline=5)
    await srv.wait_for_action("Ping", 1)
    await client.end()
    # A Ping written just before the Logoff may still be unread by the server: count once
    # the server side has seen the connection close.
    await srv.wait_until(lambda: not srv.active_connections)
    count = pings(srv)
    await asyncio.sleep(0.1)
    assert pings(srv) == count and client._ping_timer is None


async def test_follow_up_resolves_and_times_out_cleanly(srv: FakeAsterisk) -> None:
    client = await connect(srv, ping_interval=None)
    fut = client.follow_up("orig-1", timeout=5)
    live(srv).send_event("OriginateResponse", {"ActionID": "orig-1", "Response": "Success"})
    event = await asyncio.wait_for(fut, 5)
    assert event.get_field_value("Response") == "Success"
    assert client._follow_ups == {} and client._conn._linger == {}
    lost = client.follow_up("orig-2", timeout=0.02)
    with pytest.raises(ami_fast.ActionTimeoutError):
        await lost
    # Timed out: the subscription is gone on both layers (bounded by linger_max meanwhile).
    assert client._follow_ups == {} and client._conn._linger == {}
    await client.end()
