"""Client: the asyncio adapter around the sans-IO :class:`~ami_fast.connection.AmiConnection`.

``Client`` is an :class:`asyncio.Protocol`. Each received chunk goes through one
``Parser.feed`` call; ``data_received`` then only resolves request futures and appends events
to a bounded dispatch queue. **User code never runs inside ``data_received``**: one consumer
task drains the queue in arrival order, calling sync callbacks directly and awaiting async
ones in turn (so order is kept), and feeding every ``events()`` iterator.

Overflow policy of the dispatch queue (``dispatch_queue`` events, default 65,536):

- ``overflow="drop_oldest"`` (default): the oldest queued event is dropped, counted in
  ``client.stats.events_dropped``, and a rate-limited warning is logged. Reading never stalls,
  so Asterisk never disconnects us for being slow (its ``writetimeout`` is ~100 ms).
- ``overflow="disconnect"``: the client closes with :class:`~ami_fast.errors.SlowConsumerError`
  (pending requests are rejected with it).

Events that arrive before anyone subscribes (e.g. in the same chunk as the Login response)
stay queued, within the bound, until the first subscriber (``on("event")``, ``on_event`` or
``events()``) attaches.

Callbacks may be plain functions or coroutine functions. An exception raised by one is logged
and passed to the ``error`` listeners; it never closes the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import math
import socket
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal

from ._stream import BoundedStream
from .connection import (
    AmiConnection,
    ErrorReport,
    FollowUp,
    Goodbye,
    Item,
    ListStarted,
    RequestDone,
    RequestFailed,
    Stats,
)
from .errors import (
    ActionTimeoutError,
    AmiError,
    ConnectionLostError,
    SlowConsumerError,
    UsageError,
)
from .messages import Action

if TYPE_CHECKING:
    from types import TracebackType

    from .collection import Collection
    from .messages import Event, Response

__all__ = ["Client", "EventStream", "Overflow"]

logger = logging.getLogger("ami_fast.client")

Overflow = Literal["drop_oldest", "disconnect"]
Callback = Callable[..., Any]


class _Default:
    def __repr__(self) -> str:
        return "<default>"


_DEFAULT: Any = _Default()
_CLOSE = object()  # control-queue sentinel: run the close listeners, then stop
_ERRORS_MAX = 1024
# The dispatcher drains the whole queue per wakeup but lets the loop read the socket at least
# this often (seconds): Asterisk drops a reader that stalls for its writetimeout (100 ms by
# default) once the socket buffers are full. Checked every _CLOCK_EVERY events.
_YIELD_AFTER = 0.005
_CLOCK_EVERY = 32
_LAG_WARNING = 0.5  # seconds without dispatch progress while events wait (asterisk-java's pump)


class _RateLimit:
    """At most ``burst`` log lines per ``period`` seconds; counts what it suppressed."""

    __slots__ = ("_count", "_start", "burst", "period", "suppressed")

    def __init__(self, burst: int = 5, period: float = 10.0) -> None:
        self.burst = burst
        self.period = period
        self.suppressed = 0
        self._count = 0
        self._start = -1e18

    def allow(self, now: float) -> bool:
        if now - self._start >= self.period:
            self._start = now
            self._count = 0
        self._count += 1
        if self._count <= self.burst:
            return True
        self.suppressed += 1
        return False


class _Request:
    __slots__ = ("future", "list_timeout", "name", "timer")

    def __init__(self, future: asyncio.Future[Any], name: str, list_timeout: float | None) -> None:
        self.future = future
        self.name = name
        self.list_timeout = list_timeout
        self.timer: asyncio.TimerHandle | None = None

    def settle(self, result: Any = None, error: BaseException | None = None) -> None:
        """Stop the timer and resolve the future (unless already done), failed when ``error``."""
        if self.timer is not None:
            self.timer.cancel()
        if self.future.done():
            return
        if error is not None:
            self.future.set_exception(error)
        else:
            self.future.set_result(result)


class EventStream(BoundedStream["Event"]):
    """An async iterator of events with its own bounded queue (see :meth:`Client.events`).

    The iteration ends when the client closes (after the queued events), or raises
    :class:`~ami_fast.errors.SlowConsumerError` when this stream's ``disconnect`` policy fired.
    ``dropped`` counts the events this stream lost to its ``drop_oldest`` policy.
    """

    def __init__(
        self,
        client: Client,
        names: frozenset[str] | None,
        maxsize: int,
        overflow: Overflow,
    ) -> None:
        super().__init__(names, maxsize)
        self._client = client
        self.overflow = overflow

    def _push(self, event: Event) -> None:
        if self._ended:
            return
        names = self._names
        if names is not None and (event.name or "").lower() not in names:
            return
        if len(self._queue) >= self.maxsize:
            if self.overflow == "disconnect":
                self._fell_behind()
                return
            self._queue.popleft()
            self.dropped += 1
            self._client._note_stream_drop()
        self._queue.append(event)
        self._wake()

    def _push_many(self, events: list[Event]) -> None:
        """:meth:`_push` for a batch (no user code runs here, so a whole backlog at once)."""
        if self._ended:
            return
        names = self._names
        if names is not None:
            events = [e for e in events if (e.name or "").lower() in names]
        if not events:
            return
        queue = self._queue
        room = self.maxsize - len(queue)
        if len(events) > room:
            if self.overflow == "disconnect":
                queue.extend(events[: max(room, 0)])
                self._fell_behind()
                return
            excess = len(events) - room
            if len(events) >= self.maxsize:
                queue.clear()
                events = events[-self.maxsize :]
            else:
                for _ in range(excess):
                    queue.popleft()
            self.dropped += excess
            self._client._note_stream_drop(excess)
        queue.extend(events)
        self._wake()

    def _fell_behind(self) -> None:
        # The ``disconnect`` policy: this stream and the whole client end.
        err = SlowConsumerError(f"an events() iterator fell {self.maxsize} events behind")
        self._end(err)
        self._client._shutdown(err, discard_events=True)

    def _detach(self) -> None:
        self._client._remove_stream(self)


class Client(asyncio.Protocol):
    """An AMI client connection. Usually made by :class:`~ami_fast.factory.Factory`.

    Args:
        timeout: default seconds to wait for a response (``None``: no limit).
        list_timeout: seconds an event list may take once its response arrived.
        dispatch_queue: bound of the event dispatch queue (see the module docstring).
        overflow: ``"drop_oldest"`` or ``"disconnect"`` (see the module docstring).
        max_pending: requests (and open lists) in flight at once; more raises ``UsageError``.
        list_max_items: entries per list; more fails that request (``MessageTooLargeError``).
        list_max_bytes: raw bytes of one list's entries; more fails it the same way.
        ping_interval: after this many idle seconds a ``Ping`` is sent (``None``: never).
        ping_deadline: seconds that ``Ping`` may take before the link is declared dead.
        parser: a parser instance (default: a new ``ami_fast.Parser``).
    """

    def __init__(
        self,
        *,
        timeout: float | None = 10.0,
        list_timeout: float | None = 30.0,
        dispatch_queue: int = 65_536,
        overflow: Overflow = "drop_oldest",
        max_pending: int = 10_000,
        list_max_items: int = 100_000,
        linger_max: int = 10_000,
        list_max_bytes: int = 64 << 20,
        ping_interval: float | None = 20.0,
        ping_deadline: float = 5.0,
        logoff_timeout: float = 2.0,
        parser: Any = None,
    ) -> None:
        if overflow not in ("drop_oldest", "disconnect"):
            raise ValueError("overflow must be 'drop_oldest' or 'disconnect'")
        if dispatch_queue < 1:
            raise ValueError("dispatch_queue must be at least 1")
        self.timeout = timeout
        self.list_timeout = list_timeout
        self.dispatch_queue = dispatch_queue
        self.overflow: Overflow = overflow
        self.ping_interval = ping_interval
        self.ping_deadline = ping_deadline
        self.logoff_timeout = logoff_timeout
        self._conn = AmiConnection(
            parser=parser,
            max_pending=max_pending,
            list_max_items=list_max_items,
            linger_max=linger_max,
            list_max_bytes=list_max_bytes,
        )
        self.stats: Stats = self._conn.stats
        self._loop: asyncio.AbstractEventLoop | None = None
        self._transport: asyncio.Transport | None = None
        self._state = "new"  # new -> open -> ending -> closed
        self._close_reason: BaseException | None = None
        self._transport_lost = False
        self._requests: dict[str, _Request] = {}
        self._follow_ups: dict[str, asyncio.Future[Any]] = {}
        # maxlen: extending a full queue drops the oldest events in C (counted per chunk).
        self._events: deque[Event] = deque(maxlen=dispatch_queue)
        self._control: deque[Any] = deque()
        self._wakeup = asyncio.Event()
        self._closed_event = asyncio.Event()
        self._consumer: asyncio.Task[None] | None = None
        self._listeners: dict[str, tuple[Callback, ...]] = {"event": (), "error": (), "close": ()}
        self._by_name: dict[str, tuple[Callback, ...]] = {}
        self._streams: tuple[EventStream, ...] = ()
        self._subscribed = False  # any event listener or stream (cached: checked per event)
        self._sub_version = 0  # bumped on every (un)subscription: the dispatcher re-reads them
        self._write_paused = False
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._last_rx = 0.0
        self._ping_timer: asyncio.TimerHandle | None = None
        self._ping_task: asyncio.Task[None] | None = None
        self._ending: asyncio.Future[None] | None = None
        self._drop_log = _RateLimit()
        self._error_log = _RateLimit()
        self._lag_log = _RateLimit(burst=1, period=10.0)
        self._last_progress = 0.0  # loop time the dispatcher last started a batch or idled
        self.peer: str = "?"
        self._item_handlers: dict[type, Callable[[Any], None]] = {
            RequestDone: self._on_done,
            RequestFailed: self._on_failed,
            ListStarted: self._on_list_started,
            FollowUp: self._on_follow_up,
            ErrorReport: self._on_error_report,
            Goodbye: self._on_goodbye,
        }

    # -- public state -------------------------------------------------------------------

    @property
    def version(self) -> str | None:
        """The AMI version from the server's banner (``"11.0.0"`` on Asterisk 22)."""
        return self._conn.version

    @property
    def closed(self) -> bool:
        return self._state == "closed"

    @property
    def is_busy(self) -> bool:
        """True while requests or event lists are in flight (a keepalive Ping counts too)."""
        return self._conn.pending_count > 0

    @property
    def close_reason(self) -> BaseException | None:
        """Why the connection closed: ``None`` for ``close()``/``end()``/Goodbye, else the error."""
        return self._close_reason

    @property
    def transport(self) -> asyncio.Transport | None:
        return self._transport

    def __repr__(self) -> str:
        return f"<Client {self.peer} {self._state} pending={self._conn.pending_count}>"

    # -- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._loop = asyncio.get_running_loop()
        self._transport = transport
        self._state = "open"
        self._last_rx = self._last_progress = self._loop.time()
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            host = str(peer[0])
            self.peer = f"[{host}]:{peer[1]}" if ":" in host else f"{host}:{peer[1]}"
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError, AttributeError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._consumer = self._loop.create_task(self._consume(), name=f"ami-fast dispatch {self.peer}")
        if self.ping_interval:
            self._ping_timer = self._loop.call_later(self.ping_interval, self._keepalive_tick)

    def data_received(self, data: bytes) -> None:
        if self._state == "closed":
            return
        loop = self._loop
        assert loop is not None
        self._last_rx = loop.time()
        events, items = self._conn.receive_batch(data)
        if items:
            handlers = self._item_handlers
            for item in items:
                handler = handlers.get(item.__class__)
                if handler is not None:
                    handler(item)
                    if self._state == "closed":
                        return
        if events:
            self._enqueue(events)

    def _enqueue(self, events: list[Event]) -> None:
        """Queue one chunk's events in bulk, applying the overflow policy to the chunk."""
        queue = self._events
        maxsize = self.dispatch_queue
        before = len(queue)
        if before + len(events) > maxsize:
            if self.overflow == "disconnect":
                self._shutdown(
                    SlowConsumerError(f"event dispatch queue full ({maxsize} events)"),
                    discard_events=True,
                )
                return
            queue.extend(events)  # the deque's maxlen drops the oldest
            self.stats.events_dropped += before + len(events) - len(queue)
            if self._drop_log.allow(self._last_rx):
                logger.warning(
                    "ami-fast %s: event dispatch queue full (%d); dropping the oldest events "
                    "(%d dropped so far)%s",
                    self.peer,
                    maxsize,
                    self.stats.events_dropped,
                    "" if self._subscribed else "; nobody subscribed to events",
                )
        else:
            queue.extend(events)
        if len(queue) > self.stats.dispatch_queue_high_water:
            self.stats.dispatch_queue_high_water = len(queue)
        self._wakeup.set()
        if self._subscribed:
            lag = self._last_rx - self._last_progress
            if lag > _LAG_WARNING and self._lag_log.allow(self._last_rx):
                logger.warning(
                    "ami-fast %s: event handlers are %.1f s behind (%d events queued, bound %d)",
                    self.peer,
                    lag,
                    len(queue),
                    maxsize,
                )

    def eof_received(self) -> bool | None:
        return None  # let the transport close itself; connection_lost does the rest

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport_lost = True
        for item in self._conn.receive_data(b""):  # a message cut off by the close
            self._handle_item(item)
        if self._state != "closed":
            if self._conn.goodbye:
                err: BaseException = ConnectionLostError("the server closed the connection after Goodbye")
                self._shutdown(err, discard_events=False, reason=None)
            else:
                text = f"connection to {self.peer} lost"
                err = ConnectionLostError(f"{text}: {exc}" if exc else f"{text} (closed by the server)")
                if exc is not None:
                    err.__cause__ = exc
                self._shutdown(err, discard_events=False, reason=err)
        for waiter in self._drain_waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._maybe_closed()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        waiters, self._drain_waiters = self._drain_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # -- routed items (all run inside data_received: no user code here) ---------------

    def _handle_item(self, item: Item) -> None:
        handler = self._item_handlers.get(item.__class__)
        if handler is not None:
            handler(item)

    def _on_done(self, item: RequestDone) -> None:
        req = self._requests.pop(item.action_id, None)
        if req is not None:
            req.settle(item.result)

    def _on_failed(self, item: RequestFailed) -> None:
        req = self._requests.pop(item.action_id, None)
        if req is not None:
            req.settle(error=item.error)

    def _on_list_started(self, item: ListStarted) -> None:
        req = self._requests.get(item.action_id)
        if req is None:
            return
        if req.timer is not None:
            req.timer.cancel()
            req.timer = None
        if req.list_timeout is not None and self._loop is not None:
            req.timer = self._loop.call_later(req.list_timeout, self._on_timeout, item.action_id, True)

    def _on_follow_up(self, item: FollowUp) -> None:
        fut = self._follow_ups.pop(item.action_id, None)
        if fut is not None and not fut.done():
            fut.set_result(item.event)

    def _on_error_report(self, item: ErrorReport) -> None:
        if len(self._control) >= _ERRORS_MAX:
            self.stats.errors_dropped += 1
            return
        self._control.append(item.error)
        self._wakeup.set()

    def _on_goodbye(self, item: Goodbye) -> None:
        if self._state == "open":
            self._state = "ending"

    def _on_timeout(self, action_id: str, in_list: bool = False) -> None:
        req = self._requests.pop(action_id, None)
        if req is None:
            return
        coll = self._conn.cancel(action_id)
        self.stats.requests_timed_out += 1
        if in_list:
            got = f" ({len(coll)} entries received)" if coll is not None else ""
            text = f"event list of {req.name} (ActionID {action_id}) did not finish in time{got}"
        else:
            text = f"no response to {req.name} (ActionID {action_id}) in time"
        req.settle(error=ActionTimeoutError(text))

    # -- requests -----------------------------------------------------------------------

    def create_action(self, name: str, fields: Any = None) -> Action:
        """Build an action with a fresh ActionID (``<random prefix>-<n>``) unless ``fields``
        carries its own ``ActionID``. Invalid names or fields raise ``InvalidActionError``."""
        action = Action(name, fields)
        if action.action_id is None:
            action = action.with_action_id(self._conn.next_action_id())
        return action

    async def request(
        self,
        action: Action,
        *,
        timeout: float | None = _DEFAULT,
        list_timeout: float | None = _DEFAULT,
        end_event: str | None = None,
    ) -> Response | Collection:
        """Send ``action`` and wait for its result: its Response, or a Collection when the
        response opens an event list (``EventList: start``; or, for list actions on old servers,
        the end event ``end_event`` / the built-in table).

        Raises:
            ActionError: ``Response: Error`` (``PermissionDeniedError``, ``AuthenticationError``
                for Login); ``.response`` holds the reply.
            ActionTimeoutError: no response within ``timeout``, or the list did not end within
                ``list_timeout``; the ActionID is forgotten (a late reply is counted and dropped).
            ConnectionLostError: the connection closed first.
            UsageError: the client is closing or closed, or the ActionID is already pending.
            InvalidActionError: the action cannot be encoded (nothing was written).
        """
        self._check_open()
        return await self._send(action, timeout, list_timeout, end_event)

    async def _send(
        self, action: Action, timeout: float | None, list_timeout: float | None, end_event: str | None
    ) -> Response | Collection:
        if self._write_paused:
            await self._wait_writable()
            if self._state == "closed":
                raise UsageError("the client is closed")
        loop = self._loop
        transport = self._transport
        assert loop is not None and transport is not None
        action_id, data = self._conn.send_action(action, end_event=end_event)
        fut: asyncio.Future[Any] = loop.create_future()
        req = _Request(fut, action.name, self.list_timeout if list_timeout is _DEFAULT else list_timeout)
        timeout = self.timeout if timeout is _DEFAULT else timeout
        if timeout is not None:
            req.timer = loop.call_later(timeout, self._on_timeout, action_id)
        self._requests[action_id] = req
        transport.write(data)
        try:
            return await fut  # type: ignore[no-any-return]
        finally:
            # Still registered means the caller was cancelled: forget the ActionID.
            if self._requests.get(action_id) is req:
                del self._requests[action_id]
                if req.timer is not None:
                    req.timer.cancel()
                self._conn.cancel(action_id)

    def follow_up(
        self,
        action_id: str,
        event_names: str | Iterable[str] | None = "OriginateResponse",
        *,
        timeout: float | None = 60.0,
    ) -> asyncio.Future[Event]:
        """Subscribe to the next event carrying ``action_id`` (and one of ``event_names``;
        ``None``: any name), e.g. the ``OriginateResponse`` of an async Originate. Register it
        **before** sending the action. The event goes to the returned future instead of the
        event stream; it fails with ``ActionTimeoutError`` after ``timeout`` and with
        ``ConnectionLostError`` on close. Cancel the future to unsubscribe."""
        self._check_open()
        loop = self._loop
        assert loop is not None
        if isinstance(event_names, str):
            names: frozenset[str] | None = frozenset({event_names.lower()})
        elif event_names is None:
            names = None
        else:
            names = frozenset(n.lower() for n in event_names)
        old = self._follow_ups.get(action_id)
        if old is not None and not old.done():
            raise UsageError(f"a follow-up for ActionID {action_id!r} is already registered")
        self._conn.add_follow_up(action_id, names)
        fut: asyncio.Future[Event] = loop.create_future()
        self._follow_ups[action_id] = fut
        timer = (
            loop.call_later(timeout, self._follow_up_timeout, action_id, fut) if timeout is not None else None
        )

        def _done(f: asyncio.Future[Event]) -> None:
            if timer is not None:
                timer.cancel()
            if self._follow_ups.get(action_id) is f:
                del self._follow_ups[action_id]
                self._conn.remove_follow_up(action_id)
            if not f.cancelled():
                f.exception()  # mark retrieved: an abandoned follow-up must not warn at exit

        fut.add_done_callback(_done)
        return fut

    def _follow_up_timeout(self, action_id: str, fut: asyncio.Future[Event]) -> None:
        if not fut.done():
            fut.set_exception(ActionTimeoutError(f"no follow-up event for ActionID {action_id} in time"))

    def _check_open(self) -> None:
        if self._state == "open":
            return
        if self._state == "new":
            raise UsageError("the client is not connected")
        raise UsageError("the client is closing" if self._state == "ending" else "the client is closed")

    async def _wait_writable(self) -> None:
        assert self._loop is not None
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._drain_waiters.append(waiter)
        await waiter

    # -- listeners ----------------------------------------------------------------------

    def on(self, name: str, callback: Callback) -> None:
        """Add a listener: ``"event"`` (called with each Event), ``"error"`` (with the
        exception: protocol errors, unexpected responses, list-count mismatches, callback
        failures) or ``"close"`` (no arguments; see ``close_reason``)."""
        if name not in self._listeners:
            raise ValueError(f"unknown listener type {name!r} (use 'event', 'error' or 'close')")
        self._listeners[name] = (*self._listeners[name], callback)
        self._update_subscribed()

    def off(self, name: str, callback: Callback) -> None:
        """Remove a listener added with :meth:`on` (no error if it is not there)."""
        if name not in self._listeners:
            raise ValueError(f"unknown listener type {name!r} (use 'event', 'error' or 'close')")
        current = list(self._listeners[name])
        if callback in current:
            current.remove(callback)
            self._listeners[name] = tuple(current)
            self._update_subscribed()

    def on_event(self, event_name: str | None, callback: Callback) -> Callable[[], None]:
        """Call ``callback(event)`` for events named ``event_name`` (ASCII case-insensitive;
        ``None``: every event, like ``on("event", ...)``). Returns a function that unsubscribes."""
        if event_name is None:
            self.on("event", callback)
            return lambda: self.off("event", callback)
        key = event_name.lower()
        self._by_name[key] = (*self._by_name.get(key, ()), callback)
        self._update_subscribed()
        return lambda: self.off_event(event_name, callback)

    def off_event(self, event_name: str | None, callback: Callback) -> None:
        if event_name is None:
            self.off("event", callback)
            return
        key = event_name.lower()
        current = list(self._by_name.get(key, ()))
        if callback in current:
            current.remove(callback)
            if current:
                self._by_name[key] = tuple(current)
            else:
                del self._by_name[key]
            self._update_subscribed()

    def events(self, *names: str, maxsize: int = 65_536, overflow: Overflow | None = None) -> EventStream:
        """An async iterator over events (only those named in ``names`` when given), with its
        own bounded queue of ``maxsize`` events. It is registered at once, so events arriving
        before the first ``__anext__`` are kept. ``overflow`` defaults to the client's policy:
        ``drop_oldest`` counts losses in ``stream.dropped`` and
        ``client.stats.stream_events_dropped``; ``disconnect`` closes the client with
        ``SlowConsumerError``. Use ``async with client.events() as stream:`` or
        ``stream.close()`` to unsubscribe."""
        stream = EventStream(
            self,
            frozenset(n.lower() for n in names) if names else None,
            maxsize,
            overflow if overflow is not None else self.overflow,
        )
        if self._state == "closed":
            stream._end(None)
            return stream
        self._streams = (*self._streams, stream)
        self._update_subscribed()
        return stream

    def _remove_stream(self, stream: EventStream) -> None:
        self._streams = tuple(s for s in self._streams if s is not stream)
        self._update_subscribed()

    def _note_stream_drop(self, count: int = 1) -> None:
        self.stats.stream_events_dropped += count
        if self._loop is not None and self._drop_log.allow(self._loop.time()):
            logger.warning(
                "ami-fast %s: an events() iterator is full; dropping its oldest event (%d dropped so far)",
                self.peer,
                self.stats.stream_events_dropped,
            )

    def _update_subscribed(self) -> None:
        was_subscribed = self._subscribed
        self._subscribed = bool(self._listeners["event"] or self._by_name or self._streams)
        self._sub_version += 1
        if self._subscribed:
            if not was_subscribed and self._loop is not None:
                # Events queued while nobody listened are not handler lag: start the clock now.
                self._last_progress = self._loop.time()
            self._wakeup.set()

    # -- dispatch task ------------------------------------------------------------------

    async def _consume(self) -> None:
        events = self._events
        control = self._control
        wakeup = self._wakeup
        while True:
            if control:
                item = control.popleft()
                if item is _CLOSE:
                    await self._finish_close()
                    return
                await self._emit_error(item)
                continue
            if not (events and self._subscribed):
                wakeup.clear()
                await wakeup.wait()
                self._last_progress = self._last_rx
                continue
            assert self._loop is not None
            self._last_progress = self._loop.time()
            await self._dispatch(time.monotonic() + _YIELD_AFTER)
            if events:
                await asyncio.sleep(0)  # let data_received run while a backlog drains

    async def _dispatch(self, until: float = math.inf) -> None:
        """Deliver queued events in order until the queue is empty, a control item waits, or
        ``time.monotonic()`` passes ``until``. Sync callbacks are called inline (no coroutine
        per call: this is the hot path); awaitables they return are awaited. The subscribers
        are read once per run and again whenever one is added or removed."""
        events = self._events
        control = self._control
        popleft = events.popleft
        isawaitable = inspect.isawaitable
        monotonic = time.monotonic
        clock_mask = _CLOCK_EVERY - 1  # a power of two
        done = 0
        try:
            while events and not control and self._subscribed:
                version = self._sub_version
                streams = self._streams
                listeners = self._listeners["event"]
                by_name = self._by_name
                if not listeners and not by_name:
                    # Only iterators: no user code runs here, so hand over the whole backlog.
                    batch = list(events)
                    events.clear()
                    done += len(batch)
                    for stream in streams:
                        stream._push_many(batch)
                    continue
                if len(listeners) == 1 and not streams and not by_name:
                    # One listener: the commonest case, kept tight. A sync callback can only
                    # change the subscriptions; new control items need an await.
                    cb = listeners[0]
                    while events:
                        event = popleft()
                        done += 1
                        try:
                            result = cb(event)
                            if result is not None and isawaitable(result):
                                await result
                                if control:
                                    break
                        except Exception as exc:
                            await self._callback_failed(cb, exc)
                            if control:
                                break
                        if self._sub_version != version:
                            break
                        if not done & clock_mask and monotonic() > until:
                            return
                    continue
                while events and not control and self._sub_version == version:
                    event = popleft()
                    done += 1
                    for stream in streams:
                        stream._push(event)
                    callbacks = listeners
                    if by_name:
                        named = by_name.get((event.name or "").lower())
                        if named:
                            callbacks = listeners + named  # "event" listeners first, then by name
                    for cb in callbacks:
                        try:
                            result = cb(event)
                            if result is not None and isawaitable(result):
                                await result
                        except Exception as exc:
                            await self._callback_failed(cb, exc)
                    if not done & clock_mask and monotonic() > until:
                        return
        finally:
            self.stats.events_dispatched += done

    async def _callback_failed(self, cb: Callback, exc: Exception) -> None:
        self.stats.callback_errors += 1
        self._log_error("event callback %r raised", cb, exc=exc)
        await self._emit_error(exc, log=False)

    async def _emit_error(self, error: BaseException, *, log: bool = True) -> None:
        listeners = self._listeners["error"]
        if not listeners:
            if log:
                self._log_error("%s", error, exc=None)
            return
        for cb in listeners:
            try:
                result = cb(error)
                if result is not None and inspect.isawaitable(result):
                    await result
            except Exception as exc:
                self._log_error("error listener %r raised", cb, exc=exc)

    def _log_error(self, fmt: str, *args: Any, exc: BaseException | None) -> None:
        now = self._loop.time() if self._loop is not None else 0.0
        if self._error_log.allow(now):
            logger.error("ami-fast %s: " + fmt, self.peer, *args, exc_info=exc)

    async def _finish_close(self) -> None:
        # Events received before a server-side close are still delivered (close() discarded
        # them already); then every stream ends and the close listeners run, once.
        await self._dispatch()
        if self._events:
            self.stats.events_discarded_at_close += len(self._events)
            self._events.clear()
        for stream in self._streams:
            stream._end(None)
        self._streams = ()
        self._update_subscribed()
        for cb in self._listeners["close"]:
            try:
                result = cb()
                if result is not None and inspect.isawaitable(result):
                    await result
            except Exception as exc:
                self.stats.callback_errors += 1
                self._log_error("close listener %r raised", cb, exc=exc)

    # -- closing ------------------------------------------------------------------------

    def close(self) -> None:
        """Close at once: every pending request, open Collection and follow-up fails with
        ``ConnectionLostError``; queued, undelivered events are discarded (counted in
        ``stats.events_discarded_at_close``); then the ``close`` listeners run once."""
        if self._state in ("closed", "new"):
            if self._state == "new":
                self._state = "closed"
                self._closed_event.set()
            return
        self._shutdown(ConnectionLostError("the client was closed"), discard_events=True, reason=None)

    async def end(self, *, timeout: float | None = None, logoff: bool = True) -> None:
        """Close gracefully: refuse new requests, wait until every pending request and open
        list has finished (at most ``timeout`` seconds, then they fail as with ``close()``),
        send ``Logoff`` (unless ``logoff=False``), then close, deliver the events already
        received, run the ``close`` listeners and return once closed."""
        if self._ending is not None:
            await asyncio.shield(self._ending)
            return
        if self._state == "open":
            self._state = "ending"
            assert self._loop is not None
            self._ending = self._loop.create_future()
            pending = [r.future for r in self._requests.values()]
            if pending:
                await asyncio.wait(pending, timeout=timeout)
            transport = self._transport
            if logoff and transport is not None and not transport.is_closing() and not self._conn.goodbye:
                with contextlib.suppress(AmiError, OSError):
                    await self._send(Action("Logoff"), self.logoff_timeout, None, None)
        if self._state == "new":
            self.close()
        # Graceful: events already received are still delivered before the close listeners.
        self._shutdown(ConnectionLostError("the client was closed"), discard_events=False, reason=None)
        if asyncio.current_task() is not self._consumer:  # end() from a callback must not wait on itself
            await self.wait_closed()
        if self._ending is not None and not self._ending.done():
            self._ending.set_result(None)

    async def wait_closed(self) -> None:
        """Wait until the connection is closed and the ``close`` listeners have run.

        Not from inside an event callback: the listeners run after it returns (deadlock)."""
        await self._closed_event.wait()

    def _shutdown(
        self, error: BaseException, *, discard_events: bool, reason: BaseException | None = _DEFAULT
    ) -> None:
        if self._state == "closed":
            return
        self._state = "closed"
        self._close_reason = error if reason is _DEFAULT else reason
        for item in self._conn.fail_all(error):
            self._handle_item(item)
        for req in self._requests.values():  # not known to the connection any more
            req.settle(error=error)
        self._requests.clear()
        follow_ups, self._follow_ups = self._follow_ups, {}
        for fut in follow_ups.values():
            if not fut.done():
                fut.set_exception(error)
        if self._ping_timer is not None:
            self._ping_timer.cancel()
            self._ping_timer = None
        if discard_events and self._events:
            self.stats.events_discarded_at_close += len(self._events)
            self._events.clear()
        if isinstance(error, SlowConsumerError):
            for stream in self._streams:
                stream._end(error)
        if discard_events:
            self._control.clear()
        self._control.append(_CLOSE)
        self._wakeup.set()
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()
        if self._consumer is None:
            self._maybe_closed()
        else:
            self._consumer.add_done_callback(lambda _t: self._maybe_closed())

    def _maybe_closed(self) -> None:
        consumer_done = self._consumer is None or self._consumer.done()
        transport_done = self._transport is None or self._transport_lost
        if self._state == "closed" and consumer_done and transport_done:
            self._closed_event.set()

    # -- keepalive ----------------------------------------------------------------------

    def _keepalive_tick(self) -> None:
        self._ping_timer = None
        loop = self._loop
        interval = self.ping_interval
        if self._state != "open" or loop is None or not interval:
            return
        idle = loop.time() - self._last_rx
        if idle >= interval and (self._ping_task is None or self._ping_task.done()):
            self._ping_task = loop.create_task(self._keepalive_ping())
            idle = 0.0
        self._ping_timer = loop.call_later(max(interval - idle, 0.05), self._keepalive_tick)

    async def _keepalive_ping(self) -> None:
        try:
            await self._send(Action("Ping"), self.ping_deadline, None, None)
        except ActionTimeoutError:
            self._shutdown(
                ConnectionLostError(f"no reply to the keepalive Ping within {self.ping_deadline} s"),
                discard_events=False,
            )
        except (AmiError, OSError):
            pass  # any answer (even an error) proves the link is alive

    # -- context manager ----------------------------------------------------------------

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            await self.end()
        else:
            self.close()
            await self.wait_closed()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self.events()
