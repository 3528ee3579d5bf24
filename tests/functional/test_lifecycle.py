"""Ending a connection: Logoff, end() with a list in flight, and Asterisk restarting under
pending requests."""

from __future__ import annotations

import asyncio

import pytest

import ami_fast
from ami_fast import ActionSender

from .conftest import AmiServer

LIST_SIZE = 2_000


async def test_logoff_says_goodbye_and_close_listeners_run_once(ami_server: AmiServer) -> None:
    closes: list[None] = []
    client = await ami_fast.connect(ami_server.url)
    client.on("close", lambda: closes.append(None))
    response = await ActionSender(client).logoff()
    assert response.name == "Goodbye"
    assert response.get_field_value("Message") == "Thanks for all the fish."
    await asyncio.wait_for(client.wait_closed(), 10)
    assert client.closed and client.close_reason is None
    client.close()
    await client.end()
    assert closes == [None]
    with pytest.raises(ami_fast.UsageError):
        await ActionSender(client).ping()


async def test_end_finishes_a_list_that_is_still_arriving(ami_server: AmiServer, tag: str) -> None:
    async with ami_fast.connect(ami_server.url, events=False) as setup:
        sender = ActionSender(setup)
        await asyncio.gather(*(sender.db_put(tag, f"k{i:05}", f"v{i}") for i in range(LIST_SIZE)))
    try:
        client = await ami_fast.connect(ami_server.url, events=False)
        closes: list[None] = []
        client.on("close", lambda: closes.append(None))
        listing = asyncio.create_task(ActionSender(client).db_get_tree(tag))
        await asyncio.sleep(0)  # the DBGetTree is on the wire; its list has not arrived yet
        assert client.is_busy
        await client.end()
        tree = await listing
        assert client.closed and closes == [None]
        assert tree.complete and len(tree) == LIST_SIZE
        assert tree.complete_event is not None
        assert tree.complete_event.get_field_value("ListItems") == str(LIST_SIZE)
    finally:
        async with ami_fast.connect(ami_server.url, events=False) as cleanup:
            await ActionSender(cleanup).db_del_tree(tag)


async def _pending_requests(sender: ActionSender) -> list[asyncio.Task[object]]:
    """A synchronous Originate to an extension that rings for 30 s holds the connection's action
    queue, and the Pings behind it wait too: none can finish before the restart."""
    tasks: list[asyncio.Task[object]] = [
        asyncio.create_task(
            sender.originate(
                "Local/ring@ami-test", application="Wait", data="1", async_=False, originate_timeout=30_000
            )
        )
    ]
    tasks += [asyncio.create_task(sender.ping()) for _ in range(3)]
    await asyncio.sleep(0.5)
    assert not any(task.done() for task in tasks)
    return tasks


async def _restart(command: list[str], *, crash: bool) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *command,
        *(["--kill"] if crash else []),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def _finish_restart(restart: asyncio.subprocess.Process, url: str) -> None:
    _, stderr = await asyncio.wait_for(restart.communicate(), 120)
    assert restart.returncode == 0, stderr.decode(errors="replace")
    # The restart command waits until AMI answers: Asterisk is usable again.
    async with ami_fast.connect(url) as again:
        assert (await ActionSender(again).ping()).name == "Success"


async def test_crash_restart_fails_pending_requests_with_connection_lost(
    ami_server: AmiServer, restart_command: list[str]
) -> None:
    client = await ami_fast.connect(ami_server.url, events=False, timeout=120)
    tasks = await _pending_requests(ActionSender(client))
    restart = await _restart(restart_command, crash=True)  # SIGKILL: no answer, just a drop
    try:
        for task in tasks:
            with pytest.raises(ami_fast.ConnectionLostError):
                await asyncio.wait_for(task, 20)
        assert client.closed
        assert isinstance(client.close_reason, ami_fast.ConnectionLostError)
        with pytest.raises(ami_fast.UsageError):
            await ActionSender(client).ping()
    finally:
        await _finish_restart(restart, ami_server.url)


async def test_graceful_restart_settles_pending_requests_promptly(
    ami_server: AmiServer, restart_command: list[str]
) -> None:
    client = await ami_fast.connect(ami_server.url, events=False, timeout=120)
    closes: list[None] = []
    client.on("close", lambda: closes.append(None))
    tasks = await _pending_requests(ActionSender(client))
    restart = await _restart(restart_command, crash=False)  # SIGTERM: Asterisk shuts down
    try:
        done, _ = await asyncio.wait(tasks, timeout=20)
        assert len(done) == len(tasks), "a request hung across the restart"
        for task in tasks:
            error = task.exception()
            # Asterisk 22 answers what it can while shutting down ("Originate failed",
            # "Asterisk is shutting down"); anything unanswered fails with the lost connection.
            assert isinstance(error, (ami_fast.ActionError, ami_fast.ConnectionLostError)), error
        await asyncio.wait_for(client.wait_closed(), 20)
        assert closes == [None]
        assert isinstance(client.close_reason, ami_fast.ConnectionLostError)
    finally:
        await _finish_restart(restart, ami_server.url)
