"""The benchmark harness runs and measures the right thing (counts, never times).

Every benchmark function runs once on tiny input and its result is checked against what the
generator says the stream contains, so a fast but wrong parser or a lossy client shows up.
"""

from __future__ import annotations

import asyncio
import json
import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest

from ami_fast import _pyparser
from ami_fast._bench import compare, parse
from ami_fast._bench.chart import bar_chart
from ami_fast._bench.endtoend import FakeAsteriskProcess, client_firehose, request_latency
from ami_fast._bench.firehose import FirehoseProcess
from ami_fast._bench.gen_stream import CHUNK_SIZE, GeneratedStream, chunk, generate
from ami_fast._bench.memory import memory_flat, parser_memory, pending_request_memory
from ami_fast._bench.naive import NaiveParser
from ami_fast._bench.peers import PanoramiskParser, panoramisk_firehose
from ami_fast._bench.rust_core import RustCore, run_rust_core

SMALL = 3_000


@pytest.fixture(scope="module")
def stream() -> GeneratedStream:
    return generate(SMALL)


@pytest.fixture(scope="module")
def firehose() -> Iterator[FirehoseProcess]:
    with FirehoseProcess(events=2_000) as fh:
        yield fh


def _messages(data: bytes) -> list[Any]:
    items = _pyparser.Parser().feed(data)
    assert all(not isinstance(m, Exception) for m in items)
    return items


# --- generator ------------------------------------------------------------------------------


def test_generator_is_deterministic_and_seeded() -> None:
    assert generate(500).data == generate(500).data
    assert generate(500, seed=1).data != generate(500, seed=2).data


def test_generator_counts_match_what_a_correct_parser_finds(stream: GeneratedStream) -> None:
    messages = _messages(stream.data)
    assert len(messages) == stream.messages == SMALL
    assert sum(m.kind == "event" for m in messages) == stream.events
    assert sum(m.kind == "response" for m in messages) == stream.responses > 0
    assert sum(len(m.items()) for m in messages) == stream.fields
    names: dict[str, int] = {}
    for m in messages:
        if m.kind == "event":
            names[m.name] = names.get(m.name, 0) + 1
    assert names == dict(stream.names)


def test_generator_looks_like_asterisk_22(stream: GeneratedStream) -> None:
    data = stream.data
    assert data.count(b"\n") == data.count(b"\r\n")  # CRLF only
    assert 380 <= stream.mean_message_bytes <= 520
    messages = _messages(data)
    counts = sorted(len(m.items()) for m in messages if m.kind == "event")
    assert 8 <= counts[len(counts) // 2] <= 25  # median field count
    assert any(len(m.get_field_values("ChanVariable")) >= 2 for m in messages)  # repeated keys
    assert any(m.get_field_values("DestChanVariable") for m in messages)
    non_ascii = [m for m in messages if any(ord(c) > 127 for c in m.get_field_value("CallerIDName") or "")]
    assert 0 < len(non_ascii) < len(messages) // 3
    assert {
        "Newchannel",
        "Newstate",
        "Newexten",
        "VarSet",
        "DialBegin",
        "DialEnd",
        "BridgeEnter",
        "BridgeLeave",
        "Hangup",
        "Cdr",
        "QueueCallerJoin",
        "QueueCallerLeave",
        "AgentCalled",
        "AgentConnect",
    } <= set(stream.names)
    # Event lists are whole: a start response, items with its ActionID, a Complete event.
    starts = [m for m in messages if m.kind == "response" and m.get_field_value("EventList") == "start"]
    assert starts
    for start in starts:
        ends = [
            m for m in messages if m.name == "CoreShowChannelsComplete" and m.action_id == start.action_id
        ]
        items = [m for m in messages if m.name == "CoreShowChannel" and m.action_id == start.action_id]
        assert len(ends) == 1 and ends[0].get_field_value("ListItems") == str(len(items))
    # Names and order of a channel block as Asterisk 22 writes them (corpus 09).
    newchannel = next(m for m in messages if m.name == "Newchannel")
    assert newchannel.keys()[:16] == [
        "Event",
        "Privilege",
        "Channel",
        "ChannelState",
        "ChannelStateDesc",
        "CallerIDNum",
        "CallerIDName",
        "ConnectedLineNum",
        "ConnectedLineName",
        "Language",
        "AccountCode",
        "Context",
        "Exten",
        "Priority",
        "Uniqueid",
        "Linkedid",
    ]


def test_events_only_stream_has_no_responses() -> None:
    events = generate(1_000, responses=False)
    messages = _messages(events.data)
    assert events.responses == 0 and events.events == 1_000
    assert all(m.kind == "event" and m.action_id is None for m in messages)


def test_banner_option() -> None:
    parser = _pyparser.Parser()
    items = parser.feed(generate(10, banner=True).data)
    assert parser.version == "11.0.0" and len(items) == 10


def test_chunk_cuts_at_64k_and_loses_nothing(stream: GeneratedStream) -> None:
    pieces = chunk(stream.data)
    assert b"".join(pieces) == stream.data
    assert all(len(p) == CHUNK_SIZE for p in pieces[:-1]) and 0 < len(pieces[-1]) <= CHUNK_SIZE


# --- parsers --------------------------------------------------------------------------------


def test_every_parse_case_is_there() -> None:
    found = {(c.parser, c.pattern) for c in parse.cases()}
    assert {
        ("pure", "name"),
        ("pure", "fields"),
        ("naive", "name"),
        ("naive", "fields"),
        ("panoramisk", "name"),
        ("panoramisk", "fields"),
    } <= found
    from ami_fast import _select

    if _select.native is not None:
        assert {("native", "name"), ("native", "fields")} <= found


@pytest.mark.parametrize("case", parse.cases(), ids=lambda c: f"{c.parser}-{c.pattern}")
def test_parse_case_counts_are_right(case: parse.ParseCase, stream: GeneratedStream) -> None:
    # Odd chunk sizes cut messages, lines and UTF-8 characters anywhere.
    messages, count, seconds = case.measure_once(chunk(stream.data, 4_093))
    assert seconds > 0
    assert messages == stream.messages
    if case.pattern == "name":
        assert count == stream.names[parse.FILTER_NAME] > 0
    elif case.parser in ("native", "pure"):
        assert count == stream.fields
    else:
        # The dict-based parsers fold repeated keys (the documented flaw of the baseline).
        reference = _messages(stream.data)
        distinct = sum(len({k for k, _ in m.items()}) for m in reference)
        if case.parser == "panoramisk":
            # panoramisk strips the message, so an empty last field (`BridgeId: `) is lost too
            # (its key survives when it also appears earlier, like the last `Output: `).
            distinct -= sum(m.items()[-1][1] == "" and len(m.get_all(m.keys()[-1])) == 1 for m in reference)
        assert count == distinct < stream.fields


def test_naive_and_panoramisk_drivers_build_messages(stream: GeneratedStream) -> None:
    parser = NaiveParser()
    all_naive = [m for piece in chunk(stream.data, 1_000) for m in parser.feed(piece)]
    assert len(all_naive) == stream.messages and all_naive[0]["Event"] == "Newchannel"
    pano = PanoramiskParser()
    all_pano = [m for piece in chunk(stream.data, 1_000) for m in pano.feed(piece)]
    assert len(all_pano) == stream.messages
    assert all_pano[0]["event"] == "Newchannel"


def test_measure_reports_rates() -> None:
    data = generate(300)
    results = parse.measure(parse.cases({"pure", "naive"}), chunk(data.data), repeat=2)
    assert {(r.parser, r.pattern) for r in results} == {
        ("pure", "name"),
        ("pure", "fields"),
        ("naive", "name"),
        ("naive", "fields"),
    }
    for r in results:
        assert r.messages == 300 and r.msgs_per_s > 0 and r.mb_per_s > 0 and r.best_seconds <= r.seconds


def test_rust_core_bench_counts_the_same_stream(stream: GeneratedStream) -> None:
    result = run_rust_core(stream.data, repeat=1)
    assert result is not None, "benches/parse.rs needs cargo and the source checkout"
    assert result["messages"] == stream.messages and result["errors"] == 0
    assert result["hits"] == stream.names[parse.FILTER_NAME] and result["bytes"] == len(stream.data)
    # As a self-timed case inside the interleaved measurement.
    core = RustCore.create(stream.data)
    assert core is not None
    try:
        (r,) = parse.measure(
            [parse.ParseCase("rust-core", "name", timed=core.run)], chunk(stream.data), repeat=2
        )
    finally:
        core.close()
    assert r.messages == stream.messages and r.count == stream.names[parse.FILTER_NAME] and r.msgs_per_s > 0


def test_parser_memory_runs_every_message() -> None:
    result = parser_memory(_pyparser.Parser, chunk(generate(200).data), 1_000)
    assert result["messages"] >= 1_000 and result["rss_after_mib"] > 0


# --- servers and clients --------------------------------------------------------------------


def _recv_until(sock: socket.socket, parser: Any, want: int) -> list[Any]:
    got: list[Any] = []
    while len(got) < want:
        data = sock.recv(65536)
        assert data, "server closed early"
        got += parser.feed(data)
    return got


def test_firehose_server_sends_exactly_count_events(firehose: FirehoseProcess) -> None:
    with socket.create_connection(("127.0.0.1", firehose.port), timeout=10) as sock:
        parser = _pyparser.Parser()
        sock.sendall(b"Action: Login\r\nActionID: l\r\nUsername: ami\r\nSecret: x\r\n\r\n")
        (login,) = _recv_until(sock, parser, 1)
        assert parser.version == "11.0.0" and login.name == "Success" and login.action_id == "l"
        # 5,000 is more than the 2,000 distinct events the server holds: it must wrap around.
        sock.sendall(
            b"Action: Firehose\r\nActionID: f\r\nCount: 5000\r\n\r\nAction: Ping\r\nActionID: p\r\n\r\n"
        )
        items = _recv_until(sock, parser, 5_002)
        assert items[0].action_id == "f"
        assert sum(m.kind == "event" for m in items) == 5_000
        assert items[-1].action_id == "p" and items[-1].get_field_value("Ping") == "Pong"


def test_client_firehose_delivers_every_event(firehose: FirehoseProcess) -> None:
    for consumer in ("callback", "iterator"):
        result = asyncio.run(client_firehose(firehose.port, 3_000, consumer=consumer, timeout=60))
        assert result["events"] == 3_000, result


def test_panoramisk_firehose_delivers_every_event(firehose: FirehoseProcess) -> None:
    result = asyncio.run(panoramisk_firehose("127.0.0.1", firehose.port, 3_000, timeout=60))
    assert result["events"] == 3_000


def test_client_memory_probes(firehose: FirehoseProcess) -> None:
    flat = asyncio.run(memory_flat(firehose.port, 3_000, warmup=1_000))
    assert flat["events"] == 3_000 and flat["rss_after_mib"] > 0
    pending = asyncio.run(pending_request_memory(firehose.port, 200))
    assert (
        pending["pending"] == 200 and pending["bytes_per_request"] > pending["client_bytes_per_request"] > 0
    )


def test_request_latency_against_fake_asterisk() -> None:
    with FakeAsteriskProcess() as srv:
        for in_flight in (1, 50):
            result = asyncio.run(request_latency(srv.url, in_flight, 200))
            assert result["requests"] == 200
            assert result["p50_us"] <= result["p90_us"] <= result["p99_us"] <= result["max_us"]


# --- the comparison command -----------------------------------------------------------------


TINY = compare.Sizes(
    parse_messages=400,
    parse_repeat=1,
    e2e_events=1_000,
    e2e_peer_events=500,
    e2e_rounds=1,
    requests={1: 50, 20: 200},
    memory_parser_messages=2_000,
    memory_client_events=1_000,
    pending_requests=100,
    rust_core=False,
)


def test_run_everything_tiny_and_write_outputs(tmp_path: Any, capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(compare, "QUICK", TINY)
    json_path, svg_path = tmp_path / "latest.json", tmp_path / "perf.svg"
    assert compare.main(["--quick", "--json", str(json_path), "--svg", str(svg_path)]) == 0
    result = json.loads(json_path.read_text())
    for section in compare.SECTIONS:
        assert "error" not in result[section], result[section].get("traceback")
    by_case = {(r["parser"], r["pattern"]): r for r in result["parse"]["results"]}
    assert all(r["messages"] == 400 for r in by_case.values())
    assert {r["client"] for r in result["end_to_end"]["results"]} == {
        "ami-fast callback",
        "ami-fast async for",
        "panoramisk",
    }
    assert [r["in_flight"] for r in result["requests"]["results"]] == [1, 20]
    from ami_fast import _select

    if _select.native is not None:
        assert result["ratios"]["native_vs_pure_fields"]["value"] > 0
    ET.fromstring(svg_path.read_text())  # well-formed
    out = capsys.readouterr().out
    assert "| parser | consumer |" in out and "Ratios (same run" in out


def test_ratios_are_computed_from_the_same_run() -> None:
    result = {
        "parse": {
            "results": [
                {"parser": "native", "pattern": "name", "msgs_per_s": 3_000_000.0},
                {"parser": "native", "pattern": "fields", "msgs_per_s": 900_000.0},
                {"parser": "pure", "pattern": "fields", "msgs_per_s": 100_000.0},
                {"parser": "panoramisk", "pattern": "name", "msgs_per_s": 50_000.0},
                {"parser": "panoramisk", "pattern": "fields", "msgs_per_s": 45_000.0},
                {"parser": "rust-core", "pattern": "name", "msgs_per_s": 4_000_000.0},
            ]
        },
        "end_to_end": {
            "results": [
                {"client": "ami-fast callback", "events_per_s": 800_000.0},
                {"client": "panoramisk", "events_per_s": 40_000.0},
            ]
        },
    }
    r = compare.ratios(result)
    assert r["native_vs_panoramisk_name"] == {"value": 60.0, "best": None, "target": 50.0, "met": True}
    assert r["native_vs_panoramisk_fields"]["value"] == 20.0 and r["native_vs_panoramisk_fields"]["met"]
    assert r["native_vs_pure_fields"]["value"] == 9.0 and r["native_vs_pure_fields"]["met"] is False
    assert r["native_vs_rust_core_name"]["value"] == 0.75
    assert (
        r["e2e_callback_vs_panoramisk"]["value"] == 20.0 and r["e2e_callback_vs_panoramisk"]["met"] is False
    )
    assert r["e2e_iterator_vs_panoramisk"]["value"] is None
    assert r["native_vs_panoramisk_name"]["best"] is None  # no best runs recorded here


def test_best_run_ratios_sit_beside_the_medians() -> None:
    def parse_row(parser: str, median_s: float, best_s: float) -> dict[str, object]:
        return {
            "parser": parser,
            "pattern": "name",
            "messages": 1000,
            "msgs_per_s": 1000 / median_s,
            "best_seconds": best_s,
        }

    result = {
        "parse": {"results": [parse_row("native", 0.02, 0.01), parse_row("panoramisk", 1.0, 0.8)]},
        "end_to_end": {
            "results": [
                {
                    "client": "ami-fast callback",
                    "events_per_s": 500.0,
                    "runs": [{"events_per_s": v} for v in (400, 500, 900)],
                },
                {
                    "client": "panoramisk",
                    "events_per_s": 20.0,
                    "runs": [{"events_per_s": v} for v in (10, 20, 30)],
                },
            ]
        },
    }
    r = compare.ratios(result)
    assert r["native_vs_panoramisk_name"]["value"] == pytest.approx(50.0)  # medians: the verdict
    assert r["native_vs_panoramisk_name"]["best"] == pytest.approx(80.0)  # best run of each side
    assert (
        r["e2e_callback_vs_panoramisk"]["value"] == 25.0 and r["e2e_callback_vs_panoramisk"]["best"] == 30.0
    )
    table = compare.format_table({"ratios": r})
    assert "| native_vs_panoramisk_name | 50.00x | 80.00x | ≥ 50x | met |" in table


def test_chart_has_one_bar_per_value() -> None:
    svg = bar_chart(
        [("a", "name", 1_000.0), ("a", "fields", 500.0), ("b & c", "name", 2_000_000.0)],
        title="t <x>",
        subtitle="s",
    )
    root = ET.fromstring(svg)
    bars = [
        e
        for e in root.iter("{http://www.w3.org/2000/svg}rect")
        if e.find("{http://www.w3.org/2000/svg}title") is not None
    ]
    assert len(bars) == 3
    widths = {e.find("{http://www.w3.org/2000/svg}title").text: float(e.get("width", 0)) for e in bars}  # type: ignore[union-attr]
    assert widths["b & c / name: 2,000,000"] > widths["a / name: 1,000"] > widths["a / fields: 500"]


def test_quick_run_in_a_checkout_keeps_the_full_results(tmp_path: Any, monkeypatch: Any, capsys: Any) -> None:
    monkeypatch.setattr(compare, "QUICK", TINY)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "benches").mkdir()
    (tmp_path / "docs").mkdir()
    assert compare.main(["--quick", "--only", "parse"]) == 0
    assert json.loads((tmp_path / "benches/results/quick.json").read_text())["quick"] is True
    assert not (tmp_path / "benches/results/latest.json").exists()
    assert not (tmp_path / "docs/perf.svg").exists()


def test_partial_full_size_run_keeps_the_full_results(tmp_path: Any, monkeypatch: Any, capsys: Any) -> None:
    # `--only parse` at full size must not replace the committed JSON and chart with a subset.
    monkeypatch.setattr(compare, "FULL", TINY)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "benches").mkdir()
    (tmp_path / "docs").mkdir()
    assert compare.main(["--only", "parse"]) == 0
    assert json.loads((tmp_path / "benches/results/partial.json").read_text())["quick"] is False
    assert not (tmp_path / "benches/results/latest.json").exists()
    assert not (tmp_path / "docs/perf.svg").exists()
