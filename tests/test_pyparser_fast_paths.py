"""The pure twin's fast paths against a plain reading of the contract.

The twin frames runs of CRLF messages with one regex scan and splits fields through a shared
line -> pair cache; both must give exactly what the contract's line-by-line rules give, whatever
the cache already holds and however the stream mixes CRLF and bare-LF line ends.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from ami_fast import _pymessages
from ami_fast._pymessages import Message
from ami_fast._pyparser import Parser


def one(raw: bytes) -> Message:
    (message,) = Parser().feed(raw)
    assert isinstance(message, Message)
    return message


def reference_fields(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Contract rules, one line at a time: LF ends a line, one CR before it belongs to the end."""
    items: list[tuple[str, str]] = []
    extra: list[str] = []
    for line in text.split("\n")[:-1]:
        if line.endswith("\r"):
            line = line[:-1]
        key, sep, value = line.partition(":")
        if not sep:
            extra.append(line)
            continue
        items.append((key, value[1:] if value.startswith(" ") else value))
    return items, extra


def reference_messages(stream: bytes) -> list[bytes]:
    """Each message's header bytes, framed the slow way: up to the first empty line."""
    out: list[bytes] = []
    lines = stream.split(b"\n")[:-1]
    current: list[bytes] = []
    for line in lines:
        if line in (b"", b"\r"):
            if current:
                out.append(b"".join(x + b"\n" for x in current))
                current = []
            continue
        current.append(line)
    return out


LINE = st.lists(
    st.sampled_from(
        [b"Event", b"Key", b"k", b":", b" ", b"  ", b"\r", b"x", b"\xc3\xa9", b"\xff", b"a" * 45]
    ),
    min_size=1,
    max_size=6,
).map(b"".join)
ENDING = st.sampled_from([b"\r\n", b"\r\n", b"\r\n", b"\n"])
MESSAGE = st.lists(st.tuples(LINE, ENDING), min_size=1, max_size=8).map(
    lambda lines: b"".join(line + end for line, end in lines if line.strip(b"\r\n"))
)


def check_stream(messages: list[tuple[bytes, bytes]]) -> None:
    """Each message followed by its empty line (CRLF or a bare LF)."""
    stream = b"".join(m + blank for m, blank in messages if m and not m.startswith((b"\r", b"R", b"r")))
    heads = reference_messages(stream)
    parsed = Parser().feed(stream)
    assert len(parsed) == len(heads)
    for message, head in zip(parsed, heads, strict=True):
        assert isinstance(message, Message)
        items, extra = reference_fields(head.decode("utf-8", "surrogateescape"))
        assert message.items() == items
        assert message.extra_lines == extra


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(MESSAGE, st.sampled_from([b"\r\n", b"\r\n", b"\n"])), min_size=1, max_size=8))
def test_fields_and_framing_match_the_line_rules(messages: list[tuple[bytes, bytes]]) -> None:
    check_stream(messages)
    check_stream(messages)  # again, with every short line of the first pass cached


def test_a_cached_line_inside_a_bare_lf_line_is_not_taken_for_a_field() -> None:
    first = one(b"Event: A\r\nK: 1\r\nK: 2\r\n\r\n")
    assert first.items() == [("Event", "A"), ("K", "1"), ("K", "2")]
    # "K: 1\nK: 2" is one CRLF-delimited piece but two lines; "K: 1" alone is cached.
    second = one(b"Event: A\r\nK: 1\nK: 2\r\n\r\n")
    assert second.items() == [("Event", "A"), ("K", "1"), ("K", "2")]
    third = one(b"Event: A\r\nK: 1\r\nno colon\r\n\r\n")
    assert third.items() == [("Event", "A"), ("K", "1")]
    assert third.extra_lines == ["no colon"]


def test_values_keep_what_the_contract_keeps() -> None:
    raw = b"Event: A\r\nB:\r\nC:x\r\nD:  two\r\n:empty key\r\nE: cr\r\r\nF: caf\xc3\xa9 \xff\r\n\r\n"
    for _ in range(2):  # cold, then from the cache
        message = one(raw)
        assert message.items() == [
            ("Event", "A"),
            ("B", ""),
            ("C", "x"),
            ("D", " two"),
            ("", "empty key"),
            ("E", "cr\r"),
            ("F", "caf\xe9 \udcff"),
        ]


def test_items_are_a_fresh_list_each_time() -> None:
    message = one(b"Event: A\r\nK: v\r\n\r\n")
    got = message.items()
    got.clear()
    assert message.items() == [("Event", "A"), ("K", "v")]


def test_the_pair_cache_stays_bounded() -> None:
    rng = random.Random(7)
    cache = _pymessages._pair_cache
    stream = b"".join(b"Event: E\r\nU: %d\r\nLong: %s\r\n\r\n" % (i, b"x" * 60) for i in range(12_000))
    parser = Parser()
    cuts = sorted(rng.sample(range(len(stream)), 50))
    seen = 0
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        for message in parser.feed(stream[start:end]):
            assert isinstance(message, Message)
            assert message.items()[1] == ("U", str(seen))
            seen += 1
            assert len(cache) <= _pymessages._CACHE_SIZE
    assert seen == 12_000
    assert not any(len(line) > _pymessages._CACHED_LINE for line in cache)
