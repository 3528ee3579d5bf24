"""Size limits at their exact boundaries, for every chunking, and bounded memory."""

from __future__ import annotations

from typing import Any

import pytest

from ami_fast.errors import MessageTooLargeError, ProtocolError
from conftest import Impl, run_chunks, splits

NEXT = b"Event: Next\r\n\r\n"


def _message_of(size: int, eol: bytes = b"\r\n") -> bytes:
    """A message whose *message bytes* (through its last LF) are exactly ``size``."""
    head = b"Event: Sized" + eol + b"Data: "
    return head + b"x" * (size - len(head) - len(eol)) + eol


def _kinds(results: list[tuple[Any, ...]]) -> list[str]:
    return [r[1] if r[0] == "error" else r[2] for r in results]


@pytest.mark.parametrize("eol", [b"\r\n", b"\n"])
@pytest.mark.parametrize("limit", [64, 100])
def test_max_message_bytes_boundary(parser_impl: Impl, limit: int, eol: bytes) -> None:
    for term in (b"\r\n", b"\n"):
        exact = _message_of(limit, eol) + term + NEXT
        over = _message_of(limit + 1, eol) + term + NEXT
        for name, chunks in splits(exact):
            assert _kinds(run_chunks(parser_impl, chunks, max_message_bytes=limit)) == ["Sized", "Next"], name
        for name, chunks in splits(over):
            result = run_chunks(parser_impl, chunks, max_message_bytes=limit)
            assert _kinds(result) == ["MessageTooLargeError", "Next"], name
            assert result[0][2] == f"message exceeds max_message_bytes ({limit})"
            assert result[0][3] == 0
            assert result[0][4] == over[:64]


def test_max_fields_boundary(parser_impl: Impl) -> None:
    exact = b"Event: F\r\n" + b"K: v\r\n" * 4 + b"\r\n"  # 5 lines
    over = b"Event: F\r\n" + b"K: v\r\n" * 5 + b"\r\n"  # 6 lines
    for name, chunks in splits(exact + NEXT):
        assert _kinds(run_chunks(parser_impl, chunks, max_fields=5)) == ["F", "Next"], name
    for name, chunks in splits(over + NEXT):
        result = run_chunks(parser_impl, chunks, max_fields=5)
        assert _kinds(result) == ["MessageTooLargeError", "Next"], name
        assert result[0][2] == "message exceeds max_fields (5)"
        assert result[0][4] == over[:40]  # through the LF of line 6


def test_colonless_lines_count_as_fields(parser_impl: Impl) -> None:
    data = b"Event: F\r\nfree text\r\nmore\r\n\r\n"
    assert _kinds(run_chunks(parser_impl, [data], max_fields=2)) == ["MessageTooLargeError"]
    assert _kinds(run_chunks(parser_impl, [data], max_fields=3)) == ["F"]


def test_max_follows_bytes_boundary(parser_impl: Impl) -> None:
    head = b"Response: Follows\r\nPrivilege: Command\r\n"
    tail = b"--END COMMAND--\r\n"

    def legacy(size: int) -> bytes:
        return head + b"o" * (size - len(head) - len(tail) - 1) + b"\n" + tail + b"\r\n"

    for name, chunks in splits(legacy(100) + NEXT):
        result = run_chunks(parser_impl, chunks, max_follows_bytes=100, max_message_bytes=64)
        assert _kinds(result) == ["Follows", "Next"], name
    for name, chunks in splits(legacy(101) + NEXT):
        result = run_chunks(parser_impl, chunks, max_follows_bytes=100, max_message_bytes=64)
        assert _kinds(result) == ["MessageTooLargeError", "Next"], name
        assert result[0][2] == "command output exceeds max_follows_bytes (100)"


def test_endless_line_costs_bounded_memory(parser_impl: Impl) -> None:
    parser = parser_impl.Parser(max_message_bytes=1000)
    results: list[Any] = []
    results += parser.feed(b"Event: Endless\r\nData: ")
    for _ in range(200):
        results += parser.feed(b"y" * 97)
        assert parser.buffered <= 1002
    assert [type(r) for r in results] == [MessageTooLargeError]
    assert parser.buffered == 0  # discarding: nothing held
    # The end of the endless message, then the stream carries on.
    assert [m.name for m in parser.feed(b"\r\n\r\n" + NEXT)] == ["Next"]
    assert parser.feed_eof() == []


def test_endless_follows_costs_bounded_memory(parser_impl: Impl) -> None:
    parser = parser_impl.Parser(max_follows_bytes=500)
    results: list[Any] = list(parser.feed(b"Response: Follows\r\n"))
    for _ in range(100):
        results += parser.feed(b"--END COMMAND-- not yet\n")
        assert parser.buffered <= 502
    assert [type(r) for r in results] == [MessageTooLargeError]
    # The end sequence split across feeds is still found while discarding.
    assert parser.feed(b"--END COMM") == []
    assert parser.feed(b"AND--\r") == []
    assert [m.name for m in parser.feed(b"\n\r\n" + NEXT)] == ["Next"]


def test_endless_first_line_is_not_held_for_the_banner(parser_impl: Impl) -> None:
    parser = parser_impl.Parser(max_message_bytes=64)
    results = parser.feed(b"Asterisk Call Manager/" + b"9" * 100)
    assert [type(r) for r in results] == [MessageTooLargeError]
    assert parser.version is None
    assert parser.feed(b"\r\n\r\n" + NEXT)[0].name == "Next"


def test_truncated_at_eof_and_reset(parser_impl: Impl) -> None:
    parser = parser_impl.Parser()
    parser.feed(b"Asterisk Call Manager/11.0.0\r\nEvent: Cut\r\n")
    (error,) = parser.feed_eof()
    assert type(error) is ProtocolError
    assert (error.offset, error.raw, error.action_id) == (30, b"Event: Cut\r\n", None)
    assert str(error) == "connection closed in the middle of a message (12 bytes)"
    # After feed_eof() the parser starts over: banner again, offsets from 0.
    assert parser.version is None and parser.buffered == 0
    parser.feed(b"Asterisk Call Manager/2.0\r\n")
    assert parser.version == "2.0"
    parser.feed(b"Event: A\r\n")
    assert parser.feed_eof()[0].offset == 27


def test_blank_leftovers_at_eof_are_not_an_error(parser_impl: Impl) -> None:
    for tail in (b"", b"\r", b"\r\n", b"\n\n\r\n"):
        parser = parser_impl.Parser()
        parser.feed(NEXT + tail)
        assert parser.feed_eof() == [], tail


@pytest.mark.parametrize(
    ("kwargs", "exc"),
    [
        ({"max_message_bytes": 63}, ValueError),
        ({"max_follows_bytes": 10}, ValueError),
        ({"max_fields": 0}, ValueError),
        ({"max_message_bytes": "big"}, TypeError),
        ({"max_fields": 1.5}, TypeError),
    ],
)
def test_bad_limits_are_refused(parser_impl: Impl, kwargs: dict[str, Any], exc: type[Exception]) -> None:
    with pytest.raises(exc):
        parser_impl.Parser(**kwargs)


def test_limits_at_their_minimum_work(parser_impl: Impl) -> None:
    parser = parser_impl.Parser(max_message_bytes=64, max_fields=1, max_follows_bytes=64)
    assert [m.name for m in parser.feed(b"Event: One\r\n\r\n")] == ["One"]
    assert [type(e) for e in parser.feed(b"Event: Two\r\nA: 1\r\n\r\n")] == [MessageTooLargeError]
