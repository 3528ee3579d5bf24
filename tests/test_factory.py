"""Factory and connect(): URLs, plain and MD5 login, Events mask, TLS with a test CA, failures."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import ami_fast
from ami_fast.errors import ActionTimeoutError, AuthenticationError, ConnectionLostError
from ami_fast.factory import Factory, events_header
from ami_fast.messages import Message
from ami_fast.testing import FakeAsterisk, FakeConnection, FakeUser, TestCertificates, make_test_certificates

SECRET = "S3cr3t+p@ss/w:rd"


@pytest.fixture
async def srv() -> AsyncIterator[FakeAsterisk]:
    users = {"ami": FakeUser("amipass"), "weird user": FakeUser(SECRET)}
    async with FakeAsterisk(users, auth_failure_delay=0.01) as server:
        yield server


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> TestCertificates:
    return make_test_certificates(tmp_path_factory.mktemp("tls"))


def logins(srv: FakeAsterisk) -> list[Message]:
    return [m for m in srv.received if (m.name or "").lower() == "login"]


async def test_md5_login_by_default_over_tcp(srv: FakeAsterisk) -> None:
    client = await Factory(ping_interval=None).create_client(srv.url)
    try:
        names = [m.name for m in srv.received]
        assert names[:2] == ["Challenge", "Login"]
        login = logins(srv)[0]
        assert login.get_field_value("AuthType") == "MD5"
        key = login.get_field_value("Key") or ""
        assert len(key) == 32 and key == key.lower()
        assert login.get_field_value("Secret") is None
        assert b"amipass" not in bytes(srv.connections[0].rx_bytes)  # never on the wire
        assert (await client.request(client.create_action("Ping"))).get_field_value("Ping") == "Pong"
    finally:
        await client.end()


async def test_plain_login(srv: FakeAsterisk) -> None:
    client = await Factory(auth_type="plain", ping_interval=None).create_client(srv.url)
    try:
        assert [m.name for m in srv.received][:1] == ["Login"]
        assert logins(srv)[0].get_field_value("Secret") == "amipass"
    finally:
        await client.end()


@pytest.mark.parametrize("auth_type", ["md5", "plain"])
async def test_percent_encoded_credentials(srv: FakeAsterisk, auth_type: str) -> None:
    url = srv.url_for("weird user")
    assert "%40" in url and "%20" in url
    client = await Factory(auth_type=auth_type, ping_interval=None).create_client(url)  # type: ignore[arg-type]
    try:
        assert logins(srv)[0].get_field_value("Username") == "weird user"
    finally:
        await client.end()


@pytest.mark.parametrize(
    ("events", "header"),
    [
        (None, None),
        (True, "on"),
        (False, "off"),
        ("call,user", "call,user"),
        (["system", "call"], "system,call"),
    ],
)
async def test_events_mask_at_login(srv: FakeAsterisk, events: object, header: str | None) -> None:
    client = await Factory(events=events, ping_interval=None).create_client(srv.url)  # type: ignore[arg-type]
    try:
        assert logins(srv)[0].get_field_value("Events") == header
        assert events_header(events) == header  # type: ignore[arg-type]
    finally:
        await client.end()


async def test_events_off_means_no_fully_booted_and_login_is_still_ready(srv: FakeAsterisk) -> None:
    got: list[str | None] = []
    client = await Factory(
        events=False, on_event=lambda e: got.append(e.name), ping_interval=None
    ).create_client(srv.url)
    await client.request(client.create_action("Ping"))
    await client.end()  # delivers what was received before closing
    assert got == []


async def test_on_event_attached_before_login(srv: FakeAsterisk) -> None:
    got: list[str | None] = []
    client = await Factory(on_event=lambda e: got.append(e.name), ping_interval=None).create_client(srv.url)
    await client.request(client.create_action("Ping"))
    await client.end()
    assert got == ["FullyBooted"]


async def test_no_credentials_means_no_login(srv: FakeAsterisk) -> None:
    client = await Factory(ping_interval=None).create_client(srv.url_no_login)
    try:
        with pytest.raises(ami_fast.PermissionDeniedError):
            await client.request(client.create_action("Ping"))
        assert logins(srv) == []
    finally:
        await client.end()


@pytest.mark.parametrize("auth_type", ["md5", "plain"])
async def test_auth_failure_raises_and_closes_the_socket(
    srv: FakeAsterisk, auth_type: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = srv.url_for("ami", SECRET)
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthenticationError) as info:
        await Factory(auth_type=auth_type, ping_interval=None).create_client(url)  # type: ignore[arg-type]
    assert info.value.message == "Authentication failed"
    await srv.wait_until(lambda: not srv.active_connections)
    (conn,) = srv.connections
    assert conn.closed.is_set()
    texts = [str(info.value), repr(info.value), *(r.getMessage() for r in caplog.records)]
    for text in texts:
        assert SECRET not in text and "S3cr3t" not in text


async def test_unknown_user(srv: FakeAsterisk) -> None:
    with pytest.raises(AuthenticationError):
        await ami_fast.connect(srv.url_for("nobody", "x"), ping_interval=None)


async def test_invalid_url_fails_before_connecting(srv: FakeAsterisk) -> None:
    bad = f"ami:{SECRET}@127.0.0.1:{srv.port}/path"
    with pytest.raises(ValueError) as info:
        await Factory().create_client(bad)
    assert "S3cr3t" not in str(info.value)
    with pytest.raises(ValueError):
        ami_fast.connect(f"http://127.0.0.1:{srv.port}")
    assert srv.connections == []


async def test_bad_options_fail_at_construction() -> None:
    with pytest.raises(ValueError):
        Factory(auth_type="sha1")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Factory(overflow="block")
    with pytest.raises(TypeError):
        Factory(ssl=True)  # type: ignore[arg-type]


async def test_connection_refused() -> None:
    import socket

    # A port bound but not listening: refused, and nobody else can take it meanwhile.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        with pytest.raises(OSError):
            await Factory(connect_timeout=5).create_client(f"127.0.0.1:{port}")


async def test_connect_timeout(srv: FakeAsterisk) -> None:
    # A TLS handshake against a plain server that never answers it: the connect step hangs.
    silent = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    try:
        with pytest.raises(TimeoutError):
            await Factory(connect_timeout=0.1).create_client(f"tls://127.0.0.1:{port}")
    finally:
        silent.close()


async def test_login_timeout(srv: FakeAsterisk) -> None:
    srv.on_action("Login", lambda conn, action: None)
    with pytest.raises(ActionTimeoutError, match="login"):
        await Factory(auth_type="plain", login_timeout=0.05).create_client(srv.url)
    await srv.wait_until(lambda: not srv.active_connections)


async def test_server_closes_during_login(srv: FakeAsterisk) -> None:
    srv.on_action("Login", lambda conn, action: conn.close())
    with pytest.raises(ConnectionLostError):
        await Factory(auth_type="plain").create_client(srv.url)


async def test_local_addr(srv: FakeAsterisk) -> None:
    client = await Factory(local_addr=("127.0.0.1", 0), ping_interval=None).create_client(srv.url)
    try:
        peer = srv.connections[0].transport.get_extra_info("peername")  # type: ignore[union-attr]
        assert peer[0] == "127.0.0.1"
    finally:
        await client.end()


async def test_connect_awaitable_and_context_manager(srv: FakeAsterisk) -> None:
    client = await ami_fast.connect(srv.url, ping_interval=None)
    await client.end()
    with pytest.raises(RuntimeError):
        async with ami_fast.connect(srv.url, ping_interval=None) as c2:
            raise RuntimeError("user code failed")
    assert c2.closed


async def test_ipv6_loopback() -> None:
    try:
        server = await FakeAsterisk(host="::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    try:
        assert server.url.startswith("tcp://ami:amipass@[::1]:")
        async with ami_fast.connect(server.url, ping_interval=None) as client:
            await client.request(client.create_action("Ping"))
    finally:
        await server.stop()


# -- TLS ----------------------------------------------------------------------------------------


async def test_tls_with_a_test_ca(certs: TestCertificates) -> None:
    async with FakeAsterisk(tls=certs.server_context()) as server:
        assert server.url.startswith("tls://")
        client = await Factory(ssl=certs.client_context(), ping_interval=None).create_client(server.url)
        try:
            assert client.transport is not None and client.transport.get_extra_info("ssl_object") is not None
            assert (await client.request(client.create_action("Ping"))).get_field_value("Ping") == "Pong"
            # plain login by default over TLS: the link is encrypted
            assert [m.name for m in server.received][:1] == ["Login"]
        finally:
            await client.end()


async def test_tls_verifies_by_default(certs: TestCertificates) -> None:
    async with FakeAsterisk(tls=certs.server_context()) as server:
        with pytest.raises(ssl.SSLCertVerificationError):
            await Factory().create_client(server.url)


async def test_tls_hostname_is_checked(certs: TestCertificates) -> None:
    async with FakeAsterisk(tls=certs.server_context()) as server:
        with pytest.raises(ssl.SSLCertVerificationError):
            await Factory(ssl=certs.client_context(), server_hostname="pbx.example").create_client(server.url)


async def test_tls_explicitly_unverified(certs: TestCertificates) -> None:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    async with (
        FakeAsterisk(tls=certs.server_context()) as server,
        ami_fast.connect(server.url, ssl=ctx, ping_interval=None) as client,
    ):
        await client.request(client.create_action("Ping"))


async def test_tls_default_port_and_ssl_with_tcp_url(certs: TestCertificates) -> None:
    with pytest.raises(ValueError, match="tls://"):
        await Factory(ssl=certs.client_context()).create_client("tcp://127.0.0.1:1")
    assert ami_fast.url.parse_url("tls://pbx").port == 5039


def test_certificates_exist(certs: TestCertificates) -> None:
    for path in (certs.ca_cert, certs.server_cert, certs.server_key):
        assert Path(path).stat().st_size > 0


async def test_repr_has_no_secret(srv: FakeAsterisk) -> None:
    factory = Factory(ping_interval=None)
    client = await factory.create_client(srv.url_for("weird user"))
    try:
        for text in (repr(factory), repr(client), str(client.stats)):
            assert "S3cr3t" not in text
    finally:
        await client.end()


async def test_handler_connection_type(srv: FakeAsterisk) -> None:
    seen: list[FakeConnection] = []
    srv.on_action("Ping", lambda conn, action: (seen.append(conn), conn.send_response(action))[-1])
    async with ami_fast.connect(srv.url, ping_interval=None) as client:
        await client.request(client.create_action("Ping"))
    assert seen[0].username == "ami" and seen[0].logged_in
