"""UserEvent floods: 100,000 events counted exactly; a slow consumer on the default user
(100 ms writetimeout) keeps its connection and every drop is counted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

import ami_fast
from ami_fast import ActionSender, Event

from .conftest import AmiServer

FLOOD = 100_000
WINDOW = 2_000  # UserEvents in flight at once on the sender connection


async def _send_user_events(url: str, tag: str, count: int) -> None:
    """Pipeline ``count`` UserEvents named ``tag`` with a ``Seq`` header, WINDOW at a time."""
    async with ami_fast.connect(url, events=False, timeout=60) as sender:
        actions = ActionSender(sender)
        for start in range(0, count, WINDOW):
            await asyncio.gather(
                *(actions.user_event(tag, {"Seq": seq}) for seq in range(start, min(start + WINDOW, count)))
            )
        assert sender.stats.events_received == 0  # Events: off at login


async def flood_from_another_thread(url: str, tag: str, count: int) -> None:
    """Send the flood from a thread with its own event loop, like a separate program would:
    a listener that blocks its own loop must not slow the sender down."""
    await asyncio.to_thread(asyncio.run, _send_user_events(url, tag, count))


async def _until(condition: Callable[[], bool], timeout: float, what: Callable[[], str]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting: {what()}")
        await asyncio.sleep(0.02)


async def test_user_event_flood_loses_nothing(ami_server: AmiServer, tag: str) -> None:
    # amibulk (10 s writetimeout) for the listener: it shares the CPUs with the sender and
    # with Asterisk, so it may fall a little behind for a moment.
    seqs: list[int] = []

    def on_user_event(event: Event) -> None:
        if event.get_field_value("UserEvent") == tag:
            seqs.append(int(event.get_field_value("Seq") or -1))

    async with ami_fast.connect(ami_server.url_for("amibulk"), events="user", timeout=60) as listener:
        listener.on_event("UserEvent", on_user_event)
        await flood_from_another_thread(ami_server.url_for("amibulk"), tag, FLOOD)
        await _until(lambda: len(seqs) >= FLOOD, 60, lambda: f"{len(seqs)} of {FLOOD} events")
        await ActionSender(listener).ping()  # anything still in flight has arrived by now
        assert listener.stats.events_dropped == 0
        assert listener.stats.protocol_errors == 0
    assert len(seqs) == FLOOD
    assert seqs == list(range(FLOOD))  # none lost, none duplicated, in order


def _slow_sync(delivered: list[Event]) -> Callable[[Event], None]:
    def callback(event: Event) -> None:
        time.sleep(0.002)  # a consumer that burns a few ms per event, blocking the loop
        delivered.append(event)

    return callback


def _slow_async(delivered: list[Event]) -> Callable[[Event], Awaitable[None]]:
    async def callback(event: Event) -> None:
        await asyncio.sleep(0.002)  # a consumer that awaits a few ms of I/O per event
        delivered.append(event)

    return callback


# More than the kernel's socket buffers hold (~4 MB), so a reader that stalls is noticed.
SLOW_FLOOD = 60_000
QUEUE = 1_000


@pytest.mark.parametrize("make_callback", [_slow_sync, _slow_async], ids=["sync", "async"])
async def test_slow_consumer_keeps_the_connection_and_counts_drops(
    ami_server: AmiServer, tag: str, make_callback: Callable[[list[Event]], Callable[[Event], object]]
) -> None:
    # The listener uses the default user "ami": Asterisk drops a reader that makes no progress
    # for 100 ms. The documented policy (drop_oldest) must keep reading, and count every drop.
    delivered: list[Event] = []
    async with ami_fast.connect(
        ami_server.url, events="user", dispatch_queue=QUEUE, overflow="drop_oldest", timeout=60
    ) as listener:
        listener.on("event", make_callback(delivered))
        stats = listener.stats
        await flood_from_another_thread(ami_server.url_for("amibulk"), tag, SLOW_FLOOD)
        # Everything the server sent is either delivered or counted as dropped.
        await _until(
            lambda: (
                listener.closed
                or (
                    stats.events_received >= SLOW_FLOOD
                    and len(delivered) + stats.events_dropped == stats.events_received
                )
            ),
            60,
            lambda: f"{stats.events_received} in, {len(delivered)} delivered, {stats.events_dropped} dropped",
        )
        assert not listener.closed, f"Asterisk disconnected the slow consumer: {listener.close_reason!r}"
        assert (await ActionSender(listener).ping()).name == "Success"

        ours = [
            int(e.get_field_value("Seq") or -1) for e in delivered if e.get_field_value("UserEvent") == tag
        ]
        assert stats.events_received >= SLOW_FLOOD
        assert len(delivered) + stats.events_dropped == stats.events_received  # nothing vanished
        assert stats.events_dropped > 0  # the queue really overflowed, and it was counted
        assert len(ours) + stats.events_dropped >= SLOW_FLOOD
        assert ours == sorted(set(ours))  # drop_oldest keeps the order, never duplicates
