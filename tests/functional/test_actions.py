"""Plain actions through ActionSender: ping, command, list_commands, variables, astdb,
and the limited user's Permission denied."""

from __future__ import annotations

import pytest

import ami_fast
from ami_fast import ActionSender

from .conftest import AmiServer


async def test_ping(ami_server: AmiServer) -> None:
    async with ami_fast.connect(ami_server.url) as client:
        response = await ActionSender(client).ping()
        assert response.name == "Success"
        assert response.get_field_value("Ping") == "Pong"
        assert float(response.get_field_value("Timestamp") or "nan") > 0


async def test_command_output(ami_server: AmiServer) -> None:
    async with ami_fast.connect(ami_server.url) as client:
        response = await ActionSender(client).command("core show uptime")
        output = response.get_command_output()
        assert output is not None
        assert output.startswith("System uptime:")


async def test_command_keeps_empty_output_lines(ami_server: AmiServer) -> None:
    async with ami_fast.connect(ami_server.url) as client:
        response = await ActionSender(client).command("dialplan show ami-agents")
        lines = response.get_field_values("Output")
        # The CLI prints a blank line between the context and the summary line.
        assert "" in lines
        assert lines[-1].startswith("-= 1 extension")
        assert response.get_command_output() == "\n".join(lines)


async def test_unknown_cli_command_is_an_action_error_with_output(ami_server: AmiServer) -> None:
    async with ami_fast.connect(ami_server.url) as client:
        with pytest.raises(ami_fast.ActionError) as info:
            await ActionSender(client).command("core show no-such-thing")
        error = info.value
        assert error.message == "Command output follows"
        assert error.response.name == "Error"
        assert "No such command 'core show no-such-thing'" in (error.command_output or "")


async def test_list_commands(ami_server: AmiServer) -> None:
    async with ami_fast.connect(ami_server.url) as client:
        response = await ActionSender(client).list_commands()
        for action in ("Ping", "Originate", "UserEvent", "CoreShowChannels"):
            description = response.get_field_value(action)
            assert description is not None and "(Priv: " in description, action


async def test_getvar_and_setvar(ami_server: AmiServer, tag: str) -> None:
    async with ami_fast.connect(ami_server.url) as client:
        sender = ActionSender(client)
        # extensions.conf [globals]
        assert (await sender.getvar("AMI_TEST_GLOBAL")).get_field_value("Value") == "hello"
        # An unset variable is an empty value, not an error.
        assert (await sender.getvar(f"UNSET_{tag}")).get_field_value("Value") == ""
        await sender.setvar(f"VAR_{tag}", "a value: with colon")
        assert (await sender.getvar(f"VAR_{tag}")).get_field_value("Value") == "a value: with colon"


async def test_db_put_and_db_get(ami_server: AmiServer, tag: str) -> None:
    async with ami_fast.connect(ami_server.url) as client:
        sender = ActionSender(client)
        await sender.db_put(tag, "key", "value 1")
        result = await sender.db_get(tag, "key")
        # Asterisk 22 answers DBGet as an event list with one DBGetResponse.
        assert isinstance(result, ami_fast.Collection)
        assert [entry.get_field_value("Val") for entry in result] == ["value 1"]
        assert [entry.name for entry in result] == ["DBGetResponse"]
        with pytest.raises(ami_fast.ActionError) as info:
            await sender.db_get(tag, "missing")
        assert info.value.message == "Database entry not found"
        await sender.db_del(tag, "key")


@pytest.mark.parametrize(
    ("action", "fields"),
    [
        ("Command", {"Command": "core show uptime"}),
        ("Originate", {"Channel": "Local/answer-hangup@ami-test", "Application": "Wait", "Data": "1"}),
        ("Getvar", {"Variable": "AMI_TEST_GLOBAL"}),
        ("CoreShowChannels", None),
        ("DBPut", {"Family": "f", "Key": "k", "Val": "v"}),
    ],
)
async def test_limited_user_gets_permission_denied(
    ami_server: AmiServer, action: str, fields: dict[str, str] | None
) -> None:
    async with ami_fast.connect(ami_server.url_for("amilimited")) as client:
        with pytest.raises(ami_fast.PermissionDeniedError) as info:
            await client.request(client.create_action(action, fields))
        assert isinstance(info.value, ami_fast.ActionError)
        assert info.value.message == "Permission denied"
        # What the user may do still works on the same connection.
        assert (await ActionSender(client).ping()).name == "Success"
