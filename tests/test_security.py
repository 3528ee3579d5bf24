"""Security: no injection through any API path, no secret in any repr/log/exception, TLS verified.

Injection: CR, LF or NUL in an action name, key or value is refused with
``InvalidActionError`` **before a byte is written**, whichever way the action was built:
``Action``, ``Client.create_action``, every ``ActionSender`` method (swept automatically), the
blocking wrapper, the CLI's ``action KEY=VALUE`` and ``command``, and the reconnecting client's
filters and event mask.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import ssl
import threading
import traceback
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import ami_fast
from ami_fast import cli
from ami_fast.action_sender import PUBLIC_METHODS, ActionSender
from ami_fast.errors import AuthenticationError, InvalidActionError
from ami_fast.messages import Action
from ami_fast.reconnect import ReconnectingClient
from ami_fast.testing import FakeAsterisk, FakeUser, TestCertificates, make_test_certificates
from ami_fast.url import parse_url
from helpers import connect, eventually

PAYLOADS = ["x\r\nAction: Originate", "x\nAction: Originate", "x\rY", "x\x00y"]
SECRET = "S3cr3t-Zebra-42"


@pytest.fixture
async def srv() -> AsyncIterator[FakeAsterisk]:
    users = {"ami": FakeUser(SECRET), "other": FakeUser("otherpass")}
    async with FakeAsterisk(users, auth_failure_delay=0.01) as server:
        yield server


def rx_total(srv: FakeAsterisk) -> int:
    return sum(len(c.rx_bytes) for c in srv.connections)


# -- injection ---------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
def test_action_refuses_injection_in_name_key_value(payload: str) -> None:
    attempts: list[Any] = [
        lambda: Action(payload),
        lambda: Action("Ping", {payload: "v"}),
        lambda: Action("Ping", {"K": payload}),
        lambda: Action("Ping", [("K", "ok"), ("K", payload)]),
        lambda: Action("Ping", {"K": ["ok", payload]}),
        lambda: Action("Originate", {"Variable": {payload: "1"}}),
        lambda: Action("Originate", {"Variable": {"A": payload}}),
        lambda: Action("Ping").with_action_id(payload),
    ]
    for attempt in attempts:
        with pytest.raises(InvalidActionError) as info:
            attempt()
        assert "Originate" not in str(info.value) or payload not in str(info.value)


def _benign(annotation: str) -> Any:
    if annotation.startswith("bool"):
        return False
    if annotation.startswith("int"):
        return 1
    return "x"


def injection_calls() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every ActionSender method x every str parameter x every payload."""
    for name in PUBLIC_METHODS:
        if name == "collect":
            continue  # takes a built Action (covered by the Action tests)
        params = [p for p in list(inspect.signature(getattr(ActionSender, name)).parameters.values())[1:]]
        params = [p for p in params if p.name != "timeout"]
        for target in params:
            if "str" not in str(target.annotation) or str(target.annotation).startswith(("bool", "Mapping")):
                continue
            for payload in PAYLOADS:
                kwargs: dict[str, Any] = {}
                for p in params:
                    if p is target:
                        kwargs[p.name] = payload
                    elif p.default is inspect.Parameter.empty:
                        kwargs[p.name] = _benign(str(p.annotation))
                yield name, kwargs


async def test_every_action_sender_method_refuses_injection(srv: FakeAsterisk) -> None:
    client = await connect(srv)
    sender = ActionSender(client)
    before = rx_total(srv)
    count = 0
    for name, kwargs in injection_calls():
        with pytest.raises(InvalidActionError):
            await getattr(sender, name)(**kwargs)
        count += 1
    # Containers: mapping keys and values, sequences.
    containers = [
        sender.send_action("Ping", {"K": PAYLOADS[0]}),
        sender.send_action("Ping", [(PAYLOADS[1], "v")]),
        sender.originate("Local/1@x", exten="1", context="c", variables={"A": PAYLOADS[0]}),
        sender.originate("Local/1@x", exten="1", context="c", variables={PAYLOADS[2]: "1"}),
        sender.user_event("Ev", {"H": PAYLOADS[0]}),
        sender.status(variables=[PAYLOADS[1]]),
        sender.events([PAYLOADS[3]]),
    ]
    for coro in containers:
        with pytest.raises(InvalidActionError):
            await coro
    assert count > 150, count  # the sweep really covered the API
    # A Ping round trip instead of a sleep: whatever was written before it has been read by
    # the server when its reply is back. The Ping must be all that arrived.
    await client.request(client.create_action("Ping"))
    sent = b"".join(bytes(c.rx_bytes) for c in srv.connections)[before:]
    assert sent.startswith(b"Action: Ping\r\n") and sent.count(b"\r\n\r\n") == 1, sent[:200]
    assert not [m for m in srv.received if m.name == "Originate"]
    assert not client.is_busy
    await client.end()


async def test_client_create_action_and_request_refuse_injection(srv: FakeAsterisk) -> None:
    client = await connect(srv)
    before = rx_total(srv)
    for payload in PAYLOADS:
        with pytest.raises(InvalidActionError):
            client.create_action("Command", {"Command": payload})
        with pytest.raises(InvalidActionError):
            client.create_action(payload)
    with pytest.raises(InvalidActionError):
        await client.request(Action("Ping", {"ActionID": "ok"}).with_action_id("a\r\nb"))
    assert rx_total(srv) == before
    await client.end()


def test_blocking_wrapper_refuses_injection(srv_thread: FakeAsterisk) -> None:
    before = rx_total(srv_thread)
    with ami_fast.sync.connect(srv_thread.url, ping_interval=None) as client:
        after_login = rx_total(srv_thread)
        for payload in PAYLOADS:
            with pytest.raises(InvalidActionError):
                client.command(payload)
            with pytest.raises(InvalidActionError):
                client.originate("Local/1@x", exten=payload, context="c")
            with pytest.raises(InvalidActionError):
                client.send_action("Ping", {"X": payload})
            with pytest.raises(InvalidActionError):
                client.create_action("Ping", {"X": payload})
        assert rx_total(srv_thread) == after_login > before
        assert client.ping().get_field_value("Ping") == "Pong"


@pytest.fixture
def srv_thread() -> Iterator[FakeAsterisk]:
    """A FakeAsterisk running in its own loop thread (for the blocking wrapper)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = FakeAsterisk({"ami": FakeUser(SECRET)}, auth_failure_delay=0.01)
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_cli_refuses_injection_before_connecting(
    payload: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dialled: list[Any] = []
    monkeypatch.setattr(cli, "_connect", lambda *a, **k: dialled.append(a))
    url = f"tcp://ami:{SECRET}@127.0.0.1:9"
    assert cli.main(["action", "Ping", f"X={payload}", "--url", url]) == cli.EXIT_USAGE
    assert cli.main(["action", "Ping", f"{payload}=v", "--url", url]) == cli.EXIT_USAGE
    assert cli.main(["action", payload, "--url", url]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "refused" in err and SECRET not in err
    assert dialled == []


async def test_cli_command_refuses_injection(srv: FakeAsterisk, capsys: pytest.CaptureFixture[str]) -> None:
    code = await asyncio.to_thread(
        cli.main, ["command", "core show version\r\nAction: Originate", "--url", srv.url]
    )
    assert code == cli.EXIT_USAGE
    # Refused before connecting: the server never saw a connection.
    assert srv.received == []
    assert srv.connections == []
    assert SECRET not in capsys.readouterr().err


async def test_reconnecting_client_refuses_injection(srv: FakeAsterisk) -> None:
    with pytest.raises(InvalidActionError):
        ReconnectingClient(srv.url, filters=["Event: X\r\nAction: Originate"])
    async with ReconnectingClient(srv.url, ping_interval=None) as rc:
        with pytest.raises(InvalidActionError):
            await rc.add_filter("a\nb")
        with pytest.raises(InvalidActionError):
            await rc.set_events("call\r\nAction: Originate")
        with pytest.raises(InvalidActionError):
            rc.create_action("Ping", {"X": "\x00"})
        assert rc.filters == []


def test_url_refuses_control_characters() -> None:
    for bad in ["tcp://a%0D%0A:b@h", "tcp://a:b%0AAction%3A%20X@h", "tcp://a:b%00@h"]:
        with pytest.raises(ValueError) as info:
            parse_url(bad)
        assert "Action" not in str(info.value)


# -- secrets -----------------------------------------------------------------------------------


def assert_clean(text: str) -> None:
    assert SECRET not in text, f"secret leaked into: {text[:200]!r}"


async def test_secret_never_in_repr_log_or_exception(
    srv: FakeAsterisk, caplog: pytest.LogCaptureFixture
) -> None:
    texts: list[str] = []
    with caplog.at_level(logging.DEBUG):
        for auth in ("md5", "plain"):
            factory = ami_fast.Factory(auth_type=auth, ping_interval=None)
            client = await factory.create_client(srv.url)
            texts += [repr(factory), repr(client), str(client.stats.as_dict())]
            login = Action("Login", {"Username": "ami", "Secret": SECRET})
            texts += [repr(login), str(login.items()[:1])]
            await client.end()
        # A failed login: the exception, its chain and traceback.
        for auth in ("md5", "plain"):
            bad = srv.url_for("other", SECRET)
            try:
                await ami_fast.Factory(auth_type=auth, ping_interval=None).create_client(bad)
            except AuthenticationError as exc:
                texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
            else:
                raise AssertionError("login should have failed")
        # URL objects and URL errors.
        url = parse_url(srv.url)
        texts += [repr(url), str(url), url.redacted(), url.netloc()]
        for broken in [
            f"tcp://ami:{SECRET}@host:notaport",
            f"ftp://ami:{SECRET}@h",
            f"tcp://ami:{SECRET}@h/path",
        ]:
            with pytest.raises(ValueError) as info:
                parse_url(broken)
            texts.append(str(info.value))
        # The reconnecting client, across a reconnect (its log lines included).
        async with ReconnectingClient(srv.url, ping_interval=None, backoff_initial=0.01) as rc:
            texts.append(repr(rc))
            (conn,) = [c for c in srv.active_connections if c.logged_in]
            conn.close()
            await eventually(lambda: rc.epoch == 2 and rc.connected)
            texts.append(repr(rc))
    texts += [r.getMessage() for r in caplog.records]
    texts += [str(r.args) for r in caplog.records]
    assert len(caplog.records) > 3  # there were log lines to check
    for text in texts:
        assert_clean(text)


def test_cli_failed_login_shows_no_secret(
    srv_thread: FakeAsterisk, capsys: pytest.CaptureFixture[str]
) -> None:
    url = srv_thread.url_for("ami", SECRET + "-wrong")
    assert cli.main(["ping", "--url", url]) == cli.EXIT_AUTH
    captured = capsys.readouterr()
    assert SECRET not in captured.err + captured.out


# -- TLS ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> TestCertificates:
    return make_test_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def localhost_only_certs(tmp_path_factory: pytest.TempPathFactory) -> TestCertificates:
    return make_test_certificates(tmp_path_factory.mktemp("tls-localhost"), hostnames=("localhost",))


async def test_tls_default_verifies_the_certificate(certs: TestCertificates) -> None:
    async with FakeAsterisk(tls=certs.server_context(), auth_failure_delay=0.01) as srv:
        assert srv.url.startswith("tls://")
        # Default context: the system CAs, which do not know the test CA.
        with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
            await ami_fast.Factory(ping_interval=None).create_client(srv.url)
        assert not [m for m in srv.received if m.name == "Login"]
        # Trusting the test CA: it works (and logs in with plain auth over TLS).
        client = await ami_fast.Factory(ssl=certs.client_context(), ping_interval=None).create_client(srv.url)
        assert (await client.request(client.create_action("Ping"))).get_field_value("Ping") == "Pong"
        await client.end()


async def test_tls_verifies_the_host_name(localhost_only_certs: TestCertificates) -> None:
    certs = localhost_only_certs
    async with FakeAsterisk(tls=certs.server_context(), auth_failure_delay=0.01) as srv:
        trusted = certs.client_context()  # the CA is trusted; the name is wrong (127.0.0.1)
        with pytest.raises(ssl.SSLCertVerificationError, match=r"mismatch|doesn't match|not valid"):
            await ami_fast.Factory(ssl=trusted, ping_interval=None).create_client(srv.url)
        with pytest.raises(ssl.SSLCertVerificationError):
            await ami_fast.Factory(
                ssl=trusted, server_hostname="pbx.example.org", ping_interval=None
            ).create_client(srv.url)
        ok = ami_fast.Factory(ssl=trusted, server_hostname="localhost", ping_interval=None)
        client = await ok.create_client(srv.url)
        await client.end()


async def test_tls_opt_out_is_explicit_and_warns(
    certs: TestCertificates, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeAsterisk(tls=certs.server_context(), auth_failure_delay=0.01) as srv:
        with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
            warnings.simplefilter("always")
            factory = ami_fast.Factory(tls_verify=False, ping_interval=None)
        assert any(
            issubclass(w.category, RuntimeWarning) and "man in the middle" in str(w.message) for w in caught
        )
        assert any("verification is disabled" in r.getMessage() for r in caplog.records)
        client = await factory.create_client(srv.url)  # self-signed to the system: accepted
        await client.end()
        # A hand-made context that does not verify warns the same way.
        loose = ssl.create_default_context()
        loose.check_hostname = False
        loose.verify_mode = ssl.CERT_NONE
        with pytest.warns(RuntimeWarning, match="verification is disabled"):
            ami_fast.Factory(ssl=loose)
        with pytest.raises(ValueError, match="not both"):
            ami_fast.Factory(ssl=loose, tls_verify=False)


def test_verifying_context_does_not_warn(certs: TestCertificates) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ami_fast.Factory(ssl=certs.client_context())
        ami_fast.Factory()
