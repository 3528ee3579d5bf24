"""Deterministic generator of realistic Asterisk 22 AMI traffic (server → client bytes).

Calls arrive on a PJSIP trunk, go through a queue to an agent, are bridged and hang up,
several at a time and interleaved, with the header names and order Asterisk 22 uses
(``main/manager_channels.c``, ``apps/app_queue.c``, ``main/manager_bridges.c``; compare
``/work/shared/corpus/asterisk22/09_originate_async_local.bin``). ``channelvars`` is assumed to
be set, so channel blocks end with repeated ``ChanVariable`` lines. Between calls come action
responses (Ping, Originate, Getvar, Command with ``Output`` lines) and ``CoreShowChannels``
event lists. Some caller names are non-ASCII (UTF-8). Everything uses CRLF.

The same seed always gives the same bytes, so every parser is measured on identical input.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["GeneratedStream", "chunk", "generate"]

CHUNK_SIZE = 64 * 1024
BANNER = b"Asterisk Call Manager/11.0.0\r\n"

Fields = list[tuple[str, str]]

_NAMES = [
    "Alice Martin",
    "Bob Schneider",
    "Carla Rossi",
    "David Smith",
    "Emma Johnson",
    "Frank Weber",
    "Grace Lee",
    "Hugo Bernard",
    "Ines Costa",
    "Jack Wilson",
    "Karen Brown",
    "Liam O'Connor",
    "Maria Garcia",
    "Nina Novak",
    "Oscar Lindqvist",
    "Paul Dubois",
    "Quentin Moreau",
    "Rita Fischer",
    "Sam Taylor",
    "Tina Kowalski",
    "CELL PHONE",
    "WIRELESS CALLER",
    "ACME Corp",
    "<unknown>",
]
# About one caller in eight has a name outside ASCII, as real CNAM data does.
_NON_ASCII_NAMES = [
    "José García",
    "Zoë Ångström",
    "Łukasz Żółć",
    "Jürgen Müller",
    "Søren Kierkegård",
    "François Lefèvre",
    "Ana Conceição",
    "山田 太郎",
    "Αλέξης Παππάς",
    "Дмитрий Иванов",
]
_QUEUES = ["support", "sales", "billing", "vip-support"]
_AGENTS = [f"{n}" for n in range(1001, 1041)]
_DIDS = ["+4930901820", "+4930901821", "+33142685300", "+442071838750"]


@dataclass
class GeneratedStream:
    """The bytes plus what a correct parser must find in them (for the smoke tests)."""

    data: bytes
    messages: int = 0
    events: int = 0
    responses: int = 0
    fields: int = 0  # every `Key: value` line, duplicates counted
    names: Counter[str] = field(default_factory=Counter)  # event name -> count

    @property
    def mean_message_bytes(self) -> float:
        return len(self.data) / self.messages if self.messages else 0.0


def chunk(data: bytes, size: int = CHUNK_SIZE) -> list[bytes]:
    """Cut a stream into `size`-byte chunks, as a socket read loop would see it."""
    return [data[i : i + size] for i in range(0, len(data), size)]


class _Channel:
    """A channel snapshot: the 14 standard headers, then the ``channelvars``."""

    def __init__(
        self, name: str, uniqueid: str, linkedid: str, cid_num: str, cid_name: str, context: str, exten: str
    ) -> None:
        self.name = name
        self.uniqueid = uniqueid
        self.linkedid = linkedid
        self.state = 0
        self.cid_num = cid_num
        self.cid_name = cid_name
        self.conn_num = "<unknown>"
        self.conn_name = "<unknown>"
        self.context = context
        self.exten = exten
        self.priority = 1
        self.account = ""
        self.vars: Fields = []

    def block(self, prefix: str = "") -> Fields:
        desc = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}[self.state]
        out: Fields = [
            (f"{prefix}Channel", self.name),
            (f"{prefix}ChannelState", str(self.state)),
            (f"{prefix}ChannelStateDesc", desc),
            (f"{prefix}CallerIDNum", self.cid_num),
            (f"{prefix}CallerIDName", self.cid_name),
            (f"{prefix}ConnectedLineNum", self.conn_num),
            (f"{prefix}ConnectedLineName", self.conn_name),
            (f"{prefix}Language", "en"),
            (f"{prefix}AccountCode", self.account),
            (f"{prefix}Context", self.context),
            (f"{prefix}Exten", self.exten),
            (f"{prefix}Priority", str(self.priority)),
            (f"{prefix}Uniqueid", self.uniqueid),
            (f"{prefix}Linkedid", self.linkedid),
        ]
        out.extend((f"{prefix}ChanVariable", f"{k}={v}") for k, v in self.vars)
        return out


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.epoch = 1795687571
        self.next_uid = 1
        self.next_chan = 0x1A
        self.next_bridge = 0
        self.next_action = 1

    def _uid(self) -> str:
        self.next_uid += 1
        return f"{self.epoch + self.next_uid // 50}.{self.next_uid}"

    def _chan_name(self, endpoint: str) -> str:
        self.next_chan += 1
        return f"PJSIP/{endpoint}-{self.next_chan:08x}"

    def _caller_name(self) -> str:
        if self.rng.random() < 0.125:
            return self.rng.choice(_NON_ASCII_NAMES)
        return self.rng.choice(_NAMES)

    # --- one call: trunk → queue → agent → bridge → hangup -------------------------------
    def call(self) -> Iterator[Fields]:
        rng = self.rng
        did = rng.choice(_DIDS)
        caller_num = f"+49{rng.randrange(150_000_000, 179_999_999)}"
        uid = self._uid()
        caller = _Channel(
            self._chan_name("trunk-provider"), uid, uid, caller_num, self._caller_name(), "from-trunk", did
        )
        caller.vars = [("FROM_DID", did), ("CALL_TAG", "")]
        caller.state = 4
        yield [("Event", "Newchannel"), ("Privilege", "call,all"), *caller.block()]
        yield self._device_state("PJSIP/trunk-provider", "INUSE")
        for var, value in (("__FROM_DID", did), ("CHANNEL(language)", "en")):
            yield [
                ("Event", "VarSet"),
                ("Privilege", "dialplan,all"),
                *caller.block(),
                ("Variable", var),
                ("Value", value),
            ]
        caller.vars[1] = ("CALL_TAG", f"in-{rng.randrange(10_000, 99_999)}")
        for app, data in (
            ("Answer", ""),
            ("Set", f"CALL_TAG={caller.vars[1][1]}"),
            ("Queue", f"{rng.choice(_QUEUES)},tT,,,300"),
        ):
            yield [
                ("Event", "Newexten"),
                ("Privilege", "dialplan,all"),
                *caller.block(),
                ("Extension", caller.exten),
                ("Application", app),
                ("AppData", data),
            ]
            caller.priority += 1
            if app == "Answer":
                caller.state = 6
                yield [("Event", "Newstate"), ("Privilege", "call,all"), *caller.block()]
        queue = rng.choice(_QUEUES)
        yield [
            ("Event", "QueueCallerJoin"),
            ("Privilege", "agent,all"),
            *caller.block(),
            ("Queue", queue),
            ("Position", str(rng.randrange(1, 6))),
            ("Count", str(rng.randrange(1, 9))),
        ]
        yield [
            ("Event", "MusicOnHoldStart"),
            ("Privilege", "call,all"),
            *caller.block(),
            ("Class", "default"),
        ]

        agent_ext = rng.choice(_AGENTS)
        agent = _Channel(
            self._chan_name(agent_ext), self._uid(), uid, agent_ext, "<unknown>", "from-queue", agent_ext
        )
        agent.conn_num, agent.conn_name = caller.cid_num, caller.cid_name
        agent.vars = [("FROM_DID", ""), ("CALL_TAG", "")]
        yield [("Event", "Newchannel"), ("Privilege", "call,all"), *agent.block()]
        member = [("Queue", queue), ("Interface", f"PJSIP/{agent_ext}"), ("MemberName", f"Agent {agent_ext}")]
        yield [
            ("Event", "AgentCalled"),
            ("Privilege", "agent,all"),
            *caller.block(),
            *agent.block("Dest"),
            *member,
        ]
        yield [
            ("Event", "DialBegin"),
            ("Privilege", "call,all"),
            *caller.block(),
            *agent.block("Dest"),
            ("DialString", f"{agent_ext}"),
        ]
        agent.state = 5
        yield [("Event", "Newstate"), ("Privilege", "call,all"), *agent.block()]
        yield self._device_state(f"PJSIP/{agent_ext}", "RINGING")
        yield self._extension_status(agent_ext, 8, "Ringing")
        agent.state = 6
        yield [("Event", "Newstate"), ("Privilege", "call,all"), *agent.block()]
        yield self._extension_status(agent_ext, 1, "InUse")
        yield [
            ("Event", "DialEnd"),
            ("Privilege", "call,all"),
            *caller.block(),
            *agent.block("Dest"),
            ("DialStatus", "ANSWER"),
        ]
        yield [("Event", "MusicOnHoldStop"), ("Privilege", "call,all"), *caller.block()]
        caller.conn_num, caller.conn_name = agent_ext, f"Agent {agent_ext}"
        yield [("Event", "NewConnectedLine"), ("Privilege", "call,all"), *caller.block()]
        hold = str(rng.randrange(0, 120))
        yield [
            ("Event", "QueueCallerLeave"),
            ("Privilege", "agent,all"),
            *caller.block(),
            ("Queue", queue),
            ("Count", str(rng.randrange(0, 8))),
            ("Position", "1"),
        ]
        yield [
            ("Event", "AgentConnect"),
            ("Privilege", "agent,all"),
            *caller.block(),
            *agent.block("Dest"),
            *member,
            ("RingTime", str(rng.randrange(1, 20))),
            ("HoldTime", hold),
        ]

        self.next_bridge += 1
        bridge: Fields = [
            (
                "BridgeUniqueid",
                f"{rng.getrandbits(32):08x}-{self.next_bridge:04x}-4a7c-9d21-{uid.replace('.', '')}",
            ),
            ("BridgeType", "basic"),
            ("BridgeTechnology", "simple_bridge"),
            ("BridgeCreator", "<unknown>"),
            ("BridgeName", "<unknown>"),
            ("BridgeNumChannels", "0"),
            ("BridgeVideoSourceMode", "none"),
        ]
        yield [("Event", "BridgeCreate"), ("Privilege", "call,all"), *bridge]
        for n, chan in enumerate((agent, caller), start=1):
            bridge[5] = ("BridgeNumChannels", str(n))
            yield [("Event", "BridgeEnter"), ("Privilege", "call,all"), *bridge, *chan.block()]
        for _ in range(rng.randrange(0, 3)):
            yield [
                ("Event", "VarSet"),
                ("Privilege", "dialplan,all"),
                *agent.block(),
                ("Variable", "BRIDGEPEER"),
                ("Value", caller.name),
            ]
        talk = str(rng.randrange(5, 900))
        for n, chan in enumerate((caller, agent)):
            bridge[5] = ("BridgeNumChannels", str(1 - n))
            yield [("Event", "BridgeLeave"), ("Privilege", "call,all"), *bridge, *chan.block()]
        yield [
            ("Event", "AgentComplete"),
            ("Privilege", "agent,all"),
            *caller.block(),
            *agent.block("Dest"),
            *member,
            ("HoldTime", hold),
            ("TalkTime", talk),
            ("Reason", rng.choice(["caller", "agent"])),
        ]
        yield [("Event", "BridgeDestroy"), ("Privilege", "call,all"), *bridge]
        yield [("Event", "HangupRequest"), ("Privilege", "call,all"), *caller.block(), ("Cause", "16")]
        for chan in (caller, agent):
            yield [
                ("Event", "Hangup"),
                ("Privilege", "call,all"),
                *chan.block(),
                ("Cause", "16"),
                ("Cause-txt", "Normal Clearing"),
            ]
        yield self._device_state(f"PJSIP/{agent_ext}", "NOT_INUSE")
        yield self._extension_status(agent_ext, 0, "Idle")
        yield self._device_state("PJSIP/trunk-provider", "NOT_INUSE")
        yield [
            ("Event", "Cdr"),
            ("Privilege", "cdr,all"),
            ("AccountCode", ""),
            ("Source", caller_num),
            ("Destination", did),
            ("DestinationContext", "from-trunk"),
            ("CallerID", f'"{caller.cid_name}" <{caller_num}>'),
            ("Channel", caller.name),
            ("DestinationChannel", agent.name),
            ("LastApplication", "Queue"),
            ("LastData", f"{queue},tT,,,300"),
            ("StartTime", "2026-11-26 10:06:11"),
            ("AnswerTime", "2026-11-26 10:06:11"),
            ("EndTime", "2026-11-26 10:09:14"),
            ("Duration", str(int(talk) + int(hold))),
            ("BillableSeconds", talk),
            ("Disposition", "ANSWERED"),
            ("AMAFlags", "DOCUMENTATION"),
            ("UniqueID", caller.uniqueid),
            ("UserField", ""),
        ]

    @staticmethod
    def _device_state(device: str, state: str) -> Fields:
        return [
            ("Event", "DeviceStateChange"),
            ("Privilege", "call,all"),
            ("Device", device),
            ("State", state),
        ]

    @staticmethod
    def _extension_status(exten: str, status: int, text: str) -> Fields:
        return [
            ("Event", "ExtensionStatus"),
            ("Privilege", "call,all"),
            ("Exten", exten),
            ("Context", "ext-local"),
            ("Hint", f"PJSIP/{exten}&Custom:DND{exten}"),
            ("Status", str(status)),
            ("StatusText", text),
        ]

    # --- traffic that is not a call ------------------------------------------------------
    def _action_id(self) -> str:
        self.next_action += 1
        return f"7f3a9c21-{self.next_action}"

    def response(self) -> list[Fields]:
        rng = self.rng
        aid = self._action_id()
        kind = rng.randrange(4)
        if kind == 0:
            return [
                [
                    ("Response", "Success"),
                    ("ActionID", aid),
                    ("Ping", "Pong"),
                    ("Timestamp", f"{self.epoch}.{rng.randrange(1_000_000):06d}"),
                ]
            ]
        if kind == 1:
            return [
                [("Response", "Success"), ("ActionID", aid), ("Message", "Originate successfully queued")]
            ]
        if kind == 2:
            return [
                [
                    ("Response", "Success"),
                    ("ActionID", aid),
                    ("Variable", "CALL_TAG"),
                    ("Value", f"in-{rng.randrange(10_000, 99_999)}"),
                ]
            ]
        lines = [("Response", "Success"), ("ActionID", aid), ("Message", "Command output follows")]
        lines += [
            ("Output", f"{name:<12} {n:>5} calls (max unlimited) in 'ringall' strategy")
            for n, name in enumerate(_QUEUES)
        ]
        lines.append(("Output", ""))
        return [lines]

    def channel_list(self, live: list[_Channel]) -> list[Fields]:
        aid = self._action_id()
        out: list[Fields] = [
            [
                ("Response", "Success"),
                ("ActionID", aid),
                ("EventList", "start"),
                ("Message", "Channels will follow"),
            ]
        ]
        for chan in live:
            out.append(
                [
                    ("Event", "CoreShowChannel"),
                    ("ActionID", aid),
                    *chan.block(),
                    ("Application", "Queue"),
                    ("ApplicationData", "support,tT,,,300"),
                    ("Duration", f"00:00:{self.rng.randrange(60):02d}"),
                    ("BridgeId", ""),
                ]
            )
        out.append(
            [
                ("Event", "CoreShowChannelsComplete"),
                ("ActionID", aid),
                ("EventList", "Complete"),
                ("ListItems", str(len(live))),
            ]
        )
        return out


def _encode(fields: Fields) -> bytes:
    return "".join(f"{k}: {v}\r\n" for k, v in fields).encode("utf-8") + b"\r\n"


def generate(
    n_messages: int,
    *,
    seed: int = 2026,
    responses: bool = True,
    banner: bool = False,
    concurrent_calls: int = 24,
) -> GeneratedStream:
    """Build exactly `n_messages` messages of mixed call traffic.

    ``responses=False`` gives events only (no responses, no list items carrying ActionIDs), the
    shape a firehose to a client that sent no action has.
    """
    gen = _Generator(seed)
    rng = gen.rng
    out = GeneratedStream(data=b"")
    parts: list[bytes] = [BANNER] if banner else []
    calls = [gen.call() for _ in range(concurrent_calls)]
    demo_channels = [
        _Channel(
            f"PJSIP/{a}-0000{n:04x}", f"{gen.epoch}.{n}", f"{gen.epoch}.{n}", a, "<unknown>", "from-queue", a
        )
        for n, a in enumerate(_AGENTS[:3])
    ]

    def emit(fields: Fields) -> None:
        parts.append(_encode(fields))
        out.messages += 1
        out.fields += len(fields)
        key, value = fields[0]
        if key == "Event":
            out.events += 1
            out.names[value] += 1
        else:
            out.responses += 1

    while out.messages < n_messages:
        roll = rng.random()
        if responses and roll < 0.04:
            batch = gen.response()
        elif responses and roll < 0.045:
            batch = gen.channel_list(demo_channels)
        else:
            slot = rng.randrange(len(calls))
            msg = next(calls[slot], None)
            if msg is None:
                calls[slot] = gen.call()
                continue
            batch = [msg]
        for fields in batch:
            if out.messages < n_messages:
                emit(fields)
    out.data = b"".join(parts)
    return out
