"""Actions through the broker: request-reply on <prefix>.actions.<server>."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from ami_fast.bridge import Bridge, parse_config
from ami_fast.simulator import Simulator

from .conftest import bridge_config, wait_for


@pytest_asyncio.fixture
async def running(nats_url: str, tag: str) -> AsyncIterator[tuple[Bridge, Any, Simulator]]:
    import nats

    async with Simulator(rate=200, seed=7) as sim:
        cfg = parse_config(bridge_config(tag, nats_url, {"pbx": sim.url}))
        async with Bridge(cfg) as bridge:
            nc = await nats.connect(nats_url)
            try:
                await wait_for(lambda: bridge.services["pbx"].active)
                yield bridge, nc, sim
            finally:
                await nc.close()


async def ask(nc: Any, tag: str, request: Any, server: str = "pbx") -> dict[str, Any]:
    data = request if isinstance(request, bytes) else json.dumps(request).encode()
    reply = await nc.request(f"{tag}.actions.{server}", data, timeout=10)
    answer: dict[str, Any] = json.loads(reply.data)
    return answer


async def test_plain_response_round_trip(running: tuple[Bridge, Any, Simulator], tag: str) -> None:
    bridge, nc, _ = running
    answer = await ask(nc, tag, {"action": "Ping"})
    assert answer["ok"] is True
    assert dict(answer["response"])["Response"] == "Success" and dict(answer["response"])["Ping"] == "Pong"
    answer = await ask(nc, tag, {"action": "DBPut", "fields": [["Family", "f"], ["Key", "k"], ["Val", 42]]})
    assert answer["ok"] is True
    answer = await ask(nc, tag, {"action": "DBGet", "fields": {"Family": "f", "Key": "k"}})
    assert answer["ok"] is True and dict(answer["events"][0])["Val"] == "42"
    assert bridge.services["pbx"].requests == 3


async def test_event_list_comes_back_whole(running: tuple[Bridge, Any, Simulator], tag: str) -> None:
    _, nc, _sim = running
    answer = await ask(nc, tag, {"action": "CoreShowChannels"})
    assert answer["ok"] is True and answer["partial"] is False
    complete = dict(answer["complete"])
    assert complete["EventList"] == "Complete"
    assert int(complete["ListItems"]) == len(answer["events"]) > 0
    assert all(dict(e)["Event"] == "CoreShowChannel" for e in answer["events"])


async def test_errors_come_back_as_errors(running: tuple[Bridge, Any, Simulator], tag: str) -> None:
    _, nc, _ = running
    answer = await ask(nc, tag, {"action": "Hangup", "fields": {"Channel": "PJSIP/nobody-00000000"}})
    assert answer["ok"] is False and answer["type"] == "ActionError"
    assert dict(answer["response"])["Response"] == "Error"
    answer = await ask(nc, tag, {"action": "Ping", "fields": {"X": "a\r\nAction: Originate"}})
    assert answer == {"ok": False, "type": "InvalidActionError", "error": answer["error"]}
    assert "CR, LF or NUL" in answer["error"]


@pytest.mark.parametrize(
    "name", ["Login", "logoff", "Challenge", "Events", "Filter", "GetConfig", "GetConfigJSON", "UpdateConfig"]
)
async def test_credential_and_session_actions_are_refused(
    running: tuple[Bridge, Any, Simulator], tag: str, name: str
) -> None:
    _, nc, sim = running
    before = len(sim.server.received)
    fields = {"Username": "x", "Secret": "y", "Filename": "manager.conf"}
    answer = await ask(nc, tag, {"action": name, "fields": fields})
    assert answer["ok"] is False and answer["type"] == "Refused"
    assert len(sim.server.received) == before  # nothing reached Asterisk


@pytest.mark.parametrize(
    "request_body",
    [
        b"not json",
        b"[1]",
        json.dumps({"fields": {}}).encode(),
        json.dumps({"action": "Ping", "fields": 3}).encode(),
        json.dumps({"action": "Ping", "timeout": -1}).encode(),
    ],
)
async def test_bad_requests_get_one_clear_error(
    running: tuple[Bridge, Any, Simulator], tag: str, request_body: bytes
) -> None:
    _, nc, _ = running
    answer = await ask(nc, tag, request_body)
    assert answer["ok"] is False and answer["type"] == "BadRequest" and answer["error"]


async def test_no_responders_while_disconnected(nats_url: str, tag: str) -> None:
    import nats
    from nats.errors import NoRespondersError

    sim = await Simulator(rate=0).start()
    cfg = parse_config(bridge_config(tag, nats_url, {"pbx": sim.url}, reconnect_min_delay=5.0))
    async with Bridge(cfg) as bridge:
        nc = await nats.connect(nats_url)
        try:
            await wait_for(lambda: bridge.services["pbx"].active)
            await sim.stop()
            await wait_for(lambda: not bridge.services["pbx"].active)
            with pytest.raises(NoRespondersError):
                await nc.request(f"{tag}.actions.pbx", b'{"action": "Ping"}', timeout=5)
        finally:
            await nc.close()
