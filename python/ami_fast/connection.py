"""AmiConnection: the sans-IO core of a client connection (no I/O, no clock).

It owns the parser, the ActionID space, the pending-request map, open event lists
(Collections) and follow-up subscriptions, and routes every parsed message:

- only **responses** resolve requests (by ActionID, whatever the order);
- ``EventList: start`` on any response opens a Collection; items join it **by ActionID**;
  it ends on ``EventList: Complete|cancelled`` (case-insensitive), or, for old servers that
  send no ``EventList`` field, on the end event named in :data:`LEGACY_LIST_END`;
- an event carrying a pending follow-up's ActionID (``OriginateResponse``) goes to it;
- everything else is a normal event (a ``UserEvent`` echo of our ActionID included).

``receive_data(chunk)`` returns the routed items in arrival order: bare event messages and the
small control records defined below. ``receive_batch(chunk)`` returns the same in two lists
(events, control records). The hot path: a chunk of nothing but plain events (the usual case
under load) is recognised with two C-level passes and returned as the parser made it, with no
per-event Python code.
"""

from __future__ import annotations

import base64
import secrets
from collections import OrderedDict
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Union

from . import _pymessages
from ._select import Parser as _DefaultParser
from ._select import native as _native
from .collection import Collection
from .errors import (
    ActionError,
    AuthenticationError,
    MessageTooLargeError,
    PermissionDeniedError,
    ProtocolError,
    UnexpectedMessageError,
    UsageError,
)

if TYPE_CHECKING:
    from .messages import Action, Event, Response

__all__ = [
    "LEGACY_LIST_END",
    "AmiConnection",
    "ErrorReport",
    "FollowUp",
    "Goodbye",
    "ListStarted",
    "RequestDone",
    "RequestFailed",
    "Stats",
]

# Old servers (<= 12) answer some list actions with "... will follow" and no EventList field.
# Only used when the response has no EventList and its Message says "follow": guessing
# list-ness from the Message alone hangs when wrong (panoramisk#54).
LEGACY_LIST_END: dict[str, str] = {
    "agents": "AgentsComplete",
    "coreshowchannels": "CoreShowChannelsComplete",
    "dbget": "DBGetComplete",
    "iaxpeers": "PeerlistComplete",
    "iaxregistry": "RegistrationsComplete",
    "parkedcalls": "ParkedCallsComplete",
    "queuestatus": "QueueStatusComplete",
    "queuesummary": "QueueSummaryComplete",
    "showdialplan": "ShowDialPlanComplete",
    "sippeers": "PeerlistComplete",
    "sipshowregistry": "RegistrationsComplete",
    "status": "StatusComplete",
    "voicemailuserslist": "VoicemailUserEntryComplete",
}

_TOMBSTONES_MAX = 4096
# The parsers' event classes: a chunk made only of these is all events (checked by type, which
# costs ~30 ns per message in C, against ~100-200 ns for reading ``kind``/``action_id``).
_EVENT_TYPES: frozenset[type] = frozenset(
    t for t in (_pymessages.Event, getattr(_native, "Event", None)) if isinstance(t, type)
)
_get_action_id = attrgetter("action_id")


@dataclass
class Stats:
    """Counters of one client connection. Every drop or anomaly is counted here."""

    messages_received: int = 0
    responses_received: int = 0
    events_received: int = 0
    list_items_received: int = 0
    follow_ups_received: int = 0
    requests_sent: int = 0
    requests_timed_out: int = 0
    unexpected_responses: int = 0
    late_responses: int = 0
    late_list_items: int = 0
    protocol_errors: int = 0
    unknown_messages: int = 0
    list_items_mismatches: int = 0
    events_dispatched: int = 0
    events_dropped: int = 0
    events_discarded_at_close: int = 0
    stream_events_dropped: int = 0
    callback_errors: int = 0
    errors_dropped: int = 0
    dispatch_queue_high_water: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(slots=True)
class RequestDone:
    """A request finished: ``result`` is its Response, or its Collection for a list."""

    action_id: str
    result: Response | Collection


@dataclass(slots=True)
class RequestFailed:
    """A request failed (``ActionError``, a closed connection, a list cap)."""

    action_id: str
    error: BaseException


@dataclass(slots=True)
class ListStarted:
    """A response opened an event list; the request now waits for its end."""

    action_id: str
    collection: Collection


@dataclass(slots=True)
class FollowUp:
    """An event matched a follow-up subscription (e.g. ``OriginateResponse``)."""

    action_id: str
    event: Event


@dataclass(slots=True)
class ErrorReport:
    """Something to tell the ``error`` listeners about; never fatal."""

    error: BaseException


@dataclass(slots=True)
class Goodbye:
    """The server said ``Response: Goodbye``; it is about to close the connection."""

    response: Response


Item = Union["Event", RequestDone, RequestFailed, ListStarted, FollowUp, ErrorReport, Goodbye]


class _Pending:
    __slots__ = ("action_id", "collection", "end_event", "login", "max_bytes", "max_items", "name", "nbytes")

    def __init__(
        self, action_id: str, name: str, end_event: str | None, max_items: int, max_bytes: int
    ) -> None:
        self.action_id = action_id
        self.name = name
        self.login = name.lower() == "login"
        self.end_event = end_event.lower() if end_event else None
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.nbytes = 0  # raw bytes of the list's entries so far
        self.collection: Collection | None = None


def _new_prefix() -> str:
    # 80 random bits: unguessable by other clients whose events echo their own ActionIDs.
    return base64.b32encode(secrets.token_bytes(10)).decode("ascii").lower()


class AmiConnection:
    """Sans-IO AMI client state machine. See the module docstring for the routing rules."""

    def __init__(
        self,
        *,
        parser: Any = None,
        max_pending: int = 10_000,
        list_max_items: int = 100_000,
        linger_max: int = 10_000,
        list_max_bytes: int = 64 << 20,
    ) -> None:
        self._parser = parser if parser is not None else _DefaultParser()
        self.prefix = _new_prefix()
        self._counter = 0
        self.max_pending = max_pending
        self.list_max_items = list_max_items
        self.list_max_bytes = list_max_bytes
        self.linger_max = linger_max
        self._pending: dict[str, _Pending] = {}
        self._lists: dict[str, _Pending] = {}  # the subset of _pending with an open list
        # action_id -> True when a late list's items must be swallowed too.
        self._tombstones: OrderedDict[str, bool] = OrderedDict()
        # The keys of _tombstones whose value is True: only those can claim an event.
        self._list_tombstones: set[str] = set()
        self._linger: dict[str, frozenset[str] | None] = {}
        self.stats = Stats()
        self.goodbye = False
        self.closed = False

    # -- inputs -------------------------------------------------------------------------

    @property
    def version(self) -> str | None:
        """The AMI version from the banner, once seen."""
        return self._parser.version  # type: ignore[no-any-return]

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def is_pending(self, action_id: str) -> bool:
        return action_id in self._pending

    def next_action_id(self) -> str:
        self._counter += 1
        return f"{self.prefix}-{self._counter}"

    def send_action(
        self, action: Action, *, end_event: str | None = None, list_max_items: int | None = None
    ) -> tuple[str, bytes]:
        """Register ``action`` as pending and return ``(action_id, bytes to write)``.

        An action without an ActionID gets one; a caller's own ActionID is honoured unless it
        is already pending (``UsageError``). Nothing is registered if encoding fails.
        ``end_event`` names the end event of a list whose response carries no ``EventList``.
        """
        if self.closed:
            raise UsageError("the connection is closed")
        action_id = action.action_id
        if action_id is None:
            action = action.with_action_id(self.next_action_id())
            action_id = action.action_id
            assert action_id is not None
        elif action_id in self._pending:
            raise UsageError(f"ActionID {action_id!r} is already pending on this connection")
        if len(self._pending) >= self.max_pending:
            raise UsageError(f"too many requests in flight (max_pending={self.max_pending})")
        data = action.get_message_serialized()  # raises InvalidActionError before registering
        self._tombstones.pop(action_id, None)
        self._list_tombstones.discard(action_id)
        self._pending[action_id] = _Pending(
            action_id,
            action.name,
            end_event,
            self.list_max_items if list_max_items is None else list_max_items,
            self.list_max_bytes,
        )
        self.stats.requests_sent += 1
        return action_id, data

    def cancel(self, action_id: str) -> Collection | None:
        """Forget a pending request (timeout, caller cancelled). A late reply is dropped and
        counted (``late_responses``) rather than reported as unexpected. Returns the partial
        Collection if a list was open."""
        pending = self._pending.pop(action_id, None)
        if pending is None:
            return None
        coll = pending.collection
        self._lists.pop(action_id, None)
        self._tombstone(action_id, coll is not None)
        if coll is not None:
            coll.partial = True
        return coll

    def add_follow_up(self, action_id: str, event_names: frozenset[str] | None) -> None:
        """Route the next event with this ActionID (and one of these names, lower-case) to a
        :class:`FollowUp` item instead of the event stream."""
        if action_id not in self._linger and len(self._linger) >= self.linger_max:
            raise UsageError(f"too many follow-up subscriptions (linger_max={self.linger_max})")
        self._linger[action_id] = event_names

    def remove_follow_up(self, action_id: str) -> None:
        self._linger.pop(action_id, None)

    def receive_data(self, data: bytes) -> list[Item]:
        """Feed one chunk (``b""`` = EOF) and return the routed items in arrival order."""
        if not data:
            return self._eof_items()
        msgs = self._parser.feed(data)
        self.stats.messages_received += len(msgs)
        if self._all_plain_events(msgs):
            self.stats.events_received += len(msgs)
            return msgs  # type: ignore[no-any-return]
        out: list[Item] = []
        self._route(msgs, out, out)
        return out

    def receive_batch(self, data: bytes) -> tuple[list[Event], list[Item]]:
        """Like :meth:`receive_data`, but returns ``(events, control records)``, each list in
        arrival order. A chunk of plain events comes back as the parser's own list."""
        if not data:
            return [], self._eof_items()
        msgs = self._parser.feed(data)
        self.stats.messages_received += len(msgs)
        if self._all_plain_events(msgs):
            self.stats.events_received += len(msgs)
            return msgs, []
        events: list[Event] = []
        items: list[Item] = []
        self._route(msgs, events, items)  # type: ignore[arg-type]
        return events, items

    def _eof_items(self) -> list[Item]:
        out: list[Item] = []
        for err in self._parser.feed_eof():
            self.stats.protocol_errors += 1
            out.append(ErrorReport(err))
        return out

    def _all_plain_events(self, msgs: list[Any]) -> bool:
        """True when every message is an event that no list, follow-up or list tombstone
        claims: the chunk can go to the event stream whole."""
        types = set(map(type, msgs))
        if len(types) != 1 or types.pop() not in _EVENT_TYPES:
            return not msgs
        lists, linger, tombs = self._lists, self._linger, self._list_tombstones
        if not (lists or linger or tombs):
            return True
        aids = set(map(_get_action_id, msgs))
        return aids.isdisjoint(lists) and aids.isdisjoint(linger) and aids.isdisjoint(tombs)

    def _route(self, msgs: list[Any], events: list[Item], out: list[Item]) -> None:
        """The per-message path: plain events go to ``events``, everything else to ``out``
        (the same list keeps the arrival order of both)."""
        stats = self.stats
        lists = self._lists
        linger = self._linger
        tombstones = self._tombstones
        append = events.append
        plain_events = 0
        for msg in msgs:
            try:
                kind = msg.kind
            except AttributeError:
                self._protocol_error(msg, out)
                continue
            if kind == "event":
                aid = msg.action_id
                if aid is not None and (aid in lists or aid in linger or aid in tombstones):
                    if self._route_event(msg, aid, out):
                        append(msg)
                else:
                    plain_events += 1
                    append(msg)
            elif kind == "response":
                self._route_response(msg, out)
            else:
                stats.unknown_messages += 1
                out.append(
                    ErrorReport(
                        ProtocolError(
                            "message is neither an event nor a response",
                            excerpt=msg.raw[:64],
                            action_id=msg.action_id,
                            raw=msg.raw,
                        )
                    )
                )
        stats.events_received += plain_events

    def fail_all(self, error: BaseException) -> list[Item]:
        """The connection is gone: fail every pending request and open list with ``error``
        (open Collections are marked partial) and drop follow-up subscriptions."""
        self.closed = True
        out: list[Item] = []
        for pending in self._pending.values():
            if pending.collection is not None:
                pending.collection.partial = True
            out.append(RequestFailed(pending.action_id, error))
        self._pending.clear()
        self._lists.clear()
        self._linger.clear()
        return out

    # -- routing ------------------------------------------------------------------------

    def _protocol_error(self, err: Any, out: list[Item]) -> None:
        self.stats.protocol_errors += 1
        aid: str | None = getattr(err, "action_id", None)
        raw = getattr(err, "raw", None) or b""
        pending = self._pending.get(aid) if aid is not None else None
        if (
            aid is not None
            and pending is not None
            and pending.collection is None
            and raw[:9].lower() == b"response:"
        ):
            # A malformed reply to a pending request: fail it now instead of timing out.
            del self._pending[aid]
            out.append(RequestFailed(aid, err))
            return
        out.append(ErrorReport(err))

    def _route_response(self, msg: Response, out: list[Item]) -> None:
        self.stats.responses_received += 1
        aid = msg.action_id
        pending = self._pending.get(aid) if aid is not None else None
        status = (msg.name or "").lower()
        if status == "goodbye":
            self.goodbye = True
            out.append(Goodbye(msg))
        if pending is None or pending.collection is not None:
            if aid is not None and aid in self._tombstones:
                self.stats.late_responses += 1
                if _eventlist(msg) == "start":
                    self._tombstones[aid] = True
                    self._list_tombstones.add(aid)
                return
            self.stats.unexpected_responses += 1
            text = "response without an ActionID" if aid is None else "response matches no pending request"
            out.append(
                ErrorReport(UnexpectedMessageError(text, response=msg, action_id=aid, excerpt=msg.raw[:64]))
            )
            return
        assert aid is not None
        if status == "error":
            del self._pending[aid]
            out.append(RequestFailed(aid, _action_error(msg, pending)))
            return
        eventlist = _eventlist(msg)
        end_event = pending.end_event
        if eventlist == "start" or (
            eventlist is None
            and status == "success"
            and (
                end_event is not None
                or (
                    pending.name.lower() in LEGACY_LIST_END
                    and "follow" in (msg.get_field_value("Message") or "").lower()
                )
            )
        ):
            if end_event is None and eventlist is None:
                pending.end_event = LEGACY_LIST_END[pending.name.lower()].lower()
            coll = Collection(msg)
            pending.collection = coll
            self._lists[aid] = pending
            out.append(ListStarted(aid, coll))
            return
        del self._pending[aid]
        out.append(RequestDone(aid, msg))

    def _route_event(self, msg: Event, aid: str, out: list[Item]) -> bool:
        """Route an event whose ActionID is claimed; True when it is a plain event after all."""
        stats = self.stats
        pending = self._lists.get(aid)
        if pending is not None:
            coll = pending.collection
            assert coll is not None
            eventlist = _eventlist(msg)
            if eventlist is not None and eventlist != "start":
                if eventlist == "cancelled":
                    coll.cancelled = True
                else:
                    coll.complete = True
                self._finish_list(pending, coll, msg, out)
                return False
            if pending.end_event is not None and (msg.name or "").lower() == pending.end_event:
                coll.complete = True
                self._finish_list(pending, coll, msg, out)
                return False
            stats.list_items_received += 1
            pending.nbytes += len(msg.raw)
            if len(coll) >= pending.max_items or pending.nbytes > pending.max_bytes:
                # Over a cap: fail the request, drop what was gathered, swallow the rest.
                text = (
                    f"event list exceeds list_max_items ({pending.max_items})"
                    if len(coll) >= pending.max_items
                    else f"event list exceeds list_max_bytes ({pending.max_bytes})"
                )
                self.cancel(aid)
                out.append(RequestFailed(aid, MessageTooLargeError(text, action_id=aid)))
                return False
            coll._append(msg)
            return False
        if aid in self._linger:
            names = self._linger[aid]
            if names is None or (msg.name or "").lower() in names:
                del self._linger[aid]
                stats.follow_ups_received += 1
                out.append(FollowUp(aid, msg))
                return False
        if self._tombstones.get(aid):
            # An item (or the end) of a list whose request was cancelled or timed out.
            stats.late_list_items += 1
            ev = _eventlist(msg)
            if ev is not None and ev != "start":
                del self._tombstones[aid]
                self._list_tombstones.discard(aid)
            return False
        stats.events_received += 1
        return True

    def _finish_list(self, pending: _Pending, coll: Collection, end: Event, out: list[Item]) -> None:
        aid = pending.action_id
        del self._pending[aid]
        del self._lists[aid]
        coll.complete_event = end
        count = end.get_field_value("ListItems")
        if count is not None and count.strip().isdigit():
            coll.list_items = int(count)
            if coll.list_items != len(coll):
                self.stats.list_items_mismatches += 1
                out.append(
                    ErrorReport(
                        ProtocolError(
                            f"event list announced ListItems: {coll.list_items} "
                            f"but {len(coll)} entries arrived",
                            action_id=aid,
                            excerpt=end.raw[:64],
                        )
                    )
                )
        out.append(RequestDone(aid, coll))

    def _tombstone(self, action_id: str, is_list: bool) -> None:
        self._tombstones[action_id] = is_list
        if is_list:
            self._list_tombstones.add(action_id)
        else:
            self._list_tombstones.discard(action_id)
        if len(self._tombstones) > _TOMBSTONES_MAX:
            old, _ = self._tombstones.popitem(last=False)
            self._list_tombstones.discard(old)


def _eventlist(msg: Any) -> str | None:
    value = msg.get_field_value("EventList")
    return value.strip().lower() if value is not None else None


def _action_error(msg: Response, pending: _Pending) -> ActionError:
    if pending.login:
        return AuthenticationError(msg)
    message = (msg.get_field_value("Message") or "").strip()
    if message.lower() == "permission denied":
        return PermissionDeniedError(msg)
    return ActionError(msg)
