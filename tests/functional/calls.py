"""Helpers for tests that place Local-channel calls on the test dialplan (context ami-test)."""

from __future__ import annotations

import asyncio
import contextlib

import ami_fast
from ami_fast import ActionSender, Client


async def originate_and_wait(sender: ActionSender, exten: str, *, account: str, seconds: int = 20) -> None:
    """Place Local/<exten>@ami-test (the other leg runs Wait(seconds)) and wait until it is up.

    Both legs of a Local channel carry ``account`` as their AccountCode, which is how the
    tests find their own channels without knowing any channel name."""
    result = await sender.originate(
        f"Local/{exten}@ami-test", application="Wait", data=str(seconds), account=account, wait=True
    )
    assert result.get_field_value("Response") == "Success", result.items()


async def our_channels(sender: ActionSender, account: str) -> list[str]:
    listing = await sender.core_show_channels()
    return [
        e.get_field_value("Channel") or "" for e in listing if e.get_field_value("AccountCode") == account
    ]


async def hang_up_account(client: Client, account: str, *, timeout: float = 15.0) -> None:
    """Hang up every channel with this AccountCode and wait until they are gone."""
    sender = ActionSender(client)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while channels := await our_channels(sender, account):
        for name in channels:
            with contextlib.suppress(ami_fast.ActionError):  # it may be gone already
                await sender.hangup(name)
        if loop.time() > deadline:
            raise AssertionError(f"channels still up after {timeout} s: {channels}")
        await asyncio.sleep(0.1)
