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
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from .action_sender import PUBLIC_METHODS, ActionSender
from .errors import UsageError

if TYPE_CHECKING:
    from .client import Client
    from .collection import Collection
    from .messages import Action, Event, Response

__all__ = ["EventIterator", "SyncClient", "connect"]

T = TypeVar("T")


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


class EventIterator:
    """A blocking iterator over a client's events (see ``SyncClient.events``)."""

    def __init__(
        self, runner: _LoopThread, source: Any, *, count: int | None, idle_timeout: float | None
    ) -> None:
        self._runner = runner
        self._source = source
        self._left = count
        self._idle_timeout = idle_timeout
        self._closed = False

    def __iter__(self) -> EventIterator:
        return self

    def __next__(self) -> Event:
        if self._closed or self._left == 0 or not self._runner.alive:
            self.close()
            raise StopIteration
        try:
            event: Event = self._runner.run(self._next(), None)
        except (StopAsyncIteration, TimeoutError, asyncio.TimeoutError):
            self.close()
            raise StopIteration from None
        if self._left is not None:
            self._left -= 1
        return event

    async def _next(self) -> Event:
        get = self._source.__anext__()
        if self._idle_timeout is None:
            return await get  # type: ignore[no-any-return]
        return await asyncio.wait_for(get, self._idle_timeout)  # type: ignore[no-any-return]

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

    def __enter__(self) -> EventIterator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SyncClient:
    """A connected client driven from plain (blocking) code.

    Every ``ActionSender`` method is available as a blocking method of the same name and
    signature (``client.ping()``, ``client.command("core show channels")``,
    ``client.originate("PJSIP/100", exten="200", context="default")``...).
    """

    def __init__(self, client: Client, runner: _LoopThread) -> None:
        self._client = client
        self._runner = runner
        self._sender = ActionSender(client)
        self._closed = False

    # -- ActionSender methods, forwarded ---------------------------------------------------

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name in PUBLIC_METHODS:
            method = getattr(self._sender, name)

            def blocking(*args: Any, **kwargs: Any) -> Any:
                return self._runner.run(method(*args, **kwargs))

            blocking.__name__ = name
            blocking.__doc__ = method.__doc__
            return blocking
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(PUBLIC_METHODS))

    # -- the client's own API --------------------------------------------------------------

    @property
    def client(self) -> Client:
        """The underlying asyncio ``Client`` (only touch it from the loop thread)."""
        return self._client

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._runner.loop

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
    ) -> EventIterator:
        """Iterate over events (all, or those named), blocking for each.

        ``count`` stops after that many events; ``idle_timeout`` stops after that many seconds
        without one. Other keywords (``maxsize``...) go to ``Client.events``.
        """

        async def subscribe() -> Any:
            return self._client.events(*names, **kwargs)

        source = self._runner.run(subscribe())
        return EventIterator(self._runner, source, count=count, idle_timeout=idle_timeout)

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

    def close(self) -> None:
        """Close at once (pending requests fail), stop the loop and join its thread."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._runner.alive:

                async def shut() -> None:
                    self._client.close()
                    await self._client.wait_closed()

                self._runner.run(shut(), 10.0)
        finally:
            self._runner.stop()

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


def connect(url: str, **kwargs: Any) -> SyncClient:
    """Connect (and log in) in a private loop thread; same arguments as ``ami_fast.Factory``.

    Raises what ``Factory.create_client`` raises (``ValueError`` for a bad URL,
    ``AuthenticationError``, ``ConnectionRefusedError``...), after stopping the thread.
    """
    from .factory import Factory

    runner = _LoopThread()

    async def create() -> Client:
        return await Factory(**kwargs).create_client(url)

    try:
        client = runner.run(create())
    except BaseException:
        runner.stop()
        raise
    return SyncClient(client, runner)
