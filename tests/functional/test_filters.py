"""Choosing events: the Events mask, a per-connection Filter, and a user's server-side eventfilter."""

from __future__ import annotations

import asyncio

import ami_fast
from ami_fast import ActionSender, Event

from .conftest import AmiServer


async def _wait_for(events: list[Event], name: str, seq: str | None = None, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not any(
        e.get_field_value("UserEvent") == name and (seq is None or e.get_field_value("Seq") == seq)
        for e in events
    ):
        assert loop.time() < deadline, f"UserEvent {name} never arrived; got {[e.name for e in events]}"
        await asyncio.sleep(0.02)


async def test_events_mask_switches_delivery(ami_server: AmiServer, tag: str) -> None:
    received: list[Event] = []
    async with ami_fast.connect(ami_server.url, events=False) as client:
        client.on_event("UserEvent", received.append)
        sender = ActionSender(client)
        assert (await sender.events("user")).get_field_value("Events") == "On"
        await sender.user_event(f"{tag}-a")
        assert (await sender.events(False)).get_field_value("Events") == "Off"
        await sender.user_event(f"{tag}-b")
        # Asterisk 22 quirk: an unknown class name turns events off instead of failing.
        assert (await sender.events("no-such-class")).get_field_value("Events") == "Off"
        await sender.user_event(f"{tag}-c")
        assert (await sender.events(True)).get_field_value("Events") == "On"
        await sender.user_event(f"{tag}-d")
        # A connection's events come in order: once -d is here, -b and -c would have been too.
        await _wait_for(received, f"{tag}-d")
    names = [e.get_field_value("UserEvent") for e in received]
    assert names == [f"{tag}-a", f"{tag}-d"]


async def test_filter_lets_only_matching_events_through(ami_server: AmiServer, tag: str) -> None:
    received: list[Event] = []
    # Classes call and user: what the filter must hold back (no login-time system events).
    async with (
        ami_fast.connect(ami_server.url, events="call,user") as client,
        ami_fast.connect(ami_server.url, events="call") as caller,
    ):
        sender = ActionSender(client)
        response = await sender.filter(f"UserEvent: {tag}-keep")
        assert response.name == "Success"
        client.on("event", received.append)
        await sender.user_event(f"{tag}-drop")
        await sender.user_event(f"{tag}-keep", {"Seq": 1})
        # A call from another connection (this one's filter would hide its OriginateResponse).
        await ActionSender(caller).originate(
            "Local/answer-hangup@ami-test", application="Wait", data="1", wait=True
        )
        await sender.user_event(f"{tag}-keep", {"Seq": 2})
        await _wait_for(received, f"{tag}-keep", "2")
    # Not the other UserEvent, not the call's events (Newchannel, OriginateResponse, Hangup...).
    assert [(e.name, e.get_field_value("UserEvent"), e.get_field_value("Seq")) for e in received] == [
        ("UserEvent", f"{tag}-keep", "1"),
        ("UserEvent", f"{tag}-keep", "2"),
    ]


async def test_filtered_user_receives_only_what_its_filter_allows(ami_server: AmiServer, tag: str) -> None:
    received: list[Event] = []
    leg1 = f"{tag}-1"
    async with (
        ami_fast.connect(ami_server.url_for("amifiltered"), on_event=received.append) as filtered,
        ami_fast.connect(ami_server.url, events="call,user") as full,
    ):
        sender = ActionSender(full)
        async with full.events("Hangup") as hangups:
            await sender.originate(
                "Local/answer-hangup@ami-test", application="Wait", data="1", channel_id=leg1, wait=True
            )
            async for event in hangups:  # the whole call is over once its first leg hung up
                if event.get_field_value("Uniqueid") == leg1:
                    break
        await sender.user_event(tag)
        await _wait_for(received, tag)
        assert not filtered.closed
    names = {e.name for e in received}
    # FullyBooted is written at login, straight past the filter (Asterisk 22 does that).
    assert names - {"FullyBooted"} == {"UserEvent"}, names
