"""The pure twin's fast paths against a deliberately plain line-by-line reference.

The twin frames and splits CRLF-only messages with whole-buffer searches and one regex; every
other shape goes through an exact slow path. These tests build messages that mix both (bare LF,
stray CR, colon-less lines, odd separators, invalid UTF-8) and check every field against a
reference that does nothing clever, so they do not need the native extension.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ami_fast import _pyparser


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


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
    if items:
        folded = items[0][0].encode("utf-8", "surrogateescape").lower()
        kinds = {b"event": "event", b"response": "response", b"action": "action"}
        if folded in kinds:
            kind, name = kinds[folded], items[0][1]
    action_id = next((v for k, v in items if k.encode("utf-8", "surrogateescape").lower() == b"actionid"), None)
    first: dict[bytes, str] = {}
    for k, v in items:
        first.setdefault(k.encode("utf-8", "surrogateescape").lower(), v)
    return {
        "items": items,
        "extra": extra,
        "kind": kind,
        "name": name,
        "action_id": action_id,
        "first": first,
    }


def _check(message: Any, raw: bytes) -> None:
    want = _reference(raw)
    assert message.raw == raw
    assert (message.kind, message.name) == (want["kind"], want["name"])
    assert message.action_id == want["action_id"]
    assert message.items() == want["items"]
    assert message.extra_lines == want["extra"]
    assert len(message) == len(want["items"])
    assert message.keys() == [k for k, _ in want["items"]]
    for key, _ in want["items"]:
        folded = key.encode("utf-8", "surrogateescape").lower()
        assert message.get_field_value(key) == want["first"][folded]
        swapped = key.encode("utf-8", "surrogateescape").swapcase().decode("utf-8", "surrogateescape")
        assert message.get_field_values(swapped) == [
            v for k, v in want["items"] if k.encode("utf-8", "surrogateescape").lower() == folded
        ]


KEYS = [b"Event", b"Response", b"ActionID", b"Channel", b"ChanVariable", b"K\xc3\xa9y", b"X\rY", b"", b"CallerIDName"]
VALUES = [b"", b" ", b"Newchannel", b"Success", b"a: b", b"a:b", b"x\ry", b"\xff\xfe", b"Z\xc3\xb6e", b"ends:", b"ends\r"]
SEPS = [b": ", b":", b":  ", b" : "]
EOLS = [b"\r\n"] * 6 + [b"\n"]


@st.composite
def _line(draw: Any) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        body = draw(st.sampled_from([b"free text", b"Output", b"\xc3\xa9t\xc3\xa9", b"x\ry", b"\r\r"]))
    else:
        body = draw(st.sampled_from(KEYS)) + draw(st.sampled_from(SEPS)) + draw(st.sampled_from(VALUES))
    return body + draw(st.sampled_from(EOLS))


@st.composite
def _message(draw: Any) -> bytes:
    lines = [line for line in draw(st.lists(_line(), min_size=1, max_size=12)) if line not in (b"\n", b"\r\n")]
    if not lines or lines[0].lower().startswith(b"response:") and b"follows" in lines[0].lower():
        lines.insert(0, b"Event: X\r\n")
    return b"".join(lines) + draw(st.sampled_from(EOLS))


@settings(max_examples=200, deadline=None)
@given(st.lists(_message(), min_size=1, max_size=6), st.integers(1, 64))
def test_fields_match_the_reference(messages: list[bytes], step: int) -> None:
    data = b"".join(messages)
    for chunks in ([data], [data[i : i + step] for i in range(0, len(data), step)]):
        parser = _pyparser.Parser()
        out = [m for chunk in chunks for m in parser.feed(chunk)]
        assert len(out) == len(messages)
        for message, raw in zip(out, messages):
            _check(message, raw)


def test_typical_event_takes_the_fast_path_and_matches() -> None:
    raw = (
        b"Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/trunk-0001\r\n"
        b"CallerIDName: J\xc3\xbcrgen\r\nAccountCode: \r\nUniqueid: 1700000000.1\r\n"
        b"ChanVariable: A=1\r\nChanVariable: B=2\r\nAppData: x:y: z\r\nEmpty:\r\n\r\n"
    )
    (message,) = _pyparser.Parser().feed(raw)
    _check(message, raw)
    assert message.get_field_values("chanvariable") == ["A=1", "B=2"]
    assert message["APPDATA"] == "x:y: z"


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
        _check(message, raw)
