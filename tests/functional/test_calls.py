"""Call flow: an async Originate delivers its OriginateResponse and the call's events in order;
a failing Originate reports why."""

from __future__ import annotations

import asyncio

import ami_fast
from ami_fast import ActionSender, Event
from ami_fast.client import EventStream

from .conftest import AmiServer


async def _events_until_hangup(stream: EventStream, uniqueids: set[str]) -> list[Event]:
    seen: list[Event] = []
    hung_up: set[str] = set()
    async for event in stream:
        seen.append(event)
        if event.name == "Hangup" and event.get_field_value("Uniqueid") in uniqueids:
            hung_up.add(event.get_field_value("Uniqueid") or "")
            if hung_up == uniqueids:
                return seen
    raise AssertionError("the event stream ended before both legs hung up")


async def test_async_originate_delivers_response_and_call_events_in_order(
    ami_server: AmiServer, tag: str
) -> None:
    # ChannelId/OtherChannelId name the two legs' Uniqueids, so the test recognises its own
    # call's events without guessing any channel name.
    leg1, leg2 = f"{tag}-1", f"{tag}-2"
    async with ami_fast.connect(ami_server.url, events="call") as client:
        sender = ActionSender(client)
        async with client.events() as stream:
            collector = asyncio.create_task(_events_until_hangup(stream, {leg1, leg2}))
            response = await sender.originate(
                "Local/answer-hangup@ami-test",
                application="Wait",
                data="1",
                channel_id=leg1,
                other_channel_id=leg2,
                wait=True,
            )
            events = await asyncio.wait_for(collector, 30)

    assert isinstance(response, Event) and response.name == "OriginateResponse"
    assert response.get_field_value("Response") == "Success"
    assert response.get_field_value("Reason") == "4"  # answered
    assert response.get_field_value("Uniqueid") == leg1

    for leg in (leg1, leg2):
        names = [e.name for e in events if e.get_field_value("Uniqueid") == leg]
        assert names[0] == "Newchannel", (leg, names)
        assert names[-1] == "Hangup", (leg, names)
        assert names.count("Newchannel") == 1 and names.count("Hangup") == 1, (leg, names)
        assert "Newstate" in names, (leg, names)


async def test_failing_originate_reports_its_reason(ami_server: AmiServer) -> None:
    async with ami_fast.connect(ami_server.url, events="call") as client:
        sender = ActionSender(client)
        queued, busy = await asyncio.gather(
            sender.originate("Local/answer-hangup@ami-test", application="Wait", data="1"),
            sender.originate("Local/busy@ami-test", application="Wait", data="1", wait=True),
        )
    # Without wait=True the answer is only "queued"; the outcome comes later.
    assert queued.name == "Success"
    assert queued.get_field_value("Message") == "Originate successfully queued"
    assert busy.name == "OriginateResponse"
    assert busy.get_field_value("Response") == "Failure"
    assert busy.get_field_value("Reason") == "5"  # busy
    # On failure Asterisk reports the dial string and no Uniqueid.
    assert busy.get_field_value("Channel") == "Local/busy@ami-test"
    assert busy.get_field_value("Uniqueid") == "<unknown>"
