"""AmiConnection, the sans-IO core: ActionIDs, routing, lists, follow-ups, close. No sockets."""

from __future__ import annotations

from typing import Any

import pytest

import ami_fast
from ami_fast.collection import Collection
from ami_fast.connection import (
    AmiConnection,
    ErrorReport,
    FollowUp,
    Goodbye,
    ListStarted,
    RequestDone,
    RequestFailed,
)
from ami_fast.errors import (
    ActionError,
    AuthenticationError,
    MessageTooLargeError,
    PermissionDeniedError,
    ProtocolError,
    UnexpectedMessageError,
    UsageError,
)
from ami_fast.messages import Action

PARSERS = [pytest.param(ami_fast.ParserPy, id="python")]
if ami_fast.ParserNative is not None:
    PARSERS.append(pytest.param(ami_fast.ParserNative, id="native"))

BANNER = b"Asterisk Call Manager/11.0.0\r\n"


@pytest.fixture(params=PARSERS)
def conn(request: pytest.FixtureRequest) -> AmiConnection:
    c = AmiConnection(parser=request.param())
    assert c.receive_data(BANNER) == []
    assert c.version == "11.0.0"
    return c


def msg(first: str, value: str, *fields: tuple[str, str]) -> bytes:
    lines = [f"{first}: {value}", *(f"{k}: {v}" for k, v in fields)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def send(conn: AmiConnection, name: str, fields: Any = None, **kw: Any) -> str:
    action_id, data = conn.send_action(Action(name, fields), **kw)
    assert data.startswith(f"Action: {name}\r\n".encode())
    assert f"ActionID: {action_id}\r\n".encode() in data
    return action_id


def test_action_ids_have_a_random_prefix_and_a_counter(conn: AmiConnection) -> None:
    ids = [send(conn, "Ping") for _ in range(3)]
    prefixes = {i.rsplit("-", 1)[0] for i in ids}
    assert prefixes == {conn.prefix}
    assert [int(i.rsplit("-", 1)[1]) for i in ids] == [1, 2, 3]
    assert len(conn.prefix) == 16 and conn.prefix.isalnum()
    # another connection: another prefix (80 random bits)
    assert AmiConnection(parser=ami_fast.ParserPy()).prefix != conn.prefix


def test_own_action_id_is_honoured_and_duplicates_refused(conn: AmiConnection) -> None:
    assert send(conn, "Ping", {"ActionID": "mine"}) == "mine"
    with pytest.raises(UsageError, match="already pending"):
        conn.send_action(Action("Ping", {"ActionID": "mine"}))
    items = conn.receive_data(msg("Response", "Success", ("ActionID", "mine")))
    assert [type(i) for i in items] == [RequestDone]
    assert send(conn, "Ping", {"ActionID": "mine"}) == "mine"  # free again


def test_out_of_order_responses_resolve_their_own_request(conn: AmiConnection) -> None:
    ids = [send(conn, "Ping") for _ in range(5)]
    data = b"".join(msg("Response", "Success", ("ActionID", i), ("Seq", str(n))) for n, i in enumerate(ids))
    # reverse order, one chunk
    chunks = [msg("Response", "Success", ("ActionID", i), ("Seq", str(n))) for n, i in enumerate(ids)][::-1]
    items = conn.receive_data(b"".join(chunks))
    assert len(data) == sum(map(len, chunks))
    assert all(isinstance(i, RequestDone) for i in items)
    done = {i.action_id: i.result.get_field_value("Seq") for i in items if isinstance(i, RequestDone)}
    assert done == {i: str(n) for n, i in enumerate(ids)}
    assert conn.pending_count == 0


def test_error_responses_map_to_exception_classes(conn: AmiConnection) -> None:
    login = send(conn, "Login", {"Username": "u", "Secret": "s"})
    denied = send(conn, "Command", {"Command": "x"})
    other = send(conn, "Foo")
    items = conn.receive_data(
        msg("Response", "Error", ("ActionID", login), ("Message", "Authentication failed"))
        + msg("Response", "Error", ("ActionID", denied), ("Message", "Permission denied"))
        + msg("response", "error", ("actionid", other), ("Message", "Invalid/unknown command: Foo."))
    )
    errors = {i.action_id: i.error for i in items if isinstance(i, RequestFailed)}
    assert type(errors[login]) is AuthenticationError
    assert type(errors[denied]) is PermissionDeniedError
    assert type(errors[other]) is ActionError
    err = errors[other]
    assert isinstance(err, ActionError)
    assert err.response.action_id == other
    assert err.message == "Invalid/unknown command: Foo."


def list_bytes(aid: str, n: int, *, end: str = "Complete", item: str = "CoreShowChannel") -> bytes:
    out = msg("Response", "Success", ("ActionID", aid), ("EventList", "start"), ("Message", "will follow"))
    for k in range(n):
        out += msg("Event", item, ("ActionID", aid), ("Channel", f"PJSIP/{k}"))
    out += msg(
        "Event", "CoreShowChannelsComplete", ("ActionID", aid), ("EventList", end), ("ListItems", str(n))
    )
    return out


@pytest.mark.parametrize("end", ["Complete", "complete", "COMPLETE"])
def test_event_list_becomes_a_collection(conn: AmiConnection, end: str) -> None:
    aid = send(conn, "CoreShowChannels")
    data = list_bytes(aid, 3, end=end)
    items = []
    for k in range(0, len(data), 7):  # arbitrary chunking
        items += conn.receive_data(data[k : k + 7])
    assert [type(i) for i in items] == [ListStarted, RequestDone]
    done = items[-1]
    assert isinstance(done, RequestDone)
    coll = done.result
    assert isinstance(coll, Collection)
    assert isinstance(coll, ami_fast.Response)
    assert [e.get_field_value("Channel") for e in coll] == ["PJSIP/0", "PJSIP/1", "PJSIP/2"]
    assert len(coll) == 3 and coll.entries == coll.get_entry_events()
    complete_event = coll.get_complete_event()
    assert complete_event is not None and complete_event.name == "CoreShowChannelsComplete"
    assert coll.complete and not coll.cancelled and not coll.partial
    assert coll.list_items == 3 and not coll.list_items_mismatch
    assert coll.get_field_value("Message") == "will follow"
    assert coll.action_id == aid and coll.name == "Success"
    assert conn.stats.list_items_received == 3
    assert conn.pending_count == 0


def test_cancelled_list(conn: AmiConnection) -> None:
    aid = send(conn, "Whatever")
    items = conn.receive_data(list_bytes(aid, 1, end="cancelled"))
    coll = items[-1].result  # type: ignore[union-attr]
    assert isinstance(coll, Collection)
    assert coll.cancelled and not coll.complete and len(coll) == 1


def test_broadcasts_interleaved_with_a_list_stay_events(conn: AmiConnection) -> None:
    aid = send(conn, "CoreShowChannels")
    data = list_bytes(aid, 2)
    head, _, tail = data.partition(b"Event: CoreShowChannel\r\n")
    interleaved = (
        head
        + msg("Event", "Newchannel", ("Channel", "x"))
        + msg("Event", "UserEvent", ("ActionID", "someone-elses"))
        + b"Event: CoreShowChannel\r\n"
        + tail
    )
    items = conn.receive_data(interleaved)
    names = [getattr(i, "name", type(i).__name__) for i in items]
    assert names == ["ListStarted", "Newchannel", "UserEvent", "RequestDone"]
    coll = items[-1].result  # type: ignore[union-attr]
    assert len(coll) == 2


def test_user_event_echo_of_our_action_id_is_a_normal_event(conn: AmiConnection) -> None:
    aid = send(conn, "UserEvent", {"UserEvent": "X"})
    items = conn.receive_data(
        msg("Response", "Success", ("ActionID", aid), ("Message", "Event Sent"))
        + msg("Event", "UserEvent", ("Privilege", "user,all"), ("UserEvent", "X"), ("ActionID", aid))
    )
    assert isinstance(items[0], RequestDone)
    assert items[1].name == "UserEvent" and items[1].action_id == aid  # type: ignore[union-attr]
    assert conn.stats.events_received == 1


def test_legacy_list_without_eventlist_uses_the_end_name_table(conn: AmiConnection) -> None:
    aid = send(conn, "QueueStatus")
    items = conn.receive_data(
        msg("Response", "Success", ("ActionID", aid), ("Message", "Queue status will follow"))
        + msg("Event", "QueueParams", ("Queue", "q1"), ("ActionID", aid))
        + msg("Event", "QueueMember", ("Queue", "q1"), ("ActionID", aid))
        + msg("Event", "QueueStatusComplete", ("ActionID", aid))
    )
    assert [type(i) for i in items] == [ListStarted, RequestDone]
    coll = items[-1].result  # type: ignore[union-attr]
    assert [e.name for e in coll] == ["QueueParams", "QueueMember"]
    assert coll.complete and coll.list_items is None


def test_table_needs_the_will_follow_message(conn: AmiConnection) -> None:
    # A plain success for a table action (e.g. a filtered Status on some proxy) is a Response.
    aid = send(conn, "Status")
    items = conn.receive_data(msg("Response", "Success", ("ActionID", aid), ("Message", "ok")))
    assert [type(i) for i in items] == [RequestDone]
    assert not isinstance(items[0].result, Collection)  # type: ignore[union-attr]


def test_explicit_end_event(conn: AmiConnection) -> None:
    aid = send(conn, "KonferenceList", end_event="ConferencelistComplete")
    items = conn.receive_data(
        msg("Response", "Success", ("ActionID", aid))
        + msg("Event", "ConferenceEntry", ("ActionID", aid))
        + msg("Event", "conferencelistcomplete", ("ActionID", aid))
    )
    coll = items[-1].result  # type: ignore[union-attr]
    assert isinstance(coll, Collection) and len(coll) == 1 and coll.complete


def test_list_items_mismatch_is_reported(conn: AmiConnection) -> None:
    aid = send(conn, "CoreShowChannels")
    data = list_bytes(aid, 2).replace(b"ListItems: 2", b"ListItems: 5")
    items = conn.receive_data(data)
    reports = [i for i in items if isinstance(i, ErrorReport)]
    assert len(reports) == 1
    assert isinstance(reports[0].error, ProtocolError)
    assert "ListItems: 5" in str(reports[0].error) and reports[0].error.action_id == aid
    coll = items[-1].result  # type: ignore[union-attr]
    assert coll.list_items == 5 and coll.list_items_mismatch and len(coll) == 2
    assert conn.stats.list_items_mismatches == 1


def test_unexpected_responses_are_reported_not_fatal(conn: AmiConnection) -> None:
    aid = send(conn, "Ping")
    items = conn.receive_data(
        msg("Response", "Success", ("Message", "no id"))
        + msg("Response", "Success", ("ActionID", "nobody"))
        + msg("Response", "Success", ("ActionID", aid))
    )
    assert [type(i) for i in items] == [ErrorReport, ErrorReport, RequestDone]
    errors = [i.error for i in items if isinstance(i, ErrorReport)]
    assert all(isinstance(e, UnexpectedMessageError) for e in errors)
    assert errors[1].response.action_id == "nobody"  # type: ignore[attr-defined]
    assert conn.stats.unexpected_responses == 2


def test_cancelled_request_late_reply_is_counted_and_dropped(conn: AmiConnection) -> None:
    ping = send(conn, "Ping")
    lst = send(conn, "CoreShowChannels")
    assert conn.cancel(ping) is None
    assert conn.receive_data(msg("Response", "Success", ("ActionID", ping))) == []
    assert conn.stats.late_responses == 1
    # a list cancelled before its response: the response and every item are swallowed
    conn.cancel(lst)
    assert conn.receive_data(list_bytes(lst, 3)) == []
    assert conn.stats.late_responses == 2 and conn.stats.late_list_items == 4
    # ...and afterwards an event with that id is a normal event again
    items = conn.receive_data(msg("Event", "UserEvent", ("ActionID", lst)))
    assert len(items) == 1 and items[0].name == "UserEvent"  # type: ignore[union-attr]


def test_cancel_during_list_returns_the_partial_collection(conn: AmiConnection) -> None:
    aid = send(conn, "CoreShowChannels")
    data = list_bytes(aid, 2)
    cut = data.index(b"Event: CoreShowChannelsComplete")
    conn.receive_data(data[:cut])
    coll = conn.cancel(aid)
    assert coll is not None and coll.partial and len(coll) == 2
    assert conn.receive_data(data[cut:]) == []


def test_list_item_cap() -> None:
    capped = AmiConnection(parser=ami_fast.ParserPy(), list_max_items=3)
    capped.receive_data(BANNER)
    aid = send(capped, "CoreShowChannels")
    items = capped.receive_data(list_bytes(aid, 5))
    failed = [i for i in items if isinstance(i, RequestFailed)]
    assert len(failed) == 1 and isinstance(failed[0].error, MessageTooLargeError)
    assert [type(i) for i in items] == [ListStarted, RequestFailed]  # the rest is swallowed
    assert capped.pending_count == 0


def test_follow_up_subscription(conn: AmiConnection) -> None:
    aid = send(conn, "Originate", {"Channel": "Local/1@x", "Async": "true"})
    conn.add_follow_up(aid, frozenset({"originateresponse"}))
    items = conn.receive_data(
        msg("Response", "Success", ("ActionID", aid), ("Message", "Originate successfully queued"))
        + msg("Event", "Newchannel", ("ActionID", aid))  # other name: normal event
        + msg("Event", "OriginateResponse", ("ActionID", aid), ("Response", "Success"), ("Reason", "4"))
        + msg("Event", "OriginateResponse", ("ActionID", aid))  # only the first goes to it
    )
    assert [type(i).__name__ for i in items][:1] == ["RequestDone"]
    follow = [i for i in items if isinstance(i, FollowUp)]
    assert len(follow) == 1 and follow[0].event.get_field_value("Reason") == "4"
    assert [getattr(i, "name", None) for i in items[1:]] == ["Newchannel", None, "OriginateResponse"]


def test_fail_all_rejects_pending_and_open_lists(conn: AmiConnection) -> None:
    ping = send(conn, "Ping")
    lst = send(conn, "CoreShowChannels")
    conn.receive_data(list_bytes(lst, 2).split(b"Event: CoreShowChannelsComplete")[0])
    err = ami_fast.ConnectionLostError("gone")
    items = conn.fail_all(err)
    assert {i.action_id for i in items if isinstance(i, RequestFailed)} == {ping, lst}
    assert all(i.error is err for i in items if isinstance(i, RequestFailed))
    assert conn.pending_count == 0 and conn.closed
    with pytest.raises(UsageError):
        conn.send_action(Action("Ping"))


def test_max_pending() -> None:
    small = AmiConnection(parser=ami_fast.ParserPy(), max_pending=2)
    send(small, "Ping")
    send(small, "Ping")
    with pytest.raises(UsageError, match="max_pending"):
        small.send_action(Action("Ping"))


def test_encoding_failure_registers_nothing(conn: AmiConnection) -> None:
    with pytest.raises(ami_fast.InvalidActionError):
        conn.send_action(Action("Ping", {"X": "a\r\nAction: Originate"}))
    assert conn.pending_count == 0


def test_goodbye(conn: AmiConnection) -> None:
    aid = send(conn, "Logoff")
    items = conn.receive_data(
        msg("Response", "Goodbye", ("ActionID", aid), ("Message", "Thanks for all the fish."))
    )
    assert [type(i) for i in items] == [Goodbye, RequestDone]
    assert conn.goodbye


def test_protocol_errors_are_items_and_neighbours_survive() -> None:
    conn = AmiConnection(parser=ami_fast.ParserPy(max_message_bytes=200))
    conn.receive_data(BANNER)
    aid = send(conn, "Ping")
    items = conn.receive_data(
        msg("Event", "A")
        + msg("Event", "Huge", ("X", "y" * 500))
        + msg("Response", "Success", ("ActionID", aid))
    )
    assert [type(i).__name__ for i in items] == ["Event", "ErrorReport", "RequestDone"]
    assert isinstance(items[1].error, MessageTooLargeError)  # type: ignore[union-attr]
    assert conn.stats.protocol_errors == 1


def test_malformed_reply_to_a_pending_request_fails_it() -> None:
    conn = AmiConnection(parser=ami_fast.ParserPy(strict=True))
    conn.receive_data(BANNER)
    aid = send(conn, "Ping")
    items = conn.receive_data(f"Response: Success\r\nActionID: {aid}\r\ngarbage\r\n\r\n".encode())
    assert [type(i) for i in items] == [RequestFailed]
    assert isinstance(items[0].error, ProtocolError)  # type: ignore[union-attr]


def test_eof_in_the_middle_of_a_message(conn: AmiConnection) -> None:
    assert conn.receive_data(b"Event: Cut\r\nFoo: b") == []
    items = conn.receive_data(b"")
    assert len(items) == 1 and isinstance(items[0], ErrorReport)
    assert isinstance(items[0].error, ProtocolError)


def test_unknown_kind_is_reported(conn: AmiConnection) -> None:
    items = conn.receive_data(b"Foo: bar\r\n\r\n")
    assert len(items) == 1 and isinstance(items[0], ErrorReport)
    assert conn.stats.unknown_messages == 1


# -- chunks made only of events (the bulk path) -------------------------------------------------


def names(items: list[Any]) -> list[str]:
    return [getattr(i, "name", None) or type(i).__name__ for i in items]


def test_events_only_chunks_still_reach_an_open_list(conn: AmiConnection) -> None:
    aid = send(conn, "CoreShowChannels")
    data = list_bytes(aid, 2)
    first_item = data.index(b"Event: CoreShowChannel\r\n")
    assert names(conn.receive_data(data[:first_item])) == ["ListStarted"]
    # a chunk of other events: all plain, in order
    other = msg("Event", "Newchannel") + msg("Event", "UserEvent", ("ActionID", "someone-elses"))
    assert names(conn.receive_data(other)) == ["Newchannel", "UserEvent"]
    # a chunk of nothing but this list's items (and a broadcast between them)
    complete = data.index(b"Event: CoreShowChannelsComplete")
    items = data[first_item:complete]
    assert names(conn.receive_data(items + msg("Event", "Hangup"))) == ["Hangup"]
    done = conn.receive_data(data[complete:])
    assert names(done) == ["RequestDone"]
    coll = done[0].result  # type: ignore[union-attr]
    assert isinstance(coll, Collection) and len(coll) == 2
    assert conn.stats.events_received == 3 and conn.stats.messages_received == 7


def test_events_only_chunks_of_a_cancelled_list_are_swallowed(conn: AmiConnection) -> None:
    ping = send(conn, "Ping")
    lst = send(conn, "CoreShowChannels")
    data = list_bytes(lst, 3)
    first_item = data.index(b"Event: CoreShowChannel\r\n")
    conn.receive_data(data[:first_item])
    conn.cancel(lst)
    conn.cancel(ping)  # not a list: its ActionID claims no event
    echo = msg("Event", "UserEvent", ("ActionID", ping))
    assert names(conn.receive_data(data[first_item:] + echo)) == ["UserEvent"]
    assert conn.stats.late_list_items == 4
    # the list ended: its ActionID is an ordinary one again, in an events-only chunk too
    assert names(conn.receive_data(msg("Event", "UserEvent", ("ActionID", lst)))) == ["UserEvent"]


def test_evicted_list_tombstone_claims_nothing(conn: AmiConnection) -> None:
    lst = send(conn, "CoreShowChannels")
    conn.receive_data(msg("Response", "Success", ("ActionID", lst), ("EventList", "start")))
    conn.cancel(lst)
    item = msg("Event", "CoreShowChannel", ("ActionID", lst))
    assert conn.receive_data(item) == []
    for _ in range(4096):  # newer tombstones push the oldest out
        conn.cancel(send(conn, "Ping"))
    assert names(conn.receive_data(item)) == ["CoreShowChannel"]


def test_follow_up_alone_in_a_chunk(conn: AmiConnection) -> None:
    aid = send(conn, "Originate", {"Channel": "Local/1@x", "Async": "true"})
    conn.add_follow_up(aid, None)
    conn.receive_data(msg("Response", "Success", ("ActionID", aid)))
    items = conn.receive_data(msg("Event", "Newstate") + msg("Event", "OriginateResponse", ("ActionID", aid)))
    assert names(items) == ["Newstate", "FollowUp"]


def test_receive_batch_splits_events_from_records(conn: AmiConnection) -> None:
    ping = send(conn, "Ping")
    data = (
        msg("Event", "A")
        + msg("Response", "Success", ("ActionID", ping))
        + msg("Event", "B")
        + msg("Response", "Success", ("ActionID", "nobody"))
        + msg("Event", "C")
    )
    events, items = conn.receive_batch(data)
    assert names(events) == ["A", "B", "C"]
    assert [type(i) for i in items] == [RequestDone, ErrorReport]
    bulk, none = conn.receive_batch(msg("Event", "D") + msg("Event", "E"))
    assert names(bulk) == ["D", "E"] and none == []
    assert conn.receive_batch(b"Event: F\r\n") == ([], [])
    assert conn.stats.events_received == 5
