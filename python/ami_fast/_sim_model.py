"""The call-centre traffic model behind the embedded simulator (no I/O, no clock of its own).

Callers ring in on a trunk, enter a queue, an agent is rung, answers, the two are bridged, and
the call hangs up, with the events Asterisk 22 sends for each step (names, field order and the
channel field block as in the corpus recordings). Everything is driven by ``advance(now)``
so tests can run minutes of traffic in milliseconds with a synthetic clock.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

Fields = list[tuple[str, str]]
SimEvent = tuple[str, Fields]  # (event name, fields after the "Event:" line)

STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}
MEMBER_NOT_INUSE, MEMBER_INUSE, MEMBER_RINGING = 1, 2, 6

FIRST_NAMES = ("Alice", "Bob", "Carla", "Dmitri", "Eve", "Farid", "Grace", "Hiro", "Ines", "Jonas")
LAST_NAMES = ("Martin", "Smith", "Rossi", "Dubois", "Novak", "Silva", "Kim", "Nguyen")

# Average number of events one answered queue call produces (counted from the steps below); the
# arrival rate is the requested event rate divided by it.
EVENTS_PER_CALL = 30.5


@dataclass
class SimConfig:
    """Tunables of the simulated call centre.

    ``rate`` is the target number of *events per second* across all calls (about 30 events per
    call, so ``rate=2000`` means roughly 65 new calls per second). Durations are compressed
    (seconds, not minutes) so a few seconds of simulation show every kind of event.
    """

    rate: float = 500.0
    queues: tuple[str, ...] = ("sales", "support", "billing")
    ring_time: float = 0.4
    talk_time: float = 3.0
    wrapup_time: float = 0.3
    patience: float = 6.0
    agents_per_queue: int | None = None  # None: sized from the rate so most calls are answered
    seed: int | None = None


@dataclass
class Channel:
    name: str
    uniqueid: str
    linkedid: str
    state: int
    caller_num: str
    caller_name: str
    context: str
    exten: str
    priority: int = 1
    connected_num: str = "<unknown>"
    connected_name: str = "<unknown>"
    application: str = ""
    app_data: str = ""
    created: float = 0.0
    answered: float | None = None
    bridge: str = ""
    variables: dict[str, str] = field(default_factory=dict)

    def block(self, prefix: str = "") -> Fields:
        """The channel snapshot every channel event carries (``Dest``-prefixed for dial events)."""
        p = prefix
        return [
            (f"{p}Channel", self.name),
            (f"{p}ChannelState", str(self.state)),
            (f"{p}ChannelStateDesc", STATE_DESC.get(self.state, "Unknown")),
            (f"{p}CallerIDNum", self.caller_num),
            (f"{p}CallerIDName", self.caller_name),
            (f"{p}ConnectedLineNum", self.connected_num),
            (f"{p}ConnectedLineName", self.connected_name),
            (f"{p}Language", "en"),
            (f"{p}AccountCode", ""),
            (f"{p}Context", self.context),
            (f"{p}Exten", self.exten),
            (f"{p}Priority", str(self.priority)),
            (f"{p}Uniqueid", self.uniqueid),
            (f"{p}Linkedid", self.linkedid),
        ]


@dataclass
class Member:
    queue: str
    name: str
    interface: str
    login_time: int
    status: int = MEMBER_NOT_INUSE
    paused: bool = False
    paused_reason: str = ""
    calls_taken: int = 0
    last_call: int = 0
    busy: bool = False  # ringing, talking or in wrap-up
    dynamic: bool = False

    def fields(self) -> Fields:
        return [
            ("Queue", self.queue),
            ("MemberName", self.name),
            ("Interface", self.interface),
            ("StateInterface", self.interface),
            ("Membership", "dynamic" if self.dynamic else "static"),
            ("Penalty", "0"),
            ("CallsTaken", str(self.calls_taken)),
            ("LastCall", str(self.last_call)),
            ("LastPause", "0"),
            ("LoginTime", str(self.login_time)),
            ("InCall", "1" if self.status == MEMBER_INUSE else "0"),
            ("Status", str(self.status)),
            ("Paused", "1" if self.paused else "0"),
            ("PausedReason", self.paused_reason),
            ("Ringinuse", "0"),
            ("Wrapuptime", "0"),
        ]


@dataclass
class Queue:
    name: str
    members: list[Member] = field(default_factory=list)
    waiting: list[Call] = field(default_factory=list)
    completed: int = 0
    abandoned: int = 0
    total_hold: float = 0.0
    total_talk: float = 0.0


@dataclass
class Call:
    caller: Channel
    queue: Queue
    joined: float = 0.0
    agent: Channel | None = None
    member: Member | None = None
    bridge_id: str = ""
    connected_at: float = 0.0
    done: bool = False


class CallCentre:
    """State and event generation of the simulated call centre.

    ``advance(now)`` runs every step due by ``now`` and returns their events in order. The
    action helpers (``originate``, ``hangup``, ``queue_pause``...) change the state the same way
    and return the events they cause.
    """

    def __init__(self, config: SimConfig | None = None, *, now: float = 0.0, wall: float | None = None):
        self.config = config or SimConfig()
        self.rng = random.Random(self.config.seed)
        self._t0 = now
        self._wall0 = time.time() if wall is None else wall
        self._epoch = int(self._wall0)
        self._ids = itertools.count(1)
        self._chan_ids = itertools.count(1)
        self._seq = itertools.count()
        self._timers: list[tuple[float, int, Callable[[float], None]]] = []
        self._out: list[SimEvent] = []
        self.channels: dict[str, Channel] = {}  # by name, in creation order
        self.calls_started = 0
        self.calls_completed = 0
        self.events_emitted = 0
        self.db: dict[str, dict[str, str]] = {}
        self.global_vars: dict[str, str] = {}
        self.queues: dict[str, Queue] = {}
        self._calls: dict[str, Call] = {}  # channel name -> its queue call, while it lives
        self._build_queues()
        self._next_arrival = now + self._interarrival()

    # -- setup ------------------------------------------------------------------------------

    @property
    def call_rate(self) -> float:
        """New calls per second implied by the event rate."""
        return max(self.config.rate, 0.0) / EVENTS_PER_CALL

    def _build_queues(self) -> None:
        cfg = self.config
        per_queue_rate = self.call_rate / max(len(cfg.queues), 1)
        busy_time = cfg.ring_time + cfg.talk_time + cfg.wrapup_time
        n_agents = cfg.agents_per_queue
        if n_agents is None:
            # Erlang-ish sizing with 20% headroom: some calls still wait, few abandon.
            n_agents = max(2, math.ceil(per_queue_rate * busy_time * 1.2) + 1)
        ext = itertools.count(100)
        for qname in cfg.queues:
            q = Queue(qname)
            for _ in range(n_agents):
                n = next(ext)
                q.members.append(Member(qname, f"Agent {n}", f"PJSIP/agent{n}", login_time=self._epoch))
            self.queues[qname] = q

    # -- clock ------------------------------------------------------------------------------

    def _wall(self, now: float) -> float:
        return self._wall0 + (now - self._t0)

    def _interarrival(self) -> float:
        rate = self.call_rate
        return self.rng.expovariate(rate) if rate > 0 else math.inf

    def _after(self, now: float, delay: float, step: Callable[[float], None]) -> None:
        heapq.heappush(self._timers, (now + delay, next(self._seq), step))

    def _jitter(self, mean: float) -> float:
        return mean * self.rng.uniform(0.5, 1.5)

    def next_due(self) -> float:
        """When the next step is due (for the server's timer)."""
        t = self._next_arrival
        if self._timers:
            t = min(t, self._timers[0][0])
        return t

    def advance(self, now: float, max_events: int | None = None) -> list[SimEvent]:
        """Run every arrival and step due by ``now``; return the events they produced.

        With ``max_events``, stop once that many events are out (the rest stays due)."""
        while max_events is None or len(self._out) < max_events:
            due_timer = self._timers[0][0] if self._timers else math.inf
            if self._next_arrival <= now and self._next_arrival <= due_timer:
                t = self._next_arrival
                self._next_arrival = t + self._interarrival()
                self._arrive(t)
            elif due_timer <= now:
                t, _, step = heapq.heappop(self._timers)
                step(t)
            else:
                break
        return self.take_events()

    def lag(self, now: float) -> float:
        """How far behind ``now`` the oldest due step is (0 when up to date)."""
        return max(0.0, now - self.next_due())

    def slip(self, delta: float) -> None:
        """Move every pending step ``delta`` seconds later (an overloaded simulator skips
        ahead instead of falling further and further behind). A uniform shift keeps the heap."""
        self._next_arrival += delta
        self._timers = [(t + delta, seq, step) for t, seq, step in self._timers]

    def take_events(self) -> list[SimEvent]:
        out, self._out = self._out, []
        self.events_emitted += len(out)
        return out

    # -- event helpers ----------------------------------------------------------------------

    def _emit(self, name: str, fields: Fields) -> None:
        self._out.append((name, fields))

    def _chan_event(
        self, name: str, chan: Channel, privilege: str, extra: Iterable[tuple[str, str]] = ()
    ) -> None:
        self._emit(name, [("Privilege", privilege), *chan.block(), *extra])

    def _new_uniqueid(self) -> str:
        return f"{self._epoch}.{next(self._ids)}"

    def _new_channel(
        self,
        now: float,
        name_prefix: str,
        *,
        state: int,
        num: str,
        cname: str,
        context: str,
        exten: str,
        linkedid: str | None = None,
    ) -> Channel:
        uid = self._new_uniqueid()
        name = f"{name_prefix}-{next(self._chan_ids):08x}"
        chan = Channel(name, uid, linkedid or uid, state, num, cname, context, exten, created=now)
        self.channels[name] = chan
        self._chan_event("Newchannel", chan, "call,all")
        return chan

    def _newstate(self, chan: Channel, state: int) -> None:
        chan.state = state
        self._chan_event("Newstate", chan, "call,all")

    def _newexten(self, chan: Channel, app: str, data: str, priority: int | None = None) -> None:
        if priority is not None:
            chan.priority = priority
        chan.application, chan.app_data = app, data
        self._chan_event(
            "Newexten",
            chan,
            "dialplan,all",
            [("Extension", chan.exten), ("Application", app), ("AppData", data)],
        )

    def _device_state(self, device: str, state: str) -> None:
        self._emit("DeviceStateChange", [("Privilege", "call,all"), ("Device", device), ("State", state)])

    def _member_status(self, m: Member, status: int) -> None:
        m.status = status
        self._emit("QueueMemberStatus", [("Privilege", "agent,all"), *m.fields()])

    def _hangup_channel(self, now: float, chan: Channel, cause: int = 16, *, soft: bool = False) -> None:
        if chan.name not in self.channels:
            return
        cause_txt = {16: "Normal Clearing", 17: "User busy", 19: "No answer", 21: "Call Rejected"}
        if soft:
            self._chan_event("SoftHangupRequest", chan, "call,all", [("Cause", str(cause))])
        self._chan_event(
            "Hangup",
            chan,
            "call,all",
            [("Cause", str(cause)), ("Cause-txt", cause_txt.get(cause, "Unknown"))],
        )
        del self.channels[chan.name]
        self._calls.pop(chan.name, None)

    def _cdr(self, now: float, chan: Channel, dest: str, dest_channel: str, disposition: str) -> None:
        fmt = "%Y-%m-%d %H:%M:%S"
        start = time.strftime(fmt, time.localtime(self._wall(chan.created)))
        answer = time.strftime(fmt, time.localtime(self._wall(chan.answered))) if chan.answered else ""
        end = time.strftime(fmt, time.localtime(self._wall(now)))
        duration = int(now - chan.created)
        billable = int(now - chan.answered) if chan.answered else 0
        self._emit(
            "Cdr",
            [
                ("Privilege", "cdr,all"),
                ("AccountCode", ""),
                ("Source", chan.caller_num),
                ("Destination", dest),
                ("DestinationContext", chan.context),
                ("CallerID", f'"{chan.caller_name}" <{chan.caller_num}>'),
                ("Channel", chan.name),
                ("DestinationChannel", dest_channel),
                ("LastApplication", chan.application),
                ("LastData", chan.app_data),
                ("StartTime", start),
                ("AnswerTime", answer),
                ("EndTime", end),
                ("Duration", str(duration)),
                ("BillableSeconds", str(billable)),
                ("Disposition", disposition),
                ("AMAFlags", "DOCUMENTATION"),
                ("UniqueID", chan.uniqueid),
                ("UserField", ""),
            ],
        )

    # -- the inbound queue call -------------------------------------------------------------

    def _arrive(self, now: float) -> None:
        cfg = self.config
        qname = self.rng.choice(cfg.queues)
        queue = self.queues[qname]
        num = f"+3361{self.rng.randrange(10_000_000):07d}"
        cname = f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"
        caller = self._new_channel(
            now, "PJSIP/trunk", state=4, num=num, cname=cname, context="from-pstn", exten=qname
        )
        self.calls_started += 1
        self._newexten(caller, "Answer", "", priority=1)
        caller.answered = now
        self._newstate(caller, 6)
        self._newexten(caller, "Queue", f"{qname},t", priority=2)
        call = Call(caller, queue, joined=now)
        self._calls[caller.name] = call
        queue.waiting.append(call)
        self._chan_event(
            "QueueCallerJoin",
            caller,
            "agent,all",
            [("Queue", qname), ("Position", str(len(queue.waiting))), ("Count", str(len(queue.waiting)))],
        )
        self._after(now, self._jitter(cfg.patience), lambda t: self._abandon(t, call))
        self._dispatch(now, queue)

    def _dispatch(self, now: float, queue: Queue) -> None:
        """Ring a free agent for each waiting caller while there are free agents."""
        # Callers stay in the queue (and in QueueStatus) while their agent rings.
        callers = [c for c in queue.waiting if c.member is None and not c.done]
        if not callers:
            return
        free = [m for m in queue.members if not m.busy and not m.paused]
        for call in callers:
            if not free:
                return
            self._ring_agent(now, call, free.pop(self.rng.randrange(len(free))))

    def _ring_agent(self, now: float, call: Call, member: Member) -> None:
        member.busy = True
        call.member = member
        caller = call.caller
        agent = self._new_channel(
            now,
            member.interface,
            state=0,
            num=member.interface.split("agent")[-1],
            cname=member.name,
            context="from-queue",
            exten=call.queue.name,
            linkedid=caller.linkedid,
        )
        agent.connected_num, agent.connected_name = caller.caller_num, caller.caller_name
        call.agent = agent
        self._calls[agent.name] = call
        self._emit("AgentCalled", self._agent_fields(call))
        self._emit(
            "DialBegin",
            [
                ("Privilege", "call,all"),
                *caller.block(),
                *agent.block("Dest"),
                ("DialString", member.interface[6:]),
            ],
        )
        self._newstate(agent, 5)
        self._device_state(member.interface, "RINGING")
        self._member_status(member, MEMBER_RINGING)
        self._after(now, self._jitter(self.config.ring_time), lambda t: self._answer(t, call))

    def _answer(self, now: float, call: Call) -> None:
        agent, caller, member = call.agent, call.caller, call.member
        assert agent is not None and member is not None
        if call.done:  # the caller gave up while the agent was ringing
            self._emit(
                "DialEnd",
                [("Privilege", "call,all"), *caller.block(), *agent.block("Dest"), ("DialStatus", "CANCEL")],
            )
            self._hangup_channel(now, agent, 19)
            self._free_agent(now, call.queue, member)
            return
        if agent.name not in self.channels:  # the ringing agent leg was hung up: ring another
            call.agent = call.member = None
            self._free_agent(now, call.queue, member)
            return
        call.queue.waiting.remove(call)
        call.connected_at = now
        agent.answered = now
        agent.connected_num, agent.connected_name = caller.caller_num, caller.caller_name
        caller.connected_num, caller.connected_name = agent.caller_num, agent.caller_name
        self._newstate(agent, 6)
        self._emit(
            "DialEnd",
            [("Privilege", "call,all"), *caller.block(), *agent.block("Dest"), ("DialStatus", "ANSWER")],
        )
        self._chan_event(
            "QueueCallerLeave",
            caller,
            "agent,all",
            [("Queue", call.queue.name), ("Count", str(len(call.queue.waiting))), ("Position", "1")],
        )
        hold = int(now - call.joined)
        self._emit(
            "AgentConnect",
            [
                *self._agent_fields(call),
                ("HoldTime", str(hold)),
                ("RingTime", str(max(0, int(now - agent.created)))),
            ],
        )
        self._device_state(member.interface, "INUSE")
        self._member_status(member, MEMBER_INUSE)
        call.bridge_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        bridge = self._bridge_fields(call.bridge_id, 0)
        self._emit("BridgeCreate", [("Privilege", "call,all"), *bridge])
        for n, chan in enumerate((caller, agent), start=1):
            chan.bridge = call.bridge_id
            self._emit(
                "BridgeEnter",
                [("Privilege", "call,all"), *self._bridge_fields(call.bridge_id, n), *chan.block()],
            )
        talk = self.rng.expovariate(1.0 / self.config.talk_time) if self.config.talk_time > 0 else 0.0
        self._after(now, talk, lambda t: self._complete(t, call, self.rng.random() < 0.6))

    @staticmethod
    def _agent_fields(call: Call) -> Fields:
        """The fields every Agent* event of ``call`` starts with."""
        agent, member = call.agent, call.member
        assert agent is not None and member is not None
        return [
            ("Privilege", "agent,all"),
            *call.caller.block(),
            *agent.block("Dest"),
            ("Queue", call.queue.name),
            ("MemberName", member.name),
            ("Interface", member.interface),
        ]

    @staticmethod
    def _bridge_fields(bridge_id: str, n_channels: int) -> Fields:
        return [
            ("BridgeUniqueid", bridge_id),
            ("BridgeType", "basic"),
            ("BridgeTechnology", "simple_bridge"),
            ("BridgeCreator", "<unknown>"),
            ("BridgeName", "<unknown>"),
            ("BridgeNumChannels", str(n_channels)),
            ("BridgeVideoSourceMode", "none"),
        ]

    def _complete(self, now: float, call: Call, caller_hangs_up: bool) -> None:
        agent, caller, member = call.agent, call.caller, call.member
        assert agent is not None and member is not None
        if call.done:
            return
        call.done = True
        first, second = (caller, agent) if caller_hangs_up else (agent, caller)
        self._chan_event("HangupRequest", first, "call,all", [("Cause", "16")])
        remaining = 2
        for chan in (first, second):
            remaining -= 1
            chan.bridge = ""
            self._emit(
                "BridgeLeave",
                [("Privilege", "call,all"), *self._bridge_fields(call.bridge_id, remaining), *chan.block()],
            )
        self._emit("BridgeDestroy", [("Privilege", "call,all"), *self._bridge_fields(call.bridge_id, 0)])
        talk = int(now - call.connected_at)
        self._emit(
            "AgentComplete",
            [
                *self._agent_fields(call),
                ("HoldTime", str(int(call.connected_at - call.joined))),
                ("TalkTime", str(talk)),
                ("Reason", "caller" if caller_hangs_up else "agent"),
            ],
        )
        self._hangup_channel(now, first, 16)
        self._hangup_channel(now, second, 16, soft=True)
        self._cdr(now, caller, call.queue.name, agent.name, "ANSWERED")
        self._device_state(member.interface, "NOT_INUSE")
        member.calls_taken += 1
        member.last_call = int(self._wall(now))
        self._member_status(member, MEMBER_NOT_INUSE)
        q = call.queue
        q.completed += 1
        q.total_hold += call.connected_at - call.joined
        q.total_talk += now - call.connected_at
        self.calls_completed += 1
        self._after(now, self.config.wrapup_time, lambda t: self._free_agent(t, q, member))

    def _free_agent(self, now: float, queue: Queue, member: Member) -> None:
        member.busy = False
        self._dispatch(now, queue)

    def _abandon(self, now: float, call: Call) -> None:
        if call.done or call.connected_at:
            return
        call.done = True
        queue, caller = call.queue, call.caller
        position = queue.waiting.index(call) + 1 if call in queue.waiting else 1
        if call in queue.waiting:
            queue.waiting.remove(call)
        queue.abandoned += 1
        self._chan_event(
            "QueueCallerAbandon",
            caller,
            "agent,all",
            [
                ("Queue", queue.name),
                ("Position", str(position)),
                ("OriginalPosition", str(position)),
                ("HoldTime", str(int(now - call.joined))),
            ],
        )
        self._chan_event(
            "QueueCallerLeave",
            caller,
            "agent,all",
            [("Queue", queue.name), ("Count", str(len(queue.waiting))), ("Position", str(position))],
        )
        self._chan_event("HangupRequest", caller, "call,all", [("Cause", "16")])
        self._hangup_channel(now, caller, 16)
        self._cdr(now, caller, queue.name, "", "ANSWERED")
        self.calls_completed += 1

    # -- actions ----------------------------------------------------------------------------

    def originate(
        self,
        now: float,
        channel: str,
        *,
        context: str = "default",
        exten: str = "s",
        application: str | None = None,
        data: str = "",
        caller_id: str = "",
        action_id: str | None = None,
        is_async: bool = True,
        variables: dict[str, str] | None = None,
        duration: float | None = None,
    ) -> tuple[bool, list[SimEvent]]:
        """Start an outbound call on ``channel`` (``Tech/resource``).

        Returns whether the call will be answered (unknown technologies fail, as an unknown
        endpoint would) and the events produced now; the rest of the call (the
        ``OriginateResponse`` when async, the hangup) follows from ``advance``.
        """
        tech, _, resource = channel.partition("/")
        num, name = caller_id, ""
        if "<" in caller_id:
            name, _, rest = caller_id.partition("<")
            name, num = name.strip().strip('"'), rest.rstrip(">").strip()
        target_ctx = context if application is None else "default"
        target_exten = exten if application is None else "s"
        chan = self._new_channel(
            now,
            channel,
            state=0,
            num=num or "<unknown>",
            cname=name or "<unknown>",
            context=target_ctx,
            exten=target_exten,
        )
        chan.variables.update(variables or {})
        for var, value in (variables or {}).items():
            self._chan_event("VarSet", chan, "dialplan,all", [("Variable", var), ("Value", value)])
        self._emit(
            "DialBegin",
            [("Privilege", "call,all"), *chan.block("Dest"), ("DialString", resource or tech)],
        )
        self._newstate(chan, 5)
        events = self.take_events()
        fail = not resource or tech.lower() not in ("pjsip", "sip", "local", "iax2", "dahdi")

        def answer(t: float) -> None:
            if chan.name not in self.channels:
                return
            if fail:
                self._emit(
                    "DialEnd", [("Privilege", "call,all"), *chan.block("Dest"), ("DialStatus", "CHANUNAVAIL")]
                )
                self._hangup_channel(t, chan, 21)
                if is_async:
                    self._originate_response(chan, action_id, target_ctx, target_exten, success=False)
                return
            chan.answered = t
            self._newstate(chan, 6)
            self._emit("DialEnd", [("Privilege", "call,all"), *chan.block("Dest"), ("DialStatus", "ANSWER")])
            self._newexten(chan, application or "Playback", data or "demo-congrats", priority=1)
            if is_async:
                self._originate_response(chan, action_id, target_ctx, target_exten, success=True)
            talk = duration if duration is not None else self._jitter(self.config.talk_time)
            self._after(t, talk, end)

        def end(t: float) -> None:
            if chan.name not in self.channels:
                return
            self._chan_event("HangupRequest", chan, "call,all", [("Cause", "16")])
            self._hangup_channel(t, chan, 16)
            self._cdr(t, chan, target_exten, "", "ANSWERED")

        self._after(now, self._jitter(self.config.ring_time), answer)
        return not fail, events

    def _originate_response(
        self, chan: Channel, action_id: str | None, context: str, exten: str, *, success: bool
    ) -> None:
        fields: Fields = [("Privilege", "call,all")]
        if action_id is not None:
            fields.append(("ActionID", action_id))
        fields += [
            ("Response", "Success" if success else "Failure"),
            ("Channel", chan.name if success else chan.name.rsplit("-", 1)[0]),
            ("Context", context),
            ("Exten", exten),
            ("Reason", "4" if success else "0"),
            ("Uniqueid", chan.uniqueid if success else "<unknown>"),
            ("CallerIDNum", chan.caller_num),
            ("CallerIDName", chan.caller_name),
        ]
        self._emit("OriginateResponse", fields)

    def hangup(self, now: float, channel: str, cause: int = 16) -> bool:
        """Hang up one channel by exact name (the call it belongs to ends too)."""
        chan = self.channels.get(channel)
        if chan is None:
            return False
        call = self._calls.get(chan.name)
        if call is not None and not call.done:
            if call.connected_at:
                self._complete(now, call, chan is call.caller)
                return True
            if call.caller is chan:
                self._abandon(now, call)
                return True
        self._chan_event("HangupRequest", chan, "call,all", [("Cause", str(cause))])
        self._hangup_channel(now, chan, cause)
        self._cdr(now, chan, chan.exten, "", "ANSWERED" if chan.answered else "NO ANSWER")
        return True

    def redirect(self, chan: Channel, priority: int) -> None:
        """The channel continues at its (already updated) context/exten."""
        self._newexten(chan, "Playback", "demo-congrats", priority=priority)

    def set_variable(self, chan: Channel, name: str, value: str) -> None:
        chan.variables[name] = value
        self._chan_event("VarSet", chan, "dialplan,all", [("Variable", name), ("Value", value)])

    def active_calls(self) -> int:
        """Calls in progress (channels grouped by Linkedid)."""
        return len({c.linkedid for c in self.channels.values()})

    def redispatch(self, now: float) -> None:
        """Offer waiting callers to members again (after an unpause)."""
        for q in self.queues.values():
            self._dispatch(now, q)

    def queue_pause(self, interface: str, paused: bool, queue: str | None = None, reason: str = "") -> bool:
        found = False
        for q in self.queues.values():
            if queue is not None and q.name != queue:
                continue
            for m in q.members:
                if m.interface.lower() == interface.lower():
                    found = True
                    m.paused, m.paused_reason = paused, reason if paused else ""
                    self._emit(
                        "QueueMemberPause",
                        [("Privilege", "agent,all"), *m.fields()],
                    )
        return found

    def queue_add(self, now: float, queue: str, interface: str, member_name: str | None = None) -> str | None:
        """Add a dynamic member; returns an error text or ``None``."""
        q = self.queues.get(queue)
        if q is None:
            return "Unable to add interface to queue: No such queue"
        if any(m.interface.lower() == interface.lower() for m in q.members):
            return "Unable to add interface: Already there"
        m = Member(queue, member_name or interface, interface, login_time=int(self._wall(now)), dynamic=True)
        q.members.append(m)
        self._emit("QueueMemberAdded", [("Privilege", "agent,all"), *m.fields()])
        self._dispatch(now, q)
        return None

    def queue_remove(self, queue: str, interface: str) -> str | None:
        q = self.queues.get(queue)
        if q is None:
            return "Unable to remove interface from queue: No such queue"
        for m in q.members:
            if m.interface.lower() == interface.lower():
                if m.busy:
                    m.paused = True  # finish the current call, then it is gone from the list
                q.members.remove(m)
                self._emit("QueueMemberRemoved", [("Privilege", "agent,all"), *m.fields()])
                return None
        return "Unable to remove interface: Not there"

    # -- lists ------------------------------------------------------------------------------

    def core_show_channels(self, now: float) -> list[SimEvent]:
        items: list[SimEvent] = []
        for chan in self.channels.values():
            secs = int(now - chan.created)
            items.append(
                (
                    "CoreShowChannel",
                    [
                        *chan.block(),
                        ("Application", chan.application),
                        ("ApplicationData", chan.app_data),
                        ("Duration", f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"),
                        ("BridgeId", chan.bridge),
                    ],
                )
            )
        return items

    def status(self, now: float, channel: str | None = None) -> list[SimEvent] | None:
        """``Status`` items; ``None`` when a named channel does not exist."""
        chans = list(self.channels.values())
        if channel:
            found = self.channels.get(channel)
            if found is None:
                return None
            chans = [found]
        items: list[SimEvent] = []
        for chan in chans:
            items.append(
                (
                    "Status",
                    [
                        ("Privilege", "Call"),
                        *chan.block(),
                        ("Type", chan.name.split("/", 1)[0]),
                        ("DNID", ""),
                        ("EffectiveConnectedLineNum", chan.connected_num),
                        ("EffectiveConnectedLineName", chan.connected_name),
                        ("TimeToHangup", "0"),
                        ("BridgeID", chan.bridge),
                        ("Application", chan.application),
                        ("Data", chan.app_data),
                        ("Nativeformats", "(ulaw)"),
                        ("Readformat", "ulaw"),
                        ("Readtrans", ""),
                        ("Writeformat", "ulaw"),
                        ("Writetrans", ""),
                        ("Callgroup", "0"),
                        ("Pickupgroup", "0"),
                        ("Seconds", str(int(now - chan.created))),
                    ],
                )
            )
        return items

    def queue_status(self, now: float, queue: str | None = None, member: str | None = None) -> list[SimEvent]:
        items: list[SimEvent] = []
        for q in self.queues.values():
            if queue and q.name != queue:
                continue
            done = max(q.completed, 1)
            items.append(
                (
                    "QueueParams",
                    [
                        ("Queue", q.name),
                        ("Max", "0"),
                        ("Strategy", "rrmemory"),
                        ("Calls", str(len(q.waiting))),
                        ("Holdtime", str(int(q.total_hold / done))),
                        ("TalkTime", str(int(q.total_talk / done))),
                        ("Completed", str(q.completed)),
                        ("Abandoned", str(q.abandoned)),
                        ("ServiceLevel", "60"),
                        ("ServicelevelPerf", "100.0"),
                        ("ServicelevelPerf2", "100.0"),
                        ("Weight", "0"),
                    ],
                )
            )
            for m in q.members:
                if member and m.name != member and m.interface != member:
                    continue
                f = [(k, v) for k, v in m.fields() if k not in ("Interface", "Ringinuse")]
                f = [("Name" if k == "MemberName" else k, v) for k, v in f]
                f.insert(2, ("Location", m.interface))
                items.append(("QueueMember", f))
            for pos, call in enumerate(q.waiting, start=1):
                c = call.caller
                items.append(
                    (
                        "QueueEntry",
                        [
                            ("Queue", q.name),
                            ("Position", str(pos)),
                            ("Channel", c.name),
                            ("Uniqueid", c.uniqueid),
                            ("CallerIDNum", c.caller_num),
                            ("CallerIDName", c.caller_name),
                            ("ConnectedLineNum", c.connected_num),
                            ("ConnectedLineName", c.connected_name),
                            ("Wait", str(int(now - call.joined))),
                            ("Priority", "0"),
                        ],
                    )
                )
        return items

    def queue_summary(self, now: float, queue: str | None = None) -> list[SimEvent]:
        items: list[SimEvent] = []
        for q in self.queues.values():
            if queue and q.name != queue:
                continue
            logged_in = len(q.members)
            available = sum(1 for m in q.members if not m.busy and not m.paused)
            longest = max((int(now - c.joined) for c in q.waiting), default=0)
            done = max(q.completed, 1)
            items.append(
                (
                    "QueueSummary",
                    [
                        ("Queue", q.name),
                        ("LoggedIn", str(logged_in)),
                        ("Available", str(available)),
                        ("Callers", str(len(q.waiting))),
                        ("HoldTime", str(int(q.total_hold / done))),
                        ("TalkTime", str(int(q.total_talk / done))),
                        ("LongestHoldTime", str(longest)),
                    ],
                )
            )
        return items

    def device_states(self) -> list[SimEvent]:
        items: list[SimEvent] = []
        busy_ifaces = {c.name.rsplit("-", 1)[0] for c in self.channels.values()}
        for q in self.queues.values():
            items.append(
                (
                    "DeviceStateChange",
                    [
                        ("Device", f"Queue:{q.name}_avail"),
                        ("State", "NOT_INUSE" if any(not m.busy for m in q.members) else "INUSE"),
                    ],
                )
            )
            for m in q.members:
                state = "INUSE" if m.interface in busy_ifaces else "NOT_INUSE"
                items.append(("DeviceStateChange", [("Device", m.interface), ("State", state)]))
        return items

    def endpoints(self) -> list[SimEvent]:
        items: list[SimEvent] = []
        busy_ifaces = {c.name.rsplit("-", 1)[0] for c in self.channels.values()}
        names = ["trunk"] + [m.interface.split("/", 1)[1] for q in self.queues.values() for m in q.members]
        for name in names:
            active = sum(1 for c in self.channels.values() if c.name.startswith(f"PJSIP/{name}-"))
            state = "In use" if f"PJSIP/{name}" in busy_ifaces else "Not in use"
            items.append(
                (
                    "EndpointList",
                    [
                        ("ObjectType", "endpoint"),
                        ("ObjectName", name),
                        ("Transport", "transport-udp"),
                        ("Aor", name),
                        ("Auths", name if name != "trunk" else ""),
                        ("OutboundAuths", ""),
                        ("DeviceState", state),
                        ("ActiveChannels", str(active)),
                    ],
                )
            )
        return items

    def summary(self) -> dict[str, int]:
        """A few gauges for the demo's live line."""
        return {
            "channels": len(self.channels),
            "waiting": sum(len(q.waiting) for q in self.queues.values()),
            "calls_started": self.calls_started,
            "calls_completed": self.calls_completed,
        }
