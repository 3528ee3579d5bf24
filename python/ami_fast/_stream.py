"""The bounded async queue behind ``Client.events()`` and ``ReconnectingClient.events()``.

Subclasses decide what gets in (``_push``), what a full queue drops, and how ``close`` detaches
the stream from its owner (``_detach``); the queue, the wake-up and the ending live here.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Generic, TypeVar

T = TypeVar("T")
S = TypeVar("S", bound="BoundedStream[Any]")


class BoundedStream(Generic[T]):
    def __init__(self, names: frozenset[str] | None, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self._names = names
        self.maxsize = maxsize
        self._queue: deque[T] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._ended = False
        self._error: BaseException | None = None
        self.dropped = 0

    def __aiter__(self: S) -> S:
        return self

    async def __anext__(self) -> T:
        while True:
            if self._queue:
                return self._queue.popleft()
            if self._ended:
                if self._error is not None:
                    raise self._error
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _end(self, error: BaseException | None = None) -> None:
        if self._ended:
            return
        self._ended = True
        self._error = error
        self._wake()

    def _detach(self) -> None:
        """Remove this stream from its owner (called once by :meth:`close`)."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop receiving; already queued items can still be read."""
        self._detach()
        self._end()

    async def aclose(self) -> None:
        self.close()

    async def __aenter__(self: S) -> S:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
