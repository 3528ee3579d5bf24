"""Link: one Asterisk server's side of the bridge — connect, read, number, mark gaps, reconnect.

Every connection is an **epoch**: a number unique for the server across reconnects, bridge
restarts and lease hand-overs (the connection time in Unix milliseconds, kept increasing). Each
message of an epoch gets the next **sequence number** from 1. ``Nats-Msg-Id`` is
``<server>.<epoch>.<seq>``, so a retried publish is dropped by JetStream's duplicate window
while two different events can never share an id.

Markers, on the server's own subject ``<prefix>.events.<server>.<marker>``:

- ``_Connected`` (first connection of this bridge process) or ``_Reconnected`` (later ones):
  sequence 1 of each epoch, before its first event. Events between the previous epoch's end
  and this one were never seen: AMI has no replay.
- ``_ConnectionLost``: the last message of an epoch, with the reason.
- ``_Dropped``: the buffer overflowed and ``dropped`` events were lost (sent when there is
  room again).

Reconnection (a private loop; the shared reconnect supervisor was not available when this was
written): jittered exponential backoff from ``reconnect_min_delay`` to ``reconnect_max_delay``;
after ``auth_failures_max`` failed logins in a row the link stops with an error instead of
hammering Asterisk's ``authlimit``. Nothing is ever re-sent to Asterisk.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import AmiError, AuthenticationError
from ..factory import Factory
from .outbox import Entry, Outbox

if TYPE_CHECKING:
    from ..client import Client
    from ..messages import Event
    from .config import BridgeOptions, ServerConfig
    from .lease import Lease

__all__ = ["Link"]

logger = logging.getLogger("ami_fast.bridge")

_BAD_TOKEN = re.compile(r"[^A-Za-z0-9_-]")
_dumps = json.dumps


def subject_token(name: str) -> str:
    """An event name as one NATS subject token (anything unusual becomes ``_``)."""
    return _BAD_TOKEN.sub("_", name) or "_unnamed"


class Link:
    """Connects to one server (holding its lease when there is one) and feeds its outbox."""

    def __init__(
        self,
        server: ServerConfig,
        options: BridgeOptions,
        box: Outbox,
        wake: Callable[[], None],
        *,
        subject_prefix: str,
        reply_prefix: str,
        lease: Lease | None = None,
        on_connected: Callable[[Link], Any] | None = None,
        on_disconnected: Callable[[Link], Any] | None = None,
    ) -> None:
        self.server = server
        self.options = options
        self.box = box
        self._wake = wake
        self.lease = lease
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self._subject_base = f"{subject_prefix}.events.{server.id}."
        self._reply_prefix = reply_prefix
        self._subjects: dict[str, tuple[str, str]] = {}  # name -> (subject, JSON-quoted name)
        self._filtering = bool(server.include or server.exclude)
        self._wanted: dict[str, bool] = {}
        self.client: Client | None = None
        self.epoch = 0
        self.seq = 0
        self._head = ""
        self._epoch_open = False
        self._stopping = asyncio.Event()
        self._lease_lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._keeper: asyncio.Task[None] | None = None
        self.state = "starting"  # starting, waiting_lease, connecting, connected, backoff, failed, stopped
        self.error: str | None = None
        # counters
        self.connects = 0
        self.connect_failures = 0
        self.auth_failures_in_row = 0
        self.events_received = 0
        self.events_filtered = 0
        self.markers = 0
        self.dispatch_dropped = 0  # dropped by the client's own dispatch queue (closed epochs)
        self._client_dropped_base = 0

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._run(), name=f"ami-fast bridge link {self.server.id}")
        if self.lease is not None:
            self._keeper = loop.create_task(
                self._keep_lease(), name=f"ami-fast bridge lease {self.server.id}"
            )

    async def stop(self) -> None:
        """Disconnect (ending the epoch with a ``_ConnectionLost`` marker) and stop."""
        self._stopping.set()
        if self._task is not None:
            await self._task
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
        if self.lease is not None:
            await self.lease.release()
        self.state = "stopped" if self.state != "failed" else "failed"

    @property
    def connected(self) -> bool:
        return self.state == "connected"

    @property
    def dropped_by_client(self) -> int:
        """Events the AMI client's dispatch queue dropped (before they were numbered)."""
        live = self.client.stats.events_dropped if self.client is not None else 0
        return self.dispatch_dropped + live

    # -- events (hot path: called by the client's dispatch task for every event) -----------

    def _on_event(self, event: Event) -> None:
        if not self._epoch_open:
            self._open_epoch()
        name = event.name or ""
        self.events_received += 1
        if self._filtering:
            wanted = self._wanted.get(name)
            if wanted is None:
                wanted = self._wanted[name] = self.server.wants(name)
            if not wanted:
                self.events_filtered += 1
                return
        cached = self._subjects.get(name)
        if cached is None:
            cached = self._subjects[name] = (self._subject_base + subject_token(name), _dumps(name))
        subject, quoted = cached
        self.seq = seq = self.seq + 1
        payload = (
            f'{self._head}{seq},"time":{time.time():.6f},"event":{quoted},"fields":{_dumps(event.items())}}}'
        ).encode()
        msg_id = f"{self.server.id}.{self.epoch}.{seq}"
        entry = Entry(
            self.box,
            subject,
            payload,
            {"Nats-Msg-Id": msg_id},
            f"{self._reply_prefix}{self.epoch}.{seq}",
            time.monotonic(),
        )
        box = self.box
        if box.add(entry) and box.drops_unreported and not box.full:
            self._marker("_Dropped", {"dropped": box.drops_unreported})
            box.drops_unreported = 0
        self._wake()

    def _marker(self, name: str, extra: dict[str, Any]) -> None:
        self.seq = seq = self.seq + 1
        body = {
            "server": self.server.id,
            "epoch": self.epoch,
            "seq": seq,
            "time": round(time.time(), 6),
            "event": name,
            "marker": name[1:],
            **extra,
            "fields": [],
        }
        entry = Entry(
            self.box,
            self._subject_base + name,
            _dumps(body).encode(),
            {"Nats-Msg-Id": f"{self.server.id}.{self.epoch}.{seq}", "Ami-Marker": name[1:]},
            f"{self._reply_prefix}{self.epoch}.{seq}",
            time.monotonic(),
        )
        self.box.add(entry, force=True)
        self.markers += 1
        self._wake()

    def _new_epoch(self) -> None:
        self.epoch = max(self.epoch + 1, time.time_ns() // 1_000_000)
        self.seq = 0
        self._epoch_open = False
        self._head = f'{{"server":{_dumps(self.server.id)},"epoch":{self.epoch},"seq":'

    def _open_epoch(self) -> None:
        self._epoch_open = True
        self.connects += 1
        name = "_Connected" if self.connects == 1 else "_Reconnected"
        self._marker(name, {"connection": self.connects})

    def _close_epoch(self, reason: str) -> None:
        if not self._epoch_open:
            return
        self._epoch_open = False
        if self.box.drops_unreported:  # report drops inside the epoch they happened in
            self._marker("_Dropped", {"dropped": self.box.drops_unreported})
            self.box.drops_unreported = 0
        self._marker("_ConnectionLost", {"reason": reason, "events": self.events_received})

    # -- connection loop --------------------------------------------------------------------

    async def _run(self) -> None:
        opts = self.options
        failures = 0
        while not self._stopping.is_set():
            if self.lease is not None and not await self._wait_for_lease():
                break
            self.state = "connecting"
            self._lease_lost.clear()
            self._new_epoch()
            try:
                client = await self._connect_unless_stopped()
                if client is None:
                    break
            except AuthenticationError as exc:
                self.connect_failures += 1
                self.auth_failures_in_row += 1
                self.error = f"login failed: {exc.message or exc}"
                if self.auth_failures_in_row >= opts.auth_failures_max:
                    self.state = "failed"
                    logger.error(
                        "bridge %s: login failed %d times in a row (%s); giving up on this server",
                        self.server.id,
                        self.auth_failures_in_row,
                        exc.message or exc,
                    )
                    break
                logger.warning("bridge %s: %s", self.server.id, self.error)
                failures += 1
            except (OSError, TimeoutError, asyncio.TimeoutError, AmiError) as exc:
                self.connect_failures += 1
                self.error = f"connect failed: {exc}"
                if failures in (0, 5) or failures % 50 == 0:
                    logger.warning("bridge %s: %s (%s)", self.server.id, self.error, self.server.display_url)
                failures += 1
            else:
                failures = 0
                self.auth_failures_in_row = 0
                self.error = None
                reason = await self._session(client)
                if self._stopping.is_set():
                    break
                logger.warning("bridge %s: connection lost: %s", self.server.id, reason)
            self.state = "backoff"
            delay = min(opts.reconnect_max_delay, opts.reconnect_min_delay * 2 ** min(failures, 16))
            await self._sleep(delay * random.uniform(0.5, 1.0))
        if self.state != "failed":
            self.state = "stopped"

    async def _connect_unless_stopped(self) -> Client | None:
        """``_connect()``, abandoned (``None``) when ``stop()`` comes first."""
        attempt = asyncio.ensure_future(self._connect())
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait([attempt, stopping], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if attempt.done():
            client = attempt.result()
            if not self._stopping.is_set():
                return client
            await self._session(client)  # connected just as we stopped: close it with its markers
            return None
        attempt.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await attempt
        return None

    async def _connect(self) -> Client:
        factory = Factory(
            events=self.server.events,
            on_event=self._on_event,
            connect_timeout=self.server.connect_timeout,
            login_timeout=self.server.connect_timeout,
            ping_interval=self.server.ping_interval,
        )
        client = await factory.create_client(self.server.url)
        self._client_dropped_base = client.stats.events_dropped
        for expr in self.server.filters:
            try:
                await client.request(client.create_action("Filter", {"Operation": "Add", "Filter": expr}))
            except AmiError as exc:
                logger.warning("bridge %s: Filter %r refused: %s", self.server.id, expr, exc)
        return client

    async def _session(self, client: Client) -> str:
        """Run one connection until it ends; returns why."""
        self.client = client
        self.state = "connected"
        if not self._epoch_open:
            self._open_epoch()  # no event yet: mark the new epoch now
        if self._on_connected is not None:
            self._on_connected(self)
        waits = [
            asyncio.ensure_future(client.wait_closed()),
            asyncio.ensure_future(self._stopping.wait()),
            asyncio.ensure_future(self._lease_lost.wait()),
        ]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
        if self._stopping.is_set():
            reason = "bridge stopping"
        elif self._lease_lost.is_set():
            reason = "lease lost (another bridge holds this server, or the broker is unreachable)"
        else:
            reason = str(client.close_reason or "closed by the server")
        if self._on_disconnected is not None:
            self._on_disconnected(self)
        if not client.closed:
            client.close()
        # Every event read before the close is delivered (and numbered) before the marker.
        try:
            await asyncio.wait_for(client.wait_closed(), 30.0)
        except asyncio.TimeoutError:  # a stuck transport must not wedge the link
            logger.error("bridge %s: the AMI connection did not close within 30 s", self.server.id)
        self.dispatch_dropped += client.stats.events_dropped
        self.client = None
        self._close_epoch(reason)
        return reason

    async def _sleep(self, delay: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), delay)

    # -- lease ------------------------------------------------------------------------------

    async def _wait_for_lease(self) -> bool:
        lease = self.lease
        assert lease is not None
        warned = False
        while not self._stopping.is_set():
            if lease.held:
                return True
            self.state = "waiting_lease"
            try:
                if await lease.try_acquire():
                    logger.info("bridge %s: lease acquired", self.server.id)
                    return True
                if not warned:
                    logger.info("bridge %s: held by %s; standing by", self.server.id, lease.holder)
                    warned = True
            except Exception as exc:  # broker down: keep trying
                logger.debug("bridge %s: lease attempt failed: %r", self.server.id, exc)
            await self._sleep(min(lease.renew_every, 2.0))
        return False

    async def _keep_lease(self) -> None:
        lease = self.lease
        assert lease is not None
        while True:
            await asyncio.sleep(min(lease.renew_every, 1.0) if not lease.held else lease.renew_every)
            if lease.revision is None:
                continue
            try:
                ok = await asyncio.wait_for(lease.renew(), lease.renew_every)
            except Exception as exc:
                ok = lease.held  # broker trouble: hold on until the fence
                logger.debug("bridge %s: lease renewal failed: %r", self.server.id, exc)
            if not ok:
                logger.warning("bridge %s: lease lost; disconnecting from Asterisk", self.server.id)
                self._lease_lost.set()
