"""ReconnectingClient: an opt-in supervisor that keeps one AMI session alive across restarts.

::

    async with ami_fast.ReconnectingClient(url, events="call", filters=["Event: Newchannel"],
                                           on_reconnect=resync) as rc:
        async for item in rc.events():
            if isinstance(item, ami_fast.ConnectionLost): ...   # state may be stale now
            elif isinstance(item, ami_fast.Reconnected): ...    # a new session, epoch item.epoch
            else: handle(item)                                  # an Event

What it does (and what it never does):

- **Reconnects** after any loss (server close, network error, missed keepalive Ping, Goodbye
  it did not ask for) with exponential backoff and jitter: attempt *n* waits
  ``min(backoff_max, backoff_initial * backoff_factor ** (n - 1))``, scaled by a random factor
  in ``[1 - jitter, 1]``. A session that lasted ``stable_after`` seconds resets the backoff.
  After ``Event: Shutdown`` the first wait is at least ``shutdown_delay`` (Asterisk is
  restarting; hammering it is useless).
  ``Event: Reload`` is an ordinary event: a reload is no disconnect.
- **Logs in again** and re-applies the session's state: the login ``Events`` mask (``events=``,
  or the last :meth:`set_events`), then every filter (``filters=`` and :meth:`add_filter`), in
  order, before anything else is sent.
- **Stops** with :class:`~ami_fast.errors.AuthenticationError` after ``max_auth_failures``
  consecutive failed logins (each failed login already costs Asterisk's 1 s delay, and a loop
  of them hits ``authlimit``); the auth backoff is ``auth_backoff`` seconds at least.
- **The first connection** is retried like any later one: ``async with`` (or
  :meth:`wait_connected`) returns once a session is up, or raises the stop error; give
  ``wait_connected(timeout)`` a timeout to bound it.
- **Counts epochs**: ``epoch`` is 1 for the first session and grows by one per successful login.
- **Marks the stream**: :meth:`events` yields :class:`ConnectionLost` after the last event of a
  session and :class:`Reconnected` before the first event of the next. Markers are never dropped.
- **Calls** ``on_reconnect(client, epoch)`` (sync or async) after each *re*-connection (epoch
  >= 2), once the mask and filters are in place and before the session counts as connected
  (``wait_connected``): resynchronise there (``CoreShowChannels``, ``QueueStatus``...) with the
  client it is given (until it returns, ``connected`` is false and ``request()`` fails as while
  reconnecting). Its exceptions are logged, never fatal.
- **Gates** every attempt, the first included, on ``before_connect()`` when given: an async
  callable awaited after the backoff wait, which may wait as long as it needs (a lease, a
  maintenance window); :meth:`close` cancels it, and an exception from it stops the supervisor.
- **Drops** the session on request: :meth:`drop` ends it as if the link had died (a
  ``ConnectionLost`` marker with the given reason) and reconnects after the backoff and the
  gate; a drop while an attempt is under way ends the session that attempt opens.
- **Never re-sends** anything. A request pending at a disconnect fails with
  :class:`~ami_fast.errors.ConnectionLostError` (an ``Originate`` may or may not have run; only
  the caller can decide). :meth:`request` while disconnected fails at once the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, Union

from ._stream import BoundedStream
from .errors import (
    ActionError,
    AmiError,
    AuthenticationError,
    ConnectionLostError,
    UsageError,
)
from .factory import EventsMask, Factory, events_header
from .messages import Action
from .url import parse_url

if TYPE_CHECKING:
    from .client import Client
    from .collection import Collection
    from .messages import Event, Response

__all__ = ["ConnectionLost", "Reconnected", "ReconnectingClient", "StreamItem"]

logger = logging.getLogger("ami_fast.reconnect")

ReconnectHook = Callable[["Client", int], Union[Awaitable[None], None]]  # noqa: UP007 - runtime alias
BeforeConnect = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ConnectionLost:
    """Marker: session ``epoch`` ended. Events after it belong to a later session.

    ``error`` is the cause (``ConnectionLostError`` for a close, a missed keepalive Ping...);
    ``shutdown`` is true when Asterisk announced ``Event: Shutdown`` first."""

    epoch: int
    error: BaseException | None
    shutdown: bool = False
    kind: str = field(default="connection_lost", init=False)


@dataclass(frozen=True, slots=True)
class Reconnected:
    """Marker: session ``epoch`` (>= 2) is logged in (its mask and filters are re-applied next,
    then ``on_reconnect`` runs).

    ``attempts`` is how many connection attempts it took; ``downtime`` the seconds since the
    previous session was lost (loop clock)."""

    epoch: int
    attempts: int
    downtime: float
    kind: str = field(default="reconnected", init=False)


StreamItem = Union["Event", ConnectionLost, Reconnected]


class _Stream(BoundedStream[StreamItem]):
    """A bounded queue of events and markers for one :meth:`ReconnectingClient.events` call.

    When full, the oldest *event* is dropped (counted in ``dropped``); markers are kept."""

    def __init__(self, owner: ReconnectingClient, names: frozenset[str] | None, maxsize: int) -> None:
        super().__init__(names, maxsize)
        self._owner = owner

    def _push(self, item: StreamItem) -> None:
        if self._ended:
            return
        if (
            self._names is not None
            and not isinstance(item, (ConnectionLost, Reconnected))
            and (item.name or "").lower() not in self._names
        ):
            return
        if len(self._queue) >= self.maxsize:
            self._drop_oldest_event()
        self._queue.append(item)
        self._wake()

    def _drop_oldest_event(self) -> None:
        kept: list[StreamItem] = []
        queue = self._queue
        while queue:
            head = queue.popleft()
            if isinstance(head, (ConnectionLost, Reconnected)):
                kept.append(head)
                continue
            self.dropped += 1
            self._owner.stats["events_dropped"] += 1
            break
        queue.extendleft(reversed(kept))

    def _detach(self) -> None:
        self._owner._streams = tuple(s for s in self._owner._streams if s is not self)


class ReconnectingClient:
    """Keeps a logged-in AMI session to ``url`` alive. See the module docstring.

    Args:
        url: an AMI URL with credentials (``tcp://user:secret@host``).
        events: the login ``Events`` mask (as for :class:`~ami_fast.factory.Factory`).
        filters: ``Filter`` expressions added after every login, e.g. ``"Event: Newchannel"``
            or ``("", "name(UserEvent)")`` pairs of ``(filter, match_criteria)``.
        on_reconnect: ``hook(client, epoch)`` after each re-connection.
        before_connect: ``await gate()`` before every connection attempt (see the module docstring).
        backoff_initial, backoff_factor, backoff_max, jitter: see the module docstring.
        shutdown_delay: the least first wait after ``Event: Shutdown``.
        auth_backoff: the least wait after a failed login.
        max_auth_failures: consecutive failed logins before giving up (``None``: never).
        max_attempts: consecutive failed attempts of any kind before giving up (``None``: never).
        stable_after: a session shorter than this many seconds does not reset the backoff (a
            server that accepts the login and drops the link at once is not hammered).
        rng: a ``random.Random`` for the jitter (tests pass a seeded one).
        **options: everything else goes to :class:`~ami_fast.factory.Factory` (``ssl``,
            ``timeout``, ``ping_interval``, ``ping_deadline``, ``dispatch_queue``...).
    """

    def __init__(
        self,
        url: str,
        *,
        events: EventsMask = None,
        filters: Iterable[str | tuple[str, str | None]] = (),
        on_reconnect: ReconnectHook | None = None,
        before_connect: BeforeConnect | None = None,
        backoff_initial: float = 0.5,
        backoff_factor: float = 2.0,
        backoff_max: float = 30.0,
        jitter: float = 0.5,
        shutdown_delay: float = 5.0,
        auth_backoff: float = 5.0,
        max_auth_failures: int | None = 3,
        max_attempts: int | None = None,
        stable_after: float = 5.0,
        rng: random.Random | None = None,
        **options: Any,
    ) -> None:
        target = parse_url(url)  # ValueError now, never quoting the secret
        if not target.has_credentials:
            raise ValueError("a ReconnectingClient needs credentials in the URL (user:secret@host)")
        if backoff_initial <= 0 or backoff_factor < 1 or backoff_max < backoff_initial:
            raise ValueError("need 0 < backoff_initial <= backoff_max and backoff_factor >= 1")
        if not 0 <= jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")
        if max_auth_failures is not None and max_auth_failures < 1:
            raise ValueError("max_auth_failures must be at least 1 (or None)")
        if "on_event" in options:
            raise ValueError("use on_event() or events() of the ReconnectingClient")
        self._url = url
        self._where = target.netloc()
        self._factory = Factory(events=events, on_event=self._forward, **options)
        self._events_mask: str | None = None  # set_events() at runtime; login uses `events`
        self._filters: list[tuple[str, str | None]] = [_filter_pair(f) for f in filters]
        self.on_reconnect = on_reconnect
        self.before_connect = before_connect
        self.backoff_initial = backoff_initial
        self.backoff_factor = backoff_factor
        self.backoff_max = backoff_max
        self.jitter = jitter
        self.shutdown_delay = shutdown_delay
        self.auth_backoff = auth_backoff
        self.max_auth_failures = max_auth_failures
        self.max_attempts = max_attempts
        self.stable_after = stable_after
        self._rng = rng if rng is not None else random.Random()
        self.epoch = 0
        self.stats: dict[str, int] = {
            "attempts": 0,
            "failed_attempts": 0,
            "auth_failures": 0,
            "reconnects": 0,
            "connections_lost": 0,
            "events_dropped": 0,
        }
        self.last_error: BaseException | None = None
        self._client: Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._connected: asyncio.Event | None = None
        self._stopped_error: BaseException | None = None
        self._closing = False
        self._streams: tuple[_Stream, ...] = ()
        self._callbacks: list[tuple[frozenset[str] | None, Callable[..., Any]]] = []
        self._pending_marker: Reconnected | None = None
        self._saw_shutdown = False
        self._drop_reason: BaseException | None = None  # drop() since the last attempt began

    def __repr__(self) -> str:
        state = "stopped" if self.stopped else "connected" if self.connected else "connecting"
        return f"<ReconnectingClient {self._where} epoch={self.epoch} {state}>"

    # -- state ------------------------------------------------------------------------

    @property
    def client(self) -> Client:
        """The current session's client; ``ConnectionLostError`` while there is none."""
        client = self._ready_client()
        if client is None:
            if self._stopped_error is not None:
                raise self._stopped_error
            raise ConnectionLostError(f"not connected to {self._where} (reconnecting)")
        return client

    @property
    def connected(self) -> bool:
        """True while a session is ready: logged in, mask and filters re-applied, hook done."""
        return self._ready_client() is not None

    def _ready_client(self) -> Client | None:
        # A session being restored is not ready yet: requests and `connected` wait for it,
        # so nothing overtakes the re-applied mask, filters and on_reconnect resync.
        client = self._client
        if client is None or client.closed or self._connected is None or not self._connected.is_set():
            return None
        return client

    @property
    def stopped(self) -> bool:
        """True once the supervisor gave up or :meth:`close` was called."""
        return self._task is not None and self._task.done()

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        """Start the supervisor task (idempotent). Connection errors never raise here."""
        if self._task is not None:
            return
        self._connected = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"ami-fast reconnect {self._where}"
        )

    async def wait_connected(self, timeout: float | None = None) -> Client:
        """Wait until a session is logged in (mask and filters applied, ``on_reconnect`` done) and
        return its client.

        Raises the stop error if the supervisor gave up, ``TimeoutError`` after ``timeout``."""
        self.start()
        assert self._connected is not None and self._task is not None

        async def wait() -> Client:
            assert self._connected is not None and self._task is not None
            while True:
                client = self._ready_client()
                if client is not None:
                    return client
                if self._task.done():
                    raise self._stopped_error or UsageError("the ReconnectingClient is closed")
                waiter = asyncio.ensure_future(self._connected.wait())
                try:
                    await asyncio.wait({waiter, self._task}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waiter.cancel()
                if self._client is None or self._client.closed:
                    self._connected.clear()

        return await asyncio.wait_for(wait(), timeout)

    async def close(self) -> None:
        """Stop reconnecting, end the current session (Logoff) and end every stream."""
        self._closing = True
        client = self._client
        if client is not None and not client.closed:
            with contextlib.suppress(AmiError, OSError):
                await client.end(timeout=1.0)
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._end_streams(None)

    def drop(self, reason: str | BaseException = "dropped by the application") -> None:
        """End the current session now, as if the connection had been lost: its queued events are
        discarded (as with ``Client.close()``), the streams get ``ConnectionLost(error=reason)``,
        and the supervisor reconnects after the backoff and ``before_connect``. During a
        connection attempt, the session that attempt opens is ended at once."""
        error = reason if isinstance(reason, BaseException) else ConnectionLostError(reason)
        self._drop_reason = error
        client = self._client
        if client is not None and not client.closed:
            client.close()

    async def __aenter__(self) -> ReconnectingClient:
        try:
            await self.wait_connected()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- requests: forwarded, never queued, never re-sent -----------------------------

    def create_action(self, name: str, fields: Any = None) -> Action:
        """An action without an ActionID: the session that sends it assigns one."""
        return Action(name, fields)

    async def request(self, action: Action, **options: Any) -> Response | Collection:
        """``Client.request`` on the current session. ``ConnectionLostError`` at once when
        disconnected, or when the session is lost before the answer (nothing is re-sent)."""
        return await self.client.request(action, **options)

    async def add_filter(self, filter: str, match_criteria: str | None = None) -> Response:
        """Add a ``Filter`` to the current session and remember it for every later one
        (only once the server accepted it)."""
        pair = _filter_pair((filter, match_criteria))
        response = await self._send_filter(self.client, pair)
        self._filters.append(pair)
        return response

    async def set_events(self, mask: EventsMask) -> Response:
        """Change the event mask now (``Events`` action) and for every later session."""
        text = events_header(mask)
        if text is None:
            raise ValueError("set_events needs a mask ('on', 'off', 'call,user'...)")
        response = await self.client.request(Action("Events", [("EventMask", text)]))
        self._events_mask = text
        return response  # type: ignore[return-value]

    @property
    def filters(self) -> list[tuple[str, str | None]]:
        return list(self._filters)

    # -- events -------------------------------------------------------------------------

    def events(self, *names: str, maxsize: int = 65_536) -> _Stream:
        """Events of every session, with :class:`ConnectionLost` / :class:`Reconnected`
        markers between sessions. ``names`` filters events (markers always come). The
        iteration ends after :meth:`close`, or raises the stop error when the supervisor
        gave up. Bounded: when full, the oldest event is dropped (``stream.dropped``)."""
        stream = _Stream(self, frozenset(n.lower() for n in names) if names else None, maxsize)
        if self.stopped:
            stream._end(self._stopped_error)
        else:
            self._streams = (*self._streams, stream)
        return stream

    def on_event(self, event_name: str | None, callback: Callable[..., Any]) -> Callable[[], None]:
        """Call ``callback(event)`` for events of every session (named ``event_name``, or all
        with ``None``). Runs on the session's dispatch task, in order. Returns an unsubscriber."""
        entry = (frozenset({event_name.lower()}) if event_name is not None else None, callback)
        self._callbacks.append(entry)

        def off() -> None:
            with contextlib.suppress(ValueError):
                self._callbacks.remove(entry)

        return off

    def _forward(self, event: Event) -> Awaitable[None] | None:
        # Every session's client calls this for each of its events, in order, from its own
        # dispatch task; a session's events are all delivered before its close is seen.
        name = (event.name or "").lower()
        if name == "shutdown":
            self._saw_shutdown = True
        self._announce()
        for stream in self._streams:
            stream._push(event)
        if not self._callbacks:
            return None
        waits: list[Awaitable[Any]] = []
        for names, cb in tuple(self._callbacks):
            if names is None or name in names:
                result = cb(event)
                if result is not None and inspect.isawaitable(result):
                    waits.append(result)
        return _await_all(waits) if waits else None

    def _announce(self) -> None:
        marker = self._pending_marker
        if marker is not None:
            self._pending_marker = None
            for stream in self._streams:
                stream._push(marker)

    def _mark_lost(self, marker: ConnectionLost) -> None:
        self._pending_marker = None
        for stream in self._streams:
            stream._push(marker)

    def _end_streams(self, error: BaseException | None) -> None:
        streams, self._streams = self._streams, ()
        for stream in streams:
            stream._end(error)

    # -- the supervisor -----------------------------------------------------------------

    def next_delay(self, failures: int, *, after_shutdown: bool = False, after_auth: bool = False) -> float:
        """The wait before the next attempt, after ``failures`` consecutive failed attempts
        (0: right after a session was lost)."""
        base = min(self.backoff_max, self.backoff_initial * self.backoff_factor ** max(failures - 1, 0))
        delay = base * (1 - self.jitter * self._rng.random())
        if after_shutdown:
            delay = max(delay, self.shutdown_delay)
        if after_auth:
            delay = max(delay, self.auth_backoff)
        return delay

    async def _run(self) -> None:
        assert self._connected is not None
        failures = 0  # consecutive failed attempts (and sessions shorter than stable_after)
        auth_failures = 0
        lost_at: float | None = None
        delay = 0.0
        loop = asyncio.get_running_loop()
        try:
            while not self._closing:
                if delay > 0:
                    await asyncio.sleep(delay)
                if self.before_connect is not None:
                    await self.before_connect()
                    if self._closing:
                        break  # close() came during the gate (its cancellation may be lost)
                self._drop_reason = None  # a drop from here on ends the session this attempt opens
                self.stats["attempts"] += 1
                if self.epoch > 0:
                    # Armed before the attempt: the new session's first event may be dispatched
                    # before this task resumes, and the marker must precede it.
                    self._pending_marker = Reconnected(
                        self.epoch + 1, failures + 1, loop.time() - (lost_at or loop.time())
                    )
                try:
                    client = await self._factory.create_client(self._url)
                except AuthenticationError as exc:
                    failures += 1
                    auth_failures += 1
                    self.stats["failed_attempts"] += 1
                    self.stats["auth_failures"] += 1
                    self.last_error = exc
                    if self.max_auth_failures is not None and auth_failures >= self.max_auth_failures:
                        self._stop(_gave_up(exc, auth_failures, self._where))
                        return
                    delay = self.next_delay(failures, after_auth=True)
                    logger.warning(
                        "ami-fast reconnect %s: login refused (%d in a row); retrying in %.1f s",
                        self._where,
                        auth_failures,
                        delay,
                    )
                    continue
                except (AmiError, OSError, asyncio.TimeoutError) as exc:
                    failures += 1
                    self.stats["failed_attempts"] += 1
                    self.last_error = exc
                    if self.max_attempts is not None and failures >= self.max_attempts:
                        err = ConnectionLostError(
                            f"gave up on {self._where} after {failures} failed connection attempts: {exc}"
                        )
                        err.__cause__ = exc
                        self._stop(err)
                        return
                    delay = self.next_delay(failures, after_shutdown=self._saw_shutdown)
                    logger.info(
                        "ami-fast reconnect %s: attempt failed (%s); retrying in %.1f s",
                        self._where,
                        type(exc).__name__,
                        delay,
                    )
                    continue
                if self._closing:
                    # close() came during the attempt and its cancellation was lost (on 3.11,
                    # asyncio.wait_for returns a result that is already there): end it here.
                    with contextlib.suppress(AmiError, OSError):
                        await client.end(timeout=1.0)
                    break
                # Logged in: a new session (epoch) begins, whatever happens next.
                if self._drop_reason is not None:
                    client.close()  # dropped while logging in: the session ends before it starts
                auth_failures = 0
                self._saw_shutdown = False
                self.epoch += 1
                epoch = self.epoch
                started = loop.time()
                self._client = client
                if epoch > 1:
                    self.stats["reconnects"] += 1
                    self._announce()
                    logger.info("ami-fast reconnect %s: session %d logged in", self._where, epoch)
                await self._restore_state(client)
                # Ready means resynchronised: the hook runs (with the client in hand) before
                # wait_connected() and request() see the new session.
                if not client.closed and not self._closing and epoch > 1 and self.on_reconnect is not None:
                    await self._call_hook(client, epoch)
                if not client.closed and not self._closing:
                    self._connected.set()
                await client.wait_closed()
                # Every event of the session was dispatched (so a Shutdown was seen) by now.
                self._client = None
                self._connected.clear()
                if self._closing:
                    break
                lost_at = loop.time()
                failures = 0 if lost_at - started >= self.stable_after else failures + 1
                self.stats["connections_lost"] += 1
                reason = (
                    client.close_reason
                    or self._drop_reason
                    or ConnectionLostError(f"{self._where} closed the session")
                )
                self.last_error = reason
                self._mark_lost(ConnectionLost(epoch, reason, self._saw_shutdown))
                delay = self.next_delay(failures, after_shutdown=self._saw_shutdown)
                logger.warning(
                    "ami-fast reconnect %s: session %d lost (%s)%s; reconnecting in %.1f s",
                    self._where,
                    epoch,
                    reason,
                    " after Shutdown" if self._saw_shutdown else "",
                    delay,
                )
        except Exception as exc:  # a bug or a bad option (ssl...): stop loudly, never spin
            self._stop(exc)
        finally:
            self._pending_marker = None
            self._end_streams(self._stopped_error)

    async def _restore_state(self, client: Client) -> None:
        """Re-apply the event mask and the filters, in order, before anything else is sent."""
        steps: list[Callable[[], Awaitable[Any]]] = []
        if self._events_mask is not None:
            steps.append(partial(client.request, Action("Events", [("EventMask", self._events_mask)])))
        steps.extend(partial(self._send_filter, client, pair) for pair in self._filters)
        try:
            for step in steps:
                try:
                    await step()
                except ActionError as exc:
                    # The server refused state it accepted before: keep the session and the
                    # remaining steps, say so loudly.
                    logger.error(
                        "ami-fast reconnect %s: re-applying the session state failed: %s", self._where, exc
                    )
        except (AmiError, OSError) as exc:
            if self._closing:
                return  # close() is ending the session gracefully (Logoff): leave it to it
            # The session died during set-up: the supervisor sees it closed and goes on.
            logger.info("ami-fast reconnect %s: session lost during set-up: %s", self._where, exc)
            client.close()

    async def _send_filter(self, client: Client, pair: tuple[str, str | None]) -> Response:
        fields: list[tuple[str, str | None]] = [("Operation", "Add"), ("Filter", pair[0])]
        if pair[1] is not None:
            fields.append(("MatchCriteria", pair[1]))
        return await client.request(Action("Filter", fields))  # type: ignore[return-value]

    async def _call_hook(self, client: Client, epoch: int) -> None:
        assert self.on_reconnect is not None
        try:
            result = self.on_reconnect(client, epoch)
            if result is not None and inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception("ami-fast reconnect %s: on_reconnect hook failed (epoch %d)", self._where, epoch)

    def _stop(self, error: BaseException) -> None:
        self._stopped_error = error
        logger.error("ami-fast reconnect %s: giving up: %s", self._where, error)
        self._end_streams(error)


async def _await_all(waits: list[Awaitable[Any]]) -> None:
    for w in waits:
        await w


def _filter_pair(item: str | tuple[str, str | None] | Sequence[str | None]) -> tuple[str, str | None]:
    flt, criteria = (item, None) if isinstance(item, str) else item
    if not isinstance(flt, str) or (criteria is not None and not isinstance(criteria, str)):
        raise TypeError("a filter is a str or a (filter, match_criteria) pair of str")
    # Validate now (CR/LF/NUL...): a bad filter must fail here, not at every reconnect.
    Action("Filter", [("Filter", flt), ("MatchCriteria", criteria)])
    return (flt, criteria)


def _gave_up(exc: AuthenticationError, count: int, where: str) -> AuthenticationError:
    reason = exc.message or "authentication failed"
    err = AuthenticationError(
        exc.response, f"gave up on {where} after {count} consecutive login failures: {reason}"
    )
    err.__cause__ = exc
    return err
