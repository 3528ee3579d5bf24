"""The whole comparison in one call: parsers, end to end, requests, memory; table, JSON, SVG.

``run(quick)`` returns everything as a JSON-ready dict; ``main(argv)`` is the command line
(``python benches/compare.py [--quick]`` and ``ami-fast bench``). Ratios are always taken
between numbers measured in the same run on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from . import parse
from .chart import Bar, bar_chart
from .gen_stream import chunk, generate
from .rust_core import RustCore

__all__ = ["Sizes", "format_table", "main", "run", "write_chart"]

SECTIONS = ("parse", "end_to_end", "requests", "memory")


@dataclass(frozen=True)
class Sizes:
    parse_messages: int
    parse_repeat: int
    e2e_events: int
    e2e_peer_events: int
    e2e_rounds: int
    requests: dict[int, int]  # in flight -> total requests
    memory_parser_messages: int
    memory_client_events: int
    pending_requests: int
    rust_core: bool = True  # build and run benches/parse.rs when cargo and a checkout exist


QUICK = Sizes(
    parse_messages=20_000,
    parse_repeat=3,
    e2e_events=150_000,
    e2e_peer_events=20_000,
    e2e_rounds=1,
    requests={1: 2_000, 100: 10_000, 10_000: 20_000},
    memory_parser_messages=1_000_000,
    memory_client_events=300_000,
    pending_requests=10_000,
)
FULL = Sizes(
    parse_messages=200_000,
    parse_repeat=7,
    e2e_events=1_000_000,
    e2e_peer_events=100_000,
    e2e_rounds=3,
    requests={1: 10_000, 100: 50_000, 10_000: 100_000},
    memory_parser_messages=10_000_000,
    memory_client_events=10_000_000,
    pending_requests=10_000,
)


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _package_version() -> str:
    from .. import __version__

    return __version__


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    from .. import _select

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "ami_fast": _version("ami-fast") or _package_version(),
        "implementation": _select.IMPLEMENTATION,
        "panoramisk": _version("panoramisk"),
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def _rate(results: list[dict[str, Any]], parser: str, pattern: str, best: bool = False) -> float | None:
    for r in results:
        if r["parser"] == parser and r["pattern"] == pattern:
            if best:
                return r["messages"] / r["best_seconds"] if r.get("best_seconds") else None
            return float(r["msgs_per_s"])
    return None


def _e2e_rate(results: list[dict[str, Any]], client: str, best: bool = False) -> float | None:
    for r in results:
        if r["client"] == client:
            if best:
                runs = r.get("runs") or []
                return max((float(x["events_per_s"]) for x in runs), default=None)
            return float(r["events_per_s"])
    return None


def ratios(result: dict[str, Any]) -> dict[str, Any]:
    """The target ratios from the medians of the runs (the verdict), and from the best run of
    each side: on a shared machine noise only ever adds time, so the best runs estimate what
    the code costs, the medians what a user on a busy machine sees."""
    medians = _ratio_values(result, best=False)
    bests = _ratio_values(result, best=True)
    targets = {
        "native_vs_panoramisk_name": 50.0,
        "native_vs_panoramisk_fields": 20.0,
        "native_vs_pure_fields": 10.0,
        "native_vs_rust_core_name": 0.5,
        "e2e_callback_vs_panoramisk": 25.0,
    }
    return {
        name: {
            "value": value,
            "best": bests[name],
            "target": targets.get(name),
            "met": None if value is None or name not in targets else value >= targets[name],
        }
        for name, value in medians.items()
    }


def _ratio_values(result: dict[str, Any], *, best: bool) -> dict[str, float | None]:
    p = result.get("parse", {}).get("results", [])
    e = result.get("end_to_end", {}).get("results", [])

    def rate(parser: str, pattern: str) -> float | None:
        return _rate(p, parser, pattern, best)

    def e2e(client: str) -> float | None:
        return _e2e_rate(e, client, best)

    return {
        "native_vs_panoramisk_name": _ratio(rate("native", "name"), rate("panoramisk", "name")),
        "native_vs_panoramisk_fields": _ratio(rate("native", "fields"), rate("panoramisk", "fields")),
        "native_vs_pure_fields": _ratio(rate("native", "fields"), rate("pure", "fields")),
        "native_vs_rust_core_name": _ratio(rate("native", "name"), rate("rust-core", "name")),
        "pure_vs_naive_fields": _ratio(rate("pure", "fields"), rate("naive", "fields")),
        "e2e_callback_vs_panoramisk": _ratio(e2e("ami-fast callback"), e2e("panoramisk")),
        "e2e_iterator_vs_panoramisk": _ratio(e2e("ami-fast async for"), e2e("panoramisk")),
    }


def _section(
    result: dict[str, Any], name: str, log: Callable[[str], None], fn: Callable[[], dict[str, Any]]
) -> None:
    log(f"[{name}] running ...")
    start = time.perf_counter()
    try:
        result[name] = fn()
    except Exception as exc:  # a missing piece (no client yet, no panoramisk) must not lose the rest
        result[name] = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
        log(f"[{name}] failed: {type(exc).__name__}: {exc}")
    log(f"[{name}] {time.perf_counter() - start:.1f} s")


def _run_parse(sizes: Sizes) -> dict[str, Any]:
    stream = generate(sizes.parse_messages)
    chunks = chunk(stream.data)
    case_list = parse.cases()
    core: RustCore | None = None
    core_note = "not run"
    if sizes.rust_core:
        try:
            core = RustCore.create(stream.data)
            core_note = "benches/parse.rs (cargo, release profile)" if core else "not available (needs cargo)"
        except Exception as exc:  # a broken Rust build must not lose the Python numbers
            core_note = f"failed: {type(exc).__name__}: {exc}"
    if core is not None:
        case_list.insert(0, parse.ParseCase("rust-core", "name", timed=core.run))
    try:
        results = parse.measure(case_list, chunks, repeat=sizes.parse_repeat)
    finally:
        if core is not None:
            core.close()
    return {
        "stream": {
            "messages": stream.messages,
            "bytes": len(stream.data),
            "chunks": len(chunks),
            "mean_message_bytes": round(stream.mean_message_bytes, 1),
            "mean_fields": round(stream.fields / stream.messages, 1),
            "events": stream.events,
        },
        "results": [r.as_dict() for r in results],
        "rust_core": core_note,
    }


def _run_end_to_end(sizes: Sizes) -> dict[str, Any]:
    from .endtoend import client_firehose
    from .firehose import FirehoseProcess
    from .peers import panoramisk_available, panoramisk_firehose

    runs: dict[str, list[dict[str, Any]]] = {}
    with FirehoseProcess(events=min(sizes.e2e_events, 100_000)) as fh:
        for _ in range(sizes.e2e_rounds):
            for consumer, label in (("callback", "ami-fast callback"), ("iterator", "ami-fast async for")):
                runs.setdefault(label, []).append(
                    asyncio.run(client_firehose(fh.port, sizes.e2e_events, consumer=consumer))
                )
            if panoramisk_available():
                runs.setdefault("panoramisk", []).append(
                    asyncio.run(panoramisk_firehose("127.0.0.1", fh.port, sizes.e2e_peer_events))
                )
    results = []
    for label, items in runs.items():
        rate = statistics.median(r["events_per_s"] for r in items)
        results.append({"client": label, "events_per_s": rate, "runs": items})
    return {"results": results}


def _run_requests(sizes: Sizes) -> dict[str, Any]:
    from .endtoend import FakeAsteriskProcess, request_latency

    out = []
    with FakeAsteriskProcess() as srv:
        for in_flight, total in sizes.requests.items():
            out.append(asyncio.run(request_latency(srv.url, in_flight, total)))
    return {"server": "ami_fast.testing.FakeAsterisk (separate process)", "results": out}


def _run_memory(sizes: Sizes) -> dict[str, Any]:
    from .. import _select
    from .firehose import FirehoseProcess
    from .memory import memory_flat, parser_memory, pending_request_memory

    out: dict[str, Any] = {}
    chunks = chunk(generate(50_000).data)
    out["parser"] = parser_memory(_select.Parser, chunks, sizes.memory_parser_messages)
    with FirehoseProcess(events=50_000) as fh:
        warmup = min(200_000, sizes.memory_client_events // 3)
        # The flood overflows the default dispatch queue on purpose; the drops are counted in
        # the result, so the per-drop warnings would only be noise here.
        client_log = logging.getLogger("ami_fast.client")
        level = client_log.level
        client_log.setLevel(logging.ERROR)
        try:
            out["client"] = asyncio.run(memory_flat(fh.port, sizes.memory_client_events, warmup=warmup))
        finally:
            client_log.setLevel(level)
        out["pending"] = asyncio.run(pending_request_memory(fh.port, sizes.pending_requests))
    return out


def run(
    quick: bool = False,
    *,
    sections: tuple[str, ...] = SECTIONS,
    sizes: Sizes | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the comparison and return every number (and the ratios) as a JSON-ready dict.

    `sizes` overrides the quick/full presets (the smoke test runs everything on tiny sizes).
    """
    sizes = sizes or (QUICK if quick else FULL)
    say = log or (lambda text: print(text, file=sys.stderr, flush=True))
    result: dict[str, Any] = {
        "quick": quick,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": machine(),
        "command": "python benches/compare.py" + (" --quick" if quick else ""),
    }
    runners = {
        "parse": lambda: _run_parse(sizes),
        "end_to_end": lambda: _run_end_to_end(sizes),
        "requests": lambda: _run_requests(sizes),
        "memory": lambda: _run_memory(sizes),
    }
    for name in SECTIONS:
        if name in sections:
            _section(result, name, say, runners[name])
    result["ratios"] = ratios(result)
    return result


# --- output --------------------------------------------------------------------------------

_PARSER_LABEL = {
    "rust-core": "raw Rust core",
    "native": "ami-fast native",
    "pure": "ami-fast pure twin",
    "naive": "naive split+dict",
    "panoramisk": "panoramisk 1.4",
}
_PATTERN_LABEL = {"name": "event name only", "fields": "every field"}


def format_table(result: dict[str, Any]) -> str:
    """Markdown tables (they read fine in a terminal and paste into the README)."""
    m = result.get("machine", {})
    lines = [
        f"Machine: {m.get('cpu')}, {m.get('cores')} cores, {m.get('os')}; {m.get('python')}; "
        f"ami-fast {m.get('ami_fast')} ({m.get('implementation')}); panoramisk {m.get('panoramisk')}",
        "",
    ]
    parse_section = result.get("parse", {})
    if "results" in parse_section:
        s = parse_section["stream"]
        lines += [
            f"Parse: {s['messages']:,} messages, {s['bytes'] / 1e6:.1f} MB, "
            f"{s['mean_message_bytes']} B and {s['mean_fields']} fields per message, 64 KiB chunks",
            "",
            "| parser | consumer | messages/s | MB/s | µs/message |",
            "|---|---|---:|---:|---:|",
        ]
        for r in parse_section["results"]:
            lines.append(
                f"| {_PARSER_LABEL.get(r['parser'], r['parser'])} | {_PATTERN_LABEL[r['pattern']]} | "
                f"{r['msgs_per_s']:,.0f} | {r['mb_per_s']:,.1f} | {1e6 / r['msgs_per_s']:.2f} |"
            )
        lines.append("")
    elif "error" in parse_section:
        lines += [f"Parse: failed ({parse_section['error']})", ""]
    e2e = result.get("end_to_end", {})
    if "results" in e2e:
        lines += [
            "End to end (loopback firehose server in another process):",
            "",
            "| client | events/s |",
            "|---|---:|",
        ]
        lines += [f"| {r['client']} | {r['events_per_s']:,.0f} |" for r in e2e["results"]]
        lines.append("")
    elif "error" in e2e:
        lines += [f"End to end: failed ({e2e['error']})", ""]
    req = result.get("requests", {})
    if "results" in req:
        lines += [
            "Requests (Ping against FakeAsterisk in another process):",
            "",
            "| in flight | requests/s | p50 µs | p90 µs | p99 µs |",
            "|---:|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {r['in_flight']:,} | {r['requests_per_s']:,.0f} | {r['p50_us']:,.0f} | {r['p90_us']:,.0f} | "
            f"{r['p99_us']:,.0f} |"
            for r in req["results"]
        ]
        lines.append("")
    elif "error" in req:
        lines += [f"Requests: failed ({req['error']})", ""]
    mem = result.get("memory", {})
    if "parser" in mem:
        pm, cm, pr = mem["parser"], mem.get("client"), mem.get("pending")
        lines += [
            "Memory:",
            "",
            f"- parser, {pm['messages']:,} messages: RSS {pm['rss_before_mib']:.1f} → "
            f"{pm['rss_after_mib']:.1f} MiB ({pm['growth_mib']:+.1f} MiB)",
        ]
        if cm:
            lines.append(
                f"- client, {cm['events']:,} firehose events: RSS {cm['rss_before_mib']:.1f} → "
                f"{cm['rss_after_mib']:.1f} MiB ({cm['growth_mib']:+.1f} MiB)"
            )
        if pr:
            lines.append(
                f"- pending request: {pr['bytes_per_request']:,.0f} B each with its Task "
                f"({pr['client_bytes_per_request']:,.0f} B beyond a bare Task awaiting a Future)"
            )
        lines.append("")
    elif "error" in mem:
        lines += [f"Memory: failed ({mem['error']})", ""]
    lines += [
        "Ratios (same run; the verdict is on the medians, the best runs show the noise-free cost):",
        "",
        "| ratio | medians | best runs | target | |",
        "|---|---:|---:|---:|---|",
    ]
    for name, r in result.get("ratios", {}).items():
        value = "n/a" if r["value"] is None else f"{r['value']:.2f}x"
        best = "n/a" if r.get("best") is None else f"{r['best']:.2f}x"
        target = "" if r["target"] is None else f"≥ {r['target']:g}x"
        met = {True: "met", False: "MISSED", None: ""}[r["met"]]
        lines.append(f"| {name} | {value} | {best} | {target} | {met} |")
    return "\n".join(lines) + "\n"


def write_chart(result: dict[str, Any], path: Path) -> None:
    bars: list[Bar] = []
    for r in result.get("parse", {}).get("results", []):
        bars.append(
            (_PARSER_LABEL.get(r["parser"], r["parser"]), _PATTERN_LABEL[r["pattern"]], r["msgs_per_s"])
        )
    for r in result.get("end_to_end", {}).get("results", []):
        label = "end to end: " + r["client"].replace("ami-fast ", "")
        bars.append((label, "end to end (events/s)", r["events_per_s"]))
    m = result.get("machine", {})
    subtitle = f"{m.get('cpu')}, {m.get('cores')} cores, {m.get('python')}; {result.get('command')}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(bar_chart(bars, title="ami-fast: AMI messages per second (same run)", subtitle=subtitle))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ami-fast bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, about 20-30 s")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="sections to run")
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        help="where to save the results (default in a checkout: benches/results/latest.json, "
        "or quick.json with --quick, partial.json with --only)",
    )
    parser.add_argument(
        "--svg",
        type=Path,
        default=None,
        help="where to draw the chart (default in a checkout: docs/perf.svg, complete full runs only)",
    )
    args = parser.parse_args(argv)
    # In a checkout the complete full-size run refreshes the committed results and chart; a
    # quick or partial (--only) run keeps its numbers apart, so it never overwrites them.
    if Path("benches").is_dir() and Path("docs").is_dir():
        complete = not args.quick and set(args.only) == set(SECTIONS)
        if args.json is None:
            name = "latest" if complete else "quick" if args.quick else "partial"
            args.json = Path(f"benches/results/{name}.json")
        if args.svg is None and complete:
            args.svg = Path("docs/perf.svg")
    result = run(args.quick, sections=tuple(args.only))
    print(format_table(result))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")
        print(f"saved {args.json}")
    if args.svg is not None:
        write_chart(result, args.svg)
        print(f"chart {args.svg}")
    return 0
