"""The broken/hostile server matrix (docs/hostile-input.md): each row, its documented outcome.

Rows after login use ``FakeAsterisk`` (``send_raw``/``push_raw``); rows about the very first
bytes use a raw loopback socket server. Every outcome is an error value, a counter and a
connection that either carries on or closes cleanly: never a hang, a crash or unbounded memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import ami_fast
from ami_fast.client import Client
from ami_fast.errors import (
    ActionTimeoutError,
    ConnectionLostError,
    MessageTooLargeError,
    ProtocolError,
    UnexpectedMessageError,
)
from ami_fast.messages import Message
from ami_fast.testing import FakeAsterisk, FakeConnection
from helpers import eventually, live

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def connect(srv: FakeAsterisk, **options: Any) -> tuple[Client, list[BaseException]]:
    options.setdefault("ping_interval", None)
    client = await ami_fast.Factory(**options).create_client(srv.url)
    errors: list[BaseException] = []
    client.on("error", errors.append)
    return client, errors


async def next_event(client: Client, name: str, timeout: float = 10.0) -> Any:
    stream = client.events(name)
    try:
        return await asyncio.wait_for(stream.__anext__(), timeout)
    finally:
        stream.close()


class RawServer:
    """A loopback TCP server that runs ``script(reader, writer)`` for each connection."""

    def __init__(self, script: Script) -> None:
        self._script = script
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await self._script(reader, writer)
            finally:
                writer.close()

        self._server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"tcp://ami:amipass@127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


# -- the first bytes --------------------------------------------------------------------------


async def test_garbage_banner_then_silence_times_out_the_login() -> None:
    async def ssh(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\x00\xff\xfe binary \x01\x02")
        await reader.read(1 << 16)  # reads our Challenge, answers nothing
        await asyncio.sleep(5)

    async with RawServer(ssh) as url:
        with pytest.raises(ActionTimeoutError, match="no login response"):
            await ami_fast.Factory(login_timeout=0.2, ping_interval=None).create_client(url)


async def test_http_server_instead_of_asterisk_fails_the_login_cleanly() -> None:
    async def http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1 << 16)
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()

    async with RawServer(http) as url:
        with pytest.raises(ConnectionLostError, match="closed the connection during login"):
            await ami_fast.Factory(login_timeout=5, ping_interval=None).create_client(url)


async def test_garbage_before_a_real_banner_is_tolerated() -> None:
    # The first line is not a banner; Asterisk's answers still parse, login still works.
    srv = FakeAsterisk(banner="\x00\x01garbage line without colon", auth_failure_delay=0.01)
    async with srv:
        client = await ami_fast.Factory(ping_interval=None).create_client(srv.url)
        assert client.version is None
        assert (await client.request(client.create_action("Ping"))).get_field_value("Ping") == "Pong"
        await client.end()


async def test_server_closes_before_banner() -> None:
    async def slam(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        return  # authlimit behaviour: accept, close at once

    async with RawServer(slam) as url:
        with pytest.raises(ConnectionLostError):
            await ami_fast.Factory(login_timeout=5, ping_interval=None).create_client(url)


# -- oversized and odd messages ---------------------------------------------------------------


async def test_line_of_several_mib_is_skipped_and_the_stream_goes_on(srv: FakeAsterisk) -> None:
    client, errors = await connect(srv)
    after = asyncio.ensure_future(next_event(client, "After"))
    await asyncio.sleep(0)
    big = b"Event: Big\r\nData: " + b"x" * (6 << 20) + b"\r\n\r\n"
    live(srv).send_raw(big + b"Event: After\r\nN: 1\r\n\r\n")
    event = await after
    assert event.get_field_value("N") == "1"
    await eventually(lambda: len(errors) == 1)
    (err,) = errors
    assert isinstance(err, MessageTooLargeError) and "max_message_bytes" in str(err)
    assert err.raw is None and len(err.excerpt) == 64  # the 6 MiB were never kept
    assert client.stats.protocol_errors == 1 and not client.closed
    await client.end()


async def test_thousands_of_fields(srv: FakeAsterisk) -> None:
    client, errors = await connect(srv)
    many = b"Event: Wide\r\n" + b"".join(b"K%d: v\r\n" % i for i in range(5000)) + b"\r\n"
    too_many = b"Event: Wider\r\n" + b"".join(b"K: v\r\n" for _ in range(20000)) + b"\r\n"
    wide = asyncio.ensure_future(next_event(client, "Wide"))
    tail = asyncio.ensure_future(next_event(client, "Tail"))
    await asyncio.sleep(0)
    live(srv).send_raw(many + too_many + b"Event: Tail\r\n\r\n")
    assert len(await wide) == 5001  # under max_fields (8192): delivered whole
    await tail
    await eventually(lambda: len(errors) == 1)
    assert isinstance(errors[0], MessageTooLargeError) and "max_fields" in str(errors[0])
    await client.end()


async def test_nul_bytes_are_kept_verbatim(srv: FakeAsterisk) -> None:
    client, errors = await connect(srv)
    got = asyncio.ensure_future(next_event(client, "Nul"))
    await asyncio.sleep(0)
    live(srv).send_raw(b"Event: Nul\r\nData: a\x00b\r\nK\x00ey: v\r\n\x00\r\n\r\n")
    event = await got
    assert event.get_field_value("Data") == "a\x00b"
    assert event.get_field_value("K\x00ey") == "v"
    assert event.extra_lines == ["\x00"]
    assert errors == []
    await client.end()


async def test_invalid_utf8_round_trips_through_surrogateescape(srv: FakeAsterisk) -> None:
    client, errors = await connect(srv)
    got = asyncio.ensure_future(next_event(client, "Bytes"))
    await asyncio.sleep(0)
    live(srv).send_raw(b"Event: Bytes\r\nCallerIDName: \xff\xfe caf\xc3\xa9 \xc3\r\n\r\n")
    event = await got
    value = event.get_field_value("CallerIDName")
    assert value == "\udcff\udcfe café \udcc3"
    assert value.encode("utf-8", "surrogateescape") == b"\xff\xfe caf\xc3\xa9 \xc3"
    assert errors == []
    await client.end()


async def test_connection_cut_mid_message(srv: FakeAsterisk) -> None:
    srv.on_action("Ping", lambda conn, action: (
        conn.send_raw(b"Response: Success\r\nActionID: " + action.action_id.encode() + b"\r\nPi"),
        conn.end(),
    ))  # fmt: skip
    client, errors = await connect(srv)
    with pytest.raises(ConnectionLostError):
        await client.request(client.create_action("Ping"))
    await client.wait_closed()
    (err,) = errors
    assert type(err) is ProtocolError and "in the middle of a message" in str(err)
    assert err.raw is not None and err.raw.endswith(b"\r\nPi")
    assert isinstance(client.close_reason, ConnectionLostError)


async def test_response_to_an_action_never_sent(srv: FakeAsterisk) -> None:
    client, errors = await connect(srv)
    live(srv).send_raw(b"Response: Success\r\nActionID: not-ours-1\r\nMessage: hi\r\n\r\n")
    live(srv).send_raw(b"Response: Success\r\nMessage: no id at all\r\n\r\n")
    await eventually(lambda: len(errors) == 2)
    assert all(isinstance(e, UnexpectedMessageError) for e in errors)
    assert errors[0].action_id == "not-ours-1" and errors[0].response.get_field_value("Message") == "hi"
    assert client.stats.unexpected_responses == 2 and not client.closed
    await client.request(client.create_action("Ping"))  # still fine
    await client.end()


async def test_duplicated_response(srv: FakeAsterisk) -> None:
    def twice(conn: FakeConnection, action: Message) -> None:
        conn.send_response(action, [("Ping", "Pong")])
        conn.send_response(action, [("Ping", "Pong")])

    srv.on_action("Ping", twice)
    client, errors = await connect(srv)
    response = await client.request(client.create_action("Ping"))
    assert response.get_field_value("Ping") == "Pong"
    await eventually(lambda: len(errors) == 1)
    assert isinstance(errors[0], UnexpectedMessageError) and errors[0].action_id == response.action_id
    assert client.stats.unexpected_responses == 1 and not client.is_busy
    await client.end()


async def test_list_that_never_completes(srv: FakeAsterisk) -> None:
    def endless(conn: FakeConnection, action: Message) -> None:
        conn.send_response(action, [("EventList", "start"), ("Message", "Channels will follow")])
        for n in range(2):
            conn.send_event("CoreShowChannel", {"N": n}, action=action)

    srv.on_action("CoreShowChannels", endless)
    client, errors = await connect(srv)
    action = client.create_action("CoreShowChannels")
    with pytest.raises(ActionTimeoutError, match=r"did not finish in time \(2 entries received\)"):
        await client.request(action, list_timeout=0.1)
    assert not client.is_busy  # nothing left pending
    # Late entries and the late end are swallowed and counted, not reported as unexpected.
    conn = live(srv)
    conn.send_event("CoreShowChannel", {"N": 2}, action=action)
    conn.send_event("CoreShowChannelsComplete", {"EventList": "Complete", "ListItems": 3}, action=action)
    await eventually(lambda: client.stats.late_list_items == 2)
    assert errors == [] and client.stats.unexpected_responses == 0
    await client.end()


async def test_list_over_its_byte_cap_fails_and_is_dropped(srv: FakeAsterisk) -> None:
    def big(conn: FakeConnection, action: Message) -> None:
        conn.send_list(action, "Entry", [{"Data": "x" * 1000} for _ in range(50)], "EntriesComplete")

    srv.on_action("Entries", big)
    client, errors = await connect(srv, list_max_bytes=10_000)
    with pytest.raises(MessageTooLargeError, match=r"list_max_bytes \(10000\)"):
        await client.request(client.create_action("Entries"))
    await eventually(lambda: client.stats.late_list_items >= 40)
    assert not client.is_busy and errors == []
    await client.request(client.create_action("Ping"))
    await client.end()


async def test_endless_legacy_command_output_is_capped(srv: FakeAsterisk) -> None:
    client, errors = await connect(srv)
    tail = asyncio.ensure_future(next_event(client, "Tail"))
    await asyncio.sleep(0)
    body = b"line of output\n" * ((9 << 20) // 15)  # over max_follows_bytes (8 MiB)
    live(srv).send_raw(b"Response: Follows\r\nPrivilege: Command\r\n" + body + b"--END COMMAND--\r\n\r\n")
    live(srv).send_raw(b"Event: Tail\r\n\r\n")
    await tail
    await eventually(lambda: len(errors) == 1)
    assert isinstance(errors[0], MessageTooLargeError) and "max_follows_bytes" in str(errors[0])
    await client.end()


async def test_silent_server_with_open_socket_is_detected_by_keepalive(srv: FakeAsterisk) -> None:
    srv.on_action("Ping", lambda conn, action: None)  # socket open, nothing answered
    srv.on_action("Originate", lambda conn, action: None)
    client, _ = await connect(srv, ping_interval=0.05, ping_deadline=0.1)
    pending = asyncio.ensure_future(client.request(client.create_action("Originate"), timeout=None))
    await asyncio.wait_for(client.wait_closed(), 10)
    assert isinstance(client.close_reason, ConnectionLostError)
    assert "keepalive Ping" in str(client.close_reason)
    with pytest.raises(ConnectionLostError):
        await pending  # a request without its own timeout does not hang either


async def test_error_flood_is_bounded_and_counted(srv: FakeAsterisk) -> None:
    client, _ = await connect(srv)  # one error listener
    gate = asyncio.Event()
    client.on("error", lambda e: gate.wait())  # a slow listener: errors pile up
    bad = b"Response: Success\r\nActionID: stray\r\n\r\n" * 3000
    live(srv).send_raw(bad)
    await eventually(lambda: client.stats.unexpected_responses == 3000)
    assert client.stats.errors_dropped > 0  # the error queue is bounded (1024)
    gate.set()
    await client.request(client.create_action("Ping"))
    client.close()
    await client.wait_closed()
