"""ActionSender: one method per AMI action, on top of a Client (the seed's ActionSender).

Every method builds the action with ``client.create_action`` (so it gets a fresh ActionID),
drops the arguments that are ``None``, sends it with ``client.request`` and returns what the
server answered: a ``Response``, or a ``Collection`` for list actions. ``Response: Error``
raises ``ActionError`` (with ``.response``), as ``client.request`` does.

Value conventions: ``True``/``False`` become ``true``/``false`` (``on``/``off`` where Asterisk
wants that), numbers become text, a mapping of channel variables becomes repeated
``Variable: name=value`` lines. Every method takes a keyword-only ``timeout`` (seconds; ``None``
means the client's default).

Anything without a method here works through ``send_action(name, fields)`` or
``client.create_action`` + ``client.request``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

from .collection import Collection

if TYPE_CHECKING:
    from .messages import Action, Event, Response

__all__ = ["ActionSender", "SupportsRequest"]

Value = str | int | float | bool | None | Sequence[str] | Mapping[str, Any]

# How long to wait for follow-up events (OriginateResponse, a legacy list's end event) when
# neither the call nor the client says otherwise.
DEFAULT_FOLLOW_UP_TIMEOUT = 30.0


class SupportsRequest(Protocol):
    """What ActionSender needs from a client (``ami_fast.Client`` has it)."""

    def create_action(self, name: str, fields: Any = None) -> Action: ...

    async def request(
        self, action: Action, *, timeout: Any = ..., end_event: str | None = None
    ) -> Response | Collection: ...

    def follow_up(
        self, action_id: str, event_names: str | None = ..., *, timeout: float | None = ...
    ) -> asyncio.Future[Event]: ...


def _text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _onoff(value: bool | str) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return value


def build_fields(pairs: Iterable[tuple[str, Value]]) -> list[tuple[str, str]]:
    """Turn ``(key, value)`` pairs into wire fields: ``None`` dropped, mappings and sequences
    as repeated lines (a mapping as ``name=value``), everything else as text."""
    out: list[tuple[str, str]] = []
    for key, value in pairs:
        if value is None:
            continue
        if isinstance(value, Mapping):
            out.extend((key, f"{name}={_text(v)}") for name, v in value.items())
        elif isinstance(value, (list, tuple)):
            out.extend((key, _text(v)) for v in value)
        else:
            out.append((key, _text(value)))  # type: ignore[arg-type]
    return out


class ActionSender:
    """One coroutine method per AMI action, for a connected ``Client``.

    ``ActionSender(client, timeout=None)``: ``timeout`` is the default for every method.
    """

    def __init__(self, client: SupportsRequest, *, timeout: float | None = None) -> None:
        self.client = client
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"<ActionSender client={self.client!r}>"

    # -- plumbing --------------------------------------------------------------------------

    def _action(self, name: str, *pairs: tuple[str, Value]) -> Action:
        return self.client.create_action(name, build_fields(pairs))

    async def _request(
        self, action: Action, timeout: float | None, end_event: str | None = None
    ) -> Response | Collection:
        timeout = timeout if timeout is not None else self.timeout
        if timeout is None:
            return await self.client.request(action, end_event=end_event)
        return await self.client.request(action, timeout=timeout, end_event=end_event)

    async def _send(self, name: str, *pairs: tuple[str, Value], timeout: float | None = None) -> Response:
        # A Collection is a (virtual) Response too; mypy cannot see the ABC registration.
        return cast("Response", await self._request(self._action(name, *pairs), timeout))

    def _follow_up_timeout(self, timeout: float | None) -> float:
        for candidate in (timeout, self.timeout, getattr(self.client, "timeout", None)):
            if isinstance(candidate, (int, float)) and not isinstance(candidate, bool):
                return float(candidate)
        return DEFAULT_FOLLOW_UP_TIMEOUT

    async def send_action(
        self,
        name: str,
        fields: Mapping[str, Value] | Iterable[tuple[str, Value]] | None = None,
        *,
        timeout: float | None = None,
    ) -> Response | Collection:
        """Send any action; ``fields`` as a mapping or ``(key, value)`` pairs."""
        items = fields.items() if isinstance(fields, Mapping) else (fields or ())
        return await self._request(self._action(name, *items), timeout)

    async def collect(
        self, action: Action, end_event: str | None = None, *, timeout: float | None = None
    ) -> Collection:
        """Send a list action and return its Collection.

        A server that answers ``EventList: start`` gives the client's Collection, whatever
        ``end_event`` says. For old servers that send no ``EventList``, the events carrying
        this ActionID are collected until ``end_event`` (case-insensitive) arrives. A plain
        answer (no list, no ``end_event``) comes back as an empty, complete Collection
        around the response, so list methods always return a Collection.
        """
        result = await self._request(action, timeout, end_event)
        if isinstance(result, Collection):
            return result
        coll = Collection(result)
        coll.complete = True
        return coll

    async def _list(
        self, name: str, end_event: str, *pairs: tuple[str, Value], timeout: float | None
    ) -> Collection:
        return await self.collect(self._action(name, *pairs), end_event, timeout=timeout)

    # -- the seed's methods ----------------------------------------------------------------

    async def login(
        self, username: str, secret: str, events: bool | str | None = None, *, timeout: float | None = None
    ) -> Response:
        """Plain-text ``Login`` (the Factory logs in for you; this is for manual use)."""
        ev = None if events is None else _onoff(events)
        return await self._send(
            "Login", ("UserName", username), ("Secret", secret), ("Events", ev), timeout=timeout
        )

    async def logoff(self, *, timeout: float | None = None) -> Response:
        """``Logoff``: the answer is ``Response: Goodbye``, then the server closes."""
        return await self._send("Logoff", timeout=timeout)

    async def ping(self, *, timeout: float | None = None) -> Response:
        return await self._send("Ping", timeout=timeout)

    async def command(self, command: str, *, timeout: float | None = None) -> Response:
        """A CLI command; read the text with ``response.get_command_output()``."""
        return await self._send("Command", ("Command", command), timeout=timeout)

    async def events(self, mask: bool | str | Sequence[str], *, timeout: float | None = None) -> Response:
        """``Events``: ``True``/``False`` → on/off, a sequence of classes → comma-joined."""
        if isinstance(mask, bool):
            value = _onoff(mask)
        elif isinstance(mask, str):
            value = mask
        else:
            value = ",".join(mask)
        return await self._send("Events", ("EventMask", value), timeout=timeout)

    async def core_show_channels(self, *, timeout: float | None = None) -> Collection:
        return await self._list("CoreShowChannels", "CoreShowChannelsComplete", timeout=timeout)

    async def sip_peers(self, *, timeout: float | None = None) -> Collection:
        return await self._list("SIPPeers", "PeerlistComplete", timeout=timeout)

    async def agents(self, *, timeout: float | None = None) -> Collection:
        return await self._list("Agents", "AgentsComplete", timeout=timeout)

    async def agent_logoff(self, agent: str, soft: bool = False, *, timeout: float | None = None) -> Response:
        return await self._send("AgentLogoff", ("Agent", agent), ("Soft", soft), timeout=timeout)

    async def sip_show_peer(self, peer: str, *, timeout: float | None = None) -> Response:
        return await self._send("SIPshowpeer", ("Peer", peer), timeout=timeout)

    async def send_text(self, channel: str, message: str, *, timeout: float | None = None) -> Response:
        return await self._send("Sendtext", ("Channel", channel), ("Message", message), timeout=timeout)

    async def hangup(
        self, channel: str, cause: int | None = None, *, timeout: float | None = None
    ) -> Response | Collection:
        """``Hangup``; a regex channel (``/PJSIP/.*/``) answers as a list of ChannelHungup."""
        return await self._request(self._action("Hangup", ("Channel", channel), ("Cause", cause)), timeout)

    async def challenge(self, auth_type: str = "MD5", *, timeout: float | None = None) -> Response:
        return await self._send("Challenge", ("AuthType", auth_type), timeout=timeout)

    async def get_config(
        self, filename: str, category: str | None = None, *, timeout: float | None = None
    ) -> Response:
        return await self._send("GetConfig", ("Filename", filename), ("Category", category), timeout=timeout)

    async def list_commands(self, *, timeout: float | None = None) -> Response:
        """``ListCommands``: one field per action, ``Name: description (Priv: ...)``."""
        return await self._send("ListCommands", timeout=timeout)

    # -- calls and channels ----------------------------------------------------------------

    async def originate(
        self,
        channel: str,
        *,
        exten: str | None = None,
        context: str | None = None,
        priority: int | str | None = None,
        application: str | None = None,
        data: str | None = None,
        caller_id: str | None = None,
        variables: Mapping[str, Any] | None = None,
        account: str | None = None,
        early_media: bool | None = None,
        codecs: str | Sequence[str] | None = None,
        channel_id: str | None = None,
        other_channel_id: str | None = None,
        originate_timeout: int | None = None,
        async_: bool = True,
        wait: bool = False,
        timeout: float | None = None,
    ) -> Response | Event:
        """``Originate``, with ``Async: true`` by default.

        A synchronous Originate (``async_=False``) blocks the connection until the callee
        answers, so it is opt-in. ``originate_timeout`` is Asterisk's ring timeout in
        milliseconds. With ``wait=True`` (async only) the method returns the call's
        ``OriginateResponse`` event instead of the ``queued`` response: check its
        ``Response`` field (``Success``/``Failure``) and ``Reason`` (4 answered, 5 busy,
        8 congestion, 0 failed). ``timeout`` then bounds the whole wait.
        """
        if wait and not async_:
            raise ValueError(
                "wait=True needs an async Originate (a sync Originate sends no OriginateResponse)"
            )
        codec_text = codecs if isinstance(codecs, str) or codecs is None else ",".join(codecs)
        action = self._action(
            "Originate",
            ("Channel", channel),
            ("Exten", exten),
            ("Context", context),
            ("Priority", priority),
            ("Application", application),
            ("Data", data),
            ("Timeout", originate_timeout),
            ("CallerID", caller_id),
            ("Variable", variables),
            ("Account", account),
            ("EarlyMedia", early_media),
            ("Codecs", codec_text),
            ("ChannelId", channel_id),
            ("OtherChannelId", other_channel_id),
            ("Async", async_),
        )
        if not wait:
            return cast("Response", await self._request(action, timeout))
        return await self._request_with_follow_up(action, "OriginateResponse", timeout)

    async def _request_with_follow_up(self, action: Action, event_name: str, timeout: float | None) -> Event:
        """Send ``action`` and return the first ``event_name`` event carrying its ActionID.

        The client's follow-up subscription is registered before the action is written, so
        the event cannot be missed (nor does it reach the general event stream).
        """
        action_id = action.action_id
        assert action_id is not None  # create_action always assigns one
        # The follow-up's own timer (ActionTimeoutError) bounds the whole wait.
        follow = self.client.follow_up(action_id, event_name, timeout=self._follow_up_timeout(timeout))
        try:
            await self._request(action, timeout)
            return await follow
        finally:
            follow.cancel()

    async def redirect(
        self,
        channel: str,
        exten: str,
        context: str,
        priority: int | str = 1,
        *,
        extra_channel: str | None = None,
        extra_exten: str | None = None,
        extra_context: str | None = None,
        extra_priority: int | str | None = None,
        timeout: float | None = None,
    ) -> Response:
        return await self._send(
            "Redirect",
            ("Channel", channel),
            ("ExtraChannel", extra_channel),
            ("Exten", exten),
            ("ExtraExten", extra_exten),
            ("Context", context),
            ("ExtraContext", extra_context),
            ("Priority", priority),
            ("ExtraPriority", extra_priority),
            timeout=timeout,
        )

    async def getvar(
        self, variable: str, channel: str | None = None, *, timeout: float | None = None
    ) -> Response:
        """``Getvar``; an unset variable answers ``Value: `` (empty), not an error."""
        return await self._send("Getvar", ("Channel", channel), ("Variable", variable), timeout=timeout)

    async def setvar(
        self, variable: str, value: str, channel: str | None = None, *, timeout: float | None = None
    ) -> Response:
        return await self._send(
            "Setvar", ("Channel", channel), ("Variable", variable), ("Value", value), timeout=timeout
        )

    async def status(
        self,
        channel: str | None = None,
        variables: Sequence[str] | None = None,
        *,
        timeout: float | None = None,
    ) -> Collection:
        """``Status`` of every channel, or one; ``variables`` adds those channel variables."""
        var_text = None if variables is None else ",".join(variables)
        return await self._list(
            "Status", "StatusComplete", ("Channel", channel), ("Variables", var_text), timeout=timeout
        )

    async def absolute_timeout(self, channel: str, seconds: int, *, timeout: float | None = None) -> Response:
        return await self._send(
            "AbsoluteTimeout", ("Channel", channel), ("Timeout", seconds), timeout=timeout
        )

    async def play_dtmf(
        self, channel: str, digit: str, duration_ms: int | None = None, *, timeout: float | None = None
    ) -> Response:
        return await self._send(
            "PlayDTMF", ("Channel", channel), ("Digit", digit), ("Duration", duration_ms), timeout=timeout
        )

    async def blind_transfer(
        self, channel: str, exten: str, context: str | None = None, *, timeout: float | None = None
    ) -> Response:
        return await self._send(
            "BlindTransfer", ("Channel", channel), ("Exten", exten), ("Context", context), timeout=timeout
        )

    async def atxfer(
        self, channel: str, exten: str, context: str | None = None, *, timeout: float | None = None
    ) -> Response:
        return await self._send(
            "Atxfer", ("Channel", channel), ("Exten", exten), ("Context", context), timeout=timeout
        )

    async def bridge(
        self, channel1: str, channel2: str, tone: bool | None = None, *, timeout: float | None = None
    ) -> Response:
        tone_text = None if tone is None else ("yes" if tone else "no")
        return await self._send(
            "Bridge", ("Channel1", channel1), ("Channel2", channel2), ("Tone", tone_text), timeout=timeout
        )

    # -- queues ----------------------------------------------------------------------------

    async def queue_status(
        self, queue: str | None = None, member: str | None = None, *, timeout: float | None = None
    ) -> Collection:
        """QueueParams, QueueMember and QueueEntry items."""
        return await self._list(
            "QueueStatus", "QueueStatusComplete", ("Queue", queue), ("Member", member), timeout=timeout
        )

    async def queue_summary(self, queue: str | None = None, *, timeout: float | None = None) -> Collection:
        return await self._list("QueueSummary", "QueueSummaryComplete", ("Queue", queue), timeout=timeout)

    async def queue_add(
        self,
        queue: str,
        interface: str,
        *,
        member_name: str | None = None,
        penalty: int | None = None,
        paused: bool | None = None,
        state_interface: str | None = None,
        timeout: float | None = None,
    ) -> Response:
        return await self._send(
            "QueueAdd",
            ("Queue", queue),
            ("Interface", interface),
            ("Penalty", penalty),
            ("Paused", paused),
            ("MemberName", member_name),
            ("StateInterface", state_interface),
            timeout=timeout,
        )

    async def queue_remove(self, queue: str, interface: str, *, timeout: float | None = None) -> Response:
        return await self._send("QueueRemove", ("Queue", queue), ("Interface", interface), timeout=timeout)

    async def queue_pause(
        self,
        interface: str,
        paused: bool = True,
        *,
        queue: str | None = None,
        reason: str | None = None,
        timeout: float | None = None,
    ) -> Response:
        """Pause (or with ``paused=False`` unpause) a member in one queue or all of them."""
        return await self._send(
            "QueuePause",
            ("Interface", interface),
            ("Paused", paused),
            ("Queue", queue),
            ("Reason", reason),
            timeout=timeout,
        )

    async def queue_penalty(
        self, interface: str, penalty: int, queue: str | None = None, *, timeout: float | None = None
    ) -> Response:
        return await self._send(
            "QueuePenalty", ("Interface", interface), ("Penalty", penalty), ("Queue", queue), timeout=timeout
        )

    async def queue_log(
        self,
        queue: str,
        event: str,
        *,
        interface: str | None = None,
        unique_id: str | None = None,
        message: str | None = None,
        timeout: float | None = None,
    ) -> Response:
        return await self._send(
            "QueueLog",
            ("Queue", queue),
            ("Event", event),
            ("Interface", interface),
            ("UniqueId", unique_id),
            ("Message", message),
            timeout=timeout,
        )

    # -- AstDB -----------------------------------------------------------------------------

    async def db_get(self, family: str, key: str, *, timeout: float | None = None) -> Response | Collection:
        """``DBGet``: current Asterisk answers as a list (one ``DBGetResponse`` with ``Val``);
        a missing key raises ``ActionError`` (``Database entry not found``)."""
        return await self._request(self._action("DBGet", ("Family", family), ("Key", key)), timeout)

    async def db_get_tree(
        self, family: str, key: str | None = None, *, timeout: float | None = None
    ) -> Collection:
        return await self._list(
            "DBGetTree", "DBGetTreeComplete", ("Family", family), ("Key", key), timeout=timeout
        )

    async def db_put(self, family: str, key: str, value: str, *, timeout: float | None = None) -> Response:
        return await self._send("DBPut", ("Family", family), ("Key", key), ("Val", value), timeout=timeout)

    async def db_del(self, family: str, key: str, *, timeout: float | None = None) -> Response:
        return await self._send("DBDel", ("Family", family), ("Key", key), timeout=timeout)

    async def db_del_tree(
        self, family: str, key: str | None = None, *, timeout: float | None = None
    ) -> Response:
        return await self._send("DBDelTree", ("Family", family), ("Key", key), timeout=timeout)

    # -- events and filters ----------------------------------------------------------------

    async def user_event(
        self,
        name: str,
        headers: Mapping[str, Value] | Iterable[tuple[str, Value]] | None = None,
        *,
        timeout: float | None = None,
    ) -> Response:
        """``UserEvent``: Asterisk broadcasts ``Event: UserEvent`` with ``UserEvent: name``
        and every header (and this action's ActionID) to listeners with ``user`` read."""
        items = headers.items() if isinstance(headers, Mapping) else (headers or ())
        return await self._send("UserEvent", ("UserEvent", name), *items, timeout=timeout)

    async def filter(
        self,
        filter: str,
        operation: str = "Add",
        match_criteria: str | None = None,
        *,
        timeout: float | None = None,
    ) -> Response:
        """``Filter`` for this connection (needs ``system`` write), e.g.
        ``filter("Event: Newchannel")`` or, on 22.1+, ``match_criteria="name(UserEvent)"``."""
        return await self._send(
            "Filter",
            ("Operation", operation),
            ("Filter", filter),
            ("MatchCriteria", match_criteria),
            timeout=timeout,
        )

    async def wait_event(self, wait_timeout: int | None = None, *, timeout: float | None = None) -> Response:
        return await self._send("WaitEvent", ("Timeout", wait_timeout), timeout=timeout)

    # -- system ----------------------------------------------------------------------------

    async def core_status(self, *, timeout: float | None = None) -> Response:
        return await self._send("CoreStatus", timeout=timeout)

    async def core_settings(self, *, timeout: float | None = None) -> Response:
        return await self._send("CoreSettings", timeout=timeout)

    async def reload(self, module: str | None = None, *, timeout: float | None = None) -> Response:
        return await self._send("Reload", ("Module", module), timeout=timeout)

    async def module_check(self, module: str, *, timeout: float | None = None) -> Response:
        return await self._send("ModuleCheck", ("Module", module), timeout=timeout)

    async def module_load(
        self, load_type: str, module: str | None = None, *, timeout: float | None = None
    ) -> Response:
        """``load_type``: ``load``, ``unload`` or ``reload``."""
        return await self._send("ModuleLoad", ("Module", module), ("LoadType", load_type), timeout=timeout)

    async def logger_rotate(self, *, timeout: float | None = None) -> Response:
        return await self._send("LoggerRotate", timeout=timeout)

    # -- endpoints, devices, dialplan ------------------------------------------------------

    async def pjsip_show_endpoints(self, *, timeout: float | None = None) -> Collection:
        return await self._list("PJSIPShowEndpoints", "EndpointListComplete", timeout=timeout)

    async def pjsip_show_endpoint(self, endpoint: str, *, timeout: float | None = None) -> Collection:
        return await self._list(
            "PJSIPShowEndpoint", "EndpointDetailComplete", ("Endpoint", endpoint), timeout=timeout
        )

    async def pjsip_show_contacts(self, *, timeout: float | None = None) -> Collection:
        return await self._list("PJSIPShowContacts", "ContactListComplete", timeout=timeout)

    async def pjsip_show_registrations_outbound(self, *, timeout: float | None = None) -> Collection:
        return await self._list(
            "PJSIPShowRegistrationsOutbound", "OutboundRegistrationDetailComplete", timeout=timeout
        )

    async def device_state_list(self, *, timeout: float | None = None) -> Collection:
        """Items are ``Event: DeviceStateChange`` carrying this ActionID."""
        return await self._list("DeviceStateList", "DeviceStateListComplete", timeout=timeout)

    async def extension_state(self, exten: str, context: str, *, timeout: float | None = None) -> Response:
        return await self._send("ExtensionState", ("Exten", exten), ("Context", context), timeout=timeout)

    async def extension_state_list(self, *, timeout: float | None = None) -> Collection:
        return await self._list("ExtensionStateList", "ExtensionStateListComplete", timeout=timeout)

    async def show_dialplan(
        self, context: str | None = None, extension: str | None = None, *, timeout: float | None = None
    ) -> Collection:
        return await self._list(
            "ShowDialPlan",
            "ShowDialPlanComplete",
            ("Context", context),
            ("Extension", extension),
            timeout=timeout,
        )

    async def mailbox_count(self, mailbox: str, *, timeout: float | None = None) -> Response:
        return await self._send("MailboxCount", ("Mailbox", mailbox), timeout=timeout)

    async def mailbox_status(self, mailbox: str, *, timeout: float | None = None) -> Response:
        return await self._send("MailboxStatus", ("Mailbox", mailbox), timeout=timeout)

    async def parked_calls(
        self, parkinglot: str | None = None, *, timeout: float | None = None
    ) -> Collection:
        return await self._list(
            "ParkedCalls", "ParkedCallsComplete", ("ParkingLot", parkinglot), timeout=timeout
        )

    async def parkinglots(self, *, timeout: float | None = None) -> Collection:
        return await self._list("Parkinglots", "ParkinglotsComplete", timeout=timeout)

    async def confbridge_list(self, conference: str, *, timeout: float | None = None) -> Collection:
        return await self._list(
            "ConfbridgeList", "ConfbridgeListComplete", ("Conference", conference), timeout=timeout
        )

    async def confbridge_list_rooms(self, *, timeout: float | None = None) -> Collection:
        """Asterisk answers ``Response: Error / No active conferences.`` when there is none
        (raised as ``ActionError``, as the server says)."""
        return await self._list("ConfbridgeListRooms", "ConfbridgeListRoomsComplete", timeout=timeout)


# Every coroutine method the blocking wrapper forwards (public, not plumbing).
PUBLIC_METHODS: tuple[str, ...] = tuple(
    name
    for name, member in vars(ActionSender).items()
    if not name.startswith("_") and asyncio.iscoroutinefunction(member)
)
