"""Bridge: a fleet of Asterisk servers into NATS JetStream (the Python API of ``ami-fast bridge``).

::

    from ami_fast.bridge import Bridge, load_config

    async with Bridge(load_config("fleet.toml")) as bridge:
        await bridge.wait()          # until stop() or a signal (the CLI handles SIGINT/SIGTERM)

One NATS connection; per server a :class:`~.link.Link` (the AMI side), an
:class:`~.outbox.Outbox` (the bounded buffer) pumped by the :class:`~.publisher.Publisher`,
an optional :class:`~.lease.Lease` and an :class:`~.actions.ActionService`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from types import TracebackType
from typing import Any

from .actions import ActionService
from .config import BridgeConfig
from .lease import Lease, open_bucket
from .link import Link
from .metrics import Histogram, MetricsServer, Sample, render
from .outbox import Outbox
from .publisher import Publisher

__all__ = ["Bridge", "NatsUnavailableError"]

logger = logging.getLogger("ami_fast.bridge")


class NatsUnavailableError(ConnectionError):
    """The broker could not be reached at start (the bridge rides out later outages)."""


def _import_nats() -> Any:
    try:
        import nats
        import nats.aio.client
    except ImportError:
        raise ImportError("the bridge needs nats-py: pip install 'ami-fast[nats]'") from None
    return nats


class Bridge:
    """Runs a :class:`~.config.BridgeConfig`. ``start()``/``stop()`` or ``async with``."""

    def __init__(self, config: BridgeConfig, **nats_options: Any) -> None:
        if not config.servers:
            raise ValueError(f"{config.source}: no servers to bridge")
        self.config = config
        self.owner = config.bridge.id or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._nats_options = nats_options
        self.nc: Any = None
        self.js: Any = None
        self.publisher: Publisher | None = None
        self.links: dict[str, Link] = {}
        self.boxes: dict[str, Outbox] = {}
        self.services: dict[str, ActionService] = {}
        self.metrics_server: MetricsServer | None = None
        self._stopped = asyncio.Event()
        self._started = False
        self._rates: dict[str, float] = {}
        self._rate_task: asyncio.Task[None] | None = None
        self.lost_at_stop = 0

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> Bridge:
        nats = _import_nats()
        cfg = self.config
        opts = cfg.bridge
        # nats-py retries a first connection forever when reconnects are unlimited: bound it.
        nc = nats.aio.client.Client()
        try:
            await asyncio.wait_for(
                nc.connect(
                    cfg.nats.url,
                    name=f"ami-fast-bridge {self.owner}",
                    connect_timeout=cfg.nats.connect_timeout,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    disconnected_cb=self._nats_down,
                    reconnected_cb=self._nats_up,
                    error_cb=self._nats_error,
                    # Our subjects are built from checked server ids and sanitised event names.
                    skip_subject_validation=True,
                    **self._nats_options,
                ),
                cfg.nats.connect_timeout * 2,
            )
        except Exception as exc:
            with contextlib.suppress(Exception):
                await nc.close()
            last = nc.last_error if isinstance(exc, asyncio.TimeoutError) else exc
            text = str(last or "") or ("timed out" if last is None else type(last).__name__)
            raise NatsUnavailableError(f"cannot connect to NATS at {_redact(cfg.nats.url)}: {text}") from None
        self.nc = nc
        try:
            self.js = self.nc.jetstream()
            await self._ensure_stream()
            self.publisher = Publisher(
                self.nc, ack_timeout=opts.ack_timeout, retry_max_delay=opts.retry_max_delay
            )
            await self.publisher.start()
            kv = await open_bucket(self.js, opts.lease_bucket, opts.lease_ttl) if opts.lease else None
            for server in cfg.servers:
                box = Outbox(
                    server.id,
                    max_events=opts.buffer_events,
                    max_bytes=opts.buffer_bytes,
                    overflow=opts.overflow,
                    max_in_flight=opts.max_in_flight,
                    sent=self.publisher.sent,
                )
                self.publisher.add(box)
                self.boxes[server.id] = box
                lease = Lease(kv, server.id, self.owner, opts.lease_ttl) if kv is not None else None
                link = Link(
                    server,
                    opts,
                    box,
                    self._waker(box),
                    subject_prefix=cfg.nats.subject_prefix,
                    reply_prefix=self.publisher.reply_prefix(server.id),
                    lease=lease,
                    on_connected=self._link_connected,
                    on_disconnected=self._link_disconnected,
                )
                self.links[server.id] = link
                if opts.actions:
                    self.services[server.id] = ActionService(
                        self.nc,
                        f"{cfg.nats.subject_prefix}.actions.{server.id}",
                        link,
                        timeout=opts.action_timeout,
                        max_concurrent=opts.max_concurrent_actions,
                    )
            if opts.metrics:
                host, _, port = opts.metrics.rpartition(":")
                self.metrics_server = MetricsServer(host.strip("[]"), int(port), self.metrics_text)
                await self.metrics_server.start()
            for link in self.links.values():
                link.start()
            self._rate_task = asyncio.get_running_loop().create_task(self._measure_rates())
        except BaseException:
            await self._close_nats()
            raise
        self._started = True
        logger.info(
            "bridge %s: %d server(s) -> %s stream %s",
            self.owner,
            len(self.links),
            _redact(cfg.nats.url),
            cfg.nats.stream,
        )
        return self

    async def stop(self) -> None:
        """Disconnect every server (``_ConnectionLost`` markers), publish what is buffered (up
        to ``drain_timeout``), release the leases, close the broker connection."""
        if not self._started:
            return
        self._started = False
        for service in self.services.values():
            await service.stop()
        await asyncio.gather(*(link.stop() for link in self.links.values()))
        if self.publisher is not None:
            left = await self.publisher.drain(self.config.bridge.drain_timeout)
            if left:
                lost = sum(box.forget_all() for box in self.boxes.values())
                self.lost_at_stop += lost
                logger.error("bridge %s: %d buffered message(s) not published at stop", self.owner, lost)
            await self.publisher.close()
        if self._rate_task is not None:
            self._rate_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._rate_task
        if self.metrics_server is not None:
            await self.metrics_server.close()
        await self._close_nats()
        self._stopped.set()

    async def wait(self) -> None:
        """Until :meth:`stop` finished."""
        await self._stopped.wait()

    async def __aenter__(self) -> Bridge:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _close_nats(self) -> None:
        nc, self.nc = self.nc, None
        if nc is not None and not nc.is_closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(nc.close(), 5.0)

    async def _ensure_stream(self) -> None:
        from nats.js.api import StorageType, StreamConfig
        from nats.js.errors import NotFoundError

        n = self.config.nats
        subject = f"{n.subject_prefix}.events.>"
        try:
            info = await self.js.stream_info(n.stream)
        except NotFoundError:
            if not n.create_stream:
                raise ValueError(
                    f"{self.config.source}: nats.stream: JetStream has no stream {n.stream!r} "
                    "(and create_stream = false)"
                ) from None
            await self.js.add_stream(
                StreamConfig(
                    name=n.stream,
                    subjects=[subject],
                    storage=StorageType.FILE if n.storage == "file" else StorageType.MEMORY,
                    duplicate_window=n.duplicate_window,
                    max_age=n.max_age or None,
                    max_bytes=n.max_bytes,
                    num_replicas=n.replicas,
                )
            )
            return
        if subject not in (info.config.subjects or []):
            raise ValueError(
                f"{self.config.source}: nats.stream: stream {n.stream!r} does not take {subject!r} "
                f"(its subjects: {', '.join(info.config.subjects or [])})"
            )

    # -- callbacks --------------------------------------------------------------------------

    def _waker(self, box: Outbox) -> Any:
        publisher = self.publisher
        assert publisher is not None
        wakeup = publisher.lane(box).wakeup

        def wake() -> None:
            if not wakeup.is_set():
                wakeup.set()

        return wake

    def _link_connected(self, link: Link) -> None:
        service = self.services.get(link.server.id)
        if service is not None:
            task = asyncio.get_running_loop().create_task(service.set_active(True))
            task.add_done_callback(_log_failure)

    def _link_disconnected(self, link: Link) -> None:
        # Requests now get "no responders" at once instead of waiting for a dead link.
        service = self.services.get(link.server.id)
        if service is not None:
            task = asyncio.get_running_loop().create_task(service.set_active(False))
            task.add_done_callback(_log_failure)

    async def _nats_down(self) -> None:
        if not self._started:
            return  # our own close()
        logger.warning("bridge %s: broker connection lost; buffering", self.owner)
        if self.publisher is not None:
            self.publisher.broker_down()

    async def _nats_up(self) -> None:
        logger.warning("bridge %s: broker connection back; resending unacknowledged messages", self.owner)
        if self.publisher is not None:
            self.publisher.broker_up()

    async def _nats_error(self, exc: Exception) -> None:
        logger.debug("bridge %s: nats: %r", self.owner, exc)

    # -- metrics ----------------------------------------------------------------------------

    async def _measure_rates(self) -> None:
        last = {sid: (link.events_received, time.monotonic()) for sid, link in self.links.items()}
        while True:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            for sid, link in self.links.items():
                count, t = last[sid]
                self._rates[sid] = (link.events_received - count) / max(now - t, 1e-9)
                last[sid] = (link.events_received, now)

    def stats(self) -> dict[str, dict[str, Any]]:
        """Per-server counters (the same numbers as the metrics endpoint)."""
        out: dict[str, dict[str, Any]] = {}
        publisher = self.publisher
        for sid, link in self.links.items():
            box = self.boxes[sid]
            lane = publisher.lane(box) if publisher is not None else None
            lease = link.lease
            service = self.services.get(sid)
            out[sid] = {
                "state": link.state,
                "connected": link.connected,
                "epoch": link.epoch,
                "seq": link.seq,
                "connects": link.connects,
                "reconnects": max(link.connects - 1, 0),
                "connect_failures": link.connect_failures,
                "events_received": link.events_received,
                "events_filtered": link.events_filtered,
                "events_per_second": self._rates.get(sid, 0.0),
                "markers": link.markers,
                "published": box.acked,
                "duplicates": box.duplicates,
                "dropped_buffer": box.dropped,
                "dropped_dispatch": link.dropped_by_client,
                "buffer_events": len(box),
                "buffer_bytes": box.bytes,
                "buffer_high_water": box.high_water,
                "in_flight": box.unacked_in_flight,
                "resent": box.resent,
                "retries": lane.retries if lane else 0,
                "publish_errors": lane.publish_errors if lane else 0,
                "lease_held": bool(lease and lease.held),
                "lease_lost": lease.lost if lease else 0,
                "actions": service.requests if service else 0,
                "action_failures": service.failures if service else 0,
            }
        return out

    def metrics_text(self) -> str:
        stats = self.stats()
        series: list[tuple[str, str, str, str]] = [
            ("events_received_total", "counter", "events_received", "AMI events read from the server"),
            ("events_filtered_total", "counter", "events_filtered", "events not published (include/exclude)"),
            ("events_published_total", "counter", "published", "messages acknowledged by JetStream"),
            ("events_per_second", "gauge", "events_per_second", "events read per second (last second)"),
            ("duplicates_total", "counter", "duplicates", "acks for copies JetStream already had"),
            ("dropped_total", "counter", "dropped_buffer", "events dropped: bridge buffer full"),
            (
                "dispatch_dropped_total",
                "counter",
                "dropped_dispatch",
                "events dropped: AMI client queue full",
            ),
            ("buffer_events", "gauge", "buffer_events", "messages held (waiting + in flight)"),
            ("buffer_bytes", "gauge", "buffer_bytes", "payload bytes held"),
            ("in_flight", "gauge", "in_flight", "messages sent and not yet acknowledged"),
            ("resent_total", "counter", "resent", "messages sent again (retries)"),
            ("publish_errors_total", "counter", "publish_errors", "error acks and failed publishes"),
            ("connects_total", "counter", "connects", "successful AMI logins"),
            ("reconnects_total", "counter", "reconnects", "AMI reconnections"),
            ("connect_failures_total", "counter", "connect_failures", "failed AMI connection attempts"),
            ("connected", "gauge", "connected", "1 while logged in to the server"),
            ("epoch", "gauge", "epoch", "current connection epoch"),
            ("lease_held", "gauge", "lease_held", "1 while this bridge holds the server's lease"),
            ("actions_total", "counter", "actions", "actions received through the broker"),
            ("action_failures_total", "counter", "action_failures", "actions answered with an error"),
        ]
        samples: list[Sample] = [
            (
                f"ami_bridge_{name}",
                kind,
                help_text,
                [({"server": sid}, float(s[key])) for sid, s in stats.items()],
            )
            for name, kind, key, help_text in series
        ]
        publisher = self.publisher
        samples.append(
            (
                "ami_bridge_broker_connected",
                "gauge",
                "1 while connected to NATS",
                [({}, float(bool(publisher and publisher.connected)))],
            )
        )
        samples.append(
            (
                "ami_bridge_broker_disconnects_total",
                "counter",
                "NATS connection losses",
                [({}, float(publisher.broker_disconnects if publisher else 0))],
            )
        )
        hists: list[tuple[dict[str, str], Histogram]] = []
        if publisher is not None:
            hists = [({"server": sid}, publisher.lane(box).latency) for sid, box in self.boxes.items()]
        return render(
            samples,
            [
                (
                    "ami_bridge_publish_latency_seconds",
                    "time from reading an event to its JetStream ack",
                    hists,
                )
            ],
        )


def _redact(url: str) -> str:
    """A NATS URL without user info (tokens, passwords)."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = rest.rpartition("@")[2]
    return f"{scheme}{sep}{rest}"


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("bridge: %r", task.exception())
