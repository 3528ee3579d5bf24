"""ActionSender: action names and fields per method, follow-ups, collect(), against a fake client
(and, at the end, against the FakeAsterisk test kit through a real Client)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from ami_fast.action_sender import PUBLIC_METHODS, ActionSender, build_fields
from ami_fast.collection import Collection
from ami_fast.errors import ActionTimeoutError


@dataclass
class FakeAction:
    name: str
    fields: list[tuple[str, str]]
    action_id: str


@dataclass
class FakeMessage:
    name: str | None
    action_id: str | None
    fields: list[tuple[str, str]] = field(default_factory=list)

    def get_field_value(self, key: str) -> str | None:
        return next((v for k, v in self.fields if k.lower() == key.lower()), None)


Answer = Callable[["FakeClient", FakeAction], Awaitable[Any]]


async def _success(client: FakeClient, action: FakeAction) -> Any:
    return FakeMessage("Success", action.action_id)


class FakeClient:
    """Records what ActionSender sends and answers with a scripted coroutine."""

    def __init__(self, answer: Answer = _success) -> None:
        self.answer = answer
        self.sent: list[tuple[FakeAction, Any, str | None]] = []
        self.follow_ups: dict[str, tuple[str, asyncio.Future[Any]]] = {}
        self._n = 0

    def create_action(self, name: str, fields: Any = None) -> FakeAction:
        self._n += 1
        return FakeAction(name, list(fields or []), f"fake-{self._n}")

    async def request(
        self, action: FakeAction, *, timeout: Any = "default", end_event: str | None = None
    ) -> Any:
        self.sent.append((action, timeout, end_event))
        return await self.answer(self, action)

    def follow_up(
        self, action_id: str, event_names: str | None = None, *, timeout: float | None = 60.0
    ) -> Any:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if timeout is not None:
            handle = asyncio.get_running_loop().call_later(
                timeout, lambda: fut.done() or fut.set_exception(ActionTimeoutError("no follow-up"))
            )
            fut.add_done_callback(lambda _f: handle.cancel())
        self.follow_ups[action_id] = (str(event_names).lower(), fut)
        return fut

    def emit(self, event: FakeMessage) -> None:
        """Route like the client: a matching follow-up takes the event."""
        entry = self.follow_ups.get(event.action_id or "")
        if entry and entry[0] == (event.name or "").lower() and not entry[1].done():
            entry[1].set_result(event)

    @property
    def last(self) -> FakeAction:
        return self.sent[-1][0]


# (method, args, kwargs, expected Action name, expected fields)
CASES: list[tuple[str, tuple[Any, ...], dict[str, Any], str, list[tuple[str, str]]]] = [
    ("login", ("ami", "s3cret"), {}, "Login", [("UserName", "ami"), ("Secret", "s3cret")]),
    (
        "login",
        ("ami", "s3cret", True),
        {},
        "Login",
        [("UserName", "ami"), ("Secret", "s3cret"), ("Events", "on")],
    ),
    (
        "login",
        ("ami", "s3cret", False),
        {},
        "Login",
        [("UserName", "ami"), ("Secret", "s3cret"), ("Events", "off")],
    ),
    ("logoff", (), {}, "Logoff", []),
    ("ping", (), {}, "Ping", []),
    ("command", ("core show channels",), {}, "Command", [("Command", "core show channels")]),
    ("events", (True,), {}, "Events", [("EventMask", "on")]),
    ("events", (False,), {}, "Events", [("EventMask", "off")]),
    ("events", ("call,user",), {}, "Events", [("EventMask", "call,user")]),
    ("events", (["call", "agent"],), {}, "Events", [("EventMask", "call,agent")]),
    ("sip_show_peer", ("1001",), {}, "SIPshowpeer", [("Peer", "1001")]),
    ("list_commands", (), {}, "ListCommands", []),
    ("send_text", ("PJSIP/1-1", "hi"), {}, "Sendtext", [("Channel", "PJSIP/1-1"), ("Message", "hi")]),
    ("hangup", ("PJSIP/1-1",), {}, "Hangup", [("Channel", "PJSIP/1-1")]),
    ("hangup", ("PJSIP/1-1", 17), {}, "Hangup", [("Channel", "PJSIP/1-1"), ("Cause", "17")]),
    ("challenge", (), {}, "Challenge", [("AuthType", "MD5")]),
    ("get_config", ("sip.conf",), {}, "GetConfig", [("Filename", "sip.conf")]),
    (
        "get_config",
        ("sip.conf", "general"),
        {},
        "GetConfig",
        [("Filename", "sip.conf"), ("Category", "general")],
    ),
    ("agent_logoff", ("1001",), {}, "AgentLogoff", [("Agent", "1001"), ("Soft", "false")]),
    ("agent_logoff", ("1001", True), {}, "AgentLogoff", [("Agent", "1001"), ("Soft", "true")]),
    (
        "redirect",
        ("PJSIP/a-1", "100", "default"),
        {},
        "Redirect",
        [("Channel", "PJSIP/a-1"), ("Exten", "100"), ("Context", "default"), ("Priority", "1")],
    ),
    ("getvar", ("FOO",), {}, "Getvar", [("Variable", "FOO")]),
    ("getvar", ("FOO", "PJSIP/a-1"), {}, "Getvar", [("Channel", "PJSIP/a-1"), ("Variable", "FOO")]),
    (
        "setvar",
        ("FOO", "bar", "PJSIP/a-1"),
        {},
        "Setvar",
        [("Channel", "PJSIP/a-1"), ("Variable", "FOO"), ("Value", "bar")],
    ),
    (
        "queue_add",
        ("sales", "PJSIP/200"),
        {"member_name": "Zoe", "paused": False},
        "QueueAdd",
        [("Queue", "sales"), ("Interface", "PJSIP/200"), ("Paused", "false"), ("MemberName", "Zoe")],
    ),
    (
        "queue_remove",
        ("sales", "PJSIP/200"),
        {},
        "QueueRemove",
        [("Queue", "sales"), ("Interface", "PJSIP/200")],
    ),
    ("queue_pause", ("PJSIP/200",), {}, "QueuePause", [("Interface", "PJSIP/200"), ("Paused", "true")]),
    (
        "queue_pause",
        ("PJSIP/200", False),
        {"queue": "sales", "reason": "lunch"},
        "QueuePause",
        [("Interface", "PJSIP/200"), ("Paused", "false"), ("Queue", "sales"), ("Reason", "lunch")],
    ),
    ("db_get", ("fam", "k"), {}, "DBGet", [("Family", "fam"), ("Key", "k")]),
    ("db_put", ("fam", "k", "v"), {}, "DBPut", [("Family", "fam"), ("Key", "k"), ("Val", "v")]),
    ("db_del", ("fam", "k"), {}, "DBDel", [("Family", "fam"), ("Key", "k")]),
    (
        "user_event",
        ("Wallboard", {"Queue": "sales", "Calls": 3}),
        {},
        "UserEvent",
        [("UserEvent", "Wallboard"), ("Queue", "sales"), ("Calls", "3")],
    ),
    ("filter", ("Event: Newchannel",), {}, "Filter", [("Operation", "Add"), ("Filter", "Event: Newchannel")]),
    ("core_status", (), {}, "CoreStatus", []),
    ("core_settings", (), {}, "CoreSettings", []),
]

LIST_CASES: list[tuple[str, tuple[Any, ...], str, list[tuple[str, str]]]] = [
    ("core_show_channels", (), "CoreShowChannels", []),
    ("sip_peers", (), "SIPPeers", []),
    ("agents", (), "Agents", []),
    ("status", (), "Status", []),
    ("status", ("PJSIP/a-1", ["FOO", "BAR"]), "Status", [("Channel", "PJSIP/a-1"), ("Variables", "FOO,BAR")]),
    ("queue_status", (), "QueueStatus", []),
    ("queue_status", ("sales",), "QueueStatus", [("Queue", "sales")]),
    ("queue_summary", (), "QueueSummary", []),
    ("pjsip_show_endpoints", (), "PJSIPShowEndpoints", []),
    ("device_state_list", (), "DeviceStateList", []),
]


@pytest.mark.parametrize(("method", "args", "kwargs", "name", "fields"), CASES)
async def test_method_builds_action(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any], name: str, fields: list[tuple[str, str]]
) -> None:
    client = FakeClient()
    result = await getattr(ActionSender(client), method)(*args, **kwargs)  # type: ignore[arg-type]
    assert client.last.name == name
    assert client.last.fields == fields
    assert result.action_id == client.last.action_id  # what the server answered, unchanged


async def _list_answer(client: FakeClient, action: FakeAction) -> Any:
    coll = Collection(FakeMessage("Success", action.action_id))  # type: ignore[arg-type]
    coll._append(FakeMessage("Item", action.action_id))  # type: ignore[arg-type]
    coll.complete = True
    return coll


@pytest.mark.parametrize(("method", "args", "name", "fields"), LIST_CASES)
async def test_list_method_returns_the_collection(
    method: str, args: tuple[Any, ...], name: str, fields: list[tuple[str, str]]
) -> None:
    client = FakeClient(_list_answer)
    result = await getattr(ActionSender(client), method)(*args)  # type: ignore[arg-type]
    assert isinstance(result, Collection)
    assert len(result) == 1 and result.complete
    assert (client.last.name, client.last.fields) == (name, fields)
    assert client.sent[-1][2] is not None  # the legacy end event is always named


def test_every_seed_method_exists() -> None:
    seed = {
        "login",
        "logoff",
        "ping",
        "command",
        "events",
        "core_show_channels",
        "sip_peers",
        "agents",
        "agent_logoff",
        "sip_show_peer",
        "send_text",
        "hangup",
        "challenge",
        "get_config",
        "list_commands",
        "collect",
    }
    daily = {
        "originate",
        "redirect",
        "getvar",
        "setvar",
        "status",
        "queue_status",
        "queue_summary",
        "queue_add",
        "queue_remove",
        "queue_pause",
        "db_get",
        "db_put",
        "db_del",
        "user_event",
        "filter",
        "core_status",
        "core_settings",
        "pjsip_show_endpoints",
        "device_state_list",
    }
    assert seed | daily <= set(PUBLIC_METHODS)


def test_build_fields_conversions() -> None:
    assert build_fields(
        [
            ("A", None),
            ("B", True),
            ("C", 3),
            ("D", ["x", "y"]),
            ("Variable", {"FOO": "1", "BAR": 2}),
            ("E", ""),
        ]
    ) == [
        ("B", "true"),
        ("C", "3"),
        ("D", "x"),
        ("D", "y"),
        ("Variable", "FOO=1"),
        ("Variable", "BAR=2"),
        ("E", ""),
    ]


async def test_originate_is_async_by_default_with_repeated_variables() -> None:
    client = FakeClient()
    await ActionSender(client).originate(
        "PJSIP/100",
        context="default",
        exten="200",
        priority=1,
        caller_id='"Bob" <100>',
        variables={"FOO": "bar", "BAZ": "qux"},
        originate_timeout=15000,
    )
    assert client.last.name == "Originate"
    assert client.last.fields == [
        ("Channel", "PJSIP/100"),
        ("Exten", "200"),
        ("Context", "default"),
        ("Priority", "1"),
        ("Timeout", "15000"),
        ("CallerID", '"Bob" <100>'),
        ("Variable", "FOO=bar"),
        ("Variable", "BAZ=qux"),
        ("Async", "true"),
    ]


async def test_originate_sync_opt_in() -> None:
    client = FakeClient()
    await ActionSender(client).originate("PJSIP/100", application="Playback", data="hello", async_=False)
    assert ("Async", "false") in client.last.fields
    assert ("Application", "Playback") in client.last.fields
    with pytest.raises(ValueError, match="async"):
        await ActionSender(client).originate("PJSIP/100", exten="1", async_=False, wait=True)


async def test_originate_wait_returns_its_originate_response() -> None:
    async def answer(client: FakeClient, action: FakeAction) -> Any:
        # A foreign OriginateResponse (other ActionID) and an unrelated event come first; the
        # matching one may arrive before the response is even returned.
        client.emit(FakeMessage("OriginateResponse", "someone-else", [("Response", "Failure")]))
        client.emit(FakeMessage("Newchannel", action.action_id))
        client.emit(
            FakeMessage("OriginateResponse", action.action_id, [("Response", "Success"), ("Reason", "4")])
        )
        return FakeMessage("Success", action.action_id)

    client = FakeClient(answer)
    event = await ActionSender(client).originate("PJSIP/100", exten="200", context="default", wait=True)
    assert event.name == "OriginateResponse"
    assert event.get_field_value("Response") == "Success"


async def test_originate_wait_times_out() -> None:
    client = FakeClient()
    with pytest.raises(ActionTimeoutError):
        await ActionSender(client).originate("PJSIP/100", exten="1", wait=True, timeout=0.05)
    assert all(f.done() for _, f in client.follow_ups.values())


async def test_collect_passes_the_end_event_for_old_servers() -> None:
    client = FakeClient(_list_answer)
    coll = await ActionSender(client).collect(client.create_action("SIPPeers"), "PeerlistComplete")  # type: ignore[arg-type]
    assert client.sent[-1][2] == "PeerlistComplete"
    assert len(coll) == 1


async def test_collect_plain_response_without_end_event() -> None:
    client = FakeClient()
    coll = await ActionSender(client).collect(client.create_action("Ping"))  # type: ignore[arg-type]
    assert isinstance(coll, Collection) and len(coll) == 0 and coll.complete
    assert coll.action_id == client.last.action_id


async def test_timeouts_are_passed_through() -> None:
    client = FakeClient()
    await ActionSender(client).ping()
    assert client.sent[-1][1] == "default"  # the client's own default is left alone
    await ActionSender(client).ping(timeout=2.5)
    assert client.sent[-1][1] == 2.5
    await ActionSender(client, timeout=7.0).command("x")
    assert client.sent[-1][1] == 7.0


async def test_send_action_any_name() -> None:
    client = FakeClient()
    await ActionSender(client).send_action(
        "MuteAudio", {"Channel": "PJSIP/a-1", "Direction": "in", "State": "on"}
    )
    assert client.last.name == "MuteAudio"
    assert client.last.fields == [("Channel", "PJSIP/a-1"), ("Direction", "in"), ("State", "on")]
