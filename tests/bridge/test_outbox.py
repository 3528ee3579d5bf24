"""The bounded buffer and in-flight window, without a broker."""

from __future__ import annotations

import pytest

from ami_fast.bridge.outbox import Entry, Outbox


def entry(box: Outbox, n: int, size: int = 10) -> Entry:
    return Entry(box, "s", b"x" * size, {"Nats-Msg-Id": f"a.1.{n}"}, f"r.{n}", 0.0)


def fill(box: Outbox, count: int, **kw: int) -> list[Entry]:
    out = [entry(box, n, **kw) for n in range(count)]
    for e in out:
        box.add(e)
    return out


def test_window_and_in_order_acks() -> None:
    box = Outbox("a", max_in_flight=3)
    items = fill(box, 5)
    taken = [box.take(1.0) for _ in range(4)]
    assert taken == [*items[:3], None]  # window of 3
    assert box.ack(items[1]) and not box.ack(items[1])  # second ack of the same message: no-op
    assert box.take(1.0) is items[3]  # an out-of-order ack opens the window too
    assert len(box.in_flight) == 4  # but the acked one leaves only when the head is acked
    box.ack(items[0])
    assert [e.reply for e in box.in_flight] == ["r.2", "r.3"]
    assert box.acked == 2 and len(box) == 3


def test_rewind_resends_in_order_and_skips_late_acks() -> None:
    box = Outbox("a", max_in_flight=10)
    items = fill(box, 6)
    for _ in range(4):
        box.take(1.0)
    box.ack(items[1])
    assert box.rewind() == 3  # 0, 2, 3 go back in front of 4, 5
    assert [e.reply for e in box.waiting] == ["r.0", "r.2", "r.3", "r.4", "r.5"]
    assert box.oldest_sent_at() is None
    box.ack(items[2])  # a late ack for a rewound message: it is not sent again
    order = []
    while (e := box.take(2.0)) is not None:
        order.append(e.reply)
    assert order == ["r.0", "r.3", "r.4", "r.5"]
    assert box.resent == 2  # r.0 and r.3 went out twice
    assert set(box.sent) == {"r.0", "r.3", "r.4", "r.5"}


def test_drop_newest_keeps_the_oldest_run() -> None:
    box = Outbox("a", max_events=3)
    items = fill(box, 5)
    assert [e.reply for e in box.waiting] == ["r.0", "r.1", "r.2"]
    assert box.dropped == box.drops_unreported == 2 and items[4].state == 3
    assert box.add(entry(box, 99), force=True)  # markers are never dropped
    assert len(box) == 4


def test_drop_oldest_keeps_the_freshest_but_never_in_flight() -> None:
    box = Outbox("a", max_events=3, overflow="drop_oldest")
    items = fill(box, 2)
    box.take(1.0)  # r.0 in flight
    for n in range(2, 5):
        box.add(entry(box, n))
    assert [e.reply for e in box.in_flight] == ["r.0"]
    assert [e.reply for e in box.waiting] == ["r.3", "r.4"]
    assert box.dropped == 2 and items[1].state == 3


def test_byte_bound() -> None:
    box = Outbox("a", max_events=100, max_bytes=100)
    fill(box, 12, size=10)
    assert len(box) == 10 and box.bytes == 100 and box.dropped == 2 and box.full
    e = box.take(1.0)
    assert e is not None
    box.ack(e)
    assert box.bytes == 90 and not box.full


def test_forget_all_counts_what_is_lost() -> None:
    box = Outbox("a", max_in_flight=2)
    items = fill(box, 4)
    box.take(1.0)
    box.take(1.0)
    box.ack(items[0])
    assert box.forget_all() == 3 and len(box) == 0 and not box.sent


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        Outbox("a", overflow="block")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Outbox("a", max_in_flight=0)
