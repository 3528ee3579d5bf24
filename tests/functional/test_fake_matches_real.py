"""ami_fast.testing.FakeAsterisk against the real server: the same bytes in, the same bytes out.

Each scenario is written to both servers in one go, followed by a ``Ping`` with ActionID
``END``; the transcript runs to that Ping's answer (or to the close). Values that differ by
nature (timestamps, challenges, addresses, uptimes) are masked before comparing.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from ami_fast.testing import FakeAsterisk

from .conftest import AmiServer

VOLATILE = frozenset(
    {"Timestamp", "Challenge", "Uptime", "LastReload", "EventTV", "SessionTV", "SessionID"}
    | {"LocalAddress", "RemoteAddress", "AsteriskVersion"}
)
END = b"Action: Ping\r\nActionID: END\r\n\r\n"
# A family no other run uses (and without "_", a LIKE wildcard in DBGetTree/DBDelTree).
TREE = f"amifast{uuid.uuid4().hex[:10]}"


def action(name: str, **fields: str) -> bytes:
    return (f"Action: {name}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n").encode()


def login(user: str = "ami", secret: str = "amipass", events: str | None = "off") -> bytes:
    fields = {"ActionID": "L", "Username": user, "Secret": secret}
    if events is not None:
        fields["Events"] = events
    return action("Login", **fields)


SCENARIOS: dict[str, list[bytes]] = {
    "banner and pre-login Permission denied": [action("Ping", ActionID="p"), action("Ping")],
    "login, events on": [login(events=None)],
    "login with a class mask": [login(events="system")],
    "ping": [login(), action("Ping", ActionID="p")],
    "unknown CLI command": [login(), action("Command", ActionID="c", Command="core show nonexistent")],
    "Command without a command": [login(), action("Command", ActionID="c")],
    "Events masks": [login()]
    + [action("Events", ActionID=m or "empty", EventMask=m) for m in ("user", "bogus", "off", "system", "")],
    "UserEvent echo": [
        login(events="user"),
        action("UserEvent", ActionID="u", UserEvent="Probe", Foo="bar", Empty="", Foo2="a: b"),
        action("UserEvent", ActionID="v", Other="x"),
    ],
    "stray empty line": [login(), b"\r\n", action("Ping", ActionID="after")],
    "unknown action": [login(), action("NoSuchAction", ActionID="n")],
    "empty CoreShowChannels and Status": [
        login(),
        action("CoreShowChannels", ActionID="cs"),
        action("Status", ActionID="st"),
    ],
    "logoff": [login(), action("Logoff", ActionID="bye")],
    "logoff before login": [action("Logoff", ActionID="bye")],
    "login twice": [login(), login()],
    "challenge": [action("Challenge", ActionID="c1", AuthType="MD5"), action("Challenge", ActionID="c2")],
    "limited user": [
        login("amilimited", "limitedpass", events=None),
        action("Command", ActionID="c", Command="core show uptime"),
        action("UserEvent", ActionID="u", UserEvent="Probe"),
    ],
    "CoreSettings": [login(), action("CoreSettings", ActionID="s")],
    "failed login": [login(secret="wrong")],
    # Globals persist in the real server, so only names no run ever sets are read unset.
    "Getvar and Setvar": [
        login(),
        action("Getvar", ActionID="g0", Variable="AMI_FAST_NEVER_SET"),
        action("Setvar", ActionID="s1", Variable="AMI_FAST_G", Value="hello world"),
        action("Getvar", ActionID="g1", Variable="AMI_FAST_G"),
        action("Getvar", Variable="GLOBAL(AMI_FAST_G)"),
        action("Setvar", ActionID="s2", Variable="AMI_FAST_G"),
        action("Getvar", ActionID="g2", Variable="AMI_FAST_G"),
        action("Getvar", ActionID="g3", Variable="X", Channel="PJSIP/nobody-00000001"),
        action("Setvar", ActionID="s3", Variable="X", Value="1", Channel="PJSIP/nobody-00000001"),
        action("Getvar", ActionID="g4"),
        action("Setvar", ActionID="s4", Value="1"),
    ],
    # Put first and delete last, so the real AstDB ends each run as it began.
    "DBPut, DBGet, DBDel": [
        login(),
        action("DBPut", ActionID="p1", Family="ami_fast", Key="k1", Val="v 1"),
        action("DBGet", ActionID="d1", Family="ami_fast", Key="k1"),
        action("DBGet", Family="ami_fast", Key="k1"),
        action("DBGet", ActionID="d2", Family="ami_fast", Key="Never"),
        action("DBDel", ActionID="x1", Family="ami_fast", Key="k1"),
        action("DBDel", ActionID="x2", Family="ami_fast", Key="k1"),
        action("DBGet", ActionID="d3", Family="ami_fast", Key="k1"),
        action("DBGet", ActionID="d4", Family="ami_fast"),
        action("DBGet", ActionID="d5", Key="k1"),
        action("DBPut", ActionID="p2", Family="ami_fast"),
        action("DBPut", ActionID="p3", Key="k1"),
        action("DBDel", ActionID="x3", Key="k1"),
    ],
    # The whole family is deleted last, so the real AstDB ends each run as it began.
    "DBGetTree and DBDelTree": [
        login(),
        *(
            action("DBPut", ActionID="p", Family=TREE, Key=key, Val=f"v {key}")
            for key in ("k1", "k1x", "k2", "sub/a", "sub/b", "subx", "a_b", "axb", "Ab/z")
        ),
        action("DBGetTree", ActionID="t1", Family=TREE),
        action("DBGetTree", Family=TREE),
        action("DBGetTree", ActionID="t2", Family=TREE, Key="k1"),
        action("DBGetTree", ActionID="t3", Family=TREE, Key="sub"),
        action("DBGetTree", ActionID="t4", Family=TREE, Key="su"),
        action("DBGetTree", ActionID="t5", Family=TREE, Key=""),
        action("DBGetTree", ActionID="t6", Family=TREE.upper(), Key="AB"),
        action("DBGetTree", ActionID="t7", Family=TREE, Key="a_b"),
        action("DBGetTree", ActionID="t8", Family=f"{TREE}/sub"),
        action("DBGetTree", ActionID="t9", Family=f"{TREE}nope"),
        action("DBDelTree", ActionID="x1", Family=TREE, Key="k"),
        action("DBDelTree", ActionID="x2", Family=TREE, Key="sub"),
        action("DBGetTree", ActionID="t10", Family=TREE),
        action("DBDelTree", ActionID="x3", Family=f"{TREE}nope"),
        action("DBDelTree", ActionID="x4", Key="k1"),
        action("DBDelTree", ActionID="x5"),
        action("DBDelTree", ActionID="x6", Family=TREE),
        action("DBDelTree", ActionID="x7", Family=TREE),
        action("DBGetTree", ActionID="t11", Family=TREE),
    ],
    "Filter errors": [
        login(),
        action("Filter", ActionID="f1", Filter="Event: UserEvent"),
        action("Filter", ActionID="f2", Operation="Remove", Filter="Event: UserEvent"),
        action("Filter", ActionID="f3", Operation="Add"),
        action("Filter", ActionID="f4", Operation="Add", Filter="Event: ("),
        action("Filter", ActionID="f5", Operation="Add", MatchCriteria="startsWith", Filter="x"),
        action("Filter", ActionID="f6", Operation="Add", MatchCriteria="method(exact)", Filter="Event: X"),
    ],
    "Filter limits the events": [
        login(events="user"),
        action("Filter", ActionID="f1", Operation="add", Filter="UserEvent: Keep"),
        action("UserEvent", ActionID="u1", UserEvent="Keep"),
        action("UserEvent", ActionID="u2", UserEvent="Drop"),
        action("Filter", ActionID="f2", Operation="Add", Filter="!ActionID: u3"),
        action("UserEvent", ActionID="u3", UserEvent="Keep"),
        action("UserEvent", ActionID="u4", UserEvent="Keeper"),
        action(
            "Filter",
            ActionID="f3",
            Operation="Add",
            MatchCriteria="name(UserEvent),header(UserEvent),method(exact)",
            Filter="Other",
        ),
        action("UserEvent", ActionID="u5", UserEvent="Other"),
        action("UserEvent", ActionID="u6", UserEvent="Otherx"),
    ],
    "limited user may not Filter": [
        login("amilimited", "limitedpass"),
        action("Filter", ActionID="f", Operation="Add", Filter="Event: UserEvent"),
    ],
}


def mask(data: bytes) -> list[str]:
    out = []
    for line in data.decode("utf-8", "replace").split("\r\n"):
        key, sep, _ = line.partition(": ")
        out.append(f"{key}: *" if sep and key in VOLATILE else line)
    return out


def _answered(data: bytes) -> bool:
    """Whether the END Ping's whole answer is in ``data``."""
    at = data.find(b"ActionID: END\r\n")
    return at >= 0 and data.find(b"\r\n\r\n", at) >= 0


def _own(block: bytes) -> bool:
    """Not an event about another session (see ``transcript``)."""
    at = block.find(b"\r\nPrivilege: ")
    if not block.startswith(b"Event: ") or at < 0:
        return True
    return block.startswith((b"system,", b"user,"), at + 13)


async def transcript(port: int, steps: list[bytes]) -> list[str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"".join(steps) + END)
        data = b""
        while not _answered(data):
            chunk = await asyncio.wait_for(reader.read(65536), 10)
            if not chunk:
                data += b"<closed>"
                break
            data += chunk
        # Stop at the END answer. Only system and user events come from this session's own
        # steps; the others are broadcasts about other sessions that may land anywhere (an
        # earlier scenario's refused Ping as RequestNotAllowed, SuccessfulAuth, a late call
        # from another test): security events have their own test below.
        at = data.find(b"ActionID: END\r\n")
        data = data if at < 0 else data[: data.find(b"\r\n\r\n", at) + 4]
        return mask(b"\r\n\r\n".join(b for b in data.split(b"\r\n\r\n") if _own(b)))
    finally:
        writer.close()


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_fake_answers_like_asterisk(ami_server: AmiServer, name: str) -> None:
    async with FakeAsterisk(security_events=True) as fake:
        real = await transcript(ami_server.port, SCENARIOS[name])
        faked = await transcript(fake.port, SCENARIOS[name])
    assert faked == real


async def _watch_next_login(port: int) -> list[str]:
    """A session reading only ``security`` events sees another session's login."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    other: asyncio.StreamWriter | None = None
    try:
        writer.write(login(events="security"))
        data = b""
        while b"Authentication accepted\r\n\r\n" not in data:
            data += await asyncio.wait_for(reader.read(65536), 10)
        _, other = await asyncio.open_connection("127.0.0.1", port)
        other.write(login("amilimited", "limitedpass"))
        while b"AccountID: amilimited" not in data or not data.endswith(b"\r\n\r\n"):
            data += await asyncio.wait_for(reader.read(65536), 10)
        return mask(data)
    finally:
        writer.close()
        if other is not None:
            other.close()


async def test_fake_broadcasts_successful_auth_like_asterisk(ami_server: AmiServer) -> None:
    async with FakeAsterisk(security_events=True) as fake:
        real = await _watch_next_login(ami_server.port)
        faked = await _watch_next_login(fake.port)
    assert faked == real
    assert "Event: SuccessfulAuth" in real
