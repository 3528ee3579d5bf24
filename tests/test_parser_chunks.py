"""Chunking independence and native == python on generated streams (Hypothesis)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import NATIVE_IMPL, PYTHON_IMPL, Impl, all_impls, needs_native, run_chunks, trace_chunks

KEYS = [
    "Event",
    "Response",
    "Action",
    "ActionID",
    "actionid",
    "Channel",
    "Output",
    "Variable",
    "Privilege",
    "X y",
]
VALUES = ["", " ", "Success", "Follows", "follows", "a: b", "Ärger", "--END COMMAND--", "x" * 40]

eol = st.sampled_from([b"\r\n", b"\n"])
text = st.sampled_from(VALUES).map(lambda v: v.encode()) | st.binary(max_size=12).filter(
    lambda b: b"\n" not in b
)


@st.composite
def field_line(draw: Any) -> bytes:
    key = draw(st.sampled_from(KEYS)).encode()
    sep = draw(st.sampled_from([b": ", b":", b":  "]))
    return key + sep + draw(text) + draw(eol)


@st.composite
def message(draw: Any) -> bytes:
    lines = draw(
        st.lists(
            field_line() | st.tuples(text, eol).map(lambda t: t[0] + t[1]),
            min_size=1,
            max_size=8,
        )
    )
    body = b"".join(line for line in lines if line.strip(b"\r\n"))
    if not body:
        body = b"Event: Empty\r\n"
    return body + draw(eol)


@st.composite
def follows(draw: Any) -> bytes:
    head = b"Response: Follows" + draw(eol)
    for _ in range(draw(st.integers(0, 2))):
        head += draw(st.sampled_from([b"Privilege: Command", b"ActionID: f1", b"actionid:x"])) + draw(eol)
    body = b"".join(draw(st.lists(st.tuples(text, eol).map(lambda t: t[0] + t[1]), max_size=4)))
    if draw(st.booleans()):
        body += draw(text)  # marker mid-line
    return head + body + b"--END COMMAND--" + draw(eol) + draw(eol)


@st.composite
def oversized(draw: Any) -> bytes:
    lines = [b"Event: Big\r\n"] + [b"Data: " + b"d" * draw(st.integers(0, 30)) + b"\r\n" for _ in range(12)]
    return b"".join(lines) + b"\r\n"


segment = st.one_of(
    message(),
    message(),
    follows(),
    oversized(),
    st.sampled_from([b"\r\n", b"\n", b"\r\n\r\n", b"\r"]),
    st.binary(max_size=20),
)


@st.composite
def stream(draw: Any) -> bytes:
    banner = draw(st.sampled_from([b"", b"Asterisk Call Manager/11.0.0\r\n", b"Proxy Manager/x\n"]))
    return banner + b"".join(draw(st.lists(segment, max_size=8)))


options = st.fixed_dictionaries(
    {
        "max_message_bytes": st.integers(64, 200),
        "max_fields": st.integers(1, 10),
        "max_follows_bytes": st.integers(64, 200),
        "strict": st.booleans(),
    }
)


def cut(data: bytes, points: list[int]) -> list[bytes]:
    bounds = sorted({p % (len(data) + 1) for p in points})
    pieces, last = [], 0
    for b in [*bounds, len(data)]:
        pieces.append(data[last:b])
        last = b
    return pieces


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(data=stream(), opts=options, points=st.lists(st.integers(0, 10_000), max_size=12))
def test_chunking_does_not_change_results(data: bytes, opts: dict[str, Any], points: list[int]) -> None:
    for impl in all_impls():
        assert run_chunks(impl, cut(data, points), **opts) == run_chunks(impl, [data], **opts), impl.name


@needs_native
@SETTINGS
@given(data=stream(), opts=options, points=st.lists(st.integers(0, 10_000), max_size=12))
def test_native_equals_python(data: bytes, opts: dict[str, Any], points: list[int]) -> None:
    assert NATIVE_IMPL is not None
    chunks = cut(data, points)
    assert trace_chunks(NATIVE_IMPL, chunks, **opts) == trace_chunks(PYTHON_IMPL, chunks, **opts)


STREAM = (
    b"Asterisk Call Manager/11.0.0\r\n"
    b"Response: Success\r\nActionID: 1\r\nMessage: ok\r\n\r\n"
    b"Event: A\nX: 1\n\n\r\n"
    b"Response: Follows\r\nPrivilege: Command\r\nout\n--END COMMAND--\r\n\r\n"
    b"Event: Tail\r\nChannel: c"
)


def test_growing_prefixes(parser_impl: Impl) -> None:
    # h11's tr() check: every prefix, fed whole, gives a prefix of the full result; and the
    # full stream fed as prefix + rest gives the full result.
    full = run_chunks(parser_impl, [STREAM], eof=False)
    for i in range(len(STREAM) + 1):
        head = run_chunks(parser_impl, [STREAM[:i]], eof=False)
        assert head == full[: len(head)]
        assert run_chunks(parser_impl, [STREAM[:i], STREAM[i:]], eof=False) == full


def test_buffered_tracks_the_unfinished_tail(parser_impl: Impl) -> None:
    parser = parser_impl.Parser()
    assert parser.buffered == 0
    parser.feed(b"Asterisk Call")
    assert parser.buffered == 13  # a partial first line waits for the banner check
    parser.feed(b" Manager/11.0.0\r\n")
    assert (parser.buffered, parser.version) == (0, "11.0.0")
    parser.feed(b"Event: X\r\nA: 1")
    assert parser.buffered == 14
    assert [m.name for m in parser.feed(b"\r\n\r\n\r\n\r")] == ["X"]
    assert parser.buffered == 1  # a lone CR may start an empty line
    assert parser.feed(b"\n") == []
    assert parser.buffered == 0


def test_empty_feed(parser_impl: Impl) -> None:
    parser = parser_impl.Parser()
    assert parser.feed(b"") == []
    assert parser.buffered == 0
    assert parser.feed_eof() == []


@pytest.mark.parametrize("bad", ["text", bytearray(b"x"), None, 5, memoryview(b"x")])
def test_feed_takes_bytes_only(parser_impl: Impl, bad: Any) -> None:
    with pytest.raises(TypeError):
        parser_impl.Parser().feed(bad)


def test_offsets_count_from_construction_and_reset(parser_impl: Impl) -> None:
    parser = parser_impl.Parser(strict=True)
    parser.feed(b"Asterisk Call Manager/11.0.0\r\n\r\n")  # 30 banner bytes + a blank line
    (error,) = parser.feed(b"Event: X\r\nbad\r\n\r\n")
    assert error.offset == 32
    assert str(error) == "line without a colon at offset 42"
    parser.reset()
    assert parser.version is None
    (error,) = parser.feed(b"Event: X\nY: 1\r\n\r\n")
    assert (error.offset, str(error)) == (0, "line ending without CR at offset 0")
