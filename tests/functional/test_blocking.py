"""The blocking wrapper (ami_fast.sync) against the same server."""

from __future__ import annotations

import threading

import pytest

import ami_fast
import ami_fast.sync

from .conftest import AmiServer


def test_blocking_client_actions_and_events(ami_server: AmiServer, tag: str) -> None:
    threads_before = threading.active_count()
    with ami_fast.sync.connect(ami_server.url, events="user") as client:
        assert client.version == "11.0.0"
        assert client.ping().get_field_value("Ping") == "Pong"
        assert (client.command("core show uptime").get_command_output() or "").startswith("System uptime:")
        assert client.getvar("AMI_TEST_GLOBAL").get_field_value("Value") == "hello"
        channels = client.core_show_channels()
        assert isinstance(channels, ami_fast.Collection) and channels.complete

        stream = client.events("UserEvent", count=2, idle_timeout=10)
        client.user_event(tag, {"Seq": 1})
        client.user_event(tag, {"Seq": 2})
        got = [(e.get_field_value("UserEvent"), e.get_field_value("Seq")) for e in stream]
        assert got == [(tag, "1"), (tag, "2")]

        with pytest.raises(ami_fast.ActionError) as info:
            client.command("core show no-such-thing")
        assert "No such command" in (info.value.command_output or "")
        response = client.request(client.create_action("Getvar", {"Variable": "AMI_TEST_GLOBAL"}))
        assert response.get_field_value("Value") == "hello"
    assert client.closed
    assert threading.active_count() == threads_before


def test_blocking_login_failure(ami_server: AmiServer) -> None:
    threads_before = threading.active_count()
    with pytest.raises(ami_fast.AuthenticationError):
        ami_fast.sync.connect(ami_server.url_for("ami", "wrong-secret"))
    assert threading.active_count() == threads_before
