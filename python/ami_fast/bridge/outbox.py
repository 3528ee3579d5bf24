"""Outbox: one server's bounded buffer of messages on their way into JetStream (sans-IO).

Every message waits here from the moment its event was read until JetStream acknowledged it.
The pump takes messages in order (``take``) while fewer than ``max_in_flight`` are
unacknowledged; an acknowledgement (``ack``) frees them; ``rewind`` puts every unacknowledged
message back in front of the waiting ones (go-back-N after a timeout, an error or a broker
reconnect), so the stream receives them again in order and JetStream's ``Nats-Msg-Id``
window drops the copies it already stored.

Bound and overflow policy: at most ``max_events`` messages and ``max_bytes`` payload bytes
(waiting plus in flight). When a new event would exceed it:

- ``drop_newest`` (default): the new event is dropped. What is kept is one contiguous run
  of the oldest events, so the gap is a single range of sequence numbers.
- ``drop_oldest``: the oldest *waiting* (not in-flight) message is dropped instead, keeping
  the freshest events.

Either way the drop is counted (``dropped``, ``drops_unreported``). Markers (connection lost,
reconnected, dropped) are never dropped: they may exceed the bound, and they are rare.
"""

from __future__ import annotations

from collections import deque
from typing import Literal

__all__ = ["Entry", "Outbox"]

Overflow = Literal["drop_newest", "drop_oldest"]

WAITING, IN_FLIGHT, ACKED, DROPPED = 0, 1, 2, 3


class Entry:
    """One message: subject, JSON payload, headers (``Nats-Msg-Id``) and its ack subject."""

    __slots__ = ("box", "headers", "payload", "received", "reply", "sent_at", "size", "state", "subject")

    def __init__(
        self, box: Outbox, subject: str, payload: bytes, headers: dict[str, str], reply: str, received: float
    ) -> None:
        self.box = box
        self.subject = subject
        self.payload = payload
        self.headers = headers
        self.reply = reply
        self.received = received  # monotonic time the event was read (publish latency)
        self.size = len(payload)
        self.sent_at = 0.0
        self.state = WAITING


class Outbox:
    """Bounded, ordered buffer plus in-flight window for one server. See the module docstring.

    ``sent`` maps an ack subject to its entry for every message sent at least once and not yet
    acknowledged; it may be shared by several outboxes (one ack subscription per bridge).
    """

    def __init__(
        self,
        server: str,
        *,
        max_events: int = 100_000,
        max_bytes: int = 64 << 20,
        overflow: Overflow = "drop_newest",
        max_in_flight: int = 1024,
        sent: dict[str, Entry] | None = None,
    ) -> None:
        if overflow not in ("drop_newest", "drop_oldest"):
            raise ValueError("overflow must be 'drop_newest' or 'drop_oldest'")
        if max_events < 1 or max_bytes < 1 or max_in_flight < 1:
            raise ValueError("max_events, max_bytes and max_in_flight must be at least 1")
        self.server = server
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.overflow: Overflow = overflow
        self.max_in_flight = max_in_flight
        self.sent: dict[str, Entry] = {} if sent is None else sent
        self.waiting: deque[Entry] = deque()
        self.in_flight: deque[Entry] = deque()  # sent, in send order; acked ones leave from the left
        self.unacked_in_flight = 0
        self.bytes = 0
        # counters
        self.accepted = 0
        self.acked = 0
        self.duplicates = 0  # acks saying JetStream had it already (a retry that was not needed)
        self.dropped = 0
        self.drops_unreported = 0
        self.resent = 0
        self.high_water = 0

    def __len__(self) -> int:
        """Messages held: waiting plus in flight (the buffer depth)."""
        return len(self.waiting) + len(self.in_flight)

    @property
    def full(self) -> bool:
        return len(self) >= self.max_events or self.bytes >= self.max_bytes

    def add(self, entry: Entry, *, force: bool = False) -> bool:
        """Queue ``entry``; ``False`` when the overflow policy dropped it. ``force`` (markers)
        ignores the bound."""
        over = len(self) >= self.max_events or self.bytes + entry.size > self.max_bytes
        if over and not force:  # noqa: SIM102 - two separate decisions: over the bound, then the policy
            if self.overflow == "drop_newest" or not self._drop_oldest_waiting(entry.size):
                entry.state = DROPPED
                self.dropped += 1
                self.drops_unreported += 1
                return False
        self.waiting.append(entry)
        self.bytes += entry.size
        self.accepted += 1
        depth = len(self)
        if depth > self.high_water:
            self.high_water = depth
        return True

    def _drop_oldest_waiting(self, room: int) -> bool:
        """Drop waiting entries (oldest first) until ``room`` bytes and one slot are free."""
        waiting = self.waiting
        while waiting and (len(self) >= self.max_events or self.bytes + room > self.max_bytes):
            old = waiting.popleft()
            if old.state == ACKED:  # acked after a rewind: already stored, just forget it
                continue
            self.bytes -= old.size
            old.state = DROPPED
            self.sent.pop(old.reply, None)
            self.dropped += 1
            self.drops_unreported += 1
        return len(self) < self.max_events and self.bytes + room <= self.max_bytes

    def take(self, now: float) -> Entry | None:
        """The next entry to send, moved in flight; ``None`` when nothing waits or the window
        (``max_in_flight`` unacknowledged) is full."""
        if self.unacked_in_flight >= self.max_in_flight:
            return None
        waiting = self.waiting
        while waiting:
            entry = waiting.popleft()
            if entry.state == ACKED:  # its ack came in after a rewind
                continue
            if entry.sent_at:
                self.resent += 1
            entry.state = IN_FLIGHT
            entry.sent_at = now
            self.in_flight.append(entry)
            self.unacked_in_flight += 1
            self.sent[entry.reply] = entry
            return entry
        return None

    def ack(self, entry: Entry, *, duplicate: bool = False) -> bool:
        """JetStream stored ``entry``. Returns ``True`` when it was new to us (not already acked)."""
        state = entry.state
        if state in (ACKED, DROPPED):
            return False
        self.sent.pop(entry.reply, None)
        entry.state = ACKED
        self.acked += 1
        self.bytes -= entry.size
        if duplicate:
            self.duplicates += 1
        if state == IN_FLIGHT:
            self.unacked_in_flight -= 1
            in_flight = self.in_flight
            while in_flight and in_flight[0].state == ACKED:
                in_flight.popleft()
        # An ACKED entry still in ``waiting`` (rewound) is skipped by take(): its bytes are
        # already released above, and len() counts it until then, which errs on the safe side.
        return True

    def rewind(self) -> int:
        """Put every unacknowledged in-flight entry back at the head of the queue, in order.
        Returns how many."""
        back = [e for e in self.in_flight if e.state == IN_FLIGHT]
        self.in_flight.clear()
        self.unacked_in_flight = 0
        for e in back:
            e.state = WAITING
        self.waiting.extendleft(reversed(back))
        return len(back)

    def oldest_sent_at(self) -> float | None:
        """Send time of the oldest unacknowledged in-flight entry (ack timeouts)."""
        for e in self.in_flight:
            if e.state == IN_FLIGHT:
                return e.sent_at
        return None

    def forget_all(self) -> int:
        """Drop everything held (shutdown after the drain timeout); returns how many were lost."""
        lost = sum(1 for e in self.waiting if e.state != ACKED) + self.unacked_in_flight
        for e in (*self.waiting, *self.in_flight):
            self.sent.pop(e.reply, None)
        self.waiting.clear()
        self.in_flight.clear()
        self.unacked_in_flight = 0
        self.bytes = 0
        return lost
