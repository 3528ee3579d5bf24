"""Writes the hand-made parser cases: ``NN-slug.ami`` (the stream) + ``NN-slug.json`` (expected).

Every expected value below is written by hand from docs/parser-contract.md; nothing is computed
by a parser. A case is a list of parts whose bytes, concatenated, form the stream; a part knows
what the parser must return for it, so offsets follow from the stream layout. Run it after
editing: ``python tests/corpus/cases/make_cases.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _s(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


class Part:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def expected(self, offset: int) -> list[dict[str, Any]]:
        return []


class Skip(Part):
    """Bytes the parser consumes without output (banner, blank lines)."""


class Msg(Part):
    def __init__(
        self,
        data: bytes,
        cls: str,
        kind: str,
        name: str | None,
        items: list[tuple[str, str]],
        *,
        action_id: str | None = None,
        extra: list[str] | None = None,
        output: str | None = None,
    ) -> None:
        super().__init__(data)
        self.fields = {
            "type": "message",
            "class": cls,
            "kind": kind,
            "name": name,
            "action_id": action_id,
            "items": [list(p) for p in items],
            "extra_lines": extra or [],
            "raw": _s(data),
            "command_output": output,
        }

    def expected(self, offset: int) -> list[dict[str, Any]]:
        return [self.fields]


class Err(Part):
    """An error in place of the message. ``{}`` in ``text`` = offset of the part + ``at``."""

    def __init__(
        self,
        data: bytes,
        cls: str,
        text: str,
        *,
        at: int | None = None,
        action_id: str | None = None,
        keep_raw: bool = False,
        excerpt: bytes | None = None,
        lead: int = 0,
    ) -> None:
        super().__init__(data)
        self.cls, self.text, self.at = cls, text, at
        self.action_id, self.keep_raw = action_id, keep_raw
        self.lead = lead  # bytes before the message's first byte (skipped blank lines)
        self.excerpt = excerpt if excerpt is not None else data[lead : lead + 64]

    def expected(self, offset: int) -> list[dict[str, Any]]:
        text = self.text.format(offset + self.at) if self.at is not None else self.text
        return [
            {
                "type": "error",
                "class": self.cls,
                "text": text,
                "offset": offset + self.lead,
                "excerpt": _s(self.excerpt),
                "action_id": self.action_id,
                "raw": _s(self.data[self.lead :]) if self.keep_raw else None,
            }
        ]


CASES: dict[str, dict[str, Any]] = {}


def case(
    slug: str, description: str, parts: list[Part], *, version: str | None = None, **options: Any
) -> None:
    CASES[slug] = {"description": description, "parts": parts, "version": version, "options": options}


BANNER = Skip(b"Asterisk Call Manager/11.0.0\r\n")
PONG = b"Response: Success\r\nActionID: 1\r\nPing: Pong\r\n\r\n"
PONG_MSG = Msg(
    PONG,
    "Response",
    "response",
    "Success",
    [("Response", "Success"), ("ActionID", "1"), ("Ping", "Pong")],
    action_id="1",
)

case(
    "01-banner-crlf",
    "E1: the Asterisk banner, no empty line after it; version from the text after the last '/'",
    [BANNER, PONG_MSG],
    version="11.0.0",
)
case(
    "02-banner-proxy-lf",
    "E1: a proxy banner ending in bare LF",
    [Skip(b"Asterisk Manager Proxy/2.1.0-rc1\n"), PONG_MSG],
    version="2.1.0-rc1",
)
case("03-no-banner", "E1: no banner at all: the first line is ordinary input", [PONG_MSG])
case(
    "04-banner-with-colon",
    "E1: a first line with a colon is never a banner: it is the first field",
    [
        Msg(
            b"Asterisk Call Manager: 1.0/x\r\nFoo: bar\r\n\r\n",
            "Message",
            "unknown",
            None,
            [("Asterisk Call Manager", "1.0/x"), ("Foo", "bar")],
        )
    ],
)
case(
    "05-banner-without-slash",
    "E1: 'Manager' without '/' is no banner: a colon-less line of the first message",
    [
        Msg(
            b"Welcome to the Manager\r\nEvent: Hello\r\n\r\n",
            "Event",
            "event",
            "Hello",
            [("Event", "Hello")],
            extra=["Welcome to the Manager"],
        )
    ],
)
case(
    "06-lf-only",
    "E4: every line ends in bare LF",
    [
        Skip(b"Asterisk Call Manager/5.0.5\n"),
        Msg(
            b"Response: Success\nActionID: a\nMessage: Park successful\n\n",
            "Response",
            "response",
            "Success",
            [("Response", "Success"), ("ActionID", "a"), ("Message", "Park successful")],
            action_id="a",
        ),
        Msg(
            b"Event: Agents\nCallStarted: 0\n\n",
            "Event",
            "event",
            "Agents",
            [("Event", "Agents"), ("CallStarted", "0")],
        ),
    ],
    version="5.0.5",
)
case(
    "07-crlf-then-lf-end",
    "E5: a message ending in \\r\\n\\n (CoreShowChannelMap on 18.19/20.4) is not merged with the next",
    [
        Msg(
            b"Event: CoreShowChannelMap\r\nChannel: PJSIP/1\r\n\n",
            "Event",
            "event",
            "CoreShowChannelMap",
            [("Event", "CoreShowChannelMap"), ("Channel", "PJSIP/1")],
        ),
        Msg(b"Event: Next\r\n\r\n", "Event", "event", "Next", [("Event", "Next")]),
        Msg(
            b"Response: Success\r\nMessage: Park successful\n\r\n",
            "Response",
            "response",
            "Success",
            [("Response", "Success"), ("Message", "Park successful")],
        ),
    ],
)
case(
    "08-extra-blank-lines",
    "E3: runs of blank lines (CRLF and LF) before, between and after messages are skipped",
    [
        BANNER,
        Skip(b"\r\n\r\n\n"),
        Msg(b"Event: TestEvent\r\n\r\n", "Event", "event", "TestEvent", [("Event", "TestEvent")]),
        Skip(b"\r\n\n\r\n"),
        PONG_MSG,
        Skip(b"\r\n\r\n"),
    ],
    version="11.0.0",
)
case(
    "09-key-without-space",
    "E6: 'Key:' gives '', 'Key:value' gives 'value', only one space is removed",
    [
        Msg(
            b"Event: RTCPSent\r\nReportBlock:\r\nKey:value\r\nTwo:  spaces\r\nTab:\tx\r\n\r\n",
            "Event",
            "event",
            "RTCPSent",
            [
                ("Event", "RTCPSent"),
                ("ReportBlock", ""),
                ("Key", "value"),
                ("Two", " spaces"),
                ("Tab", "\tx"),
            ],
        )
    ],
)
case(
    "10-colons-in-values",
    "E7: a line splits at its first colon only",
    [
        Msg(
            b"Response: Success\r\nOutput: Testing: yes\r\nStatus: OK (5 ms)\r\n"
            b"Url: sip:1000@host:5060\r\n\r\n",
            "Response",
            "response",
            "Success",
            [
                ("Response", "Success"),
                ("Output", "Testing: yes"),
                ("Status", "OK (5 ms)"),
                ("Url", "sip:1000@host:5060"),
            ],
            output="Testing: yes",
        )
    ],
)
case(
    "11-whitespace-is-data",
    "E8: keys are not stripped, values keep all but one leading space and every trailing space",
    [
        Msg(
            b"Response: Success\r\nKey : spaced key\r\nOutput:    No Members\r\nRow: a  b   \r\n\r\n",
            "Response",
            "response",
            "Success",
            [
                ("Response", "Success"),
                ("Key ", "spaced key"),
                ("Output", "   No Members"),
                ("Row", "a  b   "),
            ],
            output="   No Members",
        )
    ],
)
case(
    "12-repeated-keys",
    "E9: repeated keys are kept in line order, with different spellings",
    [
        Msg(
            b"Event: TestEvent\r\nState: CallIDChange\r\nVariable: A=1\r\nState: CallIDChange\r\n"
            b"variable: B=2\r\nVARIABLE: A=3\r\n\r\n",
            "Event",
            "event",
            "TestEvent",
            [
                ("Event", "TestEvent"),
                ("State", "CallIDChange"),
                ("Variable", "A=1"),
                ("State", "CallIDChange"),
                ("variable", "B=2"),
                ("VARIABLE", "A=3"),
            ],
        )
    ],
)
case(
    "13-colonless-lenient",
    "E10: colon-less lines are kept in extra_lines, in order; the message is delivered",
    [
        Msg(
            b"Event: ReceivedSMS\r\nFrom: 123\r\nhello world\r\n--END SMS EVENT--\r\n\r\n",
            "Event",
            "event",
            "ReceivedSMS",
            [("Event", "ReceivedSMS"), ("From", "123")],
            extra=["hello world", "--END SMS EVENT--"],
        ),
        PONG_MSG,
    ],
)
case(
    "14-colonless-strict",
    "E10 strict: a colon-less line turns that message into a ProtocolError; the next one is fine",
    [
        BANNER,
        Err(
            b"Event: Corrupt\r\nActionID: 7\r\name CID 123\r\n\r\n",
            "ProtocolError",
            "line without a colon at offset {}",
            at=29,
            action_id="7",
            keep_raw=True,
        ),
        PONG_MSG,
    ],
    version="11.0.0",
    strict=True,
)
case(
    "15-bare-lf-strict",
    "E4/E5 strict: a line ending in bare LF, and a bare-LF terminating line, are errors",
    [
        Err(
            b"Response: Success\r\nActionID: 9\nMessage: x\r\n\r\n",
            "ProtocolError",
            "line ending without CR at offset {}",
            at=19,
            action_id="9",
            keep_raw=True,
        ),
        Err(
            b"Event: CoreShowChannelMap\r\nChannel: x\r\n\n",
            "ProtocolError",
            "line ending without CR at offset {}",
            at=39,
            keep_raw=True,
        ),
        Msg(b"Event: Ok\r\n\r\n", "Event", "event", "Ok", [("Event", "Ok")]),
        Skip(b"\n\n"),
    ],
    strict=True,
)
LEGACY = (
    b"Response: Follows\r\nPrivilege: Command\r\nActionID: c1\r\n"
    b"Name: value\nline two\n\n  indented: x\n--END COMMAND--\r\n\r\n"
)
case(
    "16-legacy-follows",
    "E11: Asterisk <= 13 command output: raw body with colons and empty lines up to the marker",
    [
        Msg(
            LEGACY,
            "Response",
            "response",
            "Follows",
            [("Response", "Follows"), ("Privilege", "Command"), ("ActionID", "c1")],
            action_id="c1",
            output="Name: value\nline two\n\n  indented: x",
        ),
        PONG_MSG,
    ],
)
case(
    "17-legacy-follows-empty",
    "E11: empty output: the marker right after the headers",
    [
        Msg(
            b"Response: Follows\r\nPrivilege: Command\r\n--END COMMAND--\r\n\r\n",
            "Response",
            "response",
            "Follows",
            [("Response", "Follows"), ("Privilege", "Command")],
            output="",
        ),
        Msg(
            b"response: follows\nactionid: 5\n--END COMMAND--\n\n",
            "Response",
            "response",
            "follows",
            [("response", "follows"), ("actionid", "5")],
            action_id="5",
            output="",
        ),
    ],
)
case(
    "18-legacy-follows-midline",
    "E11: output without a final newline puts the marker at the end of the last text line",
    [
        Msg(
            b"Response: Follows\r\nPrivilege: Command\r\nNo such command--END COMMAND--\r\n\r\n",
            "Response",
            "response",
            "Follows",
            [("Response", "Follows"), ("Privilege", "Command")],
            output="No such command",
        )
    ],
)
case(
    "19-marker-not-terminating",
    "E11: the marker needs a line end and an empty line; in a normal message it means nothing",
    [
        Msg(
            b"Response: Follows\r\nPrivilege: Command\r\n--END COMMAND-- no\r\n--END COMMAND--\r\nmore\r\n"
            b"x\r\n--END COMMAND--\n\r\n",
            "Response",
            "response",
            "Follows",
            [("Response", "Follows"), ("Privilege", "Command")],
            output="--END COMMAND-- no\r\n--END COMMAND--\r\nmore\r\nx\r",
        ),
        Msg(
            b"Response: Success\r\nMessage: done--END COMMAND--\r\n\r\n",
            "Response",
            "response",
            "Success",
            [("Response", "Success"), ("Message", "done--END COMMAND--")],
        ),
    ],
)
case(
    "20-command-output-14",
    "E12: Asterisk >= 14: one Output field per line (some empty); an Error still has output",
    [
        Msg(
            b"Response: Success\r\nActionID: 2\r\nMessage: Command output follows\r\nOutput: line 1\r\n"
            b"Output: \r\nOutput: line 3  \r\n\r\n",
            "Response",
            "response",
            "Success",
            [
                ("Response", "Success"),
                ("ActionID", "2"),
                ("Message", "Command output follows"),
                ("Output", "line 1"),
                ("Output", ""),
                ("Output", "line 3  "),
            ],
            action_id="2",
            output="line 1\n\nline 3  ",
        ),
        Msg(
            b"Response: Error\r\nMessage: Command output follows\r\nOutput: No such command 'x'\r\n\r\n",
            "Response",
            "response",
            "Error",
            [("Response", "Error"), ("Message", "Command output follows"), ("Output", "No such command 'x'")],
            output="No such command 'x'",
        ),
        Msg(
            b"Response: Error\r\nMessage: No command provided\r\n\r\n",
            "Response",
            "response",
            "Error",
            [("Response", "Error"), ("Message", "No command provided")],
        ),
    ],
)
BIG = b"Event: Big\r\nActionID: big\r\nData: " + b"x" * 80 + b"\r\n\r\n"
EXACT = b"Event: Exact\r\nData: " + b"y" * 42 + b"\r\n\r\n"  # exactly 64 message bytes
case(
    "21-oversize-then-valid",
    "E13: a message over max_message_bytes is skipped with an error; the ones after it are kept",
    [
        Msg(b"Event: Small\r\n\r\n", "Event", "event", "Small", [("Event", "Small")]),
        Err(BIG, "MessageTooLargeError", "message exceeds max_message_bytes (64)"),
        Msg(EXACT, "Event", "event", "Exact", [("Event", "Exact"), ("Data", "y" * 42)]),
        PONG_MSG,
    ],
    max_message_bytes=64,
)
MANY = b"Event: Many\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"
case(
    "22-too-many-fields",
    "E13: more non-empty lines than max_fields; excerpt ends at the LF of line max_fields+1",
    [
        Msg(
            b"Event: Three\r\nA: 1\r\nB: 2\r\n\r\n",
            "Event",
            "event",
            "Three",
            [("Event", "Three"), ("A", "1"), ("B", "2")],
        ),
        Err(
            MANY,
            "MessageTooLargeError",
            "message exceeds max_fields (3)",
            excerpt=b"Event: Many\r\nA: 1\r\nB: 2\r\nC: 3\r\n",
        ),
        PONG_MSG,
    ],
    max_fields=3,
)
ENDLESS = b"Event: Endless\r\nData: " + b"z" * 300
case(
    "23-endless-line",
    "E13: a line that never ends is reported once it is over the limit; EOF adds nothing",
    [PONG_MSG, Err(ENDLESS, "MessageTooLargeError", "message exceeds max_message_bytes (100)")],
    max_message_bytes=100,
)
case(
    "24-truncated-at-eof",
    "the stream ends in the middle of a message: one error at feed_eof() with the held bytes",
    [
        PONG_MSG,
        Skip(b"\r\n"),
        Err(
            b"Event: Cut\r\nChannel: PJSIP/1",
            "ProtocolError",
            "connection closed in the middle of a message (28 bytes)",
            keep_raw=True,
        ),
    ],
)
case(
    "25-partial-banner-eof",
    "E1: a stream that never got its first LF: the partial banner is an unfinished message",
    [
        Err(
            b"Asterisk Call Man",
            "ProtocolError",
            "connection closed in the middle of a message (17 bytes)",
            keep_raw=True,
        )
    ],
)
case(
    "26-case-insensitive",
    "E14: classification and ActionID are ASCII case-insensitive; original spelling kept",
    [
        Msg(
            b"event: Hangup\r\nactionid: x1\r\nACTIONID: x2\r\n\r\n",
            "Event",
            "event",
            "Hangup",
            [("event", "Hangup"), ("actionid", "x1"), ("ACTIONID", "x2")],
            action_id="x1",
        ),
        Msg(b"RESPONSE: success\r\n\r\n", "Response", "response", "success", [("RESPONSE", "success")]),
        Msg(
            b"aCtIoN: Ping\r\nActionId: p\r\n\r\n",
            "Message",
            "action",
            "Ping",
            [("aCtIoN", "Ping"), ("ActionId", "p")],
            action_id="p",
        ),
    ],
)
case(
    "27-utf8-multibyte",
    "E15: multi-byte UTF-8 (split across chunks when fed byte by byte) decodes intact",
    [
        Msg(
            "Event: Newchannel\r\nCallerIDName: Jöhn 日本 😀\r\nÄrger: ja\r\n\r\n".encode(),
            "Event",
            "event",
            "Newchannel",
            [("Event", "Newchannel"), ("CallerIDName", "Jöhn 日本 😀"), ("Ärger", "ja")],
        )
    ],
)
case(
    "28-latin1-surrogateescape",
    "E15: latin-1 bytes are not UTF-8: they round-trip through surrogateescape",
    [
        Msg(
            b"Event: Newchannel\r\nCallerIDName: J\xf6rg M\xfcller\r\nActionID: \xe9\r\n\r\n",
            "Event",
            "event",
            "Newchannel",
            [("Event", "Newchannel"), ("CallerIDName", "J\udcf6rg M\udcfcller"), ("ActionID", "\udce9")],
            action_id="\udce9",
        )
    ],
)
case(
    "29-c-escaped-values",
    "E16: backslash escapes are data, not unescaped",
    [
        Msg(
            b"Event: VarSet\r\nValue: a\\r\\nb \\\\ c\r\n\r\n",
            "Event",
            "event",
            "VarSet",
            [("Event", "VarSet"), ("Value", "a\\r\\nb \\\\ c")],
        )
    ],
)
case(
    "30-channel-variables",
    "E17: ChanVariable keys (plain and with a channel) are ordinary keys",
    [
        Msg(
            b"Event: Newexten\r\nChanVariable: A=1\r\nChanVariable(PJSIP/1-0001): B=x=y\r\n"
            b"DestChanVariable: C\r\n\r\n",
            "Event",
            "event",
            "Newexten",
            [
                ("Event", "Newexten"),
                ("ChanVariable", "A=1"),
                ("ChanVariable(PJSIP/1-0001)", "B=x=y"),
                ("DestChanVariable", "C"),
            ],
        )
    ],
)
case(
    "31-empty-values",
    "E18: empty values are '' (with or without the space), an empty ActionID too",
    [
        Msg(
            b"Event: Cdr\r\nAccountCode: \r\nValue:\r\nActionID: \r\n\r\n",
            "Event",
            "event",
            "Cdr",
            [("Event", "Cdr"), ("AccountCode", ""), ("Value", ""), ("ActionID", "")],
            action_id="",
        )
    ],
)
case(
    "32-originate-response-is-event",
    "E19: OriginateResponse carries a Response header but is an Event (first field decides)",
    [
        Msg(
            b"Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: o1\r\n"
            b"Response: Success\r\nReason: 4\r\n\r\n",
            "Event",
            "event",
            "OriginateResponse",
            [
                ("Event", "OriginateResponse"),
                ("Privilege", "call,all"),
                ("ActionID", "o1"),
                ("Response", "Success"),
                ("Reason", "4"),
            ],
            action_id="o1",
        )
    ],
)
case(
    "33-colonless-first-line",
    "the first *field* classifies: a colon-less first line is an extra line",
    [
        Msg(
            b"garbage here\r\nEvent: X\r\n\r\n",
            "Event",
            "event",
            "X",
            [("Event", "X")],
            extra=["garbage here"],
        ),
        Msg(
            b"only text\r\nmore text\r\n\r\n",
            "Message",
            "unknown",
            None,
            [],
            extra=["only text", "more text"],
        ),
    ],
)
case(
    "34-action-and-unknown",
    "kind 'action' for an Action first field, 'unknown' (name None) for anything else",
    [
        Msg(
            b"Action: Ping\r\nActionID: 1\r\n\r\n",
            "Message",
            "action",
            "Ping",
            [("Action", "Ping"), ("ActionID", "1")],
            action_id="1",
        ),
        Msg(
            b"Foo: bar\r\nEvent: NotFirst\r\n\r\n",
            "Message",
            "unknown",
            None,
            [("Foo", "bar"), ("Event", "NotFirst")],
        ),
        Msg(b": empty key\r\n\r\n", "Message", "unknown", None, [("", "empty key")]),
    ],
)
FOLLOWS_BIG = (
    b"Response: Follows\r\nPrivilege: Command\r\n" + b"line of output\n" * 6 + b"--END COMMAND--\r\n\r\n"
)
case(
    "35-follows-too-large",
    "E11/E13: legacy output over max_follows_bytes is skipped to its marker; then parsing goes on",
    [
        Err(FOLLOWS_BIG, "MessageTooLargeError", "command output exceeds max_follows_bytes (100)"),
        Msg(
            b"Response: Follows\r\nPrivilege: Command\r\nok\n--END COMMAND--\r\n\r\n",
            "Response",
            "response",
            "Follows",
            [("Response", "Follows"), ("Privilege", "Command")],
            output="ok",
        ),
    ],
    max_follows_bytes=100,
    max_message_bytes=64,
)
case(
    "36-lone-cr-at-eof",
    "a lone CR after the last message is an unfinished empty line, not a truncated message",
    [PONG_MSG, Skip(b"\r")],
)
case(
    "37-cr-inside-lines",
    "only one CR directly before LF is removed; other CRs are data",
    [
        Msg(
            b"Event: Cr\r\nA: x\ry\r\nB: z\r\r\n\r\n",
            "Event",
            "event",
            "Cr",
            [("Event", "Cr"), ("A", "x\ry"), ("B", "z\r")],
        ),
        Msg(b"\rEvent: Y\r\n\r\n", "Message", "unknown", None, [("\rEvent", "Y")]),
    ],
)
case(
    "38-strict-valid",
    "strict mode passes well-formed CRLF messages through",
    [BANNER, PONG_MSG, Skip(b"\r\n\n"), Msg(b"Event: A\r\n\r\n", "Event", "event", "A", [("Event", "A")])],
    version="11.0.0",
    strict=True,
)
BOTH = b"Event: Both\r\nA: 1\r\nB: 2\r\nC: 3\r\n" + b"D: " + b"d" * 70 + b"\r\n\r\n"
case(
    "39-both-limits",
    "both limits exceeded: the one certain at the earlier byte wins (here max_fields)",
    [
        Err(
            BOTH,
            "MessageTooLargeError",
            "message exceeds max_fields (3)",
            excerpt=b"Event: Both\r\nA: 1\r\nB: 2\r\nC: 3\r\n",
        ),
        PONG_MSG,
    ],
    max_fields=3,
    max_message_bytes=64,
)
case(
    "40-strict-follows",
    "strict mode checks a Follows message's header lines, not its body",
    [
        Msg(
            b"Response: Follows\r\nPrivilege: Command\r\nbare lf body\n\n--END COMMAND--\n\n",
            "Response",
            "response",
            "Follows",
            [("Response", "Follows"), ("Privilege", "Command")],
            output="bare lf body\n",
        ),
        Err(
            b"Response: Follows\r\nActionID: f\n--END COMMAND--\r\n\r\n",
            "ProtocolError",
            "line ending without CR at offset {}",
            at=19,
            action_id="f",
            keep_raw=True,
        ),
    ],
    strict=True,
)
case(
    "41-follows-body-header-like",
    "header lines are Privilege/ActionID only; the body starts at the first other line",
    [
        Msg(
            b"Response: Follows\r\nPrivilege: Command\r\nActionID: h\r\nPrivilege: again\r\n"
            b"--END COMMAND--\r\n\r\n",
            "Response",
            "response",
            "Follows",
            [("Response", "Follows"), ("Privilege", "Command"), ("ActionID", "h"), ("Privilege", "again")],
            action_id="h",
            output="",
        ),
        Msg(
            b"Response: Follows\r\nStatus: up\r\nActionID: late\r\n--END COMMAND--\r\n\r\n",
            "Response",
            "response",
            "Follows",
            [("Response", "Follows")],
            output="Status: up\r\nActionID: late\r",
        ),
    ],
)
case(
    "42-oversize-at-eof-discarding",
    "E13: EOF while skipping an oversized message adds no second error",
    [
        Err(
            b"Event: Big\r\n" + b"Data: 0123456789\r\n" * 5,
            "MessageTooLargeError",
            "message exceeds max_message_bytes (64)",
        )
    ],
    max_message_bytes=64,
)


def build() -> None:
    for old in HERE.glob("*.ami"):
        old.unlink()
    for old in HERE.glob("*.json"):
        old.unlink()
    for slug, spec in CASES.items():
        stream = b""
        expected: list[dict[str, Any]] = []
        for part in spec["parts"]:
            expected.extend(part.expected(len(stream)))
            stream += part.data
        (HERE / f"{slug}.ami").write_bytes(stream)
        doc = {
            "description": spec["description"],
            "options": spec["options"],
            "version": spec["version"],
            "expected": expected,
        }
        (HERE / f"{slug}.json").write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    build()
