"""The native message's line table and its shared caches, against the pure twin.

The extension keeps each message's lines in one of two layouts (inline for ordinary
messages, boxed for more than 40 lines or a line over 254 bytes) and hands out `(key, value)`
tuples and names from process-wide / per-parser caches. Every read must still equal the pure
twin's, whichever layout and whether the cache hit, missed or evicted.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from ami_fast import _pyparser
from conftest import NATIVE, needs_native

pytestmark = needs_native

native: Any = NATIVE


def reads(msg: Any) -> dict[str, Any]:
    """Everything a reader can get out of a message's fields."""
    keys = msg.keys()
    probes = [*keys[:3], *(k.swapcase() for k in keys[:3]), "ActionID", "Missing", "Output"]
    return {
        "class": type(msg).__name__,
        "name": msg.name,
        "kind": msg.kind,
        "action_id": msg.action_id,
        "items": msg.items(),
        "keys": keys,
        "fields": msg.get_fields(),
        "extra": msg.extra_lines,
        "len": len(msg),
        "first": [msg.get_field_value(k) for k in probes],
        "all": [msg.get_field_values(k) for k in probes],
        "in": [k in msg for k in probes],
        "raw": msg.raw,
    }


def same_as_twin(data: bytes) -> list[Any]:
    ours: list[Any] = native.Parser().feed(data)
    twin: list[Any] = _pyparser.Parser().feed(data)
    assert [reads(m) for m in ours] == [reads(m) for m in twin]
    return ours


@pytest.mark.parametrize("lines", [39, 40, 41, 300])
def test_many_lines(lines: int) -> None:
    # Around the inline capacity, with colon-less lines and repeated keys mixed in.
    body = b"".join(
        b"Key%d: v%d\r\n" % (i % 7, i) if i % 5 else b"no colon %d\r\n" % i for i in range(lines - 1)
    )
    (msg,) = same_as_twin(b"Event: Many\r\n" + body + b"\r\n")
    assert len(msg.extra_lines) == len([i for i in range(lines - 1) if i % 5 == 0])


@pytest.mark.parametrize("length", [250, 251, 252, 253, 254, 255, 256, 1000, 70_000])
def test_long_lines(length: int) -> None:
    # Line lengths (through the LF) around the inline limit of 254, one far beyond 64 KiB.
    value = b"x" * (length - len(b"Long: ") - 2)
    data = b"Event: Long\r\nA: 1\r\nLong: " + value + b"\r\nB: 2\n:\r\n\r\n"
    (msg,) = same_as_twin(data)
    assert msg.get_field_value("long") == value.decode()


def test_colon_positions_and_line_ends() -> None:
    data = (
        b"Event: E\r\n"
        b"NoSpace:v\r\n"
        b"TwoSpaces:  v\r\n"
        b"Empty:\r\n"
        b"OnlySpace: \r\n"
        b":leading\r\n"
        b"Colons: a: b: c\r\n"
        b"Bare: lf\n"
        b"Cr\r: in key\r\n"
        b"Lone\rcr\r\n"
        b"\r\n"
    )
    same_as_twin(data)


def test_items_stay_correct_while_the_cache_churns() -> None:
    # Many distinct short lines (evictions), long ones (never cached), repeats (hits), and
    # the same line in messages of both layouts.
    rng = random.Random(7)
    parts = []
    for n in range(3000):
        fields = [b"Event: E%d" % (n % 5), b"Privilege: call,all", b"Seq: %d" % n]
        extra = rng.randrange(1, 8)
        fields += [b"K%d: %d" % (rng.randrange(50), rng.randrange(20_000)) for _ in range(extra)]
        fields.append(b"Long: " + b"y" * rng.randrange(30, 60))
        if n % 97 == 0:
            fields += [b"Pad: %d" % i for i in range(45)]
        parts.append(b"\r\n".join(fields) + b"\r\n\r\n")
    data = b"".join(parts)
    ours = native.Parser().feed(data)
    twin: list[Any] = _pyparser.Parser().feed(data)
    assert len(ours) == 3000
    for _ in range(2):  # the second round reads through a warm cache
        assert [m.items() for m in ours] == [m.items() for m in twin]
        assert [m.get_fields() for m in ours] == [m.get_fields() for m in twin]


def test_cached_items_are_fresh_lists_of_shared_tuples() -> None:
    a, b = native.Parser().feed(b"Event: A\r\nPrivilege: call,all\r\n\r\n" * 2)
    first, second = a.items(), b.items()
    assert first == second == [("Event", "A"), ("Privilege", "call,all")]
    assert first is not second
    first.append(("x", "y"))  # a caller's list is its own
    assert b.items() == second


def test_names_over_the_cache_limit_and_undecodable() -> None:
    long_name = b"N" * 40
    data = b"Event: " + long_name + b"\r\n\r\nEvent: \xff\xfeodd\r\n\r\nEvent:\r\n\r\n"
    ours = same_as_twin(data + data)
    assert ours[0].name == long_name.decode()
    assert ours[1].name == b"\xff\xfeodd".decode("utf-8", "surrogateescape")
    assert ours[2].name == ""
    assert ours[1].name is ours[4].name


def test_raw_and_name_are_read_only_attributes() -> None:
    (msg,) = native.Parser().feed(b"Event: A\r\n\r\n")
    for attr in ("raw", "name"):
        with pytest.raises(AttributeError):
            setattr(msg, attr, None)
    (unknown,) = native.Parser().feed(b"Foo: bar\r\n\r\n")
    assert unknown.name is None
