"""Publisher: moves every :class:`~.outbox.Outbox` into JetStream, at least once and in order.

One NATS connection per bridge. Each message is published with a reply subject
``<inbox>.<server>.<epoch>.<seq>``; JetStream answers it with a PubAck once the message is
stored, on one wildcard subscription. Per outbox at most ``max_in_flight`` messages are
unacknowledged. Go-back-N on trouble:

- no ack within ``ack_timeout``, or an error ack (stream missing, storage full...): every
  unacknowledged message goes back to the head of its outbox and is sent again, after a delay
  growing to ``retry_max_delay`` while errors continue;
- the broker connection drops: sending pauses; when it comes back every unacknowledged
  message is sent again.

Copies that JetStream already stored are dropped by its duplicate window (``Nats-Msg-Id``),
and counted from the ``"duplicate": true`` acks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from .metrics import Histogram
from .outbox import Entry, Outbox

if TYPE_CHECKING:
    from nats.aio.client import Client as NatsClient
    from nats.aio.msg import Msg

__all__ = ["Publisher"]

logger = logging.getLogger("ami_fast.bridge")

_TICK = 0.1  # seconds between ack-timeout checks


class _Lane:
    """Per-outbox pump state."""

    __slots__ = ("box", "errors_in_row", "latency", "publish_errors", "retries", "retry_at", "task", "wakeup")

    def __init__(self, box: Outbox) -> None:
        self.box = box
        self.wakeup = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.retry_at = 0.0
        self.errors_in_row = 0
        self.retries = 0  # go-back-N rounds (timeouts, error acks, broker reconnects)
        self.publish_errors = 0  # error acks and failed publish calls
        self.latency = Histogram()


class Publisher:
    """Pumps outboxes into JetStream over ``nc`` (a connected ``nats.aio.client.Client``)."""

    def __init__(self, nc: NatsClient, *, ack_timeout: float = 5.0, retry_max_delay: float = 5.0) -> None:
        self.nc = nc
        self.ack_timeout = ack_timeout
        self.retry_max_delay = retry_max_delay
        self.sent: dict[str, Entry] = {}  # ack subject -> entry, shared by every outbox
        self.inbox = nc.new_inbox()
        self._lanes: dict[Outbox, _Lane] = {}
        self._sub: Any = None
        self._ticker: asyncio.Task[None] | None = None
        self._connected = True
        self._closed = False
        self.broker_disconnects = 0

    def reply_prefix(self, server: str) -> str:
        return f"{self.inbox}.{server}."

    async def start(self) -> None:
        self._sub = await self.nc.subscribe(f"{self.inbox}.>", cb=self._on_ack)
        self._ticker = asyncio.get_running_loop().create_task(self._tick(), name="ami-fast bridge acks")

    def add(self, box: Outbox) -> None:
        """Start pumping ``box`` (its ``sent`` must be this publisher's ``sent``)."""
        if box.sent is not self.sent:
            raise ValueError("the outbox must share the publisher's sent map")
        lane = _Lane(box)
        self._lanes[box] = lane
        lane.task = asyncio.get_running_loop().create_task(
            self._pump(lane), name=f"ami-fast bridge {box.server}"
        )

    def lane(self, box: Outbox) -> _Lane:
        return self._lanes[box]

    def wake(self, box: Outbox) -> None:
        """Called after adding to ``box``: there is something to send."""
        wakeup = self._lanes[box].wakeup
        if not wakeup.is_set():
            wakeup.set()

    # -- broker connection state (callbacks from the nats client) ----------------------------

    def broker_down(self) -> None:
        if self._connected:
            self._connected = False
            self.broker_disconnects += 1
        # nats-py replays its unsent write buffer after a reconnect, *before* our go-back-N
        # resend: messages from it would be stored ahead of older unacknowledged ones. Drop it
        # (every message in it is unacknowledged, so it is resent in order anyway). The buffer
        # is private to nats-py: if it is not where we expect, order is just not guaranteed.
        pending = getattr(self.nc, "_pending", None)
        if isinstance(pending, list) and hasattr(self.nc, "_pending_data_size"):
            pending.clear()
            self.nc._pending_data_size = 0

    def broker_up(self) -> None:
        # Whatever was in flight when the link dropped may or may not be stored: send it again
        # (the duplicate window absorbs the copies).
        self._connected = True
        for lane in self._lanes.values():
            if lane.box.rewind():
                lane.retries += 1
            lane.retry_at = 0.0
            lane.wakeup.set()

    @property
    def connected(self) -> bool:
        return self._connected and self.nc.is_connected

    # -- pumping -----------------------------------------------------------------------------

    async def _pump(self, lane: _Lane) -> None:
        box = lane.box
        nc = self.nc
        publish = nc.publish
        wakeup = lane.wakeup
        loop = asyncio.get_running_loop()
        while True:
            await wakeup.wait()
            wakeup.clear()
            delay = lane.retry_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if not self.connected:
                continue  # broker_up() wakes us
            now = time.monotonic()
            while nc.is_connected:  # never into nats-py's reconnect buffer (see broker_down)
                entry = box.take(now)
                if entry is None:
                    break
                try:
                    await publish(entry.subject, entry.payload, reply=entry.reply, headers=entry.headers)
                except Exception as exc:  # disconnected between checks, buffer limit, closed...
                    lane.publish_errors += 1
                    box.rewind()
                    self._backoff(lane, f"publish failed: {exc!r}")
                    break

    def _backoff(self, lane: _Lane, why: str) -> None:
        lane.errors_in_row += 1
        lane.retries += 1
        delay = min(0.05 * (2 ** min(lane.errors_in_row - 1, 10)), self.retry_max_delay)
        lane.retry_at = asyncio.get_running_loop().time() + delay
        if lane.errors_in_row in (1, 10) or lane.errors_in_row % 100 == 0:
            logger.warning(
                "bridge %s: %s; resending %d unacknowledged message(s) in %.2f s (attempt %d)",
                lane.box.server,
                why,
                len(lane.box),
                delay,
                lane.errors_in_row,
            )
        lane.wakeup.set()

    async def _on_ack(self, msg: Msg) -> None:
        entry = self.sent.get(msg.subject)
        if entry is None:
            return  # an ack for a copy already acknowledged (or forgotten)
        box = entry.box
        lane = self._lanes.get(box)
        data = msg.data
        if not data or b'"error"' in data:
            if lane is None:
                return
            lane.publish_errors += 1
            box.rewind()
            status = msg.headers.get("Status") if msg.headers else None
            text = (
                "no stream listens on the subject (503)"
                if status == "503"
                else data[:200].decode("utf-8", "replace")
            )
            self._backoff(lane, f"JetStream refused a message: {text}")
            return
        if box.ack(entry, duplicate=b'"duplicate":true' in data) and lane is not None:
            lane.latency.observe(time.monotonic() - entry.received)
            lane.errors_in_row = 0
            if box.waiting and not lane.wakeup.is_set():
                lane.wakeup.set()

    async def _tick(self) -> None:
        """Ack timeouts: an in-flight message older than ``ack_timeout`` rewinds its outbox."""
        while True:
            await asyncio.sleep(_TICK)
            if not self.connected:
                continue
            now = time.monotonic()
            for lane in self._lanes.values():
                oldest = lane.box.oldest_sent_at()
                if oldest is not None and now - oldest > self.ack_timeout:
                    lane.box.rewind()
                    self._backoff(lane, f"no ack within {self.ack_timeout:g} s")

    # -- shutdown ----------------------------------------------------------------------------

    def pending(self) -> int:
        return sum(len(lane.box) for lane in self._lanes.values())

    async def drain(self, timeout: float) -> int:
        """Wait up to ``timeout`` s for every outbox to empty; returns what is still held."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.pending() and loop.time() < deadline:
            await asyncio.sleep(0.02)
        return self.pending()

    async def close(self) -> None:
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        if self._ticker is not None:
            tasks.append(self._ticker)
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
