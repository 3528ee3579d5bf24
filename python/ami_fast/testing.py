"""Test kit: ``FakeAsterisk``, an in-process AMI server on loopback that speaks like Asterisk 22.

::

    from ami_fast.testing import FakeAsterisk

    async def test_ping():
        async with FakeAsterisk(users={"ami": "amipass"}) as srv:
            async with ami_fast.connect(srv.url) as client:
                response = await client.request(client.create_action("Ping"))
                assert response.get_field_value("Ping") == "Pong"

What it does the way Asterisk 22.10 does (AMI-PROTOCOL.md §3-§7, §12): the banner
``Asterisk Call Manager/11.0.0`` with no empty line after it; CRLF everywhere; ActionID
echoed right after ``Response:`` only when the action had one; ``Login`` plain and MD5
(``Challenge`` first), a failed login answered after ``auth_failure_delay`` (1 s) and then the
socket closed without Goodbye; ``Permission denied`` before login (except Login, Challenge,
Logoff) and for actions a restricted user may not run; ``Logoff`` -> ``Goodbye`` then close;
``Ping``; ``Command`` in the >= 14 ``Output:`` format; ``UserEvent`` echoed as an event
repeating every header but ``Action`` (ActionID included); ``Events``; ``CoreShowChannels``
and ``Status`` event lists; ``ListCommands``; ``Getvar``/``Setvar`` (globals in
``srv.variables``, channel variables in ``srv.channel_variables`` for the channels of
``channels``); ``DBPut``/``DBGet`` (an event list)/``DBDel`` and ``DBGetTree``/``DBDelTree``
(subtrees matched as Asterisk's SQL ``LIKE`` does: ASCII case-insensitive, ``_`` and ``%``
wildcards) on ``srv.database``; ``Filter`` (legacy regex, ``!`` to exclude, and
``MatchCriteria``), which limits the events that connection gets; the unknown-action error.
Actions of one connection are handled one after another, like Asterisk.

Scripting: ``srv.on_action(name, handler)`` replaces or adds an action; the handler gets
``(connection, action)`` and may be async. A :class:`FakeConnection` has ``send_response``,
``send_error``, ``send_event``, ``send_list``, ``send_raw``, ``close`` (abrupt) and ``end``.
``srv.push_event`` broadcasts to every logged-in connection with events on.
``FakeAsterisk.replay(".../01_login_ping_logoff.bin")`` replays a recording with its chunking.

Pytest: ``pytest_plugins = ["ami_fast.testing"]`` gives the ``fake_asterisk`` fixture
(needs pytest-asyncio).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import random
import re
import ssl
import subprocess
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from hashlib import md5
from pathlib import Path
from types import TracebackType
from typing import Any, Union
from urllib.parse import quote

from ._select import ParserPy
from .messages import Message

__all__ = [
    "EventFilter",
    "FakeAsterisk",
    "FakeConnection",
    "FakeUser",
    "TestCertificates",
    "format_message",
    "make_test_certificates",
]

Fields = Union[Mapping[str, Any], Iterable[tuple[str, Any]], None]  # noqa: UP007 - runtime alias on 3.10
Handler = Callable[["FakeConnection", Message], Union[Awaitable[None], None]]  # noqa: UP007

BANNER = "Asterisk Call Manager/11.0.0"
# Actions allowed before login (manager.c process_message).
_PRE_LOGIN = frozenset({"login", "challenge", "logoff"})
# manager.conf read/write classes; an event mask names some of them.
_CLASSES = frozenset(
    {"system", "call", "log", "verbose", "command", "agent", "user", "config", "dtmf", "reporting", "cdr"}
    | {"dialplan", "originate", "agi", "cc", "aoc", "test", "security", "message"}
)
_TRUE = frozenset({"yes", "true", "y", "t", "1", "on", "all"})
_FALSE = frozenset({"no", "false", "n", "f", "0", "off"})


def event_classes(mask: str | None) -> frozenset[str] | None:
    """The event classes an ``Events``/``EventMask`` value selects, as Asterisk 22 reads it:
    ``None`` means every class (also for an absent or empty login mask), an empty set means
    off. Unknown class names select nothing, so ``EventMask: bogus`` turns events *off*."""
    text = (mask or "").strip().lower()
    if not text or text in _TRUE:
        return None
    if text in _FALSE:
        return frozenset()
    tokens = {t.strip() for t in text.split(",")}
    return None if "all" in tokens else frozenset(tokens & _CLASSES)


def _pairs(fields: Fields) -> list[tuple[str, str]]:
    if fields is None:
        return []
    items = fields.items() if isinstance(fields, Mapping) else fields
    out: list[tuple[str, str]] = []
    for key, value in items:
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            out.extend((key, str(v)) for v in value)
        else:
            out.append((key, str(value)))
    return out


def format_message(first_key: str, first_value: str, fields: Fields = None) -> bytes:
    """``first_key: first_value`` then each field, CRLF line ends, one empty line.

    ``fields`` is a mapping or a sequence of pairs; a list value gives repeated lines and
    ``None`` drops the field."""
    lines = [f"{first_key}: {first_value}"]
    lines.extend(f"{k}: {v}" for k, v in _pairs(fields))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")


@dataclass
class FakeUser:
    """A manager.conf user. ``allowed_actions``: lower-case action names the user may run
    (``None``: all; others get ``Permission denied``). ``read_events``: whether events are
    sent to it at all (like having no read class). ``system_read``: whether it gets
    ``FullyBooted`` after login (Asterisk sends it only to users with ``system`` read)."""

    secret: str = field(repr=False)
    allowed_actions: frozenset[str] | None = None
    read_events: bool = True
    system_read: bool = True


def _default_users() -> dict[str, FakeUser]:
    return {
        "ami": FakeUser("amipass"),
        "amilimited": FakeUser(
            "limitedpass",
            allowed_actions=frozenset({"ping", "userevent", "logoff", "login", "challenge"}),
            system_read=False,
        ),
    }


class FakeConnection(asyncio.Protocol):
    """One client connection to :class:`FakeAsterisk` (server side)."""

    def __init__(self, server: FakeAsterisk) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.parser = ParserPy()
        self.username: str | None = None
        self.logged_in = False
        self.event_classes: frozenset[str] | None = None  # None: every class; empty: off
        self.challenge: str | None = None
        self.received: list[Message] = []
        self.rx_bytes = bytearray()
        self.closed = asyncio.Event()
        self._backlog: deque[Message | None] = deque()  # None: a stray empty line
        self._line_tail = b""
        self._in_message = False
        self._busy = False
        self._replay: asyncio.Task[None] | None = None
        self._actions_seen = asyncio.Event()
        self.include_filters: list[EventFilter] = []
        self.exclude_filters: list[EventFilter] = []
        self.write_timed_out = False
        self._written = 0  # bytes handed to the transport; minus its buffer = bytes sent
        self._stall: asyncio.TimerHandle | None = None
        self._stall_sent = 0

    def __repr__(self) -> str:
        return f"<FakeConnection user={self.username!r} logged_in={self.logged_in}>"

    @property
    def events_on(self) -> bool:
        return self.event_classes is None or bool(self.event_classes)

    @events_on.setter
    def events_on(self, value: bool) -> None:
        self.event_classes = None if value else frozenset()

    def wants(self, privilege: str | None) -> bool:
        """Whether this connection's mask lets an event with this ``Privilege`` through."""
        if self.event_classes is None:
            return True
        if not self.event_classes:
            return False
        if privilege is None:
            return True  # an event without a class: only "off" holds it back
        return bool(self.event_classes & {p.strip().lower() for p in privilege.split(",")})

    def passes_filters(self, data: bytes) -> bool:
        """Whether the ``Filter`` actions of this connection let this event through
        (AMI-Event-Filtering: includes first, then excludes; no filter passes all)."""
        if not self.include_filters and not self.exclude_filters:
            return True
        text = data.decode("utf-8", "surrogateescape").rstrip("\r\n")
        if self.include_filters and not any(f.matches(text) for f in self.include_filters):
            return False
        return not any(f.matches(text) for f in self.exclude_filters)

    # -- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server.connections.append(self)
        if self.server._replay is not None:
            self._replay = asyncio.get_running_loop().create_task(self._run_replay())
            return
        if self.server.banner is not None:
            self.send_raw(f"{self.server.banner}\r\n".encode())

    def data_received(self, data: bytes) -> None:
        self.rx_bytes += data
        parsed = iter(self.parser.feed(data))
        for ends_message in self._frame(data):
            item: Message | None = None
            if ends_message:
                msg = next(parsed, None)
                if not isinstance(msg, Message):
                    continue  # a malformed action: Asterisk ignores what it cannot parse
                item = msg
                self.received.append(msg)
                self.server.received.append(msg)
                self._actions_seen.set()
                self.server._changed()
            if self._replay is not None:
                continue
            if self._busy:
                self._backlog.append(item)
                continue
            result = self._process(item)
            if result is not None:
                self._busy = True
                asyncio.get_running_loop().create_task(self._drain(result))

    def _frame(self, data: bytes) -> list[bool | None]:
        """Per empty line in ``data``: ``True`` when it ends a message (the parser returns
        that message), ``None`` when it is a stray empty line, which Asterisk answers with
        ``Missing action in request`` (the parser skips those)."""
        lines = (self._line_tail + data).split(b"\n")
        self._line_tail = lines.pop()
        out: list[bool | None] = []
        for line in lines:
            if line.rstrip(b"\r"):
                self._in_message = True
            elif self._in_message:
                self._in_message = False
                out.append(True)
            else:
                out.append(None)
        return out

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()
        if self._stall is not None:
            self._stall.cancel()
        if self._replay is not None:
            self._replay.cancel()
        self.server._changed()

    # -- sending ------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def send_raw(self, data: bytes) -> None:
        """Write bytes as they are (for malformed input, split messages...)."""
        if self.is_open:
            assert self.transport is not None
            self._written += len(data)
            self.transport.write(data)

    # -- writetimeout: Asterisk ends a session whose write makes no progress in time -------

    def pause_writing(self) -> None:
        # The kernel buffer is full and bytes wait here, as in Asterisk's event queue.
        if self.server.write_timeout is not None and self._stall is None:
            self._stall_sent = self._sent()
            self._stall = asyncio.get_running_loop().call_later(self.server.write_timeout, self._check_stall)

    def resume_writing(self) -> None:
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None

    def _sent(self) -> int:
        assert self.transport is not None
        return self._written - self.transport.get_write_buffer_size()

    def _check_stall(self) -> None:
        self._stall = None
        if not self.is_open:
            return
        sent = self._sent()
        if sent == self._stall_sent:
            # What the kernel holds still arrives, then a plain EOF; the rest is lost.
            self.write_timed_out = True
            self.close()
            return
        self._stall_sent = sent
        assert self.server.write_timeout is not None
        self._stall = asyncio.get_running_loop().call_later(self.server.write_timeout, self._check_stall)

    def send_message(self, first_key: str, first_value: str, fields: Fields = None) -> None:
        self.send_raw(format_message(first_key, first_value, fields))

    def response_bytes(
        self, action: Message | None, fields: Fields = None, *, response: str = "Success"
    ) -> bytes:
        head: list[tuple[str, Any]] = []
        action_id = action.action_id if action is not None else None
        if action_id is not None:
            head.append(("ActionID", action_id))
        return format_message("Response", response, head + _pairs(fields))

    def send_response(
        self, action: Message | None, fields: Fields = None, *, response: str = "Success"
    ) -> None:
        """``Response: <response>``, the action's ActionID (if it had one), then ``fields``."""
        self.send_raw(self.response_bytes(action, fields, response=response))

    def send_error(self, action: Message | None, message: str, fields: Fields = None) -> None:
        self.send_response(action, [("Message", message), *_pairs(fields)], response="Error")

    def event_bytes(self, name: str, fields: Fields = None, *, action: Message | None = None) -> bytes:
        head: list[tuple[str, Any]] = []
        if action is not None and action.action_id is not None:
            head.append(("ActionID", action.action_id))
        return format_message("Event", name, head + _pairs(fields))

    def send_event(self, name: str, fields: Fields = None, *, action: Message | None = None) -> None:
        """``Event: <name>`` (then the action's ActionID when ``action`` is given) and ``fields``."""
        self.send_raw(self.event_bytes(name, fields, action=action))

    def send_list(
        self,
        action: Message,
        item_event: str,
        items: Sequence[Fields],
        complete_event: str | None = None,
        *,
        message: str = "Events will follow",
        complete_fields: Fields = None,
        list_items: int | None = None,
        eventlist: bool = True,
    ) -> None:
        """An event list in one write: ``Response: Success / EventList: start``, one
        ``item_event`` per item (ActionID right after ``Event:``), then ``complete_event``
        (default ``<Action>Complete``) with ``EventList: Complete`` and ``ListItems``.
        ``list_items`` overrides the announced count; ``eventlist=False`` gives the legacy
        shape without any ``EventList`` field."""
        head = [("EventList", "start")] if eventlist else []
        out = [self.response_bytes(action, [*head, ("Message", message)])]
        out.extend(self.event_bytes(item_event, item, action=action) for item in items)
        tail: list[tuple[str, Any]] = []
        if eventlist:
            tail.append(("EventList", "Complete"))
        tail.append(("ListItems", len(items) if list_items is None else list_items))
        out.append(
            self.event_bytes(
                complete_event or f"{action.name}Complete", tail + _pairs(complete_fields), action=action
            )
        )
        self.send_raw(b"".join(out))

    def close(self) -> None:
        """Drop the connection abruptly (no Goodbye, unsent data lost)."""
        if self.transport is not None:
            self.transport.abort()

    def end(self) -> None:
        """Close after flushing what was written (like Asterisk after Goodbye)."""
        if self.transport is not None:
            self.transport.close()

    # -- action processing --------------------------------------------------------------

    async def _drain(self, first: Awaitable[None]) -> None:
        try:
            await first
            while self._backlog and self.is_open:
                result = self._process(self._backlog.popleft())
                if result is not None:
                    await result
        except Exception:  # a broken handler must not kill the fake server
            import logging

            logging.getLogger("ami_fast.testing").exception("FakeAsterisk action handler failed")
        finally:
            self._busy = False

    def _process(self, action: Message | None) -> Awaitable[None] | None:
        if action is None or action.kind != "action":
            self.send_response(None, [("Message", "Missing action in request")], response="Error")
            return None
        name = (action.name or "").lower()
        srv = self.server
        if srv.require_login and not self.logged_in and name not in _PRE_LOGIN:
            self.send_error(action, "Permission denied")
            return None
        user = srv.users.get(self.username or "")
        allowed = user.allowed_actions if self.logged_in and user is not None else None
        if allowed is not None and name not in allowed:
            self.send_error(action, "Permission denied")
            return None
        handler = srv._handlers.get(name) or _BUILTINS.get(name)
        if handler is None:
            text = f"Invalid/unknown command: {action.name}. "
            self.send_error(action, text + "Use Action: ListCommands to show available commands.")
            return None
        result = handler(self, action)
        return result if inspect.isawaitable(result) else None

    async def _run_replay(self) -> None:
        replay = self.server._replay
        assert replay is not None and self.transport is not None
        data = replay.data
        pos = 0
        last_t = 0.0
        for direction, at, size, actions_before in replay.steps:
            if replay.wait_for_client:
                while len(self.received) < actions_before:
                    self._actions_seen.clear()
                    await self._actions_seen.wait()
            if replay.speed and at > last_t:
                await asyncio.sleep((at - last_t) / replay.speed)
            last_t = at
            if direction == "rx-eof":
                self.end()
                return
            self._written += size
            self.transport.write(data[pos : pos + size])
            pos += size
            await asyncio.sleep(0)  # keep chunks separate on the wire as far as possible


# -- built-in actions -------------------------------------------------------------------


def _login(conn: FakeConnection, action: Message) -> Awaitable[None] | None:
    srv = conn.server
    if conn.logged_in:
        conn.send_response(action, [("Message", "Already authenticated")])
        return None
    username = action.get_field_value("Username") or ""
    user = srv.users.get(username)
    ok = False
    if user is not None:
        if (action.get_field_value("AuthType") or "").lower() == "md5":
            key = action.get_field_value("Key") or ""
            ok = (
                conn.challenge is not None and key == md5((conn.challenge + user.secret).encode()).hexdigest()
            )
        else:
            ok = action.get_field_value("Secret") == user.secret
    if not ok:
        return _login_failed(conn, action)
    conn.logged_in = True
    conn.username = username
    conn.event_classes = event_classes(action.get_field_value("Events"))
    if user is None or not user.read_events:
        conn.events_on = False
    out = [conn.response_bytes(action, [("Message", "Authentication accepted")])]
    # Written straight to the new session (past any eventfilter), mask permitting.
    if srv.fully_booted and user is not None and user.system_read and conn.wants("system,all"):
        out.append(
            format_message(
                "Event",
                "FullyBooted",
                [("Privilege", "system,all"), ("Uptime", 42), ("LastReload", 42), ("Status", "Fully Booted")],
            )
        )
    conn.send_raw(b"".join(out))
    if srv.security_events:
        # A security event, broadcast a moment later to every session that reads "security"
        # (after the answers to actions already pipelined behind the Login).
        data = format_message("Event", "SuccessfulAuth", _successful_auth(conn, username))
        asyncio.get_running_loop().call_soon(_broadcast_security, srv, data)
    return None


def _broadcast_security(srv: FakeAsterisk, data: bytes) -> None:
    for other in srv.connections:
        reader = srv.users.get(other.username or "")
        readable = reader is not None and reader.system_read and other.wants("security,all")
        if other.logged_in and other.is_open and readable and other.passes_filters(data):
            other.send_raw(data)


def _successful_auth(conn: FakeConnection, username: str) -> list[tuple[str, Any]]:
    def address(info: Any) -> str:
        host, port = (info or ("127.0.0.1", 0))[:2]
        return f"IPV{6 if ':' in str(host) else 4}/TCP/{host}/{port}"

    now = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime())
    transport = conn.transport
    return [
        ("Privilege", "security,all"),
        ("EventTV", now),
        ("Severity", "Informational"),
        ("Service", "AMI"),
        ("EventVersion", 1),
        ("AccountID", username),
        ("SessionID", hex(id(conn))),
        ("LocalAddress", address(transport.get_extra_info("sockname") if transport else None)),
        ("RemoteAddress", address(transport.get_extra_info("peername") if transport else None)),
        ("UsingPassword", 0),
        ("SessionTV", now),
    ]


async def _login_failed(conn: FakeConnection, action: Message) -> None:
    # Asterisk sleeps 1 s, answers, then closes without Goodbye (manager.c action_login).
    await asyncio.sleep(conn.server.auth_failure_delay)
    conn.send_error(action, "Authentication failed")
    conn.end()


def _challenge(conn: FakeConnection, action: Message) -> None:
    if (action.get_field_value("AuthType") or "").lower() != "md5":
        conn.send_error(action, "Must specify AuthType")
        return
    if conn.challenge is None:
        conn.challenge = str(random.randrange(100_000_000, 999_999_999))
    conn.send_response(action, [("Challenge", conn.challenge)])


def _logoff(conn: FakeConnection, action: Message) -> None:
    conn.send_response(action, [("Message", "Thanks for all the fish.")], response="Goodbye")
    conn.end()


def _ping(conn: FakeConnection, action: Message) -> None:
    conn.send_response(action, [("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}")])


def _command(conn: FakeConnection, action: Message) -> None:
    command = action.get_field_value("Command")
    if not command:
        conn.send_error(action, "No command provided")
        return
    output = conn.server.commands.get(command.strip())
    if output is None:
        conn.send_response(
            action,
            [
                ("Message", "Command output follows"),
                (
                    "Output",
                    f"No such command '{command}' "
                    f"(type 'core show help {command}' for other possible commands)",
                ),
            ],
            response="Error",
        )
        return
    lines = output.split("\n") if output else [""]
    conn.send_response(action, [("Message", "Command output follows"), ("Output", lines)])


def _userevent(conn: FakeConnection, action: Message) -> None:
    # The event repeats every header of the action except Action:, ActionID included, with
    # UserEvent: first (empty when the action had none). Broadcast to every listener.
    conn.send_response(action, [("Message", "Event Sent")])
    rest = [(k, v) for k, v in action.items()[1:] if k.lower() != "userevent"]
    fields = [("Privilege", "user,all"), ("UserEvent", action.get_field_value("UserEvent") or ""), *rest]
    conn.server.push_event("UserEvent", fields)


def _events(conn: FakeConnection, action: Message) -> None:
    mask = action.get_field_value("EventMask")
    if not mask:
        conn.send_error(action, "Invalid event mask")
        return
    conn.event_classes = event_classes(mask)
    conn.send_response(action, [("Events", "On" if conn.events_on else "Off")])


def _core_show_channels(conn: FakeConnection, action: Message) -> None:
    channels = conn.server.channels
    conn.send_list(
        action,
        "CoreShowChannel",
        channels,
        "CoreShowChannelsComplete",
        message="Channels will follow",
    )


def _status(conn: FakeConnection, action: Message) -> None:
    wanted = action.get_field_value("Channel")
    channels = [c for c in conn.server.channels if wanted is None or c.get("Channel") == wanted]
    items = [[("Privilege", "Call"), *_pairs(c)] for c in channels]
    conn.send_list(
        action,
        "Status",
        items,
        "StatusComplete",
        message="Channel status will follow",
        complete_fields=[("Items", len(items))],
    )


def _list_commands(conn: FakeConnection, action: Message) -> None:
    names = sorted({*_BUILTINS, *conn.server._handlers})
    conn.send_response(action, [(n, f"{n}.  (Priv: <none>)") for n in names])


def _core_settings(conn: FakeConnection, action: Message) -> None:
    conn.send_response(
        action,
        [
            ("AMIversion", (conn.server.banner or BANNER).rpartition("/")[2]),
            ("AsteriskVersion", "22.10.1"),
            ("SystemName", ""),
            ("CoreMaxCalls", 0),
            ("CoreMaxLoadAvg", "0.000000"),
            ("CoreRunUser", ""),
            ("CoreRunGroup", ""),
            ("CoreMaxFilehandles", 0),
            ("CoreRealTimeEnabled", "No"),
            ("CoreCDRenabled", "Yes"),
            ("CoreHTTPenabled", "No"),
            ("SoundsSearchCustomDir", "No"),
        ],
    )


_GLOBAL_FUNC = re.compile(r"GLOBAL\((.*)\)")


def _variable_scope(conn: FakeConnection, action: Message) -> dict[str, str] | None:
    """The variables ``Channel`` names (the globals without one); ``None``: no such channel."""
    srv = conn.server
    channel = action.get_field_value("Channel")
    if not channel:
        return srv.variables
    if not any(c.get("Channel") == channel for c in srv.channels):
        return None
    return srv.channel_variables.setdefault(channel, {})


def _variable_target(conn: FakeConnection, action: Message) -> tuple[str, dict[str, str]] | None:
    """The variable name and where it lives, or ``None`` after answering the error."""
    name = action.get_field_value("Variable")
    if not name:
        conn.send_error(action, "No variable specified")
        return None
    scope = _variable_scope(conn, action)
    if scope is None:
        conn.send_error(action, "No such channel")
        return None
    return name, scope


def _getvar(conn: FakeConnection, action: Message) -> None:
    target = _variable_target(conn, action)
    if target is None:
        return
    name, scope = target
    function = _GLOBAL_FUNC.fullmatch(name)
    value = conn.server.variables.get(function[1]) if function else scope.get(name)
    # An unset variable is no error: Asterisk answers an empty Value.
    conn.send_response(action, [("Variable", name), ("Value", value or "")])


def _setvar(conn: FakeConnection, action: Message) -> None:
    target = _variable_target(conn, action)
    if target is None:
        return
    name, scope = target
    scope[name] = action.get_field_value("Value") or ""
    conn.send_response(action, [("Message", "Variable Set")])


def _db_key(conn: FakeConnection, action: Message, dot: str) -> tuple[str, str] | None:
    """(Family, Key), or ``None`` after the error; DBPut's messages lack DBGet's final dot."""
    family = action.get_field_value("Family")
    key = action.get_field_value("Key")
    if not family:
        conn.send_error(action, "No family specified" + dot)
        return None
    if not key:
        conn.send_error(action, "No key specified" + dot)
        return None
    return family, key


def _db_put(conn: FakeConnection, action: Message) -> None:
    where = _db_key(conn, action, "")
    if where is not None:
        conn.server.database[where] = action.get_field_value("Val") or ""
        conn.send_response(action, [("Message", "Updated database successfully")])


def _db_get(conn: FakeConnection, action: Message) -> None:
    where = _db_key(conn, action, ".")
    if where is None:
        return
    value = conn.server.database.get(where)
    if value is None:
        conn.send_error(action, "Database entry not found")
        return
    # A one-item event list; DBGetResponse carries its ActionID last (main/db.c).
    tail = [("ActionID", action.action_id)] if action.action_id is not None else []
    conn.send_raw(
        conn.response_bytes(action, [("EventList", "start"), ("Message", "Result will follow")])
        + format_message(
            "Event", "DBGetResponse", [("Family", where[0]), ("Key", where[1]), ("Val", value), *tail]
        )
        + conn.event_bytes("DBGetComplete", [("EventList", "Complete"), ("ListItems", 1)], action=action)
    )


def _db_del(conn: FakeConnection, action: Message) -> None:
    where = _db_key(conn, action, ".")
    if where is None:
        return
    if conn.server.database.pop(where, None) is None:
        conn.send_error(action, "Database entry could not be deleted")
        return
    conn.send_response(action, [("Message", "Key deleted successfully")])


def _db_tree_prefix(action: Message) -> str:
    """The AstDB key prefix of DBGetTree/DBDelTree: ``/family/key``, ``/family`` or all."""
    family = action.get_field_value("Family")
    key = action.get_field_value("Key")
    if not family:
        return ""
    return f"/{family}/{key}" if key else f"/{family}"


def _db_tree(conn: FakeConnection, prefix: str) -> list[tuple[str, str, tuple[str, str]]]:
    """Entries under ``prefix`` sorted by full key, as main/db.c selects them: SQL
    ``key || '/' LIKE prefix || '/%'`` (so ASCII case-insensitive, ``_`` and ``%`` wildcards)."""
    pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in prefix + "/")
    like = re.compile(pattern + ".*", re.ASCII | re.IGNORECASE | re.DOTALL)
    found = [(f"/{f}/{k}", v, (f, k)) for (f, k), v in conn.server.database.items()]
    return sorted(item for item in found if like.fullmatch(item[0] + "/"))


def _db_get_tree(conn: FakeConnection, action: Message) -> None:
    # A Family-less DBGetTree lists the whole database (the Key is then ignored).
    entries = _db_tree(conn, _db_tree_prefix(action))
    tail = [("ActionID", action.action_id)] if action.action_id is not None else []
    complete = [("EventList", "Complete"), ("ListItems", len(entries))]
    conn.send_raw(
        conn.response_bytes(action, [("EventList", "start"), ("Message", "Result will follow")])
        + b"".join(
            format_message("Event", "DBGetTreeResponse", [("Key", key), ("Val", value), *tail])
            for key, value, _ in entries
        )
        + conn.event_bytes("DBGetTreeComplete", complete, action=action)
    )


def _db_del_tree(conn: FakeConnection, action: Message) -> None:
    if not action.get_field_value("Family"):
        conn.send_error(action, "No family specified.")
        return
    entries = _db_tree(conn, _db_tree_prefix(action))
    if not entries:
        conn.send_error(action, "Database entry not found")
        return
    for _, _, where in entries:
        del conn.server.database[where]
    conn.send_response(action, [("Message", "Key tree deleted successfully")])


_FILTER_FORMAT = "Filter was formatted incorrectly.  Check the syntax of the filter given."
_FILTER_COMPILE = "Filter did not compile.  Check the syntax of the filter given."
_METHODS = frozenset({"regex", "exact", "starts_with", "ends_with", "contains", "none"})
_CRITERION = re.compile(r"\s*(action|name|header|method)\((.*)\)\s*")


@dataclass(frozen=True)
class EventFilter:
    """One ``Filter`` of a connection: a legacy regex over the event text, or an advanced
    filter (``MatchCriteria``) on the event name and/or one header's value."""

    method: str  # regex, exact, starts_with, ends_with, contains, none
    pattern: str = ""
    name: str | None = None
    header: str | None = None

    def matches(self, text: str) -> bool:
        lines = text.split("\r\n")
        if self.name is not None and lines[0] != f"Event: {self.name}":
            return False
        target = text
        if self.header is not None:
            prefix = self.header.lower() + ":"
            found = next((ln for ln in lines if ln.lower().startswith(prefix)), None)
            if found is None:
                return False
            target = found.partition(":")[2].lstrip(" ")
        if self.method == "regex":
            return re.search(self.pattern, target) is not None
        if self.method == "exact":
            return target == self.pattern
        if self.method == "starts_with":
            return target.startswith(self.pattern)
        if self.method == "ends_with":
            return target.endswith(self.pattern)
        if self.method == "contains":
            return self.pattern in target
        return True


def parse_event_filter(criteria: str | None, pattern: str | None) -> tuple[EventFilter, bool] | str:
    """The filter of a ``Filter`` action and whether it excludes, or the error message."""
    pattern = pattern or ""
    exclude = False
    name = header = None
    method = "regex"
    if criteria:
        for token in criteria.split(","):
            found = _CRITERION.fullmatch(token)
            if found is None:
                return _FILTER_FORMAT
            kind, value = found[1], found[2]
            if kind == "action" and value in ("include", "exclude"):
                exclude = value == "exclude"
            elif kind == "method" and value in _METHODS:
                method = value
            elif kind == "name" and value:
                name = value
            elif kind == "header" and value:
                header = value
            else:
                return _FILTER_FORMAT
        if not pattern:
            method = "none"  # name/header only
    else:
        if pattern.startswith("!"):
            exclude, pattern = True, pattern[1:]
        if not pattern:
            return _FILTER_FORMAT
    if method == "regex":
        try:
            re.compile(pattern)
        except re.error:
            return _FILTER_COMPILE
    return EventFilter(method, pattern, name, header), exclude


def _filter(conn: FakeConnection, action: Message) -> None:
    if (action.get_field_value("Operation") or "").lower() != "add":
        conn.send_error(action, "Unknown operation")
        return
    parsed = parse_event_filter(action.get_field_value("MatchCriteria"), action.get_field_value("Filter"))
    if isinstance(parsed, str):
        conn.send_error(action, parsed)
        return
    event_filter, exclude = parsed
    (conn.exclude_filters if exclude else conn.include_filters).append(event_filter)
    conn.send_response(action, [("Message", "Success")])


_BUILTINS: dict[str, Handler] = {
    "login": _login,
    "challenge": _challenge,
    "logoff": _logoff,
    "ping": _ping,
    "command": _command,
    "userevent": _userevent,
    "events": _events,
    "coreshowchannels": _core_show_channels,
    "status": _status,
    "listcommands": _list_commands,
    "coresettings": _core_settings,
    "getvar": _getvar,
    "setvar": _setvar,
    "dbput": _db_put,
    "dbget": _db_get,
    "dbdel": _db_del,
    "dbgettree": _db_get_tree,
    "dbdeltree": _db_del_tree,
    "filter": _filter,
}


# -- the server -------------------------------------------------------------------------


@dataclass
class _Replay:
    data: bytes
    steps: list[tuple[str, float, int, int]]  # direction, time, size, actions sent before it
    wait_for_client: bool
    speed: float | None


class FakeAsterisk:
    """An AMI server on loopback for tests. See the module docstring.

    Args:
        users: user name -> secret or :class:`FakeUser`. Default: ``ami``/``amipass`` (all
            rights) and ``amilimited``/``limitedpass`` (Ping, UserEvent only).
        host, port: where to listen (loopback; port 0 picks a free one).
        tls: a server ``ssl.SSLContext`` to speak TLS (``url`` then starts with ``tls://``).
        banner: the first line (``None``: send none).
        auth_failure_delay: seconds before a failed login is answered (Asterisk: 1 s).
        require_login: refuse everything but Login, Challenge, Logoff before login.
        fully_booted: send ``FullyBooted`` after a login whose mask includes ``system``.
        security_events: after each login, broadcast ``SuccessfulAuth`` to the sessions that
            read ``security`` (users with ``system_read``), as Asterisk 22 does (off by
            default: most tests want only the events they push).
        commands: CLI command -> output text, for ``Command``.
        channels: field mappings used by ``CoreShowChannels`` and ``Status``; ``Getvar`` and
            ``Setvar`` know a channel by its ``Channel`` field.
        variables: initial global variables (``srv.variables``).
        database: initial AstDB entries, ``(family, key) -> value`` (``srv.database``).
        write_timeout: seconds a blocked write may make no progress before the connection is
            dropped without Goodbye, like manager.conf ``writetimeout`` (Asterisk: 0.1 s).
            ``None`` (default): never, so a busy test loop cannot cost a test its client.
    """

    def __init__(
        self,
        users: Mapping[str, str | FakeUser] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
        banner: str | None = BANNER,
        auth_failure_delay: float = 1.0,
        require_login: bool = True,
        fully_booted: bool = True,
        security_events: bool = False,
        commands: Mapping[str, str] | None = None,
        channels: Sequence[Mapping[str, Any]] | None = None,
        variables: Mapping[str, str] | None = None,
        database: Mapping[tuple[str, str], str] | None = None,
        write_timeout: float | None = None,
    ) -> None:
        if users is None:
            self.users: dict[str, FakeUser] = _default_users()
        else:
            self.users = {k: v if isinstance(v, FakeUser) else FakeUser(v) for k, v in users.items()}
        self.host = host
        self._port = port
        self.tls = tls
        self.banner = banner
        self.auth_failure_delay = auth_failure_delay
        self.require_login = require_login
        self.fully_booted = fully_booted
        self.security_events = security_events
        self.write_timeout = write_timeout
        self.commands: dict[str, str] = dict(
            commands if commands is not None else {"core show version": "Asterisk 22.10.1 built by fake"}
        )
        self.channels: list[Mapping[str, Any]] = list(channels or [])
        self.variables: dict[str, str] = dict(variables or {})
        self.channel_variables: dict[str, dict[str, str]] = {}
        self.database: dict[tuple[str, str], str] = dict(database or {})
        self.received: list[Message] = []
        self.connections: list[FakeConnection] = []
        self._handlers: dict[str, Handler] = {}
        self._server: asyncio.Server | None = None
        self._replay: _Replay | None = None
        self._change = asyncio.Event()

    @classmethod
    def replay(
        cls,
        recording: str | os.PathLike[str],
        *,
        wait_for_client: bool = True,
        speed: float | None = None,
        **options: Any,
    ) -> FakeAsterisk:
        """A server that plays a recorded ``NAME.bin`` to each client with the chunk
        boundaries of ``NAME.chunks.json`` (and, with ``speed``, its timing divided by
        ``speed``). With ``wait_for_client``, each received chunk waits until the client has
        sent as many actions as the recording had at that point. Closes where the
        recording's server closed."""
        path = Path(recording)
        base = str(path)[: -len(".bin")] if str(path).endswith(".bin") else str(path)
        data = Path(base + ".bin").read_bytes()
        meta = json.loads(Path(base + ".chunks.json").read_text())
        sent_path = Path(base + ".sent.bin")
        sent = sent_path.read_bytes() if sent_path.exists() else b""
        steps: list[tuple[str, float, int, int]] = []
        parser = ParserPy()
        sent_pos = 0
        actions = 0
        for direction, at, size in meta["chunks"]:
            if direction == "tx":
                actions += sum(
                    1 for m in parser.feed(sent[sent_pos : sent_pos + size]) if isinstance(m, Message)
                )
                sent_pos += size
            else:
                steps.append((direction, float(at), int(size), actions))
        server = cls(**options)
        server._replay = _Replay(data, steps, wait_for_client, speed)
        return server

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> FakeAsterisk:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: FakeConnection(self), self.host, self._port, ssl=self.tls, reuse_address=True
        )
        return self

    async def stop(self) -> None:
        """Stop listening and drop every connection."""
        if self._server is None:
            return
        self._server.close()
        for conn in self.connections:
            conn.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 5)
        self._server = None

    async def shutdown(self) -> None:
        """Shut down like Asterisk on SIGTERM (``core stop now``): actions still queued on a
        connection are answered ``Asterisk is shutting down``, connections with ``system``
        events get ``Event: Shutdown``, then every connection is closed and listening stops.
        (An action whose handler is still running gets no answer.)"""
        if self._server is not None:
            self._server.close()
        shutdown = format_message(
            "Event", "Shutdown", [("Privilege", "system,all"), ("Shutdown", "Cleanly"), ("Restart", "False")]
        )
        for conn in self.connections:
            while conn._backlog:
                queued = conn._backlog.popleft()
                conn.send_error(queued, "Asterisk is shutting down")
            if conn.logged_in and conn.wants("system,all"):
                conn.send_raw(shutdown)
            conn.end()
        await self.stop()

    async def __aenter__(self) -> FakeAsterisk:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # -- addresses ----------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeAsterisk is not started")
        return int(self._server.sockets[0].getsockname()[1])

    def url_for(self, username: str | None = None, secret: str | None = None) -> str:
        """A URL for this server; with ``username`` (and its secret from ``users`` unless given)."""
        scheme = "tls" if self.tls is not None else "tcp"
        host = f"[{self.host}]" if ":" in self.host else self.host
        userinfo = ""
        if username is not None:
            if secret is None:
                secret = self.users[username].secret
            userinfo = f"{quote(username, safe='')}:{quote(secret, safe='')}@"
        return f"{scheme}://{userinfo}{host}:{self.port}"

    @property
    def url(self) -> str:
        """URL with the first user's credentials (``ami:amipass`` by default)."""
        return self.url_for(next(iter(self.users)) if self.users else None)

    @property
    def url_no_login(self) -> str:
        return self.url_for(None)

    # -- scripting ----------------------------------------------------------------------

    def on_action(self, name: str, handler: Handler) -> None:
        """Handle action ``name`` (case-insensitive) with ``handler(connection, action)``,
        replacing any built-in. The login and permission checks still run first."""
        self._handlers[name.lower()] = handler

    def push_event(self, name: str, fields: Fields = None) -> int:
        """Send ``Event: name`` to every logged-in connection whose event mask lets its
        ``Privilege`` classes through (any mask but off, when it has none); returns how many."""
        pairs = _pairs(fields)
        privilege = next((v for k, v in pairs if k.lower() == "privilege"), None)
        data = format_message("Event", name, pairs)
        count = 0
        for conn in self.connections:
            if conn.logged_in and conn.is_open and conn.wants(privilege) and conn.passes_filters(data):
                conn.send_raw(data)
                count += 1
        return count

    def push_raw(self, data: bytes) -> int:
        """Write ``data`` to every logged-in connection with events on (classes are not
        checked); returns how many."""
        count = 0
        for conn in self.connections:
            if conn.logged_in and conn.events_on and conn.is_open and conn.passes_filters(data):
                conn.send_raw(data)
                count += 1
        return count

    @property
    def active_connections(self) -> list[FakeConnection]:
        return [c for c in self.connections if c.is_open]

    def _changed(self) -> None:
        self._change.set()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` is true (re-checked when an action arrives or a
        connection closes); ``TimeoutError`` after ``timeout``."""

        async def _wait() -> None:
            while not predicate():
                self._change.clear()
                await self._change.wait()

        await asyncio.wait_for(_wait(), timeout)

    async def wait_for_action(self, name: str, count: int = 1, timeout: float = 10.0) -> list[Message]:
        """Wait until ``count`` actions named ``name`` were received; returns them all."""
        key = name.lower()

        def matching() -> list[Message]:
            return [m for m in self.received if (m.name or "").lower() == key]

        await self.wait_until(lambda: len(matching()) >= count, timeout)
        return matching()


# -- TLS material for tests -------------------------------------------------------------


@dataclass(frozen=True)
class TestCertificates:
    """Files of a throw-away CA and a server certificate for ``localhost``/127.0.0.1/::1."""

    __test__ = False  # not a pytest test class

    ca_cert: Path
    server_cert: Path
    server_key: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.server_cert, self.server_key)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts only the test CA."""
        return ssl.create_default_context(cafile=str(self.ca_cert))


def make_test_certificates(
    directory: str | os.PathLike[str], hostnames: Sequence[str] = ("localhost", "127.0.0.1", "::1")
) -> TestCertificates:
    """Create a test CA and a server certificate signed by it, with the ``openssl`` CLI
    (EC P-256, valid for two days). Returns the file paths."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = out / "ca.key", out / "ca.pem"
    key, csr, cert = out / "server.key", out / "server.csr", out / "server.pem"
    san = ",".join((f"IP:{h}" if h.replace(".", "").isdigit() or ":" in h else f"DNS:{h}") for h in hostnames)
    ext = out / "server.ext"
    ext.write_text(
        f"subjectAltName={san}\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    run("req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(ca_cert), "-days", "2",
        "-subj", "/CN=ami-fast test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    run("req", *ec, "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={hostnames[0]}")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext))  # fmt: skip
    return TestCertificates(ca_cert, cert, key)


# -- pytest fixture -----------------------------------------------------------------------

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - the fixture needs pytest-asyncio
    pass
else:

    @pytest_asyncio.fixture
    async def fake_asterisk() -> AsyncIterator[FakeAsterisk]:
        """A started :class:`FakeAsterisk` with the default users; ``fake_asterisk.url``."""
        async with FakeAsterisk(auth_failure_delay=0.05) as server:
            yield server
