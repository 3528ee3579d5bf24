"""Link on its ReconnectingClient, without a broker: epochs and markers in the outbox, the lease
gate, the wait after Shutdown, the config's reconnect options."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any, cast

from ami_fast.bridge.config import parse_config
from ami_fast.bridge.lease import Lease
from ami_fast.bridge.link import LEASE_LOST, Link
from ami_fast.bridge.outbox import Outbox
from ami_fast.testing import FakeAsterisk
from helpers import eventually


def make_link(url: str, lease: Any = None, **bridge: Any) -> Link:
    opts = {"reconnect_min_delay": 0.01, "reconnect_max_delay": 0.05, **bridge}
    cfg = parse_config({"bridge": opts, "servers": {"pbx": {"url": url, "ping_interval": 0}}})
    return Link(
        cfg.servers[0],
        cfg.bridge,
        Outbox("pbx"),
        lambda: None,
        subject_prefix="ami",
        reply_prefix="_ack.",
        lease=cast(Lease, lease),
    )


def docs(link: Link) -> list[dict[str, Any]]:
    """Every message the link queued, with its Nats-Msg-Id."""
    out = []
    for entry in link.box.waiting:
        doc = json.loads(entry.payload)
        doc["msg_id"] = entry.headers["Nats-Msg-Id"]
        out.append(doc)
    return out


def markers(link: Link) -> list[tuple[str, int]]:
    return [(d["event"], d["epoch"]) for d in docs(link) if d["event"].startswith("_")]


class StubLease:
    """Held only when the test says so; renewals fail once ``renew_ok`` is false."""

    def __init__(self) -> None:
        self.held = False
        self.grant = False
        self.renew_ok = True
        self.renew_every = 0.01
        self.revision: int | None = None
        self.holder = "another-bridge"
        self.lost = 0

    async def try_acquire(self) -> bool:
        if self.grant:
            self.held, self.revision = True, 1
        return self.held

    async def renew(self) -> bool:
        if not self.renew_ok:
            self.held, self.revision, self.lost = False, None, self.lost + 1
        return self.held

    async def release(self) -> None:
        self.held, self.revision = False, None


def test_reconnect_options_map_onto_the_supervisor() -> None:
    link = make_link(
        "tcp://u:p@127.0.0.1:1",
        reconnect_min_delay=0.2,
        reconnect_max_delay=7.0,
        auth_failures_max=5,
        shutdown_delay=12.0,
        auth_failure_delay=0.5,
    )
    rc = link.rc
    assert (rc.backoff_initial, rc.backoff_max, rc.max_auth_failures) == (0.2, 7.0, 5)
    assert (rc.shutdown_delay, rc.auth_backoff) == (12.0, 0.5)
    defaults = make_link("tcp://u:p@127.0.0.1:1").rc
    assert (defaults.shutdown_delay, defaults.auth_backoff) == (5.0, 5.0)
    assert rc.jitter == 0.5  # the old loop's uniform(0.5, 1.0)
    # A maximum below the minimum caps every delay, as the old loop did.
    capped = make_link("tcp://u:p@127.0.0.1:1", reconnect_min_delay=5.0, reconnect_max_delay=0.3).rc
    assert (capped.backoff_initial, capped.backoff_max) == (0.3, 0.3)


async def test_server_filters_are_applied_after_every_login(srv: FakeAsterisk) -> None:
    srv.on_action("Filter", lambda conn, action: conn.send_response(action))
    cfg = parse_config(
        {"servers": {"pbx": {"url": srv.url, "filters": ["Event: Newchannel"], "events": "call"}}}
    )
    link = Link(
        cfg.servers[0], cfg.bridge, Outbox("pbx"), lambda: None, subject_prefix="ami", reply_prefix="_"
    )
    assert link.rc.filters == [("Event: Newchannel", None)]
    link.start()
    try:
        await eventually(lambda: link.connected)
        (flt,) = [m for m in srv.received if m.name == "Filter"]
        assert flt.get_field_value("Filter") == "Event: Newchannel"
        (login,) = [m for m in srv.received if m.name == "Login"]
        assert login.get_field_value("Events") == "call"
    finally:
        await link.stop()


async def test_shutdown_closes_the_epoch_and_waits_longer(srv: FakeAsterisk) -> None:
    link = make_link(srv.url)
    asked: list[dict[str, bool]] = []
    real = link.rc.next_delay

    def spy(failures: int, **kw: bool) -> float:
        asked.append(kw)
        return real(failures, **kw)

    link.rc.next_delay = spy  # type: ignore[method-assign]
    link.start()
    try:
        await eventually(lambda: link.connected)
        srv.push_event("UserEvent", {"UserEvent": "before"})
        await eventually(lambda: link.events_received >= 1)
        await srv.shutdown()
        await eventually(lambda: link.state == "backoff")
        assert asked == [{"after_shutdown": True}]  # at least shutdown_delay: Asterisk is restarting
    finally:
        await link.stop()
    got = docs(link)
    names = [d["event"] for d in got if d["event"] != "FullyBooted"]
    assert names == ["_Connected", "UserEvent", "Shutdown", "_ConnectionLost"]
    assert [d["seq"] for d in got] == list(range(1, len(got) + 1))
    assert all(d["msg_id"] == f"pbx.{d['epoch']}.{d['seq']}" for d in got)
    assert "closed by the server" in got[-1]["reason"]


async def test_lease_gates_the_connection_and_its_loss_drops_it(srv: FakeAsterisk) -> None:
    lease = StubLease()
    link = make_link(srv.url, lease)
    link.start()
    try:
        await eventually(lambda: link.state == "waiting_lease")
        await eventually(lambda: link.rc.stats["attempts"] == 0 and not srv.connections)
        lease.grant = True
        await eventually(lambda: link.connected)
        first_epoch = link.epoch
        lease.grant, lease.renew_ok = False, False  # another bridge took the key over
        await eventually(lambda: link.state == "waiting_lease")
        assert not srv.active_connections and link.rc.stats["attempts"] == 1
        lease.grant, lease.renew_ok = True, True
        await eventually(lambda: link.connected)
        assert link.epoch > first_epoch
    finally:
        await link.stop()
    assert markers(link) == [
        ("_Connected", first_epoch),
        ("_ConnectionLost", first_epoch),
        ("_Reconnected", link.epoch),
        ("_ConnectionLost", link.epoch),
    ]
    lost = [d for d in docs(link) if d["event"] == "_ConnectionLost"]
    assert [d["reason"] for d in lost] == [LEASE_LOST, "bridge stopping"]
    assert link.state == "stopped" and link.connects == 2


async def test_gives_up_after_refused_logins(srv: FakeAsterisk) -> None:
    link = make_link(srv.url_for("ami", "wrong"), auth_failures_max=1)
    link.start()
    try:
        await eventually(lambda: link.state == "failed")
        assert link.connect_failures == 1 and link.error is not None and "gave up" in link.error
    finally:
        await link.stop()
    assert link.state == "failed" and docs(link) == []


async def test_lease_keeper_ends_on_stop_even_if_the_cancel_is_lost() -> None:
    # On Python 3.11, asyncio.wait_for returns a result that is ready when the cancellation
    # arrives instead of raising it: the keeper must still end once the link is stopping, or
    # stop() waits on it forever.
    lease = StubLease()
    lease.held, lease.revision = True, 1
    link = make_link("tcp://u:p@127.0.0.1:1", lease)
    keeper = asyncio.get_running_loop().create_task(link._keep_lease())
    renewals = 0
    plain_renew = lease.renew

    async def renew() -> bool:
        nonlocal renewals
        renewals += 1
        if renewals == 1:  # stop() arrives while this renewal is finishing
            link._stopping = True
            keeper.cancel()
        return await plain_renew()

    lease.renew = renew  # type: ignore[method-assign]
    await eventually(lambda: renewals >= 1)
    await asyncio.wait({keeper}, timeout=5)  # a hang guard only
    assert keeper.done()
    keeper.cancel()


async def test_stop_during_the_lease_gate_even_if_the_cancel_is_lost(srv: FakeAsterisk) -> None:
    # The same lost cancellation in a lease attempt (a broker request under wait_for): the gate
    # must give up once the link is stopping, and nothing may connect to Asterisk.
    lease = StubLease()
    link = make_link(srv.url, lease)
    attempts = 0
    plain_acquire = lease.try_acquire

    async def try_acquire() -> bool:
        nonlocal attempts
        attempts += 1
        if attempts == 2:  # in progress when stop() comes: its cancel is swallowed, it answers
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.Event().wait()
        return await plain_acquire()

    lease.try_acquire = try_acquire  # type: ignore[method-assign]
    link.start()
    await eventually(lambda: attempts >= 2)
    stopping = asyncio.ensure_future(link.stop())
    await asyncio.wait({stopping}, timeout=5)  # a hang guard only
    assert stopping.done() and link.state == "stopped"
    assert link.rc.stats["attempts"] == 0 and not srv.connections
    stopping.cancel()
