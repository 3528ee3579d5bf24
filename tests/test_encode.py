"""encode_action: output and every refusal, identical in both implementations."""

from __future__ import annotations

from typing import Any

import pytest

from ami_fast.errors import InvalidActionError
from conftest import NATIVE_IMPL, PYTHON_IMPL, Impl, needs_native


def test_output(parser_impl: Impl) -> None:
    enc = parser_impl.encode_action
    assert enc("Ping", []) == b"Action: Ping\r\n\r\n"
    assert enc(
        "Originate", [("Channel", "Local/1@c"), ("Variable", "A=1"), ("Variable", "B=2"), ("Empty", "")]
    ) == (b"Action: Originate\r\nChannel: Local/1@c\r\nVariable: A=1\r\nVariable: B=2\r\nEmpty: \r\n\r\n")
    # Values keep their spaces and colons; UTF-8 and surrogate-escaped bytes go out as bytes.
    assert enc("UserEvent", [("Data", " a: b ")]) == b"Action: UserEvent\r\nData:  a: b \r\n\r\n"
    assert (
        enc("UserEvent", [("Name", "Jörg \udcf6")])
        == "Action: UserEvent\r\nName: Jörg ".encode() + b"\xf6\r\n\r\n"
    )


REFUSALS: list[tuple[str, list[tuple[str, str]], str]] = [
    ("", [], "action name is empty"),
    ("Pi\rng", [], "action name contains a CR, LF or NUL character"),
    ("Pi\nng", [], "action name contains a CR, LF or NUL character"),
    ("Pi\0ng", [], "action name contains a CR, LF or NUL character"),
    ("Ping ", [], "action name contains ':' or whitespace"),
    ("Pi:ng", [], "action name contains ':' or whitespace"),
    ("Pi\tng", [], "action name contains ':' or whitespace"),
    ("Ping", [("A", "1"), ("", "x")], "field #1 has an empty key"),
    ("Ping", [("A\r", "x")], "key of field #0 contains a CR, LF or NUL character"),
    ("Ping", [("A\0", "x")], "key of field #0 contains a CR, LF or NUL character"),
    ("Ping", [("A B", "x")], "key of field #0 contains ':' or whitespace"),
    ("Ping", [("A:", "x")], "key of field #0 contains ':' or whitespace"),
    (
        "Ping",
        [("Secret", "pw\r\nAction: Logoff")],
        "value of field 'Secret' contains a CR, LF or NUL character",
    ),
    ("Ping", [("Secret", "pw\n")], "value of field 'Secret' contains a CR, LF or NUL character"),
    ("Ping", [("Secret", "pw\0")], "value of field 'Secret' contains a CR, LF or NUL character"),
    # First problem wins: the name before the fields, field 0 before field 1.
    ("", [("", "")], "action name is empty"),
    ("Ping", [("A", "x\n"), ("", "")], "value of field 'A' contains a CR, LF or NUL character"),
]


@pytest.mark.parametrize(("name", "fields", "text"), REFUSALS)
def test_refusals(parser_impl: Impl, name: str, fields: list[tuple[str, str]], text: str) -> None:
    with pytest.raises(InvalidActionError) as info:
        parser_impl.encode_action(name, fields)
    assert str(info.value) == text
    assert "pw" not in str(info.value)


def test_line_length_limit(parser_impl: Impl) -> None:
    enc = parser_impl.encode_action
    # "Key: " + value + CRLF: 1024 bytes is allowed, 1025 is not.
    assert len(enc("Ping", [("Key", "v" * 1017)])) == len("Action: Ping\r\n") + 1024 + 2
    with pytest.raises(InvalidActionError) as info:
        enc("Ping", [("Key", "v" * 1018)])
    assert str(info.value) == "line for field 'Key' is 1025 bytes; Asterisk's limit is 1024 including CRLF"
    # Multi-byte characters count as bytes.
    with pytest.raises(InvalidActionError):
        enc("Ping", [("Key", "é" * 509)])
    assert enc("Ping", [("Key", "é" * 508)]).endswith(b"\r\n\r\n")
    # The Action line itself: "Action: " + name + CRLF.
    assert enc("P" * 1014, []).startswith(b"Action: PPP")
    with pytest.raises(InvalidActionError) as info:
        enc("P" * 1015, [])
    assert str(info.value) == "action line is 1025 bytes; Asterisk's limit is 1024 including CRLF"


def test_line_count_limit(parser_impl: Impl) -> None:
    enc = parser_impl.encode_action
    assert enc("Ping", [("K", "v")] * 127).count(b"\r\n") == 129  # 128 lines + the empty line
    with pytest.raises(InvalidActionError) as info:
        enc("Ping", [("K", "v")] * 128)
    assert str(info.value) == "action has 129 lines; Asterisk's limit is 128"


@pytest.mark.parametrize("bad", [[("A",)], [("A", 1)], [(1, "a")], ["Ab"]])
def test_wrong_types(parser_impl: Impl, bad: Any) -> None:
    with pytest.raises(TypeError):
        parser_impl.encode_action("Ping", bad)
    with pytest.raises(TypeError):
        parser_impl.encode_action(5, [])


@needs_native
@pytest.mark.parametrize(("name", "fields", "text"), REFUSALS)
def test_native_and_python_refuse_alike(name: str, fields: list[tuple[str, str]], text: str) -> None:
    assert NATIVE_IMPL is not None
    errors = []
    for impl in (NATIVE_IMPL, PYTHON_IMPL):
        with pytest.raises(InvalidActionError) as info:
            impl.encode_action(name, fields)
        errors.append((type(info.value), str(info.value)))
    assert errors[0] == errors[1]


@needs_native
def test_native_and_python_encode_alike() -> None:
    assert NATIVE_IMPL is not None
    cases: list[tuple[str, list[tuple[str, str]]]] = [
        ("Ping", []),
        ("Originate", [("Channel", "x"), ("Variable", "A=1"), ("Variable", "B=2")]),
        ("UserEvent", [("Name", "Jörg \udcf6"), ("E", ""), ("S", "  x  ")]),
        ("Ping", [("K", "v" * 1017)]),
    ]
    for name, fields in cases:
        assert NATIVE_IMPL.encode_action(name, fields) == PYTHON_IMPL.encode_action(name, fields)
