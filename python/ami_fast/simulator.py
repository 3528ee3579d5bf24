"""An embedded AMI server that simulates a busy call centre (no Asterisk needed).

::

    async with Simulator(rate=2000, port=5038) as sim:      # or: ami-fast simulate --port 5038
        async with ami_fast.connect(sim.url) as client:
            ...

Built on the test kit (:class:`ami_fast.testing.FakeAsterisk`: banner, plain and MD5 login,
Ping, Events, UserEvent, ...), it adds the traffic model of :mod:`ami_fast._sim_model`:
callers arrive on a trunk, wait in a queue (``QueueCallerJoin``), an agent is rung
(``AgentCalled``, ``DialBegin``), answers (``DialEnd``, ``AgentConnect``), both are bridged
(``BridgeCreate``/``BridgeEnter``), and the call ends (``BridgeLeave``, ``BridgeDestroy``,
``AgentComplete``, ``Hangup``, ``Cdr``), with the field blocks Asterisk 22 sends. ``rate`` is
in events per second (about 30 events per call).

Actions answered from the simulated state: ``CoreShowChannels``, ``Status``, ``QueueStatus``,
``QueueSummary``, ``DeviceStateList``, ``PJSIPShowEndpoints`` (event lists); ``Originate``
(a simulated call, with ``OriginateResponse`` when async), ``Hangup`` (also a ``/regex/``
list), ``Redirect``, ``Getvar``/``Setvar``, ``DBGet``/``DBPut``/``DBDel``, ``QueueAdd``/
``QueueRemove``/``QueuePause``, ``CoreStatus``, and ``Command`` for ``core show channels``,
``core show calls``, ``core show uptime``, ``queue show``, ``core show version``.

It only listens on loopback unless told otherwise; it is a development and demo tool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from ._sim_model import CallCentre, Channel, Fields, SimConfig, SimEvent
from .messages import Message
from .testing import FakeAsterisk, FakeConnection, FakeUser

__all__ = ["RunningSimulator", "SimStats", "Simulator", "start_in_thread"]

VERSION = "22.10.1 (ami-fast simulator)"
MAX_BATCH = 4096  # events per write at most; the loop yields between batches
MAX_LAG = 1.0  # seconds behind real time before the simulator skips ahead
WARM_EVENTS = 20_000  # at most this many events are generated (and discarded) by the warm start
logger = logging.getLogger("ami_fast.simulator")
HELP_TAIL = "for other possible commands)"


def encode_events(events: list[SimEvent], action_id: str | None = None, *, id_last: bool = False) -> bytes:
    """Wire bytes for ``events``; with ``action_id`` it goes right after ``Event:`` (or last).

    The model's fields are already text pairs, so this skips the test kit's generic
    ``format_message`` (the hot path at high rates)."""
    parts: list[str] = []
    for name, fields in events:
        if action_id is not None:
            fields = [*fields, ("ActionID", action_id)] if id_last else [("ActionID", action_id), *fields]
        parts.append(f"Event: {name}\r\n")
        parts.extend([f"{k}: {v}\r\n" for k, v in fields])
        parts.append("\r\n")
    return "".join(parts).encode("utf-8", "surrogateescape")


@dataclass
class SimStats:
    events_sent: int = 0
    bytes_sent: int = 0
    batches: int = 0
    actions: int = 0
    seconds_skipped: float = 0.0  # simulated time skipped because the rate was too high


class Simulator:
    """A :class:`~ami_fast.testing.FakeAsterisk` driven by a simulated call centre.

    Args:
        rate: target events per second (all calls together).
        host, port: where to listen (default loopback, a free port).
        users: user name -> secret (default ``ami``/``amipass``).
        seed: random seed, for a reproducible call pattern.
        config: a full :class:`~ami_fast._sim_model.SimConfig` (``rate``/``seed`` override it).
        tick: the batching period in seconds (events due within it go out in one write).
        sample_batches: how many recent event batches ``recent`` keeps.
        warm_start: start with calls already in progress (steady rate from the start).
        **server_options: passed to ``FakeAsterisk`` (``tls``, ``auth_failure_delay``...).
    """

    def __init__(
        self,
        *,
        rate: float | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        users: Mapping[str, str | FakeUser] | None = None,
        seed: int | None = None,
        config: SimConfig | None = None,
        tick: float = 0.01,
        sample_batches: int = 200,
        warm_start: bool = True,
        **server_options: Any,
    ) -> None:
        cfg = config or SimConfig()
        if rate is not None:
            cfg.rate = float(rate)
        if seed is not None:
            cfg.seed = seed
        if cfg.rate < 0:
            raise ValueError("rate must be >= 0")
        self.config = cfg
        self.tick = tick
        self.warm_start = warm_start
        self.server = FakeAsterisk(
            users=users if users is not None else {"ami": "amipass"}, host=host, port=port, **server_options
        )
        self.model: CallCentre | None = None
        self.stats = SimStats()
        # The most recent event batches, as written: the demo re-parses them to measure
        # parse cost per event on exactly this traffic.
        self.recent: deque[bytes] = deque(maxlen=sample_batches)
        self._task: asyncio.Task[None] | None = None
        self._started_wall = time.time()
        self._register()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> Simulator:
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._started_wall = time.time()
        if self.warm_start:
            # Run a few simulated seconds first (their events are discarded) so calls are
            # already in progress and the event rate is steady from the first second.
            cfg = self.config
            warm = cfg.ring_time + 2 * cfg.talk_time + cfg.wrapup_time
            if cfg.rate > 0:
                warm = min(warm, WARM_EVENTS / cfg.rate)
            self.model = CallCentre(cfg, now=now - warm, wall=self._started_wall - warm)
            self.model.advance(now)
        else:
            self.model = CallCentre(self.config, now=now, wall=self._started_wall)
        await self.server.start()
        self._task = loop.create_task(self._run(), name="ami-fast-simulator")
        return self

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.server.stop()

    async def __aenter__(self) -> Simulator:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """``tcp://user:secret@127.0.0.1:port`` for the first user."""
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _model(self) -> CallCentre:
        if self.model is None:
            raise RuntimeError("the simulator is not started")
        return self.model

    async def _run(self) -> None:
        model = self._model()
        loop = asyncio.get_running_loop()
        while True:
            events = model.advance(loop.time(), MAX_BATCH)
            self.flush(events)
            lag = model.lag(loop.time())
            if lag > MAX_LAG:
                # More traffic than this process can generate: skip ahead rather than fall
                # further behind (and starve logins and actions of the event loop).
                if not self.stats.seconds_skipped:
                    logger.warning(
                        "simulator: %g events/s is more than this machine can generate; "
                        "running as fast as it can",
                        self.config.rate,
                    )
                model.slip(lag)
                self.stats.seconds_skipped += lag
            if len(events) >= MAX_BATCH:
                await asyncio.sleep(0)  # let connections and actions in between batches
                continue
            wait = min(max(model.next_due() - loop.time(), self.tick), 0.25)
            await asyncio.sleep(wait)

    def flush(self, events: list[SimEvent]) -> None:
        """Broadcast ``events`` to every logged-in connection with events on (one write each)."""
        if not events:
            return
        data = encode_events(events)
        self.server.push_raw(data)
        self.recent.append(data)
        self.stats.events_sent += len(events)
        self.stats.bytes_sent += len(data)
        self.stats.batches += 1

    # -- actions -----------------------------------------------------------------------------

    def _register(self) -> None:
        on = self.server.on_action
        on("CoreShowChannels", self._core_show_channels)
        on("Status", self._status)
        on("QueueStatus", self._queue_status)
        on("QueueSummary", self._queue_summary)
        on("DeviceStateList", self._device_state_list)
        on("PJSIPShowEndpoints", self._pjsip_show_endpoints)
        on("Originate", self._originate)
        on("Hangup", self._hangup)
        on("Redirect", self._redirect)
        on("Getvar", self._getvar)
        on("Setvar", self._setvar)
        on("DBGet", self._db_get)
        on("DBPut", self._db_put)
        on("DBDel", self._db_del)
        on("QueueAdd", self._queue_add)
        on("QueueRemove", self._queue_remove)
        on("QueuePause", self._queue_pause)
        on("CoreStatus", self._core_status)
        on("CoreSettings", self._core_settings)
        on("Command", self._command)

    def _send_list(
        self,
        conn: FakeConnection,
        action: Message,
        items: list[SimEvent],
        complete: str,
        message: str,
        *,
        id_last: bool = False,
        complete_fields: Fields | None = None,
    ) -> None:
        self.stats.actions += 1
        action_id = action.action_id
        out = [conn.response_bytes(action, [("EventList", "start"), ("Message", message)])]
        out.append(encode_events(items, action_id, id_last=id_last))
        tail: Fields = [("EventList", "Complete"), ("ListItems", str(len(items))), *(complete_fields or [])]
        out.append(encode_events([(complete, tail)], action_id))
        conn.send_raw(b"".join(out))

    def _core_show_channels(self, conn: FakeConnection, action: Message) -> None:
        items = self._model().core_show_channels(self._now())
        self._send_list(conn, action, items, "CoreShowChannelsComplete", "Channels will follow")

    def _status(self, conn: FakeConnection, action: Message) -> None:
        channel = action.get_field_value("Channel")
        items = self._model().status(self._now(), channel)
        if items is None:
            conn.send_error(action, "No such channel")
            return
        self._send_list(
            conn,
            action,
            items,
            "StatusComplete",
            "Channel status will follow",
            id_last=True,
            complete_fields=[("Items", str(len(items)))],
        )

    def _queue_status(self, conn: FakeConnection, action: Message) -> None:
        items = self._model().queue_status(
            self._now(), action.get_field_value("Queue"), action.get_field_value("Member")
        )
        self._send_list(conn, action, items, "QueueStatusComplete", "Queue status will follow", id_last=True)

    def _queue_summary(self, conn: FakeConnection, action: Message) -> None:
        items = self._model().queue_summary(self._now(), action.get_field_value("Queue"))
        self._send_list(
            conn, action, items, "QueueSummaryComplete", "Queue summary will follow", id_last=True
        )

    def _device_state_list(self, conn: FakeConnection, action: Message) -> None:
        items = self._model().device_states()
        self._send_list(conn, action, items, "DeviceStateListComplete", "Device State Changes will follow")

    def _pjsip_show_endpoints(self, conn: FakeConnection, action: Message) -> None:
        items = self._model().endpoints()
        self._send_list(
            conn,
            action,
            items,
            "EndpointListComplete",
            "A listing of Endpoints follows, presented as EndpointList events",
        )

    async def _originate(self, conn: FakeConnection, action: Message) -> None:
        self.stats.actions += 1
        model = self._model()
        get = action.get_field_value
        is_async = (get("Async") or "").lower() in ("true", "yes", "1", "on", "y", "t")
        if not get("Channel"):
            conn.send_error(action, "Channel not specified")
            return
        if not get("Exten") and not get("Application"):
            # Asterisk needs either a dialplan target or an application.
            conn.send_error(action, "Exten not specified")
            return
        variables = {}
        for item in action.get_field_values("Variable"):
            name, _, value = item.partition("=")
            variables[name] = value
        ok, events = model.originate(
            self._now(),
            get("Channel") or "",
            context=get("Context") or "default",
            exten=get("Exten") or "s",
            application=get("Application"),
            data=get("Data") or "",
            caller_id=get("CallerID") or "",
            action_id=action.action_id,
            is_async=is_async,
            variables=variables,
        )
        if is_async:
            conn.send_response(action, [("Message", "Originate successfully queued")])
            self.flush(events)
            return
        # A synchronous Originate answers only once the call is up (or failed), and this
        # connection handles nothing else meanwhile, as in Asterisk.
        self.flush(events)
        await asyncio.sleep(self.config.ring_time * 1.6)
        self.flush(model.advance(self._now()))
        if ok:
            conn.send_response(action, [("Message", "Originate successfully queued")])
        else:
            conn.send_error(action, "Originate failed")

    def _hangup(self, conn: FakeConnection, action: Message) -> None:
        self.stats.actions += 1
        model = self._model()
        channel = action.get_field_value("Channel") or ""
        cause_text = action.get_field_value("Cause") or "16"
        cause = int(cause_text) if cause_text.isdigit() else 16
        if len(channel) > 2 and channel.startswith("/") and channel.endswith("/"):
            try:
                pattern = re.compile(channel[1:-1])
            except re.error:
                conn.send_error(action, "Invalid regex")
                return
            names = [n for n in list(model.channels) if pattern.search(n)]
            hung: list[SimEvent] = []
            for name in names:
                if name in model.channels and model.hangup(self._now(), name, cause):
                    hung.append(("ChannelHungup", [("Channel", name)]))
            self._send_list(conn, action, hung, "ChannelsHungupListComplete", "Channels hung up will follow")
            self.flush(model.take_events())
            return
        if not channel:
            conn.send_error(action, "No channel specified")
            return
        if not model.hangup(self._now(), channel, cause):
            conn.send_error(action, "No such channel")
            return
        self._answer(conn, action, "Channel Hungup")

    def _answer(self, conn: FakeConnection, action: Message, message: str, error: str | None = None) -> None:
        """``error`` as an Error response, or the usual success: ``message``, then the events the
        action made."""
        if error:
            conn.send_error(action, error)
            return
        conn.send_response(action, [("Message", message)])
        self.flush(self._model().take_events())

    def _redirect(self, conn: FakeConnection, action: Message) -> None:
        self.stats.actions += 1
        model = self._model()
        chan = model.channels.get(action.get_field_value("Channel") or "")
        if chan is None:
            conn.send_error(
                action,
                "Channel not specified" if not action.get_field_value("Channel") else "No such channel",
            )
            return
        exten = action.get_field_value("Exten")
        if not exten:
            conn.send_error(action, "Exten not specified")
            return
        chan.context = action.get_field_value("Context") or chan.context
        chan.exten = exten
        prio = action.get_field_value("Priority") or "1"
        model.redirect(chan, int(prio) if prio.isdigit() else 1)
        self._answer(conn, action, "Redirect successful")

    def _variable_target(self, conn: FakeConnection, action: Message) -> tuple[str, Channel | None] | None:
        """``Variable`` and its channel (``None``: a global) for Getvar/Setvar; ``None`` once an
        Error was sent."""
        self.stats.actions += 1
        var = action.get_field_value("Variable")
        if not var:
            conn.send_error(action, "No variable specified")
            return None
        channel = action.get_field_value("Channel")
        if not channel:
            return var, None
        chan = self._model().channels.get(channel)
        if chan is None:
            conn.send_error(action, "No such channel")
            return None
        return var, chan

    def _getvar(self, conn: FakeConnection, action: Message) -> None:
        target = self._variable_target(conn, action)
        if target is None:
            return
        var, chan = target
        value = (chan.variables if chan is not None else self._model().global_vars).get(var, "")
        conn.send_response(action, [("Variable", var), ("Value", value)])

    def _setvar(self, conn: FakeConnection, action: Message) -> None:
        target = self._variable_target(conn, action)
        if target is None:
            return
        var, chan = target
        value = action.get_field_value("Value") or ""
        if chan is not None:
            self._model().set_variable(chan, var, value)
        else:
            self._model().global_vars[var] = value
        self._answer(conn, action, "Variable Set")

    def _db_get(self, conn: FakeConnection, action: Message) -> None:
        family = action.get_field_value("Family")
        key = action.get_field_value("Key")
        if not family or not key:
            conn.send_error(action, "No family specified" if not family else "No key specified")
            return
        value = self._model().db.get(family, {}).get(key)
        if value is None:
            conn.send_error(action, "Database entry not found")
            return
        self._send_list(
            conn,
            action,
            [("DBGetResponse", [("Family", family), ("Key", key), ("Val", value)])],
            "DBGetComplete",
            "Result will follow",
            id_last=True,
        )

    def _db_put(self, conn: FakeConnection, action: Message) -> None:
        self.stats.actions += 1
        family = action.get_field_value("Family")
        key = action.get_field_value("Key")
        if not family or not key:
            conn.send_error(action, "No family specified" if not family else "No key specified")
            return
        self._model().db.setdefault(family, {})[key] = action.get_field_value("Val") or ""
        conn.send_response(action, [("Message", "Updated database successfully")])

    def _db_del(self, conn: FakeConnection, action: Message) -> None:
        self.stats.actions += 1
        family = action.get_field_value("Family") or ""
        key = action.get_field_value("Key") or ""
        entries = self._model().db.get(family, {})
        if key not in entries:
            conn.send_error(action, "Database entry not deleted")
            return
        del entries[key]
        conn.send_response(action, [("Message", "Key deleted successfully")])

    def _queue_add(self, conn: FakeConnection, action: Message) -> None:
        self.stats.actions += 1
        queue, iface = action.get_field_value("Queue"), action.get_field_value("Interface")
        if not queue or not iface:
            conn.send_error(action, "'Queue' and 'Interface' must be specified.")
            return
        error = self._model().queue_add(self._now(), queue, iface, action.get_field_value("MemberName"))
        self._answer(conn, action, "Added interface to queue", error)

    def _queue_remove(self, conn: FakeConnection, action: Message) -> None:
        self.stats.actions += 1
        queue, iface = action.get_field_value("Queue"), action.get_field_value("Interface")
        if not queue or not iface:
            conn.send_error(action, "Need 'Queue' and 'Interface' parameters.")
            return
        self._answer(conn, action, "Removed interface from queue", self._model().queue_remove(queue, iface))

    def _queue_pause(self, conn: FakeConnection, action: Message) -> None:
        self.stats.actions += 1
        iface = action.get_field_value("Interface")
        paused_text = action.get_field_value("Paused")
        if not iface or not paused_text:
            conn.send_error(action, "Need 'Interface' and 'Paused' parameters.")
            return
        paused = paused_text.lower() in ("true", "yes", "1", "on", "y", "t")
        found = self._model().queue_pause(
            iface, paused, action.get_field_value("Queue"), action.get_field_value("Reason") or ""
        )
        if not found:
            conn.send_error(action, "Interface not found")
            return
        conn.send_response(
            action,
            [("Message", "Interface paused successfully" if paused else "Interface unpaused successfully")],
        )
        model = self._model()
        self.flush(model.take_events())
        if not paused:
            model.redispatch(self._now())
            self.flush(model.take_events())

    def _core_status(self, conn: FakeConnection, action: Message) -> None:
        model = self._model()
        started = time.localtime(self._started_wall)
        conn.send_response(
            action,
            [
                ("CoreStartupDate", time.strftime("%Y-%m-%d", started)),
                ("CoreStartupTime", time.strftime("%H:%M:%S", started)),
                ("CoreReloadDate", time.strftime("%Y-%m-%d", started)),
                ("CoreReloadTime", time.strftime("%H:%M:%S", started)),
                ("CoreCurrentCalls", str(model.active_calls())),
                ("CoreProcessedCalls", str(model.calls_started)),
            ],
        )

    def _core_settings(self, conn: FakeConnection, action: Message) -> None:
        conn.send_response(
            action,
            [
                ("AMIversion", "11.0.0"),
                ("AsteriskVersion", VERSION),
                ("SystemName", ""),
                ("CoreMaxCalls", "0"),
                ("CoreMaxLoadAvg", "0.000000"),
                ("CoreRunUser", ""),
                ("CoreRunGroup", ""),
                ("CoreMaxFilehandles", "0"),
                ("CoreRealTimeEnabled", "No"),
                ("CoreCDRenabled", "Yes"),
                ("CoreHTTPenabled", "No"),
                ("SoundsSearchCustomDir", "No"),
            ],
        )

    def _command(self, conn: FakeConnection, action: Message) -> None:
        command = (action.get_field_value("Command") or "").strip()
        if not command:
            conn.send_error(action, "No command provided")
            return
        output = self._command_output(" ".join(command.lower().split()))
        if output is None:
            word = command.split()[0]
            conn.send_response(
                action,
                [
                    ("Message", "Command output follows"),
                    ("Output", f"No such command '{command}' (type 'core show help {word}' " + HELP_TAIL),
                ],
                response="Error",
            )
            return
        conn.send_response(action, [("Message", "Command output follows"), ("Output", output.split("\n"))])

    def _command_output(self, command: str) -> str | None:
        model = self._model()
        now = self._now()
        if command == "core show version":
            return f"Asterisk {VERSION}"
        if command == "core show uptime":
            up = int(time.time() - self._started_wall)
            return f"System uptime: {up} seconds\nLast reload: {up} seconds"
        if command == "core show calls":
            return f"{model.active_calls()} active calls\n{model.calls_started} calls processed"
        if command in ("core show channels", "core show channels concise"):
            concise = command.endswith("concise")
            lines = [] if concise else [f"{'Channel':<32} {'Location':<28} {'State':<7} Application(Data)"]
            for chan in model.channels.values():
                state = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}.get(chan.state, "Unknown")
                if concise:
                    lines.append(
                        "!".join(
                            [
                                chan.name,
                                chan.context,
                                chan.exten,
                                str(chan.priority),
                                state,
                                chan.application,
                                chan.app_data,
                                chan.caller_num,
                                "",
                                "",
                                "3",
                                str(int(now - chan.created)),
                                chan.bridge,
                                chan.uniqueid,
                            ]
                        )
                    )
                    continue
                location = f"{chan.exten}@{chan.context}:{chan.priority}"
                lines.append(f"{chan.name:<32} {location:<28} {state:<7} {chan.application}({chan.app_data})")
            if not concise:
                n = len(model.channels)
                calls = model.active_calls()
                lines += [
                    f"{n} active channel{'s' if n != 1 else ''}",
                    f"{calls} active call{'s' if calls != 1 else ''}",
                    f"{model.calls_started} call{'s' if model.calls_started != 1 else ''} processed",
                ]
            return "\n".join(lines)
        if command == "queue show":
            out: list[str] = []
            for q in model.queues.values():
                out.append(
                    f"{q.name} has {len(q.waiting)} calls (max unlimited) in 'rrmemory' strategy "
                    f"(C:{q.completed}, A:{q.abandoned})"
                )
                out.append("   Members: ")
                for m in q.members:
                    status = "paused" if m.paused else ("In use" if m.busy else "Not in use")
                    out.append(f"      {m.name} ({m.interface}) ({status}) has taken {m.calls_taken} calls")
                out.append("   Callers: " if q.waiting else "   No Callers")
                for pos, call in enumerate(q.waiting, start=1):
                    out.append(f"      {pos}. {call.caller.name} (wait: {int(now - call.joined)}s)")
                out.append("")
            return "\n".join(out).rstrip("\n")
        return None


class RunningSimulator:
    """A :class:`Simulator` serving from its own thread (for blocking code and the demo)."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self.simulator: Simulator | None = None
        self.thread = threading.Thread(target=self._main, name="ami-fast-simulator", daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.run_until_complete(self._loop.shutdown_default_executor())
            asyncio.set_event_loop(None)
            self._loop.close()
            self._ready.set()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        try:
            sim = Simulator(**self._options)
            await sim.start()
        except BaseException as exc:
            self._error = exc
            return
        self.simulator = sim
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await sim.stop()

    def start(self) -> RunningSimulator:
        self.thread.start()
        self._ready.wait()
        if self._error is not None:
            self.thread.join()
            raise self._error
        return self

    @property
    def url(self) -> str:
        assert self.simulator is not None
        return self.simulator.url

    def call(self, fn: Any) -> Any:
        """Run ``fn()`` on the simulator's loop thread and return its result."""

        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)

    def stop(self) -> None:
        if self.thread.is_alive() and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self.thread.join()

    def __enter__(self) -> RunningSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_in_thread(**options: Any) -> RunningSimulator:
    """Start a :class:`Simulator` (same options) on a daemon thread; ``.url``, ``.stop()``."""
    return RunningSimulator(**options).start()
