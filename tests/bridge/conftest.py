"""Fixtures for the bridge tests: a real nats-server with JetStream.

Start one on loopback and point the tests at it::

    scripts/nats/start.sh && eval "$(scripts/nats/env.sh)"     # NATS_TEST_URL=nats://127.0.0.1:14222
    .venv/bin/pytest tests/bridge

Without ``NATS_TEST_URL`` the tests that need the broker are skipped with that hint; with
``AMI_TEST_REQUIRED`` set (as ``.ci/run`` does) a missing broker is an error instead. The
broker-restart tests start their own private nats-server (same binary) on a free port.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

ENABLE_HINT = (
    "bridge tests need a nats-server with JetStream: run `scripts/nats/start.sh` and "
    '`eval "$(scripts/nats/env.sh)"` (sets NATS_TEST_URL), and `pip install nats-py`'
)


def _required() -> bool:
    return os.environ.get("AMI_TEST_REQUIRED", "") not in ("", "0")


def _skip_or_fail(reason: str) -> None:
    if _required():
        pytest.fail(f"AMI_TEST_REQUIRED is set but {reason}; " + ENABLE_HINT)
    pytest.skip(reason + "; " + ENABLE_HINT)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = str(Path(__file__).parent)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.timeout(120))  # a hang fails fast, with its traceback


@pytest.fixture(scope="session")
def nats_url() -> str:
    try:
        import nats  # noqa: F401
    except ImportError:
        _skip_or_fail("nats-py is not installed")
    url = os.environ.get("NATS_TEST_URL")
    if not url:
        _skip_or_fail("NATS_TEST_URL is not set")
    assert url is not None
    # nats-py retries a refused first connect forever: check the broker answers, once.
    host, _, port = url.partition("://")[2].rpartition("@")[2].rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError as exc:
        _skip_or_fail(f"no nats-server answers at {url} ({exc})")
    return url


@pytest_asyncio.fixture
async def tag() -> AsyncIterator[str]:
    """Unique names per test: subject prefix, stream ``S<tag>`` and lease bucket ``L<tag>``,
    deleted from the shared broker afterwards (a long-lived test server must not fill up)."""
    name = f"t{uuid.uuid4().hex[:10]}"
    yield name
    url = os.environ.get("NATS_TEST_URL")
    if url:
        await delete_streams(url, [f"S{name}", f"KV_L{name}"])


async def delete_streams(url: str, names: list[str]) -> None:
    try:
        import nats
        from nats.js.errors import NotFoundError
    except ImportError:
        return
    try:  # bounded: nats-py never gives up on a refused first connect by itself
        nc = await asyncio.wait_for(
            nats.connect(url, connect_timeout=2, max_reconnect_attempts=0, allow_reconnect=False), 10
        )
    except (Exception, asyncio.TimeoutError):
        return
    try:
        js = nc.jetstream(timeout=5)
        for name in names:
            with contextlib.suppress(NotFoundError):
                await js.delete_stream(name)
    finally:
        await nc.close()


def bridge_config(tag: str, nats_url: str, servers: dict[str, str], **bridge: Any) -> dict[str, Any]:
    """A config mapping for ``parse_config`` with this test's private names."""
    opts: dict[str, Any] = {
        "lease_bucket": f"L{tag}",
        "reconnect_min_delay": 0.05,
        "reconnect_max_delay": 0.3,
    }
    opts.update(bridge)
    return {
        "nats": {"url": nats_url, "subject_prefix": tag, "stream": f"S{tag}", "storage": "memory"},
        "bridge": opts,
        "servers": {sid: {"url": url, "ping_interval": 0} for sid, url in servers.items()},
    }


@dataclass
class Stored:
    """One message read back from the stream."""

    subject: str
    msg_id: str
    doc: dict[str, Any]

    @property
    def fields(self) -> dict[str, str]:
        return dict(self.doc["fields"])


async def read_stream(
    nats_url: str, stream: str, *, expect: int | None = None, timeout: float = 30.0
) -> list[Stored]:
    """Every message of ``stream`` in stream order (waits until ``expect`` are stored)."""
    import json

    import nats
    from nats.js.errors import NotFoundError

    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                total = (await js.stream_info(stream)).state.messages
            except NotFoundError:
                total = 0  # not created yet (by a bridge process still starting)
            if expect is None or total >= expect or loop.time() > deadline:
                break
            await asyncio.sleep(0.05)
        out: list[Stored] = []
        if total == 0:
            return out
        done = asyncio.Event()

        async def collect(msg: Any) -> None:
            out.append(Stored(msg.subject, (msg.headers or {}).get("Nats-Msg-Id", ""), json.loads(msg.data)))
            if len(out) >= total:
                done.set()

        sub = await js.subscribe(">", stream=stream, ordered_consumer=True, cb=collect)
        await asyncio.wait_for(done.wait(), timeout)
        await sub.unsubscribe()
        return out
    finally:
        await nc.close()


async def wait_for(predicate: Any, timeout: float = 20.0, step: float = 0.02) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(step)


# -- a private nats-server, for the tests that kill and restart it ------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PrivateNats:
    binary: str
    store: Path
    port: int = field(default_factory=_free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while True:
            try:
                _, w = await asyncio.open_connection("127.0.0.1", self.port)
                w.close()
                return
            except OSError:
                if loop.time() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("the private nats-server did not start") from None
                await asyncio.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


@pytest.fixture
def nats_binary(nats_url: str) -> str:
    found = shutil.which("nats-server") or (
        "/usr/sbin/nats-server" if os.path.exists("/usr/sbin/nats-server") else None
    )
    if found is None:
        _skip_or_fail("the nats-server binary is not installed")
    assert found is not None
    return found


@pytest_asyncio.fixture
async def private_nats(nats_binary: str, tmp_path: Path) -> AsyncIterator[PrivateNats]:
    server = PrivateNats(nats_binary, tmp_path / "js")
    await server.start()
    try:
        yield server
    finally:
        server.kill()


def numbered_events(start: int, count: int, server: str) -> bytes:
    """``count`` AMI events numbered ``Seq: start..``, call-centre shaped, with a repeated key."""
    out = []
    for i in range(start, start + count):
        name = ("Newchannel", "VarSet", "Hangup", "QueueCallerJoin")[i % 4]
        out.append(
            f"Event: {name}\r\nPrivilege: call,all\r\nSystemName: {server}\r\n"
            f"Channel: PJSIP/agent-{i % 97:04d}-{i:08x}\r\nChannelState: 6\r\nChannelStateDesc: Up\r\n"
            f"CallerIDNum: 555{i % 10000:04d}\r\nCallerIDName: Caller {i}\r\nContext: from-trunk\r\n"
            f"Exten: 100\r\nPriority: 1\r\nUniqueid: 1712345678.{i}\r\nLinkedid: 1712345678.{i}\r\n"
            f"ChanVariable: A={i}\r\nChanVariable: B=x\r\nSeq: {i}\r\n\r\n"
        )
    return "".join(out).encode()
