"""The Message API (contract table) on both implementations, the public ABCs, and Action."""

from __future__ import annotations

from typing import Any

import pytest

import ami_fast
from ami_fast import messages
from ami_fast.errors import InvalidActionError
from conftest import Impl

EVENT = (
    b"Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/1\r\nActionID: a1\r\n"
    b"channel: second\r\nChanVariable: A=1\r\nChanVariable: B\r\nCHANVARIABLE: A=2=3\r\n"
    b"Secret: hunter2\r\nEmpty: \r\nfree text\r\n\r\n"
)


def _one(impl: Impl, data: bytes) -> Any:
    (message,) = impl.Parser().feed(data)
    return message


def test_event_api(parser_impl: Impl) -> None:
    m = _one(parser_impl, EVENT)
    assert isinstance(m, ami_fast.Event) and isinstance(m, ami_fast.Message)
    assert not isinstance(m, ami_fast.Response)
    assert (m.kind, m.name, m.action_id, m.get_action_id(), m.get_name()) == (
        "event",
        "Newchannel",
        "a1",
        "a1",
        "Newchannel",
    )
    assert m.raw == EVENT
    assert m.get_field_value("CHANNEL") == "PJSIP/1"
    assert m.get_field_value("channel") == "PJSIP/1"
    assert m.get_field_values("Channel") == ["PJSIP/1", "second"]
    assert m.get_all("channel") == ["PJSIP/1", "second"]
    assert m.get_field_values("Missing") == []
    assert m.get_field_value("Missing") is None
    assert m.get_field_value("Empty") == ""
    assert m.get_field_variables("ChanVariable") == {"A": "2=3", "B": ""}
    assert m.get_fields() == {
        "Event": "Newchannel",
        "Privilege": "call,all",
        "Channel": ["PJSIP/1", "second"],
        "ActionID": "a1",
        "ChanVariable": ["A=1", "B", "A=2=3"],
        "Secret": "hunter2",
        "Empty": "",
    }
    assert m.to_dict() == m.get_fields()
    assert m.keys()[:5] == ["Event", "Privilege", "Channel", "ActionID", "channel"]
    assert len(m) == len(m.items()) == 10
    assert m.items()[4] == ("channel", "second")
    assert m.extra_lines == ["free text"]
    m.extra_lines.append("changed")
    assert m.extra_lines == ["free text"]  # a fresh list each call
    assert "privilege" in m and "Nope" not in m and 5 not in m
    assert m["CHANVARIABLE"] == "A=1"
    with pytest.raises(KeyError):
        m["Nope"]
    assert m.get("Nope") is None and m.get("Nope", "d") == "d" and m.get("Empty", "d") == ""


def test_repr_never_shows_values(parser_impl: Impl) -> None:
    m = _one(parser_impl, EVENT)
    assert repr(m) == "<Event Newchannel ActionID=a1 fields=10>"
    assert "hunter2" not in repr(m) and "hunter2" not in str(m)
    r = _one(parser_impl, b"Response: Error\r\nMessage: Authentication failed\r\n\r\n")
    assert repr(r) == "<Response Error fields=2>"
    u = _one(parser_impl, b"Foo: secret\r\n\r\n")
    assert repr(u) == "<Message fields=1>"


def test_equality(parser_impl: Impl) -> None:
    a, b, c = parser_impl.Parser().feed(EVENT + EVENT + b"Event: Other\r\n\r\n")
    assert a == b and a is not b
    assert a != c
    assert a != EVENT
    assert _one(parser_impl, EVENT) == a  # a fresh parser, the same bytes


def test_case_folding_is_ascii_only(parser_impl: Impl) -> None:
    m = _one(parser_impl, "Event: X\r\nÄrger: 1\r\nK: 2\r\n\r\n".encode())
    assert m.get_field_value("Ärger") == "1"
    assert m.get_field_value("ärger") is None  # non-ASCII letters do not fold
    assert m.get_field_value("k") == "2"
    # The Kelvin sign lowercases to "k" in Unicode, but not in ASCII folding.
    assert m.get_field_value("\u212a") is None


def test_response_command_output_both_formats(parser_impl: Impl) -> None:
    modern = _one(
        parser_impl,
        b"Response: Success\r\nMessage: Command output follows\r\nOutput: a\r\nOutput: \r\nOutput: b\r\n\r\n",
    )
    assert isinstance(modern, ami_fast.Response)
    assert modern.get_command_output() == "a\n\nb"
    assert modern.command_output == "a\n\nb"
    none = _one(parser_impl, b"Response: Success\r\nPing: Pong\r\n\r\n")
    assert none.get_command_output() is None
    legacy = _one(
        parser_impl,
        b"Response: Follows\r\nPrivilege: Command\r\nActionID: 3\r\nline 1\nline 2\n--END COMMAND--\r\n\r\n",
    )
    assert legacy.get_command_output() == "line 1\nline 2"
    assert legacy.action_id == "3"
    assert legacy.items() == [("Response", "Follows"), ("Privilege", "Command"), ("ActionID", "3")]
    assert legacy.get_field_value("Output") is None


def test_action_id_forms(parser_impl: Impl) -> None:
    assert _one(parser_impl, b"Event: X\r\nactionid:raw\r\n\r\n").action_id == "raw"
    assert _one(parser_impl, b"Event: X\r\nActionID:  two\r\n\r\n").action_id == " two"
    assert _one(parser_impl, b"Event: X\r\nActionIDs: no\r\n\r\n").action_id is None
    assert _one(parser_impl, b"Event: X\r\nXActionID: no\r\n\r\n").action_id is None
    late = _one(parser_impl, b"Event: X\r\nA: 1\nActionID: late\n\n")
    assert late.action_id == "late"
    # Reading fields first must not change the answer.
    m = _one(parser_impl, b"Event: X\r\nActionID: a\r\nActionID: b\r\n\r\n")
    assert m.items()[1] == ("ActionID", "a")
    assert m.action_id == "a"


# -- public ABCs and Action -------------------------------------------------------------------


def test_abcs_are_abstract() -> None:
    for cls in (messages.Message, messages.Event, messages.Response):
        with pytest.raises(TypeError):
            cls()
    assert issubclass(messages.Event, messages.Message)
    assert issubclass(ami_fast.Action, ami_fast.Message)


def test_action_construction() -> None:
    action = ami_fast.Action(
        "Originate",
        {
            "Channel": "Local/1@ctx",
            "Timeout": 30000,
            "Skipped": None,
            "Variable": {"A": "1", "B": 2, "C": None},
            "Codecs": ["ulaw", "alaw", None],
        },
    )
    assert action.get_message_serialized() == (
        b"Action: Originate\r\nChannel: Local/1@ctx\r\nTimeout: 30000\r\nVariable: A=1\r\nVariable: B=2\r\n"
        b"Codecs: ulaw\r\nCodecs: alaw\r\n\r\n"
    )
    assert action.raw == action.get_message_serialized()
    assert (action.kind, action.name, action.action_id) == ("action", "Originate", None)
    assert action.items()[0] == ("Action", "Originate")
    assert action.get_field_values("variable") == ["A=1", "B=2"]
    assert action.get_field_variables("Variable") == {"A": "1", "B": "2"}
    assert action["timeout"] == "30000"
    assert "Skipped" not in action
    assert action.extra_lines == []
    assert isinstance(action, ami_fast.Message)
    pairs = ami_fast.Action("Ping", [("ActionID", "x"), ("Foo", "1"), ("Foo", "2")])
    assert pairs.action_id == "x"
    assert pairs.get_field_values("Foo") == ["1", "2"]
    assert ami_fast.Action("Ping").get_message_serialized() == b"Action: Ping\r\n\r\n"


def test_action_round_trips_through_the_parser(parser_impl: Impl) -> None:
    action = ami_fast.Action("UserEvent", {"UserEvent": "Mine", "ActionID": "7", "Data": "a: b"})
    parsed = _one(parser_impl, action.get_message_serialized())
    assert parsed.kind == "action" and parsed.name == "UserEvent" and parsed.action_id == "7"
    assert parsed.items() == action.items()


def test_with_action_id() -> None:
    base = ami_fast.Action("Ping", {"Foo": "1"})
    copy = base.with_action_id("id-1")
    assert base.action_id is None
    assert copy.action_id == "id-1"
    assert copy.get_message_serialized() == b"Action: Ping\r\nActionID: id-1\r\nFoo: 1\r\n\r\n"
    replaced = ami_fast.Action(
        "Ping", [("Foo", "1"), ("actionid", "old"), ("ActionID", "dup")]
    ).with_action_id("new")
    assert replaced.items() == [("Action", "Ping"), ("Foo", "1"), ("actionid", "new")]
    with pytest.raises(InvalidActionError):
        base.with_action_id("bad\r\nAction: Logoff")


@pytest.mark.parametrize(
    ("fields", "exc"),
    [
        ({"Async": True}, TypeError),
        ({"Value": 1.5}, TypeError),
        ({"Value": b"bytes"}, TypeError),
        ({"Variable": {"A": False}}, TypeError),
        ([(1, "x")], TypeError),
        ({"Secret": "pw\r\nAction: Logoff"}, InvalidActionError),
        ({"Bad Key": "x"}, InvalidActionError),
        ({"Variable": {"A": "x\ny"}}, InvalidActionError),
    ],
)
def test_action_refusals(fields: Any, exc: type[Exception]) -> None:
    with pytest.raises(exc) as info:
        ami_fast.Action("Login", fields)
    assert "pw" not in str(info.value)


def test_action_secret_never_in_repr_or_errors() -> None:
    action = ami_fast.Action("Login", {"Username": "admin", "Secret": "s3cr3t", "ActionID": "L1"})
    assert repr(action) == "<Action Login ActionID=L1 fields=4>"
    assert "s3cr3t" not in repr(action)
    with pytest.raises(InvalidActionError) as info:
        ami_fast.Action("Login", {"Secret": "s3cr3t\n"})
    assert "s3cr3t" not in str(info.value) and "s3cr3t" not in repr(info.value)
    with pytest.raises(InvalidActionError) as info:
        ami_fast.Action("Login", {"Secret": "s3cr3t" * 200})
    assert "s3cr3t" not in str(info.value)


def test_action_equality() -> None:
    assert ami_fast.Action("Ping", {"A": "1"}) == ami_fast.Action("Ping", [("A", "1")])
    assert ami_fast.Action("Ping", {"A": "1"}) != ami_fast.Action("Ping", {"A": "2"})
    assert hash(ami_fast.Action("Ping")) == hash(ami_fast.Action("Ping"))
