"""FakeAsterisk speaks like Asterisk 22: checked on the wire with a raw socket, and by replay."""

from __future__ import annotations

import asyncio
import json
import socket
from hashlib import md5
from pathlib import Path

import pytest

import ami_fast
from ami_fast.messages import Message
from ami_fast.testing import EventFilter, FakeAsterisk, FakeConnection, format_message, parse_event_filter
from ami_fast.testing import fake_asterisk as fake_asterisk  # the fixture users get

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "asterisk22"
if not CORPUS.is_dir():
    CORPUS = Path("/work/shared/corpus/asterisk22")


class Wire:
    """A raw AMI client: writes bytes, reads whole messages with the project's parser."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.parser = ami_fast.ParserPy()
        self.inbox: list[Message] = []
        self.raw = bytearray()

    @classmethod
    async def open(cls, srv: FakeAsterisk) -> Wire:
        return cls(*await asyncio.open_connection(srv.host, srv.port))

    def send(self, name: str, *fields: tuple[str, str]) -> None:
        self.writer.write(format_message("Action", name, list(fields)))

    async def next(self) -> Message:
        while not self.inbox:
            data = await asyncio.wait_for(self.reader.read(65536), 5)
            if not data:
                raise EOFError
            self.raw += data
            self.inbox += [m for m in self.parser.feed(data) if isinstance(m, Message)]
        return self.inbox.pop(0)

    async def eof(self) -> bool:
        try:
            while True:
                data = await asyncio.wait_for(self.reader.read(65536), 5)
                if not data:
                    return True
                self.raw += data
                self.inbox += [m for m in self.parser.feed(data) if isinstance(m, Message)]
        except ConnectionError:
            return True

    def close(self) -> None:
        self.writer.close()


async def login(wire: Wire) -> None:
    wire.send("Login", ("Username", "ami"), ("Secret", "amipass"), ("ActionID", "login"))
    response = await wire.next()
    assert response.items() == [
        ("Response", "Success"),
        ("ActionID", "login"),
        ("Message", "Authentication accepted"),
    ]


async def test_banner_is_one_line_without_an_empty_line(srv: FakeAsterisk) -> None:
    wire = await Wire.open(srv)
    data = await asyncio.wait_for(wire.reader.readuntil(b"\n"), 5)
    assert data == b"Asterisk Call Manager/11.0.0\r\n"
    wire.send("Ping", ("ActionID", "p"))
    rest = await asyncio.wait_for(wire.reader.readuntil(b"\r\n\r\n"), 5)
    assert rest.startswith(b"Response: Error\r\nActionID: p\r\nMessage: Permission denied\r\n")
    wire.close()


async def test_before_login_permission_denied_and_connection_stays(srv: FakeAsterisk) -> None:
    wire = await Wire.open(srv)
    for name in ("Ping", "Command", "CoreShowChannels"):
        wire.send(name, ("ActionID", name))
        reply = await wire.next()
        assert (reply.name, reply.action_id, reply.get_field_value("Message")) == (
            "Error",
            name,
            "Permission denied",
        )
    await login(wire)
    wire.close()


async def test_action_id_only_echoed_when_given(srv: FakeAsterisk) -> None:
    wire = await Wire.open(srv)
    await login(wire)
    wire.send("Ping")
    reply = await wire.next()
    while reply.kind == "event":
        reply = await wire.next()
    assert reply.action_id is None and reply.get_field_value("Ping") == "Pong"
    assert reply.get_field_value("Timestamp") is not None
    wire.close()


async def test_md5_challenge_login(srv: FakeAsterisk) -> None:
    wire = await Wire.open(srv)
    wire.send("Challenge", ("AuthType", "MD5"), ("ActionID", "c"))
    challenge = (await wire.next()).get_field_value("Challenge") or ""
    assert challenge.isdigit()
    key = md5((challenge + "amipass").encode()).hexdigest()
    wire.send("Login", ("AuthType", "MD5"), ("Username", "ami"), ("Key", key.upper()), ("ActionID", "bad"))
    assert (await wire.next()).get_field_value("Message") == "Authentication failed"  # case matters
    assert await wire.eof()
    wire2 = await Wire.open(srv)
    wire2.send("Challenge", ("AuthType", "MD5"), ("ActionID", "c"))
    challenge = (await wire2.next()).get_field_value("Challenge") or ""
    key = md5((challenge + "amipass").encode()).hexdigest()
    wire2.send("Login", ("AuthType", "MD5"), ("Username", "ami"), ("Key", key), ("ActionID", "ok"))
    assert (await wire2.next()).get_field_value("Message") == "Authentication accepted"
    wire2.close()


async def test_failed_login_closes_without_goodbye(srv: FakeAsterisk) -> None:
    wire = await Wire.open(srv)
    wire.send("Login", ("Username", "ami"), ("Secret", "wrong"), ("ActionID", "login"))
    assert await wire.eof()
    assert bytes(wire.raw).endswith(
        b"Response: Error\r\nActionID: login\r\nMessage: Authentication failed\r\n\r\n"
    )
    assert b"Goodbye" not in wire.raw


async def test_logoff_goodbye_then_close(srv: FakeAsterisk) -> None:
    wire = await Wire.open(srv)
    wire.send("Logoff", ("ActionID", "bye"))
    assert await wire.eof()
    assert bytes(wire.raw).endswith(
        b"Response: Goodbye\r\nActionID: bye\r\nMessage: Thanks for all the fish.\r\n\r\n"
    )


async def test_user_event_echo_matches_asterisk(srv: FakeAsterisk) -> None:
    wire = await Wire.open(srv)
    await login(wire)
    assert (await wire.next()).name == "FullyBooted"
    fields = [
        ("UserEvent", "CorpusRepeat"),
        ("ActionID", "ue-3"),
        ("Item", "one"),
        ("Item", "two"),
        ("Empty", ""),
    ]
    wire.send("UserEvent", *fields)
    response = await wire.next()
    assert response.items() == [("Response", "Success"), ("ActionID", "ue-3"), ("Message", "Event Sent")]
    event = await wire.next()
    # the same bytes as corpus 08 (real Asterisk 22.10.1)
    assert event.raw == (
        b"Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: CorpusRepeat\r\nActionID: ue-3\r\n"
        b"Item: one\r\nItem: two\r\nEmpty: \r\n\r\n"
    )
    assert event.raw in (CORPUS / "08_userevent.bin").read_bytes()
    wire.send("UserEvent", ("ActionID", "ue-4"))
    await wire.next()
    assert (
        await wire.next()
    ).raw == b"Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: \r\nActionID: ue-4\r\n\r\n"
    wire.close()


async def test_command_formats(srv: FakeAsterisk) -> None:
    srv.commands["show two"] = "line one\n\nline three  "
    wire = await Wire.open(srv)
    await login(wire)
    await wire.next()
    wire.send("Command", ("Command", "show two"), ("ActionID", "c1"))
    reply = await wire.next()
    assert reply.get_field_values("Output") == ["line one", "", "line three  "]
    assert reply.get_field_value("Message") == "Command output follows"
    wire.send("Command", ("Command", "bogus thing"), ("ActionID", "c2"))
    reply = await wire.next()
    assert reply.name == "Error"
    assert reply.get_field_value("Output") == (
        "No such command 'bogus thing' (type 'core show help bogus thing' for other possible commands)"
    )
    wire.send("Command", ("ActionID", "c3"))
    assert (await wire.next()).get_field_value("Message") == "No command provided"
    wire.send("NoSuchAction", ("ActionID", "x"))
    assert (await wire.next()).get_field_value("Message") == (
        "Invalid/unknown command: NoSuchAction. Use Action: ListCommands to show available commands."
    )
    wire.close()


async def test_lists_and_restricted_user(srv: FakeAsterisk) -> None:
    srv.channels = [{"Channel": "PJSIP/a-1"}]
    wire = await Wire.open(srv)
    await login(wire)
    await wire.next()
    wire.send("Status", ("ActionID", "s"))
    messages = [await wire.next() for _ in range(3)]
    assert [m.name for m in messages] == ["Success", "Status", "StatusComplete"]
    assert messages[0].get_field_value("EventList") == "start"
    assert messages[1].get_field_value("Privilege") == "Call"
    tail = [("ActionID", "s"), ("EventList", "Complete"), ("ListItems", "1"), ("Items", "1")]
    assert messages[2].items()[1:] == tail
    wire.close()
    limited = await Wire.open(srv)
    limited.send("Login", ("Username", "amilimited"), ("Secret", "limitedpass"))
    assert (await limited.next()).get_field_value("Message") == "Authentication accepted"
    limited.send("Command", ("Command", "core show version"))
    assert (await limited.next()).get_field_value("Message") == "Permission denied"
    limited.close()


async def test_push_event_reaches_only_logged_in_listeners(srv: FakeAsterisk) -> None:
    anonymous = await Wire.open(srv)
    quiet = await Wire.open(srv)
    quiet.send("Login", ("Username", "ami"), ("Secret", "amipass"), ("Events", "off"))
    await quiet.next()
    loud = await Wire.open(srv)
    await login(loud)
    await loud.next()  # FullyBooted
    assert srv.push_event("Custom", {"A": "1", "B": ["x", "y"], "C": None}) == 1
    event = await loud.next()
    assert event.items() == [("Event", "Custom"), ("A", "1"), ("B", "x"), ("B", "y")]
    for wire in (anonymous, quiet, loud):
        wire.close()


async def ask(wire: Wire, name: str, *fields: tuple[str, str]) -> list[tuple[str, str]]:
    wire.send(name, ("ActionID", "a"), *fields)
    return (await wire.next()).items()


async def test_getvar_setvar_globals_and_channels(srv: FakeAsterisk) -> None:
    srv.channels = [{"Channel": "PJSIP/a-1"}]
    srv.variables["PRESET"] = "p"
    wire = await Wire.open(srv)
    await login(wire)
    await wire.next()
    ok = [("Response", "Success"), ("ActionID", "a")]
    assert await ask(wire, "Getvar", ("Variable", "UNSET")) == [*ok, ("Variable", "UNSET"), ("Value", "")]
    assert await ask(wire, "Getvar", ("Variable", "PRESET")) == [*ok, ("Variable", "PRESET"), ("Value", "p")]
    assert await ask(wire, "Setvar", ("Variable", "G"), ("Value", "v")) == [*ok, ("Message", "Variable Set")]
    assert srv.variables["G"] == "v"
    assert (await ask(wire, "Getvar", ("Variable", "g")))[-1] == ("Value", "")  # case-sensitive
    assert (await ask(wire, "Getvar", ("Variable", "GLOBAL(G)")))[-1] == ("Value", "v")
    on_channel = ("Channel", "PJSIP/a-1")
    assert (await ask(wire, "Getvar", ("Variable", "G"), on_channel))[-1] == ("Value", "")
    await ask(wire, "Setvar", ("Variable", "C"), ("Value", "cv"), on_channel)
    assert (await ask(wire, "Getvar", ("Variable", "C"), on_channel))[-1] == ("Value", "cv")
    assert srv.channel_variables == {"PJSIP/a-1": {"C": "cv"}} and "C" not in srv.variables
    error = [("Response", "Error"), ("ActionID", "a")]
    for name in ("Getvar", "Setvar"):
        nowhere = await ask(wire, name, ("Variable", "C"), ("Channel", "PJSIP/b-2"))
        assert nowhere == [*error, ("Message", "No such channel")]
        assert await ask(wire, name) == [*error, ("Message", "No variable specified")]
    wire.close()


async def test_astdb_put_get_del(srv: FakeAsterisk) -> None:
    wire = await Wire.open(srv)
    await login(wire)
    await wire.next()
    where = (("Family", "fam"), ("Key", "k"))
    missing = [("Response", "Error"), ("ActionID", "a"), ("Message", "Database entry not found")]
    assert await ask(wire, "DBGet", *where) == missing
    put = await ask(wire, "DBPut", *where, ("Val", "a b"))
    assert put[-1] == ("Message", "Updated database successfully")
    assert srv.database == {("fam", "k"): "a b"}
    start = await ask(wire, "DBGet", *where)
    assert start[2:] == [("EventList", "start"), ("Message", "Result will follow")]
    item, done = await wire.next(), await wire.next()
    assert item.items() == [
        ("Event", "DBGetResponse"),
        ("Family", "fam"),
        ("Key", "k"),
        ("Val", "a b"),
        ("ActionID", "a"),
    ]
    assert done.items() == [
        ("Event", "DBGetComplete"),
        ("ActionID", "a"),
        ("EventList", "Complete"),
        ("ListItems", "1"),
    ]
    assert (await ask(wire, "DBDel", *where))[-1] == ("Message", "Key deleted successfully")
    assert (await ask(wire, "DBDel", *where))[-1] == ("Message", "Database entry could not be deleted")
    assert await ask(wire, "DBGet", *where) == missing
    assert (await ask(wire, "DBGet", ("Family", "fam")))[-1] == ("Message", "No key specified.")
    assert (await ask(wire, "DBDel", ("Key", "k")))[-1] == ("Message", "No family specified.")
    assert (await ask(wire, "DBPut", ("Family", "fam")))[-1] == ("Message", "No key specified")
    wire.close()


async def tree(wire: Wire, *fields: tuple[str, str]) -> list[tuple[str, str]]:
    """DBGetTree's (Key, Val) items, after checking the list's framing."""
    start = await ask(wire, "DBGetTree", *fields)
    assert start[2:] == [("EventList", "start"), ("Message", "Result will follow")]
    items: list[tuple[str, str]] = []
    while (event := await wire.next()).name == "DBGetTreeResponse":
        assert [k for k, _ in event.items()] == ["Event", "Key", "Val", "ActionID"]  # ActionID last
        items.append((event["Key"], event["Val"]))
    assert event.items() == [
        ("Event", "DBGetTreeComplete"),
        ("ActionID", "a"),
        ("EventList", "Complete"),
        ("ListItems", str(len(items))),
    ]
    return items


async def test_astdb_get_tree_and_del_tree(srv: FakeAsterisk) -> None:
    keys = ["k1", "k1x", "k2", "sub/a", "sub/b", "a_b", "axb", "Ab/z"]
    srv.database = {("fam", k): k.upper() for k in keys} | {("other", "k"): "o", ("fa", "m"): "f"}
    wire = await Wire.open(srv)
    await login(wire)
    await wire.next()
    whole = await tree(wire, ("Family", "fam"))
    assert whole == sorted((f"/fam/{k}", k.upper()) for k in keys)  # sorted by full key
    assert await tree(wire, ("Family", "fam"), ("Key", "")) == whole
    assert await tree(wire, ("Family", "fam"), ("Key", "k1")) == [("/fam/k1", "K1")]  # not k1x
    assert await tree(wire, ("Family", "fam"), ("Key", "sub")) == [
        ("/fam/sub/a", "SUB/A"),
        ("/fam/sub/b", "SUB/B"),
    ]
    assert await tree(wire, ("Family", "fam"), ("Key", "su")) == []
    assert await tree(wire, ("Family", "fam/sub")) == [("/fam/sub/a", "SUB/A"), ("/fam/sub/b", "SUB/B")]
    # SQL LIKE: ASCII case-insensitive, "_" is any one character.
    assert await tree(wire, ("Family", "FAM"), ("Key", "AB")) == [("/fam/Ab/z", "AB/Z")]
    assert await tree(wire, ("Family", "fam"), ("Key", "a_b")) == [("/fam/a_b", "A_B"), ("/fam/axb", "AXB")]
    assert await tree(wire, ("Family", "nope")) == []
    everything = await tree(wire, ("Key", "k1"))  # no Family: the whole database
    assert len(everything) == len(srv.database) and ("/other/k", "o") in everything

    deleted = [("Response", "Success"), ("ActionID", "a"), ("Message", "Key tree deleted successfully")]
    missing = [("Response", "Error"), ("ActionID", "a"), ("Message", "Database entry not found")]
    assert await ask(wire, "DBDelTree", ("Family", "fam"), ("Key", "k")) == missing  # no partial keys
    assert await ask(wire, "DBDelTree", ("Family", "fam"), ("Key", "sub")) == deleted
    assert ("fam", "sub/a") not in srv.database and ("fam", "k1") in srv.database
    assert await ask(wire, "DBDelTree", ("Family", "fam")) == deleted
    assert srv.database == {("other", "k"): "o", ("fa", "m"): "f"}
    assert await ask(wire, "DBDelTree", ("Family", "fam")) == missing
    no_family = [("Response", "Error"), ("ActionID", "a"), ("Message", "No family specified.")]
    assert await ask(wire, "DBDelTree", ("Key", "k")) == no_family
    assert await ask(wire, "DBDelTree") == no_family
    assert srv.database == {("other", "k"): "o", ("fa", "m"): "f"}
    wire.send("DBGetTree", ("Family", "other"))  # without an ActionID: none anywhere
    for _ in range(3):
        assert (await wire.next()).action_id is None
    wire.close()


async def test_filter_limits_the_events_of_its_connection(srv: FakeAsterisk) -> None:
    filtered, plain = await Wire.open(srv), await Wire.open(srv)
    for wire in (filtered, plain):
        await login(wire)
        await wire.next()  # FullyBooted
    answer = await ask(filtered, "Filter", ("Operation", "Add"), ("Filter", "Event: UserEvent"))
    assert answer == [("Response", "Success"), ("ActionID", "a"), ("Message", "Success")]
    await ask(filtered, "Filter", ("Operation", "Add"), ("Filter", "!Skip: yes"))
    assert srv.push_event("Newchannel", {"Channel": "x"}) == 1
    assert srv.push_event("UserEvent", {"UserEvent": "A", "Skip": "yes"}) == 1
    assert srv.push_event("UserEvent", {"UserEvent": "B"}) == 2
    assert [(await plain.next()).name for _ in range(3)] == ["Newchannel", "UserEvent", "UserEvent"]
    event = await filtered.next()
    assert event.get_field_value("UserEvent") == "B" and not filtered.inbox
    bad = await ask(filtered, "Filter", ("Operation", "Add"), ("Filter", "("))
    assert bad[-1] == ("Message", "Filter did not compile.  Check the syntax of the filter given.")
    assert (await ask(filtered, "Filter", ("Filter", "x")))[-1] == ("Message", "Unknown operation")
    for wire in (filtered, plain):
        wire.close()


def test_parse_event_filter_legacy_and_advanced() -> None:
    text = "Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: Keeper"
    legacy = parse_event_filter(None, "UserEvent: Keep")
    assert legacy == (EventFilter("regex", "UserEvent: Keep"), False)
    assert legacy[0].matches(text)
    assert parse_event_filter(None, "!Event: X") == (EventFilter("regex", "Event: X"), True)
    formatted = "Filter was formatted incorrectly.  Check the syntax of the filter given."
    for criteria, pattern in ((None, ""), (None, None), ("startsWith", "x"), ("method(fuzzy)", "x")):
        assert parse_event_filter(criteria, pattern) == formatted
    exact = parse_event_filter("name(UserEvent),header(UserEvent),method(exact)", "Keeper")
    assert isinstance(exact, tuple) and exact[0].matches(text)
    assert not exact[0].matches(text.replace("Keeper", "Keep"))
    assert not exact[0].matches(text.replace("Event: UserEvent", "Event: Other", 1))
    by_name = parse_event_filter("action(exclude),name(UserEvent)", None)
    assert by_name == (EventFilter("none", "", "UserEvent"), True)
    starts = parse_event_filter("header(Privilege),method(starts_with)", "user")
    assert isinstance(starts, tuple) and starts[0].matches(text)
    assert not starts[0].matches("Event: X\r\nChannel: y")  # no such header


async def test_scripted_handlers_and_helpers(srv: FakeAsterisk) -> None:
    async def originate(conn: FakeConnection, action: Message) -> None:
        conn.send_response(action, {"Message": "Originate successfully queued"})
        await asyncio.sleep(0)
        conn.send_event("OriginateResponse", {"Response": "Success"}, action=action)

    srv.on_action("originate", originate)
    srv.on_action("Legacy", lambda c, a: c.send_list(a, "Item", [{"N": 1}], "LegacyDone", eventlist=False))
    async with ami_fast.connect(srv.url, ping_interval=None) as client:
        action = client.create_action("Originate", {"Channel": "Local/1@x"})
        follow = client.follow_up(action.action_id)  # type: ignore[arg-type]
        await client.request(action)
        assert (await follow).get_field_value("Response") == "Success"
        coll = await client.request(client.create_action("Legacy"), end_event="LegacyDone")
        assert isinstance(coll, ami_fast.Collection) and len(coll) == 1
    received = await srv.wait_for_action("Originate")
    assert received[0].get_field_value("Channel") == "Local/1@x"
    assert len(srv.connections) == 1


async def test_abrupt_close_and_raw_bytes(srv: FakeAsterisk) -> None:
    async with ami_fast.connect(srv.url, ping_interval=None) as client:
        conn = srv.active_connections[0]
        conn.send_raw(b"Event: Split\r\nA: ")
        conn.send_raw(b"1\r\n\r\n")
        stream = client.events("Split")
        event = await asyncio.wait_for(stream.__anext__(), 5)
        assert event.get_field_value("A") == "1"
        conn.close()
        await asyncio.wait_for(client.wait_closed(), 5)
        assert isinstance(client.close_reason, ami_fast.ConnectionLostError)


@pytest.mark.parametrize("name", ["01_login_ping_logoff", "17_pipelined", "05_eventlists_idle"])
async def test_replay_sends_the_recording_with_its_chunks(name: str) -> None:
    base = CORPUS / name
    meta = json.loads((base.with_suffix(".chunks.json")).read_text())
    sent = (CORPUS / f"{name}.sent.bin").read_bytes()
    async with FakeAsterisk.replay(CORPUS / f"{name}.bin") as server:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        got = bytearray()
        pos = 0
        for direction, _at, size in meta["chunks"]:
            if direction == "tx":  # play the recorded client's part
                writer.write(sent[pos : pos + size])
                pos += size
        while True:
            data = await asyncio.wait_for(reader.read(65536), 5)
            if not data:
                break
            got += data
        writer.close()
        assert bytes(got) == (CORPUS / f"{name}.bin").read_bytes()
        assert bytes(server.connections[0].rx_bytes) == sent


async def test_replay_drives_a_client_with_recorded_action_ids() -> None:
    async with FakeAsterisk.replay(CORPUS / "01_login_ping_logoff.bin") as server:
        client = await ami_fast.Factory(ping_interval=None).create_client(server.url_no_login)
        login = client.create_action("Login", {"Username": "ami", "Secret": "amipass", "ActionID": "login"})
        assert (await client.request(login)).get_field_value("Message") == "Authentication accepted"
        stream = client.events()
        assert (await asyncio.wait_for(stream.__anext__(), 5)).name == "FullyBooted"
        ping_id = (
            (CORPUS / "01_login_ping_logoff.sent.bin").read_bytes().split(b"Action: Ping\r\nActionID: ")[1]
        )
        ping = client.create_action("Ping", {"ActionID": ping_id.split(b"\r\n")[0].decode()})
        assert (await client.request(ping)).get_field_value("Ping") == "Pong"
        await client.end()
        assert client.close_reason is None


async def test_pytest_fixture(fake_asterisk: FakeAsterisk) -> None:
    async with ami_fast.connect(fake_asterisk.url, ping_interval=None) as client:
        assert (await client.request(client.create_action("Ping"))).get_field_value("Ping") == "Pong"


async def _stalled_wire(srv: FakeAsterisk) -> Wire:
    """A client whose small receive buffer fills at once, and which then stops reading."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((srv.host, srv.port))
    return Wire(*await asyncio.open_connection(sock=sock))


@pytest.mark.parametrize("write_timeout", [0.1, None])
async def test_write_timeout_drops_a_client_that_stops_reading(write_timeout: float | None) -> None:
    async with FakeAsterisk(write_timeout=write_timeout) as srv:
        reading, stalled = await Wire.open(srv), await _stalled_wire(srv)
        for wire in (reading, stalled):
            await login(wire)
        reader_conn, stalled_conn = srv.active_connections  # in the order they connected

        async def consume() -> None:
            while await reading.reader.read(1 << 16):
                pass

        consumer = asyncio.create_task(consume())
        pushed = 0
        assert stalled_conn.transport is not None
        # Flood until the stalled client's kernel buffers are full and bytes wait in the server.
        while stalled_conn.transport.get_write_buffer_size() < (1 << 17):
            srv.push_event("UserEvent", {"Privilege": "user,all", "UserEvent": "Flood", "N": pushed})
            pushed += 1
            if pushed % 200 == 0:
                await asyncio.sleep(0)
        if write_timeout is None:
            await asyncio.sleep(0.3)  # three times the Asterisk default
            assert stalled_conn.is_open and not stalled_conn.write_timed_out
        else:
            await asyncio.wait_for(stalled_conn.closed.wait(), 10)
            assert stalled_conn.write_timed_out
            assert await stalled.eof()  # what the kernel held, then a plain EOF
            events = [m for m in stalled.inbox if m.name == "UserEvent"]
            assert 0 < len(events) < pushed  # the tail is lost, as with Asterisk
            assert b"Goodbye" not in stalled.raw
        # The client that kept reading made progress all along and is still connected.
        assert reader_conn.is_open and not reader_conn.write_timed_out
        consumer.cancel()
        reading.close()
        stalled.close()
