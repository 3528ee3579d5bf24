"""Blocking use of ami-fast, for code without an event loop (scripts, Django views, Jupyter).

::

    import ami_fast.sync

    with ami_fast.sync.connect("ami:secret@127.0.0.1") as client:
        print(client.ping().items())
        for event in client.events("Hangup", count=3):
            print(event.name, event["Channel"])

``connect()`` starts a private asyncio event loop on a daemon thread and forwards every call
to it (``asyncio.run_coroutine_threadsafe``). The ``SyncClient`` has every ``ActionSender``
method (``client.ping()``, ``client.originate(...)``, ``client.queue_status()``...) plus
``request``/``create_action``, with the same results and exceptions as the asyncio API.

Events: ``client.events(...)`` is a blocking iterator with its own bounded queue (the client's
overflow policy applies), and ``client.on("event", cb)`` / ``client.on_event(name, cb)`` take
callbacks, which run **on the loop thread**: keep them short and thread-safe.

``close()`` (or leaving the ``with`` block) closes the connection, stops the loop, shuts its
executor down and joins the thread: no thread or socket outlives the client.

Staying connected: ``connect_reconnecting()`` wraps a ``ReconnectingClient`` the same way::

    with ami_fast.sync.connect_reconnecting("ami:secret@127.0.0.1", events="call") as client:
        for item in client.events("Hangup"):
            if isinstance(item, (ami_fast.ConnectionLost, ami_fast.Reconnected)):
                print("gap", item)        # state may be stale: resynchronise
            else:
                print(item["Channel"])

Its action methods go to the session that is up when they are called: while reconnecting they
fail at once with ``ConnectionLostError`` (nothing is queued or re-sent), and once the
supervisor gave up every call raises its stop error (``AuthenticationError``...).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .action_sender import PUBLIC_METHODS, ActionSender
from .errors import UsageError

if TYPE_CHECKING:
    from .client import Client
    from .collection import Collection
    from .factory import EventsMask
    from .messages import Action, Event, Response
    from .reconnect import ReconnectingClient, StreamItem

__all__ = ["EventIterator", "SyncClient", "SyncReconnectingClient", "connect", "connect_reconnecting"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class _LoopThread:
    """An event loop running on its own daemon thread, stopped and joined by ``stop()``."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self.thread = threading.Thread(target=self._run, name="ami-fast-sync-loop", daemon=True)
        self.thread.start()
        self._started.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._started.set)
        try:
            self.loop.run_forever()
        finally:
            try:
                self._cancel_leftovers()
                self.loop.run_until_complete(self.loop.shutdown_asyncgens())
                # getaddrinfo runs in the default executor: its worker threads must end too.
                self.loop.run_until_complete(self.loop.shutdown_default_executor())
            finally:
                asyncio.set_event_loop(None)
                self.loop.close()

    def _cancel_leftovers(self) -> None:
        tasks = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))

    @property
    def alive(self) -> bool:
        return self.thread.is_alive() and not self.loop.is_closed()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for its result (its exception is re-raised here)."""
        if threading.current_thread() is self.thread:
            coro.close()
            raise RuntimeError("a blocking ami-fast call was made from its own loop thread (in a callback?)")
        if not self.alive:
            coro.close()
            raise UsageError("the client is closed")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"no result within {timeout} s") from None
        except BaseException:
            # KeyboardInterrupt and friends: do not leave the coroutine running behind our back.
            future.cancel()
            raise

    def call(self, fn: Callable[[], T]) -> T:
        """Run a plain function on the loop thread (for the client's non-async methods)."""

        async def wrapper() -> T:
            return fn()

        return self.run(wrapper())

    def stop(self) -> None:
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            if threading.current_thread() is not self.thread:
                self.thread.join()


class EventIterator(Generic[T_co]):
    """A blocking iterator over a client's events (see ``SyncClient.events``)."""

    def __init__(
        self, runner: _LoopThread, source: Any, *, count: int | None, idle_timeout: float | None
    ) -> None:
        self._runner = runner
        self._source = source
        self._left = count
        self._idle_timeout = idle_timeout
        self._closed = False

    def __iter__(self) -> EventIterator[T_co]:
        return self

    def __next__(self) -> T_co:
        if self._closed or self._left == 0 or not self._runner.alive:
            self.close()
            raise StopIteration
        try:
            event: T_co = self._runner.run(self._next(), None)
        except (StopAsyncIteration, TimeoutError, asyncio.TimeoutError):
            self.close()
            raise StopIteration from None
        if self._left is not None:
            self._left -= 1
        return event

    async def _next(self) -> T_co:
        get = self._source.__anext__()
        if self._idle_timeout is None:
            return await get  # type: ignore[no-any-return]
        return await asyncio.wait_for(get, self._idle_timeout)

    def close(self) -> None:
        """Stop the subscription (also done at the end of iteration)."""
        if self._closed:
            return
        self._closed = True
        aclose = getattr(self._source, "aclose", None)
        if aclose is not None and self._runner.alive:
            # Closing a subscription must not mask the caller's own result or error.
            with contextlib.suppress(Exception):
                self._runner.run(aclose(), 5.0)

    def __enter__(self) -> EventIterator[T_co]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Blocking:
    """What both blocking clients share: the loop thread, the ``ActionSender`` methods and
    ``close()``."""

    def __init__(self, runner: _LoopThread) -> None:
        self._runner = runner
        self._closed = False

    def _action_sender(self) -> ActionSender:
        """The sender for one call; runs on the loop thread."""
        raise NotImplementedError

    async def _shut(self) -> None:
        """Close the asyncio side; runs on the loop thread."""
        raise NotImplementedError

    def close(self) -> None:
        """Close (see the subclass), stop the loop and join its thread; idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._runner.alive:
                self._runner.run(self._shut(), 10.0)
        finally:
            self._runner.stop()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name in PUBLIC_METHODS:

            def blocking(*args: Any, **kwargs: Any) -> Any:
                async def send() -> Any:
                    return await getattr(self._action_sender(), name)(*args, **kwargs)

                return self._runner.run(send())

            blocking.__name__ = name
            blocking.__doc__ = getattr(ActionSender, name).__doc__
            return blocking
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(PUBLIC_METHODS))

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._runner.loop

    def _iterate(
        self, subscribe: Callable[[], Any], count: int | None, idle_timeout: float | None
    ) -> EventIterator[Any]:
        async def on_loop() -> Any:
            return subscribe()

        source = self._runner.run(on_loop())
        return EventIterator(self._runner, source, count=count, idle_timeout=idle_timeout)


class SyncClient(_Blocking):
    """A connected client driven from plain (blocking) code.

    Every ``ActionSender`` method is available as a blocking method of the same name and
    signature (``client.ping()``, ``client.command("core show channels")``,
    ``client.originate("PJSIP/100", exten="200", context="default")``...).
    """

    def __init__(self, client: Client, runner: _LoopThread) -> None:
        super().__init__(runner)
        self._client = client
        self._sender = ActionSender(client)

    def _action_sender(self) -> ActionSender:
        return self._sender

    # -- the client's own API --------------------------------------------------------------

    @property
    def client(self) -> Client:
        """The underlying asyncio ``Client`` (only touch it from the loop thread)."""
        return self._client

    def create_action(self, name: str, fields: Any = None) -> Action:
        return self._runner.call(lambda: self._client.create_action(name, fields))

    def request(self, action: Action, *, timeout: float | None = None) -> Response | Collection:
        if timeout is None:
            return self._runner.run(self._client.request(action))
        return self._runner.run(self._client.request(action, timeout=timeout))

    def on(self, name: str, callback: Callable[..., Any]) -> None:
        """Add a listener (``"event"``, ``"error"``, ``"close"``); it runs on the loop thread."""
        self._runner.call(lambda: self._client.on(name, callback))

    def off(self, name: str, callback: Callable[..., Any]) -> None:
        self._runner.call(lambda: self._client.off(name, callback))

    def on_event(self, name: str | None, callback: Callable[..., Any]) -> Any:
        """Subscribe to one event name (``None``: every event); runs on the loop thread."""
        return self._runner.call(lambda: self._client.on_event(name, callback))

    def events(
        self, *names: str, count: int | None = None, idle_timeout: float | None = None, **kwargs: Any
    ) -> EventIterator[Event]:
        """Iterate over events (all, or those named), blocking for each.

        ``count`` stops after that many events; ``idle_timeout`` stops after that many seconds
        without one. Other keywords (``maxsize``...) go to ``Client.events``.
        """
        return self._iterate(lambda: self._client.events(*names, **kwargs), count, idle_timeout)

    @property
    def closed(self) -> bool:
        return self._closed or bool(getattr(self._client, "closed", False))

    @property
    def is_busy(self) -> bool:
        return bool(self._client.is_busy)

    @property
    def version(self) -> str | None:
        return self._client.version

    @property
    def stats(self) -> Any:
        return self._client.stats

    async def _shut(self) -> None:
        # close(): at once, pending requests fail.
        self._client.close()
        await self._client.wait_closed()

    def end(self, timeout: float | None = 10.0) -> None:
        """Wait for pending requests and lists, log off and close; then stop the loop."""
        if self._closed:
            return
        try:
            if self._runner.alive:
                self._runner.run(self._client.end(), timeout)
        except BaseException:
            self.close()
            raise
        self.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            try:
                self.end()
                return
            except Exception:
                pass
        self.close()

    def __repr__(self) -> str:
        return f"<SyncClient {self._client!r}>"


def _on_new_loop(create: Callable[[], Coroutine[Any, Any, T]]) -> tuple[T, _LoopThread]:
    """Run ``create()`` on a new loop thread; the thread is stopped if it raises."""
    runner = _LoopThread()
    try:
        return runner.run(create()), runner
    except BaseException:
        runner.stop()
        raise


def connect(url: str, **kwargs: Any) -> SyncClient:
    """Connect (and log in) in a private loop thread; same arguments as ``ami_fast.Factory``.

    Raises what ``Factory.create_client`` raises (``ValueError`` for a bad URL,
    ``AuthenticationError``, ``ConnectionRefusedError``...), after stopping the thread.
    """
    from .factory import Factory

    async def create() -> Client:
        return await Factory(**kwargs).create_client(url)

    return SyncClient(*_on_new_loop(create))


class SyncReconnectingClient(_Blocking):
    """A ``ReconnectingClient`` driven from plain (blocking) code (see ``connect_reconnecting``).

    Every ``ActionSender`` method runs on the session that is up when it is called
    (``ConnectionLostError`` at once while reconnecting, as ``ReconnectingClient.request``).
    """

    def __init__(self, rc: ReconnectingClient, runner: _LoopThread) -> None:
        super().__init__(runner)
        self._rc = rc

    def _action_sender(self) -> ActionSender:
        # The current session's client, or its ConnectionLostError / the stop error.
        return ActionSender(self._rc.client)

    @property
    def client(self) -> ReconnectingClient:
        """The underlying asyncio ``ReconnectingClient`` (only touch it from the loop thread)."""
        return self._rc

    def create_action(self, name: str, fields: Any = None) -> Action:
        return self._rc.create_action(name, fields)

    def request(self, action: Action, **options: Any) -> Response | Collection:
        return self._runner.run(self._rc.request(action, **options))

    def add_filter(self, filter: str, match_criteria: str | None = None) -> Response:
        """Add a ``Filter`` now and after every reconnection."""
        return self._runner.run(self._rc.add_filter(filter, match_criteria))

    def set_events(self, mask: EventsMask) -> Response:
        """Change the event mask now and for every later session."""
        return self._runner.run(self._rc.set_events(mask))

    @property
    def filters(self) -> list[tuple[str, str | None]]:
        return self._rc.filters

    def events(
        self, *names: str, count: int | None = None, idle_timeout: float | None = None, maxsize: int = 65_536
    ) -> EventIterator[StreamItem]:
        """Iterate over the events of every session, with the ``ConnectionLost`` and
        ``Reconnected`` markers between sessions (``names`` filters events, never markers).

        ``count`` (events and markers) and ``idle_timeout`` as for ``SyncClient.events``.
        The iteration ends after ``close()``; it raises the stop error when the supervisor
        gave up (``AuthenticationError`` after repeated login failures...)."""
        return self._iterate(lambda: self._rc.events(*names, maxsize=maxsize), count, idle_timeout)

    def on_event(self, name: str | None, callback: Callable[..., Any]) -> Callable[[], None]:
        """Call ``callback(event)`` for events of every session (``None``: all); it runs on the
        loop thread. Returns an unsubscriber (callable from any thread)."""
        off = self._runner.call(lambda: self._rc.on_event(name, callback))

        def unsubscribe() -> None:
            if self._runner.alive:
                self._runner.call(off)

        return unsubscribe

    def wait_connected(self, timeout: float | None = None) -> None:
        """Block until a session is up (mask, filters and ``on_reconnect`` done); raises the
        stop error if the supervisor gave up, ``TimeoutError`` after ``timeout``."""
        self._runner.run(self._rc.wait_connected(timeout))

    @property
    def epoch(self) -> int:
        return self._rc.epoch

    @property
    def connected(self) -> bool:
        return self._rc.connected

    @property
    def stopped(self) -> bool:
        """True once the supervisor gave up or the client was closed."""
        return self._closed or self._rc.stopped

    @property
    def last_error(self) -> BaseException | None:
        return self._rc.last_error

    @property
    def stats(self) -> dict[str, int]:
        return dict(self._rc.stats)

    async def _shut(self) -> None:
        # close(): stop reconnecting, log off, end every iterator.
        await self._rc.close()

    def __enter__(self) -> SyncReconnectingClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<SyncReconnectingClient {self._rc!r}>"


def connect_reconnecting(
    url: str, *, wait_timeout: float | None = None, **kwargs: Any
) -> SyncReconnectingClient:
    """Start a ``ReconnectingClient`` in a private loop thread and wait for its first session;
    same arguments as ``ami_fast.ReconnectingClient`` (``events``, ``filters``, ``on_reconnect``,
    backoff settings, ``Factory`` options). ``on_reconnect`` runs on the loop thread with the
    asyncio ``Client``: use that client there, not this one.

    The first connection is retried like any later one: this returns once a session is up,
    raises the stop error (``AuthenticationError`` after ``max_auth_failures`` refused logins,
    ``ConnectionLostError`` after ``max_attempts``), or ``TimeoutError`` after ``wait_timeout``
    seconds (``None``: no limit); the thread is stopped before raising.
    """
    from .reconnect import ReconnectingClient

    async def create() -> ReconnectingClient:
        rc = ReconnectingClient(url, **kwargs)
        try:
            await rc.wait_connected(wait_timeout)
        except BaseException:
            await rc.close()
            raise
        return rc

    return SyncReconnectingClient(*_on_new_loop(create))
