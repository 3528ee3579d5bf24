"""Event lists on a live system: one entry per channel, ListItems matching; empty lists."""

from __future__ import annotations

import asyncio

import ami_fast
from ami_fast import ActionSender

from .calls import hang_up_account, originate_and_wait
from .conftest import AmiServer

CALLS = 3


async def test_channel_lists_have_one_entry_per_channel(ami_server: AmiServer, tag: str) -> None:
    # "call" events: originate(wait=True) waits for the OriginateResponse event.
    async with ami_fast.connect(ami_server.url, events="call") as client:
        sender = ActionSender(client)
        try:
            await asyncio.gather(*(originate_and_wait(sender, "wait-20", account=tag) for _ in range(CALLS)))

            channels = await sender.core_show_channels()
            assert isinstance(channels, ami_fast.Response)  # a Collection is a Response too
            assert isinstance(channels, ami_fast.Collection)
            assert channels.complete and not channels.list_items_mismatch
            assert channels.complete_event is not None
            assert int(channels.complete_event.get_field_value("ListItems") or -1) == len(channels)
            ours = [e for e in channels if e.get_field_value("AccountCode") == tag]
            # A Local call is two channels (;1 and ;2), each listed once.
            names = [e.get_field_value("Channel") for e in ours]
            assert len(names) == 2 * CALLS and len(set(names)) == len(names)
            assert all(e.name == "CoreShowChannel" for e in channels)
            assert all(e.action_id == channels.action_id for e in channels)

            status = await sender.status()
            assert isinstance(status, ami_fast.Collection)
            assert status.complete_event is not None
            assert int(status.complete_event.get_field_value("ListItems") or -1) == len(status)
            status_names = {
                e.get_field_value("Channel") for e in status if e.get_field_value("AccountCode") == tag
            }
            assert status_names == set(names)
        finally:
            await hang_up_account(client, tag)


async def test_an_empty_list(ami_server: AmiServer, tag: str) -> None:
    async with ami_fast.connect(ami_server.url, events=False) as client:
        sender = ActionSender(client)
        # Nothing is stored under a fresh family: an empty DBGetTree list.
        tree = await sender.db_get_tree(tag)
        assert isinstance(tree, ami_fast.Collection)
        assert len(tree) == 0 and tree.complete
        assert tree.complete_event is not None
        assert tree.complete_event.get_field_value("ListItems") == "0"
        # And a channel list on an idle server: hang up every Local channel (a regex Hangup
        # answers as a list itself) until none is left; again on each round, as an async
        # Originate queued by an earlier test may bring its channels up only now.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        await sender.hangup("/^Local\\//")
        while len(channels := await sender.core_show_channels()) and loop.time() < deadline:
            await asyncio.sleep(0.1)
            await sender.hangup("/^Local\\//")
        assert len(channels) == 0 and list(channels) == []
        assert channels.complete_event is not None
        assert channels.complete_event.get_field_value("ListItems") == "0"
