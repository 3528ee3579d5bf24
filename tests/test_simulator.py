"""The embedded simulator: the traffic model on a synthetic clock, and the AMI server."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

import ami_fast
from ami_fast import ActionSender
from ami_fast._select import ParserPy
from ami_fast._sim_model import CallCentre, SimConfig, SimEvent
from ami_fast.collection import Collection
from ami_fast.errors import ActionError
from ami_fast.messages import Event
from ami_fast.simulator import Simulator

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "asterisk22"
if not CORPUS.is_dir():
    CORPUS = Path("/work/shared/corpus/asterisk22")


def run_model(config: SimConfig, seconds: float, step: float = 0.05) -> tuple[CallCentre, list[SimEvent]]:
    model = CallCentre(config, now=0.0, wall=1_800_000_000.0)
    events: list[SimEvent] = []
    t = 0.0
    while t < seconds:
        t += step
        events += model.advance(t)
    return model, events


def corpus_keys(name: str) -> list[str]:
    """Field keys of the first ``name`` event in the Originate recording (09)."""
    data = (CORPUS / "09_originate_async_local.bin").read_bytes()
    for msg in ParserPy().feed(data):
        if isinstance(msg, Event) and msg.name == name:
            return msg.keys()
    raise AssertionError(f"{name} not in the corpus")


def keys(event: SimEvent) -> list[str]:
    return ["Event", *(k for k, _ in event[1])]


@pytest.mark.parametrize("rate", [50.0, 500.0, 3000.0])
def test_event_rate_follows_the_target(rate: float) -> None:
    # Warm up one call lifetime, then count over a simulated span holding ~60k events at
    # most (no wall clock involved).
    model = CallCentre(SimConfig(rate=rate, seed=7), now=0.0)
    model.advance(10.0)
    span = min(120.0, 60_000 / rate)
    steps = int(span * 10)
    n = sum(len(model.advance(10.0 + i * 0.1)) for i in range(1, steps + 1))
    assert 0.8 * rate <= n / span <= 1.2 * rate


def test_call_events_in_asterisk_order() -> None:
    _, events = run_model(SimConfig(rate=300.0, seed=1), 30.0)
    names = {name for name, _ in events}
    expected = {
        "Newchannel",
        "Newexten",
        "Newstate",
        "QueueCallerJoin",
        "QueueCallerLeave",
        "AgentCalled",
        "DialBegin",
        "DialEnd",
        "AgentConnect",
        "BridgeCreate",
        "BridgeEnter",
        "BridgeLeave",
        "BridgeDestroy",
        "AgentComplete",
        "HangupRequest",
        "SoftHangupRequest",
        "Hangup",
        "Cdr",
        "DeviceStateChange",
        "QueueMemberStatus",
    }
    assert expected <= names
    # Follow one complete call by the caller's Uniqueid (its Linkedid ties the agent leg).
    first_cdr = next(f for name, f in events if name == "Cdr")
    uid = dict(first_cdr)["UniqueID"]
    trail = [
        name
        for name, f in events
        if dict(f).get("Uniqueid") == uid or dict(f).get("Linkedid") == uid or dict(f).get("UniqueID") == uid
    ]
    order = [
        "Newchannel",
        "QueueCallerJoin",
        "AgentCalled",
        "DialEnd",
        "QueueCallerLeave",
        "AgentConnect",
        "BridgeEnter",
        "BridgeLeave",
        "AgentComplete",
        "Hangup",
        "Cdr",
    ]
    positions = [trail.index(n) for n in order]
    assert positions == sorted(positions), trail


@pytest.mark.parametrize(
    "name", ["Newchannel", "Newstate", "Hangup", "Cdr", "OriginateResponse", "DialBegin"]
)
def test_field_layout_matches_asterisk_22(name: str) -> None:
    model = CallCentre(SimConfig(rate=0.0, seed=3), now=0.0)
    _, now_events = model.originate(0.0, "PJSIP/1001", context="ami-test", exten="echo", action_id="x-1")
    events = now_events + model.advance(1.0) + model.advance(60.0)
    ours = next(e for e in events if e[0] == name)
    assert keys(ours) == corpus_keys(name)


def test_every_call_ends_and_state_drains() -> None:
    model, events = run_model(SimConfig(rate=400.0, seed=5), 20.0)
    model.config.rate = 0.0
    model._next_arrival = float("inf")
    events += model.advance(200.0)
    assert model.channels == {}
    assert model.summary()["waiting"] == 0
    created = Counter(name for name, _ in events)["Newchannel"]
    assert created == Counter(name for name, _ in events)["Hangup"]
    assert model.calls_completed == model.calls_started


def test_callers_abandon_when_no_agent_is_free() -> None:
    _, events = run_model(
        SimConfig(rate=600.0, seed=2, agents_per_queue=1, talk_time=20.0, patience=1.0), 15.0
    )
    assert any(name == "QueueCallerAbandon" for name, _ in events)


def test_lists_reflect_the_state() -> None:
    model, _ = run_model(SimConfig(rate=600.0, seed=4, agents_per_queue=2), 10.0)
    channels = model.core_show_channels(10.0)
    assert len(channels) == len(model.channels) > 0
    status = model.status(10.0)
    assert status is not None and len(status) == len(model.channels)
    waiting = sum(len(q.waiting) for q in model.queues.values())
    entries = [e for e in model.queue_status(10.0) if e[0] == "QueueEntry"]
    assert len(entries) == waiting > 0
    summary = model.queue_summary(10.0)
    assert sum(int(dict(f)["Callers"]) for _, f in summary) == waiting


# -- the server ---------------------------------------------------------------------------


@pytest.fixture
async def sim() -> Simulator:
    async with Simulator(rate=400.0, seed=11, auth_failure_delay=0.05) as server:
        yield server  # type: ignore[misc]


async def test_events_flow_to_a_client(sim: Simulator) -> None:
    async with ami_fast.connect(sim.url) as client:
        names: list[str] = []
        async with client.events() as stream:
            async for event in stream:
                names.append(event.name or "")
                if len(names) >= 50:
                    break
    assert {"Newchannel", "Newstate"} & set(names)
    assert client.stats.protocol_errors == 0


async def test_list_actions_reflect_simulated_state(sim: Simulator) -> None:
    async with ami_fast.connect(sim.url) as client:
        sender = ActionSender(client)
        chans = await sender.core_show_channels()
        assert isinstance(chans, Collection) and chans.complete
        assert len(chans) > 0 and chans.list_items == len(chans)
        assert all(e.name == "CoreShowChannel" for e in chans)
        status = await sender.status()
        assert status.complete and not status.list_items_mismatch
        one = await sender.status(chans[0]["Channel"])
        assert len(one) in (0, 1)  # the channel may have hung up meanwhile
        queues = await sender.queue_status()
        assert {e.name for e in queues} >= {"QueueParams", "QueueMember"}
        summary = await sender.queue_summary("sales")
        assert [e["Queue"] for e in summary] == ["sales"]
        devices = await sender.device_state_list()
        assert all(e.name == "DeviceStateChange" for e in devices) and len(devices) > 0
        endpoints = await sender.pjsip_show_endpoints()
        assert len(endpoints) > 0


async def test_originate_async_sends_originate_response(sim: Simulator) -> None:
    async with ami_fast.connect(sim.url) as client:
        sender = ActionSender(client)
        event = await sender.originate(
            "PJSIP/1001",
            exten="100",
            context="default",
            caller_id='"Demo" <100>',
            variables={"FOO": "bar"},
            wait=True,
        )
        assert event.name == "OriginateResponse"
        assert event["Response"] == "Success" and event["Reason"] == "4"
        channel = event["Channel"]
        var = await sender.getvar("FOO", channel)
        assert var["Value"] == "bar"
        await sender.setvar("BAZ", "qux", channel)
        assert (await sender.getvar("BAZ", channel))["Value"] == "qux"
        await sender.hangup(channel)
        with pytest.raises(ActionError, match="No such channel"):
            await sender.hangup(channel)
        failed = await sender.originate("Bogus/x", exten="1", context="default", wait=True)
        assert failed["Response"] == "Failure"


async def test_sync_originate_answers_after_the_call_is_up(sim: Simulator) -> None:
    async with ami_fast.connect(sim.url) as client:
        sender = ActionSender(client)
        response = await sender.originate("PJSIP/1002", application="Playback", data="hello", async_=False)
        assert response["Message"] == "Originate successfully queued"
        with pytest.raises(ActionError, match="Originate failed"):
            await sender.originate("Nope/1", exten="1", context="x", async_=False)


async def test_regex_hangup_is_a_list(sim: Simulator) -> None:
    async with ami_fast.connect(sim.url) as client:
        sender = ActionSender(client)
        before = len(await sender.core_show_channels())
        result = await sender.hangup("/^PJSIP/trunk-/")
        assert isinstance(result, Collection) and result.complete
        assert all(e.name == "ChannelHungup" for e in result)
        assert before > 0 and len(result) > 0


async def test_db_queue_and_command_actions(sim: Simulator) -> None:
    async with ami_fast.connect(sim.url) as client:
        sender = ActionSender(client)
        await sender.db_put("cf", "1001", "5551234")
        got = await sender.db_get("cf", "1001")
        assert isinstance(got, Collection) and got[0]["Val"] == "5551234"
        await sender.db_del("cf", "1001")
        with pytest.raises(ActionError, match="Database entry not found"):
            await sender.db_get("cf", "1001")
        await sender.queue_add("sales", "PJSIP/999", member_name="Zoe")
        with pytest.raises(ActionError, match="Already there"):
            await sender.queue_add("sales", "PJSIP/999")
        await sender.queue_pause("PJSIP/999", queue="sales", reason="lunch")
        members = await sender.queue_status("sales", "PJSIP/999")
        zoe = [e for e in members if e.name == "QueueMember"]
        assert len(zoe) == 1 and zoe[0]["Paused"] == "1" and zoe[0]["PausedReason"] == "lunch"
        await sender.queue_pause("PJSIP/999", False)
        await sender.queue_remove("sales", "PJSIP/999")
        with pytest.raises(ActionError, match="Not there"):
            await sender.queue_remove("sales", "PJSIP/999")
        calls = (await sender.command("core show calls")).get_command_output() or ""
        assert "active calls" in calls and "calls processed" in calls
        table = (await sender.command("core show channels")).get_command_output() or ""
        assert "active channels" in table
        assert "sales has" in ((await sender.command("queue show")).get_command_output() or "")
        with pytest.raises(ActionError) as info:
            await sender.command("no such thing")
        assert "No such command" in (info.value.command_output or "")
        status = await sender.core_status()
        assert int(status["CoreCurrentCalls"]) >= 0
        settings = await sender.core_settings()
        assert settings["AMIversion"] == "11.0.0"


async def test_events_off_gets_no_broadcasts(sim: Simulator) -> None:
    async with ami_fast.connect(sim.url, events=False) as client:
        got: list[str] = []
        client.on("event", lambda e: got.append(e.name))
        await ActionSender(client).ping()
        await asyncio.sleep(0.3)
        await ActionSender(client).ping()
    assert got == []
    assert sim.stats.events_sent > 0  # traffic was flowing all along


async def test_plain_and_md5_login(sim: Simulator) -> None:
    for auth in ("plain", "md5"):
        async with ami_fast.connect(sim.url, auth_type=auth) as client:
            assert (await ActionSender(client).ping())["Ping"] == "Pong"
    with pytest.raises(ami_fast.AuthenticationError):
        await ami_fast.connect(sim.url.replace("amipass", "wrong"))


def test_hanging_up_a_ringing_agent_rings_another() -> None:
    model = CallCentre(SimConfig(rate=60.0, seed=9, ring_time=2.0), now=0.0)
    events: list[SimEvent] = []
    t = 0.0
    while not any(name == "AgentCalled" for name, _ in events):
        t += 0.05
        events += model.advance(t)
    agent = next(dict(f)["DestChannel"] for name, f in events if name == "AgentCalled")
    assert model.hangup(t, agent)
    model._next_arrival = float("inf")
    after = model.take_events() + model.advance(t + 200.0)
    hangup_at = next(
        i for i, (name, f) in enumerate(after) if name == "Hangup" and dict(f)["Channel"] == agent
    )
    # Nothing but its CDR mentions the dead leg afterwards (no Newstate/DialEnd for a ghost).
    assert [name for name, f in after[hangup_at + 1 :] if agent in dict(f).values()] == ["Cdr"]
    assert model.channels == {} and model.calls_completed == model.calls_started


def test_fast_encoder_matches_the_test_kit() -> None:
    from ami_fast.simulator import encode_events
    from ami_fast.testing import format_message

    _, events = run_model(SimConfig(rate=200.0, seed=12), 5.0)
    assert encode_events(events[:50]) == b"".join(format_message("Event", n, f) for n, f in events[:50])
    assert encode_events(events[:1], "id-1", id_last=True) == format_message(
        "Event", events[0][0], [*events[0][1], ("ActionID", "id-1")]
    )


def test_overload_is_bounded_and_skips_ahead() -> None:
    model = CallCentre(SimConfig(rate=5000.0, seed=13), now=0.0)
    first = model.advance(10.0, max_events=1000)
    assert 1000 <= len(first) < 1100  # stops right after the step that reached the cap
    lag = model.lag(10.0)
    assert lag > 1.0
    model.slip(lag)
    assert model.lag(10.0) == 0.0 and model.next_due() >= 10.0  # the backlog was skipped...
    assert model.advance(11.0)  # ...and traffic resumes from there
