"""The pure twin's fast paths against a deliberately plain line-by-line reference.

The twin frames and splits CRLF-only messages with whole-buffer searches and one regex, and
answers a few lookups by byte search; every other shape goes through an exact slow path. These
tests build messages that mix both (bare LF, stray CR, colon-less lines, odd separators, invalid
UTF-8) and check every field against a reference that does nothing clever, so they do not need
the native extension.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ami_fast import _pyparser


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _fold(key: str) -> bytes:
    return key.encode("utf-8", "surrogateescape").lower()


def _reference(raw: bytes) -> dict[str, Any]:
    """What the contract says about one complete non-Follows message, line by line."""
    pieces = raw.split(b"\n")
    assert pieces[-1] == b"" and pieces[-2] in (b"", b"\r")  # the terminating empty line
    items: list[tuple[str, str]] = []
    extra: list[str] = []
    for line in pieces[:-2]:
        if line.endswith(b"\r"):
            line = line[:-1]
        key, sep, value = line.partition(b":")
        if not sep:
            extra.append(_decode(line))
            continue
        if value.startswith(b" "):
            value = value[1:]
        items.append((_decode(key), _decode(value)))
    kind, name = "unknown", None
    kinds = {b"event": "event", b"response": "response", b"action": "action"}
    if items and _fold(items[0][0]) in kinds:
        kind, name = kinds[_fold(items[0][0])], items[0][1]
    first: dict[bytes, str] = {}
    for k, v in items:
        first.setdefault(_fold(k), v)
    return {"items": items, "extra": extra, "kind": kind, "name": name, "first": first}


def _check_lookups(message: Any, want: dict[str, Any]) -> None:
    # Every key, a case variant of each, and keys no line can hold: more lookups than the twin
    # answers by byte search, so the search and the index both answer some of them.
    keys = [k for k, _ in want["items"]] + ["Absent", "", "a:b", "x\ny", "ActionID", "k"]
    for key in keys + [k.swapcase() for k in keys]:
        assert message.get_field_value(key) == want["first"].get(_fold(key)), key
        assert (key in message) == (_fold(key) in want["first"])
    for key in keys:
        assert message.get_field_values(key) == [v for k, v in want["items"] if _fold(k) == _fold(key)]


def _check(message: Any, raw: bytes, *, lookups_first: bool) -> None:
    want = _reference(raw)
    if lookups_first:
        _check_lookups(message, want)
    assert message.raw == raw
    assert (message.kind, message.name) == (want["kind"], want["name"])
    assert message.action_id == want["first"].get(b"actionid")
    assert message.items() == want["items"]
    assert message.extra_lines == want["extra"]
    assert len(message) == len(want["items"])
    assert message.keys() == [k for k, _ in want["items"]]
    _check_lookups(message, want)
    for key, _ in want["items"]:
        variant = _decode(key.encode("utf-8", "surrogateescape").swapcase())
        assert message.get_field_values(variant) == [v for k, v in want["items"] if _fold(k) == _fold(key)]


# "\xe2\x84\xaa" is the Kelvin sign: str.lower() turns it into "k", the ASCII fold must not.
KEYS = [
    b"Event",
    b"Response",
    b"ActionID",
    b"Channel",
    b"ChanVar",
    b"K\xc3\xa9y",
    b"X\rY",
    b"",
    b"\xe2\x84\xaa",
]
VALUES = [
    b"",
    b" ",
    b"Newchannel",
    b"Success",
    b"a: b",
    b"a:b",
    b"x\ry",
    b"\xff\xfe",
    b"Z\xc3\xb6",
    b"e:",
    b"e\r",
]
SEPS = [b": ", b":", b":  ", b" : "]
EOLS = [b"\r\n"] * 6 + [b"\n"]


@st.composite
def _line(draw: Any) -> bytes:
    body: bytes
    if draw(st.integers(0, 9)) == 0:
        body = draw(st.sampled_from([b"free text", b"Output", b"\xc3\xa9t\xc3\xa9", b"x\ry", b"\r\r"]))
    else:
        body = draw(st.sampled_from(KEYS)) + draw(st.sampled_from(SEPS)) + draw(st.sampled_from(VALUES))
    eol: bytes = draw(st.sampled_from(EOLS))
    return body + eol


@st.composite
def _message(draw: Any) -> bytes:
    lines = [x for x in draw(st.lists(_line(), min_size=1, max_size=12)) if x not in (b"\n", b"\r\n")]
    if not lines or (lines[0].lower().startswith(b"response:") and b"follows" in lines[0].lower()):
        lines.insert(0, b"Event: X\r\n")
    eol: bytes = draw(st.sampled_from(EOLS))
    return b"".join(lines) + eol


@settings(max_examples=200, deadline=None)
@given(st.lists(_message(), min_size=1, max_size=6), st.integers(1, 64))
def test_fields_match_the_reference(messages: list[bytes], step: int) -> None:
    data = b"".join(messages)
    pieces = [data[i : i + step] for i in range(0, len(data), step)]
    for lookups_first, chunks in ((True, [data]), (False, pieces)):
        parser = _pyparser.Parser()
        out = [m for chunk in chunks for m in parser.feed(chunk)]
        assert len(out) == len(messages)
        for message, raw in zip(out, messages, strict=True):
            _check(message, raw, lookups_first=lookups_first)


def test_typical_event_takes_the_fast_path_and_matches() -> None:
    raw = (
        b"Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/trunk-0001\r\n"
        b"CallerIDName: J\xc3\xbcrgen\r\nAccountCode: \r\nUniqueid: 1700000000.1\r\n"
        b"ChanVariable: A=1\r\nChanVariable: B=2\r\nAppData: x:y: z\r\nEmpty:\r\n\r\n"
    )
    message: Any
    for lookups_first in (True, False):
        (message,) = _pyparser.Parser().feed(raw)
        _check(message, raw, lookups_first=lookups_first)
    assert message.get_field_values("chanvariable") == ["A=1", "B=2"]
    assert message["APPDATA"] == "x:y: z"


def test_lookup_keys_that_no_line_can_hold() -> None:
    # A key ends at its line's first colon and never spans lines, whatever the bytes contain.
    raw = b"Event: E\r\nx\r\ny: 1\r\nK: a:b: c\r\n\r\n"
    message: Any
    (message,) = _pyparser.Parser().feed(raw)
    assert message.get_field_value("x\r\ny") is None
    assert message.get_field_value("K: a") is None
    assert message.get_field_value("k") == "a:b: c"
    assert message.extra_lines == ["x"]


def test_lookups_on_a_follows_response_never_read_the_body() -> None:
    raw = b"Response: Follows\r\nActionID: 7\r\nPrivilege: Command\r\nSecret: no\r\n--END COMMAND--\r\n\r\n"
    message: Any
    (message,) = _pyparser.Parser().feed(raw)
    assert message.get_field_value("actionid") == "7"
    assert message.get_field_value("Secret") is None
    assert message.get_command_output() == "Secret: no\r"  # only the last LF is dropped


def test_long_lines_without_colon_or_cr_stay_linear() -> None:
    # A backtracking split would rescan these lines from every position (quadratic); at this
    # size that would take minutes instead of milliseconds.
    long = b"x" * 300_000
    for body in (
        b"Event: A\r\n" + long + b"\r\n",
        b"Event: A\r\n" + long + b":\n",
        b"Event: A\r\n" + long + b"\r\nKey: v\r\n",
        b"Event: A\r\nKey: " + long + b"\rz\r\n",
        b"Event: A\r\n\r" + long + b": v\n",
    ):
        raw = body + b"\r\n"
        (message,) = _pyparser.Parser(max_message_bytes=1 << 22).feed(raw)
        _check(message, raw, lookups_first=False)
