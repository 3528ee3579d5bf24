"""Link: one Asterisk server's side of the bridge — read, number, mark gaps, hold the lease.

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

The connection is a :class:`~ami_fast.reconnect.ReconnectingClient` (``link.rc``): jittered
exponential backoff from ``reconnect_min_delay`` to ``reconnect_max_delay``, a longer first
wait after ``Event: Shutdown``, the server's ``filters`` re-applied after every login, and after
``auth_failures_max`` failed logins in a row the link stops (state ``failed``) instead of
hammering Asterisk's ``authlimit``. With a lease, the supervisor's ``before_connect`` gate waits
until this bridge holds the server's lease, and losing the lease drops the session
(``rc.drop``). Nothing is ever re-sent to Asterisk.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..reconnect import ReconnectingClient
from .outbox import Entry, Outbox

if TYPE_CHECKING:
    from ..client import Client
    from ..messages import Event
    from .config import BridgeOptions, ServerConfig
    from .lease import Lease

__all__ = ["Link"]

logger = logging.getLogger("ami_fast.bridge")

_BAD_TOKEN = re.compile(r"[^A-Za-z0-9_-]")
LEASE_LOST = "lease lost (another bridge holds this server, or the broker is unreachable)"
STOPPING = "bridge stopping"
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
        self._session_epoch = 0  # the epoch of the session in self.client
        self._stopping = False
        self._drop_reason: str | None = None  # why the link dropped the session itself
        self._watcher: asyncio.Task[None] | None = None
        self._keeper: asyncio.Task[None] | None = None
        self.state = "starting"  # starting, waiting_lease, connecting, connected, backoff, failed, stopped
        self.error: str | None = None  # why the link gave up (state "failed")
        # counters
        self.connects = 0
        self.events_received = 0
        self.events_filtered = 0
        self.markers = 0
        self.dispatch_dropped = 0  # dropped by the client's own dispatch queue (closed epochs)
        self.rc = ReconnectingClient(
            server.url,
            events=server.events,
            filters=server.filters,
            before_connect=self._before_connect,
            # The old private loop capped the first delay at the maximum too.
            backoff_initial=min(options.reconnect_min_delay, options.reconnect_max_delay),
            backoff_max=options.reconnect_max_delay,
            max_auth_failures=options.auth_failures_max,
            shutdown_delay=options.shutdown_delay,
            auth_backoff=options.auth_failure_delay,
            connect_timeout=server.connect_timeout,
            login_timeout=server.connect_timeout,
            ping_interval=server.ping_interval,
        )
        self.rc.on_event(None, self._on_event)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.rc.start()
        self._watcher = loop.create_task(self._watch(), name=f"ami-fast bridge link {self.server.id}")
        if self.lease is not None:
            self._keeper = loop.create_task(
                self._keep_lease(), name=f"ami-fast bridge lease {self.server.id}"
            )

    async def stop(self) -> None:
        """Disconnect (ending the epoch with a ``_ConnectionLost`` marker) and stop."""
        self._stopping = True
        await self.rc.close()  # Logoff; an attempt (or the lease gate) in progress is abandoned
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        client = self.client
        if client is not None:
            # Every event read before the close is delivered (and numbered) before the marker.
            try:
                await asyncio.wait_for(client.wait_closed(), 30.0)
            except asyncio.TimeoutError:  # a stuck transport must not wedge the link
                logger.error("bridge %s: the AMI connection did not close within 30 s", self.server.id)
        self._end_session(client, STOPPING)
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
    def connect_failures(self) -> int:
        """Failed connection attempts (refused logins included)."""
        return self.rc.stats["failed_attempts"]

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

    # -- sessions (the ReconnectingClient connects; the link numbers and marks) ---------------

    async def _before_connect(self) -> None:
        """The supervisor's gate, before every attempt: hold the lease, then a new epoch."""
        if self.client is not None or self._epoch_open:  # a session the watcher never saw
            self._end_session(self.client, self._lost_reason(self.client))
        if self.lease is not None:
            await self._wait_for_lease()
        self._drop_reason = None
        self.state = "connecting"
        self._new_epoch()

    async def _watch(self) -> None:
        """Follow the supervisor's sessions: mark each one's start and end."""
        while True:
            try:
                client = await self.rc.wait_connected()
            except Exception as exc:  # the supervisor gave up (or was closed by stop())
                if not self._stopping:
                    self.state = "failed"
                    self.error = str(exc)
                    logger.error("bridge %s: %s; giving up on this server", self.server.id, exc)
                return
            self.client = client
            self._session_epoch = self.epoch
            self.state = "connected"
            if not self._epoch_open:
                self._open_epoch()  # no event yet: mark the new epoch now
            if self._on_connected is not None:
                self._on_connected(self)
            if self.lease is not None and not self.lease.held:  # lost while logging in
                self._drop(LEASE_LOST)
            # The close listeners run after every event of the session was delivered.
            await client.wait_closed()
            self._end_session(client, self._lost_reason(client))

    def _end_session(self, client: Client | None, reason: str) -> None:
        """Close the epoch (once) with a ``_ConnectionLost`` marker."""
        if client is not None and client is self.client:
            self.client = None
            self.dispatch_dropped += client.stats.events_dropped
            if self._on_disconnected is not None:
                self._on_disconnected(self)
            if not self._stopping:
                logger.warning("bridge %s: connection lost: %s", self.server.id, reason)
        # Guard: a late watcher must not close the epoch a newer attempt opened.
        if client is None or self._session_epoch == self.epoch:
            self._close_epoch(reason)
        if self.state == "connected":
            self.state = "backoff"

    def _lost_reason(self, client: Client | None) -> str:
        if self._stopping:
            return STOPPING
        if self._drop_reason is not None:
            return self._drop_reason
        reason = client.close_reason if client is not None else self.rc.last_error
        return str(reason or "closed by the server")

    def _drop(self, reason: str) -> None:
        self._drop_reason = reason
        self.rc.drop(reason)

    # -- lease ------------------------------------------------------------------------------

    async def _wait_for_lease(self) -> None:
        """Until this bridge holds the lease (``stop()`` cancels the wait)."""
        lease = self.lease
        assert lease is not None
        warned = False
        while not lease.held and not self._stopping:  # stop()'s cancel may be lost (3.11 wait_for)
            self.state = "waiting_lease"
            try:
                if await lease.try_acquire():
                    logger.info("bridge %s: lease acquired", self.server.id)
                    return
                if not warned:
                    logger.info("bridge %s: held by %s; standing by", self.server.id, lease.holder)
                    warned = True
            except Exception as exc:  # broker down: keep trying
                logger.debug("bridge %s: lease attempt failed: %r", self.server.id, exc)
            await asyncio.sleep(min(lease.renew_every, 2.0))

    async def _keep_lease(self) -> None:
        lease = self.lease
        assert lease is not None
        # Not `while True`: on 3.11 stop()'s cancel can be lost in a wait_for whose result is ready.
        while not self._stopping:
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
                self._drop(LEASE_LOST)
