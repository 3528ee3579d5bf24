"""Checks that only make sense for the Rust extension (the shared behaviour is tested, for
both implementations, in test_parser_*.py)."""

from __future__ import annotations

import gc
import threading
import tracemalloc
from typing import Any

import pytest

from conftest import NATIVE, needs_native

pytestmark = needs_native

native: Any = NATIVE

EVENT = b"Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/100-0001\r\nUniqueid: 1.%d\r\n\r\n"


def test_module_version_matches_the_package() -> None:
    import ami_fast

    assert native.__version__ == ami_fast.__version__


def test_a_retained_message_does_not_pin_its_chunk() -> None:
    chunk = b"".join(EVENT % i for i in range(20_000))  # about 1.5 MB
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        parser = native.Parser()
        messages = parser.feed(chunk)
        kept = messages[::1000]
        del messages, chunk
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(kept) == 20
    assert kept[7].raw == EVENT % 7000
    # Twenty small messages (and the parser): far below the 1.5 MB chunk.
    assert held < 100_000, held


def test_raw_is_the_messages_own_bytes_object() -> None:
    data = EVENT % 1 + EVENT % 2
    first, second = native.Parser().feed(data)
    assert first.raw == EVENT % 1 and second.raw == EVENT % 2
    assert first.raw is first.raw  # kept, not rebuilt per access


@pytest.mark.parametrize(
    ("call", "args"),
    [
        ("feed", ("text",)),
        ("feed", (bytearray(b"Event: X\r\n\r\n"),)),
        ("feed", (None,)),
    ],
)
def test_feed_wrong_types(call: str, args: tuple[Any, ...]) -> None:
    with pytest.raises(TypeError, match="feed\\(\\) takes bytes"):
        getattr(native.Parser(), call)(*args)


@pytest.mark.parametrize(
    "kwargs",
    [{"max_fields": "8"}, {"max_message_bytes": 1.5e6}, {"max_follows_bytes": True}, {"nope": 1}],
)
def test_constructor_wrong_types(kwargs: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        native.Parser(**kwargs)


def test_constructor_positional_arguments_are_refused() -> None:
    with pytest.raises(TypeError):
        native.Parser(1 << 20)


def test_huge_limits_are_accepted() -> None:
    parser = native.Parser(max_message_bytes=1 << 80, max_follows_bytes=1 << 70, max_fields=1 << 40)
    assert [m.name for m in parser.feed(b"Event: X\r\n\r\n")] == ["X"]


def test_encode_action_wrong_types() -> None:
    with pytest.raises(TypeError):
        native.encode_action(b"Ping", [])
    with pytest.raises(TypeError):
        native.encode_action("Ping", [("ActionID", 1)])
    with pytest.raises(TypeError):
        native.encode_action("Ping", [["ActionID", "1"]])
    with pytest.raises(TypeError):
        native.encode_action("Ping", 5)


def test_message_lookups_take_str() -> None:
    (msg,) = native.Parser().feed(EVENT % 1)
    with pytest.raises(TypeError):
        msg.get_field_value(b"Channel")
    with pytest.raises(TypeError):
        msg.get_all(1)
    assert 1 not in msg
    with pytest.raises(KeyError):
        msg[1]


def test_messages_are_frozen_and_final() -> None:
    (msg,) = native.Parser().feed(EVENT % 1)
    with pytest.raises(AttributeError):
        msg.name = "Other"
    with pytest.raises(TypeError):
        type("Sub", (native.Event,), {})
    with pytest.raises(TypeError):
        native.Message()


def test_names_and_known_keys_are_shared_strings() -> None:
    parser = native.Parser()
    a, b = parser.feed(EVENT % 1 + EVENT % 2)
    assert a.name is b.name
    assert all(x is y for x, y in zip(a.keys(), b.keys(), strict=True))


def test_str_decoding_matches_python_for_every_byte() -> None:
    # The ASCII fast path and the surrogateescape path must agree with bytes.decode.
    parser = native.Parser()
    for lead in range(256):
        for tail in (b"", b"\x80", b"\xbf", b"\xc3\xa4", b"a"):
            value = bytes([lead]) + tail
            if b"\r" in value or b"\n" in value:
                continue
            (msg,) = parser.feed(b"Event: E\r\nK: " + value + b"\r\n" + value + b"\r\n\r\n")
            text = value.decode("utf-8", "surrogateescape")
            assert msg.get("K") == text
            assert msg.extra_lines == ([text] if b":" not in value else [])


def test_many_parsers_with_follows_output() -> None:
    # Each Parser owns SIMD searchers; this exercises construction and the marker search often.
    data = b"Response: Follows\r\nPrivilege: Command\r\nline\n--END COMMAND--\r\n\r\n"
    for _ in range(2000):
        (msg,) = native.Parser().feed(data)
        assert msg.get_command_output() == "line"


def test_parsers_in_threads() -> None:
    data = b"Asterisk Call Manager/11.0.0\r\n" + b"".join(EVENT % i for i in range(3000))
    results: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            parser = native.Parser()
            count = 0
            for i in range(0, len(data), 777):
                for msg in parser.feed(data[i : i + 777]):
                    assert msg.get("Privilege") == "call,all"
                    count += 1
            results.append(count)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results == [3000] * 4


def test_native_classes_count_as_the_public_abcs() -> None:
    from ami_fast import messages

    (event,) = native.Parser().feed(EVENT % 1)
    (response,) = native.Parser().feed(b"Response: Success\r\n\r\n")
    (action,) = native.Parser().feed(b"Action: Ping\r\n\r\n")
    assert isinstance(event, messages.Event) and isinstance(event, messages.Message)
    assert isinstance(response, messages.Response)
    assert type(action) is native.Message and isinstance(action, messages.Message)


def test_equality_and_hash_across_implementations() -> None:
    from ami_fast import _pyparser

    (mine,) = native.Parser().feed(EVENT % 1)
    (twin,) = _pyparser.Parser().feed(EVENT % 1)
    assert mine == twin and twin == mine
    assert (mine != twin) is False
    assert hash(mine) == hash(twin)
    (other,) = native.Parser().feed(EVENT % 2)
    assert mine != other
    assert mine != "Event: Newchannel"
